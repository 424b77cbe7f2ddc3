//! Crash safety on the real OS: a child process (this test binary, re-invoked) commits
//! multi-key batches with `SyncMode::Full` (and, in a second test, `SyncMode::Normal`, whose
//! promise for a process crash is the same: the bytes were handed to the OS before the
//! acknowledgement) and prints each acknowledged id; the parent kills it
//! with SIGKILL at random moments, reopens, and checks every acknowledged batch is present and
//! no batch is partially visible. `TOONDB_CRASH_ROUNDS` sets the number of rounds (default 20).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use rand::Rng;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use toondb_storage::{Engine, Options, SyncMode, WriteBatch};

const CHILD_ENV: &str = "TOONDB_CRASH_CHILD_DIR";
const KEYS_PER_BATCH: u32 = 5;
const CHILD_SYNC_ENV: &str = "TOONDB_CRASH_CHILD_SYNC";

fn opts() -> Options {
    Options {
        sync: SyncMode::Full,
        memtable_size: 16 << 10,
        l1_target_bytes: 64 << 10,
        target_file_size: 16 << 10,
        ..Options::default()
    }
}

fn batch_key(i: u64, j: u32) -> Vec<u8> {
    format!("b{i:010}_{j}").into_bytes()
}

/// The child side, run only when the parent re-invokes this binary with `--ignored` and
/// `CHILD_ENV` set (ignored in normal runs: it writes until killed).
#[test]
#[ignore = "child process of acknowledged_commits_survive_sigkill"]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let sync = match std::env::var(CHILD_SYNC_ENV).as_deref() {
        Ok("normal") => SyncMode::Normal,
        _ => SyncMode::Full,
    };
    let db = Engine::open(&dir, Options { sync, ..opts() }).unwrap();
    let start = match db.get(b"counter").unwrap() {
        Some(v) => String::from_utf8(v).unwrap().parse::<u64>().unwrap() + 1,
        None => 0,
    };
    let out = std::io::stdout();
    for i in start.. {
        let mut b = WriteBatch::new();
        let v = i.to_string();
        for j in 0..KEYS_PER_BATCH {
            b.put(
                &batch_key(i, j),
                format!("{v}:{}", "p".repeat(64)).as_bytes(),
            );
        }
        b.put(b"counter", v.as_bytes());
        db.write(b).unwrap();
        let mut o = out.lock();
        writeln!(o, "ACK {i}").unwrap();
        o.flush().unwrap();
    }
}

fn check(dir: &Path, acked: &[u64]) -> u64 {
    let db = Engine::open(dir, opts()).unwrap();
    let counter = db
        .get(b"counter")
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap().parse::<u64>().unwrap());
    if let Some(&max) = acked.iter().max() {
        assert!(
            counter.is_some_and(|c| c >= max),
            "counter {counter:?} < acked {max}"
        );
    }
    let top = counter.map_or(0, |c| c + 1);
    for i in 0..top + 3 {
        let present = (0..KEYS_PER_BATCH)
            .filter(|&j| {
                let v = db.get(&batch_key(i, j)).unwrap();
                if let Some(v) = &v {
                    assert!(
                        v.starts_with(format!("{i}:").as_bytes()),
                        "batch {i} key {j} has a wrong value"
                    );
                }
                v.is_some()
            })
            .count() as u32;
        if i < top {
            assert_eq!(present, KEYS_PER_BATCH, "batch {i} (<= counter) incomplete");
        } else {
            assert_eq!(present, 0, "batch {i} visible but counter is {counter:?}");
        }
    }
    let rep = db.verify().unwrap();
    // A SIGKILL may tear the append in flight; anything else is damage.
    assert!(!rep.has_damage(), "{rep:?}");
    db.close().unwrap();
    top
}

#[test]
fn acknowledged_commits_survive_sigkill() {
    let rounds: usize = std::env::var("TOONDB_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    sigkill_rounds("full", rounds);
}

/// `SyncMode::Normal` after a process crash: every acknowledged commit survives.
#[test]
fn acknowledged_commits_survive_sigkill_in_normal_mode() {
    let rounds: usize = std::env::var("TOONDB_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    sigkill_rounds("normal", rounds);
}

fn sigkill_rounds(sync: &str, rounds: usize) {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::thread_rng();
    let mut all_acked: Vec<u64> = Vec::new();
    for round in 0..rounds {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child_writer",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .env(CHILD_SYNC_ENV, sync)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut acked = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(n) = line.strip_prefix("ACK ") {
                    if let Ok(n) = n.trim().parse::<u64>() {
                        acked.push(n);
                    }
                }
            }
            acked
        });
        std::thread::sleep(Duration::from_millis(rng.gen_range(30..250)));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let acked = reader.join().unwrap();
        all_acked.extend(&acked);
        let top = check(dir.path(), &all_acked);
        eprintln!(
            "round {round}: {} acked this round, {top} batches durable",
            acked.len()
        );
    }
    assert!(
        !all_acked.is_empty(),
        "the child never acknowledged a commit"
    );
}
