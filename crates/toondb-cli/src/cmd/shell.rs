//! `toondb shell [PATH] [FILE]`: an interactive SQL shell (rustyline: history, line
//! editing) that also reads statements from a file, `-c` arguments or a pipe.
//!
//! Statements may span lines and run once their `;` arrives. Dot-commands (`.help`) are
//! single lines. An error prints one `error: …` line (naming the input line when the input
//! is not a terminal) and the shell continues, unless `-bail`; with non-interactive input
//! the exit status is non-zero if anything failed or a transaction was left open.

use std::fs::File;
use std::io::{BufRead, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use rustyline::error::ReadlineError;

use crate::data::FileFormat;
use crate::db::{self, Mode};
use crate::error::{Error, Result};
use crate::exec::{self, Runner};
use crate::interrupt;
use crate::output::{self, Format, FORMAT_NAMES};
use crate::params::Params;
use crate::sqltext;

/// Arguments of `toondb shell`.
#[derive(Debug, Args)]
pub struct ShellArgs {
    /// Database directory (created if missing); `:memory:` (the default) is an in-memory
    /// database that is gone when the shell exits.
    #[arg(default_value = db::MEMORY)]
    pub path: PathBuf,
    /// Run the SQL and dot-commands in FILE (`-` for stdin), then exit.
    #[arg(conflicts_with = "file_opt")]
    pub file: Option<PathBuf>,
    /// Same as the FILE argument.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file_opt: Option<PathBuf>,
    /// Run SQL or a dot-command, then exit (repeatable; run in order).
    #[arg(short = 'c', long = "command", value_name = "SQL", conflicts_with_all = ["file", "file_opt"])]
    pub command: Vec<String>,
    /// Run SQL or a dot-command before reading the input (repeatable; also `-cmd`).
    #[arg(long = "cmd", value_name = "COMMAND")]
    pub cmd: Vec<String>,
    /// Stop at the first error (also `-bail`); only applies to input that is not a terminal.
    #[arg(long)]
    pub bail: bool,
    /// Open an existing database and refuse every statement that writes (also `-readonly`).
    #[arg(long)]
    pub readonly: bool,
    /// Value of parameter ?1, ?2, ... in order (repeatable): 42, 2.5, NULL, 'text', x'ab',
    /// or any other text as it is.
    #[arg(short = 'p', long = "param", value_name = "VALUE")]
    pub param: Vec<String>,
    /// Output format (change it with `.mode`; also `-csv`, `-json`, `-box`, ...).
    #[arg(long, alias = "mode", value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Leave out column names in table, box, markdown and csv output (also `-noheader`).
    #[arg(long)]
    pub noheader: bool,
    /// Print column names (the default; also `-header`).
    #[arg(long, overrides_with = "noheader")]
    pub header: bool,
}

const HELP: &str = "\
Enter SQL statements terminated by `;` (they may span several lines), or a dot-command:
  .bail on|off               stop at the first error (input that is not a terminal)
  .changes [on|off]          rows changed by the last statement and in total; `on` prints
                             them after every statement
  .collections               list vector/text collections
  .dump [TABLE]              SQL that recreates the database (or one table)
  .exit / .quit              leave (also Ctrl-D)
  .format [MODE]             same as .mode
  .headers on|off            column names in table, box, markdown and csv output
  .help                      this text
  .import [--csv|--jsonl] [--coerce] FILE TABLE
                             load a CSV or JSONL file (as `toondb import`)
  .indexes [TABLE]           list indexes
  .mode [MODE]               show or set the output mode:
                             table, box, markdown, csv, line, json, toon
  .once FILE                 write the next result to FILE
  .open [--readonly] PATH    close this database and open PATH (`:memory:` for a new
                             in-memory one)
  .output [FILE]             write results to FILE; without FILE, back to the terminal
  .parameter set ?N VALUE    bind ?N (VALUE: 42, 2.5, NULL, 'text', x'ab', or text)
  .parameter unset ?N | list | clear
  .read FILE                 run the statements in FILE
  .schema [TABLE]            show CREATE statements
  .show                      show the current settings
  .stats                     database statistics (files, engine, tables)
  .tables                    list tables and views
  .timer on|off              print how long each statement took
BEGIN / COMMIT / ROLLBACK run an explicit transaction; `CONTEXT SELECT ...` builds a
token-budgeted TOON context. Ctrl-C cancels the current input line.";

/// Every dot-command, for completion.
pub const DOT_COMMANDS: &[&str] = &[
    ".bail",
    ".changes",
    ".collections",
    ".dump",
    ".exit",
    ".format",
    ".headers",
    ".help",
    ".import",
    ".indexes",
    ".mode",
    ".once",
    ".open",
    ".output",
    ".parameter",
    ".quit",
    ".read",
    ".schema",
    ".show",
    ".stats",
    ".tables",
    ".timer",
];

/// What the caller should do after a line.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Quit,
}

/// Why the shell stopped reading input early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// `.quit`.
    Quit,
    /// Ctrl-C while reading non-interactive input.
    Interrupted,
    /// An error with `-bail`.
    Bail,
    /// The reader of stdout went away.
    StdoutClosed,
}

/// Where results go.
enum Sink {
    Stdout,
    File {
        w: BufWriter<File>,
        path: String,
        /// `.once`: back to stdout after the next result.
        once: bool,
    },
}

struct Shell {
    runner: Runner,
    /// The database path as given.
    path: PathBuf,
    format: Format,
    headers: bool,
    timer: bool,
    changes: bool,
    bail: bool,
    params: Params,
    sink: Sink,
    /// Unterminated statement text carried across lines.
    pending: String,
    /// Input position (line, column) of the first character of `pending`.
    pending_pos: (usize, usize),
    /// Line number of the last line read from the current input.
    line_no: usize,
    /// The current input file, for error positions (`None`: stdin or the terminal).
    file: Option<String>,
    errors: usize,
    /// Depth of nested `.read` commands (bounded).
    read_depth: usize,
    /// Reading from a terminal (rustyline) rather than a pipe.
    interactive: bool,
    stop: Option<Stop>,
}

/// Splits a dot-command line into words; `'…'` and `"…"` quote words with spaces.
fn split_words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

fn on_off(cmd: &str, arg: Option<&String>) -> Result<bool> {
    match arg.map(|a| a.to_ascii_lowercase()).as_deref() {
        Some("on" | "yes" | "1" | "true") => Ok(true),
        Some("off" | "no" | "0" | "false") => Ok(false),
        _ => Err(Error::Usage(format!("{cmd} takes on or off"))),
    }
}

impl Shell {
    /// Writes to the current output (stdout, or the `.output`/`.once` file).
    fn say(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        match &mut self.sink {
            Sink::Stdout => {
                if !output::write_stdout(text) {
                    self.stop = Some(Stop::StdoutClosed);
                }
            }
            Sink::File { w, path, .. } => {
                if let Err(e) = w.write_all(text.as_bytes()) {
                    let e = Error::io(Path::new(path.as_str()), e);
                    self.sink = Sink::Stdout;
                    self.fail(e, None);
                }
            }
        }
    }

    /// Ends a `.once` redirection after the result it was for.
    fn end_once(&mut self) {
        if matches!(self.sink, Sink::File { once: true, .. }) {
            if let Err(e) = self.set_output(None, false) {
                self.fail(e, None);
            }
        }
    }

    /// Redirects results to `path` (or back to stdout), flushing the previous file.
    fn set_output(&mut self, path: Option<&str>, once: bool) -> Result<()> {
        if let Sink::File { mut w, path, .. } = std::mem::replace(&mut self.sink, Sink::Stdout) {
            w.flush().map_err(|e| Error::io(Path::new(&path), e))?;
        }
        if let Some(p) = path {
            let f = File::create(p).map_err(|e| Error::io(Path::new(p), e))?;
            self.sink = Sink::File {
                w: BufWriter::new(f),
                path: p.to_string(),
                once,
            };
        }
        Ok(())
    }

    /// Reports an error; `at` is the input position of the failing statement (or the line
    /// of a dot-command), used when the input is not a terminal.
    fn fail(&mut self, e: Error, at: Option<(usize, usize)>) {
        self.errors += 1;
        let e = match at {
            Some(pos) if !self.interactive => exec::locate(e, self.file.as_deref(), pos),
            _ => e,
        };
        eprintln!("error: {e}");
        if self.bail && !self.interactive {
            self.stop = Some(Stop::Bail);
        }
    }

    /// Feeds one input line.
    fn line(&mut self, line: &str) -> Flow {
        self.line_no += 1;
        if self.pending.is_empty() && line.trim_start().starts_with('.') {
            let at = (self.line_no, 1);
            let flow = match self.dot(line.trim()) {
                Ok(flow) => flow,
                Err(e) => {
                    self.fail(e, Some(at));
                    Flow::Continue
                }
            };
            return flow;
        }
        if self.pending.is_empty() {
            self.pending_pos = (self.line_no, 1);
        }
        self.pending.push_str(line);
        self.pending.push('\n');
        let text = std::mem::take(&mut self.pending);
        let base = self.pending_pos;
        let (stmts, rest) = sqltext::split_spans(&text);
        if !rest.text.is_empty() {
            // Keep the remainder as it is (line breaks included) so positions stay right
            // and the next line does not run into the last word or a `--` comment.
            self.pending = text[rest.offset..].to_string();
            self.pending_pos = sqltext::shift(base, sqltext::position(&text, rest.offset));
        }
        for s in stmts {
            if self.stop.is_some() {
                break;
            }
            let at = sqltext::shift(base, sqltext::position(&text, s.offset));
            self.statement(&s.text, at);
        }
        Flow::Continue
    }

    /// Runs whatever unterminated text is left at the end of the input.
    fn finish(&mut self) {
        let text = std::mem::take(&mut self.pending);
        let (_, rest) = sqltext::split_spans(&text);
        if !rest.text.is_empty() && self.stop.is_none() {
            let at = sqltext::shift(self.pending_pos, sqltext::position(&text, rest.offset));
            self.statement(&rest.text, at);
        }
    }

    fn statement(&mut self, sql: &str, at: (usize, usize)) {
        let t = Instant::now();
        let mut cancelled = false;
        match self.runner.run(sql, &self.params) {
            Ok(r) => {
                let text = output::render_with(&r, self.format, self.headers);
                self.say(&text);
                if self.changes {
                    let text = self.changes_line();
                    self.say(&text);
                }
            }
            Err(Error::Interrupted(m)) if self.interactive => {
                // Ctrl-C cancelled the statement: back to the prompt.
                cancelled = true;
                eprintln!("interrupted: {m}");
            }
            Err(e) => self.fail(e, Some(at)),
        }
        if self.timer {
            let text = format!("time: {:.3} ms\n", t.elapsed().as_secs_f64() * 1e3);
            self.say(&text);
        }
        self.end_once();
        if interrupt::interrupted() {
            // Ctrl-C while a statement ran: it was cancelled (or had just completed).
            // Interactive: back to the prompt. Otherwise: stop reading more input.
            interrupt::clear();
            if self.interactive {
                if !cancelled {
                    eprintln!(
                        "interrupted (the statement had already completed{})",
                        if self.runner.in_transaction() {
                            "; the transaction is still open: COMMIT or ROLLBACK it"
                        } else {
                            ""
                        }
                    );
                }
            } else {
                self.stop = Some(Stop::Interrupted);
            }
        }
    }

    fn changes_line(&self) -> String {
        let (last, total) = self.runner.changes();
        format!("changes: {last}   total_changes: {total}\n")
    }

    /// Runs a whole text (a file, a `-c` or `-cmd` argument) line by line; `file` names it
    /// in error messages.
    fn run_text(&mut self, text: &str, file: Option<String>) -> Flow {
        let saved = (
            std::mem::take(&mut self.pending),
            self.pending_pos,
            self.line_no,
            std::mem::replace(&mut self.file, file),
        );
        self.line_no = 0;
        let mut flow = Flow::Continue;
        for l in text.lines() {
            if interrupt::interrupted() && !self.interactive {
                self.stop = Some(Stop::Interrupted);
            }
            if self.stop.is_some() || self.line(l) == Flow::Quit {
                flow = Flow::Quit;
                break;
            }
        }
        if flow == Flow::Continue {
            self.finish();
        }
        (self.pending, self.pending_pos, self.line_no, self.file) = saved;
        if self.stop.is_some() {
            Flow::Quit
        } else {
            flow
        }
    }

    fn dot(&mut self, line: &str) -> Result<Flow> {
        let words = split_words(line);
        let cmd = words.first().map_or("", String::as_str).to_string();
        let args: Vec<String> = words.iter().skip(1).cloned().collect();
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
        match cmd.as_str() {
            ".quit" | ".exit" | ".q" => {
                self.stop = Some(Stop::Quit);
                return Ok(Flow::Quit);
            }
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
                let out = self.schema(args.first().map(String::as_str))?;
                self.say(&out);
            }
            ".dump" => {
                max_args(1)?;
                let out = db::dump(self.runner.db(), args.first().map(String::as_str))?;
                self.say(&out);
            }
            ".indexes" | ".indices" => {
                max_args(1)?;
                let rs = self.indexes(args.first().map(String::as_str))?;
                let text = output::render_with(&rs, self.format, self.headers);
                self.say(&text);
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
                            Error::Usage(format!(
                                "unknown mode {a}; use one of {}",
                                FORMAT_NAMES.join(", ")
                            ))
                        })?;
                    }
                }
            }
            ".headers" | ".header" => {
                max_args(1)?;
                self.headers = on_off(&cmd, args.first())?;
            }
            ".timer" => {
                max_args(1)?;
                self.timer = on_off(&cmd, args.first())?;
            }
            ".bail" => {
                max_args(1)?;
                self.bail = on_off(&cmd, args.first())?;
            }
            ".changes" => {
                max_args(1)?;
                match args.first() {
                    None => {
                        let text = self.changes_line();
                        self.say(&text);
                    }
                    Some(_) => self.changes = on_off(&cmd, args.first())?,
                }
            }
            ".output" => {
                max_args(1)?;
                self.set_output(args.first().map(String::as_str), false)?;
                return Ok(Flow::Continue);
            }
            ".once" => {
                let [file] = args.as_slice() else {
                    return Err(Error::Usage(".once takes one file name".into()));
                };
                self.set_output(Some(file), true)?;
                return Ok(Flow::Continue);
            }
            ".parameter" | ".param" => self.parameter(line, &args)?,
            ".show" => {
                max_args(0)?;
                let text = self.show();
                self.say(&text);
            }
            ".open" => self.open(&args)?,
            ".import" => self.import(&args)?,
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
                let flow = self.run_text(&text, Some(file.clone()));
                self.read_depth -= 1;
                return Ok(flow);
            }
            other => return Err(Error::Usage(format!("unknown command {other}; type .help"))),
        }
        self.end_once();
        Ok(Flow::Continue)
    }

    fn schema(&self, table: Option<&str>) -> Result<String> {
        let cat = db::load_catalog(self.runner.db())?;
        let mut out = String::new();
        let mut found = false;
        let wanted = |name: &str| table.is_none_or(|a| name.eq_ignore_ascii_case(a));
        for t in cat.tables.values().filter(|t| wanted(&t.name)) {
            out.push_str(&db::table_ddl(t));
            out.push('\n');
            found = true;
        }
        for v in cat.views.values().filter(|v| wanted(&v.name)) {
            out.push_str(&format!(
                "CREATE VIEW {} AS {};\n",
                db::quote_ident(&v.name),
                v.sql
            ));
            found = true;
        }
        // Triggers last (they name their table), as sqlite3 prints them.
        for t in cat.triggers.values().filter(|t| wanted(&t.def.table)) {
            out.push_str(&db::trigger_ddl(&t.def));
            out.push('\n');
        }
        if let (Some(a), false) = (table, found) {
            return Err(Error::Usage(format!("no such table: {a}")));
        }
        Ok(out)
    }

    fn indexes(&self, table: Option<&str>) -> Result<output::ResultSet> {
        let cat = db::load_catalog(self.runner.db())?;
        if let Some(a) = table {
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
            .filter(|t| table.is_none_or(|a| t.name.eq_ignore_ascii_case(a)))
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
        Ok(rs)
    }

    /// `.parameter set ?N VALUE | unset ?N | list | clear`.
    fn parameter(&mut self, line: &str, args: &[String]) -> Result<()> {
        let usage = || Error::Usage(".parameter set ?N VALUE | unset ?N | list | clear".into());
        match args.first().map(String::as_str) {
            Some("set") => {
                let name = args.get(1).ok_or_else(usage)?;
                // The value is the rest of the line as typed (spaces and quotes kept).
                let after_name = line
                    .split_once(name.as_str())
                    .map(|(_, r)| r.trim())
                    .filter(|r| !r.is_empty())
                    .ok_or_else(usage)?;
                self.params.set(name, after_name)?;
            }
            Some("unset") => {
                let name = args.get(1).ok_or_else(usage)?;
                if !self.params.unset(name)? {
                    return Err(Error::Usage(format!("parameter {name} is not set")));
                }
            }
            Some("list") | None => {
                let text: String = self
                    .params
                    .list()
                    .into_iter()
                    .map(|(n, v)| format!("{n} = {v}\n"))
                    .collect();
                self.say(&text);
            }
            Some("clear") => self.params.clear(),
            Some(_) => return Err(usage()),
        }
        Ok(())
    }

    fn show(&self) -> String {
        let on = |b: bool| if b { "on" } else { "off" };
        let output = match &self.sink {
            Sink::Stdout => "stdout".to_string(),
            Sink::File { path, once, .. } => {
                format!("{path}{}", if *once { " (once)" } else { "" })
            }
        };
        let rows = [
            ("database", self.path.display().to_string()),
            ("readonly", on(self.runner.is_read_only()).into()),
            ("mode", self.format.name().into()),
            ("headers", on(self.headers).into()),
            ("output", output),
            ("timer", on(self.timer).into()),
            ("changes", on(self.changes).into()),
            ("bail", on(self.bail).into()),
            (
                "transaction",
                if self.runner.in_transaction() {
                    "open"
                } else {
                    "none"
                }
                .into(),
            ),
            ("parameters", self.params.len().to_string()),
        ];
        rows.iter()
            .map(|(k, v)| format!("{k:>11}: {v}\n"))
            .collect()
    }

    /// `.open [--readonly] PATH`.
    fn open(&mut self, args: &[String]) -> Result<()> {
        let mut readonly = false;
        let mut path = None;
        for a in args {
            match a.as_str() {
                "--readonly" | "-readonly" => readonly = true,
                _ if path.is_none() => path = Some(PathBuf::from(a)),
                _ => return Err(Error::Usage(".open takes one path".into())),
            }
        }
        let Some(path) = path else {
            return Err(Error::Usage(".open takes a path (or :memory:)".into()));
        };
        let runner = if readonly {
            Runner::read_only(db::open_read_only(&path)?)
        } else {
            Runner::new(db::open(&path, Mode::Create)?)
        };
        let old = std::mem::replace(&mut self.runner, runner);
        self.path = path;
        if let Some(n) = old.close()? {
            eprintln!(
                "note: the transaction open on the previous database was rolled back \
                 ({n} {} since BEGIN discarded)",
                output::plural(n as u64, "statement")
            );
        }
        Ok(())
    }

    /// `.import [--csv|--jsonl] [--coerce] FILE TABLE`.
    fn import(&mut self, args: &[String]) -> Result<()> {
        let usage = || Error::Usage(".import [--csv|--jsonl] [--coerce] FILE TABLE".into());
        let mut format = None;
        let mut coerce = false;
        let mut rest = Vec::new();
        for a in args {
            match a.as_str() {
                "--csv" | "-csv" => format = Some(FileFormat::Csv),
                "--jsonl" | "-jsonl" | "--json" => format = Some(FileFormat::Jsonl),
                "--coerce" => coerce = true,
                s if s.starts_with("--") => return Err(usage()),
                _ => rest.push(a.as_str()),
            }
        }
        let [file, table] = rest.as_slice() else {
            return Err(usage());
        };
        if self.runner.is_read_only() {
            return Err(Error::ReadOnly(
                "the database was opened with -readonly; .import is refused".into(),
            ));
        }
        if self.runner.in_transaction() {
            return Err(Error::Usage(
                ".import commits its own transactions; COMMIT or ROLLBACK first".into(),
            ));
        }
        let file = Path::new(file);
        let format = crate::cmd::import::file_format(file, format)?;
        let shape = crate::cmd::import::scan(file, format)?;
        let mut done = 0;
        let summary = crate::cmd::import::import(
            self.runner.db(),
            &crate::cmd::import::Source {
                file,
                format,
                shape: &shape,
            },
            table,
            &crate::cmd::import::Options {
                batch: 1000,
                coerce,
            },
            &mut done,
        )?;
        let text = format!("{}\n", summary.message(table));
        self.say(&text);
        Ok(())
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
    let file = args.file.clone().or_else(|| args.file_opt.clone());
    // Read an input file before opening (or creating) the database.
    let file_text = match file.as_ref().filter(|f| f.as_os_str() != "-") {
        Some(f) => Some((
            std::fs::read_to_string(f).map_err(|e| Error::io(f, e))?,
            f.display().to_string(),
        )),
        None => None,
    };
    let runner = if args.readonly {
        Runner::read_only(db::open_read_only(&args.path)?)
    } else {
        Runner::new(db::open(&args.path, Mode::Create)?)
    };
    let interactive = args.command.is_empty() && file.is_none() && std::io::stdin().is_terminal();
    let mut sh = Shell {
        runner,
        path: args.path.clone(),
        format: args.format,
        headers: !args.noheader,
        timer: false,
        changes: false,
        bail: args.bail,
        params: Params::from_args(&args.param),
        sink: Sink::Stdout,
        pending: String::new(),
        pending_pos: (1, 1),
        line_no: 0,
        file: None,
        errors: 0,
        read_depth: 0,
        interactive,
        stop: None,
    };
    let mut r = Ok(());
    for c in &args.cmd {
        if sh.run_text(c, Some("-cmd".into())) == Flow::Quit {
            break;
        }
    }
    if sh.stop.is_none() {
        r = if !args.command.is_empty() {
            for c in &args.command {
                if sh.run_text(c, Some("-c".into())) == Flow::Quit {
                    break;
                }
            }
            Ok(())
        } else if let Some((text, name)) = &file_text {
            sh.run_text(text, Some(name.clone()));
            Ok(())
        } else if interactive {
            interactive_loop(&mut sh)
        } else {
            piped_loop(&mut sh)
        };
    }
    if let Err(e) = sh.set_output(None, false) {
        sh.fail(e, None);
    }
    let (errors, stop) = (sh.errors, sh.stop);
    let closed = sh.runner.close();
    r?;
    let rolled_back = closed?;
    match stop {
        Some(Stop::Interrupted) => {
            return Err(Error::Interrupted(match rolled_back {
                Some(n) => format!(
                    "stopped reading input; the open transaction was rolled back ({n} {} \
                     since BEGIN discarded); statements committed before it are kept and the \
                     database was closed cleanly",
                    output::plural(n as u64, "statement")
                ),
                None => "stopped reading input; completed statements are kept and the \
                         database was closed cleanly"
                    .into(),
            }))
        }
        Some(Stop::StdoutClosed) => return Err(Error::StdoutClosed),
        _ => {}
    }
    let failed = (errors > 0).then(|| {
        format!(
            "{errors} {} failed{}",
            output::plural(errors as u64, "command"),
            if stop == Some(Stop::Bail) {
                " (stopped at the first error: -bail)"
            } else {
                ""
            }
        )
    });
    match (rolled_back, interactive) {
        (Some(n), false) => {
            let msg = exec::open_transaction_message(n);
            Err(Error::Usage(match failed {
                Some(f) => format!("{msg}; {f}"),
                None => msg,
            }))
        }
        (Some(n), true) => {
            eprintln!("note: {}", exec::open_transaction_message(n));
            Ok(())
        }
        (None, false) => failed.map_or(Ok(()), |f| Err(Error::Usage(f))),
        (None, true) => Ok(()),
    }
}

fn piped_loop(sh: &mut Shell) -> Result<()> {
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| Error::io("stdin".as_ref(), e))?;
        if interrupt::interrupted() {
            sh.stop = Some(Stop::Interrupted);
        }
        if sh.stop.is_some() || sh.line(&line) == Flow::Quit || sh.stop.is_some() {
            return Ok(());
        }
    }
    if interrupt::interrupted() {
        sh.stop = Some(Stop::Interrupted);
        return Ok(());
    }
    sh.finish();
    Ok(())
}

/// Collects the lines of one multi-line statement so history keeps it as one entry.
#[derive(Debug, Default)]
struct HistoryEntry {
    lines: Vec<String>,
}

impl HistoryEntry {
    /// Adds a line; returns the whole entry once the statement (or dot-command) is
    /// complete, i.e. once nothing is pending.
    fn push(&mut self, line: &str, complete: bool) -> Option<String> {
        if !line.trim().is_empty() {
            self.lines.push(line.to_string());
        }
        if complete && !self.lines.is_empty() {
            Some(std::mem::take(&mut self.lines).join("\n"))
        } else {
            None
        }
    }

    fn clear(&mut self) {
        self.lines.clear();
    }
}

fn interactive_loop(sh: &mut Shell) -> Result<()> {
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
    output::outln!(
        "ToonDB shell on {} — type .help for help, .quit to leave",
        sh.path.display()
    );
    let mut entry = HistoryEntry::default();
    loop {
        let prompt = match (sh.pending.is_empty(), sh.runner.in_transaction()) {
            (false, _) => "   ...> ",
            (true, false) => "toondb> ",
            (true, true) => "toondb*> ",
        };
        match rl.readline(prompt) {
            Ok(line) => {
                let flow = sh.line(&line);
                if let Some(e) = entry.push(&line, sh.pending.is_empty()) {
                    let _ = rl.add_history_entry(e);
                }
                if flow == Flow::Quit || sh.stop.is_some() {
                    break;
                }
                if let Some(h) = rl.helper_mut() {
                    // `.open` may have switched databases: complete from the new one.
                    h.db = sh.runner.db().clone();
                }
            }
            Err(ReadlineError::Interrupted) => {
                // Ctrl-C: cancel the line (and any unterminated statement), keep going.
                sh.pending.clear();
                entry.clear();
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

#[cfg(test)]
mod tests {
    use super::*;
    use rustyline::history::{DefaultHistory, History};

    #[test]
    fn multi_line_statements_are_one_history_entry() {
        let mut e = HistoryEntry::default();
        assert_eq!(e.push("SELECT 1", false), None);
        assert_eq!(e.push("", false), None);
        assert_eq!(e.push("AS x;", true), Some("SELECT 1\nAS x;".to_string()));
        assert_eq!(e.push(".tables", true), Some(".tables".to_string()));
        // The entry survives the history file.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("h");
        let mut h = DefaultHistory::new();
        h.add("SELECT 1\nAS x;").unwrap();
        h.save(&file).unwrap();
        let mut back = DefaultHistory::new();
        back.load(&file).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(
            back.get(0, rustyline::history::SearchDirection::Forward)
                .unwrap()
                .unwrap()
                .entry,
            "SELECT 1\nAS x;"
        );
    }

    #[test]
    fn dot_command_words() {
        assert_eq!(
            split_words(".import 'my file.csv' t"),
            vec![".import", "my file.csv", "t"]
        );
        assert_eq!(split_words(".once \"\""), vec![".once", ""]);
    }
}
