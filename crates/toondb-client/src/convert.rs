//! Conversions between protobuf messages and `toondb` types, shared by the server
//! (`toondb-grpc`) and the client ([`Client`](super::Client)).

use serde_json::{Map, Value as Json};

use crate::pb;
use toondb::{Document, Filter, Metric, Rows, SearchHit, Value};

/// Maximum nesting of `$and`/`$or`/`$not` accepted in a JSON filter.
pub const MAX_FILTER_DEPTH: usize = 32;

/// A protobuf value from a SQL value.
pub fn value_to_pb(v: &Value) -> pb::Value {
    use pb::value::Kind;
    let kind = match v {
        Value::Null => Kind::Null(true),
        Value::Integer(i) => Kind::Integer(*i),
        Value::Real(f) => Kind::Real(*f),
        Value::Text(s) => Kind::Text(s.clone()),
        Value::Blob(b) => Kind::Blob(b.clone()),
    };
    pb::Value { kind: Some(kind) }
}

/// A SQL value from a protobuf value (an unset value is NULL).
pub fn value_from_pb(v: pb::Value) -> Value {
    use pb::value::Kind;
    match v.kind {
        None | Some(Kind::Null(_)) => Value::Null,
        Some(Kind::Integer(i)) => Value::Integer(i),
        Some(Kind::Real(f)) => Value::Real(f),
        Some(Kind::Text(s)) => Value::Text(s),
        Some(Kind::Blob(b)) => Value::Blob(b),
    }
}

/// The column type of a value (`NULL` for NULL).
pub fn column_type_of(v: &Value) -> pb::ColumnType {
    match v {
        Value::Null => pb::ColumnType::Null,
        Value::Integer(_) => pb::ColumnType::Integer,
        Value::Real(_) => pb::ColumnType::Real,
        Value::Text(_) => pb::ColumnType::Text,
        Value::Blob(_) => pb::ColumnType::Blob,
    }
}

/// Column descriptors for a result: names, and per column the type of its first non-NULL value
/// (`UNSPECIFIED` when every value is NULL or there are no rows).
pub fn columns_of(names: &[String], rows: &[Vec<Value>]) -> Vec<pb::Column> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let ty = rows
                .iter()
                .filter_map(|r| r.get(i))
                .find(|v| !matches!(v, Value::Null))
                .map_or(pb::ColumnType::Unspecified, column_type_of);
            pb::Column {
                name: name.clone(),
                r#type: ty as i32,
            }
        })
        .collect()
}

/// Column descriptors for a result: names, and per column its type known without the data
/// ([`Rows::column_types`]: declared type of a column reference, CAST target, count(), ...),
/// falling back to the type of its first non-NULL value, then `UNSPECIFIED`. `BOOLEAN` columns
/// report `INTEGER` (their storage class).
pub fn columns_of_rows(rows: &Rows) -> Vec<pb::Column> {
    let data: Vec<Vec<Value>> = Vec::new();
    let mut out = columns_of(rows.columns(), &data);
    let known = rows.column_types();
    for (i, c) in out.iter_mut().enumerate() {
        let declared = match known.get(i).copied().flatten() {
            Some("INTEGER" | "BOOLEAN") => Some(pb::ColumnType::Integer),
            Some("REAL") => Some(pb::ColumnType::Real),
            Some("TEXT") => Some(pb::ColumnType::Text),
            Some("BLOB") => Some(pb::ColumnType::Blob),
            _ => None,
        };
        let ty = declared.unwrap_or_else(|| {
            rows.iter()
                .filter_map(|r| r.values().get(i))
                .find(|v| !matches!(v, Value::Null))
                .map_or(pb::ColumnType::Unspecified, column_type_of)
        });
        c.r#type = ty as i32;
    }
    out
}

/// The metric of a protobuf enum value (unknown values are refused).
pub fn metric_from_pb(m: i32) -> Result<Metric, String> {
    match pb::Metric::try_from(m) {
        Ok(pb::Metric::Unspecified | pb::Metric::Cosine) => Ok(Metric::Cosine),
        Ok(pb::Metric::L2) => Ok(Metric::L2),
        Ok(pb::Metric::InnerProduct) => Ok(Metric::InnerProduct),
        Err(_) => Err(format!("unknown metric {m}")),
    }
}

/// The protobuf enum value of a metric.
pub fn metric_to_pb(m: Metric) -> pb::Metric {
    match m {
        Metric::L2 => pb::Metric::L2,
        Metric::InnerProduct => pb::Metric::InnerProduct,
        _ => pb::Metric::Cosine,
    }
}

/// Parses a metadata JSON string (empty = no metadata); it must be a JSON object.
pub fn metadata_from_json(s: &str) -> Result<Map<String, Json>, String> {
    if s.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Json>(s) {
        Ok(Json::Object(m)) => Ok(m),
        Ok(_) => Err("metadata_json must be a JSON object".into()),
        Err(e) => Err(format!("metadata_json: {e}")),
    }
}

/// Serialises metadata (empty map = empty string).
pub fn metadata_to_json(m: &Map<String, Json>) -> String {
    if m.is_empty() {
        String::new()
    } else {
        Json::Object(m.clone()).to_string()
    }
}

/// A document from its protobuf form.
pub fn document_from_pb(d: pb::Document) -> Result<Document, String> {
    Ok(Document {
        id: d.id,
        vector: d.vector,
        text: d.text,
        metadata: metadata_from_json(&d.metadata_json)?,
    })
}

/// The protobuf form of a document.
pub fn document_to_pb(d: &Document) -> pb::Document {
    pb::Document {
        id: d.id.clone(),
        vector: d.vector.clone(),
        text: d.text.clone(),
        metadata_json: metadata_to_json(&d.metadata),
    }
}

/// The protobuf form of a search hit.
pub fn hit_to_pb(h: &SearchHit) -> pb::SearchHit {
    pb::SearchHit {
        id: h.id.clone(),
        score: h.score,
        distance: h.distance,
        keyword_score: h.keyword_score,
        text: h.text.clone(),
        metadata_json: metadata_to_json(&h.metadata),
    }
}

/// A search hit from its protobuf form.
pub fn hit_from_pb(h: pb::SearchHit) -> Result<SearchHit, String> {
    Ok(SearchHit {
        metadata: metadata_from_json(&h.metadata_json)?,
        id: h.id,
        score: h.score,
        distance: h.distance,
        keyword_score: h.keyword_score,
        text: h.text,
    })
}

/// Parses a JSON filter (empty = none) with [`Filter::from_json`], which owns the syntax the
/// SDKs share: an object whose entries are ANDed; each entry is `"field": literal` (equality),
/// `"field": {"$eq"|"$ne"|"$in"|"$nin"|"$gt"|"$gte"|"$lt"|"$lte"|"$exists": ..}`, or
/// `"$and"|"$or": [filter, ..]`, `"$not": filter`; nesting is bounded by [`MAX_FILTER_DEPTH`].
pub fn filter_from_json(s: &str) -> Result<Option<Filter>, String> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let j: Json = serde_json::from_str(s).map_err(|e| format!("filter_json: {e}"))?;
    Filter::from_json(&j).map(Some).map_err(|e| e.to_string())
}

/// Serialises a filter to the JSON form [`filter_from_json`] reads ([`Filter::to_json`]).
pub fn filter_to_json(f: &Filter) -> Result<String, String> {
    f.to_json()
        .map(|j| j.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_round_trip() {
        for v in [
            Value::Null,
            Value::Integer(-7),
            Value::Real(2.5),
            Value::Text("héllo".into()),
            Value::Blob(vec![0, 255]),
        ] {
            assert_eq!(value_from_pb(value_to_pb(&v)), v);
        }
        assert_eq!(value_from_pb(pb::Value { kind: None }), Value::Null);
    }

    #[test]
    fn filters_round_trip_and_match() {
        let f = Filter::eq("lang", "en")
            .and(Filter::range("year").gte(2020).lt(2025))
            .or(Filter::not(Filter::exists("x")));
        let s = filter_to_json(&f).unwrap();
        let back = filter_from_json(&s).unwrap().unwrap();
        let docs = [
            json!({"lang": "en", "year": 2021, "x": 1}),
            json!({"lang": "en", "year": 2025, "x": 1}),
            json!({"lang": "de", "year": 2021}),
        ];
        for d in &docs {
            let m = d.as_object().unwrap();
            assert_eq!(f.matches(m), back.matches(m), "{d}");
        }
        assert_eq!(
            docs.iter()
                .filter(|d| back.matches(d.as_object().unwrap()))
                .count(),
            2
        );
    }

    #[test]
    fn shorthand_filters() {
        let f = filter_from_json(r#"{"lang": "en", "n": {"$in": [1, 2]}}"#)
            .unwrap()
            .unwrap();
        assert!(f.matches(json!({"lang": "en", "n": 2}).as_object().unwrap()));
        assert!(!f.matches(json!({"lang": "en", "n": 3}).as_object().unwrap()));
        assert_eq!(filter_from_json("  ").unwrap(), None);
        assert!(filter_from_json("[1]").is_err());
        assert!(filter_from_json(r#"{"a": {"$bogus": 1}}"#).is_err());
        let deep = "{\"$not\":".repeat(100) + "{}" + &"}".repeat(100);
        assert!(filter_from_json(&deep).unwrap_err().contains("deeper"));
    }

    #[test]
    fn column_types_from_first_non_null() {
        let cols = columns_of(
            &["a".into(), "b".into()],
            &[
                vec![Value::Null, Value::Text("x".into())],
                vec![Value::Integer(1), Value::Null],
            ],
        );
        assert_eq!(cols[0].r#type, pb::ColumnType::Integer as i32);
        assert_eq!(cols[1].r#type, pb::ColumnType::Text as i32);
    }
}
