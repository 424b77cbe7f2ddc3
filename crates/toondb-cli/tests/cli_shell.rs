//! `toondb shell` driven through a pipe: multi-line statements, dot-commands, formats,
//! transactions, and errors that print one line and let the shell continue.

mod common;
use common::{ok, run_in, stderr, stdout};

fn shell(dir: &std::path::Path, input: &str) -> std::process::Output {
    let db = dir.join("db");
    run_in(dir, &["shell", db.to_str().expect("test setup")], input)
}

#[test]
fn statements_span_lines_and_dot_commands_work() {
    let dir = tempfile::tempdir().unwrap();
    let input = "\
CREATE TABLE people(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL
);
CREATE INDEX people_name ON people(name);
INSERT INTO people(name) VALUES ('Ada'), ('Bob'); SELECT count(*) AS n
  FROM people;
.tables
.schema people
.indexes
.format json
SELECT name FROM people ORDER BY id;
.format toon
SELECT id, name FROM people ORDER BY id;
.format
.quit
SELECT 'never runs';
";
    let o = shell(dir.path(), input);
    let out = ok(&o);
    let expected = "\
2 rows affected
n
-
2
(1 row)
people
CREATE TABLE \"people\" (
  \"id\" INTEGER PRIMARY KEY,
  \"name\" TEXT NOT NULL
);
CREATE INDEX \"people_name\" ON \"people\" (\"name\");
index       | table  | columns | unique
------------+--------+---------+-------
people_name | people | name    |      0
(1 row)
[
  {
    \"name\": \"Ada\"
  },
  {
    \"name\": \"Bob\"
  }
]
[2]{id,name}:
  1,Ada
  2,Bob
toon
";
    assert_eq!(out, expected);
    assert_eq!(stderr(&o), "");
}

#[test]
fn errors_print_one_line_and_the_shell_continues() {
    let dir = tempfile::tempdir().unwrap();
    let input = "\
CREATE TABLE t(x INTEGER);
SELEC nonsense;
INSERT INTO t VALUES (1);
.bogus
.format xml
SELECT * FROM missing;
SELECT x FROM t;
";
    let o = shell(dir.path(), input);
    assert!(
        !o.status.success(),
        "errors in piped input give a non-zero exit"
    );
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 5, "{err}");
    // Each error names the input line it came from.
    assert!(
        lines[0].starts_with("error: line 2: syntax error")
            && lines[0].contains("Line: 2, Column: 1"),
        "{err}"
    );
    assert!(
        lines[1].starts_with("error: line 4: unknown command .bogus"),
        "{err}"
    );
    assert!(
        lines[2].starts_with("error: line 5: unknown mode xml"),
        "{err}"
    );
    assert!(
        lines[3].starts_with("error: line 6: ") && lines[3].contains("missing"),
        "{err}"
    );
    assert_eq!(lines[4], "error: 4 commands failed");
    assert_eq!(stdout(&o), "1 row affected\nx\n-\n1\n(1 row)\n");
}

#[test]
fn transactions_and_unterminated_last_statement() {
    let dir = tempfile::tempdir().unwrap();
    // Continuation lines start at column 0 and follow a `--` comment: the line breaks count.
    ok(&shell(dir.path(), "CREATE TABLE t(x);\nBEGIN;\nINSERT INTO t\nVALUES (1);\nROLLBACK;\nBEGIN;\nINSERT INTO t -- the second try\nVALUES (2);\nCOMMIT;\n"));
    // The last statement has no `;`: it still runs at end of input.
    let o = shell(dir.path(), ".format json\nSELECT x FROM t");
    let v: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(v, serde_json::json!([{"x": 2}]));
    // A transaction still open at the end is rolled back, said so, and the exit is non-zero
    // (as with `toondb sql`).
    let o = shell(dir.path(), "BEGIN;\nDELETE FROM t;\n");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: the transaction left open at the end of the input was rolled back \
         (1 statement since BEGIN discarded)\n"
    );
    let v: serde_json::Value = serde_json::from_str(&ok(&shell(
        dir.path(),
        ".format json\nSELECT count(*) AS n FROM t;",
    )))
    .unwrap();
    assert_eq!(v, serde_json::json!([{"n": 1}]));
}

#[test]
fn read_and_stats_commands() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("init.sql");
    std::fs::write(
        &script,
        "CREATE TABLE a(x);\nINSERT INTO a VALUES (1), (2)\n",
    )
    .unwrap();
    let o = shell(dir.path(), &format!(".read {}\n.stats\n", script.display()));
    let out = ok(&o);
    assert!(out.starts_with("2 rows affected\n"), "{out}");
    assert!(
        out.contains("tables[1]{name,rows,columns,indexes}:\n  a,2,1,0"),
        "{out}"
    );
    let o = shell(dir.path(), ".read /definitely/not/here.sql\n");
    assert!(!o.status.success());
    assert!(
        stderr(&o).starts_with("error: line 1: /definitely/not/here.sql"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn context_statements_print_the_toon_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = shell(
        dir.path(),
        "CREATE TABLE t(x INTEGER, y TEXT);\nINSERT INTO t VALUES (1, 'a'), (2, 'b');\n\
         CONTEXT SELECT SYSTEM 'Be brief.',\n  (SELECT x, y FROM t ORDER BY x) AS facts\n  BUDGET 100;\n",
    );
    let out = ok(&o);
    let doc = out
        .strip_prefix("2 rows affected\n")
        .expect("insert count first");
    let (text, tail) = doc.split_once("\n(").expect("token line");
    assert_eq!(text, "system: Be brief.\nfacts[2]{x,y}:\n  1,a\n  2,b");
    let tokens: usize = tail
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("count");
    assert_eq!(
        tokens,
        toondb_toon::count_tokens(text, toondb_toon::Tokenizer::O200k)
    );
    assert!(tail.ends_with("tokens, budget 100)\n"), "{tail}");
}
