//! `toondb-stress`: ToonDB's reliability harness.
//!
//! - `crash --rounds N --dir DIR [--seed S]`: SIGKILL crash loop (see [`crash`]).
//! - `faults [--scenarios N] [--seed S]`: fault injection through `FaultVfs` (see [`faults`]).
//! - `corrupt [--trials N] [--dir DIR] [--seed S]`: on-disk corruption (see [`corrupt`]).
//!
//! Each prints a one-line summary last and exits non-zero if any check failed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod corrupt;
mod crash;
mod faults;
mod workload;

/// Errors of the harness itself (not findings about the engine, which are counted).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StressError {
    /// The engine failed where the harness needs it to work (e.g. building a database).
    #[error("engine: {0}")]
    Engine(#[from] toondb_storage::Error),
    /// Local I/O (spawning, copying, reading child output).
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Something about the setup is wrong.
    #[error("setup: {0}")]
    Setup(String),
}

#[derive(Parser, Debug)]
#[command(
    name = "toondb-stress",
    about = "Crash, fault and corruption tests for ToonDB"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// SIGKILL a writer child at random points, reopen, check every acknowledged commit.
    Crash {
        /// Kill/reopen rounds.
        #[arg(long, default_value_t = 20)]
        rounds: u64,
        /// Database directory (wiped first).
        #[arg(long)]
        dir: PathBuf,
        /// Seed for kill timing.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Inject ENOSPC / EIO / short writes / fsync failures through FaultVfs.
    Faults {
        /// Scenarios to run (cycling through the fault kinds).
        #[arg(long, default_value_t = 60)]
        scenarios: u64,
        /// Seed for fault placement.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Flip bits in / truncate WAL, SST and manifest files of a copy; expect detection.
    Corrupt {
        /// Damaged copies to try.
        #[arg(long, default_value_t = 200)]
        trials: u64,
        /// Work directory (a temporary directory if absent).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Seed for damage placement.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// The crash loop's child process (internal).
    #[command(hide = true)]
    Writer {
        /// Database directory.
        #[arg(long)]
        dir: PathBuf,
        /// First commit id.
        #[arg(long)]
        start: u64,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cmd: Cmd) -> Result<bool, StressError> {
    match cmd {
        Cmd::Writer { dir, start } => {
            crash::writer(&dir, start)?;
            Ok(true)
        }
        Cmd::Crash { rounds, dir, seed } => {
            let exe = std::env::current_exe()?;
            let s = crash::run(&exe, &dir, rounds, seed)?;
            println!(
                "partial={} wrong={} verify_failures={}",
                s.partial, s.wrong, s.verify_failures
            );
            println!(
                "rounds={} acknowledged={} lost={} phantom={}",
                s.rounds, s.acknowledged, s.lost, s.phantom
            );
            Ok(s.is_ok())
        }
        Cmd::Faults { scenarios, seed } => {
            let s = faults::run(scenarios, seed);
            println!(
                "acknowledged={} refused={} kinds={}",
                s.acknowledged,
                s.refused,
                faults::KINDS.join(",")
            );
            println!(
                "faults_injected={} scenarios={} failures={}",
                s.faults_injected, s.scenarios, s.failures
            );
            Ok(s.failures == 0)
        }
        Cmd::Corrupt { trials, dir, seed } => {
            let tmp;
            let work = match dir {
                Some(d) => d,
                None => {
                    tmp =
                        std::env::temp_dir().join(format!("toondb-corrupt-{}", std::process::id()));
                    tmp
                }
            };
            let s = corrupt::run(&work, trials, seed)?;
            let _ = std::fs::remove_dir_all(work.join("trial"));
            println!(
                "trials={} detected={} detected_without_path={} harmless={} tail_dropped={} flip_tail_dropped={} panics={} silent_loss={} silent_wrong={}",
                s.trials, s.detected, s.detected_without_path, s.harmless, s.tail_dropped, s.flip_tail_dropped, s.panics, s.silent_loss, s.silent_wrong
            );
            Ok(s.panics == 0 && s.silent_loss == 0 && s.silent_wrong == 0)
        }
    }
}
