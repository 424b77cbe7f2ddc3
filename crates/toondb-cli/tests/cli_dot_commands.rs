//! The shell's dot-commands: `.mode`, `.headers`, `.import`, `.output`/`.once`, `.dump`
//! (round trip into a fresh database), `.open`, `.parameter`, `.changes`, `.show`, `.help`.

mod common;
use common::{ok, run_in, stderr};

fn shell(dir: &std::path::Path, db: &str, input: &str) -> std::process::Output {
    run_in(dir, &["shell", db], input)
}

#[test]
fn modes_and_headers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = "\
CREATE TABLE t(id INTEGER, name TEXT);
INSERT INTO t VALUES (1, 'Ada'), (2, NULL);
.mode csv
SELECT * FROM t;
.headers off
SELECT * FROM t;
.headers on
.mode markdown
SELECT * FROM t;
.mode line
SELECT * FROM t WHERE id = 1;
.mode box
SELECT * FROM t WHERE id = 1;
.mode toon
SELECT * FROM t;
.mode
";
    let o = shell(dir.path(), ":memory:", input);
    assert_eq!(
        ok(&o),
        "2 rows affected\n\
         id,name\n1,Ada\n2,\n\
         1,Ada\n2,\n\
         | id | name |\n|---:|------|\n|  1 | Ada  |\n|  2 | NULL |\n\
         \x20 id = 1\nname = Ada\n\
         ┌────┬──────┐\n│ id │ name │\n├────┼──────┤\n│  1 │ Ada  │\n└────┴──────┘\n\
         [2]{id,name}:\n  1,Ada\n  2,null\n\
         toon\n"
    );
}

#[test]
fn help_lists_every_dot_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = ok(&shell(dir.path(), ":memory:", ".help\n"));
    for cmd in [
        ".bail",
        ".format",
        ".changes",
        ".collections",
        ".dump",
        ".exit",
        ".headers",
        ".help",
        ".import",
        ".indexes",
        ".mode",
        ".once",
        ".open",
        ".output",
        ".parameter",
        ".quit",
        ".read",
        ".schema",
        ".show",
        ".stats",
        ".tables",
        ".timer",
    ] {
        assert!(
            out.contains(&format!("{cmd} ")) || out.contains(&format!("{cmd}\n")),
            "{cmd} missing from .help:\n{out}"
        );
    }
    for mode in ["table", "box", "markdown", "csv", "line", "json", "toon"] {
        assert!(out.contains(mode), "mode {mode} missing from .help");
    }
}

#[test]
fn import_into_new_and_existing_tables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("p.csv");
    std::fs::write(&csv, "id,name\n1,Ada\n2,Bob\n").expect("write");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "id,name\n3,Cy\nx,Di\n").expect("write");
    let db = dir.path().join("db");
    let input = format!(
        ".import {csv} people\n.import {bad} people\n.import --coerce {bad} people\n\
         .mode csv\nSELECT id, typeof(id) AS ty, name FROM people ORDER BY name;\n",
        csv = csv.display(),
        bad = bad.display()
    );
    let o = shell(dir.path(), db.to_str().expect("utf8"), &input);
    assert_eq!(
        common::stdout(&o),
        "imported 2 rows into people (new table)\n\
         imported 2 rows into people\n\
         id,ty,name\n1,integer,Ada\n2,integer,Bob\n3,integer,Cy\nx,text,Di\n"
    );
    assert_eq!(
        stderr(&o),
        format!(
            "error: line 2: {}:3: column 1 (`id`): `x` does not fit people.id, declared INTEGER; \
             nothing was imported (pass --coerce to store such values as SQLite would)\n\
             error: 1 command failed\n",
            bad.display()
        )
    );
}

#[test]
fn output_and_once_redirect_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    let all = dir.path().join("all.txt");
    let one = dir.path().join("one.csv");
    let input = format!(
        ".mode csv\n.output {all}\nSELECT 1 AS a;\nSELECT 2 AS b;\n.output\nSELECT 3 AS c;\n\
         .once {one}\nSELECT 4 AS d;\nSELECT 5 AS e;\n",
        all = all.display(),
        one = one.display()
    );
    let o = shell(dir.path(), ":memory:", &input);
    assert_eq!(ok(&o), "c\n3\ne\n5\n");
    assert_eq!(std::fs::read_to_string(&all).expect("read"), "a\n1\nb\n2\n");
    assert_eq!(std::fs::read_to_string(&one).expect("read"), "d\n4\n");
}

#[test]
fn dump_round_trips_into_a_fresh_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    let setup = "\
CREATE TABLE a(id INTEGER PRIMARY KEY, s TEXT NOT NULL DEFAULT 'x', r REAL, b BLOB, u TEXT UNIQUE);
CREATE INDEX a_r ON a(r);
INSERT INTO a VALUES (1, 'it''s
two lines; -- not a comment', 0.1, X'00ff', 'u1'), (2, '', 1e300, NULL, NULL), (3, 'x', -2.5, x'', 'u3');
CREATE VIEW v AS SELECT id, s FROM a WHERE id > 1;
CREATE VIEW a_over_v AS SELECT count(*) AS n FROM v;
CREATE TABLE \"odd \"\"name\"(\"c c\" INTEGER, n);
INSERT INTO \"odd \"\"name\" VALUES (-9223372036854775808, 'text'), (7, 1.5);
CREATE TABLE log(msg TEXT);
CREATE TRIGGER a_ins AFTER INSERT ON a WHEN new.s <> 'quiet' BEGIN
  INSERT INTO log VALUES ('new; ' || new.id);
END;
CREATE TRIGGER v_upd INSTEAD OF UPDATE ON v BEGIN UPDATE a SET s = new.s WHERE id = old.id; END;
INSERT INTO a(s) VALUES ('logged');
";
    ok(&shell(dir.path(), src.to_str().expect("utf8"), setup));
    let dump = |db: &std::path::Path, args: &str| {
        ok(&run_in(
            dir.path(),
            &[
                "shell",
                db.to_str().expect("utf8"),
                "-c",
                &format!(".dump{args}"),
            ],
            "",
        ))
    };
    let text = dump(&src, "");
    assert!(
        text.starts_with("BEGIN TRANSACTION;\nCREATE TABLE \"a\" (\n"),
        "{text}"
    );
    assert!(text.ends_with("COMMIT;\n"), "{text}");
    // Load it into a fresh database: the dump of the copy is the same text, and so is
    // every row.
    let file = dir.path().join("dump.sql");
    std::fs::write(&file, &text).expect("write");
    let copy = dir.path().join("copy");
    ok(&run_in(
        dir.path(),
        &[
            "shell",
            copy.to_str().expect("utf8"),
            file.to_str().expect("utf8"),
        ],
        "",
    ));
    assert_eq!(dump(&copy, ""), text);
    for q in [
        "SELECT * FROM a ORDER BY id",
        "SELECT * FROM v ORDER BY id",
        "SELECT n FROM a_over_v",
        "SELECT * FROM \"odd \"\"name\" ORDER BY 1",
    ] {
        let rows = |db: &std::path::Path| ok(&common::sql(db, q, "json"));
        assert_eq!(rows(&src), rows(&copy), "{q}");
    }
    // The triggers came along (after the rows: loading the dump fired none of them).
    assert_eq!(
        ok(&common::sql(&copy, "SELECT msg FROM log", "csv")),
        "msg\nnew; 4\n"
    );
    ok(&common::sql(
        &copy,
        "INSERT INTO a(s) VALUES ('again')",
        "table",
    ));
    ok(&common::sql(
        &copy,
        "UPDATE v SET s = 'via view' WHERE id = 2",
        "table",
    ));
    assert_eq!(
        ok(&common::sql(
            &copy,
            "SELECT (SELECT count(*) FROM log), (SELECT s FROM a WHERE id = 2)",
            "csv"
        )),
        "(SELECT count(*) FROM log),(SELECT s FROM a WHERE id = 2)\n2,via view\n"
    );
    // The unique constraint and the index came along.
    let o = common::sql(&copy, "INSERT INTO a(s, u) VALUES ('y', 'u1')", "table");
    assert!(
        stderr(&o).contains("UNIQUE") || stderr(&o).contains("unique"),
        "{}",
        stderr(&o)
    );
    assert!(ok(&run_in(
        dir.path(),
        &["shell", copy.to_str().expect("utf8"), "-c", ".indexes a"],
        ""
    ))
    .contains("a_r"));
    // One table (or view) only, with its triggers, as sqlite3's `.dump NAME`.
    let one = dump(&src, " v");
    assert_eq!(
        one,
        "BEGIN TRANSACTION;\nCREATE VIEW \"v\" AS SELECT id, s FROM a WHERE id > 1;\n\
         CREATE TRIGGER v_upd INSTEAD OF UPDATE ON v BEGIN UPDATE a SET s = new.s WHERE id = old.id; END;\n\
         COMMIT;\n"
    );
}

#[test]
fn open_switches_databases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = dir.path().join("first");
    let second = dir.path().join("second");
    let input = format!(
        "CREATE TABLE one(x);\n.open {second}\n.tables\nCREATE TABLE two(x);\nBEGIN;\n\
         INSERT INTO two VALUES (1);\n.open {first}\n.tables\n.open :memory:\n.tables\n.show\n",
        second = second.display(),
        first = first.display()
    );
    let o = shell(dir.path(), first.to_str().expect("utf8"), &input);
    let out = ok(&o);
    assert!(out.starts_with("1 row affected\none\n"), "{out}");
    assert!(out.contains("   database: :memory:\n"), "{out}");
    assert_eq!(
        stderr(&o),
        "note: the transaction open on the previous database was rolled back \
         (1 statement since BEGIN discarded)\n"
    );
    let rows = ok(&common::sql(
        &second,
        "SELECT count(*) AS n FROM two",
        "csv",
    ));
    assert_eq!(rows, "n\n0\n");
}

#[test]
fn parameters_changes_and_show() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = "\
CREATE TABLE t(id INTEGER, name TEXT);
.parameter set ?1 7
.parameter set ?2 'O''Hara'
.parameter list
INSERT INTO t VALUES (?1, ?2), (?1 + 1, ?2);
.changes
.changes on
UPDATE t SET id = id * 10 WHERE id = ?;
.changes off
.mode csv
SELECT id, name FROM t ORDER BY id;
.parameter unset ?2
SELECT ?1 AS a, ?2 AS b;
.parameter clear
.parameter list
.show
";
    let o = shell(dir.path(), ":memory:", input);
    let out = common::stdout(&o);
    assert!(
        out.starts_with(
            "?1 = 7\n?2 = 'O''Hara'\n\
             2 rows affected\n\
             changes: 2   total_changes: 2\n\
             1 row affected\nchanges: 1   total_changes: 3\n\
             id,name\n8,O'Hara\n70,O'Hara\n"
        ),
        "{out}"
    );
    assert!(out.contains("       mode: csv\n"), "{out}");
    assert!(out.contains(" parameters: 0\n"), "{out}");
    assert_eq!(
        stderr(&o),
        "error: line 13: the statement uses 2 parameters but ?2 is not set \
         (use --param VALUE, or .parameter set ?2 VALUE in the shell)\n\
         error: 1 command failed\n"
    );
}
