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
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Rows inserted and committed.
    pub rows: u64,
    /// Whether the table was created.
    pub created: bool,
}

/// Runs `toondb import`.
pub fn run(args: ImportArgs) -> Result<()> {
    let format = match args.format.or_else(|| FileFormat::from_path(&args.file)) {
        Some(f) => f,
        None => {
            return Err(Error::Usage(format!(
            "cannot tell the format of {} from its extension; pass --format jsonl or --format csv",
            args.file.display()
        )))
        }
    };
    if args.table.trim().is_empty() {
        return Err(Error::Usage("--table must not be empty".into()));
    }
    // Validate the input before creating anything.
    let start = Instant::now();
    let shape = data::scan(&args.file, format, interrupt::interrupted)?;
    if shape.columns.is_empty() {
        return Err(Error::input(
            &args.file,
            0,
            "no records (or no columns) to import",
        ));
    }
    let db = db::open(&args.path, Mode::Create)?;
    let result = import(
        &db,
        &args.file,
        format,
        &args.table,
        &shape,
        args.batch as usize,
    );
    let closed = db.close();
    let summary = result?;
    closed?;
    println!(
        "imported {} {} into {}{} in {:.2}s",
        summary.rows,
        crate::output::plural(summary.rows, "row"),
        args.table,
        if summary.created { " (new table)" } else { "" },
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Column of the target table that each input column goes to, with its kind.
struct Target {
    /// Quoted column names, in input-column order.
    columns: Vec<String>,
    /// How values of each column are typed.
    kinds: Vec<Kind>,
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
        for (name, _) in &shape.columns {
            let Some(i) = t.column_index(name) else {
                return Err(Error::Usage(format!(
                    "table {} has no column `{name}` (found in the input)",
                    t.name
                )));
            };
            columns.push(quote_ident(&t.columns[i].name));
            kinds.push(kind_of(&t.columns[i].decl_type));
        }
        return Ok((
            Target {
                columns,
                kinds,
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

/// Imports `file` into `table`. `shape` is the result of [`data::scan`] on the same file.
pub fn import(
    db: &Database,
    file: &Path,
    format: FileFormat,
    table: &str,
    shape: &Shape,
    batch: usize,
) -> Result<Summary> {
    let (target, ddl) = target(db, table, shape)?;
    let pb = progress(shape.records);
    let mut reader = RecordReader::open(file, format)?;
    let mut ddl = ddl;
    let mut done = 0u64;
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
                    vals[i] = raw.into_value(target.kinds[i]);
                }
            }
            rows.push((reader.line(), vals));
        }
        if rows.is_empty() && ddl.is_none() {
            break;
        }
        insert_batch(db, table, &target, ddl.as_deref(), &rows, file).map_err(|e| match e {
            Error::Input { .. } => e,
            e if done > 0 => Error::Usage(format!(
                "{e} ({done} rows were imported and committed before it)"
            )),
            e => e,
        })?;
        ddl = None;
        done += rows.len() as u64;
        pb.set_position(done);
        if rows.len() < batch {
            break;
        }
        if interrupt::interrupted() {
            pb.abandon();
            return Err(Error::Interrupted(format!(
                "{done} of {} rows were imported and committed into {table}; the database was closed cleanly",
                shape.records
            )));
        }
    }
    pb.finish_and_clear();
    Ok(Summary {
        rows: done,
        created: target.created,
    })
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
