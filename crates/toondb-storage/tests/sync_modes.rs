//! What each `SyncMode` promises after a power loss: `Normal` fsyncs on a background timer
//! (writes followed by idle time become durable without another commit), and
//! `Engine::sync` makes everything acknowledged durable in any mode.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};
use toondb_core::vfs::{MemVfs, Vfs};
use toondb_storage::{Engine, Options, SyncMode};

fn crash_and_count(mem: &Arc<MemVfs>, live: &Arc<common::KillableVfs>, db: Engine) -> usize {
    live.kill_and_crash(|| mem.crash());
    drop(db);
    let vfs: Arc<dyn Vfs> = mem.clone();
    let db = Engine::open_with_vfs(vfs, "/db", Options::default()).unwrap();
    db.scan_prefix(b"k").unwrap().count()
}

#[test]
fn normal_mode_syncs_on_its_timer_after_the_last_commit() {
    let mem = Arc::new(MemVfs::new());
    let live = common::KillableVfs::new(mem.clone());
    let opts = Options {
        sync: SyncMode::Normal,
        normal_sync_interval_ms: 20,
        ..Options::default()
    };
    let db = Engine::open_with_vfs(live.clone(), "/db", opts).unwrap();
    for i in 0..10u32 {
        db.put(format!("k{i}").as_bytes(), b"v").unwrap();
    }
    // No further commit: only the timer can sync. Wait (generously) until it has.
    let deadline = Instant::now() + Duration::from_secs(30);
    let unsynced = || {
        mem.file_paths()
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .any(|p| mem.durable_len(p) != mem.file_size(p).unwrap())
    };
    while unsynced() {
        assert!(
            Instant::now() < deadline,
            "SyncMode::Normal never fsynced the WAL after the last commit"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(crash_and_count(&mem, &live, db), 10);
}

#[test]
fn sync_makes_off_mode_commits_durable() {
    let mem = Arc::new(MemVfs::new());
    let live = common::KillableVfs::new(mem.clone());
    let opts = Options {
        sync: SyncMode::Off,
        ..Options::default()
    };
    let db = Engine::open_with_vfs(live.clone(), "/db", opts).unwrap();
    for i in 0..10u32 {
        db.put(format!("k{i}").as_bytes(), b"v").unwrap();
    }
    db.sync().unwrap();
    for i in 10..20u32 {
        db.put(format!("k{i}").as_bytes(), b"v").unwrap();
    }
    // The first ten are promised; the rest may be lost, and nothing else appears.
    let n = crash_and_count(&mem, &live, db);
    assert!((10..=20).contains(&n), "{n}");
}
