//! Parameter-count errors use correct plurals ("expects 1 parameter", "1 parameter given").
#![allow(clippy::unwrap_used)]

use toondb_query::{Database, Error, Value};

#[test]
fn parameter_count_messages_use_correct_plurals() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    let msg = |r: toondb_query::Result<toondb_query::QueryResult>| match r {
        Err(Error::Param(m)) => m,
        other => panic!("expected a parameter error, got {other:?}"),
    };
    assert_eq!(
        msg(s.execute_with("SELECT ?", &[])),
        "statement expects 1 parameter, 0 given"
    );
    assert_eq!(
        msg(s.execute_with("SELECT ?, ?", &[])),
        "statement expects 2 parameters, 0 given"
    );
    assert_eq!(
        msg(s.execute_with("SELECT 1", &[Value::Integer(1)])),
        "1 parameter given, but the statement uses 0"
    );
    let p = s.prepare("SELECT ?1").unwrap();
    assert_eq!(
        msg(s.execute_prepared(&p, &[])),
        "statement expects 1 parameter, 0 given"
    );
}
