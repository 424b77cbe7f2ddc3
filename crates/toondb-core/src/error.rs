//! The error type shared by the lowest layer.

use std::path::PathBuf;

/// Result alias for [`CoreError`].
pub type CoreResult<T> = Result<T, CoreError>;

/// Errors raised by `toondb-core` itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// An operating-system I/O error, with the path it concerned.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Another process (or another handle in this process) holds the database lock.
    #[error("database at {path} is locked by another process or handle")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
}
