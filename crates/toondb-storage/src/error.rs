//! The storage engine's error type.

use std::path::PathBuf;

/// Result alias for [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in the storage engine, classified by whose fault it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A transaction lost a race: another transaction committed a conflicting write after this
    /// one's snapshot (write-write under snapshot isolation, or a read-write antidependency
    /// under serializable isolation). Retrying the transaction may succeed.
    #[error("transaction conflict on key {key:?}: {detail}")]
    Conflict {
        /// A key involved in the conflict (lossy UTF-8 of the bytes).
        key: String,
        /// What kind of conflict.
        detail: String,
    },
    /// The caller passed something the engine refuses (empty key, oversized key or value, bad
    /// option).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// On-disk content failed a checksum or could not be decoded.
    #[error("corruption in {path} at offset {offset}: {detail}")]
    Corruption {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damaged record or block.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// An I/O error, with the file it concerned.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// An earlier write, fsync or background job failed; the engine refuses writes until it is
    /// reopened, because the state on disk is no longer known.
    #[error("engine is poisoned by an earlier failure: {0}")]
    Poisoned(String),
    /// The engine was closed.
    #[error("engine is closed")]
    Closed,
    /// Another handle (in this or another process) has the database open.
    #[error("database at {path} is locked by another process or handle")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The directory is not empty and holds no ToonDB database.
    #[error("{path} is not a ToonDB database (non-empty directory without CURRENT)")]
    NotADatabase {
        /// The directory.
        path: PathBuf,
    },
    /// The directory holds data files (tables, WALs, manifests) but no valid `CURRENT`, or
    /// `CURRENT` names a manifest that does not exist. Nothing was changed; `repair` (library)
    /// or `toondb repair PATH` rebuilds a manifest from the files found.
    #[error(
        "{path}: {missing}; the directory holds data files ({}); nothing was changed. \
         Run `toondb repair {}` to rebuild the manifest from them",
        data_files.join(", "),
        path.display()
    )]
    MissingManifest {
        /// The database directory.
        path: PathBuf,
        /// What is missing or invalid (e.g. `CURRENT is missing`).
        missing: String,
        /// Names of the data files found.
        data_files: Vec<String>,
    },
    /// The database was opened read-only ([`crate::Options::read_only`]) and the operation
    /// would write.
    #[error("database at {path} is open read-only")]
    ReadOnly {
        /// The database directory.
        path: PathBuf,
    },
    /// The database was written by an unknown (newer) format version.
    #[error("{path}: unsupported format version {found} (this build reads {supported})")]
    UnsupportedVersion {
        /// The file carrying the version.
        path: PathBuf,
        /// Version found on disk.
        found: u32,
        /// Version this build supports.
        supported: u32,
    },
}

impl Error {
    /// Whether this is a transaction conflict (the transaction may be retried).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict { .. })
    }

    /// Whether this error means on-disk data is damaged.
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corruption { .. })
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corruption(
        path: impl Into<PathBuf>,
        offset: u64,
        detail: impl Into<String>,
    ) -> Error {
        Error::Corruption {
            path: path.into(),
            offset,
            detail: detail.into(),
        }
    }
}

impl From<crate::sst::SstError> for Error {
    fn from(e: crate::sst::SstError) -> Error {
        match e {
            crate::sst::SstError::Corruption {
                path,
                offset,
                detail,
            } => Error::Corruption {
                path,
                offset,
                detail,
            },
            crate::sst::SstError::Io { path, source } => Error::Io { path, source },
            other => Error::Corruption {
                path: PathBuf::new(),
                offset: 0,
                detail: other.to_string(),
            },
        }
    }
}
