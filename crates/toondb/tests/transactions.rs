//! Transactions: isolation, explicit conflicts, the retrying closure helper, SQL in a
//! transaction.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use toondb::{params, Database, Error, ErrorKind, Isolation, Options};

fn counter(db: &Database) -> u64 {
    db.get("n")
        .unwrap()
        .map_or(0, |b| String::from_utf8(b).unwrap().parse().unwrap())
}

#[test]
fn first_committer_wins() {
    let db = Database::open_in_memory().unwrap();
    let mut t1 = db.begin().unwrap();
    let mut t2 = db.begin().unwrap();
    t1.put("k", "1").unwrap();
    t2.put("k", "2").unwrap();
    t1.commit().unwrap();
    let e = t2.commit().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.is_conflict());
    assert_eq!(db.get("k").unwrap().as_deref(), Some(&b"1"[..]));
}

#[test]
fn serializable_prevents_write_skew() {
    let db = Database::open_in_memory().unwrap();
    db.put("x", "0").unwrap();
    db.put("y", "0").unwrap();
    let mut t1 = db.begin_with(Isolation::Serializable).unwrap();
    let mut t2 = db.begin_with(Isolation::Serializable).unwrap();
    t1.get("y").unwrap();
    t2.get("x").unwrap();
    t1.put("x", "1").unwrap();
    t2.put("y", "1").unwrap();
    t1.commit().unwrap();
    assert_eq!(t2.commit().unwrap_err().kind(), ErrorKind::Conflict);
}

#[test]
fn closure_retries_after_a_conflict() {
    let db = Database::open_in_memory().unwrap();
    db.put("n", "0").unwrap();
    let calls = Cell::new(0);
    let v = db
        .transaction(|tx| {
            calls.set(calls.get() + 1);
            let cur: u64 = String::from_utf8(tx.get("n")?.unwrap())
                .unwrap()
                .parse()
                .unwrap();
            if calls.get() == 1 {
                // A concurrent writer commits between our read and our commit.
                db.put("n", "100").unwrap();
            }
            tx.put("n", (cur + 1).to_string())?;
            Ok(cur + 1)
        })
        .unwrap();
    assert_eq!(calls.get(), 2, "one conflict, one successful retry");
    assert_eq!(v, 101);
    assert_eq!(counter(&db), 101);
}

#[test]
fn closure_gives_up_after_max_attempts() {
    let db = Database::open_in_memory_with(
        Options::default()
            .with_max_txn_attempts(3)
            .with_retry_backoff(Duration::from_micros(10)),
    )
    .unwrap();
    let calls = Cell::new(0);
    let e = db
        .transaction(|tx| {
            calls.set(calls.get() + 1);
            tx.put("k", "mine")?;
            db.put("k", "theirs").unwrap();
            Ok(())
        })
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert_eq!(calls.get(), 3);
    assert_eq!(db.get("k").unwrap().as_deref(), Some(&b"theirs"[..]));
}

#[test]
fn closure_error_rolls_back_without_retry() {
    let db = Database::open_in_memory().unwrap();
    let calls = Cell::new(0);
    let e = db
        .transaction(|tx| -> toondb::Result<()> {
            calls.set(calls.get() + 1);
            tx.put("k", "v")?;
            tx.execute("CREATE TABLE t(x)", params![])?;
            Err(Error::NotFound("user abort".into()))
        })
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(calls.get(), 1);
    assert_eq!(db.get("k").unwrap(), None);
    assert!(
        db.query("SELECT * FROM t", params![]).is_err(),
        "table creation was rolled back"
    );
}

#[test]
fn concurrent_increments_are_not_lost() {
    let db =
        Database::open_in_memory_with(Options::default().with_max_txn_attempts(10_000)).unwrap();
    db.put("n", "0").unwrap();
    let attempts = AtomicUsize::new(0);
    let threads = 4;
    let per = 25;
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per {
                    db.transaction(|tx| {
                        attempts.fetch_add(1, Ordering::Relaxed);
                        let cur: u64 = String::from_utf8(tx.get("n")?.unwrap())
                            .unwrap()
                            .parse()
                            .unwrap();
                        tx.put("n", (cur + 1).to_string())
                    })
                    .unwrap();
                }
            });
        }
    });
    assert_eq!(counter(&db), (threads * per) as u64);
    assert!(attempts.load(Ordering::Relaxed) >= threads * per);
}

#[test]
fn sql_and_kv_commit_atomically() {
    let db = Database::open_in_memory().unwrap();
    db.execute(
        "CREATE TABLE acct(id INTEGER PRIMARY KEY, bal INTEGER)",
        params![],
    )
    .unwrap();
    db.execute("INSERT INTO acct VALUES (1, 100), (2, 0)", params![])
        .unwrap();

    let mut tx = db.begin().unwrap();
    assert_eq!(
        tx.execute("UPDATE acct SET bal = bal - 30 WHERE id = 1", params![])
            .unwrap(),
        1
    );
    tx.execute("UPDATE acct SET bal = bal + 30 WHERE id = 2", params![])
        .unwrap();
    tx.put("log", "moved 30").unwrap();
    // Own writes are visible inside, not outside.
    let inside = tx
        .query("SELECT bal FROM acct ORDER BY id", params![])
        .unwrap();
    assert_eq!(
        inside.to_values(),
        vec![
            vec![toondb::Value::Integer(70)],
            vec![toondb::Value::Integer(30)]
        ]
    );
    let outside = db
        .query("SELECT bal FROM acct ORDER BY id", params![])
        .unwrap();
    assert_eq!(outside[0].get::<i64>(0).unwrap(), 100);
    tx.rollback();
    assert_eq!(
        db.query_row("SELECT bal FROM acct WHERE id = 1", params![])
            .unwrap()
            .get::<i64>(0)
            .unwrap(),
        100
    );
    assert_eq!(db.get("log").unwrap(), None);

    db.transaction(|tx| {
        tx.execute("UPDATE acct SET bal = bal - 30 WHERE id = 1", params![])?;
        tx.execute("UPDATE acct SET bal = bal + 30 WHERE id = 2", params![])?;
        tx.put("log", "moved 30")
    })
    .unwrap();
    let rows = db
        .query("SELECT sum(bal), min(bal) FROM acct", params![])
        .unwrap();
    assert_eq!(rows[0].get::<i64>(0).unwrap(), 100);
    assert_eq!(rows[0].get::<i64>(1).unwrap(), 30);
    assert_eq!(db.get("log").unwrap().as_deref(), Some(&b"moved 30"[..]));

    // A failing statement inside a transaction leaves earlier statements intact.
    let mut tx = db.begin().unwrap();
    tx.execute("INSERT INTO acct VALUES (3, 5)", params![])
        .unwrap();
    assert_eq!(
        tx.execute("INSERT INTO acct VALUES (3, 6)", params![])
            .unwrap_err()
            .kind(),
        ErrorKind::Constraint
    );
    tx.commit().unwrap();
    assert_eq!(
        db.query_row("SELECT bal FROM acct WHERE id = 3", params![])
            .unwrap()
            .get::<i64>(0)
            .unwrap(),
        5
    );

    // BEGIN inside is refused.
    let mut tx = db.begin().unwrap();
    assert_eq!(
        tx.execute("BEGIN", params![]).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn concurrent_sql_updates_conflict_and_retry() {
    let db =
        Database::open_in_memory_with(Options::default().with_max_txn_attempts(10_000)).unwrap();
    db.execute(
        "CREATE TABLE c(id INTEGER PRIMARY KEY, n INTEGER)",
        params![],
    )
    .unwrap();
    db.execute("INSERT INTO c VALUES (1, 0)", params![])
        .unwrap();
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                for _ in 0..10 {
                    db.transaction(|tx| {
                        tx.execute("UPDATE c SET n = n + 1 WHERE id = 1", params![])
                            .map(|_| ())
                    })
                    .unwrap();
                }
            });
        }
    });
    assert_eq!(
        db.query_row("SELECT n FROM c", params![])
            .unwrap()
            .get::<i64>(0)
            .unwrap(),
        30
    );
}
