//! `toondb check` verifies every checksum: clean databases pass, a flipped byte in an
//! SSTable makes it exit non-zero naming the file and the offset.

mod common;
use common::{fails, ok, run_in, sql};
use std::path::{Path, PathBuf};

/// A database with rows flushed into at least one SSTable.
fn flushed_db(dir: &Path) -> PathBuf {
    let db = dir.join("db");
    let mut stmts = vec!["CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT)".to_string()];
    for i in 0..20 {
        stmts.push(format!(
            "INSERT INTO t(body) VALUES ('row {i} {}')",
            "x".repeat(200)
        ));
    }
    ok(&sql(&db, &stmts.join(";\n"), "table"));
    let engine =
        toondb_storage::Engine::open(&db, toondb_storage::Options::default()).expect("test setup");
    engine.flush().expect("test setup");
    engine.close().expect("test setup");
    db
}

fn ssts(db: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(db)
        .expect("test setup")
        .map(|e| e.expect("test setup").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sst"))
        .collect();
    v.sort();
    v
}

fn flip(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).expect("test setup");
    bytes[offset] ^= 0x01;
    std::fs::write(path, bytes).expect("test setup");
}

fn check(dir: &Path, db: &Path) -> std::process::Output {
    run_in(dir, &["check", db.to_str().expect("test setup")], "")
}

#[test]
fn clean_database_passes() {
    let dir = tempfile::tempdir().unwrap();
    let db = flushed_db(dir.path());
    let out = ok(&check(dir.path(), &db));
    assert!(out.contains("ok: no corruption found"), "{out}");
    assert!(!out.contains("checked 0 SSTable files"), "{out}");
}

#[test]
fn flipped_byte_in_a_data_block_is_reported_with_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let db = flushed_db(dir.path());
    let sst = ssts(&db).pop().expect("an SSTable after flush");
    flip(&sst, 20);
    let o = check(dir.path(), &db);
    let e = fails(&o);
    let name = sst.file_name().unwrap().to_str().unwrap();
    assert!(e.contains(name) && e.contains("offset"), "{e}");
    let out = common::stdout(&o);
    assert!(
        out.contains(&format!("corrupt: {}", sst.display())),
        "{out}"
    );
}

#[test]
fn flipped_byte_in_the_footer_is_reported_too() {
    let dir = tempfile::tempdir().unwrap();
    let db = flushed_db(dir.path());
    let sst = ssts(&db).pop().expect("an SSTable after flush");
    let len = std::fs::metadata(&sst).unwrap().len() as usize;
    flip(&sst, len - 3);
    let e = fails(&check(dir.path(), &db));
    assert!(
        e.contains(sst.file_name().unwrap().to_str().unwrap()) && e.contains("offset"),
        "{e}"
    );
}

#[test]
fn check_and_stats_need_an_existing_database() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let e = fails(&check(dir.path(), &missing));
    assert!(e.contains("not a ToonDB database"), "{e}");
    let e = fails(&run_in(
        dir.path(),
        &["stats", missing.to_str().unwrap()],
        "",
    ));
    assert!(e.contains("not a ToonDB database"), "{e}");
    assert!(!missing.exists());
}

#[test]
fn stats_reports_tables_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = flushed_db(dir.path());
    let out = ok(&run_in(
        dir.path(),
        &["stats", db.to_str().unwrap(), "--json"],
        "",
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["tables"],
        serde_json::json!([{"name": "t", "rows": 20, "columns": 2, "indexes": 0}])
    );
    assert!(v["files"]["sst"]["files"].as_u64().unwrap() >= 1, "{v}");
    let toon = ok(&run_in(dir.path(), &["stats", db.to_str().unwrap()], ""));
    assert!(
        toon.contains("tables[1]{name,rows,columns,indexes}:\n  t,20,2,0"),
        "{toon}"
    );
}
