//! Replays the transcript in README.md: every `$ toondb ...` command of the ```console
//! block runs in a fresh directory (with the files of the README's ```csv NAME blocks), and
//! its stdout followed by its stderr must be exactly the lines shown under it. A command
//! shows an `error:` line exactly when it exits non-zero.

use std::path::Path;

mod common;

const README: &str = include_str!("../README.md");

/// One command of the transcript.
#[derive(Debug)]
struct Step {
    args: Vec<String>,
    stdin: String,
    expected: String,
}

/// Splits a command line into words: `'...'` is literal, `"..."` allows `\"` and `\\`.
/// Returns `None` while a quote is still open (the command continues on the next line).
fn words(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => cur.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => cur.push(chars.next()?),
                        c => cur.push(c),
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Some(out)
}

/// The fenced block that starts with the line "```INFO".
fn block<'a>(text: &'a str, info: &str) -> Option<&'a str> {
    let start = text.find(&format!("```{info}\n"))? + info.len() + 4;
    let len = text[start..].find("\n```")?;
    Some(&text[start..start + len + 1])
}

fn steps(console: &str) -> Vec<Step> {
    let lines: Vec<&str> = console.lines().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let first = lines[i]
            .strip_prefix("$ ")
            .unwrap_or_else(|| panic!("expected a `$ ` command line, got {:?}", lines[i]));
        let mut cmd = first.to_string();
        i += 1;
        while words(&cmd).is_none() {
            cmd.push('\n');
            cmd.push_str(lines[i]);
            i += 1;
        }
        let mut args = words(&cmd).expect("balanced quotes");
        let mut stdin = String::new();
        if args.last().map(String::as_str) == Some("<<EOF") {
            args.pop();
            while lines[i] != "EOF" {
                stdin.push_str(lines[i]);
                stdin.push('\n');
                i += 1;
            }
            i += 1;
        }
        assert_eq!(args[0], "toondb", "the transcript only runs toondb: {cmd}");
        args.remove(0);
        let mut expected = String::new();
        while i < lines.len() && !lines[i].starts_with("$ ") {
            expected.push_str(lines[i]);
            expected.push('\n');
            i += 1;
        }
        steps.push(Step {
            args,
            stdin,
            expected,
        });
    }
    steps
}

/// `imported 3 rows into t in 0.02s` with the time masked.
fn mask_time(text: &str) -> String {
    text.lines()
        .map(|l| match (l.rfind(" in "), l.strip_suffix('s')) {
            (Some(i), Some(head)) if head[i + 4..].parse::<f64>().is_ok() => {
                format!("{} in <time>s\n", &l[..i])
            }
            _ => format!("{l}\n"),
        })
        .collect()
}

fn run(dir: &Path, step: &Step) -> (String, bool) {
    use std::io::Write;
    let args: Vec<&str> = step.args.iter().map(String::as_str).collect();
    let mut child = common::command_in(dir, &args)
        .current_dir(dir)
        .spawn()
        .expect("spawn toondb");
    let mut pipe = child.stdin.take().expect("stdin");
    let _ = pipe.write_all(step.stdin.as_bytes());
    drop(pipe);
    let o = child.wait_with_output().expect("wait");
    let mut text = String::from_utf8(o.stdout).expect("utf8");
    text.push_str(&String::from_utf8(o.stderr).expect("utf8"));
    (text, o.status.success())
}

#[test]
fn readme_transcript_matches_the_binary() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["people.csv", "bad.csv"] {
        let body = block(README, &format!("csv {name}")).expect("README file block");
        std::fs::write(dir.path().join(name), body).expect("write");
    }
    let console = block(README, "console").expect("README console block");
    let steps = steps(console);
    assert!(steps.len() >= 10, "{steps:?}");
    for step in &steps {
        let (out, success) = run(dir.path(), step);
        assert_eq!(
            mask_time(&out),
            mask_time(&step.expected),
            "output of `toondb {}` differs from README.md",
            step.args.join(" ")
        );
        let shows_error = step.expected.lines().any(|l| l.starts_with("error: "));
        assert_eq!(
            success,
            !shows_error,
            "exit status of `toondb {}`",
            step.args.join(" ")
        );
    }
}

#[test]
fn transcript_parser() {
    assert_eq!(
        words(r#"toondb sql x "a \"b\"" 'c d'"#),
        Some(vec![
            "toondb".into(),
            "sql".into(),
            "x".into(),
            "a \"b\"".into(),
            "c d".into()
        ])
    );
    assert_eq!(words("toondb sql x \"open"), None);
    assert_eq!(
        mask_time("imported 1 row into t in 0.05s\n"),
        "imported 1 row into t in <time>s\n"
    );
    assert_eq!(mask_time("a in b\n"), "a in b\n");
}
