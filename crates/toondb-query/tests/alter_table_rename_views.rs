//! `ALTER TABLE c RENAME TO cc` keeps views over `c` working: they follow the table (as
//! SQLite does), including references qualified with the old name, joins and subqueries.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use toondb_query::{Database, Value};

#[test]
fn views_follow_a_renamed_table() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("CREATE TABLE c(id INTEGER PRIMARY KEY, name TEXT)")
        .unwrap();
    s.execute("CREATE TABLE o(id INTEGER PRIMARY KEY, c_id INTEGER)")
        .unwrap();
    s.execute("INSERT INTO c VALUES (1, 'ann'), (2, 'bob')")
        .unwrap();
    s.execute("INSERT INTO o VALUES (10, 1), (11, 1), (12, 2)")
        .unwrap();
    s.execute("CREATE VIEW v1 AS SELECT c.name FROM c WHERE c.id = 1")
        .unwrap();
    s.execute(
        "CREATE VIEW v2 AS SELECT x.name, count(*) AS n FROM c x JOIN o ON o.c_id = x.id GROUP BY x.name",
    )
    .unwrap();
    s.execute(
        "CREATE VIEW v3 AS SELECT id FROM o WHERE c_id IN (SELECT id FROM c WHERE name = 'bob')",
    )
    .unwrap();
    s.execute("CREATE VIEW other AS SELECT id FROM o").unwrap();
    s.execute("ALTER TABLE c RENAME TO cc").unwrap();

    let r = s.execute("SELECT * FROM v1").unwrap();
    assert_eq!(r.rows, vec![vec![Value::from("ann")]]);
    let r = s.execute("SELECT * FROM v2 ORDER BY name").unwrap();
    assert_eq!(
        r.rows,
        vec![
            vec![Value::from("ann"), Value::Integer(2)],
            vec![Value::from("bob"), Value::Integer(1)]
        ]
    );
    let r = s.execute("SELECT * FROM v3").unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(12)]]);
    let r = s.execute("SELECT count(*) FROM other").unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(3)]]);
    // The old name is free again; the views keep using the renamed table.
    s.execute("CREATE TABLE c(z)").unwrap();
    let r = s.execute("SELECT * FROM v1").unwrap();
    assert_eq!(r.rows, vec![vec![Value::from("ann")]]);
    // Renaming inside a transaction that rolls back leaves the views as they were.
    s.execute("BEGIN").unwrap();
    s.execute("ALTER TABLE cc RENAME TO c3").unwrap();
    assert_eq!(s.execute("SELECT * FROM v1").unwrap().rows.len(), 1);
    s.execute("ROLLBACK").unwrap();
    assert_eq!(s.execute("SELECT * FROM v1").unwrap().rows.len(), 1);
}
