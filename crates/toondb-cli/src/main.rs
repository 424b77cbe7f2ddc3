//! The `toondb` command-line tool. Subcommands live in `cmd/`, one module each; this file
//! only parses arguments, dispatches, and maps errors to `error: …` plus a non-zero exit.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod data;
mod db;
mod error;
mod exec;
mod interrupt;
mod output;
mod sqltext;

/// ToonDB command-line tool.
#[derive(Debug, Parser)]
#[command(name = "toondb", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Convert between JSON and TOON (spec 4.0) and count LLM tokens.
    Toon(cmd::toon::ToonArgs),
    /// Create a database, load 2,000 real passages, run SQL, hybrid search and a
    /// token-budgeted context query, and compare TOON with JSON token counts.
    Demo(cmd::demo::DemoArgs),
    /// Interactive SQL shell (reads statements from stdin when it is not a terminal).
    Shell(cmd::shell::ShellArgs),
    /// Run SQL statements and print the results as a table, JSON or TOON.
    Sql(cmd::sql::SqlArgs),
    /// Load a CSV or JSONL file into a table (created with inferred types if missing).
    Import(cmd::import::ImportArgs),
    /// Write a table as JSONL or CSV.
    Export(cmd::export::ExportArgs),
    /// Show files, storage-engine counters, tables and collections.
    Stats(cmd::stats::StatsArgs),
    /// Verify every checksum of every file; non-zero exit naming file and offset on damage.
    Check(cmd::check::CheckArgs),
    /// Serve the database to agents over the Model Context Protocol (stdio); see docs/mcp.md.
    Mcp(cmd::mcp::McpArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Toon(_) | Command::Mcp(_)) {
        // Database commands stop between batches on Ctrl-C and close the database.
        interrupt::install();
    }
    let db = |r: Result<(), error::Error>| r.map_err(|e| (e.to_string(), e.exit_code()));
    let result = match cli.command {
        Command::Toon(args) => cmd::toon::run(args).map_err(|e| (e.to_string(), 1)),
        Command::Demo(args) => db(cmd::demo::run(args)),
        Command::Shell(args) => db(cmd::shell::run(args)),
        Command::Sql(args) => db(cmd::sql::run(args)),
        Command::Import(args) => db(cmd::import::run(args)),
        Command::Export(args) => db(cmd::export::run(args)),
        Command::Stats(args) => db(cmd::stats::run(args)),
        Command::Check(args) => db(cmd::check::run(args)),
        Command::Mcp(args) => db(cmd::mcp::run(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((message, code)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}
