//! Basic operations: put/get/delete, batches, iterators in both directions across memtables
//! and tables, prefix scans, reopen.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::ops::{Bound, RangeBounds};
use toondb_storage::{Direction, Engine, Error, Options, WriteBatch};

fn small_opts() -> Options {
    Options {
        memtable_size: 4 << 10,
        l1_target_bytes: 32 << 10,
        target_file_size: 8 << 10,
        ..Options::default()
    }
}

fn keys(it: toondb_storage::KvIter) -> Vec<String> {
    it.map(|kv| String::from_utf8(kv.unwrap().0).unwrap())
        .collect()
}

#[test]
fn put_get_delete() {
    let db = Engine::open_in_memory(Options::default()).unwrap();
    assert_eq!(db.get(b"a").unwrap(), None);
    db.put(b"a", b"1").unwrap();
    db.put(b"b", b"2").unwrap();
    assert_eq!(db.get(b"a").unwrap(), Some(b"1".to_vec()));
    db.put(b"a", b"3").unwrap();
    assert_eq!(db.get(b"a").unwrap(), Some(b"3".to_vec()));
    db.delete(b"a").unwrap();
    assert_eq!(db.get(b"a").unwrap(), None);
    assert_eq!(db.get(b"b").unwrap(), Some(b"2".to_vec()));
    db.put(b"empty", b"").unwrap();
    assert_eq!(db.get(b"empty").unwrap(), Some(Vec::new()));
}

#[test]
fn batch_is_atomic_and_ordered() {
    let db = Engine::open_in_memory(Options::default()).unwrap();
    let mut b = WriteBatch::new();
    b.put(b"k", b"first")
        .put(b"k", b"second")
        .put(b"j", b"x")
        .delete(b"j");
    db.write(b).unwrap();
    assert_eq!(db.get(b"k").unwrap(), Some(b"second".to_vec()));
    assert_eq!(db.get(b"j").unwrap(), None);
    // An invalid entry rejects the whole batch.
    let mut b = WriteBatch::new();
    b.put(b"ok", b"1").put(b"", b"2");
    assert!(matches!(db.write(b), Err(Error::InvalidArgument(_))));
    assert_eq!(db.get(b"ok").unwrap(), None);
}

#[test]
fn iterators_both_directions_across_memtable_and_tables() {
    let dir = tempfile::tempdir().unwrap();
    let db = Engine::open(dir.path(), small_opts()).unwrap();
    let mut model = std::collections::BTreeMap::new();
    for i in 0..600u32 {
        let k = format!("key{:04}", (i * 7919) % 1000);
        let v = format!("v{i}");
        db.put(k.as_bytes(), v.as_bytes()).unwrap();
        model.insert(k, v);
        if i % 5 == 0 {
            let d = format!("key{:04}", (i * 31) % 1000);
            db.delete(d.as_bytes()).unwrap();
            model.remove(&d);
        }
        if i == 300 {
            db.flush().unwrap();
        }
    }
    db.compact_range(None, Some(b"key0500")).unwrap();
    for i in 0..50u32 {
        let k = format!("key{:04}", i * 3);
        db.put(k.as_bytes(), b"late").unwrap();
        model.insert(k, "late".into());
    }
    let stats = db.stats();
    assert!(stats.total_sst_bytes > 0, "{stats:?}");

    let fwd: Vec<String> = keys(
        db.scan(Bound::Unbounded, Bound::Unbounded, Direction::Forward)
            .unwrap(),
    );
    let expect: Vec<String> = model.keys().cloned().collect();
    assert_eq!(fwd, expect);
    let rev = keys(
        db.scan(Bound::Unbounded, Bound::Unbounded, Direction::Reverse)
            .unwrap(),
    );
    let mut expect_rev = expect.clone();
    expect_rev.reverse();
    assert_eq!(rev, expect_rev);

    let lo = b"key0100".as_slice();
    let hi = b"key0200".as_slice();
    for (lb, ub) in [
        (Bound::Included(lo), Bound::Excluded(hi)),
        (Bound::Excluded(lo), Bound::Included(hi)),
        (Bound::Included(lo), Bound::Included(hi)),
    ] {
        let want: Vec<String> = model
            .keys()
            .filter(|k| (lb, ub).contains(k.as_bytes()))
            .cloned()
            .collect();
        assert_eq!(keys(db.scan(lb, ub, Direction::Forward).unwrap()), want);
        let mut wr = want.clone();
        wr.reverse();
        assert_eq!(keys(db.scan(lb, ub, Direction::Reverse).unwrap()), wr);
    }
    for (k, v) in &model {
        assert_eq!(db.get(k.as_bytes()).unwrap().as_deref(), Some(v.as_bytes()));
    }
}

#[test]
fn prefix_scan() {
    let db = Engine::open_in_memory(Options::default()).unwrap();
    for k in ["a", "ab", "abc", "abd", "ac", "b", "ab\u{7f}"] {
        db.put(k.as_bytes(), b"v").unwrap();
    }
    db.put(b"ab\xff", b"v").unwrap();
    db.put(b"ab\xff\xff", b"v").unwrap();
    let got: Vec<Vec<u8>> = db
        .scan_prefix(b"ab")
        .unwrap()
        .map(|kv| kv.unwrap().0)
        .collect();
    let want: Vec<Vec<u8>> = vec![
        b"ab".to_vec(),
        b"abc".to_vec(),
        b"abd".to_vec(),
        b"ab\x7f".to_vec(),
        b"ab\xff".to_vec(),
        b"ab\xff\xff".to_vec(),
    ];
    assert_eq!(got, want);
    let got: Vec<Vec<u8>> = db
        .scan_prefix(b"ab\xff")
        .unwrap()
        .map(|kv| kv.unwrap().0)
        .collect();
    assert_eq!(got, vec![b"ab\xff".to_vec(), b"ab\xff\xff".to_vec()]);
}

#[test]
fn reopen_keeps_data_from_wal_and_tables() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Engine::open(dir.path(), small_opts()).unwrap();
        for i in 0..500u32 {
            db.put(format!("k{i:05}").as_bytes(), format!("{i}").as_bytes())
                .unwrap();
        }
        db.flush().unwrap();
        for i in 0..100u32 {
            db.delete(format!("k{i:05}").as_bytes()).unwrap();
        }
        db.put(b"tail", b"in-wal").unwrap();
        db.close().unwrap();
    }
    for _round in 0..2 {
        let db = Engine::open(dir.path(), small_opts()).unwrap();
        assert_eq!(db.get(b"tail").unwrap(), Some(b"in-wal".to_vec()));
        assert_eq!(db.get(b"k00050").unwrap(), None);
        assert_eq!(db.get(b"k00450").unwrap(), Some(b"450".to_vec()));
        let n = db.scan_prefix(b"k").unwrap().count();
        assert_eq!(n, 400);
        drop(db);
    }
}

#[test]
fn snapshot_is_a_point_in_time_view() {
    let db = Engine::open_in_memory(small_opts()).unwrap();
    db.put(b"a", b"1").unwrap();
    db.put(b"b", b"1").unwrap();
    let snap = db.snapshot();
    db.put(b"a", b"2").unwrap();
    db.delete(b"b").unwrap();
    db.put(b"c", b"2").unwrap();
    for i in 0..300u32 {
        db.put(format!("filler{i}").as_bytes(), &[0u8; 64]).unwrap();
    }
    db.compact_range(None, None).unwrap();
    assert_eq!(snap.get(b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(snap.get(b"b").unwrap(), Some(b"1".to_vec()));
    assert_eq!(snap.get(b"c").unwrap(), None);
    let ks: Vec<Vec<u8>> = snap
        .scan(Bound::Unbounded, Bound::Excluded(b"d"), Direction::Forward)
        .unwrap()
        .map(|kv| kv.unwrap().0)
        .collect();
    assert_eq!(ks, vec![b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(db.get(b"a").unwrap(), Some(b"2".to_vec()));
    assert_eq!(db.get(b"b").unwrap(), None);
}

#[test]
fn empty_and_inverted_ranges_yield_nothing() {
    let db = Engine::open_in_memory(Options::default()).unwrap();
    for k in ["a", "b", "c"] {
        db.put(k.as_bytes(), b"v").unwrap();
    }
    for dir in [Direction::Forward, Direction::Reverse] {
        assert_eq!(
            db.scan(Bound::Included(b"c"), Bound::Included(b"a"), dir)
                .unwrap()
                .count(),
            0
        );
        assert_eq!(
            db.scan(Bound::Excluded(b"b"), Bound::Excluded(b"b"), dir)
                .unwrap()
                .count(),
            0
        );
        assert_eq!(
            db.scan(Bound::Included(b"b"), Bound::Included(b"b"), dir)
                .unwrap()
                .count(),
            1
        );
    }
    let mut t = db.begin(toondb_storage::Isolation::Serializable).unwrap();
    t.put(b"bb", b"mine").unwrap();
    assert_eq!(
        t.scan(
            Bound::Included(b"c"),
            Bound::Included(b"a"),
            Direction::Forward
        )
        .unwrap()
        .count(),
        0
    );
    let rev = keys(
        t.scan(
            Bound::Excluded(b"a"),
            Bound::Excluded(b"c"),
            Direction::Reverse,
        )
        .unwrap(),
    );
    assert_eq!(rev, vec!["bb".to_string(), "b".to_string()]);
    t.commit().unwrap();
}

#[test]
fn poisoned_or_closed_engine_refuses_transactions() {
    let db = Engine::open_in_memory(Options::default()).unwrap();
    let mut t = db.begin(toondb_storage::Isolation::Snapshot).unwrap();
    t.put(b"k", b"v").unwrap();
    let other = db.clone();
    db.close().unwrap();
    assert!(matches!(t.commit(), Err(Error::Closed)));
    assert!(matches!(
        other.begin(toondb_storage::Isolation::Snapshot),
        Err(Error::Closed)
    ));
    // Reads through a surviving handle still work on what is in memory.
    assert_eq!(other.get(b"k").unwrap(), None);
}
