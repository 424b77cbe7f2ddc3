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
    /// A write-write or serialization conflict reported by a key-value backend that is not
    /// toondb-storage (storage conflicts arrive as [`Error::Storage`]).
    #[error("transaction conflict: {0}")]
    Conflict(String),
    /// An error from the storage engine, kept intact as the source.
    #[error("storage: {0}")]
    Storage(#[source] toondb_storage::Error),
    /// The statement was stopped by an interrupt handle or its timeout. Nothing it wrote is
    /// applied; an enclosing transaction stays usable.
    #[error("interrupted: {0}")]
    Interrupted(String),
    /// An operator needed more memory than the statement's budget allows.
    #[error("resource exhausted: {operator} needs more than the statement memory budget of {budget} bytes")]
    ResourceExhausted {
        /// The operator that ran out (`"sort"`, `"hash join"`, `"hash aggregate"`, ...).
        operator: &'static str,
        /// The budget in bytes.
        budget: u64,
    },
    /// The statement exceeds a size limit (expression depth, nesting, length).
    #[error("{0}")]
    TooBig(String),
    /// A failure that is not the caller's fault (a poisoned lock, a worker thread that died).
    #[error("internal error: {0}")]
    Internal(String),
    /// `RAISE(kind, message)` in a trigger program stopped the statement (SQLite reports the
    /// message alone). `RAISE(IGNORE)` never reaches the caller: it skips the current row.
    #[error("{message}")]
    Raise {
        /// How the statement ends.
        kind: RaiseKind,
        /// The message given to RAISE (empty for IGNORE).
        message: String,
    },
}

/// The first argument of SQLite's `RAISE()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaiseKind {
    /// Skip the current row: the rest of the trigger program and the row's write are abandoned.
    Ignore,
    /// Abort the statement; its writes (triggers' included) are undone.
    Abort,
    /// End the statement, keeping what it wrote before (earlier rows, trigger writes).
    Fail,
    /// Abort the statement and roll back the enclosing explicit transaction.
    Rollback,
}

/// Whose fault an [`Error`] is, for the edges (gRPC status, SDK exception classes). Every
/// variant of [`Error`] maps to one class explicitly in [`Error::class`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Bad SQL text, wrong parameters, runtime type errors, transaction-control misuse.
    InvalidArgument,
    /// A named object does not exist.
    NotFound,
    /// A named object already exists.
    AlreadyExists,
    /// Valid SQL that ToonDB does not support.
    Unsupported,
    /// A constraint was violated.
    Constraint,
    /// Stored data is damaged.
    Corruption,
    /// A concurrent transaction won; retrying may succeed.
    Conflict,
    /// The statement was interrupted or timed out.
    Interrupted,
    /// The statement exceeded its memory budget or a size limit.
    ResourceExhausted,
    /// The storage engine failed (classified further by the storage error itself).
    Storage,
    /// A bug or unexpected failure.
    Internal,
}

impl Error {
    /// True when the statement failed because of a concurrent transaction and may be retried.
    pub fn is_conflict(&self) -> bool {
        match self {
            Error::Conflict(_) => true,
            Error::Storage(e) => e.is_conflict(),
            _ => false,
        }
    }

    /// The class of this error (one explicit arm per variant).
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Syntax { .. } => ErrorClass::InvalidArgument,
            Error::Name(m) => {
                // Name errors are produced by this crate with one of these fixed prefixes.
                if m.contains("already exists") || m.starts_with("there is already") {
                    ErrorClass::AlreadyExists
                } else if m.starts_with("no such") {
                    ErrorClass::NotFound
                } else {
                    ErrorClass::InvalidArgument
                }
            }
            Error::Unsupported(_) => ErrorClass::Unsupported,
            Error::Constraint(_) => ErrorClass::Constraint,
            Error::Semantic(_) => ErrorClass::InvalidArgument,
            Error::Runtime(_) => ErrorClass::InvalidArgument,
            Error::Param(_) => ErrorClass::InvalidArgument,
            Error::Transaction(_) => ErrorClass::InvalidArgument,
            Error::Corruption { .. } => ErrorClass::Corruption,
            Error::Conflict(_) => ErrorClass::Conflict,
            Error::Storage(_) => ErrorClass::Storage,
            Error::Interrupted(_) => ErrorClass::Interrupted,
            Error::ResourceExhausted { .. } => ErrorClass::ResourceExhausted,
            Error::TooBig(_) => ErrorClass::InvalidArgument,
            Error::Internal(_) => ErrorClass::Internal,
            Error::Raise { .. } => ErrorClass::Constraint,
        }
    }
}

impl From<toondb_storage::Error> for Error {
    fn from(e: toondb_storage::Error) -> Self {
        Error::Storage(e)
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

/// Refuses a new table, index, view or trigger named `sqlite_...`: SQLite reserves those
/// names (`sqlite_schema`, `sqlite_master`, `sqlite_autoindex_*`, ...).
pub(crate) fn check_object_name(name: &str) -> Result<()> {
    if name.len() >= 7 && name[..7].eq_ignore_ascii_case("sqlite_") {
        return name_err(format!("object name reserved for internal use: {name}"));
    }
    Ok(())
}

pub(crate) fn unsupported<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error::Unsupported(msg.into()))
}
