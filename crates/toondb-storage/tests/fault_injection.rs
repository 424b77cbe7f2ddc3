//! Failed fsyncs and writes poison the engine; ENOSPC is survivable by reopening after space
//! is freed; acknowledged data survives.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::sync::Arc;
use toondb_core::vfs::{FaultController, FaultVfs, IoFault, MemVfs, Vfs};
use toondb_storage::{Engine, Error, Options};

fn setup() -> (Arc<MemVfs>, Arc<FaultController>, Arc<dyn Vfs>) {
    let mem = Arc::new(MemVfs::new());
    let ctl = FaultController::new();
    let vfs: Arc<dyn Vfs> = Arc::new(FaultVfs::new(mem.clone(), ctl.clone()));
    (mem, ctl, vfs)
}

#[test]
fn poison_after_failed_fsync() {
    let (_mem, ctl, vfs) = setup();
    let db = Engine::open_with_vfs(vfs.clone(), "/db", Options::default()).unwrap();
    db.put(b"before", b"1").unwrap();
    ctl.fail_syncs(Some(".log"));
    let e = db.put(b"during", b"2").unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    ctl.clear();
    // Even with the disk healthy again the engine refuses writes: it never retries an fsync.
    assert!(matches!(db.put(b"after", b"3"), Err(Error::Poisoned(_))));
    assert!(matches!(db.flush(), Err(Error::Poisoned(_))));
    assert!(db.stats().poisoned.is_some());
    // Reads still work.
    assert_eq!(db.get(b"before").unwrap(), Some(b"1".to_vec()));
    drop(db);
    let db = Engine::open_with_vfs(vfs, "/db", Options::default()).unwrap();
    assert_eq!(db.get(b"before").unwrap(), Some(b"1".to_vec()));
    assert_eq!(db.get(b"after").unwrap(), None);
    db.put(b"after", b"3").unwrap();
}

#[test]
fn enospc_then_recover_after_clear() {
    let (_mem, ctl, vfs) = setup();
    let db = Engine::open_with_vfs(vfs.clone(), "/db", Options::default()).unwrap();
    for i in 0..100u32 {
        db.put(format!("k{i}").as_bytes(), b"v").unwrap();
    }
    ctl.fail_writes(IoFault::NoSpace, None);
    let e = db.put(b"full", b"x").unwrap_err();
    match &e {
        Error::Io { source, .. } => assert_eq!(source.kind(), std::io::ErrorKind::StorageFull),
        other => panic!("{other}"),
    }
    assert!(matches!(db.put(b"full2", b"x"), Err(Error::Poisoned(_))));
    drop(db);
    ctl.clear();
    let db = Engine::open_with_vfs(vfs, "/db", Options::default()).unwrap();
    for i in 0..100u32 {
        assert_eq!(
            db.get(format!("k{i}").as_bytes()).unwrap(),
            Some(b"v".to_vec())
        );
    }
    db.put(b"full", b"x").unwrap();
    assert_eq!(db.get(b"full").unwrap(), Some(b"x".to_vec()));
}

#[test]
fn background_flush_failure_poisons() {
    let (_mem, ctl, vfs) = setup();
    let opts = Options {
        memtable_size: 2 << 10,
        ..Options::default()
    };
    let db = Engine::open_with_vfs(vfs.clone(), "/db", opts.clone()).unwrap();
    ctl.fail_writes(IoFault::Eio, Some(".sst"));
    let mut failed = None;
    for i in 0..2000u32 {
        if let Err(e) = db.put(format!("k{i:05}").as_bytes(), &[7u8; 100]) {
            failed = Some((i, e));
            break;
        }
    }
    let (i, e) = failed.expect("a table write failure must eventually stop writes");
    assert!(matches!(e, Error::Poisoned(_)), "{e}");
    assert!(db.flush().is_err());
    drop(db);
    ctl.clear();
    let db = Engine::open_with_vfs(vfs, "/db", opts).unwrap();
    for j in 0..i {
        assert_eq!(
            db.get(format!("k{j:05}").as_bytes()).unwrap(),
            Some(vec![7u8; 100]),
            "key {j}"
        );
    }
}

#[test]
fn failed_open_leaves_database_usable() {
    let (_mem, ctl, vfs) = setup();
    let db = Engine::open_with_vfs(vfs.clone(), "/db", Options::default()).unwrap();
    db.put(b"k", b"v").unwrap();
    drop(db);
    ctl.fail_syncs(None);
    assert!(Engine::open_with_vfs(vfs.clone(), "/db", Options::default()).is_err());
    ctl.clear();
    let db = Engine::open_with_vfs(vfs, "/db", Options::default()).unwrap();
    assert_eq!(db.get(b"k").unwrap(), Some(b"v".to_vec()));
}
