//! The `toondb-server` binary: startup policy, the `listening on` line, SIGTERM shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_toondb-server");

#[test]
fn refuses_non_loopback_bind_without_token() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args([
            "--data",
            dir.path().to_str().unwrap(),
            "--listen",
            "0.0.0.0:0",
        ])
        .env_remove("TOONDB_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--insecure-no-auth"), "{err}");
    // The database was not even created.
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn serves_then_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s.sock");
    let mut child = Command::new(BIN)
        .args([
            "--data",
            dir.path().join("db").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--unix",
            sock.to_str().unwrap(),
            "--token",
            "t0k",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let tcp = lines.next().unwrap().unwrap();
    let unix = lines.next().unwrap().unwrap();
    assert!(tcp.starts_with("listening on 127.0.0.1:"), "{tcp}");
    assert_eq!(unix, format!("listening on unix:{}", sock.display()));
    let addr = tcp.trim_start_matches("listening on ").to_string();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let opts = toondb_grpc::ClientOptions::default().with_token("t0k");
        let c = toondb_grpc::Client::connect_with(&format!("http://{addr}"), opts.clone())
            .await
            .unwrap();
        c.put("k", "v").await.unwrap();
        let u = toondb_grpc::Client::connect_unix(sock.clone(), opts)
            .await
            .unwrap();
        assert_eq!(u.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    });
    // Closes the client connections (their tasks live on this runtime).
    drop(rt);

    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!sock.exists());
    let db = toondb::Database::open(dir.path().join("db")).unwrap();
    assert_eq!(db.get("k").unwrap().as_deref(), Some(&b"v"[..]));
}

#[test]
fn token_on_the_command_line_warns_and_env_token_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    // A bad --sync value stops the server right after argument checks.
    let run = |args: &[&str], env: Option<&str>| {
        let mut c = Command::new(BIN);
        c.args(["--data", data.to_str().unwrap(), "--sync", "bogus"])
            .args(args)
            .env_remove("TOONDB_TOKEN");
        if let Some(t) = env {
            c.env("TOONDB_TOKEN", t);
        }
        String::from_utf8_lossy(&c.output().unwrap().stderr).into_owned()
    };
    assert!(run(&["--token", "t0ken"], None).contains("--token on the command line"));
    assert!(run(&["--token=t0ken"], None).contains("--token on the command line"));
    assert!(!run(&[], Some("t0ken")).contains("--token on the command line"));
}

#[test]
fn refuses_non_loopback_bind_without_tls_unless_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        Command::new(BIN)
            .args([
                "--data",
                dir.path().join("db").to_str().unwrap(),
                "--listen",
                "0.0.0.0:0",
                "--insecure-no-auth",
                "--sync",
                "bogus",
            ])
            .args(extra)
            .env_remove("TOONDB_TOKEN")
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("without TLS") && err.contains("--insecure"),
        "{err}"
    );
    // With --insecure the policy passes and the (deliberately) bad --sync stops it next.
    let err = String::from_utf8_lossy(&run(&["--insecure"]).stderr).into_owned();
    assert!(err.contains("--sync"), "{err}");
    // A certificate that cannot be read is a clear error naming the file.
    let missing = dir.path().join("missing.pem");
    let m = missing.to_str().unwrap();
    let err = String::from_utf8_lossy(&run(&["--tls-cert", m, "--tls-key", m]).stderr).into_owned();
    assert!(err.contains("missing.pem"), "{err}");
}
