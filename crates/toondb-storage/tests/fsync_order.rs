//! The fsync order of WAL rotation, the recovery rule for older WALs, compaction after a
//! failed manifest fsync, and the report for a damaged manifest.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use toondb_core::vfs::{FaultController, FaultVfs, MemVfs, Vfs};
use toondb_storage::{Engine, Error, Options, SyncMode};

fn wals(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    v.sort();
    v
}

/// When a new WAL is created, every existing WAL is already entirely durable, in every mode.
#[test]
fn rotation_fsyncs_the_old_wal_before_creating_the_new_one() {
    for sync in [SyncMode::Normal, SyncMode::Off] {
        let mem = MemVfs::new();
        let rec = common::RecordingVfs::new(Arc::new(mem.clone()));
        let violations = Arc::new(Mutex::new(Vec::new()));
        let (m2, v2) = (mem.clone(), violations.clone());
        *rec.hook.lock().unwrap() = Some(Box::new(move |op: &str, p: &Path| {
            if op != "create" || p.extension().is_none_or(|e| e != "log") {
                return;
            }
            for f in m2.file_paths() {
                if f.extension().is_some_and(|e| e == "log") {
                    let size = m2.file_size(&f).unwrap();
                    if m2.durable_len(&f) != size {
                        v2.lock().unwrap().push(format!(
                            "{} created while {} has {} of {size} bytes durable",
                            p.display(),
                            f.display(),
                            m2.durable_len(&f)
                        ));
                    }
                }
            }
        }));
        let opts = Options {
            sync,
            memtable_size: 4 << 10,
            normal_sync_interval_ms: 3_600_000,
            ..Options::default()
        };
        let db = Engine::open_with_vfs(rec.clone(), "/db", opts).unwrap();
        for i in 0..400u32 {
            db.put(format!("k{i:05}").as_bytes(), &[7u8; 64]).unwrap();
        }
        db.flush().unwrap();
        db.close().unwrap();
        let created = rec
            .ops()
            .iter()
            .filter(|o| o.starts_with("create") && o.ends_with(".log"))
            .count();
        assert!(created > 3, "{sync:?}: the workload must rotate");
        let v = violations.lock().unwrap();
        assert!(v.is_empty(), "{sync:?}: {v:?}");
    }
}

fn db_with_wal_records(dir: &Path) -> PathBuf {
    let db = Engine::open(dir, Options::default()).unwrap();
    for i in 0..20u32 {
        db.put(format!("k{i:03}").as_bytes(), b"value").unwrap();
    }
    db.close().unwrap();
    wals(dir).pop().unwrap()
}

/// What a crash at rotation left before the order was fixed (or a SIGKILL in `SyncMode::Off`
/// with half a record handed to the OS): a torn older WAL and an empty newer one. It opens.
#[test]
fn a_torn_older_wal_with_an_empty_newer_one_opens() {
    let dir = tempfile::tempdir().unwrap();
    let wal = db_with_wal_records(dir.path());
    let mut data = std::fs::read(&wal).unwrap();
    data.extend_from_slice(&[0x11, 0x22, 0x33, 0x44, 200, 0, 0, 0, 1, 2, 3]);
    std::fs::write(&wal, &data).unwrap();
    let n: u64 = wal.file_stem().unwrap().to_str().unwrap().parse().unwrap();
    std::fs::write(dir.path().join(format!("{:06}.log", n + 100)), b"").unwrap();
    let db = Engine::open(dir.path(), Options::default()).unwrap_or_else(|e| {
        panic!("a crash at rotation must not make the database unopenable: {e}")
    });
    for i in 0..20u32 {
        assert!(db.get(format!("k{i:03}").as_bytes()).unwrap().is_some());
    }
    assert!(db.stats().recovered_torn_tail_bytes > 0);
}

/// Damage in an older WAL while a newer WAL holds records is damage to synced data: refused
/// with a typed error (nothing changed), and `repair` keeps what is readable.
#[test]
fn damage_in_an_older_wal_followed_by_newer_records_is_corruption_then_repairable() {
    let dir = tempfile::tempdir().unwrap();
    let wal = db_with_wal_records(dir.path());
    let mut data = std::fs::read(&wal).unwrap();
    let n = data.len();
    data[n - 3] ^= 0x55;
    std::fs::write(&wal, &data).unwrap();
    let num: u64 = wal.file_stem().unwrap().to_str().unwrap().parse().unwrap();
    // A newer WAL with a valid record: copy the first record of the old one.
    let len = u32::from_le_bytes(data[4..8].try_into().unwrap()) as usize;
    let newer = dir.path().join(format!("{:06}.log", num + 100));
    std::fs::write(&newer, &data[..8 + len]).unwrap();
    match Engine::open(dir.path(), Options::default()) {
        Err(Error::Corruption { path, detail, .. }) => {
            assert_eq!(path, wal);
            assert!(detail.contains("before the last sync"), "{detail}");
        }
        other => panic!("expected Corruption, got {other:?}"),
    }
    assert_eq!(std::fs::read(&wal).unwrap(), data, "nothing changed");
    let report = toondb_storage::repair(dir.path(), &Options::default()).unwrap();
    assert!(!report.wal_cuts.is_empty(), "{report:?}");
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    assert!(db.get(b"k000").unwrap().is_some());
}

/// If the manifest fsync fails during compaction, the edit may still reach the disk: the
/// outputs must not be deleted, or reopening finds the manifest naming a missing table.
#[test]
fn failed_manifest_fsync_during_compaction_keeps_the_outputs() {
    let mem = Arc::new(MemVfs::new());
    let ctl = FaultController::new();
    let vfs: Arc<dyn Vfs> = Arc::new(FaultVfs::new(mem.clone(), ctl.clone()));
    let opts = Options {
        memtable_size: 4 << 10,
        l0_compaction_trigger: 100,
        l0_stall_trigger: 200,
        ..Options::default()
    };
    let db = Engine::open_with_vfs(vfs.clone(), "/db", opts.clone()).unwrap();
    for round in 0..3u32 {
        for i in 0..50u32 {
            db.put(
                format!("k{i:03}").as_bytes(),
                format!("v{round}").as_bytes(),
            )
            .unwrap();
        }
        db.flush().unwrap();
    }
    ctl.fail_syncs(Some("MANIFEST"));
    assert!(db.compact_range(None, None).is_err());
    drop(db);
    ctl.clear();
    // No power loss: the appended edit is still in the file, naming the outputs.
    let db = Engine::open_with_vfs(vfs.clone(), "/db", opts.clone())
        .unwrap_or_else(|e| panic!("reopen after a failed manifest fsync: {e}"));
    for i in 0..50u32 {
        assert_eq!(
            db.get(format!("k{i:03}").as_bytes()).unwrap(),
            Some(b"v2".to_vec())
        );
    }
    db.close().unwrap();
}

/// A manifest damaged in the middle of its only record reports that record's offset and what
/// is wrong, not "empty manifest".
#[test]
fn a_manifest_damaged_in_the_middle_reports_where() {
    let dir = tempfile::tempdir().unwrap();
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    db.put(b"k", b"v").unwrap();
    db.flush().unwrap();
    db.close().unwrap();
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    db.close().unwrap();
    let cur = std::fs::read_to_string(dir.path().join("CURRENT")).unwrap();
    let man = dir.path().join(cur.trim_end());
    let mut data = std::fs::read(&man).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0x20;
    std::fs::write(&man, &data).unwrap();
    match Engine::open(dir.path(), Options::default()) {
        Err(Error::Corruption {
            path,
            offset,
            detail,
        }) => {
            assert_eq!(path, man);
            assert!(!detail.contains("empty manifest"), "{detail}");
            assert!(offset <= mid as u64, "{offset} {mid}");
            assert!(detail.contains("damaged"), "{detail}");
        }
        other => panic!("expected Corruption, got {other:?}"),
    }
}
