//! The `toondb` command-line tool. Subcommands live in `cmd/`, one module each; this file
//! only parses arguments, dispatches, and maps errors to `error: …` plus a non-zero exit.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Toon(args) => cmd::toon::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
