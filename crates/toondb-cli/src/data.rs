//! Reading CSV and JSONL files for `toondb import`: records, column-type inference and
//! conversion to SQL values.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use toondb_query::Value;

use crate::error::Error;

/// A file format for import and export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row (RFC 4180 quoting).
    Csv,
}

impl FileFormat {
    /// The format named by a file's extension (`.jsonl`, `.ndjson`, `.json` or `.csv`).
    pub fn from_path(path: &Path) -> Option<FileFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "ndjson" | "json" => Some(FileFormat::Jsonl),
            "csv" => Some(FileFormat::Csv),
            _ => None,
        }
    }
}

/// One field as read from a file, before it is given a column type.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    /// JSON `null`, a missing JSON key, or an empty CSV field.
    Null,
    /// A CSV field (untyped text).
    Csv(String),
    /// A JSON string.
    Str(String),
    /// A JSON integer that fits `i64` (booleans become 0/1).
    Int(i64),
    /// Any other JSON number.
    Real(f64),
    /// A JSON array or object, kept as compact JSON text.
    Json(String),
}

/// What a field's content looks like, for column-type inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Only NULLs seen.
    Null,
    /// Integers only.
    Integer,
    /// Numbers, at least one of them not an integer.
    Real,
    /// Anything else.
    Text,
}

impl Kind {
    /// The kind of a column holding values of kinds `self` and `other`.
    pub fn join(self, other: Kind) -> Kind {
        self.max(other)
    }

    /// The SQL type a new column of this kind is declared with.
    pub fn sql_type(self) -> &'static str {
        match self {
            Kind::Integer => "INTEGER",
            Kind::Real => "REAL",
            Kind::Null | Kind::Text => "TEXT",
        }
    }
}

/// True for `-?(0|[1-9][0-9]*)`: integers written canonically, so `007` stays text.
fn is_canonical_int(s: &str) -> bool {
    let d = s.strip_prefix('-').unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) && (d == "0" || !d.starts_with('0'))
}

/// True for `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` (JSON number syntax).
fn is_decimal(s: &str) -> bool {
    let b = s.strip_prefix('-').unwrap_or(s).as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    let n = digits(&mut i);
    if n == 0 || (n > 1 && b[0] == b'0') {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

impl Raw {
    /// What this field looks like.
    pub fn kind(&self) -> Kind {
        match self {
            Raw::Null => Kind::Null,
            Raw::Int(_) => Kind::Integer,
            Raw::Real(_) => Kind::Real,
            Raw::Str(_) | Raw::Json(_) => Kind::Text,
            Raw::Csv(s) => {
                if is_canonical_int(s) && s.parse::<i64>().is_ok() {
                    Kind::Integer
                } else if is_decimal(s) && s.parse::<f64>().is_ok_and(f64::is_finite) {
                    Kind::Real
                } else {
                    Kind::Text
                }
            }
        }
    }

    /// The SQL value to store in a column of declared kind `column` (a CSV field stays text
    /// in a TEXT column, so `007` keeps its zeros; elsewhere numeric-looking fields become
    /// numbers).
    pub fn into_value(self, column: Kind) -> Value {
        match self {
            Raw::Null => Value::Null,
            Raw::Int(i) => Value::Integer(i),
            Raw::Real(r) => Value::real(r),
            Raw::Str(s) | Raw::Json(s) => Value::Text(s),
            Raw::Csv(s) => {
                if column == Kind::Text {
                    return Value::Text(s);
                }
                match Raw::Csv(s.clone()).kind() {
                    Kind::Integer => s.parse::<i64>().map_or(Value::Text(s), Value::Integer),
                    Kind::Real => s.parse::<f64>().map_or(Value::Text(s), Value::real),
                    Kind::Null | Kind::Text => Value::Text(s),
                }
            }
        }
    }

    /// The value for a column of declared kind `column` when the value must fit that kind
    /// (import into an existing table without `--coerce`); `Err` holds what the value is.
    /// NULL fits every column; columns without a type (or BLOB) take anything.
    pub fn into_checked(self, column: Kind) -> Result<Value, String> {
        let what = |s: &str| format!("`{}`", s.chars().take(40).collect::<String>());
        match (column, self) {
            (_, Raw::Null) => Ok(Value::Null),
            (Kind::Null, raw) => Ok(raw.into_value(Kind::Null)),
            (Kind::Integer, Raw::Int(i)) => Ok(Value::Integer(i)),
            (Kind::Integer, Raw::Csv(s)) => {
                s.parse::<i64>().map(Value::Integer).map_err(|_| what(&s))
            }
            (Kind::Real, Raw::Int(i)) => Ok(Value::real(i as f64)),
            (Kind::Real, Raw::Real(r)) => Ok(Value::real(r)),
            (Kind::Real, Raw::Csv(s)) => match s.parse::<f64>() {
                Ok(r) if r.is_finite() => Ok(Value::real(r)),
                _ => Err(what(&s)),
            },
            (Kind::Text, Raw::Csv(s) | Raw::Str(s) | Raw::Json(s)) => Ok(Value::Text(s)),
            (_, Raw::Int(i)) => Err(format!("the number {i}")),
            (_, Raw::Real(r)) => Err(format!("the number {r}")),
            (_, Raw::Str(s)) => Err(format!("the string {}", what(&s))),
            (_, Raw::Json(s)) => Err(format!("the JSON value {}", what(&s))),
        }
    }

    /// The value for a column of declared kind `column` with SQLite-style type affinity
    /// (`--coerce`): numeric-looking text becomes a number in INTEGER and REAL columns,
    /// numbers become text in TEXT columns, and anything else is stored as it is.
    pub fn into_coerced(self, column: Kind) -> Value {
        match (column, self) {
            (Kind::Text, Raw::Int(i)) => Value::Text(i.to_string()),
            (Kind::Text, Raw::Real(r)) => Value::Text(r.to_string()),
            (Kind::Real, Raw::Int(i)) => Value::real(i as f64),
            (Kind::Real, Raw::Csv(s)) => match s.parse::<f64>() {
                Ok(r) if r.is_finite() => Value::real(r),
                _ => Value::Text(s),
            },
            (Kind::Integer, Raw::Csv(s)) => match s.parse::<i64>() {
                Ok(i) => Value::Integer(i),
                Err(_) => Raw::Csv(s).into_value(Kind::Integer),
            },
            (k, raw) => raw.into_value(k),
        }
    }

    fn from_json(v: serde_json::Value) -> Raw {
        match v {
            serde_json::Value::Null => Raw::Null,
            serde_json::Value::Bool(b) => Raw::Int(i64::from(b)),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Raw::Int(i),
                None => n.as_f64().map_or(Raw::Null, Raw::Real),
            },
            serde_json::Value::String(s) => Raw::Str(s),
            v @ (serde_json::Value::Array(_) | serde_json::Value::Object(_)) => {
                Raw::Json(v.to_string())
            }
        }
    }
}

/// One input record: (column name, field) pairs in file order.
pub type Record = Vec<(String, Raw)>;

/// A streaming reader of records from a CSV or JSONL file.
pub struct RecordReader {
    path: PathBuf,
    inner: Inner,
}

enum Inner {
    Jsonl {
        lines: std::io::Lines<BufReader<File>>,
        line: u64,
    },
    Csv {
        reader: csv::Reader<File>,
        header: Vec<String>,
        record: csv::StringRecord,
    },
}

impl RecordReader {
    /// Opens `path` as `format`. For CSV, reads and validates the header row.
    pub fn open(path: &Path, format: FileFormat) -> Result<RecordReader, Error> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let inner = match format {
            FileFormat::Jsonl => Inner::Jsonl {
                lines: BufReader::new(file).lines(),
                line: 0,
            },
            FileFormat::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(true)
                    .from_reader(file);
                let header: Vec<String> = reader
                    .headers()
                    .map_err(|e| csv_error(path, &e))?
                    .iter()
                    // Spreadsheet exports often start with a UTF-8 byte-order mark.
                    .enumerate()
                    .map(|(i, h)| {
                        if i == 0 {
                            h.trim_start_matches('\u{feff}')
                        } else {
                            h
                        }
                        .trim()
                        .to_string()
                    })
                    .collect();
                if header.iter().all(String::is_empty) {
                    return Err(Error::input(path, 1, "missing CSV header row"));
                }
                for (i, h) in header.iter().enumerate() {
                    if h.is_empty() {
                        return Err(Error::input(
                            path,
                            1,
                            format!("CSV header column {} has no name", i + 1),
                        ));
                    }
                    if header[..i].iter().any(|o| o.eq_ignore_ascii_case(h)) {
                        return Err(Error::input(
                            path,
                            1,
                            format!("duplicate CSV header column `{h}`"),
                        ));
                    }
                }
                Inner::Csv {
                    reader,
                    header,
                    record: csv::StringRecord::new(),
                }
            }
        };
        Ok(RecordReader {
            path: path.to_path_buf(),
            inner,
        })
    }

    /// The next record, `None` at the end of the file.
    pub fn next_record(&mut self) -> Result<Option<Record>, Error> {
        match &mut self.inner {
            Inner::Jsonl { lines, line } => loop {
                let Some(text) = lines.next() else {
                    return Ok(None);
                };
                *line += 1;
                let text = text.map_err(|e| Error::io(&self.path, e))?;
                if text.trim().is_empty() {
                    continue;
                }
                let v: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| Error::input(&self.path, *line, format!("invalid JSON: {e}")))?;
                let serde_json::Value::Object(map) = v else {
                    return Err(Error::input(&self.path, *line, "expected a JSON object"));
                };
                let mut rec = Vec::with_capacity(map.len());
                for (k, v) in map {
                    if rec
                        .iter()
                        .any(|(o, _): &(String, Raw)| o.eq_ignore_ascii_case(&k))
                    {
                        return Err(Error::input(
                            &self.path,
                            *line,
                            format!("duplicate key `{k}` (column names ignore case)"),
                        ));
                    }
                    rec.push((k, Raw::from_json(v)));
                }
                return Ok(Some(rec));
            },
            Inner::Csv {
                reader,
                header,
                record,
            } => {
                if !reader
                    .read_record(record)
                    .map_err(|e| csv_error(&self.path, &e))?
                {
                    return Ok(None);
                }
                Ok(Some(
                    header
                        .iter()
                        .zip(record.iter())
                        .map(|(h, f)| {
                            (
                                h.clone(),
                                if f.is_empty() {
                                    Raw::Null
                                } else {
                                    Raw::Csv(f.to_string())
                                },
                            )
                        })
                        .collect(),
                ))
            }
        }
    }

    /// The CSV header (column names), `None` for JSONL.
    pub fn header(&self) -> Option<&[String]> {
        match &self.inner {
            Inner::Csv { header, .. } => Some(header),
            Inner::Jsonl { .. } => None,
        }
    }

    /// The 1-based line of the last record read (for error messages).
    pub fn line(&self) -> u64 {
        match &self.inner {
            Inner::Jsonl { line, .. } => *line,
            // Where the last record started (the reader is already past it).
            Inner::Csv { record, reader, .. } => record
                .position()
                .map_or_else(|| reader.position().line(), csv::Position::line),
        }
    }
}

fn csv_error(path: &Path, e: &csv::Error) -> Error {
    let line = e.position().map_or(0, csv::Position::line);
    let msg = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("expected {expected_len} fields (as in the header), found {len}")
        }
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_string(),
        _ => e.to_string(),
    };
    Error::input(path, line, msg)
}

/// Columns of an input file, in order of first appearance, with their inferred kinds.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Shape {
    /// (name, kind) per column.
    pub columns: Vec<(String, Kind)>,
    /// Number of records.
    pub records: u64,
}

impl Shape {
    /// Adds one record to the shape.
    pub fn add(&mut self, rec: &Record) {
        self.records += 1;
        for (name, raw) in rec {
            let k = raw.kind();
            match self
                .columns
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                Some((_, kind)) => *kind = kind.join(k),
                None => self.columns.push((name.clone(), k)),
            }
        }
    }
}

/// Reads the whole file once: validates every record and infers the columns.
pub fn scan(
    path: &Path,
    format: FileFormat,
    interrupted: impl Fn() -> bool,
) -> Result<Shape, Error> {
    let mut r = RecordReader::open(path, format)?;
    let mut shape = Shape::default();
    // A CSV header names the columns even when no data rows follow.
    for name in r.header().unwrap_or_default() {
        shape.columns.push((name.clone(), Kind::Null));
    }
    while let Some(rec) = r.next_record()? {
        shape.add(&rec);
        if shape.records.is_multiple_of(4096) && interrupted() {
            return Err(Error::Interrupted("nothing was imported".into()));
        }
    }
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_kinds() {
        let k = |s: &str| Raw::Csv(s.into()).kind();
        assert_eq!(k("42"), Kind::Integer);
        assert_eq!(k("-0"), Kind::Integer);
        assert_eq!(k("007"), Kind::Text);
        assert_eq!(k("99999999999999999999"), Kind::Real);
        assert_eq!(k("1.5e3"), Kind::Real);
        assert_eq!(k("1."), Kind::Text);
        assert_eq!(k("nan"), Kind::Text);
        assert_eq!(k("inf"), Kind::Text);
        assert_eq!(k("1e999"), Kind::Text);
        assert_eq!(k(" 1"), Kind::Text);
    }

    #[test]
    fn values_follow_the_column_kind() {
        assert_eq!(
            Raw::Csv("007".into()).into_value(Kind::Text),
            Value::Text("007".into())
        );
        assert_eq!(
            Raw::Csv("7".into()).into_value(Kind::Integer),
            Value::Integer(7)
        );
        assert_eq!(
            Raw::Csv("2.5".into()).into_value(Kind::Real),
            Value::Real(2.5)
        );
        assert_eq!(
            Raw::Csv("x".into()).into_value(Kind::Integer),
            Value::Text("x".into())
        );
        assert_eq!(Raw::from_json(serde_json::json!(true)), Raw::Int(1));
        assert_eq!(
            Raw::from_json(serde_json::json!({"a": [1]})),
            Raw::Json("{\"a\":[1]}".into())
        );
    }

    #[test]
    fn checked_and_coerced_values() {
        let csv = |s: &str| Raw::Csv(s.into());
        assert_eq!(
            csv("007").into_checked(Kind::Integer),
            Ok(Value::Integer(7))
        );
        assert_eq!(csv("abc").into_checked(Kind::Integer), Err("`abc`".into()));
        assert_eq!(csv("2.5").into_checked(Kind::Integer), Err("`2.5`".into()));
        assert_eq!(csv("2").into_checked(Kind::Real), Ok(Value::Real(2.0)));
        assert_eq!(
            csv("42").into_checked(Kind::Text),
            Ok(Value::Text("42".into()))
        );
        assert_eq!(
            Raw::Int(5).into_checked(Kind::Text),
            Err("the number 5".into())
        );
        assert_eq!(Raw::Null.into_checked(Kind::Integer), Ok(Value::Null));
        assert_eq!(
            csv("x").into_checked(Kind::Null),
            Ok(Value::Text("x".into()))
        );
        assert_eq!(
            csv("abc").into_coerced(Kind::Integer),
            Value::Text("abc".into())
        );
        assert_eq!(csv("2.5").into_coerced(Kind::Integer), Value::Real(2.5));
        assert_eq!(
            Raw::Int(5).into_coerced(Kind::Text),
            Value::Text("5".into())
        );
    }

    #[test]
    fn shape_joins_kinds_in_first_seen_order() {
        let mut s = Shape::default();
        s.add(&vec![("a".into(), Raw::Int(1)), ("b".into(), Raw::Null)]);
        s.add(&vec![
            ("A".into(), Raw::Real(0.5)),
            ("c".into(), Raw::Str("x".into())),
        ]);
        assert_eq!(
            s.columns,
            vec![
                ("a".into(), Kind::Real),
                ("b".into(), Kind::Null),
                ("c".into(), Kind::Text)
            ]
        );
        assert_eq!(s.records, 2);
    }
}
