//! The manifest is rewritten as a snapshot when it grows past `max_manifest_bytes`; the
//! database stays consistent across many flushes, compactions and reopens.
#![allow(clippy::unwrap_used)]

use toondb_storage::{Engine, Options, SyncMode};

fn opts() -> Options {
    Options {
        sync: SyncMode::Normal,
        memtable_size: 2 << 10,
        l1_target_bytes: 8 << 10,
        target_file_size: 4 << 10,
        max_manifest_bytes: 1 << 10,
        ..Options::default()
    }
}

fn manifests(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("MANIFEST-")
        })
        .count()
}

#[test]
fn manifest_rotates_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3u32 {
        let db = Engine::open(dir.path(), opts()).unwrap();
        for i in 0..1500u32 {
            db.put(
                format!("k{:05}", (i * 13) % 1500).as_bytes(),
                format!("{round}-{i}").as_bytes(),
            )
            .unwrap();
        }
        db.flush().unwrap();
        assert!(db.stats().flushes > 5);
        let cur = std::fs::read_to_string(dir.path().join("CURRENT")).unwrap();
        let size = std::fs::metadata(dir.path().join(cur.trim_end()))
            .unwrap()
            .len();
        // Rotation keeps the live manifest near its snapshot size, and removes old ones.
        assert!(size < 64 << 10, "manifest grew to {size}");
        db.close().unwrap();
        // After close (no background work in flight) only the live manifest remains.
        assert_eq!(manifests(dir.path()), 1);
        let db = Engine::open(dir.path(), opts()).unwrap();
        assert_eq!(db.scan_prefix(b"k").unwrap().count(), 1500);
        let last = 1499u32;
        assert_eq!(
            db.get(format!("k{:05}", (last * 13) % 1500).as_bytes())
                .unwrap(),
            Some(format!("{round}-{last}").into_bytes())
        );
        assert!(db.verify().unwrap().is_ok());
    }
}
