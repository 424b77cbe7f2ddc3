//! Helpers shared by the CLI integration tests: run the built `toondb` binary.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `toondb ARGS` with stdin, stdout and stderr piped, TMPDIR and HOME pointing into `sandbox`
/// (so the binary never touches the real home or temp directories) and no shell history.
pub fn command_in(sandbox: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_toondb"));
    c.args(args)
        .env("TMPDIR", sandbox)
        .env("HOME", sandbox)
        .env("TOONDB_HISTORY", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Runs `toondb ARGS` ([`command_in`]) with `stdin` piped in and waits for it.
pub fn run_in(sandbox: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = command_in(sandbox, args).spawn().expect("spawn toondb");
    let mut pipe = child.stdin.take().expect("stdin");
    // The child may exit before reading everything (e.g. on a usage error).
    let _ = pipe.write_all(stdin.as_bytes());
    drop(pipe);
    child.wait_with_output().expect("wait")
}

/// `run_in` with the sandbox being the system temp dir's parent-free default.
pub fn run(args: &[&str]) -> Output {
    let sandbox = std::env::temp_dir();
    run_in(&sandbox, args, "")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf8 stdout")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf8 stderr")
}

/// Asserts success and returns stdout.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// Asserts failure with exactly one `error: ` line on stderr; returns that line.
pub fn fails(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "expected failure\nstdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
    let err = stderr(o);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one error line, got stderr:\n{err}"
    );
    lines[0].to_string()
}

/// `toondb sql DB SQL --format FORMAT`.
pub fn sql(db: &Path, sql: &str, format: &str) -> Output {
    run_in(
        db.parent().expect("parent"),
        &[
            "sql",
            db.to_str().expect("utf8 path"),
            sql,
            "--format",
            format,
        ],
        "",
    )
}
