//! Runs SQLite's sqllogictest scripts (tests/slt/, see tests/slt/SOURCE.md) against ToonDB's
//! SQL engine on toondb-storage's in-memory engine.
//!
//! Every record of select1/select2 and of the evidence scripts (triggers included) must pass,
//! and so must every record of the per-feature scripts in tests/slt/features/
//! (UPSERT/RETURNING, triggers, ...; their expected results come from SQLite 3, see
//! generate.py there). Extra scripts or directories can be named in TOONDB_SLT
//! (colon-separated); their failures are reported and also make the run fail.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sqllogictest::{DBOutput, DefaultColumnType, QueryExpect, Record, Runner};
use toondb_query::{Database, Session, Value};

#[derive(Debug)]
struct SltError(String);
impl std::fmt::Display for SltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for SltError {}

/// Formats a value the way SQLite's sqllogictest driver does for the expected column type.
fn format_value(v: &Value, ty: Option<&DefaultColumnType>) -> String {
    if v.is_null() {
        return "NULL".into();
    }
    match ty {
        Some(DefaultColumnType::Integer) => v.to_i64().unwrap_or(0).to_string(),
        Some(DefaultColumnType::FloatingPoint) => sqlite_f3(v.to_f64().unwrap_or(0.0)),
        _ => {
            let s = v.to_text_lossy();
            if s.is_empty() {
                "(empty)".into()
            } else {
                s.chars()
                    .map(|c| if (' '..='~').contains(&c) { c } else { '@' })
                    .collect()
            }
        }
    }
}

struct Slt {
    session: Session,
    expected: Arc<Mutex<Vec<DefaultColumnType>>>,
}

impl sqllogictest::DB for Slt {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let is_query = self.expected.lock().map(|g| !g.is_empty()).unwrap_or(false);
        let r = match self.session.execute(sql) {
            Ok(r) => r,
            // SQLite's sqllogictest driver ignores errors from sqlite3_step() in queries and
            // reports the rows produced so far (none); prepare-time errors still fail.
            Err(toondb_query::Error::Runtime(_)) if is_query => {
                return Ok(DBOutput::Rows {
                    types: vec![DefaultColumnType::Any],
                    rows: vec![],
                })
            }
            Err(e) => return Err(SltError(e.to_string())),
        };
        if r.columns.is_empty() {
            return Ok(DBOutput::StatementComplete(r.rows_affected));
        }
        let types = self.expected.lock().map(|g| g.clone()).unwrap_or_default();
        let rows = r
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .enumerate()
                    .map(|(i, v)| format_value(v, types.get(i)))
                    .collect()
            })
            .collect();
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; r.columns.len()],
            rows,
        })
    }

    fn engine_name(&self) -> &str {
        "sqlite"
    }
}

/// SQLite's format lists one value per line; also accept one row per line.
fn validator(
    normalizer: sqllogictest::Normalizer,
    actual: &[Vec<String>],
    expected: &[String],
) -> bool {
    let exp: Vec<String> = expected.iter().map(normalizer).collect();
    let flat: Vec<String> = actual.iter().flatten().map(normalizer).collect();
    if flat == exp {
        return true;
    }
    let rows: Vec<String> = actual
        .iter()
        .map(|r| r.iter().map(normalizer).collect::<Vec<_>>().join(" "))
        .collect();
    rows == exp
}

#[derive(Default, Debug)]
struct Counts {
    pass: usize,
    fail: usize,
    skipped: usize,
}

fn cond_skips_sqlite(line: &str) -> Option<bool> {
    let mut w = line.split_whitespace();
    match (w.next(), w.next()) {
        (Some("onlyif"), Some(l)) => Some(l != "sqlite"),
        (Some("skipif"), Some(l)) => Some(l == "sqlite"),
        _ => None,
    }
}

/// Adapts SQLite-format details the crate's parser does not accept, keeping line numbers:
/// trailing `# comments` on condition lines, and conditions guarding a `halt`.
fn preprocess(text: &str) -> String {
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| {
            if cond_skips_sqlite(l).is_some() {
                l.split('#').next().unwrap_or("").trim_end().to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    for i in 0..lines.len() {
        if let Some(skips) = cond_skips_sqlite(&lines[i]) {
            if lines.get(i + 1).is_some_and(|n| n.trim() == "halt") {
                lines[i] = "# condition on halt".into();
                if skips {
                    lines[i + 1] = "# halt skipped for sqlite".into();
                }
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// `%.3f` as SQLite's printf renders it (at most 16 significant digits).
fn sqlite_f3(x: f64) -> String {
    if !x.is_finite() || x.abs() < 1e13 {
        return format!("{x:.3}");
    }
    let e = format!("{:.15e}", x.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let int_len = usize::try_from(exp + 1).unwrap_or(0);
    let mut all: String = digits;
    while all.len() < int_len + 3 {
        all.push('0');
    }
    let sign = if x < 0.0 { "-" } else { "" };
    format!("{sign}{}.{}", &all[..int_len], &all[int_len..int_len + 3])
}

fn skipped_for_sqlite(conds: &[sqllogictest::Condition]) -> bool {
    conds.iter().any(|c| match c {
        sqllogictest::Condition::OnlyIf { label } => label != "sqlite",
        sqllogictest::Condition::SkipIf { label } => label == "sqlite",
    })
}

fn run_file(path: &Path, failures: &mut Vec<String>) -> Counts {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => preprocess(&t),
        Err(e) => {
            failures.push(format!("{}: {e}", path.display()));
            return Counts {
                fail: 1,
                ..Counts::default()
            };
        }
    };
    let records =
        match sqllogictest::parse_with_name::<DefaultColumnType>(&text, path.display().to_string())
        {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{}: parse error: {e}", path.display()));
                return Counts {
                    fail: 1,
                    ..Counts::default()
                };
            }
        };
    let db = Database::open_in_memory().expect("open in-memory database");
    let expected = Arc::new(Mutex::new(Vec::new()));
    let exp2 = expected.clone();
    let mut runner = Runner::new(move || {
        let db = db.clone();
        let expected = exp2.clone();
        async move {
            Ok::<_, SltError>(Slt {
                session: db.session(),
                expected,
            })
        }
    });
    runner.add_label("sqlite");
    runner.with_validator(validator);
    runner.with_hash_threshold(8);
    let mut counts = Counts::default();
    let mut halted = false;
    let mut pending: Vec<sqllogictest::Condition> = Vec::new();
    for rec in records {
        if halted {
            break;
        }
        let (is_test, conds) = match &rec {
            Record::Statement { conditions, .. } | Record::Query { conditions, .. } => {
                (true, conditions.clone())
            }
            Record::Halt { .. } => {
                if !skipped_for_sqlite(&pending) {
                    halted = true;
                }
                (false, vec![])
            }
            Record::Condition(c) => {
                pending.push(c.clone());
                continue;
            }
            _ => (false, vec![]),
        };
        pending.clear();
        if is_test && skipped_for_sqlite(&conds) {
            counts.skipped += 1;
            continue;
        }
        if let Ok(mut g) = expected.lock() {
            g.clear();
            if let Record::Query {
                expected: QueryExpect::Results { types, .. },
                ..
            } = &rec
            {
                *g = types.clone();
            }
        }
        let loc = match &rec {
            Record::Statement { loc, .. } | Record::Query { loc, .. } => loc.to_string(),
            _ => String::new(),
        };
        let res = runner.run(rec);
        if !is_test {
            continue;
        }
        match res {
            Ok(_) => counts.pass += 1,
            Err(e) => {
                counts.fail += 1;
                let msg = e.to_string();
                let short: String = msg.chars().take(600).collect();
                failures.push(format!("{loc}: {short}"));
            }
        }
    }
    counts
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries {
            collect(&e, out);
        }
    } else if path.extension().is_some_and(|e| e == "test") {
        out.push(path.to_path_buf());
    }
}

fn main() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files = Vec::new();
    collect(&base, &mut files);
    if let Ok(extra) = std::env::var("TOONDB_SLT") {
        for p in extra.split(':').filter(|p| !p.is_empty()) {
            collect(Path::new(p), &mut files);
        }
    }
    // TOONDB_SLT_FILTER=word runs only the scripts whose path contains `word` (a quick loop
    // while working on one feature; the full run is the default).
    if let Ok(word) = std::env::var("TOONDB_SLT_FILTER") {
        files.retain(|f| f.to_string_lossy().contains(&word));
    }
    let mut failures = Vec::new();
    let mut total = Counts::default();
    for f in &files {
        let c = run_file(f, &mut failures);
        println!(
            "{:<60} pass {:>5}  fail {:>4}  skipped {:>4}",
            f.strip_prefix(&base).unwrap_or(f).display(),
            c.pass,
            c.fail,
            c.skipped
        );
        total.pass += c.pass;
        total.fail += c.fail;
        total.skipped += c.skipped;
    }
    println!(
        "TOTAL pass {} fail {} skipped {}",
        total.pass, total.fail, total.skipped
    );
    for f in failures.iter().take(50) {
        println!("FAIL {f}\n");
    }
    if total.fail > 0 {
        std::process::exit(1);
    }
}
