//! Integration tests of the SQL engine on toondb-storage.
#![allow(clippy::unwrap_used)] // test helpers

use toondb_query::{to_json, to_table, Database, Error, QueryResult, Session, Value};

fn db() -> (Database, Session) {
    let db = Database::open_in_memory().unwrap();
    let s = db.session();
    (db, s)
}

fn rows(s: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}")).rows
}

fn explain(s: &mut Session, sql: &str) -> String {
    rows(s, &format!("EXPLAIN {sql}"))
        .into_iter()
        .map(|r| r[0].to_text_lossy())
        .collect::<Vec<_>>()
        .join("\n")
}

fn i(v: i64) -> Value {
    Value::Integer(v)
}

fn setup(s: &mut Session) {
    s.execute(
        "CREATE TABLE emp(id INTEGER PRIMARY KEY, name TEXT NOT NULL, dept INT, salary REAL);
         CREATE INDEX emp_dept ON emp(dept);
         CREATE TABLE dept(id INTEGER PRIMARY KEY, title TEXT UNIQUE);
         INSERT INTO dept VALUES (1, 'eng'), (2, 'ops'), (3, 'empty');
         INSERT INTO emp(name, dept, salary) VALUES
           ('ann', 1, 100.0), ('bob', 1, 80.0), ('cid', 2, 50.0), ('dan', NULL, 10.0), ('eve', 2, NULL);",
    )
    .unwrap();
}

/// Automatic rowids follow SQLite: one more than the largest present (so the largest is
/// reused after it is deleted), never reused with AUTOINCREMENT, which only an INTEGER
/// PRIMARY KEY may carry.
#[test]
fn automatic_rowids_match_sqlite() {
    let (_db, mut s) = db();
    for (table, after_delete) in [("plain", 3), ("auto", 4)] {
        let decl = if table == "auto" {
            " AUTOINCREMENT"
        } else {
            ""
        };
        s.execute(&format!(
            "CREATE TABLE {table}(id INTEGER PRIMARY KEY{decl}, v);
             INSERT INTO {table}(v) VALUES (1), (2), (3);
             DELETE FROM {table} WHERE id = 3;"
        ))
        .unwrap();
        let r = s
            .execute(&format!("INSERT INTO {table}(v) VALUES (4) RETURNING id"))
            .unwrap();
        assert_eq!(r.rows, vec![vec![i(after_delete)]], "{table}");
        assert_eq!(r.last_insert_rowid, Some(after_delete), "{table}");
        // Inside a transaction the pending rows count.
        s.execute(&format!("BEGIN; INSERT INTO {table}(id, v) VALUES (10, 0)"))
            .unwrap();
        let r = s
            .execute(&format!("INSERT INTO {table}(v) VALUES (5) RETURNING id"))
            .unwrap();
        assert_eq!(r.rows, vec![vec![i(11)]], "{table}");
        s.execute("ROLLBACK").unwrap();
    }
    let e = s
        .execute("CREATE TABLE bad(x TEXT PRIMARY KEY AUTOINCREMENT)")
        .unwrap_err();
    assert!(
        e.to_string().contains("AUTOINCREMENT is only allowed"),
        "{e}"
    );
    // Empty table: rowid 1.
    s.execute("CREATE TABLE e(id INTEGER PRIMARY KEY, v); INSERT INTO e(v) VALUES (1)")
        .unwrap();
    assert_eq!(rows(&mut s, "SELECT id FROM e"), vec![vec![i(1)]]);
}

/// A join whose outer side is a point lookup probes the inner table by rowid or index
/// instead of reading all of it; a join of two full scans still hashes.
#[test]
fn explain_index_nested_loop_join() {
    let (_db, mut s) = db();
    setup(&mut s);
    let p = explain(
        &mut s,
        "SELECT e.name, d.title FROM emp e JOIN dept d ON d.id = e.dept WHERE e.id = 3",
    );
    assert!(p.contains("IndexJoin Inner dept AS d rowid = #2"), "{p}");
    let p = explain(
        &mut s,
        "SELECT e.name FROM dept d LEFT JOIN emp e ON e.dept = d.id WHERE d.id = 1",
    );
    assert!(
        p.contains("IndexJoin Left emp AS e USING INDEX emp_dept (dept)"),
        "{p}"
    );
    let p = explain(
        &mut s,
        "SELECT e.name FROM emp e JOIN dept d ON d.id = e.dept",
    );
    assert!(p.contains("HashJoin"), "{p}");
    assert_eq!(
        rows(
            &mut s,
            "SELECT e.name FROM dept d LEFT JOIN emp e ON e.dept = d.id AND e.salary > 90 WHERE d.id IN (1, 3) ORDER BY 1"
        ),
        vec![vec![Value::Null], vec![Value::Text("ann".into())]]
    );
}

/// ORDER BY served by rowid or index order: no Sort node, the scan runs in the right
/// direction, LIMIT stops it; anything the order cannot serve keeps its sort.
#[test]
fn explain_order_by_uses_rowid_and_index_order() {
    let (_db, mut s) = db();
    setup(&mut s);
    let p = explain(&mut s, "SELECT id, name FROM emp ORDER BY id DESC LIMIT 2");
    assert!(p.contains("SeqScan emp DESC") && !p.contains("Sort"), "{p}");
    let p = explain(&mut s, "SELECT name FROM emp ORDER BY dept DESC LIMIT 2");
    assert!(
        p.contains("IndexScan emp USING INDEX emp_dept (dept) DESC") && !p.contains("Sort"),
        "{p}"
    );
    // Without LIMIT a full scan plus sort is cheaper than an index walk with a lookup per row.
    let p = explain(&mut s, "SELECT name FROM emp ORDER BY dept");
    assert!(p.contains("SeqScan emp") && p.contains("Sort"), "{p}");
    // An index range already chosen for WHERE delivers its order for free.
    let p = explain(&mut s, "SELECT name FROM emp WHERE dept > 0 ORDER BY dept");
    assert!(p.contains("IndexScan") && !p.contains("Sort"), "{p}");
    // NULLS LAST ascending is not the index order (NULL sorts first there); mixed directions
    // and expressions are not either.
    for q in [
        "SELECT name FROM emp ORDER BY dept NULLS LAST LIMIT 2",
        "SELECT name FROM emp ORDER BY dept, id DESC LIMIT 2",
        "SELECT name FROM emp ORDER BY dept + 0 LIMIT 2",
        "SELECT dept, count(*) FROM emp GROUP BY dept ORDER BY dept LIMIT 2",
    ] {
        let p = explain(&mut s, q);
        assert!(p.contains("Sort"), "{q}\n{p}");
    }
    assert_eq!(
        rows(&mut s, "SELECT name FROM emp ORDER BY dept DESC LIMIT 3"),
        // Ties come out of a backward index walk in descending rowid order, as in SQLite.
        vec![
            vec![Value::Text("eve".into())],
            vec![Value::Text("cid".into())],
            vec![Value::Text("bob".into())]
        ]
    );
    assert_eq!(
        rows(&mut s, "SELECT name FROM emp ORDER BY dept LIMIT 2"),
        vec![
            vec![Value::Text("dan".into())],
            vec![Value::Text("ann".into())]
        ]
    );
}

#[test]
fn explain_shows_index_and_join_choices() {
    let (_db, mut s) = db();
    setup(&mut s);
    let p = explain(&mut s, "SELECT name FROM emp WHERE dept = 2");
    assert!(p.contains("IndexScan emp USING INDEX emp_dept"), "{p}");
    let p = explain(&mut s, "SELECT name FROM emp WHERE dept > 1 AND dept <= 2");
    assert!(p.contains("IndexScan") && p.contains("range"), "{p}");
    let p = explain(&mut s, "SELECT name FROM emp WHERE id = 3");
    assert!(p.contains("RowidLookup"), "{p}");
    let p = explain(&mut s, "SELECT name FROM emp WHERE id BETWEEN 2 AND 4");
    assert!(p.contains("RowidRangeScan"), "{p}");
    let p = explain(&mut s, "SELECT name FROM emp WHERE salary > 20");
    assert!(p.contains("SeqScan emp"), "{p}");
    let p = explain(&mut s, "SELECT title FROM dept WHERE title = 'ops'");
    assert!(
        p.contains("IndexScan dept USING INDEX sqlite_autoindex_dept_1"),
        "{p}"
    );
    let p = explain(
        &mut s,
        "SELECT e.name, d.title FROM emp e, dept d WHERE e.dept = d.id AND d.title = 'eng'",
    );
    assert!(p.contains("HashJoin"), "{p}");
    // The filtered (smaller) side is the build side.
    assert!(p.contains("build=right"), "{p}");
    // Greedy join order: the rowid-filtered dept is the first input, then connected tables.
    let p = explain(
        &mut s,
        "SELECT e.name FROM emp e, emp f, dept d WHERE e.dept = d.id AND f.dept = e.dept AND d.id = 1",
    );
    let first = p
        .lines()
        .find(|l| l.contains("Scan") || l.contains("Lookup"))
        .unwrap();
    assert!(
        first.contains("dept AS d") && first.contains("RowidLookup"),
        "{p}"
    );
    // From the one dept row, both emp inputs are reached through the emp_dept index.
    assert_eq!(p.matches("IndexJoin Inner").count(), 2, "{p}");
    assert_eq!(
        rows(&mut s, "SELECT e.name, f.name FROM emp e, emp f, dept d WHERE e.dept = d.id AND f.dept = e.dept AND d.id = 1 ORDER BY 1, 2").len(),
        4
    );
    let p = explain(&mut s, "UPDATE emp SET salary = 1 WHERE dept = 1");
    assert!(p.contains("IndexScan"), "{p}");
    // Index scans return the same rows as full scans.
    let a = rows(&mut s, "SELECT name FROM emp WHERE dept = 1 ORDER BY name");
    let b = rows(
        &mut s,
        "SELECT name FROM emp WHERE dept + 0 = 1 ORDER BY name",
    );
    assert_eq!(a, b);
    assert_eq!(a.len(), 2);
    // Type affinity: text literal compared to an INTEGER column through the index.
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM emp WHERE dept = '1'"),
        vec![vec![i(2)]]
    );
}

#[test]
fn joins_group_by_and_set_ops() {
    let (_db, mut s) = db();
    setup(&mut s);
    assert_eq!(
        rows(&mut s, "SELECT d.title, count(e.id) FROM dept d LEFT JOIN emp e ON e.dept = d.id GROUP BY d.title ORDER BY 1"),
        vec![
            vec![Value::from("empty"), i(0)],
            vec![Value::from("eng"), i(2)],
            vec![Value::from("ops"), i(2)],
        ]
    );
    assert_eq!(
        rows(&mut s, "SELECT dept, sum(salary), avg(salary), max(name) FROM emp GROUP BY dept HAVING count(*) > 1 ORDER BY dept DESC"),
        vec![
            vec![i(2), Value::Real(50.0), Value::Real(50.0), Value::from("eve")],
            vec![i(1), Value::Real(180.0), Value::Real(90.0), Value::from("bob")],
        ]
    );
    assert_eq!(
        rows(&mut s, "SELECT id FROM dept EXCEPT SELECT dept FROM emp"),
        vec![vec![i(3)]]
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT dept FROM emp UNION SELECT id FROM dept ORDER BY 1 LIMIT 2 OFFSET 1"
        ),
        vec![vec![i(1)], vec![i(2)]]
    );
    assert_eq!(
        rows(&mut s, "SELECT name FROM emp e WHERE salary > (SELECT avg(salary) FROM emp x WHERE x.dept = e.dept) ORDER BY name"),
        vec![vec![Value::from("ann")]]
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT title FROM dept d WHERE NOT EXISTS (SELECT 1 FROM emp WHERE emp.dept = d.id)"
        ),
        vec![vec![Value::from("empty")]]
    );
    assert_eq!(
        rows(&mut s, "SELECT group_concat(DISTINCT dept) FROM emp"),
        vec![vec![Value::from("1,2")]]
    );
}

#[test]
fn null_three_valued_logic() {
    let (_db, mut s) = db();
    let r = rows(
        &mut s,
        "SELECT NULL = NULL, NULL <> 1, NULL AND 0, NULL OR 1, NULL AND 1, NOT NULL,
                1 IN (NULL, 1), 2 IN (NULL, 1), 2 NOT IN (NULL, 1), NULL IS NULL, 1 IS NOT NULL,
                NULL BETWEEN 0 AND 1, coalesce(NULL, NULL, 3), nullif(2, 2), 5 / 0, 5 % 0",
    );
    let n = Value::Null;
    assert_eq!(
        r[0],
        vec![
            n.clone(),
            n.clone(),
            i(0),
            i(1),
            n.clone(),
            n.clone(),
            i(1),
            n.clone(),
            n.clone(),
            i(1),
            i(1),
            n.clone(),
            i(3),
            n.clone(),
            n.clone(),
            n
        ]
    );
    s.execute("CREATE TABLE t(a INT); INSERT INTO t VALUES (3), (NULL), (1)")
        .unwrap();
    assert_eq!(
        rows(&mut s, "SELECT a FROM t ORDER BY a"),
        vec![vec![Value::Null], vec![i(1)], vec![i(3)]]
    );
    assert_eq!(
        rows(&mut s, "SELECT a FROM t ORDER BY a DESC"),
        vec![vec![i(3)], vec![i(1)], vec![Value::Null]]
    );
    assert_eq!(
        rows(&mut s, "SELECT count(a), count(*), sum(a), min(a) FROM t"),
        vec![vec![i(2), i(3), i(4), i(1)]]
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT count(*) FROM t WHERE a NOT IN (SELECT a FROM t WHERE a = 1)"
        ),
        vec![vec![i(1)]]
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT count(*) FROM t WHERE a NOT IN (SELECT a FROM t)"
        ),
        vec![vec![i(0)]]
    );
    assert_eq!(
        rows(&mut s, "SELECT sum(a) FROM t WHERE a > 100"),
        vec![vec![Value::Null]]
    );
    assert_eq!(
        rows(&mut s, "SELECT total(a) FROM t WHERE a > 100"),
        vec![vec![Value::Real(0.0)]]
    );
}

#[test]
fn integer_overflow_and_types() {
    let (_db, mut s) = db();
    let r = rows(&mut s, "SELECT 9223372036854775807 + 1, typeof(1), typeof(1.5), typeof('x'), typeof(NULL), typeof(x'00'), CAST('12abc' AS INTEGER), 7 / 2, 7.0 / 2");
    assert_eq!(
        r[0],
        vec![
            Value::Real(9.223_372_036_854_776e18),
            Value::from("integer"),
            Value::from("real"),
            Value::from("text"),
            Value::from("null"),
            Value::from("blob"),
            i(12),
            i(3),
            Value::Real(3.5)
        ]
    );
    assert!(matches!(
        s.execute("SELECT abs(-9223372036854775808)"),
        Err(Error::Runtime(_))
    ));
    s.execute("CREATE TABLE big(a INTEGER); INSERT INTO big VALUES (9223372036854775807), (1)")
        .unwrap();
    let e = s.execute("SELECT sum(a) FROM big").unwrap_err();
    assert!(e.to_string().contains("integer overflow"), "{e}");
    assert_eq!(
        rows(&mut s, "SELECT total(a) > 0 FROM big"),
        vec![vec![i(1)]]
    );
    // Affinity on insert.
    s.execute("CREATE TABLE aff(i INTEGER, r REAL, t TEXT, b BLOB); INSERT INTO aff VALUES ('42', 3, 7, '8')").unwrap();
    assert_eq!(
        rows(
            &mut s,
            "SELECT typeof(i), typeof(r), typeof(t), typeof(b) FROM aff"
        )[0],
        vec![
            Value::from("integer"),
            Value::from("real"),
            Value::from("text"),
            Value::from("text")
        ]
    );
}

#[test]
fn transactions_commit_rollback_and_isolation() {
    let (db, mut s) = db();
    s.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE)")
        .unwrap();
    s.execute("BEGIN").unwrap();
    assert!(s.in_transaction());
    s.execute("INSERT INTO t(v) VALUES ('a')").unwrap();
    let mut other = db.session();
    assert_eq!(rows(&mut other, "SELECT count(*) FROM t"), vec![vec![i(0)]]);
    assert_eq!(rows(&mut s, "SELECT count(*) FROM t"), vec![vec![i(1)]]);
    s.execute("ROLLBACK").unwrap();
    assert_eq!(rows(&mut s, "SELECT count(*) FROM t"), vec![vec![i(0)]]);

    s.execute("BEGIN; INSERT INTO t(v) VALUES ('b'); CREATE INDEX tv2 ON t(v);")
        .unwrap();
    // A failing statement inside a transaction leaves no partial effects but keeps the txn.
    let e = s
        .execute("INSERT INTO t(v) VALUES ('c'), ('b')")
        .unwrap_err();
    assert!(matches!(e, Error::Constraint(_)), "{e}");
    assert!(s.in_transaction());
    s.execute("COMMIT").unwrap();
    assert_eq!(
        rows(&mut other, "SELECT v FROM t"),
        vec![vec![Value::from("b")]]
    );
    assert!(rows(&mut other, "EXPLAIN SELECT * FROM t WHERE v = 'b'")
        .iter()
        .any(|r| r[0].to_text_lossy().contains("IndexScan")));

    assert!(matches!(s.execute("COMMIT"), Err(Error::Transaction(_))));
    s.execute("BEGIN").unwrap();
    assert!(matches!(s.execute("BEGIN"), Err(Error::Transaction(_))));
    s.execute("DROP TABLE t").unwrap();
    s.execute("ROLLBACK").unwrap();
    assert_eq!(rows(&mut s, "SELECT count(*) FROM t"), vec![vec![i(1)]]);
}

#[test]
fn write_write_conflict_is_reported() {
    let (db, mut a) = db();
    a.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, n INT); INSERT INTO t VALUES (1, 0)")
        .unwrap();
    let mut b = db.session();
    a.execute("BEGIN; UPDATE t SET n = n + 1 WHERE id = 1")
        .unwrap();
    b.execute("BEGIN; UPDATE t SET n = n + 10 WHERE id = 1")
        .unwrap();
    a.execute("COMMIT").unwrap();
    let e = b.execute("COMMIT").unwrap_err();
    assert!(e.is_conflict(), "{e}");
    assert_eq!(rows(&mut a, "SELECT n FROM t"), vec![vec![i(1)]]);
}

#[test]
fn concurrent_autocommit_inserts_do_not_fail() {
    let (db, mut s) = db();
    s.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, w INT)")
        .unwrap();
    let threads: Vec<_> = (0..4)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                let mut s = db.session();
                for _ in 0..25 {
                    s.execute_with("INSERT INTO t(w) VALUES (?)", &[i(w)])
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        rows(&mut s, "SELECT count(*), count(DISTINCT id) FROM t"),
        vec![vec![i(100), i(100)]]
    );
}

#[test]
fn prepared_statements_and_parameters() {
    let (_db, mut s) = db();
    setup(&mut s);
    let p = s
        .prepare("SELECT name FROM emp WHERE dept = ? AND salary > ? ORDER BY name")
        .unwrap();
    assert_eq!(p.param_count(), 2);
    let r = s.execute_prepared(&p, &[i(1), Value::Real(90.0)]).unwrap();
    assert_eq!(r.rows, vec![vec![Value::from("ann")]]);
    let r = s.execute_prepared(&p, &[i(2), i(0)]).unwrap();
    assert_eq!(r.rows, vec![vec![Value::from("cid")]]);
    assert!(matches!(
        s.execute_prepared(&p, &[i(1)]),
        Err(Error::Param(_))
    ));
    let r = s
        .execute_with("SELECT ?2 - ?1, $1", &[i(10), i(3)])
        .unwrap();
    assert_eq!(r.rows, vec![vec![i(-7), i(10)]]);
    let ins = s.prepare("INSERT INTO dept(title) VALUES ($1)").unwrap();
    assert_eq!(ins.param_count(), 1);
    let r = s.execute_prepared(&ins, &[Value::from("new")]).unwrap();
    assert_eq!((r.rows_affected, r.last_insert_rowid), (1, Some(4)));
    assert_eq!(
        rows(&mut s, "SELECT id FROM dept WHERE title = 'new'"),
        vec![vec![i(4)]]
    );
    // Cached plans are re-planned after DDL.
    let q = s.prepare("SELECT title FROM dept WHERE id = ?").unwrap();
    assert_eq!(
        s.execute_prepared(&q, &[i(2)]).unwrap().rows,
        vec![vec![Value::from("ops")]]
    );
    s.execute("DROP TABLE dept; CREATE TABLE dept(title TEXT, id INTEGER); INSERT INTO dept VALUES ('x', 2)").unwrap();
    assert_eq!(
        s.execute_prepared(&q, &[i(2)]).unwrap().rows,
        vec![vec![Value::from("x")]]
    );
    s.execute("DROP TABLE dept").unwrap();
    assert!(s.execute_prepared(&q, &[i(2)]).is_err());
    s.execute("CREATE TABLE dept(id INTEGER PRIMARY KEY, title TEXT); INSERT INTO dept VALUES (3, 'a'), (4, 'b'), (5, 'c')").unwrap();
    assert_eq!(
        s.execute_prepared(&q, &[i(4)]).unwrap().rows,
        vec![vec![Value::from("b")]]
    );
    let it = s
        .query_iter("SELECT id FROM dept WHERE id > ?", &[i(2)])
        .unwrap();
    assert_eq!(it.columns()[0].name, "id");
    assert_eq!(it.count(), 3);
}

#[test]
fn errors_are_descriptive_and_never_panic() {
    let (_db, mut s) = db();
    setup(&mut s);
    let e = s.execute("SELECT * FROM emp WHERE").unwrap_err();
    assert!(
        matches!(e, Error::Syntax { .. }) && e.to_string().contains("Line: 1"),
        "{e}"
    );
    let e = s.execute("SELECT nope FROM emp").unwrap_err();
    assert!(e.to_string().contains("no such column: nope"), "{e}");
    let e = s.execute("SELECT * FROM nope").unwrap_err();
    assert!(e.to_string().contains("no such table: nope"), "{e}");
    let e = s
        .execute("INSERT INTO emp(name) VALUES (NULL)")
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("NOT NULL constraint failed: emp.name"),
        "{e}"
    );
    let e = s
        .execute("INSERT INTO dept(title) VALUES ('eng')")
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("UNIQUE constraint failed: dept.title"),
        "{e}"
    );
    let e = s.execute("INSERT INTO dept VALUES (1, 'zzz')").unwrap_err();
    assert!(e.to_string().contains("UNIQUE constraint failed"), "{e}");
    assert!(s
        .execute("SELECT count(*) FROM emp GROUP BY count(*)")
        .is_err());
    assert!(s.execute("SELECT name FROM emp ORDER BY 5").is_err());
    assert!(s.execute("SELECT (SELECT id, title FROM dept)").is_err());
    assert!(s.execute("CREATE TABLE emp(x)").is_err());
    assert!(s.execute("DROP INDEX nope").is_err());
    assert!(s.execute("SELECT id FROM emp, dept").is_err()); // ambiguous
                                                             // Deep nesting is rejected, not a stack overflow.
    let deep = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(s.execute(&deep).is_err());
    let long = format!("SELECT 1{}", "+1".repeat(20000));
    assert!(s.execute(&long).is_err());
    for junk in [
        "",
        ";",
        "SELECT",
        "'",
        "SELECT 1 FROM (SELECT",
        "\u{0}",
        "INSERT INTO emp VALUES",
        "SELECT x'zz'",
    ] {
        let _ = s.execute(junk);
    }
    // The session still works.
    assert_eq!(rows(&mut s, "SELECT count(*) FROM emp"), vec![vec![i(5)]]);
}

#[test]
fn update_delete_keep_indexes_consistent() {
    let (_db, mut s) = db();
    setup(&mut s);
    s.execute("UPDATE emp SET dept = 3 WHERE dept = 1").unwrap();
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM emp WHERE dept = 1"),
        vec![vec![i(0)]]
    );
    assert_eq!(
        rows(&mut s, "SELECT name FROM emp WHERE dept = 3 ORDER BY 1"),
        vec![vec![Value::from("ann")], vec![Value::from("bob")]]
    );
    let r = s.execute("DELETE FROM emp WHERE dept = 3").unwrap();
    assert_eq!(r.rows_affected, 2);
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM emp WHERE dept = 3"),
        vec![vec![i(0)]]
    );
    s.execute("UPDATE emp SET id = id + 100").unwrap();
    assert_eq!(
        rows(&mut s, "SELECT min(id), max(id) FROM emp"),
        vec![vec![i(103), i(105)]]
    );
    s.execute("INSERT OR REPLACE INTO dept VALUES (1, 'ops')")
        .unwrap();
    assert_eq!(
        rows(&mut s, "SELECT id, title FROM dept ORDER BY id"),
        vec![
            vec![i(1), Value::from("ops")],
            vec![i(3), Value::from("empty")]
        ]
    );
    s.execute("INSERT OR IGNORE INTO dept VALUES (9, 'ops')")
        .unwrap();
    assert_eq!(rows(&mut s, "SELECT count(*) FROM dept"), vec![vec![i(2)]]);
}

#[test]
fn views_defaults_and_insert_select() {
    let (_db, mut s) = db();
    setup(&mut s);
    s.execute(
        "CREATE TABLE d2(id INTEGER PRIMARY KEY, title TEXT DEFAULT 'none', n INT DEFAULT (1 + 1))",
    )
    .unwrap();
    s.execute("INSERT INTO d2(id) VALUES (7)").unwrap();
    assert_eq!(
        rows(&mut s, "SELECT * FROM d2"),
        vec![vec![i(7), Value::from("none"), i(2)]]
    );
    s.execute("INSERT INTO d2(title) SELECT title FROM dept WHERE id < 3")
        .unwrap();
    assert_eq!(rows(&mut s, "SELECT count(*) FROM d2"), vec![vec![i(3)]]);
    s.execute("CREATE VIEW rich AS SELECT name, salary FROM emp WHERE salary >= 80")
        .unwrap();
    assert_eq!(
        rows(&mut s, "SELECT name FROM rich ORDER BY salary"),
        vec![vec![Value::from("bob")], vec![Value::from("ann")]]
    );
    assert!(s.execute("INSERT INTO rich VALUES ('x', 1)").is_err());
    s.execute("DROP VIEW rich").unwrap();
    assert!(s.execute("SELECT * FROM rich").is_err());
}

#[test]
fn common_table_expressions() {
    let (_db, mut s) = db();
    setup(&mut s);
    assert_eq!(
        rows(
            &mut s,
            "WITH d(dept_id, n) AS (SELECT dept, count(*) FROM emp GROUP BY dept),
                  big AS (SELECT dept_id FROM d WHERE n > 1)
             SELECT title FROM dept JOIN big ON big.dept_id = dept.id ORDER BY title"
        ),
        vec![vec![Value::from("eng")], vec![Value::from("ops")]]
    );
    // RECURSIVE without a recursive reference is an ordinary CTE (as in SQLite).
    assert_eq!(
        rows(&mut s, "WITH RECURSIVE r(n) AS (SELECT 1) SELECT * FROM r"),
        vec![vec![i(1)]]
    );
    // A CTE cannot refer to itself without RECURSIVE.
    assert!(s
        .execute("WITH x AS (SELECT * FROM x) SELECT * FROM x")
        .is_err());
}

#[test]
fn alter_table_add_and_rename() {
    let (_db, mut s) = db();
    setup(&mut s);
    s.execute("ALTER TABLE dept ADD COLUMN budget INTEGER DEFAULT 10")
        .unwrap();
    s.execute("ALTER TABLE dept ADD COLUMN note TEXT").unwrap();
    s.execute("INSERT INTO dept(title, budget) VALUES ('new', 99)")
        .unwrap();
    assert_eq!(
        rows(
            &mut s,
            "SELECT title, budget, note FROM dept WHERE id IN (1, 4) ORDER BY id"
        ),
        vec![
            vec![Value::from("eng"), i(10), Value::Null],
            vec![Value::from("new"), i(99), Value::Null]
        ]
    );
    assert!(s
        .execute("ALTER TABLE dept ADD COLUMN x INT NOT NULL")
        .is_err());
    s.execute("ALTER TABLE dept RENAME COLUMN title TO name")
        .unwrap();
    s.execute("ALTER TABLE dept RENAME TO team").unwrap();
    assert!(s.execute("SELECT * FROM dept").is_err());
    assert_eq!(
        rows(&mut s, "SELECT id FROM team WHERE name = 'ops'"),
        vec![vec![i(2)]]
    );
    let p = explain(&mut s, "SELECT id FROM team WHERE name = 'ops'");
    assert!(p.contains("IndexScan"), "{p}");
}

#[test]
fn formatters() {
    let (_db, mut s) = db();
    let r: QueryResult = s
        .execute("SELECT 1 AS a, 'x' AS b, NULL AS c, 2.5 AS d")
        .unwrap();
    let t = to_table(&r);
    assert!(t.starts_with("a | b | c    | d"), "{t}");
    assert!(t.contains("1 | x | NULL | 2.5"), "{t}");
    let j = to_json(&r);
    assert_eq!(
        j,
        serde_json::json!([{"a": 1, "b": "x", "c": null, "d": 2.5}])
    );
}

#[test]
fn data_and_catalog_persist_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine =
            toondb_storage::Engine::open(dir.path(), toondb_storage::Options::default()).unwrap();
        let db = Database::from_engine(engine.clone());
        let mut s = db.session();
        s.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX tv ON t(v); INSERT INTO t(v) VALUES ('a'), ('b')").unwrap();
        drop(s);
        drop(db);
        engine.close().unwrap();
    }
    let engine =
        toondb_storage::Engine::open(dir.path(), toondb_storage::Options::default()).unwrap();
    let db = Database::from_engine(engine);
    let mut s = db.session();
    assert_eq!(
        rows(&mut s, "SELECT id FROM t WHERE v = 'b'"),
        vec![vec![i(2)]]
    );
    s.execute("INSERT INTO t(v) VALUES ('c')").unwrap();
    assert_eq!(
        rows(&mut s, "SELECT id FROM t WHERE v = 'c'"),
        vec![vec![i(3)]]
    );
}

#[test]
fn key_prefix_isolates_sql_data_from_other_users_of_the_engine() {
    let engine =
        toondb_storage::Engine::open_in_memory(toondb_storage::Options::default()).unwrap();
    engine.put(b"\x00other", b"kv data").unwrap();
    engine.put(b"zzz", b"more kv data").unwrap();
    let db = Database::from_engine_with_prefix(engine.clone(), b"sql/");
    let mut s = db.session();
    setup(&mut s);
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM emp WHERE dept = 1"),
        vec![vec![i(2)]]
    );
    s.execute("DROP TABLE emp").unwrap();
    assert_eq!(engine.get(b"\x00other").unwrap(), Some(b"kv data".to_vec()));
    assert_eq!(engine.get(b"zzz").unwrap(), Some(b"more kv data".to_vec()));
    let keys: Vec<Vec<u8>> = engine
        .scan(
            std::ops::Bound::Unbounded,
            std::ops::Bound::Unbounded,
            toondb_storage::Direction::Forward,
        )
        .unwrap()
        .map(|r| r.unwrap().0)
        .collect();
    assert!(keys
        .iter()
        .all(|k| k.starts_with(b"sql/") || k == b"\x00other" || k == b"zzz"));
    // A second database on another prefix does not see these tables.
    let other = Database::from_engine_with_prefix(engine, b"sq2/");
    assert!(other.session().execute("SELECT * FROM dept").is_err());
}

#[test]
fn mem_backend_runs_the_same_sql() {
    let db = Database::open_mem();
    let mut s = db.session();
    setup(&mut s);
    assert_eq!(
        rows(
            &mut s,
            "SELECT count(*) FROM emp e JOIN dept d ON e.dept = d.id"
        ),
        vec![vec![i(4)]]
    );
}

#[test]
fn surplus_parameters_are_refused_not_ignored() {
    let (_db, mut s) = db();
    setup(&mut s);
    let before = rows(&mut s, "SELECT count(*) FROM dept");
    // One placeholder, two values: an error, and nothing is written.
    let e = s
        .execute_with(
            "INSERT INTO dept(title) VALUES (?)",
            &[Value::from("a"), i(7)],
        )
        .unwrap_err();
    assert!(
        matches!(e, Error::Param(ref m) if m.contains("2 parameters given")),
        "{e}"
    );
    assert_eq!(rows(&mut s, "SELECT count(*) FROM dept"), before);
    // No placeholder at all.
    assert!(matches!(
        s.execute_with("SELECT 1", &[i(1)]),
        Err(Error::Param(_))
    ));
    // Prepared statements too.
    let p = s.prepare("SELECT name FROM emp WHERE id = ?1").unwrap();
    assert!(matches!(
        s.execute_prepared(&p, &[i(1), i(2)]),
        Err(Error::Param(_))
    ));
    // Exact counts still work: numbered, repeated and per-statement numbering in a script
    // (every statement of a script sees the same values).
    assert_eq!(
        s.execute_with("SELECT ?1 + ?1, ?2", &[i(2), i(5)])
            .unwrap()
            .rows,
        vec![vec![i(4), i(5)]]
    );
    s.execute("CREATE TABLE log(msg TEXT)").unwrap();
    s.execute_with(
        "INSERT INTO log VALUES (?); INSERT INTO log VALUES (?)",
        &[Value::from("twice")],
    )
    .unwrap();
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM log WHERE msg = 'twice'"),
        vec![vec![i(2)]]
    );
}

#[test]
fn result_column_declared_types() {
    use toondb_query::DataType as D;
    let (_db, mut s) = db();
    s.execute(
        "CREATE TABLE a(id INTEGER PRIMARY KEY, name VARCHAR(20), score DOUBLE, flag BOOLEAN, u);
         CREATE TABLE b(aid INT, note TEXT);
         INSERT INTO a(name, score, flag, u) VALUES (NULL, NULL, NULL, 'text');
         INSERT INTO b VALUES (1, 'n');
         CREATE VIEW v AS SELECT name AS nm, score + 1 AS s1 FROM a;",
    )
    .unwrap();
    let cols = |s: &mut Session, sql: &str| -> Vec<(String, Option<String>, Option<D>, D)> {
        s.execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .columns
            .into_iter()
            .map(|c| (c.name, c.decl_type, c.static_ty, c.ty))
            .collect()
    };
    let d = |t: &str| Some(t.to_string());
    // Plain references (also `*`, aliases, qualified names): declared text and mapped type,
    // even though the first (only) row holds NULL there.
    assert_eq!(
        cols(&mut s, "SELECT a.*, name AS n2 FROM a"),
        vec![
            ("id".into(), d("INTEGER"), Some(D::Integer), D::Integer),
            ("name".into(), d("VARCHAR(20)"), Some(D::Text), D::Text),
            ("score".into(), d("DOUBLE"), Some(D::Real), D::Real),
            ("flag".into(), d("BOOLEAN"), Some(D::Boolean), D::Boolean),
            // No declared type: nothing static; `ty` falls back to the first value.
            ("u".into(), None, None, D::Text),
            ("n2".into(), d("VARCHAR(20)"), Some(D::Text), D::Text),
        ]
    );
    // Joins keep each side's declared types.
    assert_eq!(
        cols(
            &mut s,
            "SELECT b.note, a.score, b.aid FROM a JOIN b ON b.aid = a.id"
        ),
        vec![
            ("note".into(), d("TEXT"), Some(D::Text), D::Text),
            ("score".into(), d("DOUBLE"), Some(D::Real), D::Real),
            ("aid".into(), d("INT"), Some(D::Integer), D::Integer),
        ]
    );
    // CAST, count(*), literals: a static type but no declared type (as sqlite3_column_decltype).
    // Other expressions: neither; `ty` comes from the data (NULL stays NULL).
    assert_eq!(
        cols(
            &mut s,
            "SELECT CAST(score AS INTEGER), count(*), 'lit', 2.5, NULL, score + 1, upper(name) FROM a"
        ),
        vec![
            ("CAST(score AS INTEGER)".into(), None, Some(D::Integer), D::Integer),
            ("count(*)".into(), None, Some(D::Integer), D::Integer),
            ("'lit'".into(), None, Some(D::Text), D::Text),
            ("2.5".into(), None, Some(D::Real), D::Real),
            ("NULL".into(), None, None, D::Null),
            ("score + 1".into(), None, None, D::Null),
            ("upper(name)".into(), None, None, D::Null),
        ]
    );
    // Through a view and a subquery: references keep the declared type, expressions do not.
    assert_eq!(
        cols(&mut s, "SELECT nm, s1 FROM v"),
        vec![
            ("nm".into(), d("VARCHAR(20)"), Some(D::Text), D::Text),
            ("s1".into(), None, None, D::Null),
        ]
    );
    assert_eq!(
        cols(&mut s, "SELECT x.k FROM (SELECT note AS k FROM b) AS x"),
        vec![("k".into(), d("TEXT"), Some(D::Text), D::Text)]
    );
    // Compound SELECT: the left side's columns.
    assert_eq!(
        cols(&mut s, "SELECT name FROM a UNION ALL SELECT aid FROM b"),
        vec![("name".into(), d("VARCHAR(20)"), Some(D::Text), D::Text)]
    );
}
