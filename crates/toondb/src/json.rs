//! JSON forms of SQL parameters and values, rows, search hits, documents, filters and context
//! results, and the JSON context spec: one definition that every binding speaking JSON (the C
//! ABI, Node, the Go package through the C ABI) uses, so the formats cannot drift apart.
//!
//! Blobs are `{"$blob": "<hex>"}`. Malformed input fails with [`Error::Input`] (kind
//! [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument)), whose message says what
//! is wrong and where.
//!
//! ```
//! use toondb::{json, Value};
//! let ps = json::params_from_json(Some(r#"[1, "x", {"$blob": "00ff"}]"#)).unwrap();
//! assert_eq!(ps, vec![Value::Integer(1), Value::Text("x".into()), Value::Blob(vec![0, 255])]);
//! assert_eq!(json::value_to_json(&ps[2]).to_string(), r#"{"$blob":"00ff"}"#);
//! assert!(json::params_from_json(Some("{}")).is_err());
//! ```

use serde_json::{json, Map, Value as Json};

use crate::collection::{Document, SearchHit, SearchRequest};
use crate::context::ContextResult;
use crate::db::Database;
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::sql::Rows;
use toondb_query::Value;

fn bad(msg: impl Into<String>) -> Error {
    Error::Input(msg.into())
}

/// Parses a filter object (syntax in [`Filter::from_json`]); a malformed one fails with
/// [`Error::Input`] carrying the plain message.
pub fn filter(v: &Json) -> Result<Filter> {
    Filter::from_json(v).map_err(|e| match e {
        Error::InvalidArgument(m) => bad(m),
        other => other,
    })
}

fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(char::from(D[usize::from(x >> 4)]));
        s.push(char::from(D[usize::from(x & 15)]));
    }
    s
}

fn unhex(s: &str) -> Result<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return Err(bad("$blob hex has odd length"));
    }
    let nib = |c: u8| -> Result<u8> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(bad("$blob is not hex")),
        }
    };
    b.chunks_exact(2)
        .map(|p| Ok((nib(p[0])? << 4) | nib(p[1])?))
        .collect()
}

/// A SQL value as JSON: NULL, integers, reals and text map to JSON; blobs to
/// `{"$blob": "<hex>"}`.
pub fn value_to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Integer(i) => json!(i),
        Value::Real(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Text(s) => Json::String(s.clone()),
        Value::Blob(b) => json!({ "$blob": hex(b) }),
    }
}

/// A JSON parameter as a SQL value (the inverse of [`value_to_json`]; booleans bind as 0/1).
pub fn json_to_value(j: &Json) -> Result<Value> {
    Ok(match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Integer(i64::from(*b)),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None if n.is_u64() => return Err(bad("integer parameter out of the 64-bit range")),
            None => Value::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Text(s.clone()),
        Json::Object(m) if m.len() == 1 && m.contains_key("$blob") => match &m["$blob"] {
            Json::String(h) => Value::Blob(unhex(h)?),
            _ => return Err(bad("$blob takes a hex string")),
        },
        _ => {
            return Err(bad(
                "SQL parameters must be null, bool, number, string or {\"$blob\": hex}",
            ))
        }
    })
}

/// Parses parameters from a JSON array (`None` or empty text means no parameters).
pub fn params_from_json(text: Option<&str>) -> Result<Vec<Value>> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let j: Json = serde_json::from_str(text).map_err(|e| bad(format!("params JSON: {e}")))?;
    match j {
        Json::Array(a) => a.iter().map(json_to_value).collect(),
        _ => Err(bad("params must be a JSON array")),
    }
}

/// `{"columns": [...], "rows": [[...], ...], "rows_affected": n}`.
pub fn rows_to_json(rows: &Rows) -> String {
    let data: Vec<Json> = rows
        .iter()
        .map(|r| Json::Array(r.values().iter().map(value_to_json).collect()))
        .collect();
    json!({
        "columns": rows.columns(),
        "rows": data,
        "rows_affected": rows.rows_affected(),
    })
    .to_string()
}

/// `[{"id", "score", "distance", "keyword_score", "text", "metadata"}, ...]`.
pub fn hits_to_json(hits: &[SearchHit]) -> String {
    Json::Array(
        hits.iter()
            .map(|h| {
                json!({
                    "id": h.id,
                    "score": h.score,
                    "distance": h.distance,
                    "keyword_score": h.keyword_score,
                    "text": h.text,
                    "metadata": h.metadata,
                })
            })
            .collect(),
    )
    .to_string()
}

/// `{"id", "vector", "text", "metadata"}`.
pub fn document_to_json(d: &Document) -> String {
    json!({ "id": d.id, "vector": d.vector, "text": d.text, "metadata": d.metadata }).to_string()
}

/// `{"text", "total_tokens", "budget", "tokenizer", "sections": [...]}`.
pub fn context_to_json(r: &ContextResult) -> String {
    let secs: Vec<Json> = r
        .sections
        .iter()
        .map(|s| {
            json!({
                "name": s.name, "priority": s.priority, "tokens": s.tokens,
                "items_included": s.items_included, "items_dropped": s.items_dropped,
                "duplicates": s.duplicates, "truncated": s.truncated,
            })
        })
        .collect();
    json!({
        "text": r.text,
        "total_tokens": r.total_tokens,
        "budget": r.budget,
        "tokenizer": r.tokenizer.name(),
        "sections": secs,
    })
    .to_string()
}

/// Parses a metric name as [`Metric`](crate::Metric)'s `FromStr` does (`cosine`/`cos`,
/// `l2`/`euclidean`, `ip`/`inner_product`/`dot`, any case); the empty string means cosine.
pub fn parse_metric(s: &str) -> Result<crate::Metric> {
    if s.is_empty() {
        return Ok(crate::Metric::Cosine);
    }
    // One set of accepted names for every binding: `Metric`'s own parser.
    s.parse::<crate::Metric>()
        .map_err(|_| bad(format!("unknown metric {s:?} (expected cosine, l2 or ip)")))
}

/// Parses optional metadata JSON (must be an object or null).
pub fn metadata_from_json(text: Option<&str>) -> Result<Json> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(Json::Null);
    };
    let j: Json = serde_json::from_str(text).map_err(|e| bad(format!("metadata JSON: {e}")))?;
    match j {
        Json::Object(_) | Json::Null => Ok(j),
        _ => Err(bad("metadata must be a JSON object")),
    }
}

/// Parses an optional filter JSON object (syntax in [`Filter::from_json`]).
pub fn filter_from_json(text: Option<&str>) -> Result<Option<Filter>> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    let j: Json = serde_json::from_str(text).map_err(|e| bad(format!("filter JSON: {e}")))?;
    if j.is_null() {
        return Ok(None);
    }
    filter(&j).map(Some)
}

/// Builds a search request from its parts.
pub fn search_request(
    vector: Option<Vec<f32>>,
    text: Option<String>,
    k: usize,
    filter: Option<crate::Filter>,
) -> Result<SearchRequest> {
    let mut req = match (text, vector) {
        (Some(t), Some(v)) => SearchRequest::hybrid(t, v, k),
        (Some(t), None) => SearchRequest::text(t, k),
        (None, Some(v)) => SearchRequest::vector(v, k),
        (None, None) => return Err(bad("a search needs a vector, a text or both")),
    };
    if let Some(f) = filter {
        req = req.filter(f);
    }
    Ok(req)
}

fn get_str<'a>(m: &'a Map<String, Json>, k: &str) -> Result<Option<&'a str>> {
    match m.get(k) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(format!("{k} must be a string"))),
    }
}

fn get_usize(m: &Map<String, Json>, k: &str) -> Result<Option<usize>> {
    match m.get(k) {
        None | Some(Json::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| bad(format!("{k} must be a non-negative integer"))),
    }
}

fn need_str<'a>(m: &'a Map<String, Json>, k: &str) -> Result<&'a str> {
    get_str(m, k)?.ok_or_else(|| bad(format!("section needs {k:?}")))
}

/// Builds and runs a context from a JSON spec:
///
/// ```json
/// {"budget": 500, "tokenizer": "o200k_base", "sections": [
///   {"type": "system", "text": "..."},
///   {"type": "history", "messages": [{"role": "user", "content": "..."}]},
///   {"type": "search", "collection": "docs", "text": "...", "vector": [..], "k": 5, "filter": {..}},
///   {"type": "sql", "name": "orders", "sql": "SELECT ...", "params": [..]},
///   {"type": "kv_prefix", "name": "profile", "prefix": "user:"},
///   {"type": "text", "name": "notes", "text": "..."}]}
/// ```
///
/// Every section may also carry `name`, `priority` and `max_tokens`.
pub fn build_context(db: &Database, spec: &str) -> Result<ContextResult> {
    let j: Json = serde_json::from_str(spec).map_err(|e| bad(format!("context spec JSON: {e}")))?;
    let m = j
        .as_object()
        .ok_or_else(|| bad("context spec must be an object"))?;
    let mut b = db.context();
    if let Some(n) = get_usize(m, "budget")? {
        b = b.budget(n);
    }
    match get_str(m, "tokenizer")? {
        None => {}
        Some("o200k" | "o200k_base") => b = b.tokenizer(crate::Tokenizer::O200k),
        Some("cl100k" | "cl100k_base") => b = b.tokenizer(crate::Tokenizer::Cl100k),
        Some(t) => return Err(bad(format!("unknown tokenizer {t:?}"))),
    }
    let empty = Vec::new();
    let sections = match m.get("sections") {
        None | Some(Json::Null) => &empty,
        Some(Json::Array(a)) => a,
        Some(_) => return Err(bad("sections must be an array")),
    };
    for s in sections {
        let s = s
            .as_object()
            .ok_or_else(|| bad("each section must be an object"))?;
        let mut sec = match need_str(s, "type")? {
            "system" => crate::Section::system(need_str(s, "text")?),
            "text" => crate::Section::text(need_str(s, "name")?, need_str(s, "text")?),
            "history" => {
                let msgs = s
                    .get("messages")
                    .and_then(Json::as_array)
                    .ok_or_else(|| bad("history needs a messages array"))?;
                let mut out = Vec::with_capacity(msgs.len());
                for msg in msgs {
                    let msg = msg
                        .as_object()
                        .ok_or_else(|| bad("a message must be an object"))?;
                    out.push(crate::Message::new(
                        need_str(msg, "role")?,
                        need_str(msg, "content")?,
                    ));
                }
                crate::Section::history(out)
            }
            "search" => {
                let vector = match s.get("vector") {
                    None | Some(Json::Null) => None,
                    Some(Json::Array(a)) => Some(
                        a.iter()
                            .map(|x| {
                                x.as_f64()
                                    .map(|f| f as f32)
                                    .ok_or_else(|| bad("vector must hold numbers"))
                            })
                            .collect::<Result<Vec<f32>>>()?,
                    ),
                    Some(_) => return Err(bad("vector must be an array")),
                };
                let filter = match s.get("filter") {
                    None | Some(Json::Null) => None,
                    Some(f) => Some(filter(f)?),
                };
                let req = search_request(
                    vector,
                    get_str(s, "text")?.map(str::to_string),
                    get_usize(s, "k")?.unwrap_or(5),
                    filter,
                )?;
                crate::Section::search(need_str(s, "collection")?, req)
            }
            "sql" => {
                let params = match s.get("params") {
                    None | Some(Json::Null) => Vec::new(),
                    Some(Json::Array(a)) => a.iter().map(json_to_value).collect::<Result<_>>()?,
                    Some(_) => return Err(bad("params must be an array")),
                };
                crate::Section::sql(need_str(s, "sql")?, &params)
            }
            "kv_prefix" => crate::Section::kv_prefix(need_str(s, "prefix")?),
            other => return Err(bad(format!("unknown section type {other:?}"))),
        };
        if let Some(n) = get_str(s, "name")? {
            sec = sec.named(n);
        }
        if let Some(p) = s.get("priority").filter(|p| !p.is_null()) {
            let p = p
                .as_i64()
                .and_then(|p| i32::try_from(p).ok())
                .ok_or_else(|| bad("priority must be a 32-bit integer"))?;
            sec = sec.priority(p);
        }
        if let Some(t) = get_usize(s, "max_tokens")? {
            sec = sec.max_tokens(t);
        }
        b = b.section(sec);
    }
    b.build()
}

/// `[{"id","text","metadata"?}, ...]` as `(id, text, metadata)` triples.
pub fn text_items_from_json(text: &str) -> Result<Vec<(String, String, Json)>> {
    let v: Json = serde_json::from_str(text).map_err(|e| bad(format!("items_json: {e}")))?;
    let arr = v
        .as_array()
        .ok_or_else(|| bad("items_json must be a JSON array"))?;
    arr.iter()
        .enumerate()
        .map(|(i, it)| {
            let s = |k: &str| {
                it.get(k)
                    .and_then(Json::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| bad(format!("item {i}: `{k}` must be a string")))
            };
            let meta = match it.get("metadata") {
                None | Some(Json::Null) => Json::Null,
                Some(m @ Json::Object(_)) => m.clone(),
                Some(_) => return Err(bad(format!("item {i}: metadata must be an object"))),
            };
            Ok((s("id")?, s("text")?, meta))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn params_round_trip_and_reject() {
        let ps = params_from_json(Some(r#"[null, true, 7, 2.5, "x", {"$blob": "00ff"}]"#)).unwrap();
        assert_eq!(
            ps,
            vec![
                Value::Null,
                Value::Integer(1),
                Value::Integer(7),
                Value::Real(2.5),
                Value::Text("x".into()),
                Value::Blob(vec![0, 255])
            ]
        );
        assert_eq!(
            value_to_json(&Value::Blob(vec![0, 255])),
            json!({"$blob": "00ff"})
        );
        for bad in [
            r#"{"a": 1}"#,
            "[[1]]",
            "[18446744073709551615]",
            r#"[{"$blob": "0"}]"#,
            "nope",
        ] {
            assert_eq!(
                params_from_json(Some(bad)).unwrap_err().kind(),
                ErrorKind::InvalidArgument,
                "{bad}"
            );
        }
        assert!(params_from_json(None).unwrap().is_empty());
    }

    #[test]
    fn context_spec_errors_are_invalid_argument() {
        let db = Database::open_in_memory().unwrap();
        for bad in [
            "[]",
            r#"{"sections": [{"type": "nope"}]}"#,
            r#"{"sections": [{"type": "system"}]}"#,
            r#"{"budget": -1}"#,
            r#"{"tokenizer": "x"}"#,
            r#"{"sections": [{"type": "search", "collection": "c"}]}"#,
        ] {
            assert_eq!(
                build_context(&db, bad).unwrap_err().kind(),
                ErrorKind::InvalidArgument,
                "{bad}"
            );
        }
        let r = build_context(
            &db,
            r#"{"budget": 50, "sections": [{"type": "system", "text": "hi"}]}"#,
        )
        .unwrap();
        assert_eq!(r.text, "system: hi");
    }
}
