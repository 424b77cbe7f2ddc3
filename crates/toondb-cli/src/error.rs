//! The error type of the database subcommands; `main` prints it as one `error: …` line.

use std::path::Path;

/// Everything a database subcommand can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// An input file (import, demo data) is malformed.
    #[error("{path}:{line}: {message}")]
    Input {
        /// The file.
        path: String,
        /// 1-based line (0 when unknown).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The command line asks for something impossible.
    #[error("{0}")]
    Usage(String),
    /// The database reported an error.
    #[error(transparent)]
    Db(#[from] toondb::Error),
    /// The SQL engine reported an error.
    #[error(transparent)]
    Sql(#[from] toondb_query::Error),
    /// The storage engine reported an error.
    #[error(transparent)]
    Storage(#[from] toondb_storage::Error),
    /// TOON encoding or decoding failed.
    #[error(transparent)]
    Toon(#[from] toondb_toon::Error),
    /// `toondb check` found damaged files (details were printed).
    #[error("{0}")]
    Corrupt(String),
    /// The user pressed Ctrl-C; the message says what was kept.
    #[error("interrupted: {0}")]
    Interrupted(String),
    /// A statement that writes, refused because the database was opened with `-readonly`.
    #[error("read-only: {0}")]
    ReadOnly(String),
    /// An error in a statement, with the place in the input where it happened.
    #[error("{place}: {message}")]
    At {
        /// `line N` or `FILE:N`.
        place: String,
        /// The error, with positions inside the statement rewritten to input positions.
        message: String,
    },
    /// Stdout was closed by its reader (`| head`): the command stopped quietly.
    #[error("stdout was closed")]
    StdoutClosed,
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// A malformed input file at `line`.
    pub fn input(path: &Path, line: u64, message: impl Into<String>) -> Error {
        Error::Input {
            path: path.display().to_string(),
            line,
            message: message.into(),
        }
    }

    /// The process exit code for this error: 130 after Ctrl-C (as shells do), 1 otherwise.
    /// (0 when stdout was closed by its reader: the command stopped quietly).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Interrupted(_) => 130,
            Error::StdoutClosed => 0,
            _ => 1,
        }
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
