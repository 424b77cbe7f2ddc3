//! `toondb export PATH --table T [--format jsonl|csv] [--out FILE]`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use toondb_query::Value;

use crate::data::FileFormat;
use crate::db::{self, quote_ident, Mode};
use crate::error::{Error, Result};
use crate::output::{value_to_json, ResultSet};

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

/// Runs `toondb export`.
pub fn run(args: ExportArgs) -> Result<()> {
    let format = args
        .format
        .or_else(|| args.out.as_deref().and_then(FileFormat::from_path))
        .unwrap_or(FileFormat::Jsonl);
    db::check_path(&args.path, Mode::Existing)?;
    // Read-only: exporting writes nothing into the database directory.
    let db = toondb::Database::open_read_only(&args.path)?;
    let rows = db.query(&format!("SELECT * FROM {}", quote_ident(&args.table)), &[]);
    let closed = db.close();
    let rs: ResultSet = rows?.into();
    closed?;
    match &args.out {
        None => {
            let stdout = std::io::stdout().lock();
            match write(&rs, format, stdout) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r.map_err(|e| Error::io(Path::new("stdout"), e)),
            }
        }
        Some(path) => {
            let tmp = tmp_name(path);
            let f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            let r = write(&rs, format, f)
                .and_then(|()| File::open(&tmp)?.sync_all())
                .and_then(|()| std::fs::rename(&tmp, path));
            if let Err(e) = r {
                let _ = std::fs::remove_file(&tmp);
                return Err(Error::io(path, e));
            }
            let n = rs.rows.len() as u64;
            eprintln!(
                "exported {n} {} to {}",
                crate::output::plural(n, "row"),
                path.display()
            );
            Ok(())
        }
    }
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

/// Writes `rs` as JSONL or CSV.
pub fn write(rs: &ResultSet, format: FileFormat, out: impl Write) -> std::io::Result<()> {
    let mut w = BufWriter::new(out);
    match format {
        FileFormat::Jsonl => {
            for row in &rs.rows {
                let mut m = serde_json::Map::new();
                for (c, v) in rs.columns.iter().zip(row) {
                    m.insert(c.clone(), value_to_json(v));
                }
                serde_json::to_writer(&mut w, &serde_json::Value::Object(m))?;
                w.write_all(b"\n")?;
            }
        }
        FileFormat::Csv => {
            let mut c = csv::Writer::from_writer(&mut w);
            c.write_record(&rs.columns)?;
            for row in &rs.rows {
                c.write_record(row.iter().map(csv_field))?;
            }
            c.flush()?;
        }
    }
    w.flush()
}
