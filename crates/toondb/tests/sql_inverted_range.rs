//! `Transaction::execute` merges a statement's buffered writes into scans; an empty (inverted)
//! key range must scan nothing instead of panicking in `BTreeMap::range`.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use toondb::{params, Database};

#[test]
fn update_with_inverted_range_subquery_in_transaction() {
    let db = Database::open_in_memory().unwrap();
    db.execute(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, x INTEGER)",
        params![],
    )
    .unwrap();
    db.execute("INSERT INTO t(x) VALUES (1), (2), (3)", params![])
        .unwrap();
    let mut tx = db.begin().unwrap();
    tx.execute(
        "UPDATE t SET x = (SELECT count(*) FROM t u WHERE u.id > t.id + 100 AND u.id < t.id)",
        params![],
    )
    .unwrap();
    // Also scan over a range holding the transaction's own writes.
    tx.execute("INSERT INTO t(x) VALUES (7)", params![])
        .unwrap();
    let rows = tx
        .query("SELECT x FROM t WHERE id >= 3 ORDER BY id", params![])
        .unwrap();
    let xs: Vec<i64> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    assert_eq!(xs, vec![0, 7]);
    tx.commit().unwrap();
    let n: i64 = db
        .query_row("SELECT sum(x) FROM t", params![])
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(n, 7);
}
