//! Temporary files for operators whose state exceeds the statement memory budget.
//!
//! External sort: the sort buffer is written as a sorted run whenever it would exceed the
//! budget; at the end the runs are merged, reading one row per run at a time. Files live in
//! the database directory (`<db>/sql-tmp/`) and are deleted when the sort ends (or fails).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::codec::{decode_row, encode_row};
use crate::error::{Error, Result};
use crate::plan::SortKey;
use crate::value::Value;

type Row = Vec<Value>;

static NEXT_FILE: AtomicU64 = AtomicU64::new(0);

fn io_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Internal(format!("sort spill: {what} {}: {e}", path.display()))
}

/// One temporary run file; deleted on drop.
struct RunFile {
    path: PathBuf,
}

impl Drop for RunFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Sorted runs of an external sort.
pub struct SortSpill {
    dir: PathBuf,
    runs: Vec<RunFile>,
}

impl SortSpill {
    /// A spill area under `db_dir/sql-tmp` (no directory: the sort cannot spill).
    pub fn new(db_dir: Option<&Path>) -> Result<Self> {
        let Some(d) = db_dir else {
            return Err(Error::ResourceExhausted {
                operator: "sort",
                budget: 0,
            });
        };
        let dir = d.join("sql-tmp");
        std::fs::create_dir_all(&dir).map_err(|e| io_err("create", &dir, e))?;
        Ok(SortSpill {
            dir,
            runs: Vec::new(),
        })
    }

    /// Number of runs written so far.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Writes an already sorted buffer as one run.
    pub fn write_run(&mut self, rows: Vec<(Row, u64, Row)>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let n = NEXT_FILE.fetch_add(1, Ordering::Relaxed);
        let path = self
            .dir
            .join(format!("sort-{}-{n}.run", std::process::id()));
        let f = File::create(&path).map_err(|e| io_err("create", &path, e))?;
        let run = RunFile { path };
        let mut w = BufWriter::with_capacity(1 << 16, f);
        for (k, _, r) in rows {
            for part in [encode_row(&k), encode_row(&r)] {
                let len = u32::try_from(part.len())
                    .map_err(|_| Error::Internal("sort spill: row larger than 4 GiB".into()))?;
                w.write_all(&len.to_le_bytes())
                    .and_then(|()| w.write_all(&part))
                    .map_err(|e| io_err("write", &run.path, e))?;
            }
        }
        w.flush().map_err(|e| io_err("write", &run.path, e))?;
        self.runs.push(run);
        Ok(())
    }

    /// Merges the runs in key order (ties: earlier run first, which keeps input order).
    pub fn into_merger(self, keys: &[SortKey]) -> Result<Merger<'_>> {
        let mut readers = Vec::with_capacity(self.runs.len());
        let mut heads = Vec::with_capacity(self.runs.len());
        for run in &self.runs {
            let f = File::open(&run.path).map_err(|e| io_err("open", &run.path, e))?;
            let mut r = BufReader::with_capacity(1 << 16, f);
            heads.push(read_entry(&mut r, &run.path)?);
            readers.push(r);
        }
        Ok(Merger {
            spill: self,
            readers,
            heads,
            keys,
        })
    }
}

fn read_part(r: &mut BufReader<File>, path: &Path) -> Result<Option<Row>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(io_err("read", path, e)),
    }
    let mut buf = vec![0u8; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut buf)
        .map_err(|e| io_err("read", path, e))?;
    decode_row(&buf).map(Some)
}

fn read_entry(r: &mut BufReader<File>, path: &Path) -> Result<Option<(Row, Row)>> {
    let Some(k) = read_part(r, path)? else {
        return Ok(None);
    };
    match read_part(r, path)? {
        Some(row) => Ok(Some((k, row))),
        None => Err(Error::Internal(format!(
            "sort spill: truncated run {}",
            path.display()
        ))),
    }
}

/// Streams the merged runs.
pub struct Merger<'k> {
    spill: SortSpill,
    readers: Vec<BufReader<File>>,
    heads: Vec<Option<(Row, Row)>>,
    keys: &'k [SortKey],
}

impl Merger<'_> {
    /// The next row in sort order.
    pub fn next_row(&mut self) -> Result<Option<Row>> {
        let mut best: Option<usize> = None;
        for (i, h) in self.heads.iter().enumerate() {
            let Some((k, _)) = h else { continue };
            best = match best {
                None => Some(i),
                Some(b) => match &self.heads[b] {
                    Some((bk, _))
                        if crate::exec::sort_cmp(k, bk, self.keys) == std::cmp::Ordering::Less =>
                    {
                        Some(i)
                    }
                    _ => Some(b),
                },
            };
        }
        let Some(b) = best else { return Ok(None) };
        let path = &self.spill.runs[b].path;
        let next = read_entry(&mut self.readers[b], path)?;
        let head = std::mem::replace(&mut self.heads[b], next);
        Ok(head.map(|(_, r)| r))
    }
}
