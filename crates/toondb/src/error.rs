//! The public error type and its classification.

/// Result alias for [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in the public API. Lower-layer errors are kept intact (see
/// [`std::error::Error::source`]); [`Error::kind`] classifies any of them for callers and
/// SDK/gRPC edges.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error from the storage engine.
    #[error(transparent)]
    Storage(#[from] toondb_storage::Error),
    /// An error from the SQL engine.
    #[error(transparent)]
    Sql(#[from] toondb_query::Error),
    /// An error from the vector index.
    #[error(transparent)]
    Index(#[from] toondb_index::IndexError),
    /// An error from the TOON encoder.
    #[error(transparent)]
    Toon(#[from] toondb_toon::Error),
    /// A named object (collection, document, column) does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// An object with that name already exists.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// The caller passed an argument ToonDB refuses.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Malformed structured input handed over by a binding (JSON parameters, a context spec, a
    /// filter object; see [`crate::json`]). Shown as the message alone, as bindings have
    /// always printed it; classified as [`ErrorKind::InvalidArgument`].
    #[error("{0}")]
    Input(String),
    /// A SQL value could not be converted to the requested Rust type.
    #[error("column {column}: cannot convert {found} to {expected}")]
    InvalidColumnType {
        /// The column index or name.
        column: String,
        /// The Rust type asked for.
        expected: &'static str,
        /// The SQL type found.
        found: &'static str,
    },
    /// A `CONTEXT SELECT` statement (or other ToonDB-specific text) could not be parsed.
    #[error("syntax error at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Bytes stored by this crate (collection records, postings, metadata) are malformed.
    #[error("corruption in {file} at offset {offset}: {detail}")]
    Corruption {
        /// What was being decoded (e.g. `collection docs/vector`), standing in for a file name.
        file: String,
        /// Byte offset inside the stored value.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// The operation is not supported.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A background task failed (e.g. a panicked `spawn_blocking` job).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Coarse classification of an [`Error`] by whose fault it is. Bindings map this once:
/// gRPC status codes, Python exception classes, Node `err.code`, Go sentinel errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A transaction lost a race; retrying may succeed.
    Conflict,
    /// The named thing does not exist.
    NotFound,
    /// The named thing already exists.
    AlreadyExists,
    /// The caller's input is invalid (bad argument, SQL syntax, wrong type).
    InvalidArgument,
    /// A constraint (UNIQUE, NOT NULL, PRIMARY KEY) was violated.
    Constraint,
    /// Valid but not supported.
    Unsupported,
    /// Stored data is damaged.
    Corruption,
    /// The database is closed or poisoned by an earlier failure (reopen it).
    Closed,
    /// The database directory is locked by another handle or process.
    Busy,
    /// An operating-system I/O error.
    Io,
    /// The operation was interrupted (interrupt handle, timeout, Ctrl-C, client cancel).
    Interrupted,
    /// The operation needed more of a resource (statement memory budget) than allowed.
    ResourceExhausted,
    /// A bug or an unexpected failure.
    Internal,
}

impl ErrorKind {
    /// A stable lower-case name (`"conflict"`, `"not_found"`, ...), used by bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Conflict => "conflict",
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::Constraint => "constraint",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Corruption => "corruption",
            ErrorKind::Closed => "closed",
            ErrorKind::Busy => "busy",
            ErrorKind::Io => "io",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::ResourceExhausted => "resource_exhausted",
            ErrorKind::Internal => "internal",
        }
    }
}

impl ErrorKind {
    /// The upper-case code of this kind (`"CONFLICT"`, `"NOT_FOUND"`, `"INVALID_ARGUMENT"`,
    /// ...): Node's `err.code`, and the suffix of the C status names (`TOONDB_ERR_<CODE>`).
    /// Every binding takes its codes from here or from [`ErrorKind::as_str`].
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Conflict => "CONFLICT",
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::AlreadyExists => "ALREADY_EXISTS",
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::Constraint => "CONSTRAINT",
            ErrorKind::Unsupported => "UNSUPPORTED",
            ErrorKind::Corruption => "CORRUPTION",
            ErrorKind::Closed => "CLOSED",
            ErrorKind::Busy => "BUSY",
            ErrorKind::Io => "IO",
            ErrorKind::Interrupted => "INTERRUPTED",
            ErrorKind::ResourceExhausted => "RESOURCE_EXHAUSTED",
            ErrorKind::Internal => "INTERNAL",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn storage_kind(e: &toondb_storage::Error) -> ErrorKind {
    use toondb_storage::Error as S;
    match e {
        S::Conflict { .. } => ErrorKind::Conflict,
        S::InvalidArgument(_) => ErrorKind::InvalidArgument,
        S::Corruption { .. } => ErrorKind::Corruption,
        S::Io { .. } => ErrorKind::Io,
        S::Poisoned(_) | S::Closed => ErrorKind::Closed,
        S::Locked { .. } => ErrorKind::Busy,
        S::NotADatabase { .. } => ErrorKind::InvalidArgument,
        S::UnsupportedVersion { .. } => ErrorKind::Unsupported,
        S::MissingManifest { .. } => ErrorKind::Corruption,
        S::ReadOnly { .. } => ErrorKind::Unsupported,
        _ => ErrorKind::Internal,
    }
}

fn sql_kind(e: &toondb_query::Error) -> ErrorKind {
    use toondb_query::ErrorClass as C;
    match e.class() {
        C::InvalidArgument => ErrorKind::InvalidArgument,
        C::NotFound => ErrorKind::NotFound,
        C::AlreadyExists => ErrorKind::AlreadyExists,
        C::Unsupported => ErrorKind::Unsupported,
        C::Constraint => ErrorKind::Constraint,
        C::Corruption => ErrorKind::Corruption,
        C::Conflict => ErrorKind::Conflict,
        C::Interrupted => ErrorKind::Interrupted,
        C::ResourceExhausted => ErrorKind::ResourceExhausted,
        C::Storage => match e {
            toondb_query::Error::Storage(s) => storage_kind(s),
            _ => ErrorKind::Internal,
        },
        C::Internal => ErrorKind::Internal,
    }
}

impl Error {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Storage(e) => storage_kind(e),
            Error::Sql(e) => sql_kind(e),
            Error::Index(e) => match e {
                toondb_index::IndexError::Corruption { .. } => ErrorKind::Corruption,
                toondb_index::IndexError::Io { .. } => ErrorKind::Io,
                _ => ErrorKind::InvalidArgument,
            },
            Error::Toon(e) => match e {
                toondb_toon::Error::Io(_) => ErrorKind::Io,
                _ => ErrorKind::InvalidArgument,
            },
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::AlreadyExists(_) => ErrorKind::AlreadyExists,
            Error::InvalidArgument(_)
            | Error::Input(_)
            | Error::InvalidColumnType { .. }
            | Error::Syntax { .. } => ErrorKind::InvalidArgument,
            Error::Corruption { .. } => ErrorKind::Corruption,
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// Whether the operation failed because of a concurrent transaction and may be retried.
    pub fn is_conflict(&self) -> bool {
        self.kind() == ErrorKind::Conflict
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Error {
        Error::InvalidArgument(msg.into())
    }

    pub(crate) fn corrupt(
        file: impl Into<String>,
        offset: usize,
        detail: impl Into<String>,
    ) -> Error {
        Error::Corruption {
            file: file.into(),
            offset: offset as u64,
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_the_upper_case_name() {
        use ErrorKind as K;
        for k in [
            K::Conflict,
            K::NotFound,
            K::AlreadyExists,
            K::InvalidArgument,
            K::Constraint,
            K::Unsupported,
            K::Corruption,
            K::Closed,
            K::Busy,
            K::Io,
            K::Interrupted,
            K::ResourceExhausted,
            K::Internal,
        ] {
            assert_eq!(k.code(), k.as_str().to_ascii_uppercase(), "{k}");
        }
        let e = Error::Input("params must be a JSON array".into());
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(e.to_string(), "params must be a JSON array");
    }

    #[test]
    fn kinds_of_lower_errors() {
        let e: Error = toondb_storage::Error::Conflict {
            key: "k".into(),
            detail: "ww".into(),
        }
        .into();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert!(e.is_conflict());
        let e: Error = toondb_query::Error::Constraint("UNIQUE".into()).into();
        assert_eq!(e.kind(), ErrorKind::Constraint);
        let e: Error = toondb_query::Error::Name("no such table: t".into()).into();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e: Error = toondb_index::IndexError::ZeroVector.into();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let e: Error = toondb_storage::Error::Closed.into();
        assert_eq!(e.kind(), ErrorKind::Closed);
        assert_eq!(ErrorKind::NotFound.to_string(), "not_found");
        // A storage error inside a SQL error keeps its class.
        let e: Error = toondb_query::Error::Storage(toondb_storage::Error::Closed).into();
        assert_eq!(e.kind(), ErrorKind::Closed);
        let e: Error = toondb_query::Error::Interrupted("interrupted".into()).into();
        assert_eq!(e.kind(), ErrorKind::Interrupted);
    }
}
