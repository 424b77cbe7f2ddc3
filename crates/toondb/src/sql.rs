//! SQL results with typed access, and parameter conversion.

use std::sync::Arc;

use crate::error::{Error, Result};
use toondb_query::Value;

/// Converts a Rust value into a SQL [`Value`] (used by [`params!`](crate::params)).
pub trait ToValue {
    /// The SQL value.
    fn to_value(&self) -> Value;
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
}
macro_rules! int_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Integer(i64::from(*self))
            }
        }
    )*};
}
int_to_value!(i8, i16, i32, i64, u8, u16, u32);
impl ToValue for u64 {
    /// Values above `i64::MAX` become REAL (SQL integers are 64-bit signed).
    fn to_value(&self) -> Value {
        i64::try_from(*self).map_or_else(|_| Value::real(*self as f64), Value::Integer)
    }
}
impl ToValue for usize {
    fn to_value(&self) -> Value {
        (*self as u64).to_value()
    }
}
impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::real(*self)
    }
}
impl ToValue for f32 {
    fn to_value(&self) -> Value {
        Value::real(f64::from(*self))
    }
}
impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Integer(i64::from(*self))
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}
impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
}

/// Builds a `&[Value]` parameter list from Rust values.
///
/// ```
/// let p = toondb::params![1, "two", 3.5, None::<i64>];
/// assert_eq!(p.len(), 4);
/// assert_eq!(p[1], toondb::Value::Text("two".into()));
/// ```
#[macro_export]
macro_rules! params {
    () => {
        &[] as &[$crate::Value]
    };
    ($($x:expr),+ $(,)?) => {
        &[$($crate::ToValue::to_value(&$x)),+] as &[$crate::Value]
    };
}

/// Converts a SQL [`Value`] into a Rust type (used by [`Row::get`]).
pub trait FromValue: Sized {
    /// The Rust type name used in error messages.
    const EXPECTED: &'static str;
    /// The converted value, or `None` when the SQL value has the wrong type or range.
    fn from_value(v: &Value) -> Option<Self>;
}

impl FromValue for Value {
    const EXPECTED: &'static str = "Value";
    fn from_value(v: &Value) -> Option<Self> {
        Some(v.clone())
    }
}
impl FromValue for i64 {
    const EXPECTED: &'static str = "i64";
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }
}
macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            const EXPECTED: &'static str = stringify!($t);
            fn from_value(v: &Value) -> Option<Self> {
                match v {
                    Value::Integer(i) => <$t>::try_from(*i).ok(),
                    _ => None,
                }
            }
        }
    )*};
}
int_from_value!(i8, i16, i32, u8, u16, u32, u64, usize);
impl FromValue for f64 {
    const EXPECTED: &'static str = "f64";
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Real(r) => Some(*r),
            Value::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }
}
impl FromValue for f32 {
    const EXPECTED: &'static str = "f32";
    fn from_value(v: &Value) -> Option<Self> {
        f64::from_value(v).map(|f| f as f32)
    }
}
impl FromValue for bool {
    const EXPECTED: &'static str = "bool";
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Integer(i) => Some(*i != 0),
            _ => None,
        }
    }
}
impl FromValue for String {
    const EXPECTED: &'static str = "String";
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}
impl FromValue for Vec<u8> {
    const EXPECTED: &'static str = "Vec<u8>";
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Blob(b) => Some(b.clone()),
            Value::Text(s) => Some(s.as_bytes().to_vec()),
            _ => None,
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// Something that selects a column: a `usize` index or a `&str` name.
pub trait ColumnIndex {
    /// The 0-based position of the column in `columns`.
    fn index(&self, columns: &[String]) -> Result<usize>;
    /// A description for error messages.
    fn describe(&self) -> String;
}

impl ColumnIndex for usize {
    fn index(&self, columns: &[String]) -> Result<usize> {
        if *self < columns.len() {
            Ok(*self)
        } else {
            Err(Error::NotFound(format!(
                "column index {self} (the row has {} columns)",
                columns.len()
            )))
        }
    }
    fn describe(&self) -> String {
        self.to_string()
    }
}

impl ColumnIndex for &str {
    fn index(&self, columns: &[String]) -> Result<usize> {
        columns
            .iter()
            .position(|c| c == self)
            .or_else(|| columns.iter().position(|c| c.eq_ignore_ascii_case(self)))
            .ok_or_else(|| Error::NotFound(format!("column {self:?}")))
    }
    fn describe(&self) -> String {
        format!("{self:?}")
    }
}

/// One result row. Cheap to clone the column names (shared).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// The value of a column converted to `T`. Errors: unknown column ([`Error::NotFound`]),
    /// wrong type or out of range ([`Error::InvalidColumnType`]).
    ///
    /// ```
    /// let db = toondb::Database::open_in_memory().unwrap();
    /// let rows = db.query("SELECT 42 AS answer, 'hi' AS greeting, NULL AS nothing", toondb::params![]).unwrap();
    /// let row = &rows[0];
    /// assert_eq!(row.get::<i64>(0).unwrap(), 42);
    /// assert_eq!(row.get::<String>("greeting").unwrap(), "hi");
    /// assert_eq!(row.get::<Option<i64>>("nothing").unwrap(), None);
    /// assert!(row.get::<i64>("greeting").is_err());
    /// ```
    pub fn get<T: FromValue>(&self, idx: impl ColumnIndex) -> Result<T> {
        let v = self.at(idx.index(&self.columns)?)?;
        T::from_value(v).ok_or_else(|| Error::InvalidColumnType {
            column: idx.describe(),
            expected: T::EXPECTED,
            found: v.type_name(),
        })
    }

    /// The raw value of a column.
    pub fn value(&self, idx: impl ColumnIndex) -> Result<&Value> {
        self.at(idx.index(&self.columns)?)
    }

    /// The value at position `i`; a row built with fewer values than columns
    /// ([`Rows::from_parts`]) reports the gap as [`Error::NotFound`].
    fn at(&self, i: usize) -> Result<&Value> {
        self.values.get(i).ok_or_else(|| {
            Error::NotFound(format!(
                "column index {i} (the row has {} values)",
                self.values.len()
            ))
        })
    }

    /// Column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// All values, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True for a row with no columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values, consuming the row.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }
}

/// The rows of a query, with column names. Iterate with `for row in &rows` or `rows.iter()`,
/// index with `rows[i]`.
///
/// Equality and `Debug` cover column names, rows and rows affected, not the column type
/// metadata ([`Rows::column_types`]), which results received over gRPC do not carry.
#[derive(Clone, Default)]
pub struct Rows {
    columns: Arc<[String]>,
    types: Arc<[ColumnMeta]>,
    rows: Vec<Row>,
    rows_affected: u64,
    last_insert_rowid: Option<i64>,
}

impl std::fmt::Debug for Rows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rows")
            .field("columns", &self.columns)
            .field("rows", &self.rows)
            .field("rows_affected", &self.rows_affected)
            .finish()
    }
}

impl PartialEq for Rows {
    fn eq(&self, other: &Rows) -> bool {
        self.columns == other.columns
            && self.rows == other.rows
            && self.rows_affected == other.rows_affected
    }
}

/// What the planner knows about a result column's type.
#[derive(Clone, Debug, Default, PartialEq)]
struct ColumnMeta {
    /// Declared type text of a plain column reference.
    decl_type: Option<String>,
    /// Type known at plan time (declared type, CAST target, count(), literal).
    static_ty: Option<toondb_query::DataType>,
}

impl Rows {
    pub(crate) fn from_result(r: toondb_query::QueryResult) -> Rows {
        let types: Arc<[ColumnMeta]> = r
            .columns
            .iter()
            .map(|c| ColumnMeta {
                decl_type: c.decl_type.clone(),
                static_ty: c.static_ty,
            })
            .collect();
        let columns: Arc<[String]> = r.columns.into_iter().map(|c| c.name).collect();
        let rows = r
            .rows
            .into_iter()
            .map(|values| Row {
                columns: columns.clone(),
                values,
            })
            .collect();
        Rows {
            columns,
            types,
            rows,
            rows_affected: r.rows_affected,
            last_insert_rowid: r.last_insert_rowid,
        }
    }

    /// No rows, only the column description of `columns`.
    pub(crate) fn header(columns: Vec<toondb_query::Column>) -> Rows {
        Rows::from_result(toondb_query::QueryResult {
            columns,
            ..Default::default()
        })
    }

    /// The same columns (names and types) without the rows.
    pub(crate) fn without_rows(&self) -> Rows {
        Rows {
            columns: self.columns.clone(),
            types: self.types.clone(),
            rows: Vec::new(),
            rows_affected: 0,
            last_insert_rowid: None,
        }
    }

    /// A result built from column names and rows of values (e.g. as a remote client receives
    /// them); column types are unknown and the counts are 0. A row shorter than `columns`
    /// reads the missing values as errors from [`Row::get`], never as panics.
    pub fn from_parts(columns: Vec<String>, data: Vec<Vec<Value>>) -> Rows {
        let columns: Arc<[String]> = columns.into();
        let types: Arc<[ColumnMeta]> = columns.iter().map(|_| ColumnMeta::default()).collect();
        let rows = data
            .into_iter()
            .map(|values| Row {
                columns: columns.clone(),
                values,
            })
            .collect();
        Rows {
            columns,
            types,
            rows,
            rows_affected: 0,
            last_insert_rowid: None,
        }
    }

    /// Column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }
    /// Declared type text of column `i`, as SQLite's `sqlite3_column_decltype` reports it: the
    /// type written in `CREATE TABLE` when the column is a plain reference to a table column
    /// (also through an alias, a view or a subquery), `None` for expressions, for columns
    /// declared without a type, for out-of-range `i`, and for results built by the remote client.
    ///
    /// ```
    /// # fn main() -> toondb::Result<()> {
    /// let db = toondb::Database::open_in_memory()?;
    /// db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(20))", &[])?;
    /// let rows = db.query("SELECT name AS n, id + 1, CAST(id AS TEXT) FROM t", &[])?;
    /// assert_eq!(rows.column_decltype(0), Some("VARCHAR(20)"));
    /// assert_eq!(rows.column_decltype(1), None); // an expression has no declared type
    /// assert_eq!(rows.column_types(), vec![Some("TEXT"), None, Some("TEXT")]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn column_decltype(&self, i: usize) -> Option<&str> {
        self.types.get(i).and_then(|t| t.decl_type.as_deref())
    }
    /// Per column, the type known without looking at the data, as a canonical SQL name
    /// (`"INTEGER"`, `"REAL"`, `"TEXT"`, `"BLOB"` or `"BOOLEAN"`): the mapped declared type of a
    /// plain column reference, the target of `CAST(.. AS T)`, `"INTEGER"` for `count(..)`,
    /// `"REAL"` for `total(..)`, a non-NULL literal's type. `None` when the type depends on
    /// the values (any other expression, an untyped column). See [`Rows::column_decltype`].
    pub fn column_types(&self) -> Vec<Option<&'static str>> {
        self.types
            .iter()
            .map(|t| t.static_ty.map(type_name))
            .collect()
    }
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    /// Rows changed by a DML statement (0 for queries).
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
    /// The rowid of the last row an `INSERT` (or `REPLACE`, or an UPSERT that inserted) of
    /// this statement inserted, like SQLite's `sqlite3_last_insert_rowid` for the statement;
    /// `None` for other statements.
    ///
    /// ```
    /// use toondb::{params, Database};
    /// let db = Database::open_in_memory().unwrap();
    /// db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", params![]).unwrap();
    /// let r = db.query("INSERT INTO t(v) VALUES ('a'), ('b')", params![]).unwrap();
    /// assert_eq!(r.last_insert_rowid(), Some(2));
    /// assert_eq!(db.query("SELECT 1", params![]).unwrap().last_insert_rowid(), None);
    /// ```
    pub fn last_insert_rowid(&self) -> Option<i64> {
        self.last_insert_rowid
    }
    /// Iterates the rows.
    pub fn iter(&self) -> std::slice::Iter<'_, Row> {
        self.rows.iter()
    }
    /// The first row, if any.
    pub fn first(&self) -> Option<&Row> {
        self.rows.first()
    }
    /// Plain values, row-major.
    pub fn to_values(&self) -> Vec<Vec<Value>> {
        self.rows.iter().map(|r| r.values.clone()).collect()
    }
}

impl std::ops::Index<usize> for Rows {
    type Output = Row;
    fn index(&self, i: usize) -> &Row {
        &self.rows[i]
    }
}

impl IntoIterator for Rows {
    type Item = Row;
    type IntoIter = std::vec::IntoIter<Row>;
    fn into_iter(self) -> Self::IntoIter {
        self.rows.into_iter()
    }
}

impl<'a> IntoIterator for &'a Rows {
    type Item = &'a Row;
    type IntoIter = std::slice::Iter<'a, Row>;
    fn into_iter(self) -> Self::IntoIter {
        self.rows.iter()
    }
}

/// Whether `sql` is a ToonDB `CONTEXT ...` statement rather than plain SQL.
pub(crate) fn is_context_statement(sql: &str) -> bool {
    let t = sql.trim_start();
    t.len() >= 7
        && t.as_bytes()[..7].eq_ignore_ascii_case(b"context")
        && t[7..].starts_with(|c: char| c.is_whitespace())
}

/// Canonical SQL name of a planner data type.
fn type_name(t: toondb_query::DataType) -> &'static str {
    use toondb_query::DataType as D;
    match t {
        D::Integer => "INTEGER",
        D::Real => "REAL",
        D::Text => "TEXT",
        D::Blob => "BLOB",
        D::Boolean => "BOOLEAN",
        _ => "NULL",
    }
}

/// Drives a streamed statement for the `query_each*` APIs: `run` executes it with the
/// engine's row callback; each row becomes a [`Row`] (all sharing one column-name list) for
/// `f`, whose `ControlFlow::Break` or error stops the statement (the error is returned).
/// `header` gets an empty [`Rows`] describing the columns before the first row, or once at
/// the end when there are no rows.
pub(crate) fn stream_rows<H, F>(
    run: impl FnOnce(&mut toondb_query::RowCallback<'_>) -> Result<toondb_query::QueryResult>,
    mut header: H,
    mut f: F,
) -> Result<()>
where
    H: FnMut(&Rows),
    F: FnMut(Row) -> Result<std::ops::ControlFlow<()>>,
{
    let mut names: Option<Arc<[String]>> = None;
    let mut failed: Option<Error> = None;
    let r = {
        let mut cb = |cols: &[toondb_query::Column], values: Vec<Value>| {
            let columns = match &names {
                Some(n) => n.clone(),
                None => {
                    let hdr = Rows::header(cols.to_vec());
                    header(&hdr);
                    names = Some(hdr.columns.clone());
                    hdr.columns
                }
            };
            match f(Row { columns, values }) {
                Ok(std::ops::ControlFlow::Continue(())) => Ok(toondb_query::Flow::More),
                Ok(std::ops::ControlFlow::Break(())) => Ok(toondb_query::Flow::Stop),
                Err(e) => {
                    failed = Some(e);
                    Ok(toondb_query::Flow::Stop)
                }
            }
        };
        run(&mut cb)
    };
    if let Some(e) = failed {
        return Err(e);
    }
    let q = r?;
    if names.is_none() {
        header(&Rows::header(q.columns));
    }
    Ok(())
}

/// The rows of a query, produced lazily by a worker thread while the caller iterates (see
/// [`Database::query_stream`](crate::Database::query_stream)). At most a small, fixed number
/// of rows wait between the two, so memory does not grow with the result; dropping the
/// stream stops the statement.
pub struct RowStream {
    header: Rows,
    /// Rows, or the error that ended the statement; `None` once finished.
    rx: Option<crossbeam_channel::Receiver<Result<Vec<Value>>>>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for RowStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowStream")
            .field("columns", &self.header.columns)
            .finish_non_exhaustive()
    }
}

/// Rows buffered between the worker and the consumer of a [`RowStream`].
const STREAM_BUFFER_ROWS: usize = 256;

impl RowStream {
    /// Starts `run` on a worker thread; `run` streams a header and rows to the callbacks it
    /// gets (a callback returning false means the consumer is gone). Waits for the header
    /// (it comes before the first row) so the columns are known and a statement that fails
    /// at once fails here.
    pub(crate) fn start<R>(run: R) -> Result<RowStream>
    where
        R: FnOnce(&mut dyn FnMut(&Rows) -> bool, &mut dyn FnMut(Vec<Value>) -> bool) -> Result<()>
            + Send
            + 'static,
    {
        let (header_tx, header_rx) = crossbeam_channel::bounded::<Result<Rows>>(1);
        let (tx, rx) = crossbeam_channel::bounded::<Result<Vec<Value>>>(STREAM_BUFFER_ROWS);
        // A cancel token set by the caller (`with_cancel_token`) must reach the statement,
        // which runs on the worker.
        let token = toondb_query::current_cancel_token().unwrap_or_default();
        let worker = std::thread::Builder::new()
            .name("toondb-query-stream".into())
            .spawn(move || {
                toondb_query::with_cancel_token(&token, || {
                    let header_sent = std::cell::Cell::new(false);
                    let r = run(
                        &mut |hdr| {
                            header_sent.set(true);
                            header_tx.send(Ok(hdr.without_rows())).is_ok()
                        },
                        &mut |row| tx.send(Ok(row)).is_ok(),
                    );
                    if let Err(e) = r {
                        if header_sent.get() {
                            let _ = tx.send(Err(e));
                        } else {
                            let _ = header_tx.send(Err(e));
                        }
                    }
                })
            })
            .map_err(|e| Error::Internal(format!("cannot start a query thread: {e}")))?;
        let header = match header_rx.recv() {
            Ok(h) => h?,
            Err(_) => {
                return Err(Error::Internal(
                    "the query thread ended without a result".into(),
                ))
            }
        };
        Ok(RowStream {
            header,
            rx: Some(rx),
            worker: Some(worker),
        })
    }

    /// Column names.
    pub fn columns(&self) -> &[String] {
        self.header.columns()
    }

    /// Declared type of column `i` (see [`Rows::column_decltype`]).
    pub fn column_decltype(&self, i: usize) -> Option<&str> {
        self.header.column_decltype(i)
    }

    /// Types known without looking at the data (see [`Rows::column_types`]).
    pub fn column_types(&self) -> Vec<Option<&'static str>> {
        self.header.column_types()
    }

    /// A message from the worker as the caller sees it: a row, the error that ended the
    /// statement, or `None` at the end (the channel closes when the worker is done; a worker
    /// that panicked is reported as an error).
    fn deliver(&mut self, got: Option<Result<Vec<Value>>>) -> Option<Result<Row>> {
        match got {
            Some(Ok(values)) => Some(Ok(Row {
                columns: self.header.columns.clone(),
                values,
            })),
            Some(Err(e)) => {
                self.rx = None;
                Some(Err(e))
            }
            None => {
                self.rx = None;
                // The worker is done; a panic there must not look like the end of the rows.
                match self.worker.take().map(std::thread::JoinHandle::join) {
                    Some(Err(_)) => Some(Err(Error::Internal(
                        "the query thread stopped unexpectedly".into(),
                    ))),
                    _ => None,
                }
            }
        }
    }
}

/// What [`RowStream::fetch_timeout`] found.
#[derive(Debug)]
pub enum Fetch {
    /// The next row.
    Row(Row),
    /// The result is complete.
    Done,
    /// No row arrived in time; the statement is still running.
    Pending,
}

impl RowStream {
    /// The next row, waiting at most `timeout` for it, so a caller can check for its own
    /// cancellation (a signal, a deadline) between waits; dropping the stream stops the
    /// statement.
    ///
    /// ```
    /// use std::time::Duration;
    /// use toondb::{params, Database, Fetch};
    /// let db = Database::open_in_memory().unwrap();
    /// let mut rows = db.query_stream("SELECT 1 AS one", params![]).unwrap();
    /// let mut got = Vec::new();
    /// loop {
    ///     match rows.fetch_timeout(Duration::from_millis(50)).unwrap() {
    ///         Fetch::Row(r) => got.push(r.get::<i64>("one").unwrap()),
    ///         Fetch::Pending => continue, // check for cancellation here
    ///         Fetch::Done => break,
    ///     }
    /// }
    /// assert_eq!(got, [1]);
    /// ```
    pub fn fetch_timeout(&mut self, timeout: std::time::Duration) -> Result<Fetch> {
        let Some(rx) = self.rx.as_ref() else {
            return Ok(Fetch::Done);
        };
        let got = match rx.recv_timeout(timeout) {
            Ok(m) => Some(m),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => return Ok(Fetch::Pending),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => None,
        };
        match self.deliver(got) {
            Some(Ok(row)) => Ok(Fetch::Row(row)),
            Some(Err(e)) => Err(e),
            None => Ok(Fetch::Done),
        }
    }
}

impl Iterator for RowStream {
    type Item = Result<Row>;
    fn next(&mut self) -> Option<Result<Row>> {
        let got = self.rx.as_ref()?.recv().ok();
        self.deliver(got)
    }
}

impl Drop for RowStream {
    fn drop(&mut self) {
        // Disconnecting makes the worker's next send fail, which stops the statement.
        self.rx = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod column_type_tests {
    use crate::{Database, Value};

    #[test]
    fn declared_types_survive_null_first_rows_and_clones() {
        let db = Database::open_in_memory().unwrap();
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INT, note)", &[])
            .unwrap();
        db.execute("INSERT INTO t (n, note) VALUES (NULL, 5), (3, 'x')", &[])
            .unwrap();
        let rows = db
            .query("SELECT n, note, n * 2, CAST(n AS REAL) FROM t", &[])
            .unwrap();
        assert_eq!(rows[0].values()[0], Value::Null);
        assert_eq!(rows.column_decltype(0), Some("INT"));
        assert_eq!(rows.column_decltype(1), None); // declared without a type
        assert_eq!(rows.column_decltype(2), None);
        assert_eq!(rows.column_decltype(9), None);
        let types = rows.column_types();
        assert_eq!(types, [Some("INTEGER"), None, None, Some("REAL")]);
        // Clones share the metadata; equality ignores it.
        let c = rows.clone();
        assert_eq!(c.column_types(), types);
        assert_eq!(c, rows);
        let names = rows.columns().to_vec();
        let bare = super::Rows::from_parts(names, rows.to_values());
        assert_eq!(bare.column_types(), [None, None, None, None]);
        assert_eq!(bare, rows);
        assert_eq!(format!("{bare:?}"), format!("{rows:?}"));
    }
}
