//! `toondb check PATH`: opens the database read-only (nothing in the directory is written,
//! and it works while another process has it open), re-reads every SSTable block, the
//! manifest and every WAL record, verifies every checksum, and decodes the SQL catalog and
//! every collection. Reports every anomaly, including a WAL tail an open would cut (file,
//! offset, bytes, valid records after the damage; torn write after the last sync or damage
//! before it). Exits non-zero for anything but a clean database.

use crate::output::outln;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::db::{self, Mode};
use crate::error::{Error, Result};

/// Arguments of `toondb check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Database directory.
    pub path: PathBuf,
}

/// Whether `path` holds ToonDB data files (tables, WALs, manifests) even without `CURRENT`.
pub(crate) fn has_data_files(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|rd| {
        rd.filter_map(|e| e.ok()).any(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.ends_with(".sst") || n.ends_with(".log") || n.starts_with("MANIFEST-")
        })
    })
}

/// Runs `toondb check`.
pub fn run(args: CheckArgs) -> Result<()> {
    if !has_data_files(&args.path) {
        db::check_path(&args.path, Mode::Existing)?;
    }
    let db = match toondb::Database::open_read_only(&args.path) {
        Ok(db) => db,
        // Damage in a table's footer/index or in the manifest already stops the open.
        Err(toondb::Error::Storage(toondb_storage::Error::Corruption {
            path,
            offset,
            detail,
        })) => {
            outln!("corrupt: {} at offset {offset}: {detail}", path.display());
            return Err(Error::Corrupt(format!(
                "{} cannot be opened: corruption in {} at offset {offset}",
                args.path.display(),
                path.display()
            )));
        }
        Err(toondb::Error::Storage(e @ toondb_storage::Error::MissingManifest { .. })) => {
            outln!("corrupt: {e}");
            return Err(Error::Corrupt(format!(
                "{} cannot be opened: no valid CURRENT/manifest (run `toondb repair {}`)",
                args.path.display(),
                args.path.display()
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let report = db.verify();
    let catalog = db::load_catalog(&db);
    // Opening a collection decodes every one of its vector and document records.
    let collections = check_collections(&db);
    db.close()?;
    let report = report?;
    let collections = collections?;
    outln!(
        "checked {} SSTable {} and {} WAL {} ({} records)",
        report.tables_checked,
        if report.tables_checked == 1 {
            "file"
        } else {
            "files"
        },
        report.wals_checked,
        if report.wals_checked == 1 {
            "file"
        } else {
            "files"
        },
        report.wal_records
    );
    for p in &report.problems {
        outln!(
            "corrupt: {} at offset {}: {}",
            p.path.display(),
            p.offset,
            p.detail
        );
    }
    for c in &report.tail_cuts {
        outln!(
            "wal tail: {} at offset {}: an open cuts {} bytes ({} valid records after the damage): {}",
            c.path.display(),
            c.offset,
            c.bytes,
            c.valid_records_after,
            c.kind.describe()
        );
    }
    let catalog_problem = match catalog {
        Ok(cat) => {
            outln!(
                "SQL catalog: {} tables, {} views",
                cat.tables.len(),
                cat.views.len()
            );
            None
        }
        Err(e) => {
            outln!("corrupt: SQL catalog: {e}");
            Some(e)
        }
    };
    let docs: usize = collections
        .iter()
        .map(|(_, r)| r.as_ref().map_or(0, |n| *n))
        .sum();
    outln!("collections: {} ({docs} documents)", collections.len());
    let mut bad_collections = 0;
    for (name, r) in &collections {
        if let Err(e) = r {
            outln!("corrupt: collection {name}: {e}");
            bad_collections += 1;
        }
    }
    let n = report.problems.len()
        + report.tail_cuts.len()
        + usize::from(catalog_problem.is_some())
        + bad_collections;
    if n == 0 {
        outln!("ok: no corruption found");
        Ok(())
    } else {
        let first = match (report.problems.first(), report.tail_cuts.first()) {
            (Some(p), _) => format!("{} at offset {}", p.path.display(), p.offset),
            (None, Some(c)) => format!("WAL tail {} at offset {}", c.path.display(), c.offset),
            (None, None) if catalog_problem.is_some() => "the SQL catalog".to_string(),
            (None, None) => "a collection".to_string(),
        };
        Err(Error::Corrupt(format!(
            "{n} {} found in {} (first: {first})",
            if n == 1 { "problem" } else { "problems" },
            args.path.display()
        )))
    }
}

/// Opens every collection; returns (name, documents or the error) per collection.
fn check_collections(db: &toondb::Database) -> Result<Vec<(String, Result<usize, toondb::Error>)>> {
    Ok(db
        .list_collections()?
        .into_iter()
        .map(|name| {
            let r = db.collection(&name).map(|c| c.len());
            (name, r)
        })
        .collect())
}
