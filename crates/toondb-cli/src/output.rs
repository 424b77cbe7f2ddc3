//! Rendering query results (table, box, markdown, CSV, line, JSON, TOON) and writing to
//! stdout without panicking when the reader has gone away (`toondb demo | head -3`).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use clap::ValueEnum;
use toondb_query::Value;
use toondb_toon::EncodeOptions;

/// How query results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text table with a row count.
    Table,
    /// A pretty-printed JSON array of objects.
    Json,
    /// TOON (a tabular array for uniform rows).
    Toon,
    /// Comma-separated values (RFC 4180), with a header row unless headers are off.
    Csv,
    /// A table drawn with Unicode box characters.
    Box,
    /// A GitHub-flavoured Markdown table.
    Markdown,
    /// One `column = value` line per column, rows separated by a blank line.
    Line,
}

/// Every format name, in the order `.help` lists them.
pub const FORMAT_NAMES: &[&str] = &["table", "box", "markdown", "csv", "line", "json", "toon"];

impl Format {
    /// Parses a format name (`table`, `box`, `markdown`, `csv`, `line`, `json`, `toon`).
    pub fn parse(s: &str) -> Option<Format> {
        Format::from_str(s, true).ok()
    }

    /// The name as typed by users.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Toon => "toon",
            Format::Csv => "csv",
            Format::Box => "box",
            Format::Markdown => "markdown",
            Format::Line => "line",
        }
    }
}

/// Set once a write to stdout failed (the reader closed the pipe, or the disk is full).
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// The first stdout write error that was not a closed pipe (reported by `main`).
static STDOUT_ERROR: Mutex<Option<String>> = Mutex::new(None);

/// Writes `text` to stdout and flushes. Never panics: when the reader has gone away (`| head`)
/// the text is dropped, [`stdout_closed`] turns true and the command should stop quietly, as
/// sqlite3 does. Returns false when stdout is closed.
pub fn write_stdout(text: &str) -> bool {
    if STDOUT_CLOSED.load(Ordering::SeqCst) {
        return false;
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => true,
        Err(e) => {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                if let Ok(mut slot) = STDOUT_ERROR.lock() {
                    slot.get_or_insert_with(|| e.to_string());
                }
            }
            STDOUT_CLOSED.store(true, Ordering::SeqCst);
            false
        }
    }
}

/// True once stdout could not be written (see [`write_stdout`]).
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::SeqCst)
}

/// The first stdout error other than a closed pipe, if any.
pub fn stdout_error() -> Option<String> {
    STDOUT_ERROR.lock().ok().and_then(|s| s.clone())
}

/// `println!` that never panics on a closed stdout (see [`write_stdout`]).
macro_rules! outln {
    () => {
        $crate::output::write_stdout("\n")
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(&format!("{}\n", format_args!($($arg)*)))
    };
}
/// `print!` that never panics on a closed stdout (see [`write_stdout`]).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(&format!($($arg)*))
    };
}
pub(crate) use {out, outln};

/// A statement's result, independent of the API that produced it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultSet {
    /// Column names (empty for statements that return no rows).
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Value>>,
    /// Rows changed by INSERT/UPDATE/DELETE.
    pub rows_affected: u64,
}

impl From<toondb::Rows> for ResultSet {
    fn from(r: toondb::Rows) -> ResultSet {
        ResultSet {
            columns: r.columns().to_vec(),
            rows_affected: r.rows_affected(),
            rows: r.into_iter().map(toondb::Row::into_values).collect(),
        }
    }
}

/// One value as JSON: BLOBs become lowercase hex strings, non-finite reals `null`.
pub use toondb_query::format::value_to_json;

fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        // Writing to a String cannot fail.
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// The rows as a JSON array of objects keyed by column name.
pub fn rows_to_json(r: &ResultSet) -> serde_json::Value {
    serde_json::Value::Array(
        r.rows
            .iter()
            .map(|row| {
                let mut m = serde_json::Map::new();
                for (c, v) in r.columns.iter().zip(row) {
                    m.insert(c.clone(), value_to_json(v));
                }
                serde_json::Value::Object(m)
            })
            .collect(),
    )
}

/// The text shown in a table cell.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "NULL".to_string(),
        Value::Blob(b) => format!("x'{}'", hex(b)),
        // One line per row: control characters would break the alignment.
        Value::Text(s) => s
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
        v => v.to_string(),
    }
}

/// Renders `r` in `format` with a header row. See [`render_with`].
#[cfg(test)]
pub fn render(r: &ResultSet, format: Format) -> String {
    render_with(r, format, true)
}

/// Renders `r` in `format`; `headers` says whether the text formats (table, box, markdown,
/// csv) print the column names. Returns an empty string for a statement with no columns that
/// changed nothing (DDL) in the text formats. The result ends with a newline when non-empty.
pub fn render_with(r: &ResultSet, format: Format, headers: bool) -> String {
    if r.columns.is_empty() {
        return match format {
            Format::Json => format!("{{\"rows_affected\": {}}}\n", r.rows_affected),
            Format::Toon => format!("rows_affected: {}\n", r.rows_affected),
            _ if r.rows_affected == 0 => String::new(),
            _ => format!(
                "{} {} affected\n",
                r.rows_affected,
                plural(r.rows_affected, "row")
            ),
        };
    }
    match format {
        Format::Table | Format::Box | Format::Markdown | Format::Line if is_context(r) => {
            // A CONTEXT statement's result: show the TOON document as it is, not squeezed
            // into one table cell.
            let row = &r.rows[0];
            format!(
                "{}\n({} tokens, budget {})\n",
                cell_raw(&row[0]),
                cell_raw(&row[1]),
                cell_raw(&row[2])
            )
        }
        Format::Table => render_table_with(r, None, headers),
        Format::Box => render_box(r, headers),
        Format::Markdown => render_markdown(r, headers),
        Format::Csv => render_csv(r, headers),
        Format::Line => render_line(r),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&rows_to_json(r)).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Toon => {
            let mut s = toon(&rows_to_json(r));
            s.push('\n');
            s
        }
    }
}

/// The text of a value in a CSV field: NULL is empty, BLOBs are hex, REALs in shortest
/// round-trip form.
pub fn csv_field(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Text(s) => s.clone(),
        Value::Blob(b) => hex(b),
        Value::Real(r) => format!("{r:?}"),
        Value::Integer(i) => i.to_string(),
    }
}

fn render_csv(r: &ResultSet, headers: bool) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    // Writing CSV into a Vec cannot fail.
    if headers {
        let _ = w.write_record(&r.columns);
    }
    for row in &r.rows {
        let _ = w.write_record(row.iter().map(csv_field));
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Cells, column widths and right-alignment flags shared by the table-like formats.
struct Grid {
    cells: Vec<Vec<String>>,
    widths: Vec<usize>,
    right: Vec<Vec<bool>>,
}

fn grid(r: &ResultSet, max_width: Option<usize>, escape: fn(String) -> String) -> Grid {
    let clip = |s: String| match max_width {
        Some(w) if s.chars().count() > w => {
            let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
            t.push('…');
            t
        }
        _ => s,
    };
    let cells: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| row.iter().map(|v| escape(clip(cell(v)))).collect())
        .collect();
    let right = r
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|v| matches!(v, Value::Integer(_) | Value::Real(_)))
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = r
        .columns
        .iter()
        .map(|c| escape(c.clone()).chars().count())
        .collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    Grid {
        cells,
        widths,
        right,
    }
}

fn pad(s: &str, w: usize, right: bool) -> String {
    let fill = " ".repeat(w.saturating_sub(s.chars().count()));
    if right {
        format!("{fill}{s}")
    } else {
        format!("{s}{fill}")
    }
}

fn render_box(r: &ResultSet, headers: bool) -> String {
    let g = grid(r, None, |s| s);
    let rule = |l: &str, m: &str, rt: &str| {
        let parts: Vec<String> = g.widths.iter().map(|&w| "─".repeat(w + 2)).collect();
        format!("{l}{}{rt}\n", parts.join(m))
    };
    let line = |cells: Vec<String>| format!("│ {} │\n", cells.join(" │ "));
    let mut out = rule("┌", "┬", "┐");
    if headers {
        out.push_str(&line(
            r.columns
                .iter()
                .zip(&g.widths)
                .map(|(c, &w)| pad(c, w, false))
                .collect(),
        ));
        out.push_str(&rule("├", "┼", "┤"));
    }
    for (row, right) in g.cells.iter().zip(&g.right) {
        out.push_str(&line(
            row.iter()
                .zip(&g.widths)
                .zip(right)
                .map(|((c, &w), &rt)| pad(c, w, rt))
                .collect(),
        ));
    }
    out.push_str(&rule("└", "┴", "┘"));
    out
}

fn render_markdown(r: &ResultSet, headers: bool) -> String {
    let g = grid(r, None, |s| s.replace('|', "\\|"));
    let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    let mut out = String::new();
    // Markdown needs a header row; with headers off it is left blank.
    out.push_str(&line(
        r.columns
            .iter()
            .zip(&g.widths)
            .map(|(c, &w)| {
                let c = if headers {
                    c.replace('|', "\\|")
                } else {
                    String::new()
                };
                pad(&c, w, false)
            })
            .collect(),
    ));
    let numeric: Vec<bool> = (0..g.widths.len())
        .map(|i| !g.right.is_empty() && g.right.iter().all(|row| row.get(i) == Some(&true)))
        .collect();
    let seps: Vec<String> = g
        .widths
        .iter()
        .zip(&numeric)
        .map(|(&w, &num)| {
            if num {
                format!("{}:", "-".repeat(w + 1))
            } else {
                "-".repeat(w + 2)
            }
        })
        .collect();
    out.push_str(&format!("|{}|\n", seps.join("|")));
    for (row, right) in g.cells.iter().zip(&g.right) {
        out.push_str(&line(
            row.iter()
                .zip(&g.widths)
                .zip(right)
                .map(|((c, &w), &rt)| pad(c, w, rt))
                .collect(),
        ));
    }
    out
}

fn render_line(r: &ResultSet) -> String {
    let w = r
        .columns
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (i, row) in r.rows.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for (c, v) in r.columns.iter().zip(row) {
            out.push_str(&format!("{} = {}\n", pad(c, w, true), cell_raw_line(v)));
        }
    }
    out
}

fn cell_raw_line(v: &Value) -> String {
    match v {
        Value::Null => "NULL".to_string(),
        Value::Blob(b) => format!("x'{}'", hex(b)),
        Value::Text(s) => s.clone(),
        v => v.to_string(),
    }
}

/// True for the one-row `context, tokens, budget` result of a `CONTEXT` statement.
fn is_context(r: &ResultSet) -> bool {
    r.columns == ["context", "tokens", "budget"]
        && r.rows.len() == 1
        && matches!(
            r.rows[0].as_slice(),
            [Value::Text(_), Value::Integer(_), Value::Integer(_)]
        )
}

fn cell_raw(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        v => v.to_string(),
    }
}

/// TOON text of a JSON value with default options.
pub fn toon(v: &serde_json::Value) -> String {
    toondb_toon::encode_json(v, &EncodeOptions::default())
}

/// "row" or "rows".
pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

/// An aligned text table (numbers right-aligned) followed by `(N rows)`. Cells longer than
/// `max_width` characters (if given) are cut with `…`.
pub fn render_table(r: &ResultSet, max_width: Option<usize>) -> String {
    render_table_with(r, max_width, true)
}

fn render_table_with(r: &ResultSet, max_width: Option<usize>, headers: bool) -> String {
    let g = grid(r, max_width, |s| s);
    let mut out = String::new();
    if headers {
        let header: Vec<String> = r
            .columns
            .iter()
            .zip(&g.widths)
            .map(|(c, &w)| pad(c, w, false))
            .collect();
        out.push_str(header.join(" | ").trim_end());
        out.push('\n');
        let sep: Vec<String> = g.widths.iter().map(|&w| "-".repeat(w)).collect();
        out.push_str(&sep.join("-+-"));
        out.push('\n');
    }
    for (row, right) in g.cells.iter().zip(&g.right) {
        let parts: Vec<String> = row
            .iter()
            .zip(&g.widths)
            .zip(right)
            .map(|((c, &w), &rt)| pad(c, w, rt))
            .collect();
        out.push_str(parts.join(" | ").trim_end());
        out.push('\n');
    }
    let n = r.rows.len() as u64;
    out.push_str(&format!("({n} {})\n", plural(n, "row")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ResultSet {
        ResultSet {
            columns: vec!["id".into(), "name".into(), "score".into()],
            rows: vec![
                vec![
                    Value::Integer(1),
                    Value::Text("Ada".into()),
                    Value::Real(2.5),
                ],
                vec![
                    Value::Integer(10),
                    Value::Null,
                    Value::Blob(vec![0xab, 0x01]),
                ],
            ],
            rows_affected: 0,
        }
    }

    #[test]
    fn table_aligns_and_counts() {
        let t = render(&sample(), Format::Table);
        assert_eq!(t, "id | name | score\n---+------+--------\n 1 | Ada  |     2.5\n10 | NULL | x'ab01'\n(2 rows)\n");
    }

    #[test]
    fn json_and_toon() {
        let j = render(&sample(), Format::Json);
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(
            v,
            serde_json::json!([{"id":1,"name":"Ada","score":2.5},{"id":10,"name":null,"score":"ab01"}])
        );
        assert_eq!(
            render(&sample(), Format::Toon),
            "[2]{id,name,score}:\n  1,Ada,2.5\n  10,null,ab01\n"
        );
    }

    #[test]
    fn statements_without_rows() {
        let r = ResultSet {
            rows_affected: 3,
            ..ResultSet::default()
        };
        assert_eq!(render(&r, Format::Table), "3 rows affected\n");
        assert_eq!(render(&r, Format::Json), "{\"rows_affected\": 3}\n");
        assert_eq!(render(&ResultSet::default(), Format::Table), "");
    }

    #[test]
    fn context_results_print_their_document() {
        let r = ResultSet {
            columns: vec!["context".into(), "tokens".into(), "budget".into()],
            rows: vec![vec![
                Value::Text("a: 1\nb: 2".into()),
                Value::Integer(8),
                Value::Integer(100),
            ]],
            rows_affected: 0,
        };
        assert_eq!(
            render(&r, Format::Table),
            "a: 1\nb: 2\n(8 tokens, budget 100)\n"
        );
        assert!(render(&r, Format::Json).contains("\"tokens\": 8"));
    }

    #[test]
    fn csv_box_markdown_line() {
        let r = sample();
        assert_eq!(
            render(&r, Format::Csv),
            "id,name,score\n1,Ada,2.5\n10,,ab01\n"
        );
        assert_eq!(render_with(&r, Format::Csv, false), "1,Ada,2.5\n10,,ab01\n");
        assert_eq!(
            render(&r, Format::Box),
            "┌────┬──────┬─────────┐\n\
             │ id │ name │ score   │\n\
             ├────┼──────┼─────────┤\n\
             │  1 │ Ada  │     2.5 │\n\
             │ 10 │ NULL │ x'ab01' │\n\
             └────┴──────┴─────────┘\n"
        );
        assert_eq!(
            render(&r, Format::Markdown),
            "| id | name | score   |\n\
             |---:|------|---------|\n\
             |  1 | Ada  |     2.5 |\n\
             | 10 | NULL | x'ab01' |\n"
        );
        assert_eq!(
            render(&r, Format::Line),
            "   id = 1\n name = Ada\nscore = 2.5\n\n   id = 10\n name = NULL\nscore = x'ab01'\n"
        );
        assert_eq!(
            render_with(&r, Format::Table, false),
            " 1 | Ada  |     2.5\n10 | NULL | x'ab01'\n(2 rows)\n"
        );
    }

    #[test]
    fn markdown_escapes_pipes() {
        let r = ResultSet {
            columns: vec!["a|b".into()],
            rows: vec![vec![Value::Text("x|y".into())]],
            rows_affected: 0,
        };
        assert_eq!(
            render(&r, Format::Markdown),
            "| a\\|b |\n|------|\n| x\\|y |\n"
        );
    }

    #[test]
    fn clipping() {
        let r = ResultSet {
            columns: vec!["t".into()],
            rows: vec![vec![Value::Text("abcdef".into())]],
            rows_affected: 0,
        };
        assert!(render_table(&r, Some(4)).contains("abc…"));
    }
}
