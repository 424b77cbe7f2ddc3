//! Result rows shared by every benchmark: Markdown table and JSON output.

use std::path::Path;

use serde_json::{Map, Value};

/// One measured configuration: an ordered map of column name to value.
pub type Row = Map<String, Value>;

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => {
                if f.abs() >= 100.0 {
                    format!("{f:.0}")
                } else if f.abs() >= 1.0 {
                    format!("{f:.2}")
                } else {
                    format!("{f:.3}")
                }
            }
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Renders rows as a Markdown table; columns are the union of keys in first-seen order.
/// Keys starting with `_` are JSON-only.
pub fn markdown(rows: &[Row]) -> String {
    let mut cols: Vec<&str> = Vec::new();
    for r in rows {
        for k in r.keys() {
            if !k.starts_with('_') && !cols.contains(&k.as_str()) {
                cols.push(k);
            }
        }
    }
    let mut out = format!(
        "| {} |\n|{}\n",
        cols.join(" | "),
        " --- |".repeat(cols.len())
    );
    for r in rows {
        let cells: Vec<String> = cols
            .iter()
            .map(|c| r.get(*c).map_or("-".into(), cell))
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// Writes rows as a pretty JSON array.
pub fn write_json(path: &Path, rows: &[Row]) -> std::io::Result<()> {
    let v = Value::Array(rows.iter().cloned().map(Value::Object).collect());
    let s = serde_json::to_string_pretty(&v).map_err(std::io::Error::other)?;
    std::fs::write(path, s + "\n")
}
