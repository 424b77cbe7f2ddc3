//! SIGKILL crash loop: a writer child process commits the [`crate::workload`] with
//! `SyncMode::Full` and prints every acknowledged id; the parent kills it at a random moment,
//! reopens the database and checks it.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use toondb_storage::{Engine, Options, SyncMode};

use crate::workload::{self, Rng};
use crate::StressError;

/// Engine options used by the writer and the checker: small memtables and tables so that
/// flushes, compactions and manifest rewrites happen often and get interrupted.
pub fn options() -> Options {
    Options {
        sync: SyncMode::Full,
        memtable_size: 64 << 10,
        l1_target_bytes: 256 << 10,
        target_file_size: 64 << 10,
        max_manifest_bytes: 16 << 10,
        ..Options::default()
    }
}

/// The writer child: commits ids `start..` until killed, printing `ack <id>` after each.
pub fn writer(dir: &Path, start: u64) -> Result<(), StressError> {
    let db = Engine::open(dir, options())?;
    let out = std::io::stdout();
    let mut o = out.lock();
    writeln!(o, "open")?;
    o.flush()?;
    for id in start.. {
        workload::apply(&db, id)?;
        // One write(2) per line: a kill cannot leave half a line behind a complete one.
        o.write_all(format!("ack {id}\n").as_bytes())?;
        o.flush()?;
    }
    Ok(())
}

/// Totals of a crash loop.
#[derive(Debug, Default)]
pub struct CrashSummary {
    /// Rounds run.
    pub rounds: u64,
    /// Commits acknowledged by writers over all rounds.
    pub acknowledged: u64,
    /// Acknowledged commits missing after the last round (max over rounds).
    pub lost: u64,
    /// Visible commits never started (max over rounds).
    pub phantom: u64,
    /// Partially visible commits (max over rounds).
    pub partial: u64,
    /// Wrong values (max over rounds).
    pub wrong: u64,
    /// Rounds where reopen or `verify()` failed.
    pub verify_failures: u64,
}

impl CrashSummary {
    /// Whether every check passed.
    pub fn is_ok(&self) -> bool {
        self.lost == 0
            && self.phantom == 0
            && self.partial == 0
            && self.wrong == 0
            && self.verify_failures == 0
    }
}

/// Runs `rounds` kill/reopen/check rounds on a fresh database in `dir`.
pub fn run(exe: &Path, dir: &Path, rounds: u64, seed: u64) -> Result<CrashSummary, StressError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    let mut rng = Rng::new(seed);
    let mut acked: BTreeSet<u64> = BTreeSet::new();
    // Attempted ids are the union of [start, last_ack + 1] over rounds.
    let mut attempted: Vec<(u64, u64)> = Vec::new();
    let mut next = 0u64;
    let mut s = CrashSummary::default();
    let t0 = Instant::now();
    for round in 0..rounds {
        let mut child = Command::new(exe)
            .arg("writer")
            .arg("--dir")
            .arg(dir)
            .arg("--start")
            .arg(next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        // Kill after 5..400 ms: some kills land during recovery, most during commits,
        // flushes and compactions.
        std::thread::sleep(Duration::from_millis(5 + rng.below(395)));
        let exited_early = child.try_wait()?.is_some();
        let _ = child.kill();
        let status = child.wait()?;
        let mut out = String::new();
        if let Some(mut so) = child.stdout.take() {
            so.read_to_string(&mut out)?;
        }
        if exited_early {
            let mut err = String::new();
            if let Some(mut se) = child.stderr.take() {
                se.read_to_string(&mut err)?;
            }
            eprintln!("round {round}: writer exited by itself ({status}): {err}");
            s.verify_failures += 1;
        }
        let mut last = None;
        let mut round_acks = 0u64;
        // Only newline-terminated lines count.
        let complete = out.rfind('\n').map_or("", |i| &out[..i]);
        for line in complete.lines() {
            if let Some(id) = line
                .strip_prefix("ack ")
                .and_then(|v| v.parse::<u64>().ok())
            {
                acked.insert(id);
                last = Some(id);
                round_acks += 1;
            }
        }
        let in_flight_max = last.map_or(next, |l| l + 1);
        attempted.push((next, in_flight_max));
        next = in_flight_max + 1;
        s.acknowledged += round_acks;
        s.rounds = round + 1;

        // Reopen and check.
        let is_attempted = |id: u64| attempted.iter().any(|&(a, b)| a <= id && id <= b);
        match Engine::open(dir, options()) {
            Err(e) => {
                eprintln!("round {round}: reopen failed: {e}");
                s.verify_failures += 1;
            }
            Ok(db) => {
                match db.verify() {
                    // A kill may tear the append in flight (a torn write after the last sync).
                    Ok(rep) if !rep.has_damage() => {}
                    Ok(rep) => {
                        eprintln!("round {round}: verify found {rep:?}");
                        s.verify_failures += 1;
                    }
                    Err(e) => {
                        eprintln!("round {round}: verify failed: {e}");
                        s.verify_failures += 1;
                    }
                }
                match workload::dump(&db) {
                    Err(e) => {
                        eprintln!("round {round}: scan failed: {e}");
                        s.verify_failures += 1;
                    }
                    Ok(m) => {
                        let r = workload::check(&m, &acked, &is_attempted);
                        if !r.is_ok() {
                            eprintln!("round {round}: check failed: {r:?}");
                        }
                        s.lost = s.lost.max(r.lost);
                        s.phantom = s.phantom.max(r.phantom);
                        s.partial = s.partial.max(r.partial);
                        s.wrong = s.wrong.max(r.wrong);
                        if round % 20 == 19 || round + 1 == rounds {
                            println!(
                                "round {} acked_this_round={round_acks} visible={} elapsed={:.1}s",
                                round + 1,
                                r.visible,
                                t0.elapsed().as_secs_f64()
                            );
                        }
                    }
                }
                db.close()?;
            }
        }
    }
    Ok(s)
}
