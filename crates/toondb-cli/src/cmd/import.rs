//! `toondb import PATH FILE --table T`: loads a CSV or JSONL file into a SQL table,
//! creating the table with inferred column types if it does not exist.
//!
//! The file is read twice: a first pass validates every record and infers the columns (so a
//! malformed line fails the import before anything is written), the second inserts batches
//! of rows, one transaction per batch. Ctrl-C is honoured between batches: the batches
//! already committed stay, and the database is closed cleanly.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use toondb::Database;
use toondb_query::{DataType, Value};

use crate::data::{self, FileFormat, Kind, RecordReader, Shape};
use crate::db::{self, quote_ident, Mode};
use crate::error::{Error, Result};
use crate::interrupt;

/// Arguments of `toondb import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Database directory (created if missing).
    pub path: PathBuf,
    /// Input file (`.csv`, `.jsonl`, `.ndjson`; see --format).
    pub file: PathBuf,
    /// Target table (created with inferred column types if missing).
    #[arg(long, short)]
    pub table: String,
    /// Input format (default: from the file extension).
    #[arg(long, short, value_enum)]
    pub format: Option<FileFormat>,
    /// Rows per transaction.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: u32,
    /// Into an existing table, store values that do not fit a column's declared type the
    /// way SQLite does (by type affinity) instead of refusing the file.
    #[arg(long)]
    pub coerce: bool,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Rows inserted and committed.
    pub rows: u64,
    /// Whether the table was created.
    pub created: bool,
    /// The (CSV) file had a header but no data rows.
    pub header_only: bool,
}

impl Summary {
    /// `imported N rows into T (new table)`, without the timing.
    pub fn message(&self, table: &str) -> String {
        let mut s = format!(
            "imported {} {} into {table}",
            self.rows,
            crate::output::plural(self.rows, "row")
        );
        match (self.created, self.header_only) {
            (true, true) => s.push_str(
                " (new table with TEXT columns: the file has a header row but no data rows)",
            ),
            (true, false) => s.push_str(" (new table)"),
            (false, true) => s.push_str(" (the file has a header row but no data rows)"),
            (false, false) => {}
        }
        s
    }
}

/// The input format: `format`, else from the file extension.
pub fn file_format(file: &Path, format: Option<FileFormat>) -> Result<FileFormat> {
    format
        .or_else(|| FileFormat::from_path(file))
        .ok_or_else(|| {
            Error::Usage(format!(
            "cannot tell the format of {} from its extension; pass --format jsonl or --format csv",
            file.display()
        ))
        })
}

/// Validates `file` completely (nothing is written if it is malformed).
pub fn scan(file: &Path, format: FileFormat) -> Result<Shape> {
    let shape = data::scan(file, format, interrupt::interrupted)?;
    if shape.columns.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no records to import (the file is empty)",
            file.display()
        )));
    }
    Ok(shape)
}

/// Runs `toondb import`.
pub fn run(args: ImportArgs) -> Result<()> {
    let format = file_format(&args.file, args.format)?;
    if args.table.trim().is_empty() {
        return Err(Error::Usage("--table must not be empty".into()));
    }
    // Validate the input before creating anything.
    let start = Instant::now();
    let shape = scan(&args.file, format)?;
    // A database this import creates is removed again if nothing gets committed.
    let fresh = !db::is_memory(&args.path) && !db::is_database(&args.path);
    let existed = args.path.exists();
    let db = db::open(&args.path, Mode::Create)?;
    let mut done = 0;
    let result = import(
        &db,
        &Source {
            file: &args.file,
            format,
            shape: &shape,
        },
        &args.table,
        &Options {
            batch: args.batch as usize,
            coerce: args.coerce,
        },
        &mut done,
    );
    let closed = db.close();
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            if fresh && done == 0 {
                remove_created(&args.path, existed);
            }
            return Err(e);
        }
    };
    closed?;
    crate::output::outln!(
        "{} in {:.2}s",
        summary.message(&args.table),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Removes the database files an import created in `path` before it failed: the whole
/// directory if the import created it, else only its contents (it was empty before).
fn remove_created(path: &Path, existed: bool) {
    // Best effort: the import's error is what the user needs to see.
    if !existed {
        let _ = std::fs::remove_dir_all(path);
    } else if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            let p = e.path();
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
}

/// The file being imported, with the result of [`scan`] on it.
pub struct Source<'a> {
    /// The file.
    pub file: &'a Path,
    /// Its format.
    pub format: FileFormat,
    /// Its columns and record count.
    pub shape: &'a Shape,
}

/// How rows are inserted.
pub struct Options {
    /// Rows per transaction.
    pub batch: usize,
    /// Store values by SQLite-style affinity instead of refusing mismatched types.
    pub coerce: bool,
}

/// Column of the target table that each input column goes to, with its kind.
struct Target {
    /// Quoted column names, in input-column order.
    columns: Vec<String>,
    /// How values of each column are typed.
    kinds: Vec<Kind>,
    /// Declared types (for messages), in input-column order.
    decls: Vec<String>,
    created: bool,
}

fn kind_of(decl: &str) -> Kind {
    match DataType::from_type_name(decl) {
        DataType::Integer | DataType::Boolean => Kind::Integer,
        DataType::Real => Kind::Real,
        DataType::Text => Kind::Text,
        DataType::Blob | DataType::Null => Kind::Null,
    }
}

/// Finds (or plans to create) the table; returns the CREATE statement if it must be made.
fn target(db: &Database, table: &str, shape: &Shape) -> Result<(Target, Option<String>)> {
    let cat = db::load_catalog(db)?;
    if let Some(t) = cat.table(table) {
        let mut columns = Vec::new();
        let mut kinds = Vec::new();
        let mut decls = Vec::new();
        for (name, _) in &shape.columns {
            let Some(i) = t.column_index(name) else {
                return Err(Error::Usage(format!(
                    "table {} has no column `{name}` (found in the input)",
                    t.name
                )));
            };
            columns.push(quote_ident(&t.columns[i].name));
            kinds.push(kind_of(&t.columns[i].decl_type));
            decls.push(t.columns[i].decl_type.clone());
        }
        return Ok((
            Target {
                columns,
                kinds,
                decls,
                created: false,
            },
            None,
        ));
    }
    if cat.view(table).is_some() {
        return Err(Error::Usage(format!(
            "{table} is a view; import into a table"
        )));
    }
    let defs: Vec<String> = shape
        .columns
        .iter()
        .map(|(n, k)| format!("{} {}", quote_ident(n), k.sql_type()))
        .collect();
    let ddl = format!("CREATE TABLE {} ({})", quote_ident(table), defs.join(", "));
    let target = Target {
        columns: shape.columns.iter().map(|(n, _)| quote_ident(n)).collect(),
        kinds: shape.columns.iter().map(|(_, k)| *k).collect(),
        decls: shape
            .columns
            .iter()
            .map(|(_, k)| k.sql_type().to_string())
            .collect(),
        created: true,
    };
    Ok((target, Some(ddl)))
}

fn progress(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{bar:30}] {human_pos}/{human_len} rows, eta {eta}")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}

/// Imports `src` into `table`. Into an existing table, every value is first checked
/// against its column's declared type (unless `opts.coerce`), so a mismatch fails the
/// import before anything is written. `done` counts the rows committed so far (also on
/// error).
pub fn import(
    db: &Database,
    src: &Source<'_>,
    table: &str,
    opts: &Options,
    done: &mut u64,
) -> Result<Summary> {
    let (file, format, shape, batch) = (src.file, src.format, src.shape, opts.batch.max(1));
    let (target, ddl) = target(db, table, shape)?;
    let strict = !target.created && !opts.coerce;
    if strict {
        check_types(src, table, &target)?;
    }
    let pb = progress(shape.records);
    let mut reader = RecordReader::open(file, format)?;
    let mut ddl = ddl;
    let ncols = target.columns.len();
    let mut rows: Vec<(u64, Vec<Value>)> = Vec::with_capacity(batch);
    loop {
        rows.clear();
        while rows.len() < batch {
            let Some(rec) = reader.next_record()? else {
                break;
            };
            let mut vals = vec![Value::Null; ncols];
            for (name, raw) in rec {
                // Every name was seen by `scan`, so it is in `shape.columns`.
                if let Some(i) = shape
                    .columns
                    .iter()
                    .position(|(n, _)| n.eq_ignore_ascii_case(&name))
                {
                    let kind = target.kinds[i];
                    vals[i] = if target.created {
                        raw.into_value(kind)
                    } else if opts.coerce {
                        raw.into_coerced(kind)
                    } else {
                        // Checked above; a mismatch here means the file changed meanwhile.
                        raw.into_checked(kind).map_err(|what| {
                            type_error(file, reader.line(), i, &name, &what, table, &target)
                        })?
                    };
                }
            }
            rows.push((reader.line(), vals));
        }
        if rows.is_empty() && ddl.is_none() {
            break;
        }
        let committed = *done;
        insert_batch(db, table, &target, ddl.as_deref(), &rows, file).map_err(|e| match e {
            Error::Input { .. } => e,
            e if committed > 0 => Error::Usage(format!(
                "{e} ({committed} {} imported and committed before it)",
                if committed == 1 {
                    "row was"
                } else {
                    "rows were"
                }
            )),
            e => e,
        })?;
        ddl = None;
        *done += rows.len() as u64;
        pb.set_position(*done);
        if rows.len() < batch {
            break;
        }
        if interrupt::interrupted() {
            pb.abandon();
            return Err(Error::Interrupted(format!(
                "{} of {} rows were imported and committed into {table}; the database was closed cleanly",
                *done, shape.records
            )));
        }
    }
    pb.finish_and_clear();
    Ok(Summary {
        rows: *done,
        created: target.created,
        header_only: shape.records == 0,
    })
}

/// Reads `src` once more and checks every value against the declared type of its column.
fn check_types(src: &Source<'_>, table: &str, target: &Target) -> Result<()> {
    let mut reader = RecordReader::open(src.file, src.format)?;
    while let Some(rec) = reader.next_record()? {
        for (name, raw) in rec {
            if let Some(i) = src
                .shape
                .columns
                .iter()
                .position(|(n, _)| n.eq_ignore_ascii_case(&name))
            {
                if let Err(what) = raw.into_checked(target.kinds[i]) {
                    return Err(type_error(
                        src.file,
                        reader.line(),
                        i,
                        &name,
                        &what,
                        table,
                        target,
                    ));
                }
            }
        }
    }
    Ok(())
}

fn type_error(
    file: &Path,
    line: u64,
    column: usize,
    name: &str,
    what: &str,
    table: &str,
    target: &Target,
) -> Error {
    let decl = target.decls.get(column).map_or("", String::as_str);
    Error::input(
        file,
        line,
        format!(
            "column {} (`{name}`): {what} does not fit {table}.{name}, declared {decl}; \
             nothing was imported (pass --coerce to store such values as SQLite would)",
            column + 1
        ),
    )
}

fn insert_sql(table: &str, target: &Target, nrows: usize) -> String {
    let one = format!("({})", vec!["?"; target.columns.len()].join(", "));
    format!(
        "INSERT INTO {} ({}) VALUES {}",
        quote_ident(table),
        target.columns.join(", "),
        vec![one.as_str(); nrows].join(", ")
    )
}

/// Inserts `rows` in one transaction (creating the table first when `ddl` is given). On a
/// failure, finds the offending row to name its line.
fn insert_batch(
    db: &Database,
    table: &str,
    target: &Target,
    ddl: Option<&str>,
    rows: &[(u64, Vec<Value>)],
    file: &Path,
) -> Result<()> {
    let params: Vec<Value> = rows.iter().flat_map(|(_, v)| v.iter().cloned()).collect();
    let sql = insert_sql(table, target, rows.len());
    let r = db.transaction(|tx| {
        if let Some(ddl) = ddl {
            tx.execute(ddl, &[])?;
        }
        if !rows.is_empty() {
            tx.execute(&sql, &params)?;
        }
        Ok(())
    });
    let Err(e) = r else { return Ok(()) };
    if let [(line, _)] = rows {
        return Err(Error::input(file, *line, e.to_string()));
    }
    if rows.len() > 1 {
        // Replay row by row (rolled back) to say which line is at fault.
        let one = insert_sql(table, target, 1);
        let mut tx = db.begin()?;
        if let Some(ddl) = ddl {
            tx.execute(ddl, &[])?;
        }
        for (line, vals) in rows {
            if let Err(e) = tx.execute(&one, vals) {
                tx.rollback();
                return Err(Error::input(file, *line, e.to_string()));
            }
        }
        tx.rollback();
    }
    Err(e.into())
}
