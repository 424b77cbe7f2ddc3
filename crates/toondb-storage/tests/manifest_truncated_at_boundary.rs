//! A manifest cut back to an earlier record boundary parses cleanly (it looks like a complete
//! file), but it names a WAL that was already deleted. Opening must report corruption instead
//! of silently dropping the commits its lost edits recorded (found by `toondb-stress corrupt`).
#![allow(clippy::unwrap_used)]

use toondb_storage::{Engine, Error, Options, SyncMode};

fn opts() -> Options {
    Options {
        sync: SyncMode::Full,
        memtable_size: 4 << 10,
        // Keep every edit in one manifest file so that truncation cuts edits, not a rotation.
        max_manifest_bytes: 1 << 30,
        ..Options::default()
    }
}

fn current_manifest(dir: &std::path::Path) -> std::path::PathBuf {
    let name = std::fs::read_to_string(dir.join("CURRENT")).unwrap();
    dir.join(name.trim_end())
}

#[test]
fn truncated_manifest_is_reported_not_silently_accepted() {
    let dir = tempfile::tempdir().unwrap();
    // Open once: recovery writes a fresh manifest holding one snapshot edit.
    let db = Engine::open(dir.path(), opts()).unwrap();
    db.put(b"before", b"1").unwrap();
    let manifest = current_manifest(dir.path());
    let snapshot_len = std::fs::metadata(&manifest).unwrap().len();
    // Flushes append edits that advance the live WAL number and delete older WALs.
    for i in 0..200u32 {
        db.put(format!("k{i:05}").as_bytes(), &[7u8; 100]).unwrap();
    }
    db.flush().unwrap();
    db.close().unwrap();
    assert_eq!(
        current_manifest(dir.path()),
        manifest,
        "no manifest rotation expected"
    );
    assert!(std::fs::metadata(&manifest).unwrap().len() > snapshot_len);

    // Sanity: the intact database reopens with everything.
    let db = Engine::open(dir.path(), opts()).unwrap();
    assert_eq!(db.get(b"k00199").unwrap().as_deref(), Some(&[7u8; 100][..]));
    db.close().unwrap();

    // Cut the (new) manifest back to its first record: a clean record boundary.
    let db = Engine::open(dir.path(), opts()).unwrap();
    let manifest = current_manifest(dir.path());
    let first_record_len = std::fs::metadata(&manifest).unwrap().len();
    for i in 0..200u32 {
        db.put(format!("m{i:05}").as_bytes(), &[9u8; 100]).unwrap();
    }
    db.flush().unwrap();
    db.close().unwrap();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&manifest)
        .unwrap();
    f.set_len(first_record_len).unwrap();
    drop(f);

    match Engine::open(dir.path(), opts()) {
        Err(Error::Corruption { path, detail, .. }) => {
            assert_eq!(path, manifest);
            assert!(detail.contains("WAL"), "{detail}");
        }
        Err(e) => panic!("expected corruption, got {e}"),
        Ok(db) => {
            let lost = db.get(b"m00199").unwrap().is_none();
            panic!("truncated manifest was accepted (lost data: {lost})");
        }
    }
}
