//! A correlated subquery whose rowid range is empty (lower bound above the upper bound) must
//! scan nothing inside an explicit transaction, where the statement's buffered writes are
//! merged with the scan (that merge used to panic in `BTreeMap::range`).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use toondb_query::{Database, Value};

fn run(db: &Database) {
    let mut s = db.session();
    s.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, x INTEGER)")
        .unwrap();
    s.execute("INSERT INTO t(x) VALUES (1), (2), (3)").unwrap();
    s.execute("BEGIN").unwrap();
    s.execute(
        "UPDATE t SET x = (SELECT count(*) FROM t u WHERE u.id > t.id + 100 AND u.id < t.id)",
    )
    .unwrap();
    let r = s.execute("SELECT x FROM t ORDER BY id").unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(0)]; 3]);
    s.execute("COMMIT").unwrap();
}

#[test]
fn inverted_rowid_range_in_explicit_transaction_on_storage() {
    run(&Database::open_in_memory().unwrap());
}

#[test]
fn inverted_rowid_range_in_explicit_transaction_on_mem_backend() {
    run(&Database::open_mem());
}
