//! `Engine::backup_to` makes a consistent copy while writers keep going: the copy opens
//! cleanly, verifies, holds every commit acknowledged before the backup started, and what it
//! holds is a prefix of each writer's commits (no holes, no half batches).
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use toondb_storage::{Engine, Options, SyncMode, WriteBatch};

fn opts() -> Options {
    Options {
        memtable_size: 16 << 10,
        l0_compaction_trigger: 2,
        target_file_size: 16 << 10,
        l1_target_bytes: 64 << 10,
        max_manifest_bytes: 4 << 10,
        ..Options::default()
    }
}

fn key(w: u64, i: u64, j: u32) -> Vec<u8> {
    format!("w{w}/{i:08}/{j}").into_bytes()
}

#[test]
fn backup_while_writers_run_is_consistent_and_complete() {
    for sync in [SyncMode::Full, SyncMode::Normal, SyncMode::Off] {
        let dir = tempfile::tempdir().unwrap();
        let db = Engine::open(dir.path().join("db"), Options { sync, ..opts() }).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let acked: Vec<Arc<AtomicU64>> = (0..2).map(|_| Arc::new(AtomicU64::new(0))).collect();
        let writers: Vec<_> = (0..2u64)
            .map(|w| {
                let (db, stop, acked) = (db.clone(), stop.clone(), acked[w as usize].clone());
                std::thread::spawn(move || {
                    let mut i = 1u64;
                    while !stop.load(Ordering::Acquire) {
                        let mut b = WriteBatch::new();
                        for j in 0..3 {
                            b.put(&key(w, i, j), &[w as u8; 40]);
                        }
                        db.write(b).unwrap();
                        acked.store(i, Ordering::Release);
                        i += 1;
                    }
                })
            })
            .collect();
        while acked.iter().any(|a| a.load(Ordering::Acquire) < 500) {
            std::thread::yield_now();
        }
        let before: Vec<u64> = acked.iter().map(|a| a.load(Ordering::Acquire)).collect();
        let dest = dir.path().join("copy");
        let rep = db.backup_to(&dest).unwrap();
        stop.store(true, Ordering::Release);
        for t in writers {
            t.join().unwrap();
        }
        db.close().unwrap();
        assert!(rep.tables > 0, "{sync:?}: {rep:?}");

        let copy = Engine::open_read_only(&dest, opts()).unwrap();
        let v = copy.verify().unwrap();
        assert!(v.is_ok(), "{sync:?}: {v:?}");
        copy.close().unwrap();
        let copy = Engine::open(&dest, opts()).unwrap();
        for w in 0..2u64 {
            let mut i = 1;
            while copy.get(&key(w, i, 0)).unwrap().is_some() {
                for j in 1..3 {
                    assert!(copy.get(&key(w, i, j)).unwrap().is_some(), "half batch");
                }
                i += 1;
            }
            let present = i - 1;
            assert!(
                present >= before[w as usize],
                "{sync:?}: writer {w} {present} < {}",
                before[w as usize]
            );
            let total = copy
                .scan_prefix(format!("w{w}/").as_bytes())
                .unwrap()
                .count() as u64;
            assert_eq!(
                total,
                present * 3,
                "{sync:?}: a hole in writer {w}'s commits"
            );
        }
    }
}

#[test]
fn backup_from_a_read_only_handle_and_refusing_a_non_empty_destination() {
    let dir = tempfile::tempdir().unwrap();
    let db = Engine::open(dir.path().join("db"), opts()).unwrap();
    for i in 0..1000u64 {
        db.put(&key(0, i, 0), b"v").unwrap();
    }
    let ro = Engine::open_read_only(dir.path().join("db"), opts()).unwrap();
    assert_eq!(
        ro.scan_prefix(b"w0/").unwrap().count(),
        1000,
        "read-only view"
    );
    let dest = dir.path().join("copy");
    ro.backup_to(&dest).unwrap();
    assert!(ro.backup_to(&dest).is_err(), "non-empty destination");
    let copy = Engine::open(&dest, opts()).unwrap();
    assert_eq!(copy.scan_prefix(b"w0/").unwrap().count(), 1000);
    assert!(copy.verify().unwrap().is_ok());
    db.close().unwrap();
}
