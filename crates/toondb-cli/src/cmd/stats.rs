//! `toondb stats PATH`: files, storage-engine counters, SQL tables and collections.

use crate::output::outln;
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{json, Map, Value as Json};
use toondb::Database;

use crate::db::{self, Mode};
use crate::error::{Error, Result};
use crate::output;

/// Arguments of `toondb stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Database directory.
    pub path: PathBuf,
    /// Print JSON instead of TOON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `toondb stats`. Opens the database read-only (nothing is written; works while
/// another process has it open). Reports what it can: if the database cannot be opened (a
/// damaged table footer, a missing manifest) it still lists the files; a table or collection
/// that cannot be read gets an `error` field. Any such error makes the exit code non-zero
/// after the report is printed.
pub fn run(args: StatsArgs) -> Result<()> {
    db::check_path(&args.path, Mode::Existing)?;
    let (report, errors) = match Database::open_read_only(&args.path) {
        Ok(db) => {
            let report = collect(&db);
            db.close()?;
            let report = report?;
            let errors = report["errors"].as_array().map_or(0, Vec::len);
            (report, errors)
        }
        Err(e) => {
            let mut m = Map::new();
            m.insert("path".into(), json!(args.path.display().to_string()));
            m.insert("files".into(), files(&args.path)?);
            m.insert("errors".into(), json!([format!("cannot open: {e}")]));
            (Json::Object(m), 1)
        }
    };
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        outln!("{}", output::toon(&report));
    }
    if errors == 0 {
        Ok(())
    } else {
        Err(Error::Corrupt(format!(
            "{errors} {} while collecting statistics of {} (reported what could be read)",
            if errors == 1 { "error" } else { "errors" },
            args.path.display()
        )))
    }
}

/// Counts the files in the database directory by kind, with their total size.
fn files(dir: &Path) -> Result<Json> {
    let mut kinds: Map<String, Json> = Map::new();
    let mut total = 0u64;
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut entries: Vec<(String, u64)> = Vec::new();
    for e in rd {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let md = e.metadata().map_err(|err| Error::io(&e.path(), err))?;
        if md.is_file() {
            entries.push((e.file_name().to_string_lossy().into_owned(), md.len()));
        }
    }
    entries.sort();
    for (name, len) in entries {
        let kind = if name.ends_with(".sst") {
            "sst"
        } else if name.ends_with(".log") {
            "wal"
        } else if name.starts_with("MANIFEST") {
            "manifest"
        } else {
            "other"
        };
        total += len;
        let slot = kinds
            .entry(kind.to_string())
            .or_insert_with(|| json!({"files": 0, "bytes": 0}));
        slot["files"] = json!(slot["files"].as_u64().unwrap_or(0) + 1);
        slot["bytes"] = json!(slot["bytes"].as_u64().unwrap_or(0) + len);
    }
    let mut m = Map::new();
    m.insert("total_bytes".into(), json!(total));
    for k in ["sst", "wal", "manifest", "other"] {
        if let Some(v) = kinds.remove(k) {
            m.insert(k.into(), v);
        }
    }
    Ok(Json::Object(m))
}

/// Everything `stats` (and the shell's `.stats`) reports, as JSON.
pub fn collect(db: &Database) -> Result<Json> {
    let s = db.engine().stats();
    let levels: Vec<Json> = s
        .levels
        .iter()
        .enumerate()
        .filter(|(_, l)| l.files > 0)
        .map(|(i, l)| json!({"level": i, "files": l.files, "bytes": l.bytes}))
        .collect();
    let engine = json!({
        "last_seq": s.last_seq,
        "levels": levels,
        "sst_bytes": s.total_sst_bytes,
        "memtable_bytes": s.memtable_bytes,
        "memtable_entries": s.memtable_entries,
        "immutable_memtables": s.immutable_memtables,
        "block_cache": {"hits": s.cache_hits, "misses": s.cache_misses, "usage_bytes": s.cache_usage_bytes, "capacity_bytes": s.cache_capacity_bytes},
        "since_open": {"commits": s.commits, "wal_bytes": s.wal_bytes, "wal_syncs": s.wal_syncs, "flushes": s.flushes, "compactions": s.compactions, "stalls": s.stall_count},
        "recovered_records": s.recovered_records,
        "poisoned": s.poisoned,
    });

    let mut errors: Vec<String> = Vec::new();
    let mut tables = Vec::new();
    let mut views: Vec<String> = Vec::new();
    match db::load_catalog(db) {
        Ok(cat) => {
            for t in cat.tables.values() {
                let n = db.query(
                    &format!("SELECT count(*) FROM {}", db::quote_ident(&t.name)),
                    &[],
                );
                let mut entry = json!({
                    "name": t.name,
                    "rows": Json::Null,
                    "columns": t.columns.len(),
                    "indexes": t.indexes.len(),
                });
                match n {
                    Ok(n) => {
                        entry["rows"] = json!(n
                            .iter()
                            .next()
                            .and_then(|r| r.get::<i64>(0).ok())
                            .unwrap_or(0));
                    }
                    Err(e) => {
                        errors.push(format!("table {}: {e}", t.name));
                        entry["error"] = json!(e.to_string());
                    }
                }
                tables.push(entry);
            }
            views = cat.views.values().map(|v| v.name.clone()).collect();
        }
        Err(e) => errors.push(format!("SQL catalog: {e}")),
    }
    let collections = match db::collections(db) {
        Ok(c) => c,
        Err(e) => {
            errors.push(format!("collections: {e}"));
            Json::Null
        }
    };
    let files = match files(db.path()) {
        Ok(f) => f,
        Err(e) => {
            errors.push(format!("files: {e}"));
            Json::Null
        }
    };

    let mut m = Map::new();
    m.insert("path".into(), json!(db.path().display().to_string()));
    m.insert("files".into(), files);
    m.insert("engine".into(), engine);
    m.insert("tables".into(), Json::Array(tables));
    if !views.is_empty() {
        m.insert("views".into(), json!(views));
    }
    m.insert("collections".into(), collections);
    if !errors.is_empty() {
        m.insert("errors".into(), json!(errors));
    }
    Ok(Json::Object(m))
}
