//! Safe conversions used by the C ABI: status codes and errors. Structured data crosses the
//! ABI as UTF-8 JSON; its forms (parameters, rows, hits, documents, filters, the context spec)
//! are defined once in [`toondb::json`] and re-exported here under their old paths.

use toondb::ErrorKind;

pub use toondb::json::{
    build_context, context_to_json, document_to_json, filter_from_json, hits_to_json,
    json_to_value, metadata_from_json, params_from_json, parse_metric, rows_to_json,
    search_request, text_items_from_json, value_to_json,
};

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
}
