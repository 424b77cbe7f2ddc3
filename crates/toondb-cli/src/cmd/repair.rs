//! `toondb repair PATH`: rebuilds the manifest of a database whose `CURRENT` or manifest is
//! missing or damaged (or whose older WAL is damaged) from the tables and WALs it finds, and
//! reports what it kept and what it could not use (moved to `PATH/lost/`, never deleted).

use crate::output::outln;
use std::path::PathBuf;

use clap::Args;

use crate::error::{Error, Result};

/// Arguments of `toondb repair`.
#[derive(Debug, Args)]
pub struct RepairArgs {
    /// Database directory (must not be open in another process).
    pub path: PathBuf,
}

/// Runs `toondb repair`.
pub fn run(args: RepairArgs) -> Result<()> {
    if !args.path.is_dir() {
        return Err(Error::Usage(format!(
            "{} is not a directory",
            args.path.display()
        )));
    }
    let r = toondb::repair(&args.path)?;
    match &r.manifest_used {
        Some(m) => outln!("kept the table list of {}", m.display()),
        None => outln!("no usable manifest: kept every intact table at level 0"),
    };
    outln!("tables kept: {}", r.tables_kept.len());
    for t in &r.tables_kept {
        outln!("  {}", t.display());
    }
    outln!(
        "WAL records kept: {} (from {} WAL files)",
        r.wal_records,
        r.wals_replayed.len()
    );
    for c in &r.wal_cuts {
        outln!(
            "wal tail: {} at offset {}: {} bytes not readable ({} valid records after the damage): {}",
            c.path.display(),
            c.offset,
            c.bytes,
            c.valid_records_after,
            c.kind.describe()
        );
    }
    for (p, why) in &r.not_used {
        outln!("not used: {}: {why}", p.display());
    }
    outln!("new manifest: {}", r.new_manifest.display());
    outln!(
        "ok: repaired; run `toondb check {}` to verify it",
        args.path.display()
    );
    Ok(())
}
