//! [`Connection`]: one set of async calls over either an embedded [`Database`] or a remote
//! `toondb-server` ([`Client`]), chosen by a connection string.
//!
//! Embedded calls run the blocking database call on `tokio::task::spawn_blocking` (the
//! `*_async` methods of [`Database`] and [`Collection`] where they exist); remote calls are
//! gRPC calls. Both return [`Result`] with the same value types: [`Rows`] for
//! queries, [`ContextResult`] for context statements, [`SearchHit`] for searches.
//!
//! Where the backends differ:
//! - [`Connection::query`] on a DML statement: embedded [`Rows::rows_affected`] is the count,
//!   remote it is 0 (the streamed query result does not carry it; use
//!   [`Connection::execute`]).
//! - [`Connection::execute_context`]: the protocol does not carry the tokenizer; the remote
//!   result names the statement's `TOKENIZER` clause, else `o200k` (the server default unless
//!   the server was configured otherwise).
//! - [`SearchRequest::candidates`] is not sent to a server (the server uses its default).
//! - Errors: embedded errors arrive as [`Error::Database`], remote
//!   ones as [`Error::Status`]; compare them with
//!   [`Error::kind`], which agrees on both.
//! - An unfinished [`ConnectionTransaction`] is rolled back when dropped on both sides;
//!   remotely the rollback is sent in the background (and the server also reaps it).

use std::ops::Bound;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::client::{Client, ClientOptions, KvPair, RemoteCollection, RemoteTransaction};
use crate::error::{Error, Result};
use toondb::{
    Collection, ContextResult, Database, Direction, Document, Isolation, Metric, Rows, SearchHit,
    SearchRequest, Tokenizer, Transaction, Value,
};

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> toondb::Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => Ok(r?),
        Err(e) => Err(Error::Database(toondb::Error::Internal(format!(
            "blocking task failed: {e}"
        )))),
    }
}

/// A parsed connection string.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// `memory:` (or `:memory:`): a fresh in-memory embedded database.
    Memory,
    /// `embedded:<dir>` (or `file:<dir>`): an embedded database in a directory.
    Embedded(PathBuf),
    /// `http://host:port` (or `https://`): a server over TCP.
    Http(String),
    /// `unix:<path>` (or `unix://<path>`): a server's Unix socket.
    Unix(PathBuf),
}

impl Target {
    /// Parses a connection string. Errors: [`Error::Config`] for an unknown scheme or an
    /// empty path.
    ///
    /// ```
    /// use toondb_client::Target;
    /// assert_eq!(Target::parse("memory:").unwrap(), Target::Memory);
    /// assert_eq!(Target::parse("embedded:/var/db").unwrap(), Target::Embedded("/var/db".into()));
    /// assert_eq!(Target::parse("unix:///run/t.sock").unwrap(), Target::Unix("/run/t.sock".into()));
    /// assert!(matches!(Target::parse("http://127.0.0.1:50051").unwrap(), Target::Http(_)));
    /// assert!(Target::parse("ftp://x").is_err());
    /// ```
    pub fn parse(spec: &str) -> Result<Target> {
        let spec = spec.trim();
        let path = |rest: &str| {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            if rest.is_empty() {
                Err(Error::Config(format!(
                    "connection string {spec:?} has no path"
                )))
            } else {
                Ok(PathBuf::from(rest))
            }
        };
        if spec == "memory:" || spec == ":memory:" {
            Ok(Target::Memory)
        } else if let Some(rest) = spec
            .strip_prefix("embedded:")
            .or_else(|| spec.strip_prefix("file:"))
        {
            path(rest).map(Target::Embedded)
        } else if let Some(rest) = spec.strip_prefix("unix:") {
            path(rest).map(Target::Unix)
        } else if spec.starts_with("http://") || spec.starts_with("https://") {
            Ok(Target::Http(spec.to_string()))
        } else {
            Err(Error::Config(format!(
                "unknown connection string {spec:?} (expected memory:, embedded:<dir>, \
                 http://host:port or unix:<path>)"
            )))
        }
    }
}

/// An embedded database or a connection to a server, with one set of async methods, so a
/// program switches backends by changing the connection string only. Cheap to clone.
///
/// ```
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
/// # async fn main() -> toondb_client::Result<()> {
/// use toondb_client::Connection;
/// use toondb::{params, Document, Metric};
///
/// // "memory:", "embedded:/path/to/dir", "http://127.0.0.1:50051" or "unix:/run/toondb.sock".
/// let conn = Connection::open("memory:").await?;
/// conn.put("greeting", "hello").await?;
/// assert_eq!(conn.get("greeting").await?.as_deref(), Some(&b"hello"[..]));
///
/// conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)", params![]).await?;
/// conn.execute("INSERT INTO t(name) VALUES (?)", params!["ada"]).await?;
/// let rows = conn.query("SELECT name FROM t", params![]).await?; // toondb::Rows
/// assert_eq!(rows[0].get::<String>("name")?, "ada");
///
/// let tx = conn.begin().await?;
/// tx.put("k", "v").await?;
/// tx.commit().await?;
///
/// let docs = conn.create_collection("docs", 2, Metric::Cosine).await?;
/// docs.upsert(Document::new("a", vec![1.0, 0.0]).with_text("rust storage")).await?;
/// assert_eq!(docs.hybrid_search("rust", &[1.0, 0.0], 1).await?[0].id, "a");
///
/// let ctx = conn.execute_context("CONTEXT SELECT SEARCH docs 'rust' K 1 AS docs BUDGET 50").await?;
/// assert!(ctx.total_tokens <= 50);
/// conn.close().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Connection {
    /// An embedded database in this process.
    Embedded(Database),
    /// A remote `toondb-server`.
    Remote(Client),
}

impl From<Database> for Connection {
    fn from(db: Database) -> Connection {
        Connection::Embedded(db)
    }
}

impl From<Client> for Connection {
    fn from(c: Client) -> Connection {
        Connection::Remote(c)
    }
}

fn to_vecs(params: &[Value]) -> Vec<Value> {
    params.to_vec()
}

impl Connection {
    /// Opens a connection string (see [`Target::parse`]) with default client options.
    pub async fn open(spec: &str) -> Result<Connection> {
        Connection::open_with(spec, ClientOptions::default()).await
    }

    /// Opens a connection string; `options` apply to remote targets (token, deadlines).
    pub async fn open_with(spec: &str, options: ClientOptions) -> Result<Connection> {
        Ok(match Target::parse(spec)? {
            Target::Memory => Connection::Embedded(Database::open_in_memory()?),
            Target::Embedded(dir) => {
                Connection::Embedded(blocking(move || Database::open(dir)).await?)
            }
            Target::Http(uri) => Connection::Remote(Client::connect_with(&uri, options).await?),
            Target::Unix(path) => Connection::Remote(Client::connect_unix(path, options).await?),
        })
    }

    /// Whether this is a remote connection.
    pub fn is_remote(&self) -> bool {
        matches!(self, Connection::Remote(_))
    }

    /// The embedded database, if this is one.
    pub fn as_database(&self) -> Option<&Database> {
        match self {
            Connection::Embedded(db) => Some(db),
            Connection::Remote(_) => None,
        }
    }

    /// The remote client, if this is one.
    pub fn as_client(&self) -> Option<&Client> {
        match self {
            Connection::Embedded(_) => None,
            Connection::Remote(c) => Some(c),
        }
    }

    /// Closes an embedded database (flushing it; see [`Database::close`]) or drops the
    /// connection to a server.
    pub async fn close(self) -> Result<()> {
        match self {
            Connection::Embedded(db) => blocking(move || db.close()).await,
            Connection::Remote(_) => Ok(()),
        }
    }

    // ------------------------------------------------------------------------ key-value

    /// Sets `key` to `value`.
    pub async fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        match self {
            Connection::Embedded(db) => Ok(db
                .put_async(key.as_ref().to_vec(), value.as_ref().to_vec())
                .await?),
            Connection::Remote(c) => c.put(key, value).await,
        }
    }

    /// The value of `key`, if present.
    pub async fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        match self {
            Connection::Embedded(db) => Ok(db.get_async(key.as_ref().to_vec()).await?),
            Connection::Remote(c) => c.get(key).await,
        }
    }

    /// Removes `key` (no error if absent).
    pub async fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        match self {
            Connection::Embedded(db) => Ok(db.delete_async(key.as_ref().to_vec()).await?),
            Connection::Remote(c) => c.delete(key).await,
        }
    }

    /// Applies several puts and deletes atomically; `None` deletes.
    pub async fn write_batch<K, V, I>(&self, ops: I) -> Result<()>
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
        I: IntoIterator<Item = (K, Option<V>)>,
    {
        let ops: Vec<(Vec<u8>, Option<Vec<u8>>)> = ops
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_vec(), v.map(|v| v.as_ref().to_vec())))
            .collect();
        match self {
            Connection::Embedded(db) => {
                let db = db.clone();
                blocking(move || db.write_batch(ops)).await
            }
            Connection::Remote(c) => c.write_batch(ops).await,
        }
    }

    /// All pairs whose key starts with `prefix`, in key order.
    pub async fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Vec<KvPair>> {
        match self {
            Connection::Embedded(db) => Ok(db.scan_prefix_async(prefix.as_ref().to_vec()).await?),
            Connection::Remote(c) => c.scan_prefix(prefix).await,
        }
    }

    /// Pairs with keys between `lower` and `upper`, forward or reverse.
    pub async fn range(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
    ) -> Result<Vec<KvPair>> {
        match self {
            Connection::Embedded(db) => {
                let (db, lo, hi) = (db.clone(), owned(lower), owned(upper));
                blocking(move || {
                    db.range(borrowed(&lo), borrowed(&hi), direction)?
                        .collect_all()
                })
                .await
            }
            Connection::Remote(c) => c.range(lower, upper, direction).await,
        }
    }

    // ------------------------------------------------------------------------ SQL

    /// Runs SQL (one statement or several separated by `;`); returns the rows the last one
    /// inserted, updated or deleted.
    pub async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        match self {
            Connection::Embedded(db) => Ok(db.execute_async(sql, to_vecs(params)).await?),
            Connection::Remote(c) => c.execute(sql, params).await,
        }
    }

    /// Runs a query (or a `CONTEXT ...` statement) and returns its rows.
    pub async fn query(&self, sql: &str, params: &[Value]) -> Result<Rows> {
        match self {
            Connection::Embedded(db) => Ok(db.query_async(sql, to_vecs(params)).await?),
            Connection::Remote(c) => Ok(c.query(sql, params).await?.into_rows()),
        }
    }

    /// Runs a `CONTEXT ...` statement.
    pub async fn execute_context(&self, statement: &str) -> Result<ContextResult> {
        match self {
            Connection::Embedded(db) => Ok(db.execute_context_async(statement).await?),
            Connection::Remote(c) => {
                let tokenizer = toondb::context_sql::parse(statement)
                    .ok()
                    .and_then(|s| s.tokenizer)
                    .unwrap_or(Tokenizer::O200k);
                Ok(c.execute_context(statement)
                    .await?
                    .into_context_result(tokenizer))
            }
        }
    }

    // ------------------------------------------------------------------------ transactions

    /// Starts a transaction at the default isolation (the database's, or the server's).
    pub async fn begin(&self) -> Result<ConnectionTransaction> {
        match self {
            Connection::Embedded(db) => {
                let db = db.clone();
                let t = blocking(move || db.begin()).await?;
                Ok(ConnectionTransaction::embedded(t))
            }
            Connection::Remote(c) => Ok(ConnectionTransaction::Remote(c.begin().await?)),
        }
    }

    /// Starts a transaction at the given isolation.
    pub async fn begin_with(&self, isolation: Isolation) -> Result<ConnectionTransaction> {
        match self {
            Connection::Embedded(db) => {
                let db = db.clone();
                let t = blocking(move || db.begin_with(isolation)).await?;
                Ok(ConnectionTransaction::embedded(t))
            }
            Connection::Remote(c) => Ok(ConnectionTransaction::Remote(
                c.begin_with(isolation).await?,
            )),
        }
    }

    // ------------------------------------------------------------------------ collections

    /// Creates a collection with default index settings.
    pub async fn create_collection(
        &self,
        name: &str,
        dim: usize,
        metric: Metric,
    ) -> Result<ConnectionCollection> {
        match self {
            Connection::Embedded(db) => {
                let (db, name) = (db.clone(), name.to_string());
                let c =
                    blocking(move || db.create_collection(&name, dim, metric, Default::default()))
                        .await?;
                Ok(ConnectionCollection::Embedded(c))
            }
            Connection::Remote(c) => Ok(ConnectionCollection::Remote(
                c.create_collection(name, dim, metric).await?,
            )),
        }
    }

    /// An existing collection. Errors with kind `NotFound` when it does not exist (remotely
    /// this costs one `ListCollections` call).
    pub async fn collection(&self, name: &str) -> Result<ConnectionCollection> {
        match self {
            Connection::Embedded(db) => {
                let (db, name) = (db.clone(), name.to_string());
                Ok(ConnectionCollection::Embedded(
                    blocking(move || db.collection(&name)).await?,
                ))
            }
            Connection::Remote(c) => {
                if c.list_collections().await?.iter().any(|n| n == name) {
                    Ok(ConnectionCollection::Remote(c.collection(name)))
                } else {
                    Err(Error::Database(toondb::Error::NotFound(format!(
                        "collection {name:?}"
                    ))))
                }
            }
        }
    }

    /// Names of all collections.
    pub async fn list_collections(&self) -> Result<Vec<String>> {
        match self {
            Connection::Embedded(db) => {
                let db = db.clone();
                blocking(move || db.list_collections()).await
            }
            Connection::Remote(c) => c.list_collections().await,
        }
    }

    /// Drops a collection; returns whether it existed.
    pub async fn drop_collection(&self, name: &str) -> Result<bool> {
        match self {
            Connection::Embedded(db) => {
                let (db, name) = (db.clone(), name.to_string());
                blocking(move || db.drop_collection(&name)).await
            }
            Connection::Remote(c) => c.drop_collection(name).await,
        }
    }
}

fn owned(b: Bound<&[u8]>) -> Bound<Vec<u8>> {
    match b {
        Bound::Included(k) => Bound::Included(k.to_vec()),
        Bound::Excluded(k) => Bound::Excluded(k.to_vec()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn borrowed(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k),
        Bound::Excluded(k) => Bound::Excluded(k),
        Bound::Unbounded => Bound::Unbounded,
    }
}

type SharedTxn = Arc<Mutex<Option<Transaction>>>;

/// A transaction on a [`Connection`]: reads see a snapshot plus the transaction's own writes;
/// nothing is visible to others before [`commit`](ConnectionTransaction::commit). Dropping it
/// unfinished rolls it back.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectionTransaction {
    /// An embedded transaction (run on the blocking pool, one call at a time).
    Embedded(Arc<Mutex<Option<Transaction>>>),
    /// A server-side transaction.
    Remote(RemoteTransaction),
}

fn finished() -> Error {
    Error::Database(toondb::Error::InvalidArgument(
        "transaction already finished".into(),
    ))
}

async fn in_txn<T: Send + 'static>(
    t: &SharedTxn,
    f: impl FnOnce(&mut Transaction) -> toondb::Result<T> + Send + 'static,
) -> Result<T> {
    let t = t.clone();
    match tokio::task::spawn_blocking(move || {
        let mut g = t.lock();
        g.as_mut().map(f)
    })
    .await
    {
        Ok(Some(r)) => Ok(r?),
        Ok(None) => Err(finished()),
        Err(e) => Err(Error::Database(toondb::Error::Internal(format!(
            "blocking task failed: {e}"
        )))),
    }
}

impl ConnectionTransaction {
    fn embedded(t: Transaction) -> ConnectionTransaction {
        ConnectionTransaction::Embedded(Arc::new(Mutex::new(Some(t))))
    }

    /// Reads `key`.
    pub async fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        match self {
            ConnectionTransaction::Embedded(t) => {
                let k = key.as_ref().to_vec();
                in_txn(t, move |t| t.get(k)).await
            }
            ConnectionTransaction::Remote(t) => t.get(key).await,
        }
    }

    /// Writes `key`.
    pub async fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        match self {
            ConnectionTransaction::Embedded(t) => {
                let (k, v) = (key.as_ref().to_vec(), value.as_ref().to_vec());
                in_txn(t, move |t| t.put(k, v)).await
            }
            ConnectionTransaction::Remote(t) => t.put(key, value).await,
        }
    }

    /// Deletes `key`.
    pub async fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        match self {
            ConnectionTransaction::Embedded(t) => {
                let k = key.as_ref().to_vec();
                in_txn(t, move |t| t.delete(k)).await
            }
            ConnectionTransaction::Remote(t) => t.delete(key).await,
        }
    }

    /// Pairs under `prefix` as the transaction sees them, in key order.
    pub async fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Vec<KvPair>> {
        match self {
            ConnectionTransaction::Embedded(t) => {
                let p = prefix.as_ref().to_vec();
                in_txn(t, move |t| t.scan_prefix(p)?.collect_all()).await
            }
            ConnectionTransaction::Remote(t) => t.scan_prefix(prefix).await,
        }
    }

    /// Runs SQL inside the transaction; returns rows affected.
    pub async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        match self {
            ConnectionTransaction::Embedded(t) => {
                let (sql, p) = (sql.to_string(), to_vecs(params));
                in_txn(t, move |t| t.execute(&sql, &p)).await
            }
            ConnectionTransaction::Remote(t) => t.execute(sql, params).await,
        }
    }

    /// Runs a query inside the transaction.
    pub async fn query(&self, sql: &str, params: &[Value]) -> Result<Rows> {
        match self {
            ConnectionTransaction::Embedded(t) => {
                let (sql, p) = (sql.to_string(), to_vecs(params));
                in_txn(t, move |t| t.query(&sql, &p)).await
            }
            ConnectionTransaction::Remote(t) => Ok(t.query(sql, params).await?.into_rows()),
        }
    }

    /// Commits. A conflict fails with an error whose
    /// [`is_conflict`](Error::is_conflict) is true on both backends.
    pub async fn commit(self) -> Result<()> {
        match self {
            ConnectionTransaction::Embedded(t) => {
                let tx = t.lock().take().ok_or_else(finished)?;
                blocking(move || tx.commit()).await
            }
            ConnectionTransaction::Remote(t) => t.commit().await,
        }
    }

    /// Rolls back.
    pub async fn rollback(self) -> Result<()> {
        match self {
            ConnectionTransaction::Embedded(t) => {
                let tx = t.lock().take().ok_or_else(finished)?;
                blocking(move || {
                    tx.rollback();
                    Ok(())
                })
                .await
            }
            ConnectionTransaction::Remote(t) => t.rollback().await,
        }
    }
}

/// A collection on a [`Connection`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ConnectionCollection {
    /// An embedded collection.
    Embedded(Collection),
    /// A remote collection.
    Remote(RemoteCollection),
}

impl ConnectionCollection {
    /// The collection name.
    pub fn name(&self) -> &str {
        match self {
            ConnectionCollection::Embedded(c) => c.name(),
            ConnectionCollection::Remote(c) => c.name(),
        }
    }

    /// Inserts or replaces a document.
    pub async fn upsert(&self, doc: Document) -> Result<()> {
        match self {
            ConnectionCollection::Embedded(c) => Ok(c.upsert_async(doc).await?),
            ConnectionCollection::Remote(c) => c.upsert(doc).await,
        }
    }

    /// Inserts or replaces several documents.
    pub async fn upsert_many(&self, docs: impl IntoIterator<Item = Document>) -> Result<()> {
        match self {
            ConnectionCollection::Embedded(c) => {
                let (c, docs) = (c.clone(), docs.into_iter().collect::<Vec<_>>());
                blocking(move || c.upsert_many(docs)).await
            }
            ConnectionCollection::Remote(c) => c.upsert_many(docs).await,
        }
    }

    /// A document by id.
    pub async fn get(&self, id: &str) -> Result<Option<Document>> {
        match self {
            ConnectionCollection::Embedded(c) => {
                let (c, id) = (c.clone(), id.to_string());
                blocking(move || c.get(&id)).await
            }
            ConnectionCollection::Remote(c) => c.get(id).await,
        }
    }

    /// Deletes a document; returns whether it existed.
    pub async fn delete(&self, id: &str) -> Result<bool> {
        match self {
            ConnectionCollection::Embedded(c) => Ok(c.delete_async(id).await?),
            ConnectionCollection::Remote(c) => c.delete(id).await,
        }
    }

    /// Nearest neighbours of `vector`.
    pub async fn search(&self, vector: &[f32], k: usize) -> Result<Vec<SearchHit>> {
        self.search_with(SearchRequest::vector(vector.to_vec(), k))
            .await
    }

    /// BM25 keyword search.
    pub async fn keyword_search(&self, text: &str, k: usize) -> Result<Vec<SearchHit>> {
        self.search_with(SearchRequest::text(text, k)).await
    }

    /// Hybrid (vector + keyword) search.
    pub async fn hybrid_search(
        &self,
        text: &str,
        vector: &[f32],
        k: usize,
    ) -> Result<Vec<SearchHit>> {
        self.search_with(SearchRequest::hybrid(text, vector.to_vec(), k))
            .await
    }

    /// Any search (filters, weights, `ef_search`; `candidates` is not sent to a server).
    pub async fn search_with(&self, request: SearchRequest) -> Result<Vec<SearchHit>> {
        match self {
            ConnectionCollection::Embedded(c) => Ok(c.search_async(request).await?),
            ConnectionCollection::Remote(c) => c.search_with(&request).await,
        }
    }
}
