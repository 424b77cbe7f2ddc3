//! `ALTER TABLE ... DROP COLUMN` / `RENAME COLUMN` and `VACUUM` through a session: the typed
//! errors of SQLite's refusals, rows rewritten without the column (indexes on later columns
//! keep working), and the result surviving a reopen of the storage engine.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use toondb_query::{Database, Error, Value};

fn open(dir: &std::path::Path) -> Database {
    Database::from_engine(
        toondb_storage::Engine::open(dir, toondb_storage::Options::default()).unwrap(),
    )
}

#[test]
fn dropped_column_is_gone_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path());
        let mut s = db.session();
        s.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INTEGER, c TEXT)")
            .unwrap();
        s.execute("CREATE INDEX t_c ON t(c)").unwrap();
        s.execute("INSERT INTO t VALUES (1, 'x', 10, 'p'), (2, 'y', 20, 'q'), (3, NULL, 30, NULL)")
            .unwrap();
        s.execute("ALTER TABLE t ADD COLUMN d DEFAULT 'dd'")
            .unwrap();
        s.execute("ALTER TABLE t DROP COLUMN a").unwrap();
        s.execute("ALTER TABLE t RENAME COLUMN b TO bee").unwrap();
    }
    let db = open(dir.path());
    let mut s = db.session();
    let r = s.execute("SELECT * FROM t ORDER BY id").unwrap();
    let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "bee", "c", "d"]);
    assert_eq!(
        r.rows[1],
        vec![
            Value::Integer(2),
            Value::Integer(20),
            Value::from("q"),
            Value::from("dd")
        ]
    );
    // The index on c (now at position 2) still finds its rows.
    let r = s.execute("SELECT id FROM t WHERE c = 'q'").unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(2)]]);
    let r = s.execute("PRAGMA table_info(t)").unwrap();
    assert_eq!(r.rows.len(), 4);
}

#[test]
fn refusals_are_typed_errors_and_change_nothing() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, u TEXT UNIQUE, i INTEGER, v INTEGER)")
        .unwrap();
    s.execute("CREATE INDEX t_i ON t(i)").unwrap();
    s.execute("CREATE VIEW tv AS SELECT v FROM t").unwrap();
    s.execute("INSERT INTO t VALUES (1, 'a', 2, 3)").unwrap();
    for (col, want) in [
        ("id", "cannot drop PRIMARY KEY column"),
        ("u", "cannot drop UNIQUE column"),
        ("i", "error in index t_i after drop column"),
        ("v", "error in view tv after drop column"),
    ] {
        let e = s
            .execute(&format!("ALTER TABLE t DROP COLUMN {col}"))
            .unwrap_err();
        assert!(matches!(e, Error::Semantic(_)), "{col}: {e:?}");
        assert!(e.to_string().contains(want), "{col}: {e}");
    }
    let e = s.execute("ALTER TABLE t DROP COLUMN nope").unwrap_err();
    assert!(matches!(e, Error::Name(_)), "{e:?}");
    s.execute("CREATE TABLE one(x)").unwrap();
    let e = s.execute("ALTER TABLE one DROP COLUMN x").unwrap_err();
    assert!(e.to_string().contains("no other columns exist"), "{e}");
    let r = s.execute("SELECT * FROM t").unwrap();
    assert_eq!(r.rows[0].len(), 4, "refused drops leave the rows alone");
}

#[test]
fn drop_column_in_a_transaction_rolls_back() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("CREATE TABLE t(a, b)").unwrap();
    s.execute("INSERT INTO t VALUES (1, 2)").unwrap();
    s.execute("BEGIN").unwrap();
    s.execute("ALTER TABLE t DROP COLUMN b").unwrap();
    assert_eq!(s.execute("SELECT * FROM t").unwrap().rows[0].len(), 1);
    s.execute("ROLLBACK").unwrap();
    assert_eq!(
        s.execute("SELECT * FROM t").unwrap().rows,
        vec![vec![Value::Integer(1), Value::Integer(2)]]
    );
}

#[test]
fn vacuum_is_refused_inside_a_transaction() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("CREATE TABLE t(a)").unwrap();
    s.execute("VACUUM").unwrap();
    s.execute("BEGIN").unwrap();
    let e = s.execute("VACUUM").unwrap_err();
    assert!(matches!(e, Error::Transaction(_)), "{e:?}");
    s.execute("COMMIT").unwrap();
    assert!(matches!(
        s.execute("VACUUM INTO 'x.db'").unwrap_err(),
        Error::Unsupported(_)
    ));
    assert!(matches!(
        s.execute("VACUUM other").unwrap_err(),
        Error::Semantic(_)
    ));
}
