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

/// How a WAL tail that recovery cuts (or would cut) looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TailCutKind {
    /// An append cut short by a crash after the last sync: the last record is incomplete or
    /// holds a zero-filled page, and nothing valid follows. Only unacknowledged (or, outside
    /// `SyncMode::Full`, unsynced) commits are lost.
    TornWrite,
    /// Damage before the last sync: a complete record fails its checksum, or valid records
    /// follow the damage. Commits in the cut part may have been acknowledged; a read-write
    /// open keeps a copy of the whole WAL in `lost/` before deleting it.
    Damaged,
}

impl TailCutKind {
    /// A short description for reports.
    pub fn describe(self) -> &'static str {
        match self {
            TailCutKind::TornWrite => "torn write after the last sync",
            TailCutKind::Damaged => "damage before the last sync",
        }
    }
}

/// A WAL tail that recovery cut at open, or that it would cut (read-only handles and
/// [`crate::Engine::verify`]): replay stops at the first damaged record, so what follows is
/// not applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalTailCut {
    /// The WAL file.
    pub path: PathBuf,
    /// Offset of the first record not replayed.
    pub offset: u64,
    /// Bytes from `offset` to the end of the file.
    pub bytes: u64,
    /// Valid records found after the damage (not replayed, so that what is replayed is always
    /// a prefix of the commit order).
    pub valid_records_after: u64,
    /// Torn write or damage.
    pub kind: TailCutKind,
}

impl std::fmt::Display for WalTailCut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: WAL tail cut at offset {}: {} bytes, {} valid records after the damage ({})",
            self.path.display(),
            self.offset,
            self.bytes,
            self.valid_records_after,
            self.kind.describe()
        )
    }
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
    /// WAL tails cut at open (read-write handle) or that an open would cut (read-only handle,
    /// and the live WALs now).
    pub tail_cuts: Vec<WalTailCut>,
}

impl VerifyReport {
    /// Whether the database is clean: no damage and no WAL tail cut or to be cut.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty() && self.tail_cuts.is_empty()
    }

    /// Whether anything is damaged: a problem, or a cut that is not a plain torn write (a torn
    /// write after the last sync is what any crash may leave).
    pub fn has_damage(&self) -> bool {
        !self.problems.is_empty()
            || self
                .tail_cuts
                .iter()
                .any(|c| c.kind != TailCutKind::TornWrite)
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
    let (man_path, log_number) = {
        let vs = inner.vs.lock();
        (vs.manifest.path.clone(), vs.log_number)
    };
    match inner.vfs.read_all(&man_path) {
        Ok(data) => match log::parse(&data, &man_path, true) {
            Ok(p) => {
                r.manifest_records = p.records.len();
                if let Some(at) = p.torn_at {
                    r.problems.push(Problem {
                        path: man_path.clone(),
                        offset: at,
                        detail: format!(
                            "damaged or incomplete final edit ({} bytes); an open ignores it",
                            data.len() as u64 - at
                        ),
                    });
                }
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
    if !inner.opts.read_only {
        // Cut when this handle was opened (those WALs are gone now).
        r.tail_cuts.extend(inner.cuts.iter().cloned());
    }
    let names = inner
        .vfs
        .list_dir(&inner.dir)
        .map_err(|e| Error::io(&inner.dir, e))?;
    let mut wals: Vec<u64> = names
        .iter()
        .filter_map(|n| match files::classify(n) {
            Some(FileKind::Wal(w)) if w >= log_number => Some(w),
            _ => None,
        })
        .collect();
    wals.sort_unstable();
    let mut datas = Vec::new();
    for w in wals {
        let path = files::wal(&inner.dir, w);
        let data = if inner.opts.read_only {
            inner.vfs.read_all(&path)
        } else {
            // Hold the WAL lock with the user-space buffer flushed, so the active WAL holds
            // no half-written group while it is read.
            let mut wal = inner.wal.lock();
            if wal.number == w {
                wal.flush()?;
            }
            inner.vfs.read_all(&path)
        };
        match data {
            Ok(d) => datas.push((path, d)),
            // Deleted concurrently by a flush: nothing to check.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => r.problems.push(problem(Error::io(&path, e), &path)),
        }
    }
    let parsed: Vec<_> = datas.iter().map(|(_, d)| log::parse_prefix(d)).collect();
    for (i, ((path, _), (records, cut))) in datas.iter().zip(&parsed).enumerate() {
        r.wals_checked += 1;
        r.wal_records += records.len();
        for (off, payload) in records {
            if let Err(e) = crate::batch::codec::decode(payload, path, *off) {
                r.problems.push(problem(e, path));
            }
        }
        let Some(cut) = cut else { continue };
        if parsed[i + 1..].iter().any(|(recs, _)| !recs.is_empty()) {
            r.problems.push(Problem {
                path: path.clone(),
                offset: cut.offset,
                detail: format!(
                    "damaged record in a WAL synced before a newer WAL received records \
                     (damage before the last sync; {} bytes, {} valid records after it); \
                     the database does not open until `toondb repair`",
                    cut.bytes, cut.valid_after
                ),
            });
            continue;
        }
        r.tail_cuts.push(WalTailCut {
            path: path.clone(),
            offset: cut.offset,
            bytes: cut.bytes,
            valid_records_after: cut.valid_after,
            kind: if cut.torn && cut.valid_after == 0 {
                TailCutKind::TornWrite
            } else {
                TailCutKind::Damaged
            },
        });
    }
    Ok(r)
}
