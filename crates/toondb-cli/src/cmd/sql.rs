//! `toondb sql PATH "SQL"`: runs statements and prints each result.

use std::io::{Read, Write};
use std::path::PathBuf;

use clap::Args;

use crate::db::{self, Mode};
use crate::error::{Error, Result};
use crate::exec::Runner;
use crate::output::{self, Format};
use crate::sqltext;

/// Arguments of `toondb sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// Database directory (created if missing).
    pub path: PathBuf,
    /// SQL statements separated by `;`; `-` reads them from stdin.
    pub sql: String,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Runs `toondb sql`.
pub fn run(args: SqlArgs) -> Result<()> {
    let text = if args.sql == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Error::io("stdin".as_ref(), e))?;
        s
    } else {
        args.sql
    };
    let (mut stmts, rest) = sqltext::split(&text);
    if !rest.is_empty() {
        stmts.push(rest);
    }
    if stmts.is_empty() {
        return Err(Error::Usage("no SQL statement given".into()));
    }
    let mut runner = Runner::new(db::open(&args.path, Mode::Create)?);
    let result = run_all(&mut runner, &stmts, args.format);
    let closed = runner.close();
    result?;
    let rolled_back = closed?;
    if rolled_back {
        return Err(Error::Usage(
            "a transaction was left open at the end of the input and was rolled back".into(),
        ));
    }
    Ok(())
}

fn run_all(runner: &mut Runner, stmts: &[String], format: Format) -> Result<()> {
    let mut out = std::io::stdout().lock();
    for s in stmts {
        let r = runner.run(s)?;
        let text = output::render(&r, format);
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            r => r.map_err(|e| Error::io("stdout".as_ref(), e))?,
        }
    }
    Ok(())
}
