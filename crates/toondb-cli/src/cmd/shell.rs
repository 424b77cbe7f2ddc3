//! `toondb shell PATH`: an interactive SQL shell (rustyline: history, line editing) that
//! also reads statements from a pipe when stdin is not a terminal.
//!
//! Statements may span lines and run once their `;` arrives. Dot-commands (`.help`) are
//! single lines. An error prints one `error: …` line and the shell continues; with piped
//! input the exit status is non-zero if any statement failed.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use rustyline::error::ReadlineError;

use crate::db::{self, Mode};
use crate::error::{Error, Result};
use crate::exec::Runner;
use crate::interrupt;
use crate::output::{self, Format};
use crate::sqltext;

/// Arguments of `toondb shell`.
#[derive(Debug, Args)]
pub struct ShellArgs {
    /// Database directory (created if missing).
    pub path: PathBuf,
    /// Initial output format (change it with `.format`).
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

const HELP: &str = "\
Enter SQL statements terminated by `;` (they may span several lines), or a dot-command:
  .tables              list tables and views
  .schema [TABLE]      show CREATE statements
  .indexes [TABLE]     list indexes
  .collections         list vector/text collections
  .stats               database statistics (files, engine, tables)
  .format [table|json|toon]  show or set the output format
  .timer on|off        print how long each statement took
  .read FILE           run the statements in FILE
  .help                this text
  .quit                leave (also .exit or Ctrl-D)
BEGIN / COMMIT / ROLLBACK run an explicit transaction; `CONTEXT SELECT ...` builds a
token-budgeted TOON context. Ctrl-C cancels the current input line.";

/// What the caller should do after a line.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Quit,
}

struct Shell {
    runner: Runner,
    format: Format,
    timer: bool,
    /// Unterminated statement text carried across lines.
    pending: String,
    errors: usize,
    /// Depth of nested `.read` commands (bounded).
    read_depth: usize,
    /// Reading from a terminal (rustyline) rather than a pipe.
    interactive: bool,
    /// Ctrl-C arrived while reading piped input: stop after the current statement.
    stop: bool,
}

impl Shell {
    fn say(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        // A closed stdout (e.g. `| head`) is not an error worth reporting per line.
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    }

    fn error(&mut self, e: &dyn std::fmt::Display) {
        self.errors += 1;
        eprintln!("error: {e}");
    }

    /// Feeds one input line.
    fn line(&mut self, line: &str) -> Flow {
        if self.pending.is_empty() && line.trim_start().starts_with('.') {
            return match self.dot(line.trim()) {
                Ok(flow) => flow,
                Err(e) => {
                    self.error(&e);
                    Flow::Continue
                }
            };
        }
        self.pending.push_str(line);
        self.pending.push('\n');
        let (stmts, mut rest) = sqltext::split(&self.pending);
        if !rest.is_empty() {
            // `rest` is trimmed; keep the line break so the next line does not run into
            // the last word (or into a `--` comment).
            rest.push('\n');
        }
        self.pending = rest;
        for s in stmts {
            self.statement(&s);
        }
        Flow::Continue
    }

    /// Runs whatever unterminated text is left at the end of the input.
    fn finish(&mut self) {
        let rest = std::mem::take(&mut self.pending);
        if !rest.trim().is_empty() {
            self.statement(&rest);
        }
    }

    fn statement(&mut self, sql: &str) {
        let t = Instant::now();
        let mut cancelled = false;
        match self.runner.run(sql) {
            Ok(r) => self.say(&output::render(&r, self.format)),
            Err(Error::Interrupted(m)) if self.interactive => {
                // Ctrl-C cancelled the statement: back to the prompt.
                cancelled = true;
                eprintln!("interrupted: {m}");
            }
            Err(e) => self.error(&e),
        }
        if self.timer {
            self.say(&format!(
                "time: {:.3} ms\n",
                t.elapsed().as_secs_f64() * 1e3
            ));
        }
        if interrupt::interrupted() {
            // Ctrl-C while a statement ran: it was cancelled (or had just completed).
            // Interactive: back to the prompt. Piped: stop reading more input.
            interrupt::clear();
            if self.interactive {
                if !cancelled {
                    eprintln!("interrupted (the statement had already completed)");
                }
            } else {
                self.stop = true;
            }
        }
    }

    fn dot(&mut self, line: &str) -> Result<Flow> {
        let mut words = line.split_whitespace();
        let cmd = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        let max_args = |n: usize| {
            if args.len() > n {
                Err(Error::Usage(format!(
                    "{cmd} takes at most {n} argument{}",
                    if n == 1 { "" } else { "s" }
                )))
            } else {
                Ok(())
            }
        };
        match cmd {
            ".quit" | ".exit" | ".q" => return Ok(Flow::Quit),
            ".help" | ".h" => self.say(&format!("{HELP}\n")),
            ".tables" => {
                max_args(0)?;
                let cat = db::load_catalog(self.runner.db())?;
                let mut names: Vec<&str> = cat.tables.values().map(|t| t.name.as_str()).collect();
                names.extend(cat.views.values().map(|v| v.name.as_str()));
                names.sort_unstable();
                let mut s = names.join("\n");
                if !s.is_empty() {
                    s.push('\n');
                }
                self.say(&s);
            }
            ".schema" => {
                max_args(1)?;
                let cat = db::load_catalog(self.runner.db())?;
                let mut out = String::new();
                let mut found = false;
                for t in cat
                    .tables
                    .values()
                    .filter(|t| args.first().is_none_or(|a| t.name.eq_ignore_ascii_case(a)))
                {
                    out.push_str(&db::table_ddl(t));
                    out.push('\n');
                    found = true;
                }
                for v in cat
                    .views
                    .values()
                    .filter(|v| args.first().is_none_or(|a| v.name.eq_ignore_ascii_case(a)))
                {
                    out.push_str(&format!(
                        "CREATE VIEW {} AS {};\n",
                        db::quote_ident(&v.name),
                        v.sql
                    ));
                    found = true;
                }
                if let (Some(a), false) = (args.first(), found) {
                    return Err(Error::Usage(format!("no such table: {a}")));
                }
                self.say(&out);
            }
            ".indexes" | ".indices" => {
                max_args(1)?;
                let cat = db::load_catalog(self.runner.db())?;
                if let Some(a) = args.first() {
                    if cat.table(a).is_none() {
                        return Err(Error::Usage(format!("no such table: {a}")));
                    }
                }
                let mut rs = output::ResultSet {
                    columns: vec![
                        "index".into(),
                        "table".into(),
                        "columns".into(),
                        "unique".into(),
                    ],
                    ..Default::default()
                };
                for t in cat
                    .tables
                    .values()
                    .filter(|t| args.first().is_none_or(|a| t.name.eq_ignore_ascii_case(a)))
                {
                    for ix in &t.indexes {
                        let cols: Vec<&str> = ix
                            .columns
                            .iter()
                            .filter_map(|&i| t.columns.get(i).map(|c| c.name.as_str()))
                            .collect();
                        rs.rows.push(vec![
                            toondb::Value::Text(ix.name.clone()),
                            toondb::Value::Text(t.name.clone()),
                            toondb::Value::Text(cols.join(", ")),
                            toondb::Value::Integer(i64::from(ix.unique)),
                        ]);
                    }
                }
                self.say(&output::render(&rs, self.format));
            }
            ".collections" => {
                max_args(0)?;
                let v = db::collections(self.runner.db())?;
                self.say(&format!("{}\n", output::toon(&v)));
            }
            ".stats" => {
                max_args(0)?;
                let v = crate::cmd::stats::collect(self.runner.db())?;
                self.say(&format!("{}\n", output::toon(&v)));
            }
            ".format" | ".mode" => {
                max_args(1)?;
                match args.first() {
                    None => self.say(&format!("{}\n", self.format.name())),
                    Some(a) => {
                        self.format = Format::parse(a).ok_or_else(|| {
                            Error::Usage(format!("unknown format {a}; use table, json or toon"))
                        })?;
                    }
                }
            }
            ".timer" => {
                max_args(1)?;
                self.timer = match args.first().map(|a| a.to_ascii_lowercase()).as_deref() {
                    Some("on") => true,
                    Some("off") => false,
                    _ => return Err(Error::Usage(".timer takes on or off".into())),
                };
            }
            ".read" => {
                let [file] = args.as_slice() else {
                    return Err(Error::Usage(".read takes one file name".into()));
                };
                if self.read_depth >= 16 {
                    return Err(Error::Usage(".read nested too deeply".into()));
                }
                let text =
                    std::fs::read_to_string(file).map_err(|e| Error::io(file.as_ref(), e))?;
                self.read_depth += 1;
                let saved = std::mem::take(&mut self.pending);
                let mut flow = Flow::Continue;
                for l in text.lines() {
                    if self.line(l) == Flow::Quit {
                        flow = Flow::Quit;
                        break;
                    }
                }
                self.finish();
                self.pending = saved;
                self.read_depth -= 1;
                return Ok(flow);
            }
            other => return Err(Error::Usage(format!("unknown command {other}; type .help"))),
        }
        Ok(Flow::Continue)
    }
}

fn history_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TOONDB_HISTORY") {
        return (!p.is_empty()).then(|| PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".toondb_history"))
}

/// Runs `toondb shell`.
pub fn run(args: ShellArgs) -> Result<()> {
    let db = db::open(&args.path, Mode::Create)?;
    let mut sh = Shell {
        runner: Runner::new(db),
        format: args.format,
        timer: false,
        pending: String::new(),
        errors: 0,
        read_depth: 0,
        interactive: std::io::stdin().is_terminal(),
        stop: false,
    };
    let interactive = sh.interactive;
    let r = if interactive {
        interactive_loop(&mut sh, &args)
    } else {
        piped_loop(&mut sh)
    };
    let errors = sh.errors;
    let closed = sh.runner.close();
    r?;
    let rolled_back = closed?;
    if rolled_back {
        eprintln!("note: the open transaction was rolled back");
    }
    if !interactive && errors > 0 {
        return Err(Error::Usage(format!(
            "{errors} {} failed",
            if errors == 1 { "command" } else { "commands" }
        )));
    }
    Ok(())
}

fn piped_loop(sh: &mut Shell) -> Result<()> {
    let stopped = || {
        Err(Error::Interrupted(
            "stopped reading input; completed statements are kept and the database was closed cleanly".into(),
        ))
    };
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| Error::io("stdin".as_ref(), e))?;
        if interrupt::interrupted() {
            return stopped();
        }
        if sh.line(&line) == Flow::Quit {
            return Ok(());
        }
        if sh.stop {
            return stopped();
        }
    }
    if interrupt::interrupted() {
        return stopped();
    }
    sh.finish();
    Ok(())
}

fn interactive_loop(sh: &mut Shell, args: &ShellArgs) -> Result<()> {
    let config = rustyline::Config::builder()
        .auto_add_history(false)
        .max_history_size(5000)
        .map_err(readline_err)?
        .build();
    let mut rl: rustyline::Editor<super::complete::Completion, rustyline::history::DefaultHistory> =
        rustyline::Editor::with_config(config).map_err(readline_err)?;
    rl.set_helper(Some(super::complete::Completion {
        db: sh.runner.db().clone(),
    }));
    let history = history_file();
    if let Some(h) = &history {
        // A missing history file is normal on first use.
        let _ = rl.load_history(h);
    }
    println!(
        "ToonDB shell on {} — type .help for help, .quit to leave",
        args.path.display()
    );
    loop {
        let prompt = match (sh.pending.is_empty(), sh.runner.in_transaction()) {
            (false, _) => "   ...> ",
            (true, false) => "toondb> ",
            (true, true) => "toondb*> ",
        };
        match rl.readline(prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = rl.add_history_entry(line.as_str());
                }
                if sh.line(&line) == Flow::Quit {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => {
                // Ctrl-C: cancel the line (and any unterminated statement), keep going.
                sh.pending.clear();
                interrupt::clear();
            }
            Err(ReadlineError::Eof) => {
                sh.finish();
                break;
            }
            Err(e) => return Err(readline_err(e)),
        }
    }
    if let Some(h) = &history {
        if let Err(e) = rl.save_history(h) {
            eprintln!("warning: could not save history to {}: {e}", h.display());
        }
    }
    Ok(())
}

fn readline_err(e: ReadlineError) -> Error {
    Error::Usage(format!("line editor: {e}"))
}
