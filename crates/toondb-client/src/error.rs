//! The error type of the remote client, of [`Connection`](super::Connection) and of the
//! `toondb-grpc` server, which re-exports it.
//!
//! It is kept apart from [`toondb::Error`] so that `toondb` names no tonic type (tonic is a
//! dependency of this crate only); a database error travels inside it unchanged ([`Error::Database`]), and
//! [`Error::kind`] classifies both sides alike: an embedded error by [`toondb::Error::kind`], a
//! remote one by the `toondb-error-kind` metadata the server attaches (or its status code).

use toondb::ErrorKind;

/// Errors of the remote client, of [`Connection`](super::Connection) and of the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server refused or failed a call.
    #[error("{}: {}", .0.code(), .0.message())]
    Status(#[from] tonic::Status),
    /// Connecting or serving failed at the transport level.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// A database error: from an embedded [`Connection`](super::Connection), or on the server
    /// side from opening or closing the database.
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
    /// The configuration is refused (e.g. a non-loopback bind without a token, an unknown
    /// connection string).
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

    /// Whether retrying the whole transaction may succeed (a conflict: ABORTED remotely).
    pub fn is_conflict(&self) -> bool {
        self.kind() == Some(ErrorKind::Conflict)
    }

    /// An [`Error::Io`] with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result alias for [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
