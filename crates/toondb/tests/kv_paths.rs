//! Key-value API, ranges in both directions, and the hierarchical path API.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::collections::BTreeMap;
use std::ops::Bound;

use toondb::{join_path, split_path, Database, Direction, ErrorKind};

fn keys(it: toondb::KvIter) -> Vec<Vec<u8>> {
    it.map(|kv| kv.unwrap().0).collect()
}

#[test]
fn kv_matches_a_btreemap_model() {
    let db = Database::open_in_memory().unwrap();
    let mut model = BTreeMap::new();
    // Deterministic pseudo-random operations.
    let mut x: u64 = 0x1234_5678;
    for _ in 0..600 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let k = format!("k{:03}", x % 97).into_bytes();
        match x % 5 {
            0 => {
                db.delete(&k).unwrap();
                model.remove(&k);
            }
            _ => {
                let v = x.to_le_bytes().to_vec();
                db.put(&k, &v).unwrap();
                model.insert(k, v);
            }
        }
    }
    for (k, v) in &model {
        assert_eq!(db.get(k).unwrap().as_ref(), Some(v));
    }
    let all: Vec<(Vec<u8>, Vec<u8>)> = db.scan_prefix("").unwrap().collect_all().unwrap();
    assert_eq!(all, model.clone().into_iter().collect::<Vec<_>>());
    // Ranges, both directions, all bound kinds.
    let lo = b"k020".to_vec();
    let hi = b"k060".to_vec();
    let fwd = keys(
        db.range(
            Bound::Included(&lo[..]),
            Bound::Excluded(&hi[..]),
            Direction::Forward,
        )
        .unwrap(),
    );
    let want: Vec<Vec<u8>> = model
        .range(lo.clone()..hi.clone())
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(fwd, want);
    let rev = keys(
        db.range(
            Bound::Excluded(&lo[..]),
            Bound::Included(&hi[..]),
            Direction::Reverse,
        )
        .unwrap(),
    );
    let mut want: Vec<Vec<u8>> = model
        .range((Bound::Excluded(lo), Bound::Included(hi)))
        .map(|(k, _)| k.clone())
        .collect();
    want.reverse();
    assert_eq!(rev, want);
    let everything_rev = keys(
        db.range(Bound::Unbounded, Bound::Unbounded, Direction::Reverse)
            .unwrap(),
    );
    assert_eq!(everything_rev.len(), model.len());
    assert_eq!(everything_rev.first(), model.keys().next_back());
}

#[test]
fn kv_is_separate_from_sql_and_paths() {
    let db = Database::open_in_memory().unwrap();
    db.execute("CREATE TABLE t(x INTEGER)", &[]).unwrap();
    db.execute("INSERT INTO t VALUES (1)", &[]).unwrap();
    db.put_path("a/b", "1").unwrap();
    assert!(
        db.scan_prefix("").unwrap().next().is_none(),
        "SQL and path data must not leak into KV scans"
    );
    db.put([0u8], "zero").unwrap();
    db.put([0xFFu8, 0xFF], "max").unwrap();
    let all = keys(
        db.range(Bound::Unbounded, Bound::Unbounded, Direction::Forward)
            .unwrap(),
    );
    assert_eq!(all, vec![vec![0u8], vec![0xFF, 0xFF]]);
    assert_eq!(
        db.query("SELECT x FROM t", &[]).unwrap()[0]
            .get::<i64>(0)
            .unwrap(),
        1
    );
}

#[test]
fn write_batch_and_persistence() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        db.put("gone", "x").unwrap();
        db.write_batch([("a", Some("1")), ("b", Some("2")), ("gone", None)])
            .unwrap();
        db.put_path("cfg/x\\/y", "slash").unwrap();
        db.close().unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.get("a").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(db.get("gone").unwrap(), None);
    assert_eq!(db.list_path("cfg").unwrap(), vec!["x/y"]);
    // A second handle on the same directory is refused while the first is open.
    let e = Database::open(dir.path()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Busy);
}

#[test]
fn closed_database_refuses_writes() {
    let db = Database::open_in_memory().unwrap();
    let other = db.clone();
    db.close().unwrap();
    let e = other.put("k", "v").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Closed);
}

#[test]
fn path_api_children_subtrees_and_escaping() {
    let db = Database::open_in_memory().unwrap();
    db.put_path("users/alice/email", "a@x").unwrap();
    db.put_path("users/alice/profile/age", "30").unwrap();
    db.put_path("users/alice", "node value").unwrap();
    db.put_path("users/bob/email", "b@x").unwrap();
    db.put_path("users/al", "prefix of alice, not a child of it")
        .unwrap();
    db.put_path(&join_path(&["users", "c/d", "email"]), "c@x")
        .unwrap();
    db.put_path("usersx/zed", "sibling tree").unwrap();

    assert_eq!(
        db.list_path("users/").unwrap(),
        vec!["al", "alice", "bob", "c/d"]
    );
    assert_eq!(
        db.list_path("/users").unwrap(),
        vec!["al", "alice", "bob", "c/d"]
    );
    assert_eq!(
        db.list_path("users/alice").unwrap(),
        vec!["email", "profile"]
    );
    assert_eq!(db.list_path("").unwrap(), vec!["users", "usersx"]);
    assert!(db.list_path("nothing/here").unwrap().is_empty());
    assert_eq!(
        db.get_path("users/c\\/d/email").unwrap().as_deref(),
        Some(&b"c@x"[..])
    );
    assert_eq!(db.get_path("users/c/d/email").unwrap(), None);

    let sub: Vec<String> = db
        .scan_path("users/alice")
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        sub,
        vec![
            "users/alice",
            "users/alice/email",
            "users/alice/profile/age"
        ]
    );

    assert_eq!(db.delete_path("users/alice").unwrap(), 3);
    assert_eq!(
        db.get_path("users/al").unwrap().as_deref(),
        Some(&b"prefix of alice, not a child of it"[..])
    );
    assert_eq!(db.list_path("users").unwrap(), vec!["al", "bob", "c/d"]);
    assert_eq!(db.delete_path("users/nobody").unwrap(), 0);

    // Bad paths are invalid arguments, never panics.
    for bad in ["a//b", "a\\q", "", "/"] {
        let e = db.put_path(bad, "x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}");
    }
    assert_eq!(split_path("x\\\\/y").unwrap(), vec!["x\\", "y"]);
}

#[test]
fn paths_inside_transactions() {
    let db = Database::open_in_memory().unwrap();
    db.put_path("t/a", "1").unwrap();
    db.put_path("t/b", "2").unwrap();
    let mut tx = db.begin().unwrap();
    assert_eq!(tx.delete_path("t").unwrap(), 2);
    tx.put_path("t/c", "3").unwrap();
    assert_eq!(tx.get_path("t/c").unwrap().as_deref(), Some(&b"3"[..]));
    assert_eq!(db.list_path("t").unwrap(), vec!["a", "b"]);
    tx.commit().unwrap();
    assert_eq!(db.list_path("t").unwrap(), vec!["c"]);
}

#[test]
fn handles_are_clone_send_sync() {
    fn check<T: Clone + Send + Sync + 'static>() {}
    check::<Database>();
    check::<toondb::Collection>();
    fn send<T: Send>() {}
    send::<toondb::Transaction>();
    send::<toondb::Rows>();
    send::<toondb::Error>();
    // A clone used from another thread sees the same data.
    let db = Database::open_in_memory().unwrap();
    let db2 = db.clone();
    std::thread::spawn(move || db2.put("from-thread", "1").unwrap())
        .join()
        .unwrap();
    assert_eq!(db.get("from-thread").unwrap().as_deref(), Some(&b"1"[..]));
}
