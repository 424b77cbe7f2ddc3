//! SQL through `Database`: parameters, typed access, errors, iteration.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use toondb::{params, Database, ErrorKind, Value};

fn db() -> Database {
    let db = Database::open_in_memory().unwrap();
    db.execute(
        "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, score REAL, photo BLOB)",
        params![],
    )
    .unwrap();
    db
}

#[test]
fn params_and_typed_access() {
    let db = db();
    let n = db
        .execute(
            "INSERT INTO people(name, age, score, photo) VALUES (?, ?, ?, ?), (?, ?, ?, ?)",
            params![
                "ada",
                36u8,
                9.5f32,
                vec![1u8, 2, 3],
                "bob",
                None::<i64>,
                7,
                b"x".as_slice()
            ],
        )
        .unwrap();
    assert_eq!(n, 2);
    let rows = db
        .query(
            "SELECT id, name, age, score, photo FROM people ORDER BY id",
            params![],
        )
        .unwrap();
    assert_eq!(rows.columns(), ["id", "name", "age", "score", "photo"]);
    assert_eq!(rows.len(), 2);
    let ada = &rows[0];
    assert_eq!(ada.get::<i64>("id").unwrap(), 1);
    assert_eq!(ada.get::<String>(1).unwrap(), "ada");
    assert_eq!(ada.get::<u8>("age").unwrap(), 36);
    assert_eq!(ada.get::<f64>("score").unwrap(), 9.5);
    assert_eq!(ada.get::<Vec<u8>>("photo").unwrap(), vec![1, 2, 3]);
    assert_eq!(
        ada.get::<Value>("NAME").unwrap(),
        Value::Text("ada".into()),
        "names match case-insensitively"
    );
    let bob = &rows[1];
    assert_eq!(bob.get::<Option<i64>>("age").unwrap(), None);
    assert_eq!(
        bob.get::<f64>("score").unwrap(),
        7.0,
        "integers widen to f64"
    );

    // Wrong type, out of range, unknown column.
    let e = ada.get::<i64>("name").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(
        e.to_string().contains("cannot convert TEXT to i64") || e.to_string().contains("to i64"),
        "{e}"
    );
    assert_eq!(
        bob.get::<i64>("age").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    db.execute("UPDATE people SET age = 300 WHERE id = 1", params![])
        .unwrap();
    let r = db
        .query_row("SELECT age FROM people WHERE id = 1", params![])
        .unwrap();
    assert_eq!(
        r.get::<u8>(0).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(r.get::<i16>(0).unwrap(), 300);
    assert_eq!(r.get::<i64>(5).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(
        r.get::<i64>("nope").unwrap_err().kind(),
        ErrorKind::NotFound
    );

    // Slice params work as well as the macro.
    let p = [Value::Text("ada".into())];
    assert_eq!(
        db.query("SELECT id FROM people WHERE name = ?", &p)
            .unwrap()[0]
            .get::<i64>(0)
            .unwrap(),
        1
    );
    // u64 beyond i64 becomes REAL rather than wrapping.
    assert_eq!(
        toondb::ToValue::to_value(&u64::MAX),
        Value::Real(u64::MAX as f64)
    );
}

#[test]
fn iteration_and_rows_affected() {
    let db = db();
    for i in 0..10 {
        db.execute(
            "INSERT INTO people(name, age) VALUES (?, ?)",
            params![format!("p{i}"), i],
        )
        .unwrap();
    }
    let rows = db
        .query(
            "SELECT name, age FROM people WHERE age >= ? ORDER BY age",
            params![5],
        )
        .unwrap();
    let ages: Vec<i64> = rows.iter().map(|r| r.get("age").unwrap()).collect();
    assert_eq!(ages, vec![5, 6, 7, 8, 9]);
    let names: Vec<String> = rows.into_iter().map(|r| r.get(0).unwrap()).collect();
    assert_eq!(names[0], "p5");
    assert_eq!(
        db.execute("UPDATE people SET age = age + 1 WHERE age < 3", params![])
            .unwrap(),
        3
    );
    assert_eq!(
        db.execute("DELETE FROM people WHERE age > 7", params![])
            .unwrap(),
        2
    );
    assert_eq!(
        db.query_row("SELECT count(*) FROM people", params![])
            .unwrap()
            .get::<i64>(0)
            .unwrap(),
        8
    );
    assert_eq!(
        db.query_row("SELECT name FROM people WHERE age > 100", params![])
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn sql_errors_are_classified() {
    let db = db();
    assert_eq!(
        db.execute("SELEC 1", params![]).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        db.query("SELECT * FROM missing", params![])
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        db.execute("INSERT INTO people(name) VALUES (NULL)", params![])
            .unwrap_err()
            .kind(),
        ErrorKind::Constraint
    );
    assert_eq!(
        db.execute("CREATE TABLE people(x)", params![])
            .unwrap_err()
            .kind(),
        ErrorKind::AlreadyExists
    );
    // BEGIN through the pooled connection is refused and leaves no transaction behind.
    assert_eq!(
        db.execute("BEGIN", params![]).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    db.execute("INSERT INTO people(name) VALUES ('after')", params![])
        .unwrap();
    let db2 = db.clone();
    assert_eq!(
        db2.query_row("SELECT count(*) FROM people", params![])
            .unwrap()
            .get::<i64>(0)
            .unwrap(),
        1
    );
}

#[test]
fn sql_persists_across_reopen_and_threads_share_a_database() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", params![])
            .unwrap();
        std::thread::scope(|s| {
            for t in 0..4 {
                let db = db.clone();
                s.spawn(move || {
                    for i in 0..10 {
                        db.execute("INSERT INTO t(v) VALUES (?)", params![format!("{t}-{i}")])
                            .unwrap();
                    }
                });
            }
        });
        db.close().unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(
        db.query_row("SELECT count(DISTINCT v) FROM t", params![])
            .unwrap()
            .get::<i64>(0)
            .unwrap(),
        40
    );
}
