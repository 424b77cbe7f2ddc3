//! Compaction drops versions no live snapshot can see and tombstones at the bottom level,
//! keeps exactly what a live snapshot still needs, and background compaction keeps L0 small.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use toondb_storage::{Engine, Options};

fn opts() -> Options {
    Options {
        memtable_size: 16 << 10,
        l1_target_bytes: 64 << 10,
        target_file_size: 16 << 10,
        ..Options::default()
    }
}

#[test]
fn compaction_drops_old_versions_but_keeps_what_a_snapshot_needs() {
    let db = Engine::open_in_memory(opts()).unwrap();
    let val = |i: u32| format!("{i:0>1000}").into_bytes();
    let mut snap = None;
    for i in 0..100u32 {
        db.put(b"hot", &val(i)).unwrap();
        if i == 10 {
            snap = Some(db.snapshot());
        }
        if i % 20 == 0 {
            db.flush().unwrap();
        }
    }
    let snap = snap.unwrap();
    db.compact_range(None, None).unwrap();
    assert_eq!(snap.get(b"hot").unwrap(), Some(val(10)));
    assert_eq!(db.get(b"hot").unwrap(), Some(val(99)));
    let with_snapshot = db.stats().total_sst_bytes;
    // Versions 0..10 are invisible to everyone: at most 90 of the 100 versions remain.
    assert!(with_snapshot < 92 * 1000, "{with_snapshot}");
    assert!(
        with_snapshot > 80 * 1000,
        "the snapshot's version and newer ones are kept: {with_snapshot}"
    );
    drop(snap);
    db.compact_range(None, None).unwrap();
    let without = db.stats().total_sst_bytes;
    assert!(
        without < 4 * 1000,
        "only the newest version should remain: {without}"
    );
    assert_eq!(db.get(b"hot").unwrap(), Some(val(99)));
}

#[test]
fn tombstones_are_dropped_at_the_bottom_level() {
    let db = Engine::open_in_memory(opts()).unwrap();
    for i in 0..500u32 {
        db.put(format!("k{i:04}").as_bytes(), &[1u8; 100]).unwrap();
    }
    db.compact_range(None, None).unwrap();
    assert!(db.stats().total_sst_bytes > 50_000);
    for i in 0..500u32 {
        db.delete(format!("k{i:04}").as_bytes()).unwrap();
    }
    db.compact_range(None, None).unwrap();
    let st = db.stats();
    assert_eq!(st.total_sst_bytes, 0, "{st:?}");
    assert_eq!(db.scan_prefix(b"k").unwrap().count(), 0);
}

#[test]
fn background_compaction_bounds_l0_and_keeps_data() {
    let db = Engine::open_in_memory(opts()).unwrap();
    for i in 0..6000u32 {
        db.put(
            format!("key{:06}", (i * 7) % 6000).as_bytes(),
            &[i as u8; 64],
        )
        .unwrap();
    }
    db.flush().unwrap();
    let st = db.stats();
    assert!(st.flushes >= 10, "{st:?}");
    // Writers stall at 12 L0 files; at most the frozen memtables already queued (2) are
    // flushed on top of that.
    assert!(st.levels[0].files <= 12 + 2, "{st:?}");
    // Background compaction eventually brings L0 below its trigger without further writes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while db.stats().levels[0].files >= 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "compaction made no progress"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(db.stats().compactions > 0);
    for i in (0..6000u32).step_by(97) {
        assert_eq!(
            db.get(format!("key{:06}", (i * 7) % 6000).as_bytes())
                .unwrap(),
            Some(vec![i as u8; 64])
        );
    }
    assert_eq!(db.scan_prefix(b"key").unwrap().count(), 6000);
    assert!(db.verify().unwrap().is_ok());
}
