//! Statements stop on an interrupt handle or a timeout, inside every long loop, and a stopped
//! statement applies nothing: an explicit transaction around it stays usable.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use toondb_query::{Arity, Database, Error, Session, Value};

/// A database with `n` rows in `t` and a function `trip(x)` that interrupts the database
/// the first time it is called (so the statement is surely running when it happens).
fn setup(n: usize) -> (Database, Session) {
    let db = Database::open_in_memory().unwrap();
    let h = db.interrupt_handle();
    let fired = Arc::new(AtomicUsize::new(0));
    db.register_scalar_function("trip", Arity::Exact(1), false, move |a| {
        if fired.fetch_add(1, Ordering::SeqCst) == 0 {
            h.interrupt();
        }
        Ok(a[0].clone())
    })
    .unwrap();
    let mut s = db.session();
    s.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, x INTEGER)")
        .unwrap();
    let values: Vec<String> = (0..n).map(|i| format!("({i})")).collect();
    s.execute(&format!("INSERT INTO t(x) VALUES {}", values.join(",")))
        .unwrap();
    (db, s)
}

fn assert_interrupted(r: Result<toondb_query::QueryResult, Error>) {
    match r {
        Err(Error::Interrupted(_)) => {}
        other => panic!("expected an interrupted statement, got {other:?}"),
    }
}

#[test]
fn interrupt_stops_a_cross_join() {
    let (_db, mut s) = setup(2000);
    // 4M pairs: without the interrupt this runs long; the handle stops it.
    assert_interrupted(s.execute("SELECT count(*) FROM t a, t b WHERE trip(a.x) >= 0"));
    // Later statements are not affected.
    let r = s.execute("SELECT count(*) FROM t").unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(2000)]]);
}

#[test]
fn interrupt_stops_sort_aggregate_and_dml() {
    let (_db, mut s) = setup(3000);
    for sql in [
        "SELECT x FROM t ORDER BY trip(x) DESC",
        "SELECT trip(x) % 7, count(*) FROM t GROUP BY 1",
        "SELECT DISTINCT trip(x) FROM t",
        "UPDATE t SET x = trip(x) + 1",
        "DELETE FROM t WHERE trip(x) >= 0",
        "INSERT INTO t(x) SELECT trip(x) FROM t",
    ] {
        let (_db, mut s2) = setup(3000);
        assert_interrupted(s2.execute(sql));
        let r = s2.execute("SELECT count(*), sum(x) FROM t").unwrap();
        assert_eq!(
            r.rows,
            vec![vec![Value::Integer(3000), Value::Integer(2999 * 3000 / 2)]],
            "{sql} applied something"
        );
    }
    let r = s.execute("SELECT count(*) FROM t").unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(3000)]]);
}

#[test]
fn timeout_stops_a_statement() {
    let (_db, mut s) = setup(1000);
    s.set_timeout(Some(Duration::ZERO));
    assert_interrupted(s.execute("SELECT count(*) FROM t a, t b"));
    s.set_timeout(None);
    let r = s.execute("SELECT count(*) FROM t").unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(1000)]]);
}

#[test]
fn interrupted_statement_leaves_the_transaction_usable() {
    let (_db, mut s) = setup(2000);
    s.execute("BEGIN").unwrap();
    s.execute("INSERT INTO t(x) VALUES (-1)").unwrap();
    assert_interrupted(s.execute("UPDATE t SET x = trip(x) * 0"));
    assert!(s.in_transaction());
    // The insert before is there; none of the interrupted update is.
    let r = s.execute("SELECT count(*), min(x), max(x) FROM t").unwrap();
    assert_eq!(
        r.rows,
        vec![vec![
            Value::Integer(2001),
            Value::Integer(-1),
            Value::Integer(1999)
        ]]
    );
    s.execute("COMMIT").unwrap();
    let r = s.execute("SELECT count(*) FROM t WHERE x = -1").unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(1)]]);
}

#[test]
fn interrupted_transaction_can_be_rolled_back() {
    let (_db, mut s) = setup(2000);
    s.execute("BEGIN").unwrap();
    s.execute("DELETE FROM t WHERE x < 10").unwrap();
    assert_interrupted(s.execute("SELECT count(*) FROM t a, t b WHERE trip(a.x) >= 0"));
    s.execute("ROLLBACK").unwrap();
    let r = s.execute("SELECT count(*) FROM t").unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(2000)]]);
}

#[test]
fn cancel_token_stops_only_its_own_statements() {
    let (db, mut s) = setup(2000);
    let token = toondb_query::CancelToken::new();
    let t2 = token.clone();
    db.register_scalar_function("cancel_mine", Arity::Exact(1), false, move |a| {
        t2.cancel();
        Ok(a[0].clone())
    })
    .unwrap();
    let r = toondb_query::with_cancel_token(&token, || {
        s.execute("SELECT count(*) FROM t a, t b WHERE cancel_mine(a.x) >= 0")
    });
    assert_interrupted(r);
    // Outside the token (and in other sessions) statements run normally.
    let r = s.execute("SELECT count(*) FROM t WHERE cancel_mine(x) >= 0");
    assert_eq!(r.unwrap().rows, vec![vec![Value::Integer(2000)]]);
}
