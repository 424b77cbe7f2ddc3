//! Safe conversions used by the C ABI: status codes, JSON parameters and results, search
//! requests and context specs. Structured data crosses the ABI as UTF-8 JSON.

use serde_json::{json, Map, Value as Json};
use toondb::{ContextResult, Database, ErrorKind, Rows, SearchHit, Value};

use crate::ffi::*;

/// A failure to report across the ABI: a status code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FfiError {
    /// One of the `TOONDB_ERR_*` codes.
    pub code: i32,
    /// Human-readable message (becomes the thread's last error).
    pub message: String,
}

impl FfiError {
    /// A `TOONDB_ERR_INVALID_ARGUMENT` error.
    pub fn invalid(message: impl Into<String>) -> FfiError {
        FfiError {
            code: TOONDB_ERR_INVALID_ARGUMENT,
            message: message.into(),
        }
    }
}

impl From<toondb::Error> for FfiError {
    fn from(e: toondb::Error) -> FfiError {
        FfiError {
            code: status_of(e.kind()),
            message: e.to_string(),
        }
    }
}

/// Result alias of this crate.
pub type FfiResult<T> = Result<T, FfiError>;

/// The status code of an error kind.
pub fn status_of(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::Conflict => TOONDB_ERR_CONFLICT,
        ErrorKind::NotFound => TOONDB_ERR_NOT_FOUND,
        ErrorKind::AlreadyExists => TOONDB_ERR_ALREADY_EXISTS,
        ErrorKind::InvalidArgument => TOONDB_ERR_INVALID_ARGUMENT,
        ErrorKind::Constraint => TOONDB_ERR_CONSTRAINT,
        ErrorKind::Unsupported => TOONDB_ERR_UNSUPPORTED,
        ErrorKind::Corruption => TOONDB_ERR_CORRUPTION,
        ErrorKind::Closed => TOONDB_ERR_CLOSED,
        ErrorKind::Busy => TOONDB_ERR_BUSY,
        ErrorKind::Io => TOONDB_ERR_IO,
        ErrorKind::Interrupted => TOONDB_ERR_INTERRUPTED,
        ErrorKind::ResourceExhausted => TOONDB_ERR_RESOURCE_EXHAUSTED,
        _ => TOONDB_ERR_INTERNAL,
    }
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

fn unhex(s: &str) -> FfiResult<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return Err(FfiError::invalid("$blob hex has odd length"));
    }
    let nib = |c: u8| -> FfiResult<u8> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(FfiError::invalid("$blob is not hex")),
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
pub fn json_to_value(j: &Json) -> FfiResult<Value> {
    Ok(match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Integer(i64::from(*b)),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None if n.is_u64() => {
                return Err(FfiError::invalid(
                    "integer parameter out of the 64-bit range",
                ))
            }
            None => Value::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Text(s.clone()),
        Json::Object(m) if m.len() == 1 && m.contains_key("$blob") => match &m["$blob"] {
            Json::String(h) => Value::Blob(unhex(h)?),
            _ => return Err(FfiError::invalid("$blob takes a hex string")),
        },
        _ => {
            return Err(FfiError::invalid(
                "SQL parameters must be null, bool, number, string or {\"$blob\": hex}",
            ))
        }
    })
}

/// Parses parameters from a JSON array (`None` or empty text means no parameters).
pub fn params_from_json(text: Option<&str>) -> FfiResult<Vec<Value>> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let j: Json =
        serde_json::from_str(text).map_err(|e| FfiError::invalid(format!("params JSON: {e}")))?;
    match j {
        Json::Array(a) => a.iter().map(json_to_value).collect(),
        _ => Err(FfiError::invalid("params must be a JSON array")),
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
pub fn document_to_json(d: &toondb::Document) -> String {
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

/// Parses a metric name (`cosine`, `l2`, `ip`).
pub fn parse_metric(s: &str) -> FfiResult<toondb::Metric> {
    match s.to_ascii_lowercase().as_str() {
        "" | "cosine" | "cos" => Ok(toondb::Metric::Cosine),
        "l2" | "euclidean" => Ok(toondb::Metric::L2),
        "ip" | "dot" | "inner_product" => Ok(toondb::Metric::InnerProduct),
        _ => Err(FfiError::invalid(format!(
            "unknown metric {s:?} (expected cosine, l2 or ip)"
        ))),
    }
}

/// Parses optional metadata JSON (must be an object or null).
pub fn metadata_from_json(text: Option<&str>) -> FfiResult<Json> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(Json::Null);
    };
    let j: Json =
        serde_json::from_str(text).map_err(|e| FfiError::invalid(format!("metadata JSON: {e}")))?;
    match j {
        Json::Object(_) | Json::Null => Ok(j),
        _ => Err(FfiError::invalid("metadata must be a JSON object")),
    }
}

/// Parses an optional filter JSON object (syntax in [`crate::filter`]).
pub fn filter_from_json(text: Option<&str>) -> FfiResult<Option<toondb::Filter>> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    let j: Json =
        serde_json::from_str(text).map_err(|e| FfiError::invalid(format!("filter JSON: {e}")))?;
    if j.is_null() {
        return Ok(None);
    }
    crate::filter::parse(&j)
        .map(Some)
        .map_err(FfiError::invalid)
}

/// Builds a search request from its parts.
pub fn search_request(
    vector: Option<Vec<f32>>,
    text: Option<String>,
    k: usize,
    filter: Option<toondb::Filter>,
) -> FfiResult<toondb::SearchRequest> {
    let mut req = match (text, vector) {
        (Some(t), Some(v)) => toondb::SearchRequest::hybrid(t, v, k),
        (Some(t), None) => toondb::SearchRequest::text(t, k),
        (None, Some(v)) => toondb::SearchRequest::vector(v, k),
        (None, None) => return Err(FfiError::invalid("a search needs a vector, a text or both")),
    };
    if let Some(f) = filter {
        req = req.filter(f);
    }
    Ok(req)
}

fn get_str<'a>(m: &'a Map<String, Json>, k: &str) -> FfiResult<Option<&'a str>> {
    match m.get(k) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(_) => Err(FfiError::invalid(format!("{k} must be a string"))),
    }
}

fn get_usize(m: &Map<String, Json>, k: &str) -> FfiResult<Option<usize>> {
    match m.get(k) {
        None | Some(Json::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| FfiError::invalid(format!("{k} must be a non-negative integer"))),
    }
}

fn need_str<'a>(m: &'a Map<String, Json>, k: &str) -> FfiResult<&'a str> {
    get_str(m, k)?.ok_or_else(|| FfiError::invalid(format!("section needs {k:?}")))
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
pub fn build_context(db: &Database, spec: &str) -> FfiResult<ContextResult> {
    let j: Json = serde_json::from_str(spec)
        .map_err(|e| FfiError::invalid(format!("context spec JSON: {e}")))?;
    let m = j
        .as_object()
        .ok_or_else(|| FfiError::invalid("context spec must be an object"))?;
    let mut b = db.context();
    if let Some(n) = get_usize(m, "budget")? {
        b = b.budget(n);
    }
    match get_str(m, "tokenizer")? {
        None => {}
        Some("o200k" | "o200k_base") => b = b.tokenizer(toondb::Tokenizer::O200k),
        Some("cl100k" | "cl100k_base") => b = b.tokenizer(toondb::Tokenizer::Cl100k),
        Some(t) => return Err(FfiError::invalid(format!("unknown tokenizer {t:?}"))),
    }
    let empty = Vec::new();
    let sections = match m.get("sections") {
        None | Some(Json::Null) => &empty,
        Some(Json::Array(a)) => a,
        Some(_) => return Err(FfiError::invalid("sections must be an array")),
    };
    for s in sections {
        let s = s
            .as_object()
            .ok_or_else(|| FfiError::invalid("each section must be an object"))?;
        let mut sec = match need_str(s, "type")? {
            "system" => toondb::Section::system(need_str(s, "text")?),
            "text" => toondb::Section::text(need_str(s, "name")?, need_str(s, "text")?),
            "history" => {
                let msgs = s
                    .get("messages")
                    .and_then(Json::as_array)
                    .ok_or_else(|| FfiError::invalid("history needs a messages array"))?;
                let mut out = Vec::with_capacity(msgs.len());
                for msg in msgs {
                    let msg = msg
                        .as_object()
                        .ok_or_else(|| FfiError::invalid("a message must be an object"))?;
                    out.push(toondb::Message::new(
                        need_str(msg, "role")?,
                        need_str(msg, "content")?,
                    ));
                }
                toondb::Section::history(out)
            }
            "search" => {
                let vector = match s.get("vector") {
                    None | Some(Json::Null) => None,
                    Some(Json::Array(a)) => Some(
                        a.iter()
                            .map(|x| {
                                x.as_f64()
                                    .map(|f| f as f32)
                                    .ok_or_else(|| FfiError::invalid("vector must hold numbers"))
                            })
                            .collect::<FfiResult<Vec<f32>>>()?,
                    ),
                    Some(_) => return Err(FfiError::invalid("vector must be an array")),
                };
                let filter = match s.get("filter") {
                    None | Some(Json::Null) => None,
                    Some(f) => Some(crate::filter::parse(f).map_err(FfiError::invalid)?),
                };
                let req = search_request(
                    vector,
                    get_str(s, "text")?.map(str::to_string),
                    get_usize(s, "k")?.unwrap_or(5),
                    filter,
                )?;
                toondb::Section::search(need_str(s, "collection")?, req)
            }
            "sql" => {
                let params = match s.get("params") {
                    None | Some(Json::Null) => Vec::new(),
                    Some(Json::Array(a)) => {
                        a.iter().map(json_to_value).collect::<FfiResult<_>>()?
                    }
                    Some(_) => return Err(FfiError::invalid("params must be an array")),
                };
                toondb::Section::sql(need_str(s, "sql")?, &params)
            }
            "kv_prefix" => toondb::Section::kv_prefix(need_str(s, "prefix")?),
            other => return Err(FfiError::invalid(format!("unknown section type {other:?}"))),
        };
        if let Some(n) = get_str(s, "name")? {
            sec = sec.named(n);
        }
        if let Some(p) = s.get("priority").filter(|p| !p.is_null()) {
            let p = p
                .as_i64()
                .and_then(|p| i32::try_from(p).ok())
                .ok_or_else(|| FfiError::invalid("priority must be a 32-bit integer"))?;
            sec = sec.priority(p);
        }
        if let Some(t) = get_usize(s, "max_tokens")? {
            sec = sec.max_tokens(t);
        }
        b = b.section(sec);
    }
    Ok(b.build()?)
}

/// The embedder for `model` (a sentence-transformers directory) or the default model.
#[cfg(feature = "embed")]
pub fn load_embedder(model: Option<&str>) -> FfiResult<std::sync::Arc<dyn toondb::TextEmbedder>> {
    let e = toondb::embed::load_embedder(model.map(std::path::Path::new))?;
    Ok(e)
}

/// Without the `embed` feature: UNSUPPORTED.
#[cfg(not(feature = "embed"))]
pub fn load_embedder(_model: Option<&str>) -> FfiResult<std::sync::Arc<dyn toondb::TextEmbedder>> {
    Err(toondb::Error::Unsupported("built without the `embed` feature".into()).into())
}

/// `[{"id","text","metadata"?}, ...]` as `(id, text, metadata)` triples.
pub fn text_items_from_json(text: &str) -> FfiResult<Vec<(String, String, Json)>> {
    let v: Json =
        serde_json::from_str(text).map_err(|e| FfiError::invalid(format!("items_json: {e}")))?;
    let arr = v
        .as_array()
        .ok_or_else(|| FfiError::invalid("items_json must be a JSON array"))?;
    arr.iter()
        .enumerate()
        .map(|(i, it)| {
            let s = |k: &str| {
                it.get(k)
                    .and_then(Json::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| FfiError::invalid(format!("item {i}: `{k}` must be a string")))
            };
            let meta = match it.get("metadata") {
                None | Some(Json::Null) => Json::Null,
                Some(m @ Json::Object(_)) => m.clone(),
                Some(_) => {
                    return Err(FfiError::invalid(format!(
                        "item {i}: metadata must be an object"
                    )))
                }
            };
            Ok((s("id")?, s("text")?, meta))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_kind_has_its_own_status() {
        let all = [
            (ErrorKind::Conflict, TOONDB_ERR_CONFLICT),
            (ErrorKind::NotFound, TOONDB_ERR_NOT_FOUND),
            (ErrorKind::AlreadyExists, TOONDB_ERR_ALREADY_EXISTS),
            (ErrorKind::InvalidArgument, TOONDB_ERR_INVALID_ARGUMENT),
            (ErrorKind::Constraint, TOONDB_ERR_CONSTRAINT),
            (ErrorKind::Unsupported, TOONDB_ERR_UNSUPPORTED),
            (ErrorKind::Corruption, TOONDB_ERR_CORRUPTION),
            (ErrorKind::Closed, TOONDB_ERR_CLOSED),
            (ErrorKind::Busy, TOONDB_ERR_BUSY),
            (ErrorKind::Io, TOONDB_ERR_IO),
            (ErrorKind::Interrupted, TOONDB_ERR_INTERRUPTED),
            (ErrorKind::ResourceExhausted, TOONDB_ERR_RESOURCE_EXHAUSTED),
            (ErrorKind::Internal, TOONDB_ERR_INTERNAL),
        ];
        let mut seen = std::collections::HashSet::new();
        for (kind, code) in all {
            assert_eq!(status_of(kind), code, "{kind}");
            assert!(seen.insert(code), "{kind} shares status {code}");
        }
    }

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
                params_from_json(Some(bad)).unwrap_err().code,
                TOONDB_ERR_INVALID_ARGUMENT,
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
                build_context(&db, bad).unwrap_err().code,
                TOONDB_ERR_INVALID_ARGUMENT,
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
