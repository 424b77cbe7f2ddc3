//! Metadata filters written as JSON objects: the syntax is [`toondb::Filter::from_json`]'s,
//! shared by every SDK; this wrapper keeps the plain message for the C/Node error paths.

use serde_json::Value as Json;
use toondb::Filter;

/// Parses a filter object; the error is the message without the error-kind prefix.
pub(crate) fn parse(v: &Json) -> Result<Filter, String> {
    Filter::from_json(v).map_err(|e| match e {
        toondb::Error::InvalidArgument(m) => m,
        other => other.to_string(),
    })
}
