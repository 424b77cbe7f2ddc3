//! `check`, `stats` and `export` open the database read-only (they write nothing and work
//! while another process has it open); `check` reports a damaged WAL tail; `stats` reports
//! what it can of a damaged database; `repair` and `backup`.

mod common;
use common::{fails, ok, run_in, sql};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn listing(dir: &Path) -> BTreeMap<String, (u64, std::time::SystemTime)> {
    std::fs::read_dir(dir)
        .expect("test setup")
        .map(|e| {
            let e = e.expect("test setup");
            let m = e.metadata().expect("test setup");
            (
                e.file_name().to_string_lossy().into_owned(),
                (m.len(), m.modified().expect("test setup")),
            )
        })
        .collect()
}

fn with_ext(db: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(db)
        .expect("test setup")
        .map(|e| e.expect("test setup").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// A database whose last 1,000 rows are only in the WAL (one transaction), the rest in a
/// table.
fn db_with_wal(dir: &Path) -> PathBuf {
    let db = dir.join("db");
    ok(&sql(
        &db,
        "CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO t(body) VALUES ('first')",
        "table",
    ));
    let engine =
        toondb_storage::Engine::open(&db, toondb_storage::Options::default()).expect("setup");
    engine.flush().expect("setup");
    engine.close().expect("setup");
    let mut stmts = vec!["BEGIN".to_string()];
    for i in 0..1000 {
        stmts.push(format!("INSERT INTO t(body) VALUES ('row {i}')"));
    }
    stmts.push("COMMIT".into());
    ok(&sql(&db, &stmts.join(";\n"), "table"));
    db
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf8 path")
}

#[test]
fn check_stats_and_export_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_wal(dir.path());
    let before = listing(&db);
    let out = ok(&run_in(dir.path(), &["check", path_str(&db)], ""));
    assert!(out.contains("ok: no corruption found"), "{out}");
    ok(&run_in(dir.path(), &["stats", path_str(&db), "--json"], ""));
    let rows = ok(&run_in(
        dir.path(),
        &["export", path_str(&db), "--table", "t"],
        "",
    ));
    assert_eq!(rows.lines().count(), 1001);
    assert_eq!(
        listing(&db),
        before,
        "a read-only command wrote to the database"
    );
}

#[test]
fn check_works_while_another_process_has_the_database_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_wal(dir.path());
    let writer =
        toondb_storage::Engine::open(&db, toondb_storage::Options::default()).expect("setup");
    writer.put(b"held", b"open").expect("setup");
    let out = ok(&run_in(dir.path(), &["check", path_str(&db)], ""));
    assert!(out.contains("ok: no corruption found"), "{out}");
    ok(&run_in(dir.path(), &["stats", path_str(&db)], ""));
    writer.close().expect("setup");
}

#[test]
fn check_reports_a_damaged_wal_tail_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_wal(dir.path());
    let wal = with_ext(&db, "log").pop().expect("a WAL");
    let mut bytes = std::fs::read(&wal).unwrap();
    let n = bytes.len();
    for b in &mut bytes[n - 40..n - 36] {
        *b ^= 0xff;
    }
    std::fs::write(&wal, &bytes).unwrap();
    let o = run_in(dir.path(), &["check", path_str(&db)], "");
    let e = fails(&o);
    let out = common::stdout(&o);
    assert!(!out.contains("ok: no corruption found"), "{out}");
    let name = wal.file_name().unwrap().to_str().unwrap();
    assert!(out.contains("wal tail:") && out.contains(name), "{out}");
    assert!(out.contains("damage before the last sync"), "{out}");
    assert!(e.contains("WAL tail"), "{e}");
    // Nothing was cut by checking.
    assert_eq!(std::fs::read(&wal).unwrap(), bytes);
}

#[test]
fn stats_reports_what_it_can_of_a_damaged_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_wal(dir.path());
    // Move everything into tables, then damage a data block.
    let e = toondb_storage::Engine::open(&db, toondb_storage::Options::default()).unwrap();
    e.compact_range(None, None).unwrap();
    e.close().unwrap();
    let sst = with_ext(&db, "sst").pop().expect("a table");
    let mut bytes = std::fs::read(&sst).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&sst, &bytes).unwrap();
    let o = run_in(dir.path(), &["stats", path_str(&db), "--json"], "");
    fails(&o);
    let v: serde_json::Value = serde_json::from_str(&common::stdout(&o)).unwrap();
    assert!(v["files"]["sst"]["files"].as_u64().unwrap() >= 1, "{v}");
    assert!(v["engine"]["levels"].is_array(), "{v}");
    assert!(v["engine"]["last_seq"].as_u64().unwrap() > 1000, "{v}");
    // The unreadable part is named (table or catalog, whichever the damaged block holds).
    let errors = v["errors"].as_array().unwrap();
    let name = sst.file_name().unwrap().to_str().unwrap();
    assert!(
        errors.iter().any(|e| e.as_str().unwrap().contains(name)),
        "{v}"
    );

    // A damaged footer stops the open: the files are still reported.
    let len = bytes.len();
    bytes[len - 3] ^= 0x01;
    std::fs::write(&sst, &bytes).unwrap();
    let o = run_in(dir.path(), &["stats", path_str(&db), "--json"], "");
    fails(&o);
    let v: serde_json::Value = serde_json::from_str(&common::stdout(&o)).unwrap();
    assert!(v["files"]["sst"]["files"].as_u64().unwrap() >= 1, "{v}");
    assert!(
        v["errors"][0].as_str().unwrap().contains("cannot open"),
        "{v}"
    );
}

#[test]
fn repair_rebuilds_a_missing_current_and_backup_copies_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_wal(dir.path());
    std::fs::remove_file(db.join("CURRENT")).unwrap();
    let e = fails(&run_in(dir.path(), &["check", path_str(&db)], ""));
    assert!(e.contains("toondb repair"), "{e}");
    let out = ok(&run_in(dir.path(), &["repair", path_str(&db)], ""));
    assert!(
        out.contains("tables kept") && out.contains("ok: repaired"),
        "{out}"
    );
    let out = ok(&run_in(dir.path(), &["check", path_str(&db)], ""));
    assert!(out.contains("ok: no corruption found"), "{out}");

    let copy = dir.path().join("copy");
    let out = ok(&run_in(
        dir.path(),
        &["backup", path_str(&db), path_str(&copy)],
        "",
    ));
    assert!(out.contains("verified"), "{out}");
    let rows = ok(&run_in(
        dir.path(),
        &["export", path_str(&copy), "--table", "t"],
        "",
    ));
    assert_eq!(rows.lines().count(), 1001);
}
