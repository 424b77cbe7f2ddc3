//! Corruption: build a database, then on copies of it flip random bits in, or truncate, its
//! WAL, table and manifest files, and check that `open()`/`verify()`/reads report the damage
//! (with file and offset) instead of panicking or returning wrong data.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use toondb_storage::{Engine, Error, Options, SyncMode};

use crate::workload::{self, Rng};
use crate::StressError;

/// Totals of a corruption run.
#[derive(Debug, Default)]
pub struct CorruptSummary {
    /// Damaged copies tried.
    pub trials: u64,
    /// Damage reported by open, verify or a read (a typed error or a verify problem).
    pub detected: u64,
    /// Of those, reports without a file path.
    pub detected_without_path: u64,
    /// Damage that was not reported and did not change what reads return (e.g. a flipped bit in
    /// a WAL tail record treated as a torn write, or in an obsolete file).
    pub harmless: u64,
    /// WAL damage treated as a torn tail: recent commits dropped, the rest consistent.
    pub tail_dropped: u64,
    /// Of those, after a bit flip (not a truncation) in the WAL: the damaged record and
    /// everything after it dropped silently, as if torn by a crash.
    pub flip_tail_dropped: u64,
    /// Panics (always a failure).
    pub panics: u64,
    /// Acknowledged commits missing without any error, the rest consistent (a failure), e.g.
    /// a truncated manifest read as if its last edits were torn.
    pub silent_loss: u64,
    /// Wrong data (partial or phantom commits, wrong values) returned without an error
    /// (always a failure).
    pub silent_wrong: u64,
}

fn options() -> Options {
    Options {
        sync: SyncMode::Full,
        memtable_size: 32 << 10,
        l1_target_bytes: 128 << 10,
        target_file_size: 32 << 10,
        ..Options::default()
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    if to.exists() {
        std::fs::remove_dir_all(to)?;
    }
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        if e.file_name() != "LOCK" {
            std::fs::copy(e.path(), to.join(e.file_name()))?;
        }
    }
    Ok(())
}

enum Outcome {
    Detected { with_path: bool },
    Harmless,
    TailDropped,
    SilentLoss(String),
    Wrong(String),
}

fn classify_err(e: &Error) -> Outcome {
    match e {
        Error::Corruption { path, .. } => Outcome::Detected {
            with_path: !path.as_os_str().is_empty(),
        },
        // Truncation can surface as an I/O error (short read) on the named file.
        Error::Io { path, .. } => Outcome::Detected {
            with_path: !path.as_os_str().is_empty(),
        },
        other => Outcome::Detected {
            with_path: other.to_string().contains('/'),
        },
    }
}

fn examine(dir: &Path, acked: &BTreeSet<u64>, is_wal: bool) -> Outcome {
    let db = match Engine::open(dir, options()) {
        Ok(db) => db,
        Err(e) => return classify_err(&e),
    };
    match db.verify() {
        Ok(r) if !r.is_ok() => {
            return Outcome::Detected {
                with_path: r.problems.iter().all(|p| !p.path.as_os_str().is_empty()),
            }
        }
        Ok(_) => {}
        Err(e) => return classify_err(&e),
    }
    let m = match workload::dump(&db) {
        Ok(m) => m,
        Err(e) => return classify_err(&e),
    };
    let max = acked.last().copied().unwrap_or(0);
    let r = workload::check(&m, acked, &|id| id <= max);
    if r.is_ok() {
        return Outcome::Harmless;
    }
    if r.phantom == 0 && r.partial == 0 && r.wrong == 0 {
        // Lost commits only: the recovery treated damage in the log as the torn tail of a
        // crash. Accept only if what is left is a prefix (all lost ids above all visible).
        let visible_max = m
            .keys()
            .filter_map(|k| k.strip_prefix(b"c/"))
            .filter_map(|k| std::str::from_utf8(k).ok()?.parse::<u64>().ok())
            .max();
        let first_lost = acked
            .iter()
            .find(|id| !m.contains_key(&workload::marker_key(**id)));
        if let (Some(v), Some(l)) = (visible_max, first_lost) {
            if *l > v && is_wal {
                return Outcome::TailDropped;
            }
        }
        return Outcome::SilentLoss(format!("{:?}", r.samples));
    }
    Outcome::Wrong(format!("{:?}", r.samples))
}

/// Builds a database under `work/base` and runs `trials` damaged copies under `work/trial`.
pub fn run(work: &Path, trials: u64, seed: u64) -> Result<CorruptSummary, StressError> {
    let base = work.join("base");
    if base.exists() {
        std::fs::remove_dir_all(&base)?;
    }
    let mut acked = BTreeSet::new();
    {
        let db = Engine::open(&base, options())?;
        for id in 0..1500 {
            workload::apply(&db, id)?;
            acked.insert(id);
        }
        db.close()?;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&base)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().map(|n| n.to_string_lossy().into_owned());
            n.is_some_and(|n| {
                n.ends_with(".log") || n.ends_with(".sst") || n.starts_with("MANIFEST")
            }) && std::fs::metadata(p).is_ok_and(|m| m.len() > 0)
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(StressError::Setup("no database files were created".into()));
    }
    println!(
        "corrupt: base db has {} files ({} sst, {} wal)",
        files.len(),
        files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "sst"))
            .count(),
        files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .count()
    );
    let mut rng = Rng::new(seed);
    let mut s = CorruptSummary::default();
    let trial_dir = work.join("trial");
    for t in 0..trials {
        // Pick the kind (WAL, table, manifest) first so each gets a third of the trials.
        let kinds: [&dyn Fn(&str) -> bool; 3] =
            [&|n| n.ends_with(".log"), &|n| n.ends_with(".sst"), &|n| {
                n.starts_with("MANIFEST")
            }];
        let want = kinds[rng.below(3) as usize];
        let of_kind: Vec<&PathBuf> = files
            .iter()
            .filter(|p| want(&p.file_name().unwrap_or_default().to_string_lossy()))
            .collect();
        let f = match of_kind.len() {
            0 => &files[rng.below(files.len() as u64) as usize],
            n => of_kind[rng.below(n as u64) as usize],
        };
        let name = f.file_name().map(|n| n.to_owned()).unwrap_or_default();
        copy_dir(&base, &trial_dir)?;
        let target = trial_dir.join(&name);
        let mut bytes = std::fs::read(&target)?;
        if bytes.is_empty() {
            continue;
        }
        let what = if rng.below(4) == 0 {
            let len = rng.below(bytes.len() as u64) as usize;
            bytes.truncate(len);
            format!("truncate to {len}")
        } else {
            let off = rng.below(bytes.len() as u64) as usize;
            let bit = rng.below(8) as u8;
            bytes[off] ^= 1 << bit;
            format!("flip bit {bit} at {off}")
        };
        std::fs::write(&target, &bytes)?;
        let is_wal = name.to_string_lossy().ends_with(".log");
        let out = std::panic::catch_unwind(|| examine(&trial_dir, &acked, is_wal));
        s.trials += 1;
        match out {
            Err(_) => {
                s.panics += 1;
                eprintln!("trial {t}: PANIC on {} ({what})", name.to_string_lossy());
            }
            Ok(Outcome::Detected { with_path }) => {
                s.detected += 1;
                if !with_path {
                    s.detected_without_path += 1;
                }
            }
            Ok(Outcome::Harmless) => s.harmless += 1,
            Ok(Outcome::TailDropped) => {
                s.tail_dropped += 1;
                if what.starts_with("flip") {
                    s.flip_tail_dropped += 1;
                    eprintln!(
                        "trial {t}: {} ({what}): acknowledged commits after the damage dropped \
                         without an error (treated as a torn tail)",
                        name.to_string_lossy()
                    );
                }
            }
            Ok(Outcome::SilentLoss(d)) => {
                s.silent_loss += 1;
                eprintln!(
                    "trial {t}: SILENT LOSS from {} ({what}): {d}",
                    name.to_string_lossy()
                );
            }
            Ok(Outcome::Wrong(d)) => {
                s.silent_wrong += 1;
                eprintln!(
                    "trial {t}: WRONG DATA from {} ({what}): {d}",
                    name.to_string_lossy()
                );
            }
        }
    }
    Ok(s)
}
