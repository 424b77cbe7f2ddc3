//! A closed stdout (`toondb demo X | head -3`) stops the command quietly: no panic, no
//! message, exit status 0, as sqlite3 does.

use std::io::{BufRead, BufReader, Write};

mod common;

/// Runs `toondb ARGS` with `stdin`, reads `keep` lines of its stdout, closes the pipe and
/// returns (exit code, stderr).
fn head(dir: &std::path::Path, args: &[&str], stdin: &str, keep: usize) -> (Option<i32>, String) {
    let mut child = common::command_in(dir, args).spawn().expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    for _ in 0..keep {
        let mut line = String::new();
        out.read_line(&mut line).expect("read");
    }
    drop(out);
    let o = child.wait_with_output().expect("wait");
    (o.status.code(), String::from_utf8(o.stderr).expect("utf8"))
}

#[test]
fn demo_piped_into_head_exits_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("demo");
    let (code, err) = head(
        dir.path(),
        &["demo", db.to_str().expect("utf8"), "--passages", "20"],
        "",
        3,
    );
    assert_eq!(code, Some(0), "stderr: {err}");
    assert_eq!(err, "", "nothing on stderr");
}

#[test]
fn sql_and_shell_piped_into_head_exit_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 10,000 rows are far more than a pipe buffer holds.
    let many = "CREATE TABLE d(x INTEGER); \
                INSERT INTO d VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9); \
                SELECT a.x, b.x, c.x, e.x, 'some text to fill the pipe' AS t \
                FROM d a, d b, d c, d e";
    let (code, err) = head(dir.path(), &["sql", ":memory:", many], "", 3);
    assert_eq!(code, Some(0), "stderr: {err}");
    assert_eq!(err, "");
    let input = format!("{many};\nSELECT * FROM d a, d b, d c, d e;\n");
    let (code, err) = head(dir.path(), &["shell", ":memory:"], &input, 3);
    assert_eq!(code, Some(0), "stderr: {err}");
    assert_eq!(err, "");
}
