//! Integrity check: re-read every table block and WAL record and check its checksum.

use crate::engine::Inner;
use crate::error::{Error, Result};
use crate::files::{self, FileKind};
use crate::log;
use std::path::PathBuf;

/// One problem found by [`crate::Engine::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The damaged file.
    pub path: PathBuf,
    /// Byte offset of the damage (0 when unknown).
    pub offset: u64,
    /// What is wrong.
    pub detail: String,
}

/// The result of [`crate::Engine::verify`].
#[derive(Clone, Debug, Default)]
pub struct VerifyReport {
    /// Table files checked.
    pub tables_checked: usize,
    /// WAL files checked.
    pub wals_checked: usize,
    /// WAL records whose checksum was verified.
    pub wal_records: usize,
    /// Manifest records whose checksum was verified.
    pub manifest_records: usize,
    /// Everything that failed.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Whether nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

fn problem(e: Error, fallback: &std::path::Path) -> Problem {
    match e {
        Error::Corruption {
            path,
            offset,
            detail,
        } => Problem {
            path: if path.as_os_str().is_empty() {
                fallback.to_path_buf()
            } else {
                path
            },
            offset,
            detail,
        },
        Error::Io { path, source } => Problem {
            path,
            offset: 0,
            detail: source.to_string(),
        },
        other => Problem {
            path: fallback.to_path_buf(),
            offset: 0,
            detail: other.to_string(),
        },
    }
}

pub(crate) fn verify(inner: &Inner) -> Result<VerifyReport> {
    let mut r = VerifyReport::default();
    let sv = inner.current_sv();
    for f in sv.version.levels.iter().flatten() {
        r.tables_checked += 1;
        if let Err(e) = f.table.verify() {
            r.problems.push(problem(e.into(), &f.path));
        }
    }
    // The live manifest: every edit must decode.
    let man_path = inner.vs.lock().manifest.path.clone();
    match inner.vfs.read_all(&man_path) {
        Ok(data) => match log::parse(&data, &man_path, true) {
            Ok(p) => {
                r.manifest_records = p.records.len();
                for (off, payload) in p.records {
                    if let Err(e) = crate::manifest::codec::decode(payload, &man_path, off) {
                        r.problems.push(problem(e, &man_path));
                    }
                }
            }
            Err(e) => r.problems.push(problem(e, &man_path)),
        },
        // Replaced by a concurrent manifest rotation: the new one was verified when written.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => r.problems.push(problem(Error::io(&man_path, e), &man_path)),
    }
    let names = inner
        .vfs
        .list_dir(&inner.dir)
        .map_err(|e| Error::io(&inner.dir, e))?;
    let active = inner.wal.lock().number;
    for n in names {
        let Some(FileKind::Wal(w)) = files::classify(&n) else {
            continue;
        };
        let path = inner.dir.join(&n);
        let data = match inner.vfs.read_all(&path) {
            Ok(d) => d,
            // Deleted concurrently by a flush: nothing to check.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                r.problems.push(problem(Error::io(&path, e), &path));
                continue;
            }
        };
        r.wals_checked += 1;
        // The active WAL may have a record being written right now.
        match log::parse(&data, &path, w == active) {
            Ok(p) => {
                r.wal_records += p.records.len();
                for (off, payload) in p.records {
                    if let Err(e) = crate::batch::codec::decode(payload, &path, off) {
                        r.problems.push(problem(e, &path));
                    }
                }
            }
            Err(e) => r.problems.push(problem(e, &path)),
        }
    }
    Ok(r)
}
