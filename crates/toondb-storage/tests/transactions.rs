//! Transactions: snapshot isolation conflicts, serializable write-skew prevention,
//! read-your-own-writes in gets and scans, rollback, and lost-update freedom under threads.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::ops::Bound;
use toondb_storage::{Direction, Engine, Error, Isolation, Options};

fn db() -> Engine {
    Engine::open_in_memory(Options {
        memtable_size: 8 << 10,
        ..Options::default()
    })
    .unwrap()
}

#[test]
fn si_first_committer_wins() {
    let db = db();
    db.put(b"x", b"0").unwrap();
    let mut t1 = db.begin(Isolation::Snapshot).unwrap();
    let mut t2 = db.begin(Isolation::Snapshot).unwrap();
    t1.put(b"x", b"1").unwrap();
    t2.put(b"x", b"2").unwrap();
    t1.commit().unwrap();
    let e = t2.commit().unwrap_err();
    assert!(e.is_conflict(), "{e}");
    assert!(matches!(e, Error::Conflict { .. }));
    assert_eq!(db.get(b"x").unwrap(), Some(b"1".to_vec()));
}

#[test]
fn si_conflicts_with_plain_writes_after_snapshot() {
    let db = db();
    let mut t = db.begin(Isolation::Snapshot).unwrap();
    db.put(b"y", b"outside").unwrap();
    t.put(b"y", b"inside").unwrap();
    assert!(t.commit().unwrap_err().is_conflict());
    // Writes before the snapshot do not conflict.
    let mut t = db.begin(Isolation::Snapshot).unwrap();
    t.put(b"y", b"inside").unwrap();
    t.commit().unwrap();
    assert_eq!(db.get(b"y").unwrap(), Some(b"inside".to_vec()));
}

#[test]
fn si_disjoint_writes_both_commit() {
    let db = db();
    let mut t1 = db.begin(Isolation::Snapshot).unwrap();
    let mut t2 = db.begin(Isolation::Snapshot).unwrap();
    t1.put(b"a", b"1").unwrap();
    t2.put(b"b", b"2").unwrap();
    t1.commit().unwrap();
    t2.commit().unwrap();
    assert_eq!(db.get(b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(db.get(b"b").unwrap(), Some(b"2".to_vec()));
}

/// Classic write skew: two doctors on call, each checks the other is on call then goes off.
fn write_skew(iso: Isolation) -> (Result<(), Error>, Result<(), Error>) {
    let db = db();
    db.put(b"alice", b"on").unwrap();
    db.put(b"bob", b"on").unwrap();
    let mut t1 = db.begin(iso).unwrap();
    let mut t2 = db.begin(iso).unwrap();
    assert_eq!(t1.get(b"bob").unwrap(), Some(b"on".to_vec()));
    t1.put(b"alice", b"off").unwrap();
    assert_eq!(t2.get(b"alice").unwrap(), Some(b"on".to_vec()));
    t2.put(b"bob", b"off").unwrap();
    (t1.commit(), t2.commit())
}

#[test]
fn snapshot_isolation_allows_write_skew() {
    let (a, b) = write_skew(Isolation::Snapshot);
    assert!(a.is_ok() && b.is_ok());
}

#[test]
fn ssi_write_skew_prevented() {
    let (a, b) = write_skew(Isolation::Serializable);
    assert!(a.is_ok());
    assert!(b.unwrap_err().is_conflict());
}

#[test]
fn ssi_range_read_is_validated() {
    let db = db();
    db.put(b"task:1", b"open").unwrap();
    let mut t1 = db.begin(Isolation::Serializable).unwrap();
    let n = t1.scan_prefix(b"task:").unwrap().count();
    assert_eq!(n, 1);
    // Someone inserts a phantom into the scanned range.
    db.put(b"task:2", b"open").unwrap();
    t1.put(b"summary", format!("{n}").as_bytes()).unwrap();
    assert!(t1.commit().unwrap_err().is_conflict());
    // A write outside the scanned range does not abort.
    let mut t2 = db.begin(Isolation::Serializable).unwrap();
    let _ = t2.scan_prefix(b"task:").unwrap().count();
    db.put(b"zzz", b"1").unwrap();
    t2.put(b"summary", b"2").unwrap();
    t2.commit().unwrap();
}

#[test]
fn read_your_own_writes_in_gets_and_scans() {
    let db = db();
    for k in ["a", "b", "c", "d"] {
        db.put(k.as_bytes(), b"base").unwrap();
    }
    db.flush().unwrap();
    let mut t = db.begin(Isolation::Snapshot).unwrap();
    t.put(b"b", b"mine").unwrap();
    t.delete(b"c").unwrap();
    t.put(b"e", b"new").unwrap();
    t.put(b"0", b"first").unwrap();
    assert_eq!(t.get(b"b").unwrap(), Some(b"mine".to_vec()));
    assert_eq!(t.get(b"c").unwrap(), None);
    let fwd: Vec<(Vec<u8>, Vec<u8>)> = t
        .scan(Bound::Unbounded, Bound::Unbounded, Direction::Forward)
        .unwrap()
        .map(|kv| kv.unwrap())
        .collect();
    let want: Vec<(Vec<u8>, Vec<u8>)> = [
        ("0", "first"),
        ("a", "base"),
        ("b", "mine"),
        ("d", "base"),
        ("e", "new"),
    ]
    .iter()
    .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
    .collect();
    assert_eq!(fwd, want);
    let rev: Vec<Vec<u8>> = t
        .scan(
            Bound::Included(b"a"),
            Bound::Included(b"d"),
            Direction::Reverse,
        )
        .unwrap()
        .map(|kv| kv.unwrap().0)
        .collect();
    assert_eq!(rev, vec![b"d".to_vec(), b"b".to_vec(), b"a".to_vec()]);
    // Nothing leaked before commit.
    assert_eq!(db.get(b"e").unwrap(), None);
    assert_eq!(db.get(b"c").unwrap(), Some(b"base".to_vec()));
    t.commit().unwrap();
    assert_eq!(db.get(b"e").unwrap(), Some(b"new".to_vec()));
    assert_eq!(db.get(b"c").unwrap(), None);
}

#[test]
fn rollback_and_drop_discard_writes() {
    let db = db();
    let mut t = db.begin(Isolation::Snapshot).unwrap();
    t.put(b"k", b"v").unwrap();
    t.rollback();
    {
        let mut t = db.begin(Isolation::Serializable).unwrap();
        t.put(b"k", b"v").unwrap();
    }
    assert_eq!(db.get(b"k").unwrap(), None);
    assert_eq!(db.stats().live_snapshots, 0);
}

#[test]
fn transaction_reads_its_snapshot() {
    let db = db();
    db.put(b"k", b"old").unwrap();
    let mut t = db.begin(Isolation::Snapshot).unwrap();
    db.put(b"k", b"new").unwrap();
    assert_eq!(t.get(b"k").unwrap(), Some(b"old".to_vec()));
    let n: Vec<_> = t
        .scan_prefix(b"k")
        .unwrap()
        .map(|kv| kv.unwrap().1)
        .collect();
    assert_eq!(n, vec![b"old".to_vec()]);
}

#[test]
fn concurrent_increments_lose_no_update() {
    let db = db();
    db.put(b"counter", b"0").unwrap();
    let threads = 4;
    let per = 50;
    let mut hs = Vec::new();
    for _ in 0..threads {
        let db = db.clone();
        hs.push(std::thread::spawn(move || {
            let mut conflicts = 0u32;
            for _ in 0..per {
                loop {
                    let mut t = db.begin(Isolation::Snapshot).unwrap();
                    let v: u64 = String::from_utf8(t.get(b"counter").unwrap().unwrap())
                        .unwrap()
                        .parse()
                        .unwrap();
                    t.put(b"counter", (v + 1).to_string().as_bytes()).unwrap();
                    match t.commit() {
                        Ok(()) => break,
                        Err(e) if e.is_conflict() => conflicts += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            conflicts
        }));
    }
    for h in hs {
        h.join().unwrap();
    }
    let v = db.get(b"counter").unwrap().unwrap();
    assert_eq!(String::from_utf8(v).unwrap(), (threads * per).to_string());
}

/// Bank transfers under both isolation levels with flushes and compactions running: every
/// snapshot (and every transaction's scan) sees the same total, and committed transfers are
/// never lost.
#[test]
fn concurrent_transfers_preserve_the_total() {
    let db = Engine::open_in_memory(Options {
        memtable_size: 4 << 10,
        l0_compaction_trigger: 2,
        ..Options::default()
    })
    .unwrap();
    let accounts = 8u32;
    for a in 0..accounts {
        db.put(format!("acct{a}").as_bytes(), b"100").unwrap();
    }
    let total = |pairs: Vec<(Vec<u8>, Vec<u8>)>| -> i64 {
        pairs
            .iter()
            .map(|(_, v)| String::from_utf8_lossy(v).parse::<i64>().unwrap())
            .sum()
    };
    let mut hs = Vec::new();
    for w in 0..4u32 {
        let db = db.clone();
        hs.push(std::thread::spawn(move || {
            let iso = if w % 2 == 0 {
                Isolation::Serializable
            } else {
                Isolation::Snapshot
            };
            let mut done = 0;
            let mut seed = u64::from(w) * 7919 + 1;
            while done < 40 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let from = (seed >> 33) as u32 % accounts;
                let to = (from + 1 + (seed >> 40) as u32 % (accounts - 1)) % accounts;
                let mut t = db.begin(iso).unwrap();
                let read = |t: &mut toondb_storage::Transaction, a: u32| -> i64 {
                    String::from_utf8(t.get(format!("acct{a}").as_bytes()).unwrap().unwrap())
                        .unwrap()
                        .parse()
                        .unwrap()
                };
                let (fb, tb) = (read(&mut t, from), read(&mut t, to));
                t.put(
                    format!("acct{from}").as_bytes(),
                    (fb - 5).to_string().as_bytes(),
                )
                .unwrap();
                t.put(
                    format!("acct{to}").as_bytes(),
                    (tb + 5).to_string().as_bytes(),
                )
                .unwrap();
                // Read-your-own-writes scan sees a consistent total too.
                let seen: Vec<_> = t
                    .scan_prefix(b"acct")
                    .unwrap()
                    .map(|kv| kv.unwrap())
                    .collect();
                assert_eq!(seen.len(), accounts as usize);
                match t.commit() {
                    Ok(()) => done += 1,
                    Err(e) if e.is_conflict() => {}
                    Err(e) => panic!("{e}"),
                }
            }
        }));
    }
    let checker = {
        let db = db.clone();
        std::thread::spawn(move || {
            for i in 0..60 {
                let snap = db.snapshot();
                let pairs: Vec<_> = snap
                    .scan_prefix(b"acct")
                    .unwrap()
                    .map(|kv| kv.unwrap())
                    .collect();
                assert_eq!(pairs.len(), accounts as usize);
                assert_eq!(
                    total(pairs),
                    i64::from(accounts) * 100,
                    "snapshot saw a partial transfer"
                );
                if i % 10 == 0 {
                    db.flush().unwrap();
                }
                if i % 25 == 0 {
                    db.compact_range(None, None).unwrap();
                }
            }
        })
    };
    for h in hs {
        h.join().unwrap();
    }
    checker.join().unwrap();
    let pairs: Vec<_> = db
        .scan_prefix(b"acct")
        .unwrap()
        .map(|kv| kv.unwrap())
        .collect();
    assert_eq!(total(pairs), i64::from(accounts) * 100);
}

/// A transaction with thousands of pending writes: scans (forward and reverse, whole range and
/// sub-ranges, partly consumed) merge them with the snapshot exactly like a model map, and a
/// scan keeps seeing the writes as they were when it started while the transaction writes on.
#[test]
fn large_pending_write_sets_scan_like_a_model() {
    use std::collections::BTreeMap;
    let db = db();
    let key = |i: u32| format!("k{i:05}").into_bytes();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for i in (0..4000).step_by(2) {
        db.put(&key(i), b"base").unwrap();
        model.insert(key(i), b"base".to_vec());
    }
    let mut t = db.begin(Isolation::Snapshot).unwrap();
    for i in 0..4000u32 {
        match i % 5 {
            0 => {
                t.delete(&key(i)).unwrap();
                model.remove(&key(i));
            }
            1 | 3 => {
                let v = format!("w{i}").into_bytes();
                t.put(&key(i), &v).unwrap();
                model.insert(key(i), v);
            }
            _ => {}
        }
    }
    type Range = (Bound<Vec<u8>>, Bound<Vec<u8>>);
    let ranges: Vec<Range> = vec![
        (Bound::Unbounded, Bound::Unbounded),
        (Bound::Included(key(100)), Bound::Excluded(key(3100))),
        (Bound::Excluded(key(1001)), Bound::Included(key(1003))),
        (Bound::Included(key(3999)), Bound::Unbounded),
    ];
    for (lo, hi) in &ranges {
        let want: Vec<(Vec<u8>, Vec<u8>)> = model
            .range::<Vec<u8>, _>((lo.clone(), hi.clone()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let as_ref = |b: &Bound<Vec<u8>>| match b {
            Bound::Included(k) => Bound::Included(k.clone()),
            Bound::Excluded(k) => Bound::Excluded(k.clone()),
            Bound::Unbounded => Bound::Unbounded,
        };
        let (l, h) = (as_ref(lo), as_ref(hi));
        fn slice(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
            match b {
                Bound::Included(k) => Bound::Included(k.as_slice()),
                Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
                Bound::Unbounded => Bound::Unbounded,
            }
        }
        let fwd: Vec<_> = t
            .scan(slice(&l), slice(&h), Direction::Forward)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(fwd, want, "forward {lo:?}..{hi:?}");
        let mut rev: Vec<_> = t
            .scan(slice(&l), slice(&h), Direction::Reverse)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        rev.reverse();
        assert_eq!(rev, want, "reverse {lo:?}..{hi:?}");
        // Partly consumed: the first few only.
        let first: Vec<_> = t
            .scan(slice(&l), slice(&h), Direction::Forward)
            .unwrap()
            .take(3)
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(first, want.iter().take(3).cloned().collect::<Vec<_>>());
    }
    // A scan started before more writes sees the write set of its start.
    let mut it = t
        .scan(Bound::Unbounded, Bound::Unbounded, Direction::Forward)
        .unwrap();
    let before: Vec<(Vec<u8>, Vec<u8>)> =
        model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let head = it.next().unwrap().unwrap();
    for i in 0..4000u32 {
        t.put(&key(i), b"late").unwrap();
    }
    let mut seen = vec![head];
    seen.extend(it.map(|r| r.unwrap()));
    assert_eq!(seen, before);
    let all: Vec<_> = t
        .scan(Bound::Unbounded, Bound::Unbounded, Direction::Forward)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(all.len(), 4000);
    assert!(all.iter().all(|(_, v)| v == b"late"));
}
