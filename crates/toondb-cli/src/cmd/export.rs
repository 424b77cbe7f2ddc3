//! `toondb export PATH --table T [--format jsonl|csv] [--out FILE]`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use toondb_query::Value;

use crate::data::FileFormat;
use crate::db::{self, quote_ident, Mode};
use crate::error::{Error, Result};
use crate::output::value_to_json;

/// Arguments of `toondb export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Database directory.
    pub path: PathBuf,
    /// Table (or view) to export.
    #[arg(long, short)]
    pub table: String,
    /// Output format (default: from the --out extension, else jsonl).
    #[arg(long, short, value_enum)]
    pub format: Option<FileFormat>,
    /// Output file (default: stdout). Written to a temporary name and renamed when complete.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

/// Runs `toondb export`. Rows stream from the engine to the output as the scan produces them,
/// so memory does not grow with the table.
pub fn run(args: ExportArgs) -> Result<()> {
    let format = args
        .format
        .or_else(|| args.out.as_deref().and_then(FileFormat::from_path))
        .unwrap_or(FileFormat::Jsonl);
    db::check_path(&args.path, Mode::Existing)?;
    // Read-only: exporting writes nothing into the database directory.
    let db = toondb::Database::open_read_only(&args.path)?;
    let sql = format!("SELECT * FROM {}", quote_ident(&args.table));
    match &args.out {
        None => {
            let stdout = std::io::stdout().lock();
            let r = export(&db, &sql, format, stdout);
            let closed = db.close();
            match r {
                Err(Failure::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(Failure::Io(e)) => return Err(Error::io(Path::new("stdout"), e)),
                Err(Failure::Db(e)) => return Err(e.into()),
                Ok(_) => {}
            }
            Ok(closed?)
        }
        Some(path) => {
            let tmp = tmp_name(path);
            let f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            let r = export(&db, &sql, format, f);
            let closed = db.close();
            let r = r.and_then(|n| {
                File::open(&tmp)
                    .and_then(|f| f.sync_all())
                    .and_then(|()| std::fs::rename(&tmp, path))
                    .map(|()| n)
                    .map_err(Failure::Io)
            });
            let n = match r {
                Ok(n) => n,
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(match e {
                        Failure::Io(e) => Error::io(path, e),
                        Failure::Db(e) => e.into(),
                    });
                }
            };
            closed?;
            eprintln!(
                "exported {n} {} to {}",
                crate::output::plural(n, "row"),
                path.display()
            );
            Ok(())
        }
    }
}

/// Why an export stopped.
enum Failure {
    Io(std::io::Error),
    Db(toondb::Error),
}

/// Streams the rows of `sql` to `out` in `format`; returns how many were written.
fn export(
    db: &toondb::Database,
    sql: &str,
    format: FileFormat,
    out: impl Write,
) -> std::result::Result<u64, Failure> {
    let mut w = RowWriter::new(format, BufWriter::new(out));
    // The header goes out with the first row (rows carry their column names), or at the end
    // for an empty table.
    let mut names = Vec::new();
    let mut io: Option<std::io::Error> = None;
    let mut n = 0u64;
    let r = db.query_each_with_header(
        sql,
        &[],
        |h| names = h.columns().to_vec(),
        |row| {
            let written = if n == 0 {
                w.header(row.columns()).and_then(|()| w.row(row.values()))
            } else {
                w.row(row.values())
            };
            match written {
                Ok(()) => {
                    n += 1;
                    Ok(std::ops::ControlFlow::Continue(()))
                }
                Err(e) => {
                    io = Some(e);
                    Ok(std::ops::ControlFlow::Break(()))
                }
            }
        },
    );
    if let Some(e) = io {
        return Err(Failure::Io(e));
    }
    r.map_err(Failure::Db)?;
    if n == 0 {
        w.header(&names).map_err(Failure::Io)?;
    }
    w.finish().map_err(Failure::Io)?;
    Ok(n)
}

fn tmp_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// The text of a value in a CSV field: NULL is empty, BLOBs are hex.
fn csv_field(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Text(s) => s.clone(),
        Value::Blob(_) => value_to_json(v).as_str().unwrap_or_default().to_string(),
        // Shortest text that parses back to the same f64 (SQL's display form keeps only 15
        // significant digits).
        Value::Real(r) => format!("{r:?}"),
        Value::Integer(i) => i.to_string(),
    }
}

/// Writes rows as JSONL or CSV one at a time.
enum RowWriter<W: Write> {
    Jsonl { out: W, columns: Vec<String> },
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> RowWriter<W> {
    fn new(format: FileFormat, out: W) -> RowWriter<W> {
        match format {
            FileFormat::Jsonl => RowWriter::Jsonl {
                out,
                columns: Vec::new(),
            },
            FileFormat::Csv => RowWriter::Csv(Box::new(csv::Writer::from_writer(out))),
        }
    }

    fn header(&mut self, names: &[String]) -> std::io::Result<()> {
        match self {
            RowWriter::Jsonl { columns, .. } => {
                *columns = names.to_vec();
                Ok(())
            }
            RowWriter::Csv(c) => Ok(c.write_record(names)?),
        }
    }

    fn row(&mut self, values: &[Value]) -> std::io::Result<()> {
        match self {
            RowWriter::Jsonl { out, columns } => {
                let mut m = serde_json::Map::new();
                for (c, v) in columns.iter().zip(values) {
                    m.insert(c.clone(), value_to_json(v));
                }
                serde_json::to_writer(&mut *out, &serde_json::Value::Object(m))?;
                out.write_all(b"\n")
            }
            RowWriter::Csv(c) => Ok(c.write_record(values.iter().map(csv_field))?),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            RowWriter::Jsonl { mut out, .. } => out.flush(),
            RowWriter::Csv(mut c) => c.flush(),
        }
    }
}
