//! The crate's error type.

/// Everything that can go wrong while parsing, planning or executing SQL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SQL text could not be parsed. `message` includes line and column.
    #[error("syntax error: {message}")]
    Syntax {
        /// Parser message (with "Line: L, Column: C" where known).
        message: String,
    },
    /// A name (table, column, index, view, function) could not be resolved or clashes.
    #[error("{0}")]
    Name(String),
    /// A statement is valid SQL but not supported by ToonDB.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A constraint (NOT NULL, UNIQUE, PRIMARY KEY) was violated.
    #[error("constraint failed: {0}")]
    Constraint(String),
    /// A statement is well-formed but meaningless (misused aggregate, wrong argument count,
    /// ORDER BY term out of range, column count mismatch...). Detected before execution.
    #[error("{0}")]
    Semantic(String),
    /// A runtime type or value error (integer overflow, bad CAST, wrong argument count...).
    #[error("{0}")]
    Runtime(String),
    /// Wrong number or kind of statement parameters.
    #[error("parameter error: {0}")]
    Param(String),
    /// Transaction control misuse (BEGIN inside a transaction, COMMIT without one...).
    #[error("transaction error: {0}")]
    Transaction(String),
    /// Stored catalog or row bytes could not be decoded.
    #[error("corrupt {what} at key {key:02x?}: {detail}")]
    Corruption {
        /// What was being decoded ("row", "catalog", ...).
        what: &'static str,
        /// The storage key of the damaged value.
        key: Vec<u8>,
        /// Decoder message.
        detail: String,
    },
    /// A write-write or serialization conflict reported by the storage engine at commit.
    #[error("transaction conflict: {0}")]
    Conflict(String),
    /// Any other storage engine error.
    #[error("storage: {0}")]
    Storage(String),
}

impl Error {
    /// True when the statement failed because of a concurrent transaction and may be retried.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict(_))
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn rt<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error::Runtime(msg.into()))
}

pub(crate) fn name_err<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error::Name(msg.into()))
}

pub(crate) fn unsupported<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error::Unsupported(msg.into()))
}
