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
// PEP 249 (DB-API 2.0) hierarchy. `Error` above is both ToonDB's base class and DB-API's
// `Error`; every ToonDB class below derives from the DB-API class that fits its kind, so
// `except toondb.IntegrityError` and `except toondb.ConstraintError` both work.
create_exception!(
    toondb,
    Warning,
    PyException,
    "DB-API 2.0 warning (never raised by ToonDB; present for PEP 249)."
);
create_exception!(
    toondb,
    InterfaceError,
    Error,
    "DB-API 2.0: misuse of the database interface (closed cursor, bad parameter count)."
);
create_exception!(
    toondb,
    DatabaseError,
    Error,
    "DB-API 2.0: an error reported by the database engine."
);
create_exception!(
    toondb,
    DataError,
    DatabaseError,
    "DB-API 2.0: a problem with the processed data."
);
create_exception!(
    toondb,
    OperationalError,
    DatabaseError,
    "DB-API 2.0: an operational failure (conflict, closed, busy, I/O, interrupted, out of budget)."
);
create_exception!(
    toondb,
    IntegrityError,
    DatabaseError,
    "DB-API 2.0: relational integrity was violated (constraints)."
);
create_exception!(
    toondb,
    ProgrammingError,
    DatabaseError,
    "DB-API 2.0: bad SQL, bad arguments, unknown or duplicate names."
);
create_exception!(
    toondb,
    NotSupportedError,
    DatabaseError,
    "DB-API 2.0: valid but not supported."
);
create_exception!(
    toondb,
    ConflictError,
    OperationalError,
    "A transaction lost a race; retrying may succeed."
);
create_exception!(
    toondb,
    NotFoundError,
    ProgrammingError,
    "The named thing does not exist."
);
create_exception!(
    toondb,
    AlreadyExistsError,
    ProgrammingError,
    "The named thing already exists."
);
create_exception!(
    toondb,
    InvalidArgumentError,
    ProgrammingError,
    "The input is invalid (argument, SQL, dimension)."
);
create_exception!(
    toondb,
    ConstraintError,
    IntegrityError,
    "A SQL constraint was violated."
);
create_exception!(
    toondb,
    UnsupportedError,
    NotSupportedError,
    "Valid but not supported."
);
create_exception!(
    toondb,
    CorruptionError,
    DatabaseError,
    "Stored data is damaged."
);
create_exception!(
    toondb,
    ClosedError,
    OperationalError,
    "The database is closed or poisoned; reopen it."
);
create_exception!(
    toondb,
    BusyError,
    OperationalError,
    "The database directory is locked by another handle."
);
create_exception!(
    toondb,
    IoError,
    OperationalError,
    "An operating-system I/O error."
);
create_exception!(
    toondb,
    InterruptedError,
    OperationalError,
    "The statement was interrupted (interrupt handle, timeout, cancel). Not the builtin InterruptedError."
);
create_exception!(
    toondb,
    ResourceExhaustedError,
    OperationalError,
    "The statement needed more memory (or another resource) than its budget allows."
);
create_exception!(
    toondb,
    InternalError,
    DatabaseError,
    "A bug or unexpected failure (also DB-API 2.0's InternalError)."
);

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
    m.add("InterruptedError", py.get_type::<InterruptedError>())?;
    m.add(
        "ResourceExhaustedError",
        py.get_type::<ResourceExhaustedError>(),
    )?;
    m.add("Warning", py.get_type::<Warning>())?;
    m.add("InterfaceError", py.get_type::<InterfaceError>())?;
    m.add("DatabaseError", py.get_type::<DatabaseError>())?;
    m.add("DataError", py.get_type::<DataError>())?;
    m.add("OperationalError", py.get_type::<OperationalError>())?;
    m.add("IntegrityError", py.get_type::<IntegrityError>())?;
    m.add("ProgrammingError", py.get_type::<ProgrammingError>())?;
    m.add("NotSupportedError", py.get_type::<NotSupportedError>())?;
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
        ErrorKind::Interrupted => InterruptedError::new_err(msg),
        ErrorKind::ResourceExhausted => ResourceExhaustedError::new_err(msg),
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
