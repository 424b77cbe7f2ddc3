//! Opening never deletes a file it cannot prove obsolete: a directory with data files but no
//! valid CURRENT is refused with a typed error naming what is missing (nothing changed), and
//! `repair` rebuilds a manifest from the tables and WALs found. The lock is taken before the
//! directory is listed, and a new directory's parent is synced.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use toondb_core::vfs::{MemVfs, Vfs};
use toondb_storage::{repair, repair_with_vfs, Engine, Error, Options};

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

fn fill(dir: &Path, rows: u32) {
    let db = Engine::open(dir, Options::default()).unwrap();
    for i in 0..rows {
        db.put(format!("row{i:06}").as_bytes(), &[b'x'; 100])
            .unwrap();
    }
    db.flush().unwrap();
    // Some rows only in the WAL.
    for i in rows..rows + 50 {
        db.put(format!("row{i:06}").as_bytes(), &[b'y'; 100])
            .unwrap();
    }
    db.close().unwrap();
}

fn count(db: &Engine) -> usize {
    db.scan_prefix(b"row").unwrap().count()
}

#[test]
fn missing_current_is_refused_without_touching_anything_then_repaired() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 2000);
    std::fs::remove_file(dir.path().join("CURRENT")).unwrap();
    let before = listing(dir.path());
    assert!(before.keys().any(|n| n.ends_with(".sst")), "{before:?}");
    match Engine::open(dir.path(), Options::default()) {
        Err(Error::MissingManifest {
            missing,
            data_files,
            ..
        }) => {
            assert_eq!(missing, "CURRENT is missing");
            assert!(
                data_files.iter().any(|f| f.ends_with(".sst")),
                "{data_files:?}"
            );
            assert!(
                data_files.iter().any(|f| f.ends_with(".log")),
                "{data_files:?}"
            );
        }
        Err(e) => panic!("expected MissingManifest, got {e}"),
        Ok(db) => panic!("opened (and wiped: {} rows)", count(&db)),
    }
    let msg = Engine::open(dir.path(), Options::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("toondb repair"), "{msg}");
    // Nothing was created, changed or deleted (LOCK already existed).
    assert_eq!(listing(dir.path()), before);

    let report = repair(dir.path(), &Options::default()).unwrap();
    assert!(report.manifest_used.is_some(), "{report:?}");
    assert!(!report.tables_kept.is_empty(), "{report:?}");
    assert_eq!(report.wal_records, 50, "{report:?}");
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(count(&db), 2050);
    assert!(db.verify().unwrap().is_ok());
}

#[test]
fn current_naming_a_missing_manifest_is_refused_and_repaired() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 300);
    std::fs::write(dir.path().join("CURRENT"), "MANIFEST-999999\n").unwrap();
    let before = listing(dir.path());
    match Engine::open(dir.path(), Options::default()) {
        Err(Error::MissingManifest { missing, .. }) => {
            assert!(missing.contains("MANIFEST-999999"), "{missing}")
        }
        other => panic!("expected MissingManifest, got {other:?}"),
    }
    assert_eq!(listing(dir.path()), before);
    repair(dir.path(), &Options::default()).unwrap();
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(count(&db), 350);
}

#[test]
fn repair_without_any_manifest_keeps_every_intact_table_and_moves_damaged_ones_to_lost() {
    let dir = tempfile::tempdir().unwrap();
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    for round in 0..3u32 {
        for i in 0..100u32 {
            // Later rounds overwrite: the newest value must win after repair.
            db.put(
                format!("row{i:06}").as_bytes(),
                format!("v{round}").as_bytes(),
            )
            .unwrap();
        }
        db.flush().unwrap();
    }
    db.close().unwrap();
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        if n.starts_with("MANIFEST") || n == "CURRENT" {
            std::fs::remove_file(dir.path().join(n)).unwrap();
        }
    }
    std::fs::write(dir.path().join("000999.sst"), b"not a table").unwrap();
    let report = repair(dir.path(), &Options::default()).unwrap();
    assert!(report.manifest_used.is_none());
    assert!(
        report
            .not_used
            .iter()
            .any(|(p, why)| p.ends_with("000999.sst") && why.contains("lost")),
        "{report:?}"
    );
    assert!(dir.path().join("lost").join("000999.sst").exists());
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(count(&db), 100);
    assert_eq!(db.get(b"row000007").unwrap(), Some(b"v2".to_vec()));
}

#[test]
fn repair_refuses_an_open_database() {
    let vfs: Arc<dyn Vfs> = Arc::new(MemVfs::new());
    let db = Engine::open_with_vfs(vfs.clone(), "/db", Options::default()).unwrap();
    db.put(b"k", b"v").unwrap();
    let r = repair_with_vfs(vfs.clone(), Path::new("/db"), &Options::default());
    assert!(matches!(r, Err(Error::Locked { .. })), "{r:?}");
}

#[test]
fn the_lock_is_taken_before_the_directory_is_listed() {
    let mem: Arc<dyn Vfs> = Arc::new(MemVfs::new());
    for round in 0..2 {
        let rec = common::RecordingVfs::new(mem.clone());
        let db = Engine::open_with_vfs(rec.clone(), "/db", Options::default()).unwrap();
        db.put(b"k", b"v").unwrap();
        db.close().unwrap();
        let ops = rec.ops();
        let lock = ops.iter().position(|o| o == "lock /db/LOCK").unwrap();
        let first_list = ops.iter().position(|o| o.starts_with("list /db")).unwrap();
        let first_read = ops
            .iter()
            .position(|o| o.starts_with("read /db"))
            .unwrap_or(lock + 1);
        assert!(
            lock < first_list && lock < first_read,
            "round {round}: {ops:?}"
        );
    }
}

#[test]
fn the_parent_directory_is_synced_when_the_database_directory_is_created() {
    let mem = MemVfs::new();
    mem.create_dir_all(Path::new("/data")).unwrap();
    let rec = common::RecordingVfs::new(Arc::new(mem));
    let db = Engine::open_with_vfs(rec.clone(), "/data/db", Options::default()).unwrap();
    db.close().unwrap();
    let ops = rec.ops();
    let mkdir = ops.iter().position(|o| o == "mkdir /data/db").unwrap();
    let parent_sync = ops.iter().position(|o| o == "sync_dir /data").unwrap();
    let first_create = ops
        .iter()
        .position(|o| o.starts_with("create /data/db/"))
        .unwrap();
    assert!(mkdir < parent_sync && parent_sync < first_create, "{ops:?}");
}

#[test]
fn a_foreign_directory_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let before = listing(dir.path());
    assert!(matches!(
        Engine::open(dir.path(), Options::default()),
        Err(Error::NotADatabase { .. })
    ));
    assert_eq!(listing(dir.path()), before, "no LOCK left behind");
}
