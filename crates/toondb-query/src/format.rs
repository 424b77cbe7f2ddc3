//! Result formatters: aligned text table and JSON.

use crate::session::QueryResult;
use crate::value::Value;

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "NULL".to_string(),
        v => v.to_string(),
    }
}

/// Renders an aligned text table (header, separator, rows; numbers right-aligned).
pub fn to_table(r: &QueryResult) -> String {
    let ncols = r.columns.len();
    let mut widths: Vec<usize> = r.columns.iter().map(|c| c.name.chars().count()).collect();
    let cells: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| row.iter().map(cell).collect())
        .collect();
    for row in &cells {
        for (i, c) in row.iter().enumerate().take(ncols) {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = r
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{:<w$}", c.name, w = widths[i]))
        .collect();
    out.push_str(header.join(" | ").trim_end());
    out.push('\n');
    let sep: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&sep.join("-+-"));
    out.push('\n');
    for (row, vals) in cells.iter().zip(&r.rows) {
        let parts: Vec<String> = row
            .iter()
            .enumerate()
            .take(ncols)
            .map(|(i, c)| match vals[i] {
                Value::Integer(_) | Value::Real(_) => format!("{:>w$}", c, w = widths[i]),
                _ => format!("{:<w$}", c, w = widths[i]),
            })
            .collect();
        out.push_str(parts.join(" | ").trim_end());
        out.push('\n');
    }
    out
}

/// Converts one value to JSON (BLOBs as hex strings, non-finite reals as null).
pub fn value_to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Integer(i) => serde_json::Value::from(*i),
        Value::Real(r) => serde_json::Number::from_f64(*r)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Text(s) => serde_json::Value::String(s.clone()),
        Value::Blob(b) => serde_json::Value::String(b.iter().map(|x| format!("{x:02x}")).collect()),
    }
}

/// Renders rows as a JSON array of objects keyed by column name.
pub fn to_json(r: &QueryResult) -> serde_json::Value {
    let rows = r
        .rows
        .iter()
        .map(|row| {
            let mut m = serde_json::Map::new();
            for (c, v) in r.columns.iter().zip(row) {
                m.insert(c.name.clone(), value_to_json(v));
            }
            serde_json::Value::Object(m)
        })
        .collect();
    serde_json::Value::Array(rows)
}
