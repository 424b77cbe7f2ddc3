//! Operators pull only what they need: LIMIT stops its input, EXISTS and scalar subqueries
//! stop after one row, ORDER BY ... LIMIT keeps a bounded buffer. Counted with a user
//! function that records how many rows were evaluated.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use toondb_query::{Arity, Database, Session, Value};

fn setup(n: usize) -> (Session, Arc<AtomicUsize>) {
    let db = Database::open_in_memory().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    db.register_scalar_function("seen", Arity::Exact(1), false, move |a| {
        c.fetch_add(1, Ordering::SeqCst);
        Ok(a[0].clone())
    })
    .unwrap();
    let mut s = db.session();
    s.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, x INTEGER)")
        .unwrap();
    let values: Vec<String> = (0..n).map(|i| format!("({})", (i * 7919) % n)).collect();
    s.execute(&format!("INSERT INTO t(x) VALUES {}", values.join(",")))
        .unwrap();
    (s, calls)
}

#[test]
fn limit_stops_the_scan() {
    let (mut s, calls) = setup(10_000);
    let r = s.execute("SELECT seen(x) FROM t LIMIT 5").unwrap();
    assert_eq!(r.rows.len(), 5);
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    calls.store(0, Ordering::SeqCst);
    let r = s
        .execute("SELECT seen(x) FROM t WHERE x % 2 = 0 LIMIT 3 OFFSET 2")
        .unwrap();
    assert_eq!(r.rows.len(), 3);
    // The skipped OFFSET rows are computed too, nothing after the last one.
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[test]
fn exists_and_scalar_subqueries_stop_after_one_row() {
    let (mut s, calls) = setup(10_000);
    let r = s
        .execute("SELECT EXISTS (SELECT seen(x) FROM t WHERE x >= 0)")
        .unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(1)]]);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    calls.store(0, Ordering::SeqCst);
    let r = s.execute("SELECT (SELECT seen(x) FROM t)").unwrap();
    assert_eq!(r.rows.len(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn order_by_limit_is_a_top_k_with_full_sort_results() {
    let (mut s, _) = setup(5_000);
    // A budget far too small for the whole table, enough for the top 10.
    s.set_memory_budget(256 * 1024);
    let r = s
        .execute("SELECT x FROM t ORDER BY x DESC LIMIT 10 OFFSET 3")
        .unwrap();
    let want: Vec<Vec<Value>> = (0..10).map(|i| vec![Value::Integer(4996 - i)]).collect();
    assert_eq!(r.rows, want);
    // Ties keep input order, exactly as a full sort does.
    s.set_memory_budget(toondb_query::DEFAULT_MEMORY_BUDGET);
    let full = s.execute("SELECT id, x % 3 FROM t ORDER BY x % 3").unwrap();
    let top = s
        .execute("SELECT id, x % 3 FROM t ORDER BY x % 3 LIMIT 2000")
        .unwrap();
    assert_eq!(&full.rows[..2000], &top.rows[..]);
}
