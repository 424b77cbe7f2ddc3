//! The [`Database`] handle: opening, key-value and path API, SQL, transactions.

use std::collections::HashMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use toondb_query::{Arity, InterruptHandle, Session, Value};
use toondb_storage::{Direction, Engine, Isolation, WriteBatch};

use crate::collection::{Collection, CollectionInner, CollectionOptions};
use crate::context::ContextBuilder;
use crate::error::{Error, Result};
use crate::keys::{self, kv_key, ns_bounds, path_key, split_path};
use crate::sql::{is_context_statement, Rows};
use crate::txn::Transaction;
use crate::Metric;

/// Options for [`Database::open_with`]. Start from `Options::default()` and adjust with the
/// `with_*` methods.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// Storage engine options (durability, memtable and cache sizes, ...).
    pub storage: toondb_storage::Options,
    /// Isolation used by [`Database::begin`] and [`Database::transaction`].
    pub isolation: Isolation,
    /// Attempts made by [`Database::transaction`] before a conflict is returned. Default 10.
    pub max_txn_attempts: u32,
    /// First back-off delay after a conflict; doubled on every retry (with jitter), capped at
    /// 64 times this. Default 1 ms.
    pub retry_backoff: Duration,
    /// Default tokenizer for context queries. Default o200k.
    pub tokenizer: toondb_toon::Tokenizer,
    /// Wall-clock limit of one SQL statement; past it the statement fails with
    /// [`ErrorKind::Interrupted`](crate::ErrorKind::Interrupted). Default: none.
    pub statement_timeout: Option<Duration>,
    /// Memory one SQL statement's operators (sort, hash join, aggregation, DISTINCT) may
    /// hold. Past it a sort spills to `<db>/sql-tmp/`; the others fail with
    /// [`ErrorKind::ResourceExhausted`](crate::ErrorKind::ResourceExhausted). Default 256 MiB.
    pub statement_memory_budget: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            storage: toondb_storage::Options::default(),
            isolation: Isolation::Snapshot,
            max_txn_attempts: 10,
            retry_backoff: Duration::from_millis(1),
            tokenizer: toondb_toon::Tokenizer::O200k,
            statement_timeout: None,
            statement_memory_budget: toondb_query::DEFAULT_MEMORY_BUDGET,
        }
    }
}

impl Options {
    /// Sets the commit durability (see [`SyncMode`](crate::SyncMode)).
    pub fn with_sync(mut self, sync: toondb_storage::SyncMode) -> Self {
        self.storage.sync = sync;
        self
    }
    /// Replaces the storage engine options.
    pub fn with_storage(mut self, storage: toondb_storage::Options) -> Self {
        self.storage = storage;
        self
    }
    /// Sets the default transaction isolation.
    pub fn with_isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self
    }
    /// Sets how often [`Database::transaction`] retries on conflict (at least 1 attempt).
    pub fn with_max_txn_attempts(mut self, attempts: u32) -> Self {
        self.max_txn_attempts = attempts.max(1);
        self
    }
    /// Sets the first retry back-off delay.
    pub fn with_retry_backoff(mut self, backoff: Duration) -> Self {
        self.retry_backoff = backoff;
        self
    }
    /// Opens read-only (see [`Database::open_read_only`]).
    pub fn with_read_only(mut self, read_only: bool) -> Self {
        self.storage.read_only = read_only;
        self
    }
    /// Sets the permission bits of the files the database creates (Unix; default `0o600`,
    /// owner read/write only; the process umask still applies).
    pub fn with_file_mode(mut self, mode: u32) -> Self {
        self.storage.file_mode = mode;
        self
    }
    /// Sets the per-statement SQL timeout (`None`: no timeout).
    pub fn with_statement_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.statement_timeout = timeout;
        self
    }
    /// Sets the per-statement SQL memory budget in bytes.
    pub fn with_statement_memory_budget(mut self, bytes: u64) -> Self {
        self.statement_memory_budget = bytes;
        self
    }
    /// Sets the default context-query tokenizer.
    pub fn with_tokenizer(mut self, tokenizer: toondb_toon::Tokenizer) -> Self {
        self.tokenizer = tokenizer;
        self
    }
}

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) sql: toondb_query::Database,
    sessions: Mutex<Vec<Session>>,
    pub(crate) opts: Options,
    pub(crate) collections: RwLock<HashMap<String, Arc<CollectionInner>>>,
    /// Serialises collection creation, drop and first load.
    pub(crate) coll_lock: Mutex<()>,
}

/// An open ToonDB database. Cheap to clone (clones share one engine), `Send + Sync`.
///
/// Dropping the last clone closes the database; call [`Database::close`] to see errors.
#[derive(Clone)]
pub struct Database {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.inner.engine.path())
            .finish()
    }
}

/// Keys of a scan, in the order requested.
pub type KvPair = (Vec<u8>, Vec<u8>);

impl Database {
    /// Opens (creating if needed) the database in directory `path` with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Database::open_with(path, Options::default())
    }

    /// Opens (creating if needed) the database in directory `path`.
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Database> {
        let engine = Engine::open(path, options.storage.clone())?;
        Ok(Database::from_engine(engine, options))
    }

    /// Opens the existing database in `path` read-only: the WAL is replayed in memory only and
    /// nothing in the directory is created, renamed, truncated or deleted. No lock is taken,
    /// so this works while another process has the database open read-write (it sees the
    /// state at open time). Writes fail with an error of kind
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported).
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Database> {
        Database::open_with(path, Options::default().with_read_only(true))
    }

    /// Whether this database was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.inner.engine.is_read_only()
    }

    /// Writes a consistent copy of the database into `dir` (missing or empty) while other
    /// threads keep writing; restoring is opening the copy. See
    /// [`Engine::backup_to`](toondb_storage::Engine::backup_to).
    pub fn backup_to(&self, dir: impl AsRef<Path>) -> Result<crate::BackupReport> {
        Ok(self.inner.engine.backup_to(dir)?)
    }

    /// Re-reads every table block, the manifest and every WAL record and reports every
    /// anomaly, including a WAL tail an open cuts (or would cut).
    pub fn verify(&self) -> Result<crate::VerifyReport> {
        Ok(self.inner.engine.verify()?)
    }

    /// A fresh database held in memory (lost when the last clone is dropped).
    pub fn open_in_memory() -> Result<Database> {
        Database::open_in_memory_with(Options::default())
    }

    /// [`Database::open_in_memory`] with options.
    pub fn open_in_memory_with(options: Options) -> Result<Database> {
        let engine = Engine::open_in_memory(options.storage.clone())?;
        Ok(Database::from_engine(engine, options))
    }

    /// Wraps an already open storage engine.
    pub fn from_engine(engine: Engine, options: Options) -> Database {
        let sql = toondb_query::Database::from_engine(engine.clone()).with_limits(
            toondb_query::StatementLimits {
                timeout: options.statement_timeout,
                memory_budget: options.statement_memory_budget,
                ..toondb_query::StatementLimits::default()
            },
        );
        let db = Database {
            inner: Arc::new(Inner {
                engine,
                sql,
                sessions: Mutex::new(Vec::new()),
                opts: options,
                collections: RwLock::new(HashMap::new()),
                coll_lock: Mutex::new(()),
            }),
        };
        // SQL `embed(text)` with the built-in model, loaded on first use. The name is valid
        // and not a built-in, so registration cannot fail; if it ever did, the database
        // simply has no `embed()`.
        #[cfg(feature = "embed")]
        let _ = crate::embed::register_default_sql_embed(&db);
        db
    }

    /// A handle that stops the SQL statements running on this database from any thread
    /// (like rusqlite's `get_interrupt_handle`): they fail with an error of kind
    /// [`ErrorKind::Interrupted`](crate::ErrorKind::Interrupted) and apply nothing; an
    /// enclosing [`Transaction`] stays usable. Statements started later are not affected.
    ///
    /// ```
    /// use toondb::Database;
    /// let db = Database::open_in_memory().unwrap();
    /// let handle = db.interrupt_handle();
    /// std::thread::spawn(move || handle.interrupt()).join().unwrap();
    /// ```
    pub fn interrupt_handle(&self) -> InterruptHandle {
        self.inner.sql.interrupt_handle()
    }

    /// Registers a user scalar SQL function, usable by every statement on this database
    /// (including inside transactions). `arity` is the argument count
    /// ([`Arity::Variadic`] for any); `deterministic` functions may be folded at plan time
    /// when their arguments are constants. Built-in names cannot be replaced.
    ///
    /// ```
    /// use toondb::{params, Arity, Database, Value};
    /// let db = Database::open_in_memory().unwrap();
    /// db.register_scalar_function("shout", Arity::Exact(1), true, |args| {
    ///     Ok(Value::Text(format!("{}!", args[0].to_text_lossy().to_uppercase())))
    /// })
    /// .unwrap();
    /// let r = db.query_row("SELECT shout('hi')", params![]).unwrap();
    /// assert_eq!(r.get::<String>(0).unwrap(), "HI!");
    /// ```
    pub fn register_scalar_function<F>(
        &self,
        name: &str,
        arity: Arity,
        deterministic: bool,
        f: F,
    ) -> Result<()>
    where
        F: Fn(&[Value]) -> toondb_query::Result<Value> + Send + Sync + 'static,
    {
        Ok(self
            .inner
            .sql
            .register_scalar_function(name, arity, deterministic, f)?)
    }

    /// The underlying storage engine (statistics, flush, compaction, verification).
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The options this database was opened with.
    pub fn options(&self) -> &Options {
        &self.inner.opts
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        self.inner.engine.path()
    }

    /// Checkpoints the vector graph of every collection changed since its last checkpoint
    /// (so the next open loads it), syncs and closes the database. Other clones then fail with an error of kind
    /// [`ErrorKind::Closed`](crate::ErrorKind::Closed).
    pub fn close(self) -> Result<()> {
        self.inner.sessions.lock().clear();
        // Store each changed collection's graph so the next open does not patch it in.
        let open: Vec<_> = self.inner.collections.read().values().cloned().collect();
        for c in open {
            c.checkpoint_on_close(&self.inner.engine);
        }
        self.inner.engine.clone().close()?;
        Ok(())
    }

    // ------------------------------------------------------------------ key-value

    /// Sets `key` to `value`.
    pub fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        Ok(self
            .inner
            .engine
            .put(&kv_key(key.as_ref()), value.as_ref())?)
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        Ok(self.inner.engine.get(&kv_key(key.as_ref()))?)
    }

    /// Removes `key` (no error if absent).
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        Ok(self.inner.engine.delete(&kv_key(key.as_ref()))?)
    }

    /// Applies several puts and deletes atomically. `None` deletes.
    pub fn write_batch<K, V, I>(&self, ops: I) -> Result<()>
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
        I: IntoIterator<Item = (K, Option<V>)>,
    {
        let mut b = WriteBatch::new();
        for (k, v) in ops {
            match v {
                Some(v) => b.put(&kv_key(k.as_ref()), v.as_ref()),
                None => b.delete(&kv_key(k.as_ref())),
            };
        }
        Ok(self.inner.engine.write(b)?)
    }

    /// All pairs whose key starts with `prefix`, in key order (a consistent snapshot).
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<KvIter> {
        let it = self.inner.engine.scan_prefix(&kv_key(prefix.as_ref()))?;
        Ok(KvIter::new(it))
    }

    /// Pairs with keys in `(lower, upper)` in forward or reverse order (a consistent snapshot).
    ///
    /// ```
    /// use std::ops::Bound;
    /// use toondb::{Database, Direction};
    /// let db = Database::open_in_memory().unwrap();
    /// for k in ["a", "b", "c", "d"] {
    ///     db.put(k, k.to_uppercase()).unwrap();
    /// }
    /// let keys: Vec<Vec<u8>> = db
    ///     .range(Bound::Included(&b"b"[..]), Bound::Unbounded, Direction::Reverse)
    ///     .unwrap()
    ///     .map(|kv| kv.unwrap().0)
    ///     .collect();
    /// assert_eq!(keys, vec![b"d".to_vec(), b"c".to_vec(), b"b".to_vec()]);
    /// ```
    pub fn range(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
    ) -> Result<KvIter> {
        let (lo, hi) = ns_bounds(keys::KV, lower, upper);
        let it = self
            .inner
            .engine
            .scan(bound_ref(&lo), bound_ref(&hi), direction)?;
        Ok(KvIter::new(it))
    }

    // ------------------------------------------------------------------ paths

    /// Stores `value` at a hierarchical path such as `"users/alice/email"`. See
    /// [`split_path`](crate::split_path) for the syntax (`\/` escapes a slash inside a segment).
    ///
    /// ```
    /// let db = toondb::Database::open_in_memory().unwrap();
    /// db.put_path("users/alice/email", "a@example.com").unwrap();
    /// db.put_path("users/bob/email", "b@example.com").unwrap();
    /// db.put_path("users/a\\/b/email", "slash").unwrap();
    /// assert_eq!(db.get_path("users/alice/email").unwrap().as_deref(), Some(&b"a@example.com"[..]));
    /// assert_eq!(db.list_path("users/").unwrap(), vec!["a/b", "alice", "bob"]);
    /// assert_eq!(db.delete_path("users/alice").unwrap(), 1);
    /// assert_eq!(db.list_path("users").unwrap(), vec!["a/b", "bob"]);
    /// ```
    pub fn put_path(&self, path: &str, value: impl AsRef<[u8]>) -> Result<()> {
        let segs = non_root(path)?;
        Ok(self.inner.engine.put(&path_key(&segs), value.as_ref())?)
    }

    /// The value stored at `path`.
    pub fn get_path(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let segs = non_root(path)?;
        Ok(self.inner.engine.get(&path_key(&segs))?)
    }

    /// Names of the direct children of `path` (segments that have a value or descendants), in
    /// byte order. `""` or `"/"` lists the top level.
    pub fn list_path(&self, path: &str) -> Result<Vec<String>> {
        let snap = self.inner.engine.snapshot();
        let prefix = path_key(&split_path(path)?);
        let mut out = Vec::new();
        let mut lower = Bound::Excluded(prefix.clone());
        let upper = match keys::prefix_successor(&prefix) {
            Some(s) => Bound::Excluded(s),
            None => Bound::Unbounded,
        };
        loop {
            let mut it = snap.scan(bound_ref(&lower), bound_ref(&upper), Direction::Forward)?;
            let Some(kv) = it.next() else { break };
            let (k, _) = kv?;
            let rest = k.get(prefix.len()..).unwrap_or_default();
            let (child, n) = keys::decode_segment(rest)?;
            out.push(child);
            // Skip the child's whole subtree: the next key after prefix+child segment.
            let child_prefix = &k[..prefix.len() + n];
            match keys::prefix_successor(child_prefix) {
                Some(s) => lower = Bound::Included(s),
                None => break,
            }
        }
        Ok(out)
    }

    /// All `(path, value)` pairs at or below `path`, in key order; paths are returned escaped
    /// (see [`join_path`](crate::join_path)).
    pub fn scan_path(&self, path: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let prefix = path_key(&split_path(path)?);
        let mut out = Vec::new();
        for kv in self.inner.engine.scan_prefix(&prefix)? {
            let (k, v) = kv?;
            let segs = keys::decode_path(k.get(1..).unwrap_or_default())?;
            out.push((keys::join_path(&segs), v));
        }
        Ok(out)
    }

    /// Deletes the value at `path` and every descendant, atomically. Returns how many values
    /// were removed.
    pub fn delete_path(&self, path: &str) -> Result<usize> {
        let prefix = path_key(&non_root(path)?);
        let mut b = WriteBatch::new();
        for kv in self.inner.engine.scan_prefix(&prefix)? {
            let (k, _) = kv?;
            b.delete(&k);
        }
        let n = b.len();
        if n > 0 {
            self.inner.engine.write(b)?;
        }
        Ok(n)
    }

    // ------------------------------------------------------------------ transactions

    /// Starts a transaction at the default isolation ([`Options::isolation`]).
    pub fn begin(&self) -> Result<Transaction> {
        self.begin_with(self.inner.opts.isolation)
    }

    /// Starts a transaction at the given isolation.
    pub fn begin_with(&self, isolation: Isolation) -> Result<Transaction> {
        Transaction::new(self.clone(), isolation)
    }

    /// Runs `f` in a transaction and commits it. On a conflict (from `f` or the commit) the
    /// transaction is retried from scratch with exponential back-off, up to
    /// [`Options::max_txn_attempts`] attempts; any other error from `f` rolls back and is
    /// returned. `f` may therefore run more than once: keep side effects inside the
    /// transaction.
    ///
    /// ```
    /// let db = toondb::Database::open_in_memory().unwrap();
    /// db.put("counter", 0u64.to_le_bytes()).unwrap();
    /// let v = db.transaction(|tx| {
    ///     let cur = tx.get("counter")?.map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()));
    ///     tx.put("counter", (cur + 1).to_le_bytes())?;
    ///     Ok(cur + 1)
    /// }).unwrap();
    /// assert_eq!(v, 1);
    /// ```
    pub fn transaction<T, F>(&self, f: F) -> Result<T>
    where
        F: FnMut(&mut Transaction) -> Result<T>,
    {
        self.transaction_with(self.inner.opts.isolation, f)
    }

    /// [`Database::transaction`] at a given isolation.
    pub fn transaction_with<T, F>(&self, isolation: Isolation, mut f: F) -> Result<T>
    where
        F: FnMut(&mut Transaction) -> Result<T>,
    {
        let attempts = self.inner.opts.max_txn_attempts.max(1);
        let mut backoff = Backoff::new(self.inner.opts.retry_backoff);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut tx = self.begin_with(isolation)?;
            let r = f(&mut tx).and_then(|v| tx.commit().map(|()| v));
            match r {
                Err(e) if e.is_conflict() && attempt < attempts => backoff.sleep(),
                other => return other,
            }
        }
    }

    // ------------------------------------------------------------------ SQL

    fn with_session<T>(&self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        let mut s = self
            .inner
            .sessions
            .lock()
            .pop()
            .unwrap_or_else(|| self.inner.sql.session());
        let r = f(&mut s);
        if s.in_transaction() {
            // Transactions belong to `begin()`: a pooled session must not keep one open.
            let _ = s.execute("ROLLBACK");
            return Err(Error::invalid(
                "BEGIN/COMMIT through Database::execute is not supported; use Database::begin or Database::transaction",
            ));
        }
        let mut pool = self.inner.sessions.lock();
        if pool.len() < 16 {
            pool.push(s);
        }
        r
    }

    /// Runs one SQL statement (or several separated by `;`) and returns the number of rows the
    /// last one inserted, updated or deleted. Each statement commits on its own (autocommit);
    /// use [`Database::transaction`] to group statements. A single statement that hits a
    /// write conflict with a concurrent writer is retried automatically.
    ///
    /// ```
    /// use toondb::{params, Database};
    /// let db = Database::open_in_memory().unwrap();
    /// db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)", params![]).unwrap();
    /// let n = db.execute("INSERT INTO t(name) VALUES (?), (?)", params!["ada", "bob"]).unwrap();
    /// assert_eq!(n, 2);
    /// ```
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        if is_context_statement(sql) {
            self.query(sql, params)?;
            return Ok(0);
        }
        Ok(self.run_autocommit(sql, params)?.rows_affected)
    }

    /// Runs SQL in autocommit mode. A single statement that loses a write-write race (e.g.
    /// two concurrent INSERTs into one table) is retried like [`Database::transaction`]
    /// does; it never committed, so re-running it is safe. Multi-statement text is not
    /// retried, since its earlier statements may have committed.
    fn run_autocommit(&self, sql: &str, params: &[Value]) -> Result<toondb_query::QueryResult> {
        let attempts = self.inner.opts.max_txn_attempts.max(1);
        let mut backoff = Backoff::new(self.inner.opts.retry_backoff);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.with_session(|s| Ok(s.execute_with(sql, params)?)) {
                Err(e)
                    if e.is_conflict()
                        && attempt < attempts
                        && toondb_query::parse(sql).is_ok_and(|v| v.len() == 1) =>
                {
                    backoff.sleep();
                }
                other => return other,
            }
        }
    }

    /// Runs a query and returns its rows. Also accepts `CONTEXT ...` statements (see
    /// [`context_sql`](crate::context_sql)), which return one row with columns `context`,
    /// `tokens` and `budget`.
    ///
    /// ```
    /// use toondb::{params, Database};
    /// let db = Database::open_in_memory().unwrap();
    /// db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)", params![]).unwrap();
    /// db.execute("INSERT INTO t(name) VALUES ('ada'), ('bob')", params![]).unwrap();
    /// let rows = db.query("SELECT id, name FROM t WHERE id > ?", params![1]).unwrap();
    /// assert_eq!(rows.columns(), ["id", "name"]);
    /// for row in &rows {
    ///     let name: String = row.get("name").unwrap();
    ///     assert_eq!(name, "bob");
    /// }
    /// ```
    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Rows> {
        if is_context_statement(sql) {
            if !params.is_empty() {
                return Err(Error::invalid("CONTEXT statements take no parameters"));
            }
            let r = self.execute_context(sql)?;
            return Ok(r.into_rows());
        }
        Ok(Rows::from_result(self.run_autocommit(sql, params)?))
    }

    /// Runs a query and hands its rows to `f` one at a time as the engine produces them,
    /// without collecting the result: memory stays flat however many rows there are, and
    /// `f` returning [`ControlFlow::Break`](std::ops::ControlFlow::Break) (or an error) stops
    /// the statement early. For a script, the last statement's rows are streamed.
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use toondb::{params, Database};
    /// let db = Database::open_in_memory().unwrap();
    /// db.execute("CREATE TABLE t(x INTEGER)", params![]).unwrap();
    /// db.execute("INSERT INTO t VALUES (1), (2), (3), (4)", params![]).unwrap();
    /// let mut sum = 0;
    /// db.query_each("SELECT x FROM t ORDER BY x", params![], |row| {
    ///     sum += row.get::<i64>("x")?;
    ///     Ok(if sum >= 3 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
    /// })
    /// .unwrap();
    /// assert_eq!(sum, 3);
    /// ```
    pub fn query_each<F>(&self, sql: &str, params: &[Value], f: F) -> Result<()>
    where
        F: FnMut(crate::Row) -> Result<std::ops::ControlFlow<()>>,
    {
        self.query_each_with_header(sql, params, |_| {}, f)
    }

    /// [`Database::query_each`] with the result's column description first: `header` gets
    /// a [`Rows`] without rows (names, [`Rows::column_types`], [`Rows::column_decltype`])
    /// before the first row, or once at the end when there are no rows. Protocol servers use
    /// it to send a typed header ahead of streamed rows.
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use toondb::{params, Database};
    /// let db = Database::open_in_memory().unwrap();
    /// db.execute("CREATE TABLE t(x INTEGER)", params![]).unwrap();
    /// let mut types = Vec::new();
    /// db.query_each_with_header(
    ///     "SELECT x FROM t",
    ///     params![],
    ///     |h| types = h.column_types(),
    ///     |_| Ok(ControlFlow::Continue(())),
    /// )
    /// .unwrap();
    /// assert_eq!(types, [Some("INTEGER")]);
    /// ```
    pub fn query_each_with_header<H, F>(
        &self,
        sql: &str,
        params: &[Value],
        mut header: H,
        mut f: F,
    ) -> Result<()>
    where
        H: FnMut(&Rows),
        F: FnMut(crate::Row) -> Result<std::ops::ControlFlow<()>>,
    {
        if is_context_statement(sql) {
            let rows = self.query(sql, params)?;
            header(&rows.without_rows());
            for row in rows {
                if f(row)?.is_break() {
                    break;
                }
            }
            return Ok(());
        }
        crate::sql::stream_rows(
            |cb| self.with_session(|s| Ok(s.query_each(sql, params, cb)?)),
            header,
            f,
        )
    }

    /// Runs a query and returns an iterator that produces its rows lazily: a worker thread
    /// runs the statement and at most a few hundred rows wait for the caller, so a huge result
    /// never sits in memory, and dropping the iterator stops the statement. Errors that
    /// happen at once (syntax, unknown table) are returned here; later ones come out of the
    /// iterator.
    ///
    /// ```
    /// use toondb::{params, Database};
    /// let db = Database::open_in_memory().unwrap();
    /// db.execute("CREATE TABLE t(x INTEGER)", params![]).unwrap();
    /// db.execute("INSERT INTO t VALUES (1), (2), (3)", params![]).unwrap();
    /// let mut rows = db.query_stream("SELECT x FROM t", params![]).unwrap();
    /// assert_eq!(rows.columns(), ["x"]);
    /// let first = rows.next().unwrap().unwrap();
    /// assert!(first.get::<i64>(0).is_ok());
    /// drop(rows); // stops the statement
    /// assert!(db.query_stream("SELECT * FROM missing", params![]).is_err());
    /// ```
    pub fn query_stream(&self, sql: &str, params: &[Value]) -> Result<crate::RowStream> {
        let db = self.clone();
        let sql = sql.to_string();
        let params = params.to_vec();
        crate::sql::RowStream::start(move |header, send| {
            let gone = std::cell::Cell::new(false);
            db.query_each_with_header(
                &sql,
                &params,
                |h| gone.set(!header(h)),
                |row| {
                    Ok(if !gone.get() && send(row.into_values()) {
                        std::ops::ControlFlow::Continue(())
                    } else {
                        std::ops::ControlFlow::Break(())
                    })
                },
            )
        })
    }

    /// Runs a query and returns the first row, or [`Error::NotFound`] if it returned none.
    pub fn query_row(&self, sql: &str, params: &[Value]) -> Result<crate::Row> {
        self.query(sql, params)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::NotFound("query returned no rows".into()))
    }

    /// Parses and runs a `CONTEXT ...` statement (grammar in [`context_sql`](crate::context_sql)).
    pub fn execute_context(&self, text: &str) -> Result<crate::ContextResult> {
        let stmt = crate::context_sql::parse(text)?;
        stmt.into_builder(self)?.build()
    }

    // ------------------------------------------------------------------ collections

    /// Creates a vector/text collection. Errors with [`Error::AlreadyExists`] if one of that
    /// name exists. Names: 1-64 characters of `[A-Za-z0-9_.-]`.
    pub fn create_collection(
        &self,
        name: &str,
        dim: usize,
        metric: Metric,
        options: CollectionOptions,
    ) -> Result<Collection> {
        crate::collection::create(self, name, dim, metric, options)
    }

    /// Opens an existing collection (loading its vector index on first use).
    pub fn collection(&self, name: &str) -> Result<Collection> {
        crate::collection::open(self, name)
    }

    /// Names of all collections.
    pub fn list_collections(&self) -> Result<Vec<String>> {
        crate::collection::list(self)
    }

    /// Drops a collection and all its documents. Returns whether it existed.
    pub fn drop_collection(&self, name: &str) -> Result<bool> {
        crate::collection::drop(self, name)
    }

    // ------------------------------------------------------------------ context

    /// Starts a token-budgeted context query (see [`ContextBuilder`]).
    pub fn context(&self) -> ContextBuilder {
        ContextBuilder::new(self.clone())
    }
}

fn non_root(path: &str) -> Result<Vec<String>> {
    let segs = split_path(path)?;
    if segs.is_empty() {
        return Err(Error::invalid("empty path"));
    }
    Ok(segs)
}

pub(crate) fn bound_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Exponential back-off with jitter for conflict retries.
pub(crate) struct Backoff {
    next: Duration,
    cap: Duration,
    seed: u64,
}

impl Backoff {
    pub(crate) fn new(base: Duration) -> Backoff {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9E37_79B9, |d| d.subsec_nanos() as u64)
            | 1;
        Backoff {
            next: base,
            cap: base.saturating_mul(64),
            seed,
        }
    }

    pub(crate) fn sleep(&mut self) {
        // xorshift jitter in [50%, 100%] of the current delay.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let frac = 0.5 + (self.seed % 1000) as f64 / 2000.0;
        std::thread::sleep(self.next.mul_f64(frac));
        self.next = (self.next * 2).min(self.cap);
    }
}

/// Iterator over `(key, value)` pairs of a key-value scan (keys without ToonDB's internal
/// prefix).
pub struct KvIter {
    it: toondb_storage::KvIter,
}

impl std::fmt::Debug for KvIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KvIter")
    }
}

impl KvIter {
    pub(crate) fn new(it: toondb_storage::KvIter) -> KvIter {
        KvIter { it }
    }

    /// Collects every pair, stopping at the first error.
    pub fn collect_all(self) -> Result<Vec<KvPair>> {
        self.collect()
    }
}

impl Iterator for KvIter {
    type Item = Result<KvPair>;
    fn next(&mut self) -> Option<Self::Item> {
        self.it.next().map(|r| match r {
            Ok((mut k, v)) => {
                k.remove(0);
                Ok((k, v))
            }
            Err(e) => Err(e.into()),
        })
    }
}
