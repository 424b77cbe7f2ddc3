//! `verify` re-reads every table block and WAL record and lists damage with file and offset;
//! reading damaged data returns a typed corruption error, never a panic.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use toondb_storage::{Engine, Error, Options, SyncMode};

fn ssts(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sst"))
        .collect();
    v.sort();
    v
}

#[test]
fn verify_reports_a_damaged_table_block_with_path() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        sync: SyncMode::Normal,
        ..Options::default()
    };
    let db = Engine::open(dir.path(), opts).unwrap();
    for i in 0..2000u32 {
        db.put(format!("k{i:05}").as_bytes(), &[b'v'; 50]).unwrap();
    }
    db.flush().unwrap();
    db.put(b"in-wal", b"1").unwrap();
    let r = db.verify().unwrap();
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(r.tables_checked, 1);
    assert!(r.wal_records >= 1);
    assert!(
        r.manifest_records >= 2,
        "snapshot record plus the flush edit: {r:?}"
    );
    db.close().unwrap();

    let sst = ssts(dir.path()).pop().unwrap();
    let mut data = std::fs::read(&sst).unwrap();
    // Damage the first data block (tables start with data blocks).
    data[100] ^= 0xff;
    std::fs::write(&sst, &data).unwrap();

    let db = Engine::open(dir.path(), Options::default()).unwrap();
    let r = db.verify().unwrap();
    assert!(!r.is_ok());
    assert!(r.problems.iter().any(|p| p.path == sst), "{r:?}");
    // Reading the damaged block is a typed error naming the file.
    let mut saw = false;
    for i in 0..50u32 {
        match db.get(format!("k{i:05}").as_bytes()) {
            Err(Error::Corruption { path, .. }) => {
                assert_eq!(path, sst);
                saw = true;
            }
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => {}
        }
    }
    assert!(saw, "no read hit the damaged block");
    let scan: Result<Vec<_>, _> = db.scan_prefix(b"k").unwrap().collect();
    assert!(matches!(scan, Err(Error::Corruption { .. })));
}
