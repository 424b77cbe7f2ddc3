//! `Database`, `Transaction` and the scan iterator.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use pyo3::IntoPyObjectExt;

use crate::coll::{parse_metric, Collection};
use crate::convert::{bytes_arg, from_value};
use crate::ctx::{ContextBuilder, ContextResult};
use crate::errors::{closed, invalid, MapPy};
use ops::On as _;

/// The open database shared by a `Database` object and everything derived from it; `None`
/// once closed.
pub(crate) type Shared = Arc<RwLock<Option<toondb::Database>>>;

/// Clones the handle or raises `ClosedError`.
pub(crate) fn handle(s: &Shared) -> PyResult<toondb::Database> {
    s.read().clone().ok_or_else(closed)
}

/// Rows as a list of tuples or dicts.
pub(crate) fn rows_to_py(py: Python<'_>, rows: &toondb::Rows, as_dict: bool) -> PyResult<PyObject> {
    let cols = rows.columns();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows.iter() {
        out.push(row_to_py(py, cols, row.values(), as_dict)?);
    }
    PyList::new(py, out)?.into_py_any(py)
}

/// One row as a tuple, or a dict keyed by column name.
fn row_to_py(
    py: Python<'_>,
    cols: &[String],
    values: &[toondb::Value],
    as_dict: bool,
) -> PyResult<PyObject> {
    if as_dict {
        let d = PyDict::new(py);
        for (c, v) in cols.iter().zip(values) {
            d.set_item(c, from_value(py, v)?)?;
        }
        return d.into_py_any(py);
    }
    let vals = values
        .iter()
        .map(|v| from_value(py, v))
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, vals)?.into_py_any(py)
}

/// Rows of a query, produced lazily (see `Database.query_iter`).
#[pyclass(module = "toondb", frozen)]
pub(crate) struct RowIterator {
    columns: Vec<String>,
    stream: Mutex<Option<toondb::RowStream>>,
    as_dict: bool,
}

#[pymethods]
impl RowIterator {
    /// Column names.
    #[getter]
    fn columns(&self) -> Vec<String> {
        self.columns.clone()
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyObject>> {
        loop {
            let fetched = py.allow_threads(|| {
                let mut g = self.stream.lock();
                match g.as_mut() {
                    None => Ok(toondb::Fetch::Done),
                    Some(s) => s.fetch_timeout(std::time::Duration::from_millis(50)),
                }
            });
            match fetched.py_err()? {
                toondb::Fetch::Row(row) => {
                    return row_to_py(py, &self.columns, row.values(), self.as_dict).map(Some);
                }
                toondb::Fetch::Done => {
                    self.close(py);
                    return Ok(None);
                }
                toondb::Fetch::Pending => {
                    if let Err(e) = py.check_signals() {
                        self.close(py);
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Stops the statement (if still running) and releases the iterator's resources.
    fn close(&self, py: Python<'_>) {
        // Dropping the stream joins its worker; do it without the GIL.
        let s = self.stream.lock().take();
        py.allow_threads(move || drop(s));
    }
}

/// An open ToonDB database.
#[pyclass(module = "toondb", frozen)]
pub(crate) struct Database {
    db: Shared,
    path: Option<String>,
}

#[pymethods]
impl Database {
    /// Opens (creating if needed) the database in directory `path`; `":memory:"` opens an
    /// in-memory database.
    #[staticmethod]
    fn open(py: Python<'_>, path: PathArg) -> PyResult<Database> {
        let p = path.0;
        if p == ":memory:" {
            return Database::open_in_memory(py);
        }
        let p2 = p.clone();
        let db = py
            .allow_threads(move || toondb::Database::open(&p2))
            .py_err()?;
        Ok(Database {
            db: Arc::new(RwLock::new(Some(db))),
            path: Some(p),
        })
    }

    /// Opens the existing database in directory `path` read-only: the WAL is replayed in
    /// memory only and nothing in the directory is created, renamed or deleted. No lock is
    /// taken, so it works while another process has the database open read-write. Writes
    /// raise the unsupported-operation error.
    #[staticmethod]
    fn open_read_only(py: Python<'_>, path: PathArg) -> PyResult<Database> {
        let p = path.0;
        let p2 = p.clone();
        let db = py
            .allow_threads(move || toondb::Database::open_read_only(&p2))
            .py_err()?;
        Ok(Database {
            db: Arc::new(RwLock::new(Some(db))),
            path: Some(p),
        })
    }

    /// A fresh in-memory database.
    #[staticmethod]
    fn open_in_memory(py: Python<'_>) -> PyResult<Database> {
        let db = py
            .allow_threads(toondb::Database::open_in_memory)
            .py_err()?;
        Ok(Database {
            db: Arc::new(RwLock::new(Some(db))),
            path: None,
        })
    }

    /// The directory, or `None` for an in-memory database.
    #[getter]
    fn path(&self) -> Option<String> {
        self.path.clone()
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.db.read().is_none()
    }

    /// Syncs and closes the database (idempotent). Derived objects then raise `ClosedError`.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let db = self.db.write().take();
        match db {
            Some(db) => py.allow_threads(move || db.close()).py_err(),
            None => Ok(()),
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        match (&self.path, self.closed()) {
            (_, true) => "<toondb.Database closed>".into(),
            (Some(p), _) => format!("<toondb.Database path={p:?}>"),
            (None, _) => "<toondb.Database :memory:>".into(),
        }
    }

    /// Sets `key` to `value` (bytes or str).
    fn put(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        ops::put(self, py, key, value)
    }

    /// The value of `key` as bytes, or `None`.
    fn get(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Option<PyObject>> {
        ops::get(self, py, key)
    }

    /// Deletes `key` (no error if absent).
    fn delete(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        ops::delete(self, py, key)
    }

    /// Iterates `(key, value)` byte pairs whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, py: Python<'_>, prefix: &Bound<'_, PyAny>) -> PyResult<KvIterator> {
        let p = bytes_arg(prefix)?;
        let db = handle(&self.db)?;
        let it = py.allow_threads(move || db.scan_prefix(p)).py_err()?;
        Ok(KvIterator::new(it, self.db.clone()))
    }

    /// Starts a transaction. Use it as a context manager (commit on success, rollback on an
    /// exception) or call `commit()` / `rollback()`.
    fn begin(&self, py: Python<'_>) -> PyResult<Transaction> {
        let db = handle(&self.db)?;
        let tx = py.allow_threads(move || db.begin()).py_err()?;
        Ok(Transaction {
            tx: Mutex::new(Some(tx)),
            db: self.db.clone(),
        })
    }

    /// The graph namespace `namespace` (auto-commit writes; see `toondb.Graph`).
    fn graph(&self, namespace: String) -> PyResult<crate::graph::Graph> {
        handle(&self.db)?;
        if namespace.is_empty() {
            return Err(invalid("graph namespace must not be empty"));
        }
        Ok(crate::graph::Graph::of_db(self.db.clone(), namespace))
    }

    /// Same as `begin()`; reads well as `with db.transaction() as tx:`.
    fn transaction(&self, py: Python<'_>) -> PyResult<Transaction> {
        self.begin(py)
    }

    /// Runs SQL (autocommit); returns the rows affected by the last statement.
    #[pyo3(signature = (sql, params=None))]
    fn execute(
        &self,
        py: Python<'_>,
        sql: String,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        ops::execute(self, py, sql, params)
    }

    /// Runs SQL (autocommit); returns `(rows_affected, last_insert_rowid)` of the last
    /// statement (the rowid is None unless it inserted a row). Used by the DB-API cursor.
    #[pyo3(signature = (sql, params=None))]
    fn execute_rowid(
        &self,
        py: Python<'_>,
        sql: String,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(u64, Option<i64>)> {
        ops::execute_rowid(self, py, sql, params)
    }

    /// Runs a query; rows are tuples, or dicts with `as_dict=True`. `CONTEXT SELECT ...`
    /// statements return one row `(context, tokens, budget)`.
    #[pyo3(signature = (sql, params=None, *, as_dict=false))]
    fn query(
        &self,
        py: Python<'_>,
        sql: String,
        params: Option<&Bound<'_, PyAny>>,
        as_dict: bool,
    ) -> PyResult<PyObject> {
        ops::query(self, py, sql, params, as_dict)
    }

    /// Runs a query and returns `(column_names, rows)` with rows as tuples, in one execution
    /// (used by the DB-API cursor for `description`).
    #[pyo3(signature = (sql, params=None))]
    fn query_with_columns(
        &self,
        py: Python<'_>,
        sql: String,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(Vec<String>, PyObject)> {
        ops::query_with_columns(self, py, sql, params)
    }

    /// Runs a query and returns an iterator over its rows (tuples, or dicts with
    /// `as_dict=True`) that produces them lazily: the statement runs on a worker thread and
    /// only a few hundred rows wait for Python, so a huge result never sits in memory.
    /// Errors that happen at once (syntax, unknown table) are raised here; Ctrl-C while
    /// waiting for a row stops the statement (KeyboardInterrupt); `close()` or dropping the
    /// iterator stops it too.
    #[pyo3(signature = (sql, params=None, *, as_dict=false))]
    fn query_iter(
        &self,
        py: Python<'_>,
        sql: String,
        params: Option<&Bound<'_, PyAny>>,
        as_dict: bool,
    ) -> PyResult<RowIterator> {
        let ps = crate::convert::params(params)?;
        let db = handle(&self.db)?;
        let stream = interruptible(py, move || db.query_stream(&sql, &ps))?;
        Ok(RowIterator {
            columns: stream.columns().to_vec(),
            stream: Mutex::new(Some(stream)),
            as_dict,
        })
    }

    /// Column names a query returns (runs it).
    #[pyo3(signature = (sql, params=None))]
    fn columns(
        &self,
        py: Python<'_>,
        sql: String,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<String>> {
        let ps = crate::convert::params(params)?;
        let db = handle(&self.db)?;
        let rows = py.allow_threads(move || db.query(&sql, &ps)).py_err()?;
        Ok(rows.columns().to_vec())
    }

    /// Creates a collection of `dim`-dimensional vectors (`metric`: "cosine", "l2" or "ip").
    ///
    /// With `embedder` (`True`/`"default"` for the built-in all-MiniLM-L6-v2, or a
    /// sentence-transformers directory), or when `dim` is omitted, the collection embeds text
    /// itself (`add(ids=..., documents=...)`, `query(query_texts=...)`) and `dim` defaults to
    /// the model's.
    #[pyo3(signature = (name, dim=None, metric="cosine", *, m=None, ef_construction=None, ef_search=None, embedder=None))]
    #[allow(clippy::too_many_arguments)]
    fn create_collection(
        &self,
        py: Python<'_>,
        name: String,
        dim: Option<usize>,
        metric: &str,
        m: Option<usize>,
        ef_construction: Option<usize>,
        ef_search: Option<usize>,
        embedder: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Collection> {
        let metric = parse_metric(metric)?;
        let mut opts = toondb::CollectionOptions::default();
        let wants_embedder = dim.is_none()
            || embedder.is_some_and(|e| !e.is_none() && !e.extract::<bool>().is_ok_and(|b| !b));
        if wants_embedder {
            let dir = crate::embed::model_arg(embedder)?;
            opts = opts.embedder(crate::embed::load(py, dir)?);
        }
        let dim = dim.unwrap_or(0);
        if let Some(m) = m {
            opts = opts.with_m(m);
        }
        if let Some(ef) = ef_construction {
            opts = opts.with_ef_construction(ef);
        }
        if let Some(ef) = ef_search {
            opts = opts.with_ef_search(ef);
        }
        let db = handle(&self.db)?;
        let c = py
            .allow_threads(move || db.create_collection(&name, dim, metric, opts))
            .py_err()?;
        Ok(Collection::new(c, self.db.clone()))
    }

    /// Opens an existing collection (`NotFoundError` if absent).
    fn collection(&self, py: Python<'_>, name: String) -> PyResult<Collection> {
        let db = handle(&self.db)?;
        let c = py.allow_threads(move || db.collection(&name)).py_err()?;
        Ok(Collection::new(c, self.db.clone()))
    }

    /// Names of all collections.
    fn list_collections(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let db = handle(&self.db)?;
        py.allow_threads(move || db.list_collections()).py_err()
    }

    /// Drops a collection; returns whether it existed.
    fn drop_collection(&self, py: Python<'_>, name: String) -> PyResult<bool> {
        let db = handle(&self.db)?;
        py.allow_threads(move || db.drop_collection(&name)).py_err()
    }

    /// Starts a token-budgeted context builder.
    #[pyo3(signature = (budget=None, *, tokenizer=None))]
    fn context(&self, budget: Option<usize>, tokenizer: Option<&str>) -> PyResult<ContextBuilder> {
        let db = handle(&self.db)?;
        ContextBuilder::new(db, self.db.clone(), budget, tokenizer)
    }

    /// Runs a `CONTEXT SELECT ...` statement.
    fn context_query(&self, py: Python<'_>, statement: String) -> PyResult<ContextResult> {
        let db = handle(&self.db)?;
        let r = py
            .allow_threads(move || db.execute_context(&statement))
            .py_err()?;
        ContextResult::from_result(py, r)
    }
}

/// A path argument: `str` or `os.PathLike`.
pub(crate) struct PathArg(String);

impl<'py> FromPyObject<'py> for PathArg {
    fn extract_bound(ob: &Bound<'py, PyAny>) -> PyResult<Self> {
        let fspath = ob
            .py()
            .import("os")?
            .getattr("fspath")?
            .call1((ob,))
            .map_err(|_| PyTypeError::new_err("path must be str or os.PathLike"))?;
        let s: String = fspath
            .extract()
            .map_err(|_| PyTypeError::new_err("path must be a str path"))?;
        Ok(PathArg(s))
    }
}

/// The operations `Database` and `Transaction` share, each written once over a
/// [`toondb::Target`]; the two classes only say how to reach their target ([`On`]).
pub(crate) mod ops {
    use pyo3::prelude::*;
    use pyo3::types::PyBytes;
    use pyo3::IntoPyObjectExt;

    use super::{handle, interruptible, rows_to_py, Shared};
    use crate::convert::bytes_arg;
    use crate::errors::MapPy;

    /// How a call runs: SQL on a worker that Ctrl-C cancels, everything else just without
    /// the GIL.
    #[derive(Clone, Copy)]
    pub(crate) enum Mode {
        Sql,
        Plain,
    }

    impl Mode {
        /// The error for a call on a finished transaction (the messages each kind of call
        /// has always raised).
        pub(crate) fn finished(self) -> toondb::Error {
            let m = "transaction already finished".to_string();
            match self {
                Mode::Sql => toondb::Error::InvalidArgument(m),
                Mode::Plain => toondb::Error::Input(m),
            }
        }
    }

    /// Something that runs calls on a [`toondb::Target`]: a `Database` (autocommit) or a
    /// `Transaction`.
    pub(crate) trait On {
        /// Runs `f` on the target without the GIL, as `mode` says.
        fn on<T: Send>(
            &self,
            py: Python<'_>,
            mode: Mode,
            f: impl FnOnce(toondb::Target<'_>) -> toondb::Result<T> + Send,
        ) -> PyResult<T>;
    }

    /// [`On::on`] for an open database handle (`ClosedError` once closed).
    pub(crate) fn on_db<T: Send>(
        py: Python<'_>,
        db: &Shared,
        mode: Mode,
        f: impl FnOnce(toondb::Target<'_>) -> toondb::Result<T> + Send,
    ) -> PyResult<T> {
        let db = handle(db)?;
        let run = move || f(toondb::Target::Db(&db));
        match mode {
            Mode::Sql => interruptible(py, run),
            Mode::Plain => py.allow_threads(run).py_err(),
        }
    }

    pub(crate) fn put(
        on: &impl On,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let (k, v) = (bytes_arg(key)?, bytes_arg(value)?);
        on.on(py, Mode::Plain, move |mut t| t.put(k, v))
    }

    pub(crate) fn get(
        on: &impl On,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
    ) -> PyResult<Option<PyObject>> {
        let k = bytes_arg(key)?;
        let v = on.on(py, Mode::Plain, move |mut t| t.get(k))?;
        v.map(|v| PyBytes::new(py, &v).into_py_any(py)).transpose()
    }

    pub(crate) fn delete(on: &impl On, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let k = bytes_arg(key)?;
        on.on(py, Mode::Plain, move |mut t| t.delete(k))
    }

    pub(crate) fn execute(
        on: &impl On,
        py: Python<'_>,
        sql: String,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        let ps = crate::convert::params(params)?;
        on.on(py, Mode::Sql, move |mut t| t.execute(&sql, &ps))
    }

    fn rows(
        on: &impl On,
        py: Python<'_>,
        sql: String,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<toondb::Rows> {
        let ps = crate::convert::params(params)?;
        on.on(py, Mode::Sql, move |mut t| t.query(&sql, &ps))
    }

    pub(crate) fn execute_rowid(
        on: &impl On,
        py: Python<'_>,
        sql: String,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(u64, Option<i64>)> {
        let rows = rows(on, py, sql, params)?;
        Ok((rows.rows_affected(), rows.last_insert_rowid()))
    }

    pub(crate) fn query(
        on: &impl On,
        py: Python<'_>,
        sql: String,
        params: Option<&Bound<'_, PyAny>>,
        as_dict: bool,
    ) -> PyResult<PyObject> {
        let rows = rows(on, py, sql, params)?;
        rows_to_py(py, &rows, as_dict)
    }

    pub(crate) fn query_with_columns(
        on: &impl On,
        py: Python<'_>,
        sql: String,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(Vec<String>, PyObject)> {
        let rows = rows(on, py, sql, params)?;
        Ok((rows.columns().to_vec(), rows_to_py(py, &rows, false)?))
    }
}

/// Runs a SQL call without the GIL on a scoped worker thread while this thread keeps
/// checking for Python signals: on KeyboardInterrupt (or any signal handler raising) the
/// running statement is cancelled (it applies nothing) and the exception propagates.
fn interruptible<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> toondb::Result<T> + Send,
) -> PyResult<T> {
    use std::sync::mpsc::{channel, RecvTimeoutError};
    let token = toondb::CancelToken::new();
    std::thread::scope(|scope| {
        let (tx, rx) = channel();
        let worker_token = token.clone();
        scope.spawn(move || {
            let _ = tx.send(toondb::with_cancel_token(&worker_token, f));
        });
        // A Receiver is not Sync; the lock makes it shareable with the GIL-free closure.
        let rx = Mutex::new(rx);
        loop {
            let got =
                py.allow_threads(|| rx.lock().recv_timeout(std::time::Duration::from_millis(50)));
            match got {
                Ok(r) => return r.py_err(),
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(e) = py.check_signals() {
                        token.cancel();
                        // The statement stops at its next check; wait so nothing outlives us.
                        let _ = py.allow_threads(|| rx.lock().recv());
                        return Err(e);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(crate::errors::InternalError::new_err(
                        "SQL worker thread ended without a result",
                    ))
                }
            }
        }
    })
}

/// A transaction. Reads see a snapshot plus its own writes.
#[pyclass(module = "toondb", frozen)]
pub(crate) struct Transaction {
    tx: Mutex<Option<toondb::Transaction>>,
    db: Shared,
}

impl ops::On for Database {
    fn on<T: Send>(
        &self,
        py: Python<'_>,
        mode: ops::Mode,
        f: impl FnOnce(toondb::Target<'_>) -> toondb::Result<T> + Send,
    ) -> PyResult<T> {
        ops::on_db(py, &self.db, mode, f)
    }
}

impl ops::On for Transaction {
    fn on<T: Send>(
        &self,
        py: Python<'_>,
        mode: ops::Mode,
        f: impl FnOnce(toondb::Target<'_>) -> toondb::Result<T> + Send,
    ) -> PyResult<T> {
        if self.db.read().is_none() {
            return Err(closed());
        }
        let tx = &self.tx;
        let run = move || {
            let mut g = tx.lock();
            match g.as_mut() {
                Some(t) => f(toondb::Target::Txn(t)),
                None => Err(mode.finished()),
            }
        };
        match mode {
            ops::Mode::Sql => interruptible(py, run),
            ops::Mode::Plain => py.allow_threads(run).py_err(),
        }
    }
}

#[pymethods]
impl Transaction {
    /// The graph namespace `namespace` inside this transaction (writes commit with it).
    fn graph(slf: Py<Self>, namespace: String) -> PyResult<crate::graph::Graph> {
        if namespace.is_empty() {
            return Err(invalid("graph namespace must not be empty"));
        }
        Ok(crate::graph::Graph::of_txn(slf, namespace))
    }

    /// Whether the transaction is still open.
    #[getter]
    fn active(&self) -> bool {
        self.tx.lock().is_some()
    }

    fn put(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        ops::put(self, py, key, value)
    }

    fn get(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Option<PyObject>> {
        ops::get(self, py, key)
    }

    fn delete(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        ops::delete(self, py, key)
    }

    /// `(key, value)` pairs under `prefix` as seen by this transaction (a list).
    fn scan_prefix(
        &self,
        py: Python<'_>,
        prefix: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<(PyObject, PyObject)>> {
        let p = bytes_arg(prefix)?;
        let pairs = self.on(py, ops::Mode::Plain, move |mut t| {
            t.scan_prefix(p)?.collect_all()
        })?;
        pairs
            .into_iter()
            .map(|(k, v)| {
                Ok((
                    PyBytes::new(py, &k).into_py_any(py)?,
                    PyBytes::new(py, &v).into_py_any(py)?,
                ))
            })
            .collect()
    }

    #[pyo3(signature = (sql, params=None))]
    fn execute(
        &self,
        py: Python<'_>,
        sql: String,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        ops::execute(self, py, sql, params)
    }

    /// Runs SQL in the transaction; returns `(rows_affected, last_insert_rowid)`.
    #[pyo3(signature = (sql, params=None))]
    fn execute_rowid(
        &self,
        py: Python<'_>,
        sql: String,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(u64, Option<i64>)> {
        ops::execute_rowid(self, py, sql, params)
    }

    #[pyo3(signature = (sql, params=None, *, as_dict=false))]
    fn query(
        &self,
        py: Python<'_>,
        sql: String,
        params: Option<&Bound<'_, PyAny>>,
        as_dict: bool,
    ) -> PyResult<PyObject> {
        ops::query(self, py, sql, params, as_dict)
    }

    /// Runs a query and returns `(column_names, rows)` with rows as tuples, in one execution.
    #[pyo3(signature = (sql, params=None))]
    fn query_with_columns(
        &self,
        py: Python<'_>,
        sql: String,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(Vec<String>, PyObject)> {
        ops::query_with_columns(self, py, sql, params)
    }

    /// Commits atomically; `ConflictError` if a concurrent transaction won.
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        if self.db.read().is_none() {
            return Err(closed());
        }
        let t = self
            .tx
            .lock()
            .take()
            .ok_or_else(|| invalid("transaction already finished"))?;
        py.allow_threads(move || t.commit()).py_err()
    }

    /// Discards the transaction's writes (no-op if already finished).
    fn rollback(&self, py: Python<'_>) {
        let t = self.tx.lock().take();
        if let Some(t) = t {
            py.allow_threads(move || t.rollback());
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (exc_type, _exc=None, _tb=None))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let failed = exc_type.is_some_and(|t| !t.is_none());
        if failed || !self.active() {
            self.rollback(py);
        } else {
            self.commit(py)?;
        }
        Ok(false)
    }
}

/// Iterator returned by `Database.scan_prefix`.
#[pyclass(module = "toondb")]
pub(crate) struct KvIterator {
    // The storage iterator is `Send` but not `Sync`; pyclasses must be `Sync`.
    it: Mutex<Option<toondb::KvIter>>,
    buf: VecDeque<(Vec<u8>, Vec<u8>)>,
    db: Shared,
}

impl KvIterator {
    fn new(it: toondb::KvIter, db: Shared) -> KvIterator {
        KvIterator {
            it: Mutex::new(Some(it)),
            buf: VecDeque::new(),
            db,
        }
    }
}

/// Pairs fetched per GIL release.
const SCAN_BATCH: usize = 256;

#[pymethods]
impl KvIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<(PyObject, PyObject)>> {
        if self.buf.is_empty() {
            if self.db.read().is_none() {
                *self.it.get_mut() = None;
                return Err(closed());
            }
            let taken = self.it.get_mut().take();
            if let Some(mut it) = taken {
                let (batch, more) = py.allow_threads(move || {
                    let mut batch = Vec::with_capacity(SCAN_BATCH);
                    let mut err = None;
                    for r in it.by_ref().take(SCAN_BATCH) {
                        match r {
                            Ok(kv) => batch.push(kv),
                            Err(e) => {
                                err = Some(e);
                                break;
                            }
                        }
                    }
                    let more = if err.is_none() && batch.len() == SCAN_BATCH {
                        Some(it)
                    } else {
                        None
                    };
                    (err.map_or(Ok(batch), Err), more)
                });
                *self.it.get_mut() = more;
                self.buf.extend(batch.py_err()?);
            }
        }
        match self.buf.pop_front() {
            Some((k, v)) => Ok(Some((
                PyBytes::new(py, &k).into_py_any(py)?,
                PyBytes::new(py, &v).into_py_any(py)?,
            ))),
            None => Ok(None),
        }
    }
}
