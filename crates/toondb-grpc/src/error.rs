//! This crate's error type.

use toondb::ErrorKind;

/// Errors of the server and the client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server refused or failed a call.
    #[error("{}: {}", .0.code(), .0.message())]
    Status(#[from] tonic::Status),
    /// Connecting or serving failed at the transport level.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// A database error (server side: opening or closing the database).
    #[error(transparent)]
    Database(#[from] toondb::Error),
    /// A socket or file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The configuration is refused (e.g. a non-loopback bind without a token).
    #[error("configuration: {0}")]
    Config(String),
    /// The server sent something this client cannot interpret.
    #[error("invalid response: {0}")]
    InvalidResponse(String),
}

impl Error {
    /// The database error kind behind this error, where there is one (for a status: from its
    /// `toondb-error-kind` metadata or its code).
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Error::Status(s) => crate::status::kind_of(s),
            Error::Database(e) => Some(e.kind()),
            _ => None,
        }
    }

    /// The gRPC status code, for a status error.
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            Error::Status(s) => Some(s.code()),
            _ => None,
        }
    }

    /// Whether retrying the whole transaction may succeed (ABORTED).
    pub fn is_conflict(&self) -> bool {
        self.kind() == Some(ErrorKind::Conflict)
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result alias for [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
