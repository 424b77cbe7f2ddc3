//! [`Transaction`]: key-value, path and SQL operations committed atomically together.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use parking_lot::Mutex;
use toondb_query::kv::{range_is_empty, writes_in, KvBackend, KvPairs, KvTxn};
use toondb_query::{Session, Value};
use toondb_storage::{Direction, Isolation};

use crate::collection::{Collection, Document, PendingIndex};
use crate::db::{bound_ref, Database, KvIter};
use crate::error::{Error, Result};
use crate::keys::{self, kv_key, ns_bounds, path_key, split_path};
use crate::sql::Rows;

type Shared = Arc<Mutex<Option<toondb_storage::Transaction>>>;

/// A read-write transaction. Reads see a snapshot taken at `begin` plus the transaction's own
/// writes; nothing is visible to others before [`Transaction::commit`]. Dropping it without
/// committing rolls it back. SQL statements run through [`Transaction::execute`] /
/// [`Transaction::query`] are part of the same atomic commit.
///
/// ```
/// use toondb::{params, Database};
/// let db = Database::open_in_memory().unwrap();
/// db.execute("CREATE TABLE audit(msg TEXT)", params![]).unwrap();
/// let mut tx = db.begin().unwrap();
/// tx.put("balance", "10").unwrap();
/// tx.execute("INSERT INTO audit VALUES (?)", params!["set balance"]).unwrap();
/// assert_eq!(db.get("balance").unwrap(), None); // not visible yet
/// tx.commit().unwrap();
/// assert_eq!(db.get("balance").unwrap().as_deref(), Some(&b"10"[..]));
/// assert_eq!(db.query("SELECT count(*) FROM audit", params![]).unwrap()[0].get::<i64>(0).unwrap(), 1);
/// ```
pub struct Transaction {
    db: Database,
    txn: Shared,
    isolation: Isolation,
    session: Option<Session>,
    /// Collection index updates, applied after the storage commit.
    pending: Mutex<PendingIndex>,
    /// Transaction time of this transaction's graph writes (taken at the first one).
    graph_time: std::sync::OnceLock<i64>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("isolation", &self.isolation)
            .finish()
    }
}

fn finished() -> Error {
    Error::invalid("transaction already finished")
}

impl Transaction {
    pub(crate) fn new(db: Database, isolation: Isolation) -> Result<Transaction> {
        let t = db.inner.engine.begin(isolation)?;
        Ok(Transaction {
            db,
            txn: Arc::new(Mutex::new(Some(t))),
            isolation,
            session: None,
            pending: Mutex::new(PendingIndex::default()),
            graph_time: std::sync::OnceLock::new(),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut toondb_storage::Transaction) -> toondb_storage::Result<T>,
    ) -> Result<T> {
        let mut g = self.txn.lock();
        let t = g.as_mut().ok_or_else(finished)?;
        Ok(f(t)?)
    }

    /// Runs `f` on the underlying storage transaction (graph operations).
    pub(crate) fn storage_op<T>(
        &self,
        f: impl FnOnce(&mut toondb_storage::Transaction) -> Result<T>,
    ) -> Result<T> {
        let mut g = self.txn.lock();
        let t = g.as_mut().ok_or_else(finished)?;
        f(t)
    }

    /// The transaction time stamped on this transaction's graph writes.
    pub(crate) fn graph_time(&self) -> i64 {
        *self.graph_time.get_or_init(crate::graph::tick)
    }

    /// The isolation level.
    pub fn isolation(&self) -> Isolation {
        self.isolation
    }

    /// Reads `key`.
    pub fn get(&mut self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        let k = kv_key(key.as_ref());
        self.with(|t| t.get(&k))
    }

    /// Buffers a put.
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let k = kv_key(key.as_ref());
        self.with(|t| t.put(&k, value.as_ref()))
    }

    /// Buffers a delete.
    pub fn delete(&mut self, key: impl AsRef<[u8]>) -> Result<()> {
        let k = kv_key(key.as_ref());
        self.with(|t| t.delete(&k))
    }

    /// Pairs whose key starts with `prefix` (own writes included), in key order.
    pub fn scan_prefix(&mut self, prefix: impl AsRef<[u8]>) -> Result<KvIter> {
        let k = kv_key(prefix.as_ref());
        Ok(KvIter::new(self.with(|t| t.scan_prefix(&k))?))
    }

    /// Pairs in a key range, forward or reverse (own writes included).
    pub fn range(
        &mut self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
    ) -> Result<KvIter> {
        let (lo, hi) = ns_bounds(keys::KV, lower, upper);
        Ok(KvIter::new(self.with(|t| {
            t.scan(bound_ref(&lo), bound_ref(&hi), direction)
        })?))
    }

    /// Stores a value at a path (see [`Database::put_path`]).
    pub fn put_path(&mut self, path: &str, value: impl AsRef<[u8]>) -> Result<()> {
        let segs = split_path(path)?;
        if segs.is_empty() {
            return Err(Error::invalid("empty path"));
        }
        let k = path_key(&segs);
        self.with(|t| t.put(&k, value.as_ref()))
    }

    /// Reads the value at a path.
    pub fn get_path(&mut self, path: &str) -> Result<Option<Vec<u8>>> {
        let k = path_key(&split_path(path)?);
        self.with(|t| t.get(&k))
    }

    /// Deletes a path and its subtree; returns how many values were removed.
    pub fn delete_path(&mut self, path: &str) -> Result<usize> {
        let segs = split_path(path)?;
        if segs.is_empty() {
            return Err(Error::invalid("empty path"));
        }
        let prefix = path_key(&segs);
        self.with(|t| {
            let keys: Vec<Vec<u8>> = t
                .scan_prefix(&prefix)?
                .map(|kv| kv.map(|(k, _)| k))
                .collect::<toondb_storage::Result<_>>()?;
            for k in &keys {
                t.delete(k)?;
            }
            Ok(keys.len())
        })
    }

    fn session(&mut self) -> &mut Session {
        let txn = self.txn.clone();
        let shared = &self.db.inner.sql;
        self.session.get_or_insert_with(|| {
            toondb_query::Database::with_backend(Arc::new(TxBackend { txn }))
                .sharing_with(shared)
                .session()
        })
    }

    /// Runs SQL inside this transaction; returns rows affected. `BEGIN`/`COMMIT` are refused.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        Ok(self.run_sql(sql, params)?.rows_affected())
    }

    /// Runs a query inside this transaction (it sees the transaction's own writes).
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows> {
        self.run_sql(sql, params)
    }

    /// Runs a query inside this transaction and hands its rows to `f` as they are produced
    /// (see [`Database::query_each`]); the rows see this transaction's own writes.
    pub fn query_each<F>(&mut self, sql: &str, params: &[Value], f: F) -> Result<()>
    where
        F: FnMut(crate::Row) -> Result<std::ops::ControlFlow<()>>,
    {
        self.query_each_with_header(sql, params, |_| {}, f)
    }

    /// [`Transaction::query_each`] with the column description first (see
    /// [`Database::query_each_with_header`]).
    pub fn query_each_with_header<H, F>(
        &mut self,
        sql: &str,
        params: &[Value],
        header: H,
        f: F,
    ) -> Result<()>
    where
        H: FnMut(&Rows),
        F: FnMut(crate::Row) -> Result<std::ops::ControlFlow<()>>,
    {
        self.with_session(|s| {
            crate::sql::stream_rows(|cb| Ok(s.query_each(sql, params, cb)?), header, f)
        })
    }

    fn run_sql(&mut self, sql: &str, params: &[Value]) -> Result<Rows> {
        self.with_session(|s| Ok(Rows::from_result(s.execute_with(sql, params)?)))
    }

    /// Runs `f` on this transaction's SQL session; refuses a finished transaction, and undoes
    /// (and refuses) a BEGIN/COMMIT that `f` ran.
    fn with_session<T>(&mut self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        if self.txn.lock().is_none() {
            return Err(finished());
        }
        let s = self.session();
        let r = f(s);
        if s.in_transaction() {
            let _ = s.execute("ROLLBACK");
            return Err(Error::invalid(
                "BEGIN/COMMIT inside a Transaction is not allowed; commit the Transaction instead",
            ));
        }
        r
    }

    /// Commits atomically. Fails with an error of kind
    /// [`ErrorKind::Conflict`](crate::ErrorKind::Conflict) (and nothing written) if a concurrent
    /// transaction won; see [`Isolation`].
    pub fn commit(mut self) -> Result<()> {
        self.session = None;
        let pending = std::mem::take(&mut *self.pending.lock());
        let t = self.txn.lock().take().ok_or_else(finished)?;
        pending.commit_with(|| Ok(t.commit()?))
    }

    /// Discards every buffered write.
    pub fn rollback(mut self) {
        self.session = None;
        if let Some(t) = self.txn.lock().take() {
            t.rollback();
        }
    }

    /// The database this transaction belongs to.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The collection `name`, for document writes that commit atomically with everything
    /// else in this transaction (SQL rows, keys, paths): all of them become visible at
    /// [`Transaction::commit`], or none of them does.
    ///
    /// Searches ([`Collection::search`] and friends) always read the *committed* index:
    /// documents written in this transaction become searchable only after it commits.
    /// [`TxnCollection::get`] does see the transaction's own writes.
    ///
    /// ```
    /// use toondb::{params, Database, Document, Metric};
    /// let db = Database::open_in_memory().unwrap();
    /// db.execute("CREATE TABLE notes(id TEXT, body TEXT)", params![]).unwrap();
    /// let docs = db.create_collection("docs", 2, Metric::Cosine, Default::default()).unwrap();
    /// db.transaction(|tx| {
    ///     tx.execute("INSERT INTO notes VALUES (?, ?)", params!["n1", "hello"])?;
    ///     tx.collection("docs")?.upsert(Document::new("n1", vec![1.0, 0.0]).with_text("hello"))?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// assert_eq!(docs.search(&[1.0, 0.0], 1).unwrap()[0].id, "n1");
    /// ```
    pub fn collection(&self, name: &str) -> Result<TxnCollection<'_>> {
        if self.txn.lock().is_none() {
            return Err(finished());
        }
        Ok(TxnCollection {
            tx: self,
            coll: self.db.collection(name)?,
        })
    }
}

/// A collection seen through a [`Transaction`] (see [`Transaction::collection`]). Writes are
/// buffered in the transaction; the vector/keyword index is updated only after it commits.
///
/// If a write returns an error other than
/// [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists) or invalid input, some of its
/// records may already be buffered: roll the transaction back (returning the error from a
/// [`Database::transaction`] closure does that).
pub struct TxnCollection<'a> {
    tx: &'a Transaction,
    coll: Collection,
}

impl std::fmt::Debug for TxnCollection<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxnCollection")
            .field("name", &self.coll.name())
            .finish()
    }
}

impl TxnCollection<'_> {
    fn stage<T>(
        &self,
        f: impl FnOnce(&mut toondb_storage::Transaction, &mut PendingIndex) -> Result<T>,
    ) -> Result<T> {
        let mut g = self.tx.txn.lock();
        let t = g.as_mut().ok_or_else(finished)?;
        let mut p = self.tx.pending.lock();
        f(t, &mut p)
    }

    /// The underlying collection handle (its searches read the committed index).
    pub fn collection(&self) -> &Collection {
        &self.coll
    }

    /// Inserts a new document; [`Error::AlreadyExists`] if the id is taken (as seen by this
    /// transaction), and then nothing is buffered.
    pub fn insert(&self, doc: Document) -> Result<()> {
        self.stage(|t, p| self.coll.stage_in(t, vec![doc], true, p))
    }

    /// Inserts or replaces a document.
    pub fn upsert(&self, doc: Document) -> Result<()> {
        self.stage(|t, p| self.coll.stage_in(t, vec![doc], false, p))
    }

    /// Inserts or replaces many documents.
    pub fn upsert_many(&self, docs: impl IntoIterator<Item = Document>) -> Result<()> {
        let docs = docs.into_iter().collect();
        self.stage(|t, p| self.coll.stage_in(t, docs, false, p))
    }

    /// Deletes a document; returns whether it existed (as seen by this transaction).
    pub fn delete(&self, id: &str) -> Result<bool> {
        self.stage(|t, p| self.coll.stage_delete_in(t, id, p))
    }

    /// The document with this id as seen by this transaction (its own writes included).
    pub fn get(&self, id: &str) -> Result<Option<Document>> {
        self.stage(|t, _| self.coll.get_in(t, id))
    }
}

// ------------------------------------------------------------------ SQL over a Transaction

/// A `KvBackend` whose "transactions" are statements buffered on top of one shared
/// storage transaction: the SQL engine commits a statement by applying its writes to the
/// shared transaction, which the user commits later.
struct TxBackend {
    txn: Shared,
}

struct TxStatement {
    txn: Shared,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

fn qerr(e: toondb_storage::Error) -> toondb_query::Error {
    toondb_query::Error::Storage(e)
}

fn qfinished() -> toondb_query::Error {
    toondb_query::Error::Transaction("transaction already finished".into())
}

impl KvBackend for TxBackend {
    fn begin(&self) -> toondb_query::Result<Box<dyn KvTxn>> {
        Ok(Box::new(TxStatement {
            txn: self.txn.clone(),
            writes: BTreeMap::new(),
        }))
    }
    /// Every statement here runs inside the user's transaction.
    fn vacuum(&self) -> toondb_query::Result<()> {
        Err(toondb_query::Error::Transaction(
            "cannot VACUUM from within a transaction".into(),
        ))
    }
}

impl KvTxn for TxStatement {
    fn get(&mut self, key: &[u8]) -> toondb_query::Result<Option<Vec<u8>>> {
        if let Some(w) = self.writes.get(key) {
            return Ok(w.clone());
        }
        let mut g = self.txn.lock();
        g.as_mut().ok_or_else(qfinished)?.get(key).map_err(qerr)
    }
    fn put(&mut self, key: &[u8], value: &[u8]) -> toondb_query::Result<()> {
        self.writes.insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }
    fn delete(&mut self, key: &[u8]) -> toondb_query::Result<()> {
        self.writes.insert(key.to_vec(), None);
        Ok(())
    }
    fn scan(
        &mut self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
    ) -> toondb_query::Result<KvPairs<'_>> {
        if range_is_empty(lower, upper) {
            return Ok(Box::new(std::iter::empty()));
        }
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = {
            let mut g = self.txn.lock();
            let t = g.as_mut().ok_or_else(qfinished)?;
            t.scan(lower, upper, Direction::Forward)
                .map_err(qerr)?
                .collect::<toondb_storage::Result<_>>()
                .map_err(qerr)?
        };
        for (k, w) in writes_in(&self.writes, lower, upper) {
            match w {
                Some(v) => {
                    merged.insert(k.clone(), v.clone());
                }
                None => {
                    merged.remove(k);
                }
            }
        }
        if reverse {
            Ok(Box::new(merged.into_iter().rev().map(Ok)))
        } else {
            Ok(Box::new(merged.into_iter().map(Ok)))
        }
    }
    fn scan_chunk(
        &mut self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> toondb_query::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        // Reads at most `limit` keys from storage per round, so a chunked table scan costs
        // O(rows) in total instead of re-reading the rest of the range for every chunk.
        let dir = if reverse {
            Direction::Reverse
        } else {
            Direction::Forward
        };
        let txn = &self.txn;
        toondb_query::kv::merged_chunk(&self.writes, lower, upper, limit, reverse, |l, h, n| {
            let mut g = txn.lock();
            let t = g.as_mut().ok_or_else(qfinished)?;
            t.scan(l, h, dir)
                .map_err(qerr)?
                .take(n)
                .collect::<toondb_storage::Result<_>>()
                .map_err(qerr)
        })
    }
    fn commit(self: Box<Self>) -> toondb_query::Result<()> {
        let mut g = self.txn.lock();
        let t = g.as_mut().ok_or_else(qfinished)?;
        for (k, w) in self.writes {
            match w {
                Some(v) => t.put(&k, &v).map_err(qerr)?,
                None => t.delete(&k).map_err(qerr)?,
            }
        }
        Ok(())
    }
    fn rollback(self: Box<Self>) {}
}
