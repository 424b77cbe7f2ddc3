//! Side-by-side benchmarks of ToonDB against peer engines.
//!
//! One binary, one subcommand per component; each subcommand lives in its own module and
//! produces [`report::Row`]s, which are printed as a Markdown table and optionally written as
//! JSON. To add a component (e.g. `kv`, `sql`), add a module with an `Args` struct and a
//! `run(&Args) -> Result<Vec<Row>, String>` function and one variant to [`Command`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod engines;
mod kv;
mod report;
mod seed;
mod vectors;

#[derive(Parser, Debug)]
#[command(
    name = "toondb-bench",
    about = "Benchmarks ToonDB against peer engines"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Also write the results as a JSON array to this file.
    #[arg(long, global = true)]
    json: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Vector search: HNSW f32 / SQ8 / PQ against hnswlib on a texmex-format data set.
    Vectors(vectors::Args),
    /// Key-value engine: ToonDB against redb, sled, fjall and SQLite (durable commits), and
    /// RocksDB when built with `--features rocksdb`.
    Kv(kv::Args),
    /// The seed's performance tables (latency sync vs async, throughput by threads and async
    /// tasks, RSS) beside the seed's figures, through the public API.
    Seed(seed::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Vectors(a) => vectors::run(a),
        Command::Kv(a) => kv::run(a),
        Command::Seed(a) => seed::run(a),
    };
    let rows = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if rows.is_empty() {
        return ExitCode::SUCCESS; // a child process of `kv` / `seed`: its result is in a file
    }
    println!("{}", report::markdown(&rows));
    if let Some(path) = &cli.json {
        if let Err(e) = report::write_json(path, &rows) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        eprintln!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}
