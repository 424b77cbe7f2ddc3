//! Recovery: a torn WAL tail is cut and reported; damage in the middle of the log is a typed
//! corruption error, never silent loss; simulated power loss keeps every acknowledged commit.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use toondb_core::vfs::{MemVfs, Vfs};
use toondb_storage::{Engine, Options, SyncMode, WriteBatch};

fn wal_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    v.sort();
    v
}

#[test]
fn truncated_tail_is_cut_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    for i in 0..10u32 {
        db.put(format!("k{i}").as_bytes(), b"value").unwrap();
    }
    db.close().unwrap();
    let wal = wal_files(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&wal).unwrap().len();
    // Cut the last record in half.
    let f = std::fs::OpenOptions::new().write(true).open(&wal).unwrap();
    f.set_len(len - 5).unwrap();
    drop(f);
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    let st = db.stats();
    assert!(st.recovered_torn_tail_bytes > 0, "{st:?}");
    assert_eq!(st.recovered_records, 9);
    for i in 0..9u32 {
        assert_eq!(
            db.get(format!("k{i}").as_bytes()).unwrap(),
            Some(b"value".to_vec())
        );
    }
    assert_eq!(db.get(b"k9").unwrap(), None);
    db.put(b"k9", b"again").unwrap();
    db.close().unwrap();
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.stats().recovered_torn_tail_bytes, 0);
    assert_eq!(db.get(b"k9").unwrap(), Some(b"again".to_vec()));
}

#[test]
fn damage_in_the_middle_replays_the_prefix_and_keeps_the_wal_in_lost() {
    let dir = tempfile::tempdir().unwrap();
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    for i in 0..10u32 {
        db.put(format!("k{i}").as_bytes(), b"value").unwrap();
    }
    db.close().unwrap();
    let wal = wal_files(dir.path()).pop().unwrap();
    let mut data = std::fs::read(&wal).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0x10;
    std::fs::write(&wal, &data).unwrap();
    // A read-only open (what `toondb check` uses) reports the cut: damage, records after it.
    let ro = Engine::open_read_only(dir.path(), Options::default()).unwrap();
    let rep = ro.verify().unwrap();
    assert!(rep.has_damage(), "{rep:?}");
    let cut = &rep.tail_cuts[0];
    assert_eq!(cut.path, wal);
    assert!(
        cut.offset <= mid as u64 && cut.offset > 0,
        "{cut:?} mid {mid}"
    );
    assert!(cut.valid_records_after > 0, "{cut:?}");
    assert_eq!(cut.kind, toondb_storage::TailCutKind::Damaged);
    ro.close().unwrap();
    // A read-write open replays the prefix before the damage (never a log with a hole) ...
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    let present: Vec<bool> = (0..10u32)
        .map(|i| db.get(format!("k{i}").as_bytes()).unwrap().is_some())
        .collect();
    let n = present.iter().take_while(|&&p| p).count();
    assert!(n < 10 && present[n..].iter().all(|&p| !p), "{present:?}");
    assert!(db.stats().recovered_torn_tail_bytes > 0);
    db.close().unwrap();
    // ... and keeps the damaged WAL, byte for byte, in lost/.
    let kept = dir.path().join("lost").join(wal.file_name().unwrap());
    assert_eq!(std::fs::read(kept).unwrap(), data);
}

#[test]
fn power_loss_keeps_acknowledged_commits() {
    for seed in 0..40u64 {
        let mem = Arc::new(MemVfs::new());
        let vfs: Arc<dyn Vfs> = mem.clone();
        let opts = Options {
            memtable_size: 4 << 10,
            sync: SyncMode::Full,
            ..Options::default()
        };
        let live = common::KillableVfs::new(vfs.clone());
        let db = Engine::open_with_vfs(live.clone(), "/db", opts.clone()).unwrap();
        let n = 20 + (seed as u32 * 7) % 60;
        for i in 0..n {
            let mut b = WriteBatch::new();
            for j in 0..5u32 {
                b.put(format!("b{i:04}_{j}").as_bytes(), format!("{i}").as_bytes());
            }
            db.write(b).unwrap();
        }
        live.kill_and_crash(|| {
            if seed % 2 == 0 {
                mem.crash_with_torn_tail(seed);
            } else {
                mem.crash();
            }
        });
        drop(db);
        let db = Engine::open_with_vfs(vfs, "/db", opts).unwrap();
        for i in 0..n {
            for j in 0..5u32 {
                assert_eq!(
                    db.get(format!("b{i:04}_{j}").as_bytes()).unwrap(),
                    Some(format!("{i}").into_bytes()),
                    "seed {seed} batch {i} key {j}"
                );
            }
        }
    }
}

#[test]
fn power_loss_without_sync_loses_only_whole_batches() {
    for seed in 0..40u64 {
        let mem = Arc::new(MemVfs::new());
        let vfs: Arc<dyn Vfs> = mem.clone();
        let opts = Options {
            memtable_size: 4 << 10,
            sync: SyncMode::Off,
            ..Options::default()
        };
        let live = common::KillableVfs::new(vfs.clone());
        let db = Engine::open_with_vfs(live.clone(), "/db", opts.clone()).unwrap();
        for i in 0..60u32 {
            let mut b = WriteBatch::new();
            for j in 0..5u32 {
                b.put(format!("b{i:04}_{j}").as_bytes(), format!("{i}").as_bytes());
            }
            db.write(b).unwrap();
        }
        live.kill_and_crash(|| mem.crash_with_torn_tail(seed));
        drop(db);
        let db = Engine::open_with_vfs(vfs, "/db", opts).unwrap();
        // A prefix of batches survives, each batch whole.
        let mut seen_missing = false;
        for i in 0..60u32 {
            let got: Vec<Option<Vec<u8>>> = (0..5u32)
                .map(|j| db.get(format!("b{i:04}_{j}").as_bytes()).unwrap())
                .collect();
            let present = got.iter().filter(|g| g.is_some()).count();
            assert!(
                present == 0 || present == 5,
                "seed {seed}: batch {i} partially visible"
            );
            if present == 0 {
                seen_missing = true;
            } else {
                assert!(
                    !seen_missing,
                    "seed {seed}: batch {i} survived after a lost batch"
                );
            }
        }
    }
}
