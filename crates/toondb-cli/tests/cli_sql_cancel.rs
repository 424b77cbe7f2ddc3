//! Ctrl-C during a long `toondb sql` statement cancels the statement itself (it does not
//! wait for it to finish): exit status 130, nothing of the statement applied.

mod common;
use common::{ok, sql};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn sigint_cancels_a_running_sql_statement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&sql(
        &db,
        "CREATE TABLE t(x INTEGER); INSERT INTO t(x) VALUES (1),(2),(3),(4),(5),(6),(7),(8),(9),(10); \
         INSERT INTO t SELECT a.x FROM t a, t b, t c",
        "json",
    ));
    // 1010^3 pairs per statement: minutes of work unless the statement is cancelled.
    let child = Command::new(env!("CARGO_BIN_EXE_toondb"))
        .args([
            "sql",
            db.to_str().expect("utf8"),
            "UPDATE t SET x = (SELECT count(*) FROM t a, t b WHERE a.x <= t.x)",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(1500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8(out.stderr).expect("utf8");
    assert_eq!(out.status.code(), Some(130), "stderr: {stderr}");
    assert!(stderr.contains("cancelled"), "{stderr}");
    let rows: serde_json::Value = serde_json::from_str(&ok(&sql(
        &db,
        "SELECT count(*) AS n, max(x) AS hi FROM t",
        "json",
    )))
    .expect("json");
    assert_eq!(rows, serde_json::json!([{"n": 1010, "hi": 10}]));
}
