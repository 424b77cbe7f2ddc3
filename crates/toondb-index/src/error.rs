//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in `toondb-index`.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// A vector's length differs from the index dimension.
    #[error("dimension mismatch: index has {expected} dimensions, vector has {got}")]
    DimensionMismatch {
        /// The index dimension.
        expected: usize,
        /// The vector's length.
        got: usize,
    },
    /// A component is NaN or infinite.
    #[error("vector component {index} is not finite ({value})")]
    NonFinite {
        /// Position of the first bad component.
        index: usize,
        /// Its value.
        value: f32,
    },
    /// A zero (or denormal-tiny) vector was given under the cosine metric, where it has no
    /// direction.
    #[error("zero vector has no direction under the cosine metric")]
    ZeroVector,
    /// A caller-supplied argument is out of range (k = 0, dim = 0, bad PQ subspace count, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Bytes read from a file or the storage engine are malformed.
    #[error("corrupt data in {file} at offset {offset}: {detail}")]
    Corruption {
        /// File (or storage key) the bytes came from.
        file: String,
        /// Byte offset of the problem.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// The storage engine failed (I/O, conflict, closed, ...).
    #[error("storage: {0}")]
    Storage(#[from] toondb_storage::Error),
    /// An I/O error while reading a file.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, IndexError>;
