//! The exception hierarchy and the one place where [`toondb::ErrorKind`] maps onto it.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use toondb::ErrorKind;

create_exception!(
    toondb,
    Error,
    PyException,
    "Base class of every ToonDB error."
);
create_exception!(
    toondb,
    ConflictError,
    Error,
    "A transaction lost a race; retrying may succeed."
);
create_exception!(
    toondb,
    NotFoundError,
    Error,
    "The named thing does not exist."
);
create_exception!(
    toondb,
    AlreadyExistsError,
    Error,
    "The named thing already exists."
);
create_exception!(
    toondb,
    InvalidArgumentError,
    Error,
    "The input is invalid (argument, SQL, dimension)."
);
create_exception!(
    toondb,
    ConstraintError,
    Error,
    "A SQL constraint was violated."
);
create_exception!(toondb, UnsupportedError, Error, "Valid but not supported.");
create_exception!(toondb, CorruptionError, Error, "Stored data is damaged.");
create_exception!(
    toondb,
    ClosedError,
    Error,
    "The database is closed or poisoned; reopen it."
);
create_exception!(
    toondb,
    BusyError,
    Error,
    "The database directory is locked by another handle."
);
create_exception!(toondb, IoError, Error, "An operating-system I/O error.");
create_exception!(toondb, InternalError, Error, "A bug or unexpected failure.");

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<Error>())?;
    m.add("ConflictError", py.get_type::<ConflictError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("AlreadyExistsError", py.get_type::<AlreadyExistsError>())?;
    m.add(
        "InvalidArgumentError",
        py.get_type::<InvalidArgumentError>(),
    )?;
    m.add("ConstraintError", py.get_type::<ConstraintError>())?;
    m.add("UnsupportedError", py.get_type::<UnsupportedError>())?;
    m.add("CorruptionError", py.get_type::<CorruptionError>())?;
    m.add("ClosedError", py.get_type::<ClosedError>())?;
    m.add("BusyError", py.get_type::<BusyError>())?;
    m.add("IoError", py.get_type::<IoError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    Ok(())
}

/// Maps an engine error onto its exception class.
pub(crate) fn to_py(e: toondb::Error) -> PyErr {
    let msg = e.to_string();
    match e.kind() {
        ErrorKind::Conflict => ConflictError::new_err(msg),
        ErrorKind::NotFound => NotFoundError::new_err(msg),
        ErrorKind::AlreadyExists => AlreadyExistsError::new_err(msg),
        ErrorKind::InvalidArgument => InvalidArgumentError::new_err(msg),
        ErrorKind::Constraint => ConstraintError::new_err(msg),
        ErrorKind::Unsupported => UnsupportedError::new_err(msg),
        ErrorKind::Corruption => CorruptionError::new_err(msg),
        ErrorKind::Closed => ClosedError::new_err(msg),
        ErrorKind::Busy => BusyError::new_err(msg),
        ErrorKind::Io => IoError::new_err(msg),
        _ => InternalError::new_err(msg),
    }
}

/// `ClosedError("database is closed")`.
pub(crate) fn closed() -> PyErr {
    ClosedError::new_err("database is closed")
}

/// `InvalidArgumentError(msg)`.
pub(crate) fn invalid(msg: impl Into<String>) -> PyErr {
    InvalidArgumentError::new_err(msg.into())
}

/// Extension to map `toondb::Result` into `PyResult`.
pub(crate) trait MapPy<T> {
    fn py_err(self) -> PyResult<T>;
}

impl<T> MapPy<T> for toondb::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
