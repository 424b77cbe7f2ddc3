//! Misuse is refused with typed errors: a second open, a foreign directory, an unknown format
//! version, oversized or empty keys and values, a damaged CURRENT.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::sync::Arc;
use toondb_core::checksum;
use toondb_core::vfs::{MemVfs, Vfs};
use toondb_storage::{Engine, Error, Isolation, Options, WriteBatch};

#[test]
fn second_open_is_locked_until_close() {
    let dir = tempfile::tempdir().unwrap();
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    match Engine::open(dir.path(), Options::default()) {
        Err(Error::Locked { path }) => assert!(path.ends_with("LOCK")),
        other => panic!("expected Locked, got {other:?}"),
    }
    db.close().unwrap();
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    drop(db);
    // Drop releases the lock too.
    Engine::open(dir.path(), Options::default()).unwrap();
}

#[test]
fn second_open_on_mem_vfs_is_locked() {
    let vfs: Arc<dyn Vfs> = Arc::new(MemVfs::new());
    let _db = Engine::open_with_vfs(vfs.clone(), "/db", Options::default()).unwrap();
    assert!(matches!(
        Engine::open_with_vfs(vfs, "/db", Options::default()),
        Err(Error::Locked { .. })
    ));
}

#[test]
fn foreign_directory_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"hello").unwrap();
    match Engine::open(dir.path(), Options::default()) {
        Err(Error::NotADatabase { path }) => assert_eq!(path, dir.path()),
        other => panic!("expected NotADatabase, got {other:?}"),
    }
    // The foreign file is untouched.
    assert_eq!(
        std::fs::read(dir.path().join("notes.txt")).unwrap(),
        b"hello"
    );
}

#[test]
fn unknown_format_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    Engine::open(dir.path(), Options::default())
        .unwrap()
        .close()
        .unwrap();
    let cur = std::fs::read_to_string(dir.path().join("CURRENT")).unwrap();
    let man = dir.path().join(cur.trim_end());
    let mut data = std::fs::read(&man).unwrap();
    // First record: crc(4) len(4) payload; payload starts with tag 1 and the u32 version.
    assert_eq!(data[8], 1);
    data[9..13].copy_from_slice(&99u32.to_le_bytes());
    let len = u32::from_le_bytes(data[4..8].try_into().unwrap()) as usize;
    let crc = checksum::mask(checksum::crc32c(&data[4..8 + len]));
    data[0..4].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&man, &data).unwrap();
    match Engine::open(dir.path(), Options::default()) {
        Err(Error::UnsupportedVersion { found, .. }) => assert_eq!(found, 99),
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
}

#[test]
fn damaged_current_is_a_typed_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    Engine::open(dir.path(), Options::default())
        .unwrap()
        .close()
        .unwrap();
    std::fs::write(dir.path().join("CURRENT"), b"garbage").unwrap();
    match Engine::open(dir.path(), Options::default()) {
        Err(Error::MissingManifest { missing, path, .. }) => {
            assert!(missing.contains("CURRENT is invalid"), "{missing}");
            assert_eq!(path, dir.path());
        }
        other => panic!("expected MissingManifest, got {other:?}"),
    }
}

#[test]
fn damaged_manifest_is_corruption_with_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    db.put(b"k", b"v").unwrap();
    db.flush().unwrap();
    db.put(b"k2", b"v").unwrap();
    db.flush().unwrap();
    db.close().unwrap();
    let cur = std::fs::read_to_string(dir.path().join("CURRENT")).unwrap();
    let man = dir.path().join(cur.trim_end());
    let mut data = std::fs::read(&man).unwrap();
    data[10] ^= 0x40;
    // The damage is in the first record and valid records follow: not a torn tail.
    std::fs::write(&man, &data).unwrap();
    match Engine::open(dir.path(), Options::default()) {
        Err(Error::Corruption { path, .. }) => assert_eq!(path, man),
        Err(e) => panic!("expected Corruption, got {e}"),
        Ok(_) => panic!("opened a database with a damaged manifest"),
    }
}

#[test]
fn limits_and_empty_keys_are_invalid_arguments() {
    let opts = Options {
        max_key_size: 16,
        max_value_size: 32,
        ..Options::default()
    };
    let db = Engine::open_in_memory(opts).unwrap();
    let inv = |r: Result<(), Error>| matches!(r, Err(Error::InvalidArgument(_)));
    assert!(inv(db.put(b"", b"v")));
    assert!(inv(db.delete(b"")));
    assert!(inv(db.put(&[b'k'; 17], b"v")));
    assert!(inv(db.put(b"k", &[0u8; 33])));
    db.put(&[b'k'; 16], &[0u8; 32]).unwrap();
    let mut b = WriteBatch::new();
    b.put(b"fine", b"v").put(b"also", &[0u8; 33]);
    assert!(inv(db.write(b)));
    assert_eq!(db.get(b"fine").unwrap(), None);
    let mut t = db.begin(Isolation::Snapshot).unwrap();
    assert!(inv(t.put(b"", b"v")));
    assert!(inv(t.put(b"k", &[0u8; 64])));
    // Default limits: 64 KiB keys.
    let db = Engine::open_in_memory(Options::default()).unwrap();
    assert!(inv(db.put(&vec![1u8; (64 << 10) + 1], b"v")));
    db.put(&vec![1u8; 64 << 10], b"v").unwrap();
}

#[test]
fn bad_options_are_refused() {
    let r = Engine::open_in_memory(Options {
        memtable_size: 0,
        ..Options::default()
    });
    assert!(matches!(r, Err(Error::InvalidArgument(_))));
}

#[test]
fn writes_after_close_fail_closed() {
    let db = Engine::open_in_memory(Options::default()).unwrap();
    let other = db.clone();
    db.close().unwrap();
    assert!(matches!(other.put(b"k", b"v"), Err(Error::Closed)));
}

#[test]
fn creation_interrupted_before_current_starts_fresh() {
    let dir = tempfile::tempdir().unwrap();
    // What a crash during the very first open can leave: our own files but no CURRENT.
    std::fs::write(dir.path().join("000001.log"), b"partial").unwrap();
    std::fs::write(dir.path().join("MANIFEST-000002"), b"partial").unwrap();
    std::fs::write(dir.path().join("LOCK"), b"").unwrap();
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.get(b"k").unwrap(), None);
    db.put(b"k", b"v").unwrap();
    db.close().unwrap();
    assert!(!dir.path().join("000001.log").exists());
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.get(b"k").unwrap(), Some(b"v".to_vec()));
}

#[test]
fn leftover_current_tmp_is_ignored_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    db.put(b"k", b"v").unwrap();
    db.close().unwrap();
    std::fs::write(dir.path().join("CURRENT.tmp"), b"MANIFEST-999999\n").unwrap();
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.get(b"k").unwrap(), Some(b"v".to_vec()));
    assert!(!dir.path().join("CURRENT.tmp").exists());
}

#[test]
fn missing_table_file_is_reported_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    db.put(b"k", b"v").unwrap();
    db.flush().unwrap();
    db.close().unwrap();
    let sst = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "sst"))
        .unwrap();
    std::fs::remove_file(&sst).unwrap();
    match Engine::open(dir.path(), Options::default()) {
        Err(Error::Io { path, source }) => {
            assert_eq!(path, sst);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        Err(e) => panic!("unexpected {e}"),
        Ok(_) => panic!("opened with a table missing"),
    }
}
