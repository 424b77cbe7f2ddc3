//! [`Target`]: one value for "the database (autocommit) or a transaction", so that a binding
//! (C ABI, Python, Node, gRPC) writes each operation once and only picks the target.
//!
//! # Why an enum and not a trait
//!
//! Bindings choose the target at run time (a C call gets two nullable handles, a gRPC request
//! an optional transaction id, a Python call `self` of either class), so they need one
//! concrete type they can build from either side. A trait would need generic methods
//! (`impl AsRef<[u8]>`, closures), which rules out `dyn Trait`; callers would have to be
//! generic over it and be monomorphised twice, which is the duplication this type removes.
//! The enum costs one `match` per call and holds borrows only (`&Database` is cheap to get,
//! `&mut Transaction` enforces the one-statement-at-a-time rule of transactions).

use std::ops::{Bound, ControlFlow};

use serde_json::Value as Json;
use toondb_query::Value;
use toondb_storage::Direction;

use crate::db::{Database, KvIter};
use crate::error::Result;
use crate::sql::{Row, Rows};
use crate::txn::Transaction;

/// Where an operation runs: on the database, each call auto-committed, or inside a
/// transaction, committed with it. Every shared operation of [`Database`] and [`Transaction`]
/// is here once.
///
/// ```
/// use toondb::{params, Database, Target};
///
/// // One function serves both sides.
/// fn bump(mut t: Target<'_>) -> toondb::Result<u64> {
///     t.put("counter", "1")?;
///     t.execute("INSERT INTO log VALUES (?)", params!["bump"])
/// }
///
/// let db = Database::open_in_memory().unwrap();
/// db.execute("CREATE TABLE log(msg TEXT)", params![]).unwrap();
/// bump(Target::from(&db)).unwrap();
///
/// let mut tx = db.begin().unwrap();
/// bump(Target::from(&mut tx)).unwrap();
/// tx.commit().unwrap();
///
/// let n: i64 = db.query("SELECT count(*) FROM log", params![]).unwrap()[0].get(0).unwrap();
/// assert_eq!(n, 2);
/// assert_eq!(Target::from(&db).get("counter").unwrap().as_deref(), Some(&b"1"[..]));
/// ```
#[derive(Debug)]
pub enum Target<'a> {
    /// The database: each call commits on its own.
    Db(&'a Database),
    /// A transaction: calls see its writes and commit with it.
    Txn(&'a mut Transaction),
}

impl<'a> From<&'a Database> for Target<'a> {
    fn from(db: &'a Database) -> Self {
        Target::Db(db)
    }
}

impl<'a> From<&'a mut Transaction> for Target<'a> {
    fn from(tx: &'a mut Transaction) -> Self {
        Target::Txn(tx)
    }
}

impl Target<'_> {
    /// The database the target belongs to (for operations only the database has, such as
    /// collections and context queries).
    pub fn database(&self) -> &Database {
        match self {
            Target::Db(d) => d,
            Target::Txn(t) => t.database(),
        }
    }

    /// Whether this is a transaction.
    pub fn is_transaction(&self) -> bool {
        matches!(self, Target::Txn(_))
    }

    /// Sets `key` to `value` ([`Database::put`], [`Transaction::put`]).
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        match self {
            Target::Db(d) => d.put(key, value),
            Target::Txn(t) => t.put(key, value),
        }
    }

    /// Reads `key` ([`Database::get`], [`Transaction::get`]).
    pub fn get(&mut self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        match self {
            Target::Db(d) => d.get(key),
            Target::Txn(t) => t.get(key),
        }
    }

    /// Deletes `key`; no error if absent ([`Database::delete`], [`Transaction::delete`]).
    pub fn delete(&mut self, key: impl AsRef<[u8]>) -> Result<()> {
        match self {
            Target::Db(d) => d.delete(key),
            Target::Txn(t) => t.delete(key),
        }
    }

    /// Pairs whose key starts with `prefix`, in key order ([`Database::scan_prefix`],
    /// [`Transaction::scan_prefix`]).
    ///
    /// ```
    /// use toondb::{Database, Target};
    /// let db = Database::open_in_memory().unwrap();
    /// let mut tx = db.begin().unwrap();
    /// let mut t = Target::from(&mut tx);
    /// t.put("a:1", "x").unwrap();
    /// t.put("b:1", "y").unwrap();
    /// let keys: Vec<_> = t.scan_prefix("a:").unwrap().map(|kv| kv.unwrap().0).collect();
    /// assert_eq!(keys, vec![b"a:1".to_vec()]);
    /// ```
    pub fn scan_prefix(&mut self, prefix: impl AsRef<[u8]>) -> Result<KvIter> {
        match self {
            Target::Db(d) => d.scan_prefix(prefix),
            Target::Txn(t) => t.scan_prefix(prefix),
        }
    }

    /// Pairs in a key range, forward or reverse ([`Database::range`],
    /// [`Transaction::range`]).
    pub fn range(
        &mut self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
    ) -> Result<KvIter> {
        match self {
            Target::Db(d) => d.range(lower, upper, direction),
            Target::Txn(t) => t.range(lower, upper, direction),
        }
    }

    /// Stores a value at a path ([`Database::put_path`]).
    pub fn put_path(&mut self, path: &str, value: impl AsRef<[u8]>) -> Result<()> {
        match self {
            Target::Db(d) => d.put_path(path, value),
            Target::Txn(t) => t.put_path(path, value),
        }
    }

    /// Reads the value at a path ([`Database::get_path`]).
    pub fn get_path(&mut self, path: &str) -> Result<Option<Vec<u8>>> {
        match self {
            Target::Db(d) => d.get_path(path),
            Target::Txn(t) => t.get_path(path),
        }
    }

    /// Deletes a path and its subtree; returns how many values were removed
    /// ([`Database::delete_path`]).
    pub fn delete_path(&mut self, path: &str) -> Result<usize> {
        match self {
            Target::Db(d) => d.delete_path(path),
            Target::Txn(t) => t.delete_path(path),
        }
    }

    /// Runs SQL; returns rows affected ([`Database::execute`], [`Transaction::execute`]).
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        match self {
            Target::Db(d) => d.execute(sql, params),
            Target::Txn(t) => t.execute(sql, params),
        }
    }

    /// Runs a query and collects its rows ([`Database::query`], [`Transaction::query`]).
    ///
    /// ```
    /// use toondb::{params, Database, Target};
    /// let db = Database::open_in_memory().unwrap();
    /// let rows = Target::from(&db).query("SELECT 1 + ?", params![2]).unwrap();
    /// assert_eq!(rows[0].get::<i64>(0).unwrap(), 3);
    /// ```
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows> {
        match self {
            Target::Db(d) => d.query(sql, params),
            Target::Txn(t) => t.query(sql, params),
        }
    }

    /// Runs a query and hands its rows to `f` as they are produced ([`Database::query_each`]).
    pub fn query_each<F>(&mut self, sql: &str, params: &[Value], f: F) -> Result<()>
    where
        F: FnMut(Row) -> Result<ControlFlow<()>>,
    {
        self.query_each_with_header(sql, params, |_| {}, f)
    }

    /// [`Target::query_each`] with the column description first
    /// ([`Database::query_each_with_header`]).
    ///
    /// ```
    /// use std::ops::{Bound, ControlFlow};
    /// use toondb::{params, Database, Target};
    /// let db = Database::open_in_memory().unwrap();
    /// let mut tx = db.begin().unwrap();
    /// let (mut cols, mut n) = (Vec::new(), 0);
    /// Target::from(&mut tx)
    ///     .query_each_with_header(
    ///         "SELECT 1 AS a UNION ALL SELECT 2",
    ///         params![],
    ///         |h| cols = h.columns().to_vec(),
    ///         |row| {
    ///             n += row.get::<i64>(0)?;
    ///             Ok(ControlFlow::Continue(()))
    ///         },
    ///     )
    ///     .unwrap();
    /// assert_eq!((cols, n), (vec!["a".to_string()], 3));
    /// ```
    pub fn query_each_with_header<H, F>(
        &mut self,
        sql: &str,
        params: &[Value],
        header: H,
        f: F,
    ) -> Result<()>
    where
        H: FnMut(&Rows),
        F: FnMut(Row) -> Result<ControlFlow<()>>,
    {
        match self {
            Target::Db(d) => d.query_each_with_header(sql, params, header, f),
            Target::Txn(t) => t.query_each_with_header(sql, params, header, f),
        }
    }

    /// Runs one operation of the graph's [JSON command interface](crate::graph::json) in
    /// namespace `ns`: on the database each write commits on its own, in a transaction it
    /// commits with it.
    ///
    /// ```
    /// use serde_json::json;
    /// use toondb::{Database, Target};
    /// let db = Database::open_in_memory().unwrap();
    /// let mut tx = db.begin().unwrap();
    /// Target::from(&mut tx)
    ///     .graph_call("g", "add_node", &json!({"id": "a", "label": "person"}))
    ///     .unwrap();
    /// tx.commit().unwrap();
    /// let n = Target::from(&db).graph_call("g", "get_node", &json!({"id": "a"})).unwrap();
    /// assert_eq!(n["label"], "person");
    /// ```
    pub fn graph_call(&mut self, ns: &str, op: &str, args: &Json) -> Result<Json> {
        match self {
            Target::Db(d) => d.graph(ns)?.call_json(op, args),
            Target::Txn(t) => t.graph(ns)?.call_json(op, args),
        }
    }
}
