//! Triggers: persisted across close/reopen, atomic with their statement (RAISE(ABORT) leaves
//! no partial writes), RAISE(ROLLBACK) ends the transaction, typed errors for bad input.
#![allow(clippy::unwrap_used)] // test code

use toondb_query::{Database, Error, ErrorClass, RaiseKind, Session, Value};

fn rows(s: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    s.execute(sql).unwrap().rows
}

fn ints(s: &mut Session, sql: &str) -> Vec<i64> {
    rows(s, sql)
        .into_iter()
        .map(|r| r[0].to_i64().unwrap())
        .collect()
}

#[test]
fn trigger_survives_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        let engine =
            toondb_storage::Engine::open(dir.path(), toondb_storage::Options::default()).unwrap();
        (Database::from_engine(engine.clone()), engine)
    };
    {
        let (db, engine) = open();
        let mut s = db.session();
        s.execute(
            "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER);
             CREATE TABLE audit(id, v);
             CREATE TRIGGER t_ai AFTER INSERT ON t WHEN new.v > 0
             BEGIN INSERT INTO audit VALUES (new.id, new.v * 10); END;
             INSERT INTO t(v) VALUES (1), (-1)",
        )
        .unwrap();
        assert_eq!(ints(&mut s, "SELECT v FROM audit"), vec![10]);
        drop(s);
        drop(db);
        engine.close().unwrap();
    }
    let (db, engine) = open();
    let mut s = db.session();
    s.execute("INSERT INTO t(v) VALUES (5)").unwrap();
    assert_eq!(ints(&mut s, "SELECT v FROM audit ORDER BY v"), vec![10, 50]);
    // Dropped after reopen, it stays dropped.
    s.execute("DROP TRIGGER t_ai").unwrap();
    s.execute("INSERT INTO t(v) VALUES (6)").unwrap();
    assert_eq!(ints(&mut s, "SELECT count(*) FROM audit"), vec![2]);
    drop(s);
    drop(db);
    engine.close().unwrap();
}

#[test]
fn raise_abort_leaves_no_partial_writes() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute(
        "CREATE TABLE t(n INTEGER);
         CREATE TABLE side(n INTEGER);
         CREATE TRIGGER t_bi BEFORE INSERT ON t BEGIN
           INSERT INTO side VALUES (new.n);
           SELECT RAISE(ABORT, 'n too big') WHERE new.n > 2;
         END",
    )
    .unwrap();
    // Rows 1 and 2 are written (with their side rows) before row 3 aborts the statement.
    let e = s
        .execute("INSERT INTO t VALUES (1), (2), (3), (4)")
        .unwrap_err();
    match &e {
        Error::Raise { kind, message } => {
            assert_eq!(*kind, RaiseKind::Abort);
            assert_eq!(message, "n too big");
        }
        other => panic!("expected Error::Raise, got {other:?}"),
    }
    assert_eq!(e.class(), ErrorClass::Constraint);
    assert_eq!(e.to_string(), "n too big");
    assert_eq!(ints(&mut s, "SELECT count(*) FROM t"), vec![0]);
    assert_eq!(ints(&mut s, "SELECT count(*) FROM side"), vec![0]);

    // Inside an explicit transaction the failed statement is undone, the transaction's
    // earlier work stays.
    s.execute("BEGIN; INSERT INTO t VALUES (1)").unwrap();
    assert!(s.execute("INSERT INTO t VALUES (2), (9)").is_err());
    assert!(s.in_transaction());
    s.execute("COMMIT").unwrap();
    assert_eq!(ints(&mut s, "SELECT n FROM t"), vec![1]);
    assert_eq!(ints(&mut s, "SELECT n FROM side"), vec![1]);
}

#[test]
fn raise_rollback_ends_the_transaction() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute(
        "CREATE TABLE t(n INTEGER);
         CREATE TRIGGER t_bi BEFORE INSERT ON t WHEN new.n < 0
         BEGIN SELECT RAISE(ROLLBACK, 'negative'); END",
    )
    .unwrap();
    s.execute("BEGIN; INSERT INTO t VALUES (1)").unwrap();
    let e = s.execute("INSERT INTO t VALUES (-1)").unwrap_err();
    assert!(matches!(
        e,
        Error::Raise {
            kind: RaiseKind::Rollback,
            ..
        }
    ));
    assert!(!s.in_transaction());
    assert_eq!(ints(&mut s, "SELECT count(*) FROM t"), vec![0]);
}

#[test]
fn raise_outside_a_trigger_is_a_typed_error() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    let e = s.execute("SELECT RAISE(ABORT, 'x')").unwrap_err();
    assert!(matches!(e, Error::Semantic(_)), "{e:?}");
    s.execute("CREATE TABLE t(a)").unwrap();
    let e = s
        .execute("CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT RAISE(ABORT, 'a' || 'b'); END")
        .unwrap_err();
    assert!(matches!(e, Error::Syntax { .. }), "{e:?}");
}

#[test]
fn bad_trigger_definitions_are_typed_errors() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("CREATE TABLE t(a, b); CREATE VIEW v AS SELECT a FROM t")
        .unwrap();
    let cases: &[(&str, ErrorClass)] = &[
        (
            "CREATE TRIGGER x AFTER INSERT ON nope BEGIN SELECT 1; END",
            ErrorClass::NotFound,
        ),
        (
            "CREATE TRIGGER x INSTEAD OF INSERT ON t BEGIN SELECT 1; END",
            ErrorClass::InvalidArgument,
        ),
        (
            "CREATE TRIGGER x BEFORE DELETE ON v BEGIN SELECT 1; END",
            ErrorClass::InvalidArgument,
        ),
        (
            "CREATE TRIGGER x AFTER UPDATE OF nope ON t BEGIN SELECT 1; END",
            ErrorClass::NotFound,
        ),
        (
            "CREATE TRIGGER x AFTER INSERT ON t FOR EACH STATEMENT BEGIN SELECT 1; END",
            ErrorClass::Unsupported,
        ),
        (
            "CREATE TEMP TRIGGER x AFTER INSERT ON nope BEGIN SELECT 1; END",
            ErrorClass::NotFound,
        ),
        (
            "CREATE TRIGGER x AFTER INSERT ON t BEGIN CREATE TABLE u(a); END",
            ErrorClass::InvalidArgument,
        ),
        (
            "CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT ?; END",
            ErrorClass::InvalidArgument,
        ),
        ("DROP TRIGGER nope", ErrorClass::NotFound),
    ];
    for (sql, class) in cases {
        let e = s.execute(sql).unwrap_err();
        assert_eq!(e.class(), *class, "{sql}: {e}");
    }
    s.execute("CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 1; END")
        .unwrap();
    let e = s
        .execute("CREATE TRIGGER x AFTER DELETE ON t BEGIN SELECT 1; END")
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::AlreadyExists);
    s.execute("CREATE TRIGGER IF NOT EXISTS x AFTER DELETE ON t BEGIN SELECT 1; END")
        .unwrap();
}

#[test]
fn triggers_follow_a_renamed_table_and_die_with_it() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute(
        "CREATE TABLE t(a); CREATE TABLE log(a);
         CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.a);
           UPDATE t SET a = a + 0 WHERE a = new.a; END",
    )
    .unwrap();
    s.execute("ALTER TABLE t RENAME TO u; INSERT INTO u VALUES (7)")
        .unwrap();
    assert_eq!(ints(&mut s, "SELECT a FROM log"), vec![7]);
    s.execute("DROP TABLE u").unwrap();
    assert!(s.execute("DROP TRIGGER t_ai").is_err());
}

#[test]
fn instead_of_triggers_make_a_view_writable() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
         CREATE VIEW tv AS SELECT id, v FROM t;
         CREATE TRIGGER tv_i INSTEAD OF INSERT ON tv BEGIN INSERT INTO t VALUES (new.id, new.v); END;
         CREATE TRIGGER tv_u INSTEAD OF UPDATE ON tv BEGIN UPDATE t SET v = new.v WHERE id = old.id; END;
         CREATE TRIGGER tv_d INSTEAD OF DELETE ON tv BEGIN DELETE FROM t WHERE id = old.id; END",
    )
    .unwrap();
    let r = s
        .execute("INSERT INTO tv VALUES (1, 'a'), (2, 'b')")
        .unwrap();
    // As in SQLite, rows handled by INSTEAD OF triggers do not count as changes.
    assert_eq!(r.rows_affected, 0);
    s.execute("UPDATE tv SET v = v || '!' WHERE id = 2; DELETE FROM tv WHERE id = 1")
        .unwrap();
    assert_eq!(
        rows(&mut s, "SELECT id, v FROM t"),
        vec![vec![Value::Integer(2), Value::from("b!")]]
    );
    s.execute("DROP TRIGGER tv_d").unwrap();
    assert!(s.execute("DELETE FROM tv").is_err());
}

#[test]
fn prepared_statements_fire_triggers_and_see_new_triggers() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("CREATE TABLE t(a); CREATE TABLE log(a)").unwrap();
    let ins = s.prepare("INSERT INTO t VALUES (?1)").unwrap();
    s.execute_prepared(&ins, &[Value::Integer(1)]).unwrap();
    s.execute(
        "CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.a * 2); END",
    )
    .unwrap();
    s.execute_prepared(&ins, &[Value::Integer(2)]).unwrap();
    assert_eq!(ints(&mut s, "SELECT a FROM log"), vec![4]);
}

#[test]
fn temp_triggers_belong_to_their_session() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    let mut b = db.session();
    a.execute(
        "CREATE TABLE t(x); CREATE TABLE log(who, x);
         CREATE TRIGGER keep AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('keep', new.x); END;
         CREATE TEMP TRIGGER mine AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('mine', new.x); END",
    )
    .unwrap();
    // Another session does not see the TEMP trigger: it may reuse the name, and its
    // statements do not fire it.
    b.execute("CREATE TEMP TRIGGER mine AFTER DELETE ON t BEGIN SELECT 1; END")
        .unwrap();
    b.execute("DROP TRIGGER mine; INSERT INTO t VALUES (1)")
        .unwrap();
    a.execute("INSERT INTO t VALUES (2)").unwrap();
    assert_eq!(
        rows(&mut a, "SELECT who, x FROM log ORDER BY x, who"),
        vec![
            vec![Value::from("keep"), Value::Integer(1)],
            // TEMP triggers fire before the table's stored ones.
            vec![Value::from("keep"), Value::Integer(2)],
            vec![Value::from("mine"), Value::Integer(2)],
        ]
    );
    let e = a
        .execute("CREATE TRIGGER mine AFTER DELETE ON t BEGIN SELECT 1; END")
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::AlreadyExists);
    drop(a);
    let mut c = db.session();
    c.execute("INSERT INTO t VALUES (3)").unwrap();
    assert_eq!(
        ints(&mut c, "SELECT count(*) FROM log WHERE x = 3"),
        vec![1]
    );
    assert!(c.execute("DROP TRIGGER mine").is_err());
    // DROP TABLE drops the session's TEMP triggers on it.
    c.execute("CREATE TEMP TRIGGER t2 AFTER INSERT ON t BEGIN SELECT 1; END; DROP TABLE t")
        .unwrap();
    c.execute("CREATE TABLE t(x)").unwrap();
    assert!(c.execute("DROP TRIGGER t2").is_err());
}

#[test]
fn raise_fail_keeps_the_rows_written_before_it() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute(
        "CREATE TABLE t(n INTEGER);
         CREATE TABLE side(n INTEGER);
         CREATE TRIGGER t_bi BEFORE INSERT ON t BEGIN
           INSERT INTO side VALUES (new.n);
           SELECT RAISE(FAIL, 'stop') WHERE new.n = 3;
         END",
    )
    .unwrap();
    let e = s
        .execute("INSERT INTO t VALUES (1), (2), (3), (4)")
        .unwrap_err();
    assert!(matches!(
        e,
        Error::Raise {
            kind: RaiseKind::Fail,
            ..
        }
    ));
    // As in SQLite: rows 1 and 2 stay, and so do the trigger writes before the RAISE.
    assert_eq!(ints(&mut s, "SELECT n FROM t ORDER BY n"), vec![1, 2]);
    assert_eq!(ints(&mut s, "SELECT n FROM side ORDER BY n"), vec![1, 2, 3]);
    // The same inside an explicit transaction, which stays open.
    s.execute("BEGIN").unwrap();
    assert!(s.execute("INSERT INTO t VALUES (5), (3)").is_err());
    assert!(s.in_transaction());
    s.execute("ROLLBACK").unwrap();
    assert_eq!(ints(&mut s, "SELECT count(*) FROM t"), vec![2]);
}

#[test]
fn temp_triggers_are_never_stored() {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        let engine =
            toondb_storage::Engine::open(dir.path(), toondb_storage::Options::default()).unwrap();
        (Database::from_engine(engine.clone()), engine)
    };
    {
        let (db, engine) = open();
        let mut s = db.session();
        s.execute(
            "CREATE TABLE t(x); CREATE TABLE log(x);
             CREATE TEMP TRIGGER tmp AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.x); END;
             ALTER TABLE t RENAME TO u; ALTER TABLE u RENAME COLUMN x TO y;
             CREATE TABLE v(x); DROP TABLE v",
        )
        .unwrap();
        drop(s);
        drop(db);
        engine.close().unwrap();
    }
    let (db, engine) = open();
    let mut s = db.session();
    s.execute("INSERT INTO u VALUES (1)").unwrap();
    assert_eq!(ints(&mut s, "SELECT count(*) FROM log"), vec![0]);
    assert!(s.execute("DROP TRIGGER tmp").is_err());
    drop(s);
    drop(db);
    engine.close().unwrap();
}

#[test]
fn long_cascades_run_without_exhausting_the_stack() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    let n = 150;
    let mut script = String::new();
    for i in 0..=n {
        script.push_str(&format!("CREATE TABLE c{i}(x);"));
    }
    for i in 0..n {
        script.push_str(&format!(
            "CREATE TRIGGER c{i}_ai AFTER INSERT ON c{i} BEGIN INSERT INTO c{} VALUES (new.x + 1); END;",
            i + 1
        ));
    }
    s.execute(&script).unwrap();
    s.execute("INSERT INTO c0 VALUES (0)").unwrap();
    assert_eq!(ints(&mut s, &format!("SELECT x FROM c{n}")), vec![n]);
}
