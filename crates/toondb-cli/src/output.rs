//! Rendering query results as an aligned text table, JSON or TOON.

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
}

impl Format {
    /// Parses `table`, `json` or `toon`.
    pub fn parse(s: &str) -> Option<Format> {
        Format::from_str(s, true).ok()
    }

    /// The name as typed by users.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Toon => "toon",
        }
    }
}

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

/// Renders `r` in `format`. Returns an empty string for a statement with no columns that
/// changed nothing (DDL) in table format. The result ends with a newline when non-empty.
pub fn render(r: &ResultSet, format: Format) -> String {
    if r.columns.is_empty() {
        return match format {
            Format::Table if r.rows_affected == 0 => String::new(),
            Format::Table => format!(
                "{} {} affected\n",
                r.rows_affected,
                plural(r.rows_affected, "row")
            ),
            Format::Json => format!("{{\"rows_affected\": {}}}\n", r.rows_affected),
            Format::Toon => format!("rows_affected: {}\n", r.rows_affected),
        };
    }
    match format {
        Format::Table if is_context(r) => {
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
        Format::Table => render_table(r, None),
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
        .map(|row| row.iter().map(|v| clip(cell(v))).collect())
        .collect();
    let mut widths: Vec<usize> = r.columns.iter().map(|c| c.chars().count()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let pad = |s: &str, w: usize, right: bool| {
        let fill = " ".repeat(w.saturating_sub(s.chars().count()));
        if right {
            format!("{fill}{s}")
        } else {
            format!("{s}{fill}")
        }
    };
    let mut out = String::new();
    let header: Vec<String> = r
        .columns
        .iter()
        .zip(&widths)
        .map(|(c, &w)| pad(c, w, false))
        .collect();
    out.push_str(header.join(" | ").trim_end());
    out.push('\n');
    let sep: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    out.push_str(&sep.join("-+-"));
    out.push('\n');
    for (row, vals) in cells.iter().zip(&r.rows) {
        let parts: Vec<String> = row
            .iter()
            .zip(&widths)
            .zip(vals)
            .map(|((c, &w), v)| pad(c, w, matches!(v, Value::Integer(_) | Value::Real(_))))
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
    fn clipping() {
        let r = ResultSet {
            columns: vec!["t".into()],
            rows: vec![vec![Value::Text("abcdef".into())]],
            rows_affected: 0,
        };
        assert!(render_table(&r, Some(4)).contains("abc…"));
    }
}
