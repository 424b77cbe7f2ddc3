//! User scalar functions registered on a database: arity, variadic calls, errors,
//! determinism, and use in every clause.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use toondb_query::{Arity, Database, Error, Value};

fn db() -> Database {
    let db = Database::open_in_memory().unwrap();
    db.register_scalar_function("add2", Arity::Exact(2), true, |a| match (&a[0], &a[1]) {
        (Value::Integer(x), Value::Integer(y)) => Ok(Value::Integer(x + y)),
        _ => Ok(Value::Null),
    })
    .unwrap();
    db.register_scalar_function("joinall", Arity::Variadic, true, |a| {
        Ok(Value::Text(
            a.iter()
                .map(Value::to_text_lossy)
                .collect::<Vec<_>>()
                .join("-"),
        ))
    })
    .unwrap();
    db.register_scalar_function("fails", Arity::Exact(0), false, |_| {
        Err(Error::Runtime("fails() always fails".into()))
    })
    .unwrap();
    db
}

#[test]
fn user_functions_work_in_every_clause() {
    let db = db();
    let mut s = db.session();
    s.execute("CREATE TABLE t(a INTEGER, b TEXT)").unwrap();
    s.execute("INSERT INTO t VALUES (1, 'x'), (2, 'y'), (3, 'x')")
        .unwrap();
    let r = s
        .execute(
            "SELECT b, sum(ADD2(a, 10)) FROM t WHERE add2(a, a) > 2 GROUP BY b ORDER BY add2(0, 0), b",
        )
        .unwrap();
    assert_eq!(
        r.rows,
        vec![
            vec![Value::from("x"), Value::Integer(13)],
            vec![Value::from("y"), Value::Integer(12)]
        ]
    );
    let r = s.execute("SELECT joinall(), joinall(1, 'a', 2.5)").unwrap();
    assert_eq!(r.rows, vec![vec![Value::from(""), Value::from("1-a-2.5")]]);
    s.execute("UPDATE t SET a = add2(a, 100) WHERE b = 'y'")
        .unwrap();
    let r = s.execute("SELECT a FROM t WHERE b = 'y'").unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(102)]]);
}

#[test]
fn user_function_errors() {
    let db = db();
    let mut s = db.session();
    assert!(matches!(
        s.execute("SELECT add2(1)"),
        Err(Error::Semantic(_))
    ));
    assert!(matches!(
        s.execute("SELECT fails()"),
        Err(Error::Runtime(_))
    ));
    assert!(matches!(s.execute("SELECT nosuch(1)"), Err(Error::Name(_))));
    // Built-ins cannot be replaced.
    let e = db
        .register_scalar_function("upper", Arity::Exact(1), true, |a| Ok(a[0].clone()))
        .unwrap_err();
    assert!(matches!(e, Error::Name(_)));
    // A panicking function is an error, not a crash.
    db.register_scalar_function("boom", Arity::Exact(0), false, |_| panic!("boom"))
        .unwrap();
    assert!(matches!(s.execute("SELECT boom()"), Err(Error::Runtime(_))));
}
