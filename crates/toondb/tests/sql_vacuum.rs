//! `VACUUM` through `Database`: it compacts the whole key range, so the disk space of deleted
//! rows comes back; it is refused inside a transaction, as in SQLite.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::path::Path;

use toondb::{params, Database, ErrorKind};

/// Bytes of every file under `dir` (SSTables, WAL, manifest).
fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        total += if m.is_dir() {
            dir_bytes(&e.path())
        } else {
            m.len()
        };
    }
    total
}

#[test]
fn vacuum_reclaims_space_of_deleted_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Database::open(&path).unwrap();
    db.execute(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT)",
        params![],
    )
    .unwrap();
    for chunk in 0..20 {
        let values: Vec<String> = (0..500)
            .map(|i| format!("({}, '{}')", chunk * 500 + i, "x".repeat(400)))
            .collect();
        db.execute(
            &format!("INSERT INTO t VALUES {}", values.join(",")),
            params![],
        )
        .unwrap();
    }
    db.engine().flush().unwrap();
    db.execute("DELETE FROM t WHERE id % 10 <> 0", params![])
        .unwrap();
    db.engine().flush().unwrap();
    let sst_before = db.engine().stats().total_sst_bytes;
    let files_before = dir_bytes(&path);

    db.execute("VACUUM", params![]).unwrap();

    let sst_after = db.engine().stats().total_sst_bytes;
    let files_after = dir_bytes(&path);
    eprintln!(
        "SST bytes {sst_before} -> {sst_after}; directory bytes {files_before} -> {files_after}"
    );
    assert!(
        sst_after * 4 < sst_before,
        "VACUUM should drop the deleted rows: {sst_before} -> {sst_after} SST bytes"
    );
    assert!(
        files_after < files_before,
        "files on disk should shrink: {files_before} -> {files_after} bytes"
    );
    let n: i64 = db.query("SELECT count(*) FROM t", params![]).unwrap()[0]
        .get(0)
        .unwrap();
    assert_eq!(n, 1000, "the surviving rows are all still there");

    drop(db);
    let db = Database::open(&path).unwrap();
    let rows = db
        .query("SELECT count(*), sum(length(body)) FROM t", params![])
        .unwrap();
    assert_eq!(rows[0].get::<i64>(0).unwrap(), 1000);
    assert_eq!(rows[0].get::<i64>(1).unwrap(), 400_000);
}

#[test]
fn vacuum_inside_a_transaction_is_refused() {
    let db = Database::open_in_memory().unwrap();
    db.execute("CREATE TABLE t(x)", params![]).unwrap();
    let mut tx = db.begin().unwrap();
    let e = tx.execute("VACUUM", params![]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(
        e.to_string()
            .contains("cannot VACUUM from within a transaction"),
        "{e}"
    );
    tx.rollback();
    db.execute("VACUUM", params![]).unwrap();
}
