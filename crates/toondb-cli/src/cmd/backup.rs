//! `toondb backup PATH DEST`: a consistent copy of the database in `PATH` (which may be open
//! read-write in another process) into `DEST` (missing or empty), then `check` on the copy.
//! Restoring is opening the copy.

use crate::output::outln;
use std::path::PathBuf;

use clap::Args;

use crate::db::{self, Mode};
use crate::error::{Error, Result};

/// Arguments of `toondb backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Database directory.
    pub path: PathBuf,
    /// Destination directory (must be missing or empty).
    pub dest: PathBuf,
}

/// Runs `toondb backup`.
pub fn run(args: BackupArgs) -> Result<()> {
    db::check_path(&args.path, Mode::Existing)?;
    // Read-only: nothing in PATH is written, and a writer in another process keeps going.
    let db = toondb::Database::open_read_only(&args.path)?;
    let r = db.backup_to(&args.dest);
    db.close()?;
    let r = r?;
    outln!(
        "backup of {} written to {}: {} tables ({} hard-linked), {} WAL files, {} bytes copied",
        args.path.display(),
        args.dest.display(),
        r.tables,
        r.tables_linked,
        r.wals,
        r.bytes_copied
    );
    let copy = toondb::Database::open_read_only(&args.dest)?;
    let v = copy.verify();
    copy.close()?;
    let v = v?;
    if v.is_ok() {
        outln!(
            "verified: {} tables, {} WAL records; ok",
            v.tables_checked,
            v.wal_records
        );
        Ok(())
    } else {
        Err(Error::Corrupt(format!(
            "the copy in {} does not verify: {:?} {:?}",
            args.dest.display(),
            v.problems,
            v.tail_cuts
        )))
    }
}
