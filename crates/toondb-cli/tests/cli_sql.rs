//! `toondb sql` end to end: DDL, DML and queries in the three output formats, multiple
//! statements, transactions, and error reporting.

mod common;
use common::{fails, ok, run_in, sql};

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("test setup");
    let db = dir.path().join("db");
    let out = ok(&sql(
        &db,
        "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL);
         INSERT INTO t(name, score) VALUES ('Ada', 2.5), ('Bob', NULL), ('Cy', 10);",
        "table",
    ));
    assert_eq!(out, "3 rows affected\n");
    (dir, db)
}

const Q: &str = "SELECT id, name, score FROM t ORDER BY id";

#[test]
fn table_format() {
    let (_d, db) = setup();
    let out = ok(&sql(&db, Q, "table"));
    assert_eq!(
        out,
        "id | name | score\n---+------+------\n 1 | Ada  |   2.5\n 2 | Bob  | NULL\n 3 | Cy   |  10.0\n(3 rows)\n"
    );
}

#[test]
fn json_format() {
    let (_d, db) = setup();
    let out = ok(&sql(&db, Q, "json"));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v,
        serde_json::json!([
            {"id": 1, "name": "Ada", "score": 2.5},
            {"id": 2, "name": "Bob", "score": null},
            {"id": 3, "name": "Cy", "score": 10.0}
        ])
    );
    let dml = ok(&sql(
        &db,
        "UPDATE t SET score = 0 WHERE score IS NULL",
        "json",
    ));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&dml).unwrap(),
        serde_json::json!({"rows_affected": 1})
    );
}

#[test]
fn toon_format_decodes_to_the_same_rows() {
    let (_d, db) = setup();
    let out = ok(&sql(&db, Q, "toon"));
    assert_eq!(
        out,
        "[3]{id,name,score}:\n  1,Ada,2.5\n  2,Bob,null\n  3,Cy,10\n"
    );
    let back = toondb_toon::decode_to_json(out.trim_end(), &toondb_toon::DecodeOptions::default())
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&ok(&sql(&db, Q, "json"))).unwrap();
    // JSON numbers compare by value (TOON writes 10.0 as 10).
    assert_eq!(numbers_as_f64(back), numbers_as_f64(json));
}

fn numbers_as_f64(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Number(n) => serde_json::json!(n.as_f64().expect("test setup")),
        serde_json::Value::Array(a) => a.into_iter().map(numbers_as_f64).collect(),
        serde_json::Value::Object(m) => {
            m.into_iter().map(|(k, v)| (k, numbers_as_f64(v))).collect()
        }
        v => v,
    }
}

#[test]
fn data_persists_across_invocations_and_each_statement_prints() {
    let (_d, db) = setup();
    let out = ok(&sql(
        &db,
        "SELECT count(*) AS n FROM t; SELECT max(id) AS m FROM t",
        "table",
    ));
    assert_eq!(out, "n\n-\n3\n(1 row)\nm\n-\n3\n(1 row)\n");
}

#[test]
fn explicit_transactions() {
    let (_d, db) = setup();
    ok(&sql(
        &db,
        "BEGIN; DELETE FROM t; ROLLBACK; BEGIN; INSERT INTO t(name) VALUES ('Di'); COMMIT",
        "table",
    ));
    let out = ok(&sql(&db, "SELECT count(*) AS n FROM t", "json"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        serde_json::json!([{"n": 4}])
    );
    // A transaction left open is rolled back and reported, exactly as the piped shell
    // does (same message, same exit status).
    let e = fails(&sql(&db, "BEGIN; DELETE FROM t", "table"));
    let msg = "error: the transaction left open at the end of the input was rolled back \
               (1 statement since BEGIN discarded)";
    assert_eq!(e, msg);
    let o = run_in(
        db.parent().unwrap(),
        &["shell", db.to_str().unwrap()],
        "BEGIN;\nDELETE FROM t;\n",
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(fails(&o), msg);
    let out = ok(&sql(&db, "SELECT count(*) AS n FROM t", "json"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        serde_json::json!([{"n": 4}])
    );
}

#[test]
fn sql_from_stdin() {
    let (dir, db) = setup();
    let o = run_in(
        dir.path(),
        &["sql", db.to_str().unwrap(), "-", "--format", "json"],
        "SELECT name FROM t WHERE id = 2;\n",
    );
    let v: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(v, serde_json::json!([{"name": "Bob"}]));
    // Without SQL and with a pipe on stdin, stdin is read too.
    let o = run_in(
        dir.path(),
        &["sql", db.to_str().unwrap(), "--format", "json"],
        "SELECT name FROM t WHERE id = 1;\n",
    );
    let v: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(v, serde_json::json!([{"name": "Ada"}]));
}

#[test]
fn dash_f_reads_a_file_not_a_format() {
    let (dir, db) = setup();
    let script = dir.path().join("q.sql");
    std::fs::write(&script, "SELECT name\n  FROM t\n  WHERE id = 3;\n").unwrap();
    let o = run_in(
        dir.path(),
        &[
            "sql",
            db.to_str().unwrap(),
            "-f",
            script.to_str().unwrap(),
            "-json",
        ],
        "",
    );
    let v: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(v, serde_json::json!([{"name": "Cy"}]));
    // An error in the file names the file and its line.
    std::fs::write(&script, "SELECT 1;\n\nSELECT * FROM nope;\n").unwrap();
    let e = fails(&run_in(
        dir.path(),
        &["sql", db.to_str().unwrap(), "-f", script.to_str().unwrap()],
        "",
    ));
    assert_eq!(
        e,
        format!("error: {}:3: no such table: nope", script.display())
    );
}

#[test]
fn errors_are_one_line_with_nonzero_exit() {
    let (_d, db) = setup();
    let e = fails(&sql(&db, "SELEC 1", "table"));
    assert!(e.contains("syntax"), "{e}");
    let e = fails(&sql(&db, "SELECT * FROM missing", "table"));
    assert!(e.contains("missing"), "{e}");
    let e = fails(&sql(&db, "   ", "table"));
    assert!(e.contains("no SQL"), "{e}");
    // Statements before the failing one have run; the one after has not.
    let e = fails(&sql(&db, "INSERT INTO t(name) VALUES ('E'); INSERT INTO nope VALUES (1); INSERT INTO t(name) VALUES ('F')", "table"));
    assert!(e.contains("nope"), "{e}");
    let out = ok(&sql(
        &db,
        "SELECT name FROM t WHERE id > 3 ORDER BY id",
        "json",
    ));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        serde_json::json!([{"name": "E"}])
    );
}

#[test]
fn refuses_a_directory_that_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let e = fails(&sql(&dir.path().join("."), "SELECT 1", "table"));
    assert!(e.contains("not a ToonDB database"), "{e}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing may be created"
    );
    let e = fails(&run_in(
        dir.path(),
        &[
            "sql",
            dir.path().to_str().unwrap(),
            "SELECT 1",
            "--format",
            "xml",
        ],
        "",
    ));
    assert!(e.contains("xml"), "{e}");
}
