//! `toondb sql PATH ["SQL" | -f FILE | -]`: runs statements and prints each result.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use clap::Args;

use crate::db::{self, Mode};
use crate::error::{Error, Result};
use crate::exec::{self, Runner};
use crate::interrupt;
use crate::output::{self, Format};
use crate::params::Params;
use crate::sqltext;

/// Arguments of `toondb sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// Database directory (created if missing); `:memory:` for an in-memory database.
    pub path: PathBuf,
    /// SQL statements separated by `;`; `-` (or no SQL with a pipe on stdin) reads them
    /// from stdin.
    pub sql: Option<String>,
    /// Read the statements from FILE.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "sql"
    )]
    pub file: Option<PathBuf>,
    /// Output format (also `-csv`, `-json`, `-box`, ...).
    #[arg(long, alias = "mode", value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Value of parameter ?1, ?2, ... in order (repeatable): 42, 2.5, NULL, 'text', x'ab',
    /// or any other text as it is.
    #[arg(short = 'p', long = "param", value_name = "VALUE")]
    pub param: Vec<String>,
    /// Open an existing database and refuse every statement that writes (also `-readonly`).
    #[arg(long)]
    pub readonly: bool,
    /// Leave out column names in table, box, markdown and csv output (also `-noheader`).
    #[arg(long)]
    pub noheader: bool,
    /// Print column names (the default; also `-header`).
    #[arg(long, overrides_with = "noheader")]
    pub header: bool,
}

/// Runs `toondb sql`.
pub fn run(args: SqlArgs) -> Result<()> {
    let (text, file) = match (&args.sql, &args.file) {
        (_, Some(f)) => (
            std::fs::read_to_string(f).map_err(|e| Error::io(f, e))?,
            Some(f.display().to_string()),
        ),
        (Some(s), None) if s != "-" => (s.clone(), None),
        (None, None) if std::io::stdin().is_terminal() => {
            return Err(Error::Usage(
                "no SQL statement given (pass \"SQL\", -f FILE, or - to read stdin)".into(),
            ))
        }
        _ => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| Error::io("stdin".as_ref(), e))?;
            (s, None)
        }
    };
    let (mut stmts, rest) = sqltext::split_spans(&text);
    if !rest.text.is_empty() {
        stmts.push(rest);
    }
    if stmts.is_empty() {
        return Err(Error::Usage("no SQL statement given".into()));
    }
    let mut runner = if args.readonly {
        Runner::read_only(db::open_read_only(&args.path)?)
    } else {
        Runner::new(db::open(&args.path, Mode::Create)?)
    };
    let params = Params::from_args(&args.param);
    let mut run_all = || -> Result<()> {
        for s in &stmts {
            if interrupt::interrupted() {
                // Ctrl-C: stop before the next statement; `close` rolls back an open
                // transaction and the message below says so.
                return Err(Error::Interrupted(String::new()));
            }
            let r = runner.run(&s.text, &params).map_err(|e| {
                let at = sqltext::position(&text, s.offset);
                exec::locate(e, file.as_deref(), at)
            })?;
            if !output::write_stdout(&output::render_with(&r, args.format, !args.noheader)) {
                return Err(Error::StdoutClosed);
            }
        }
        Ok(())
    };
    let result = run_all();
    let closed = runner.close();
    if let Err(Error::Interrupted(m)) = result {
        // `m` is empty when Ctrl-C came between statements, and says what happened to the
        // statement when Ctrl-C cancelled it while it ran.
        let what = if m.is_empty() {
            "stopped before the next statement".to_string()
        } else {
            m.split(';').next().unwrap_or_default().to_string()
        };
        return Err(Error::Interrupted(match closed? {
            Some(n) => format!(
                "{what}; the open transaction was rolled back \
                 ({n} {} since BEGIN discarded); statements committed before it are kept and \
                 the database was closed cleanly",
                output::plural(n as u64, "statement")
            ),
            None => {
                format!("{what}; completed statements are kept and the database was closed cleanly")
            }
        }));
    }
    result?;
    if let Some(n) = closed? {
        return Err(Error::Usage(exec::open_transaction_message(n)));
    }
    Ok(())
}
