//! `Database::open_read_only` reads SQL, key-value data and collections without writing a
//! byte; `Database::backup_to` copies a live database; `toondb::repair` rebuilds a manifest.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use toondb::{params, Database, Document, ErrorKind, Metric};

fn listing(dir: &Path) -> BTreeMap<String, (u64, std::time::SystemTime)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                (m.len(), m.modified().unwrap()),
            )
        })
        .collect()
}

fn build(dir: &Path) {
    let db = Database::open(dir).unwrap();
    db.put("greeting", "hello").unwrap();
    db.execute(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)",
        params![],
    )
    .unwrap();
    for i in 0..20 {
        db.execute("INSERT INTO t(name) VALUES (?)", params![format!("n{i}")])
            .unwrap();
    }
    let c = db
        .create_collection("docs", 2, Metric::Cosine, Default::default())
        .unwrap();
    c.upsert(Document::new("a", vec![1.0, 0.0]).with_text("hello world"))
        .unwrap();
    db.close().unwrap();
}

#[test]
fn read_only_database_reads_everything_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let before = listing(dir.path());
    let db = Database::open_read_only(dir.path()).unwrap();
    assert!(db.is_read_only());
    assert_eq!(db.get("greeting").unwrap().as_deref(), Some(&b"hello"[..]));
    let n: i64 = db
        .query_row("SELECT count(*) FROM t", params![])
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(n, 20);
    assert_eq!(db.list_collections().unwrap(), vec!["docs"]);
    assert_eq!(db.collection("docs").unwrap().len(), 1);
    assert!(db.verify().unwrap().is_ok());
    let e = db.put("x", "y").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(db
        .execute("INSERT INTO t(name) VALUES ('z')", params![])
        .is_err());
    db.close().unwrap();
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn backup_then_restore_by_opening_the_copy_and_repair() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("db");
    build(&src);
    let db = Database::open(&src).unwrap();
    let copy = dir.path().join("copy");
    db.backup_to(&copy).unwrap();
    db.put("after", "backup").unwrap();
    db.close().unwrap();
    let restored = Database::open(&copy).unwrap();
    assert_eq!(
        restored.get("greeting").unwrap().as_deref(),
        Some(&b"hello"[..])
    );
    assert_eq!(restored.get("after").unwrap(), None);
    assert_eq!(restored.collection("docs").unwrap().len(), 1);
    restored.close().unwrap();

    std::fs::remove_file(copy.join("CURRENT")).unwrap();
    let e = Database::open(&copy).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corruption, "{e}");
    let report = toondb::repair(&copy).unwrap();
    assert!(!report.tables_kept.is_empty());
    let restored = Database::open(&copy).unwrap();
    let n: i64 = restored
        .query_row("SELECT count(*) FROM t", params![])
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(n, 20);
}
