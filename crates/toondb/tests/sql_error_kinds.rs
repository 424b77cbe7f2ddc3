//! Every SQL error reaches callers with the right [`toondb::ErrorKind`] (the edges map this
//! kind to gRPC codes and SDK exception classes).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use toondb::{params, Database, ErrorKind};

fn kind_of(db: &Database, sql: &str) -> ErrorKind {
    db.query(sql, params![]).unwrap_err().kind()
}

#[test]
fn sql_errors_have_their_kinds() {
    let db = Database::open_in_memory().unwrap();
    db.execute(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, x INTEGER UNIQUE)",
        params![],
    )
    .unwrap();
    db.execute("INSERT INTO t(x) VALUES (1)", params![])
        .unwrap();
    // A misused aggregate is a semantic error: the caller's fault, not an internal one.
    assert_eq!(
        kind_of(&db, "SELECT x FROM t WHERE count(*) > 1"),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        kind_of(&db, "SELECT sum(x, x) FROM t"),
        ErrorKind::InvalidArgument
    );
    assert_eq!(kind_of(&db, "SELEC 1"), ErrorKind::InvalidArgument);
    assert_eq!(kind_of(&db, "SELECT * FROM nope"), ErrorKind::NotFound);
    assert_eq!(kind_of(&db, "CREATE TABLE t(a)"), ErrorKind::AlreadyExists);
    assert_eq!(
        kind_of(&db, "INSERT INTO t(x) VALUES (1)"),
        ErrorKind::Constraint
    );
    assert_eq!(kind_of(&db, "SAVEPOINT sp"), ErrorKind::Unsupported);
}
