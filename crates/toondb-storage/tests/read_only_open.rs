//! A read-only open replays the WAL in memory only: it creates, renames, truncates and
//! deletes nothing (checked by listing the directory with sizes and mtimes before and after),
//! refuses writes with a typed error, and works while another handle has the database open
//! read-write.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use toondb_storage::{Engine, Error, Isolation, Options, TailCutKind};

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

fn newest_wal(dir: &Path) -> std::path::PathBuf {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    v.sort();
    v.pop().unwrap()
}

#[test]
fn read_only_open_of_a_crashed_database_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        memtable_size: 8 << 10,
        ..Options::default()
    };
    let db = Engine::open(dir.path(), opts.clone()).unwrap();
    for i in 0..300u32 {
        db.put(format!("k{i:04}").as_bytes(), &[1u8; 50]).unwrap();
    }
    db.close().unwrap();
    // Leave what a crash leaves: a torn append at the end of the WAL.
    let wal = newest_wal(dir.path());
    let mut data = std::fs::read(&wal).unwrap();
    data.extend_from_slice(&[9, 9, 9, 9, 100, 0, 0, 0, 1, 2]);
    std::fs::write(&wal, &data).unwrap();
    let before = listing(dir.path());

    let ro = Engine::open_read_only(dir.path(), opts.clone()).unwrap();
    assert!(ro.is_read_only());
    assert_eq!(ro.scan_prefix(b"k").unwrap().count(), 300);
    let rep = ro.verify().unwrap();
    assert_eq!(rep.tail_cuts.len(), 1, "{rep:?}");
    assert_eq!(rep.tail_cuts[0].kind, TailCutKind::TornWrite);
    assert_eq!(rep.tail_cuts[0].bytes, 10);
    assert!(!rep.is_ok() && !rep.has_damage());
    // Writes and background work are refused with a typed error.
    assert!(matches!(ro.put(b"x", b"y"), Err(Error::ReadOnly { .. })));
    assert!(matches!(ro.flush(), Err(Error::ReadOnly { .. })));
    assert!(matches!(
        ro.compact_range(None, None),
        Err(Error::ReadOnly { .. })
    ));
    // Transactions that only read work; one with writes cannot commit.
    let mut t = ro.begin(Isolation::Snapshot).unwrap();
    assert!(t.get(b"k0001").unwrap().is_some());
    t.commit().unwrap();
    let mut t = ro.begin(Isolation::Snapshot).unwrap();
    t.put(b"x", b"y").unwrap();
    assert!(matches!(t.commit(), Err(Error::ReadOnly { .. })));
    ro.sync().unwrap();
    ro.close().unwrap();

    assert_eq!(
        listing(dir.path()),
        before,
        "the read-only open wrote something"
    );
}

#[test]
fn read_only_open_works_while_a_writer_holds_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = Engine::open(dir.path(), Options::default()).unwrap();
    db.put(b"a", b"1").unwrap();
    db.flush().unwrap();
    db.put(b"b", b"2").unwrap();
    // A second read-write open is refused ...
    assert!(matches!(
        Engine::open(dir.path(), Options::default()),
        Err(Error::Locked { .. })
    ));
    // ... a read-only one sees everything committed before it opened.
    let ro = Engine::open_read_only(dir.path(), Options::default()).unwrap();
    assert_eq!(ro.get(b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(ro.get(b"b").unwrap(), Some(b"2".to_vec()));
    db.put(b"c", b"3").unwrap();
    assert_eq!(ro.get(b"c").unwrap(), None, "a point-in-time view");
    assert!(ro.verify().unwrap().is_ok());
    ro.close().unwrap();
    db.close().unwrap();
}

#[test]
fn read_only_open_of_a_missing_directory_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nope");
    assert!(Engine::open_read_only(&p, Options::default()).is_err());
    assert!(!p.exists());
    std::fs::create_dir(&p).unwrap();
    assert!(matches!(
        Engine::open_read_only(&p, Options::default()),
        Err(Error::NotADatabase { .. })
    ));
    assert_eq!(std::fs::read_dir(&p).unwrap().count(), 0);
}
