//! Streaming emission of one tabular array (§9.3, §15 "implement streaming/tabular row
//! emission where feasible").

use std::io;

use crate::encode::{push_spaces, write_header, write_primitive, Field};
use crate::error::{Error, Result};
use crate::options::EncodeOptions;
use crate::value::{Map, Value};

/// Writes a tabular array (`key[N]{f1,f2}:` then one row per line) to an [`io::Write`] row
/// by row, without holding the rows in memory.
///
/// TOON headers carry the row count, so `N` must be given up front. Writing more rows than
/// declared fails at once; [`finish`](Self::finish) fails if fewer were written (the output
/// is then not a valid document). Fields are flat (no nested field groups), cells must be
/// primitives, and the output is the document `{key: rows}` (or the root array when `key` is
/// `None`), byte-identical to [`crate::encode`] for `N >= 1`. With `N = 0` the legacy form
/// `key[0]{…}:` is written, which decoders accept as an empty array.
///
/// ```
/// use toondb_toon::{TabularStreamEncoder, EncodeOptions, Value};
/// let mut enc = TabularStreamEncoder::new(Vec::new(), Some("users"), &["id", "name"], 2,
///     &EncodeOptions::default()).unwrap();
/// enc.write_row(&[Value::from(1_i64), Value::from("Ada")]).unwrap();
/// enc.write_row(&[Value::from(2_i64), Value::from("Bob")]).unwrap();
/// let out = enc.finish().unwrap();
/// assert_eq!(String::from_utf8(out).unwrap(), "users[2]{id,name}:\n  1,Ada\n  2,Bob");
/// ```
#[derive(Debug)]
pub struct TabularStreamEncoder<W: io::Write> {
    w: W,
    fields: Vec<String>,
    declared: usize,
    written: usize,
    delim: u8,
    indent: usize,
    buf: String,
}

impl<W: io::Write> TabularStreamEncoder<W> {
    /// Writes the header and returns the encoder. `fields` must be non-empty and distinct.
    pub fn new(
        mut w: W,
        key: Option<&str>,
        fields: &[&str],
        rows: usize,
        opts: &EncodeOptions,
    ) -> Result<Self> {
        if fields.is_empty() {
            return Err(Error::InvalidArgument(
                "a tabular array needs at least one field".into(),
            ));
        }
        for (i, f) in fields.iter().enumerate() {
            if fields[..i].contains(f) {
                return Err(Error::InvalidArgument(format!("duplicate field {f:?}")));
            }
        }
        let tree: Vec<Field<'_>> = fields
            .iter()
            .map(|&name| Field {
                name,
                children: None,
            })
            .collect();
        let mut buf = String::new();
        write_header(&mut buf, key, rows, false, opts.delimiter, Some(&tree));
        w.write_all(buf.as_bytes())?;
        Ok(TabularStreamEncoder {
            w,
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            declared: rows,
            written: 0,
            delim: opts.delimiter.as_byte(),
            indent: opts.indent.max(1),
            buf,
        })
    }

    fn check_room(&self) -> Result<()> {
        if self.written >= self.declared {
            return Err(Error::RowCountMismatch {
                declared: self.declared,
                written: self.written + 1,
            });
        }
        Ok(())
    }

    fn emit<'v>(&mut self, cells: impl Iterator<Item = &'v Value>) -> Result<()> {
        self.buf.clear();
        self.buf.push('\n');
        push_spaces(&mut self.buf, self.indent);
        for (i, v) in cells.enumerate() {
            if !v.is_primitive() {
                return Err(Error::InvalidArgument(format!(
                    "cell {i} is not a primitive"
                )));
            }
            if i > 0 {
                self.buf.push(self.delim as char);
            }
            write_primitive(&mut self.buf, v, self.delim);
        }
        self.w.write_all(self.buf.as_bytes())?;
        self.written += 1;
        Ok(())
    }

    /// Writes one row given its cells in field order.
    pub fn write_row(&mut self, cells: &[Value]) -> Result<()> {
        self.check_room()?;
        if cells.len() != self.fields.len() {
            return Err(Error::InvalidArgument(format!(
                "row has {} cells, header has {} fields",
                cells.len(),
                self.fields.len()
            )));
        }
        self.emit(cells.iter())
    }

    /// Writes one row taken from an object with exactly the header's fields (any order).
    pub fn write_object(&mut self, row: &Map) -> Result<()> {
        self.check_room()?;
        if row.len() != self.fields.len() {
            return Err(Error::InvalidArgument(
                "object keys differ from the header fields".into(),
            ));
        }
        let mut cells = Vec::with_capacity(self.fields.len());
        for f in &self.fields {
            match row.get(f) {
                Some(v) => cells.push(v),
                None => return Err(Error::InvalidArgument(format!("object lacks field {f:?}"))),
            }
        }
        self.emit(cells.into_iter())
    }

    /// Rows written so far.
    pub fn rows_written(&self) -> usize {
        self.written
    }

    /// Checks that exactly the declared number of rows was written, flushes and returns the
    /// writer.
    pub fn finish(mut self) -> Result<W> {
        if self.written != self.declared {
            return Err(Error::RowCountMismatch {
                declared: self.declared,
                written: self.written,
            });
        }
        self.w.flush()?;
        Ok(self.w)
    }
}
