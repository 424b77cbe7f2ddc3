//! State-machine test: random operations against the engine and a `BTreeMap` model, with
//! flushes, compactions, snapshots, transactions and reopens; every read and scan (both
//! directions) must agree with the model.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use proptest::prelude::*;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use toondb_core::vfs::{MemVfs, Vfs};
use toondb_storage::{Direction, Engine, Isolation, Options, Snapshot, SyncMode, WriteBatch};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

#[derive(Clone, Debug)]
enum Op {
    Put(u8, u8),
    Delete(u8),
    Batch(Vec<(u8, Option<u8>)>),
    Txn(Vec<(u8, Option<u8>)>, bool),
    TakeSnapshot,
    CheckSnapshot(usize),
    DropSnapshot(usize),
    Scan(u8, u8, bool),
    Flush,
    Compact(Option<u8>, Option<u8>),
    Reopen,
}

fn key(k: u8) -> Vec<u8> {
    format!("key{:03}", k % 48).into_bytes()
}

fn value(v: u8, len_hint: u8) -> Vec<u8> {
    let mut out = format!("val{v}-").into_bytes();
    out.resize(8 + (len_hint as usize % 4) * 40, b'x');
    out
}

fn op() -> impl Strategy<Value = Op> {
    let kv = (any::<u8>(), proptest::option::of(any::<u8>()));
    prop_oneof![
        8 => (any::<u8>(), any::<u8>()).prop_map(|(k, v)| Op::Put(k, v)),
        3 => any::<u8>().prop_map(Op::Delete),
        2 => proptest::collection::vec(kv.clone(), 1..8).prop_map(Op::Batch),
        2 => (proptest::collection::vec(kv, 1..6), any::<bool>()).prop_map(|(w, c)| Op::Txn(w, c)),
        1 => Just(Op::TakeSnapshot),
        1 => any::<usize>().prop_map(Op::CheckSnapshot),
        1 => any::<usize>().prop_map(Op::DropSnapshot),
        2 => (any::<u8>(), any::<u8>(), any::<bool>()).prop_map(|(a, b, r)| Op::Scan(a, b, r)),
        1 => Just(Op::Flush),
        1 => (proptest::option::of(any::<u8>()), proptest::option::of(any::<u8>())).prop_map(|(a, b)| Op::Compact(a, b)),
        1 => Just(Op::Reopen),
    ]
}

fn opts() -> Options {
    Options {
        memtable_size: 1 << 10,
        l0_compaction_trigger: 2,
        l0_stall_trigger: 6,
        l1_target_bytes: 4 << 10,
        level_size_ratio: 2,
        target_file_size: 2 << 10,
        block_size: 256,
        sync: SyncMode::Off,
        ..Options::default()
    }
}

fn check_all(db_scan: impl Fn(Direction) -> Vec<(Vec<u8>, Vec<u8>)>, model: &Model, what: &str) {
    let want: Vec<(Vec<u8>, Vec<u8>)> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(db_scan(Direction::Forward), want, "{what}: forward scan");
    let mut rev = want;
    rev.reverse();
    assert_eq!(db_scan(Direction::Reverse), rev, "{what}: reverse scan");
}

fn collect(it: toondb_storage::KvIter) -> Vec<(Vec<u8>, Vec<u8>)> {
    it.map(|kv| kv.unwrap()).collect()
}

fn run(ops: Vec<Op>) {
    let vfs: Arc<dyn Vfs> = Arc::new(MemVfs::new());
    let mut db = Engine::open_with_vfs(vfs.clone(), "/m", opts()).unwrap();
    let mut model = Model::new();
    let mut snaps: Vec<(Snapshot, Model)> = Vec::new();
    for op in ops {
        match op {
            Op::Put(k, v) => {
                db.put(&key(k), &value(v, k)).unwrap();
                model.insert(key(k), value(v, k));
            }
            Op::Delete(k) => {
                db.delete(&key(k)).unwrap();
                model.remove(&key(k));
            }
            Op::Batch(entries) => {
                let mut b = WriteBatch::new();
                for (k, v) in &entries {
                    match v {
                        Some(v) => {
                            b.put(&key(*k), &value(*v, *k));
                            model.insert(key(*k), value(*v, *k));
                        }
                        None => {
                            b.delete(&key(*k));
                            model.remove(&key(*k));
                        }
                    }
                }
                db.write(b).unwrap();
            }
            Op::Txn(entries, commit) => {
                let iso = if commit {
                    Isolation::Serializable
                } else {
                    Isolation::Snapshot
                };
                let mut t = db.begin(iso).unwrap();
                let mut local = model.clone();
                for (k, v) in &entries {
                    assert_eq!(t.get(&key(*k)).unwrap(), local.get(&key(*k)).cloned());
                    match v {
                        Some(v) => {
                            t.put(&key(*k), &value(*v, *k)).unwrap();
                            local.insert(key(*k), value(*v, *k));
                        }
                        None => {
                            t.delete(&key(*k)).unwrap();
                            local.remove(&key(*k));
                        }
                    }
                }
                let seen = collect(
                    t.scan(Bound::Unbounded, Bound::Unbounded, Direction::Forward)
                        .unwrap(),
                );
                let want: Vec<_> = local.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                assert_eq!(seen, want, "transaction read-your-own-writes scan");
                let seen_rev = collect(
                    t.scan(Bound::Unbounded, Bound::Unbounded, Direction::Reverse)
                        .unwrap(),
                );
                let mut want_rev = want.clone();
                want_rev.reverse();
                assert_eq!(seen_rev, want_rev, "transaction reverse scan");
                if let Some((k, _)) = entries.first() {
                    let lo = key(*k);
                    let got = collect(
                        t.scan(
                            Bound::Excluded(lo.as_slice()),
                            Bound::Unbounded,
                            Direction::Forward,
                        )
                        .unwrap(),
                    );
                    let want_hi: Vec<_> = local
                        .range::<[u8], _>((Bound::Excluded(lo.as_slice()), Bound::Unbounded))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    assert_eq!(got, want_hi, "transaction bounded scan");
                }
                if commit {
                    t.commit().unwrap();
                    model = local;
                } else {
                    t.rollback();
                }
            }
            Op::TakeSnapshot => {
                if snaps.len() < 4 {
                    snaps.push((db.snapshot(), model.clone()));
                }
            }
            Op::CheckSnapshot(i) => {
                if !snaps.is_empty() {
                    let (s, m) = &snaps[i % snaps.len()];
                    for k in 0..48u8 {
                        assert_eq!(
                            s.get(&key(k)).unwrap(),
                            m.get(&key(k)).cloned(),
                            "snapshot get"
                        );
                    }
                    check_all(
                        |d| collect(s.scan(Bound::Unbounded, Bound::Unbounded, d).unwrap()),
                        m,
                        "snapshot",
                    );
                }
            }
            Op::DropSnapshot(i) => {
                if !snaps.is_empty() {
                    let n = snaps.len();
                    snaps.remove(i % n);
                }
            }
            Op::Scan(a, b, rev) => {
                let (lo, hi) = (key(a).min(key(b)), key(a).max(key(b)));
                let lb = Bound::Included(lo.as_slice());
                let ub = if a % 2 == 0 {
                    Bound::Excluded(hi.as_slice())
                } else {
                    Bound::Included(hi.as_slice())
                };
                let dir = if rev {
                    Direction::Reverse
                } else {
                    Direction::Forward
                };
                let got = collect(db.scan(lb, ub, dir).unwrap());
                let mut want: Vec<_> = model
                    .range::<[u8], _>((lb, ub))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if rev {
                    want.reverse();
                }
                assert_eq!(got, want, "range scan");
            }
            Op::Flush => db.flush().unwrap(),
            Op::Compact(a, b) => {
                let (a, b) = (a.map(key), b.map(key));
                db.compact_range(a.as_deref(), b.as_deref()).unwrap();
            }
            Op::Reopen => {
                snaps.clear();
                db.close().unwrap();
                db = Engine::open_with_vfs(vfs.clone(), "/m", opts()).unwrap();
            }
        }
        for k in 0..48u8 {
            if k % 7 == 0 {
                assert_eq!(
                    db.get(&key(k)).unwrap(),
                    model.get(&key(k)).cloned(),
                    "get {k}"
                );
            }
        }
    }
    check_all(
        |d| collect(db.scan(Bound::Unbounded, Bound::Unbounded, d).unwrap()),
        &model,
        "final",
    );
    for k in 0..48u8 {
        assert_eq!(
            db.get(&key(k)).unwrap(),
            model.get(&key(k)).cloned(),
            "final get"
        );
    }
    for (s, m) in &snaps {
        check_all(
            |d| collect(s.scan(Bound::Unbounded, Bound::Unbounded, d).unwrap()),
            m,
            "final snapshot",
        );
    }
    let report = db.verify().unwrap();
    assert!(report.is_ok(), "{report:?}");
}

proptest! {
    #[test]
    fn engine_matches_btreemap_model(ops in proptest::collection::vec(op(), 1..120)) {
        run(ops);
    }
}
