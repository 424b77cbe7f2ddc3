//! `Database::interrupt_handle`, the statement timeout option and the memory budget option,
//! through the public API, including statements inside a `Transaction`.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use toondb::{params, Arity, Database, ErrorKind, Options, Value};

fn filled(opts: Options) -> Database {
    let db = Database::open_in_memory_with(opts).unwrap();
    db.execute(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, x INTEGER)",
        params![],
    )
    .unwrap();
    let values: Vec<String> = (0..2000).map(|i| format!("({i})")).collect();
    db.execute(
        &format!("INSERT INTO t(x) VALUES {}", values.join(",")),
        params![],
    )
    .unwrap();
    // trip(x): interrupts the database once, from inside the running statement.
    let h = db.interrupt_handle();
    let fired = Arc::new(AtomicBool::new(false));
    db.register_scalar_function("trip", Arity::Exact(1), false, move |a| {
        if !fired.swap(true, Ordering::SeqCst) {
            h.interrupt();
        }
        Ok(a[0].clone())
    })
    .unwrap();
    db
}

#[test]
fn interrupted_statement_in_a_transaction_leaves_it_usable() {
    let db = filled(Options::default());
    let mut tx = db.begin().unwrap();
    tx.execute("INSERT INTO t(x) VALUES (-1)", params![])
        .unwrap();
    let e = tx
        .execute("UPDATE t SET x = trip(x) * 0", params![])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Interrupted);
    let r = tx
        .query("SELECT count(*), min(x), max(x) FROM t", params![])
        .unwrap();
    assert_eq!(
        r[0].values(),
        &[
            Value::Integer(2001),
            Value::Integer(-1),
            Value::Integer(1999)
        ]
    );
    tx.commit().unwrap();
    let n: i64 = db
        .query_row("SELECT count(*) FROM t WHERE x = -1", params![])
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn statement_timeout_option() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.execute("CREATE TABLE t(x INTEGER)", params![]).unwrap();
    let values: Vec<String> = (0..1000).map(|i| format!("({i})")).collect();
    db.execute(
        &format!("INSERT INTO t(x) VALUES {}", values.join(",")),
        params![],
    )
    .unwrap();
    db.close().unwrap();
    let opts = Options::default().with_statement_timeout(Some(Duration::ZERO));
    let db = Database::open_with(dir.path(), opts).unwrap();
    let e = db
        .query("SELECT count(*) FROM t a, t b", params![])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Interrupted);
}

#[test]
fn memory_budget_option() {
    let db = filled(Options::default().with_statement_memory_budget(16 * 1024));
    let e = db
        .query("SELECT x, count(*) FROM t GROUP BY x", params![])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ResourceExhausted);
    assert!(e.to_string().contains("hash aggregate"), "{e}");
    // Streaming work needs no budget.
    let n: i64 = db
        .query_row("SELECT count(*) FROM t WHERE x % 2 = 0", params![])
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(n, 1000);
}

#[test]
fn user_function_inside_a_transaction() {
    let db = filled(Options::default());
    db.register_scalar_function("sq", Arity::Exact(1), true, |a| match a[0] {
        Value::Integer(i) => Ok(Value::Integer(i * i)),
        _ => Ok(Value::Null),
    })
    .unwrap();
    let mut tx = db.begin().unwrap();
    let r = tx
        .query("SELECT sq(x) FROM t WHERE x = 12", params![])
        .unwrap();
    assert_eq!(r[0].get::<i64>(0).unwrap(), 144);
    tx.rollback();
}
