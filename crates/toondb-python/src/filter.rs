//! Metadata filters written as JSON objects (the same syntax in every SDK):
//!
//! - `{"lang": "en"}`: equality; several keys are AND-ed.
//! - `{"year": {"$gte": 2020, "$lt": 2025}}`: ranges (`$gt`, `$gte`, `$lt`, `$lte`), `$eq`,
//!   `$ne`, `$in: [..]`, `$nin: [..]`, `$exists: true|false`.
//! - `{"$and": [f, ..]}`, `{"$or": [f, ..]}`, `{"$not": f}`.

use serde_json::{Map, Value as Json};
use toondb::Filter;

/// Deepest nesting accepted.
const MAX_DEPTH: usize = 32;

/// Parses a filter object.
pub(crate) fn parse(v: &Json) -> Result<Filter, String> {
    parse_at(v, 0)
}

fn parse_at(v: &Json, depth: usize) -> Result<Filter, String> {
    if depth > MAX_DEPTH {
        return Err(format!("filter nested deeper than {MAX_DEPTH}"));
    }
    let obj = v
        .as_object()
        .ok_or_else(|| "a filter must be an object".to_string())?;
    let mut parts = Vec::new();
    for (key, val) in obj {
        parts.push(match key.as_str() {
            "$and" | "$or" => {
                let arr = val
                    .as_array()
                    .ok_or_else(|| format!("{key} takes an array of filters"))?;
                let fs = arr
                    .iter()
                    .map(|f| parse_at(f, depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                if key == "$and" {
                    Filter::And(fs)
                } else {
                    Filter::Or(fs)
                }
            }
            "$not" => Filter::not(parse_at(val, depth + 1)?),
            k if k.starts_with('$') => return Err(format!("unknown filter operator {k}")),
            field => match val {
                Json::Object(ops) if ops.keys().any(|k| k.starts_with('$')) => {
                    field_ops(field, ops)?
                }
                other => Filter::eq(field, other.clone()),
            },
        });
    }
    Ok(match parts.len() {
        1 => parts.remove(0),
        _ => Filter::And(parts),
    })
}

fn field_ops(field: &str, ops: &Map<String, Json>) -> Result<Filter, String> {
    let mut parts = Vec::new();
    let mut range: Option<Filter> = None;
    for (op, v) in ops {
        let r = || range.clone().unwrap_or_else(|| Filter::range(field));
        match op.as_str() {
            "$eq" => parts.push(Filter::eq(field, v.clone())),
            "$ne" => parts.push(Filter::not(Filter::eq(field, v.clone()))),
            "$in" | "$nin" => {
                let arr = v.as_array().ok_or_else(|| format!("{op} takes an array"))?;
                let f = Filter::is_in(field, arr.iter().cloned());
                parts.push(if op == "$in" { f } else { Filter::not(f) });
            }
            "$gt" => range = Some(r().gt(v.clone())),
            "$gte" => range = Some(r().gte(v.clone())),
            "$lt" => range = Some(r().lt(v.clone())),
            "$lte" => range = Some(r().lte(v.clone())),
            "$exists" => {
                let yes = v
                    .as_bool()
                    .ok_or_else(|| "$exists takes true or false".to_string())?;
                let f = Filter::exists(field);
                parts.push(if yes { f } else { Filter::not(f) });
            }
            other => return Err(format!("unknown filter operator {other}")),
        }
    }
    if let Some(r) = range {
        parts.push(r);
    }
    Ok(match parts.len() {
        1 => parts.remove(0),
        _ => Filter::And(parts),
    })
}
