//! Metadata filters written as JSON objects: the syntax is [`toondb::Filter::from_json`]'s,
//! shared by every SDK and parsed by [`toondb::json::filter`]; this wrapper keeps the old
//! path and its plain-message error.

use serde_json::Value as Json;
use toondb::Filter;

/// Parses a filter object; the error is the message without the error-kind prefix.
pub fn parse(v: &Json) -> Result<Filter, String> {
    toondb::json::filter(v).map_err(|e| e.to_string())
}
