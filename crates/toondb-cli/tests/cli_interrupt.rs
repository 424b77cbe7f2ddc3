//! Ctrl-C during `toondb import`: the process stops between batches with status 130, says
//! how many rows it committed, and exactly those rows are in the database afterwards.

mod common;
use common::{ok, sql};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigint_during_import_keeps_exactly_the_committed_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let src = dir.path().join("big.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&src).expect("create"));
        writeln!(f, "id,body").expect("write");
        for i in 0..200_000 {
            writeln!(f, "{i},row number {i}").expect("write");
        }
    }
    // One row per transaction: far too slow to finish before the signal arrives.
    let child = Command::new(env!("CARGO_BIN_EXE_toondb"))
        .args([
            "import",
            db.to_str().expect("utf8"),
            src.to_str().expect("utf8"),
            "--table",
            "t",
            "--batch",
            "1",
        ])
        .env("TMPDIR", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait until the table exists (the first batch committed), then press "Ctrl-C".
    let start = Instant::now();
    while !db.join("CURRENT").exists() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8(out.stderr).expect("utf8");
    assert_eq!(out.status.code(), Some(130), "stderr: {stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error: interrupted: "))
        .expect("interrupted line");
    let committed: u64 = line["error: interrupted: ".len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("row count in message");
    assert!(
        line.contains("of 200000 rows were imported and committed"),
        "{line}"
    );
    assert!(committed < 200_000, "{line}");
    // Every committed row is there, and nothing else.
    let rows: serde_json::Value = serde_json::from_str(&ok(&sql(
        &db,
        "SELECT count(*) AS n, coalesce(max(id), -1) AS hi FROM t",
        "json",
    )))
    .expect("json");
    assert_eq!(
        rows,
        serde_json::json!([{"n": committed, "hi": committed as i64 - 1}])
    );
    let check = ok(&common::run_in(
        dir.path(),
        &["check", db.to_str().expect("utf8")],
        "",
    ));
    assert!(check.contains("ok: no corruption found"), "{check}");
}

#[test]
fn sigint_stops_a_piped_shell_and_keeps_completed_statements() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let mut child = common::command_in(dir.path(), &["shell", db.to_str().expect("utf8")])
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(b"CREATE TABLE t(x);\nINSERT INTO t VALUES (1);\n")
        .expect("write");
    stdin.flush().expect("flush");
    let start = Instant::now();
    while !db.join("CURRENT").exists() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(200));
    // Input that arrives after Ctrl-C is not run.
    stdin
        .write_all(b"INSERT INTO t VALUES (2);\n")
        .expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8(out.stderr).expect("utf8");
    assert_eq!(out.status.code(), Some(130), "stderr: {stderr}");
    assert!(
        stderr.contains("error: interrupted: stopped reading input"),
        "{stderr}"
    );
    let rows: serde_json::Value =
        serde_json::from_str(&ok(&sql(&db, "SELECT x FROM t", "json"))).expect("json");
    assert_eq!(rows, serde_json::json!([{"x": 1}]));
}

#[test]
fn sigint_during_a_transaction_says_it_was_rolled_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&sql(&db, "CREATE TABLE t(x)", "table"));
    let mut child = common::command_in(dir.path(), &["shell", db.to_str().expect("utf8")])
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(
            b"INSERT INTO t VALUES (0);\nBEGIN;\nINSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\n",
        )
        .expect("write");
    stdin.flush().expect("flush");
    // The shell prints one line per INSERT; wait for all three before pressing Ctrl-C.
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    for _ in 0..3 {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut out, &mut line).expect("read");
        assert_eq!(line, "1 row affected\n");
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(200));
    stdin.write_all(b"COMMIT;\n").expect("write");
    drop(stdin);
    let o = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8(o.stderr).expect("utf8");
    assert_eq!(o.status.code(), Some(130), "stderr: {stderr}");
    assert_eq!(
        stderr,
        "error: interrupted: stopped reading input; the open transaction was rolled back \
         (2 statements since BEGIN discarded); statements committed before it are kept and \
         the database was closed cleanly\n"
    );
    let rows: serde_json::Value =
        serde_json::from_str(&ok(&sql(&db, "SELECT x FROM t", "json"))).expect("json");
    assert_eq!(rows, serde_json::json!([{"x": 0}]));
}
