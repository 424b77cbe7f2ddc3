//! End-to-end tests of `toondb toon encode|decode|tokens` against the built binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_toondb"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn toondb");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf8 stderr")
}

#[test]
fn encode_from_stdin_tabular() {
    let o = run(
        &["toon", "encode"],
        r#"{"users":[{"id":1,"name":"Ada"},{"id":2,"name":"Bob"}]}"#,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "users[2]{id,name}:\n  1,Ada\n  2,Bob\n");
}

#[test]
fn encode_with_delimiter_and_indent() {
    let o = run(
        &["toon", "encode", "--delimiter", "tab", "--indent", "4"],
        r#"{"a":{"t":["x","y"]}}"#,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "a:\n    t[2\t]: x\ty\n");
    let o = run(&["toon", "encode", "--delimiter", "pipe"], r#"["a|b","c"]"#);
    assert_eq!(stdout(&o), "[2|]: \"a|b\"|c\n");
}

#[test]
fn decode_file_and_round_trip() {
    let dir = std::env::temp_dir().join(format!("toondb-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path = dir.join("in.toon");
    std::fs::write(
        &path,
        "orders[2]{id,customer{name},total}:\n  1,Ada,9.5\n  2,Bob,10\n",
    )
    .expect("write");
    let o = run(
        &["toon", "decode", "--compact", path.to_str().expect("path")],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let json = stdout(&o);
    assert_eq!(
        json.trim_end(),
        r#"{"orders":[{"id":1,"customer":{"name":"Ada"},"total":9.5},{"id":2,"customer":{"name":"Bob"},"total":10}]}"#
    );
    // JSON -> TOON -> JSON through the binary gives the same JSON back.
    let toon = run(&["toon", "encode"], &json);
    let back = run(&["toon", "decode", "--compact"], &stdout(&toon));
    assert_eq!(stdout(&back), json);
    let out = dir.join("out.toon");
    let o = run(
        &["toon", "encode", "-o", out.to_str().expect("path")],
        &json,
    );
    assert!(o.status.success());
    assert_eq!(
        std::fs::read_to_string(&out).expect("read"),
        "orders[2]{id,customer{name},total}:\n  1,Ada,9.5\n  2,Bob,10"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn decode_error_reports_line_and_column() {
    let o = run(&["toon", "decode"], "a: 1\ntags[3]: x,y\n");
    assert!(!o.status.success());
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty());
    let err = stderr(&o);
    assert!(err.starts_with("error: line 2, column 1: "), "{err}");
    assert!(err.contains("declares 3"), "{err}");

    let o = run(&["toon", "decode"], "k: \"bad\\x\"");
    assert!(
        stderr(&o).starts_with("error: line 1, column 8: invalid escape"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn strict_and_no_strict() {
    let input = "items[3]: a,b\n";
    let o = run(&["toon", "decode", "--strict"], input);
    assert!(!o.status.success());
    let o = run(&["toon", "decode", "--no-strict", "--compact"], input);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "{\"items\":[\"a\",\"b\"]}\n");
}

#[test]
fn invalid_json_is_reported_with_position() {
    let o = run(&["toon", "encode"], "{\"a\":\n  [1,}");
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.starts_with("error: line 2, column "), "{err}");
    assert!(err.contains("invalid JSON"), "{err}");
}

#[test]
fn invalid_utf8_is_an_error_in_strict_mode() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_toondb"))
        .args(["toon", "decode"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"a: 1\nb: \xff\n")
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    assert!(!o.status.success());
    assert!(
        stderr(&o).starts_with("error: line 2, column 4: invalid UTF-8"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn tokens_reports_counts_and_savings() {
    let rows: Vec<String> = (0..50)
        .map(|i| format!(r#"{{"id":{i},"name":"user{i}","active":true}}"#))
        .collect();
    let json = format!("{{\"users\":[{}]}}", rows.join(","));
    let o = run(&["toon", "tokens"], &json);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let row = |name: &str| -> Vec<usize> {
        let line = out.lines().find(|l| l.starts_with(name)).expect("row");
        line.split_whitespace()
            .skip(1)
            .map(|n| n.parse().expect("number"))
            .collect()
    };
    let pretty = row("json-pretty");
    let toon = row("toon ");
    assert_eq!(pretty.len(), 3);
    // Uniform rows: TOON must need far fewer tokens than pretty JSON for both tokenizers.
    assert!(toon[1] * 2 < pretty[1], "{out}");
    assert!(toon[2] * 2 < pretty[2], "{out}");
    assert!(out.contains("toon saves"), "{out}");
    // TOON input is accepted too and gives the same TOON row.
    let toon_text = stdout(&run(&["toon", "encode"], &json));
    let o2 = run(&["toon", "tokens", "--from", "toon"], &toon_text);
    assert_eq!(stdout(&o2), out);
}

#[test]
fn decode_indent_option() {
    let o = run(
        &["toon", "decode", "--indent", "4", "--compact"],
        "a:\n    b: 1\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "{\"a\":{\"b\":1}}\n");
    // With the default indent of 2 the same text is a depth jump.
    let o = run(&["toon", "decode"], "a:\n    b: 1\n");
    assert!(!o.status.success());
    assert!(
        stderr(&o).starts_with("error: line 2, column 5: "),
        "{}",
        stderr(&o)
    );
}
