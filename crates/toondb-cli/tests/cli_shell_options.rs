//! sqlite3/duckdb command-line conventions of `toondb shell` and `toondb sql`: `-c`
//! (repeatable), `-cmd`, `-bail`, `-readonly`, a FILE argument, stdin, `--param`, output
//! mode flags, and `:memory:`.

mod common;
use common::{fails, ok, run_in, stderr, stdout};

fn toondb(dir: &std::path::Path, args: &[&str], stdin: &str) -> std::process::Output {
    run_in(dir, args, stdin)
}

fn setup() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db").to_str().expect("utf8").to_string();
    ok(&toondb(
        dir.path(),
        &[
            "sql",
            &db,
            "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT); \
             INSERT INTO t(name) VALUES ('Ada'), ('Bob')",
        ],
        "",
    ));
    (dir, db)
}

#[test]
fn dash_c_runs_each_command_in_order_and_exits() {
    let (dir, db) = setup();
    let o = toondb(
        dir.path(),
        &[
            "shell",
            &db,
            "-c",
            "INSERT INTO t(name) VALUES ('Cy')",
            "-c",
            ".mode csv",
            "-c",
            "SELECT id, name FROM t ORDER BY id",
        ],
        // Ignored: -c runs its commands and exits.
        "SELECT 'stdin is not read';\n",
    );
    assert_eq!(ok(&o), "1 row affected\nid,name\n1,Ada\n2,Bob\n3,Cy\n");
}

#[test]
fn dash_cmd_runs_before_the_input() {
    let (dir, db) = setup();
    let o = toondb(
        dir.path(),
        &["shell", &db, "-cmd", ".mode json", "-cmd", ".headers off"],
        "SELECT name FROM t WHERE id = 2;\n",
    );
    let v: serde_json::Value = serde_json::from_str(&ok(&o)).expect("json");
    assert_eq!(v, serde_json::json!([{"name": "Bob"}]));
}

#[test]
fn bail_stops_at_the_first_error() {
    let (dir, db) = setup();
    let input = "INSERT INTO t(name) VALUES ('one');\nSELECT * FROM nope;\nINSERT INTO t(name) VALUES ('two');\n";
    let o = toondb(dir.path(), &["shell", &db, "-bail"], input);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: line 2: no such table: nope\n\
         error: 1 command failed (stopped at the first error: -bail)\n"
    );
    // Without -bail the shell goes on.
    let o = toondb(dir.path(), &["shell", &db], input);
    assert_eq!(o.status.code(), Some(1));
    let out = ok(&toondb(
        dir.path(),
        &[
            "sql",
            &db,
            "SELECT name FROM t WHERE id > 2 ORDER BY id",
            "-csv",
        ],
        "",
    ));
    assert_eq!(out, "name\none\none\ntwo\n");
}

#[test]
fn readonly_refuses_writes_and_does_not_create() {
    let (dir, db) = setup();
    let o = toondb(
        dir.path(),
        &[
            "shell",
            &db,
            "-readonly",
            "-c",
            "SELECT count(*) AS n FROM t",
            "-c",
            "DELETE FROM t",
            "-c",
            ".import x.csv t",
        ],
        "",
    );
    assert_eq!(stdout(&o), "n\n-\n2\n(1 row)\n");
    let err = stderr(&o);
    assert!(
        err.contains(
            "error: -c:1: read-only: the database was opened with -readonly; DELETE statements are refused"
        ),
        "{err}"
    );
    assert!(err.contains(".import is refused"), "{err}");
    let e = fails(&toondb(
        dir.path(),
        &["sql", &db, "--readonly", "UPDATE t SET name = 'x'"],
        "",
    ));
    assert!(e.contains("UPDATE statements are refused"), "{e}");
    let out = ok(&toondb(
        dir.path(),
        &["sql", &db, "SELECT name FROM t ORDER BY id", "-csv"],
        "",
    ));
    assert_eq!(out, "name\nAda\nBob\n");
    // A missing database is not created read-only.
    let missing = dir.path().join("missing");
    let e = fails(&toondb(
        dir.path(),
        &[
            "shell",
            missing.to_str().expect("utf8"),
            "-readonly",
            "-c",
            "SELECT 1",
        ],
        "",
    ));
    assert!(e.contains("not a ToonDB database"), "{e}");
    assert!(!missing.exists());
}

#[test]
fn file_argument_and_stdin() {
    let (dir, db) = setup();
    let script = dir.path().join("s.sql");
    std::fs::write(
        &script,
        ".mode csv\nSELECT name\n  FROM t\n  ORDER BY id;\n",
    )
    .expect("write");
    let o = toondb(
        dir.path(),
        &["shell", &db, script.to_str().expect("utf8")],
        "",
    );
    assert_eq!(ok(&o), "name\nAda\nBob\n");
    // `-` is stdin.
    let o = toondb(
        dir.path(),
        &["shell", &db, "-"],
        ".mode csv\nSELECT count(*) AS n FROM t;\n",
    );
    assert_eq!(ok(&o), "n\n2\n");
    // A missing file is an error before any database is created.
    let fresh = dir.path().join("fresh");
    let e = fails(&toondb(
        dir.path(),
        &["shell", fresh.to_str().expect("utf8"), "no-such.sql"],
        "",
    ));
    assert!(e.starts_with("error: no-such.sql: "), "{e}");
    assert!(!fresh.exists());
    // Errors in a file name the file and line.
    std::fs::write(&script, "SELECT 1;\n\n  SELECT * FROM nope;\n").expect("write");
    let o = toondb(
        dir.path(),
        &["shell", &db, script.to_str().expect("utf8")],
        "",
    );
    assert!(
        stderr(&o).starts_with(&format!(
            "error: {}:3: no such table: nope\n",
            script.display()
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn parameters_from_the_command_line() {
    let (dir, db) = setup();
    let o = toondb(
        dir.path(),
        &[
            "sql",
            &db,
            "SELECT name FROM t WHERE id = ? OR name = ?2",
            "-p",
            "1",
            "--param",
            "'Bob'",
            "-csv",
        ],
        "",
    );
    assert_eq!(ok(&o), "name\nAda\nBob\n");
    let o = toondb(
        dir.path(),
        &[
            "shell",
            &db,
            "-p",
            "Ada",
            "-c",
            "SELECT id FROM t WHERE name = ?1",
            "-csv",
        ],
        "",
    );
    assert_eq!(ok(&o), "id\n1\n");
    let e = fails(&toondb(
        dir.path(),
        &["sql", &db, "SELECT ?1, ?2", "-p", "1"],
        "",
    ));
    assert!(e.contains("uses 2 parameters but ?2 is not set"), "{e}");
}

#[test]
fn memory_database_creates_no_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = toondb(
        dir.path(),
        &[
            "shell",
            ":memory:",
            "-c",
            "CREATE TABLE m(x); INSERT INTO m VALUES (7); SELECT x FROM m",
        ],
        "",
    );
    assert_eq!(ok(&o), "1 row affected\nx\n-\n7\n(1 row)\n");
    // Without a path, the shell is in memory too.
    let o = toondb(dir.path(), &["shell", "-c", "SELECT 1 AS one", "-csv"], "");
    assert_eq!(ok(&o), "one\n1\n");
    let o = toondb(
        dir.path(),
        &["sql", ":memory:", "SELECT 2 AS two", "-csv"],
        "",
    );
    assert_eq!(ok(&o), "two\n2\n");
    // Nothing was written to the working directory or the sandbox.
    assert!(!std::path::Path::new(":memory:").exists());
    assert_eq!(std::fs::read_dir(dir.path()).expect("read").count(), 0);
}

#[test]
fn mode_flags_and_noheader() {
    let (dir, db) = setup();
    let q = "SELECT id, name FROM t ORDER BY id";
    let run = |flags: &[&str]| {
        let mut args = vec!["sql", db.as_str(), q];
        args.extend_from_slice(flags);
        ok(&toondb(dir.path(), &args, ""))
    };
    assert_eq!(run(&["-csv", "-noheader"]), "1,Ada\n2,Bob\n");
    assert_eq!(
        run(&["--mode", "markdown"]),
        "| id | name |\n|---:|------|\n|  1 | Ada  |\n|  2 | Bob  |\n"
    );
    assert_eq!(
        run(&["-line"]),
        "  id = 1\nname = Ada\n\n  id = 2\nname = Bob\n"
    );
    assert!(run(&["-box"]).starts_with("┌────┬──────┐\n│ id │ name │\n"));
}
