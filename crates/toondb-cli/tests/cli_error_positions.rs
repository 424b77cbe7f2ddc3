//! Errors name the place in the input: the line (and, for syntax errors, the column) of the
//! failing statement in `toondb sql`, the piped shell, `-c` arguments and files.

mod common;
use common::{fails, run_in, stderr};

#[test]
fn sql_reports_the_input_position_of_the_nth_statement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = fails(&run_in(
        dir.path(),
        &["sql", ":memory:", "SELECT 1;\nSELECT 2;\n  SELEC 3"],
        "",
    ));
    assert_eq!(
        e,
        "error: line 3: syntax error: sql parser error: Expected: an SQL statement, found: \
         SELEC at Line: 3, Column: 3"
    );
    // Columns on the first line are shifted by where the statement starts.
    let e = fails(&run_in(
        dir.path(),
        &["sql", ":memory:", "SELECT 1; SELECT 1 +;"],
        "",
    ));
    assert!(e.ends_with("(Line: 1, Column: 21)"), "{e}");
    // CONTEXT statements have their own parser; its positions are rewritten too.
    let e = fails(&run_in(
        dir.path(),
        &[
            "sql",
            ":memory:",
            "SELECT 1;\nSELECT 2; CONTEXT SELECT BUDGET x;",
        ],
        "",
    ));
    assert!(
        e.starts_with("error: line 2: syntax error at line 2, column 26: "),
        "{e}"
    );
    // Errors without a position name the line where the statement starts.
    let e = fails(&run_in(
        dir.path(),
        &["sql", ":memory:", "SELECT 1;\n\nSELECT *\n  FROM nope"],
        "",
    ));
    assert_eq!(e, "error: line 3: no such table: nope");
}

#[test]
fn piped_shell_names_the_failing_input_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = run_in(
        dir.path(),
        &["shell", ":memory:"],
        "SELECT 1;\n\nSELECT 1,\n  2 +\n  ;\nSELECT 1; SELECT\n nope FROM nowhere;\n.mode nope\n",
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: line 4: syntax error: sql parser error: Expected: an expression, found: EOF \
         at end of input (Line: 4, Column: 6)\n\
         error: line 6: no such table: nowhere\n\
         error: line 8: unknown mode nope; use one of table, box, markdown, csv, line, json, toon\n\
         error: 3 commands failed\n"
    );
    // -c arguments are counted on their own.
    let o = run_in(
        dir.path(),
        &[
            "shell",
            ":memory:",
            "-c",
            "SELECT 1;",
            "-c",
            "SELECT 1;\nSELECT x",
        ],
        "",
    );
    assert!(
        stderr(&o).starts_with("error: -c:2: no such column: x"),
        "{}",
        stderr(&o)
    );
}
