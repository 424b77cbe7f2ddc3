//! An async client for `toondb-server` whose method names follow [`toondb::Database`]. To run
//! the same code against an embedded database or a server, use
//! [`Connection`](super::Connection) instead.
//!
//! ```no_run
//! # async fn demo() -> toondb_client::Result<()> {
//! use toondb_client::{Client, ClientOptions};
//! let client = Client::connect_with(
//!     "http://127.0.0.1:50051",
//!     ClientOptions::default().with_token("s3cret"),
//! )
//! .await?;
//! client.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)", &[]).await?;
//! client.execute("INSERT INTO t(name) VALUES (?)", &["ada".into()]).await?;
//! let r = client.query("SELECT name FROM t", &[]).await?;
//! assert_eq!(r.rows[0][0], toondb::Value::Text("ada".into()));
//!
//! let tx = client.begin().await?;
//! tx.put("k", "v").await?;
//! tx.commit().await?;
//! # Ok(())
//! # }
//! ```

use std::ops::Bound;
use std::path::PathBuf;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Request, Status};

use crate::convert::{
    document_from_pb, document_to_pb, filter_to_json, hit_from_pb, metric_to_pb, value_from_pb,
    value_to_pb,
};
use crate::error::{Error, Result};
use crate::pb;
use crate::pb::collections_client::CollectionsClient;
use crate::pb::context_queries_client::ContextQueriesClient;
use crate::pb::graph_client::GraphClient;
use crate::pb::kv_client::KvClient;
use crate::pb::sql_client::SqlClient;
use crate::pb::transactions_client::TransactionsClient;
use toondb::{
    ContextResult, Direction, Document, Isolation, Metric, Rows, SearchHit, SearchRequest,
    SectionReport, Tokenizer, Value,
};

/// Connection options.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Bearer token sent with every call.
    pub token: Option<String>,
    /// Per-call deadline (sent to the server as `grpc-timeout`). Default none.
    pub timeout: Option<Duration>,
    /// Connect timeout. Default 10 s.
    pub connect_timeout: Duration,
    /// Largest message accepted or sent. Default 16 MiB.
    pub max_message_bytes: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            token: None,
            timeout: None,
            connect_timeout: Duration::from_secs(10),
            max_message_bytes: 16 << 20,
        }
    }
}

impl ClientOptions {
    /// Sets the bearer token.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }
    /// Sets the per-call deadline.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// Adds the bearer token to every call.
#[derive(Clone, Debug)]
pub struct TokenInjector {
    header: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl Interceptor for TokenInjector {
    fn call(&mut self, mut req: Request<()>) -> std::result::Result<Request<()>, Status> {
        if let Some(h) = &self.header {
            req.metadata_mut().insert("authorization", h.clone());
        }
        Ok(req)
    }
}

/// The channel type of the generated stubs this client wraps.
pub type Svc = InterceptedService<Channel, TokenInjector>;

/// A `(key, value)` pair.
pub type KvPair = (Vec<u8>, Vec<u8>);

/// A SQL result.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    /// Column names.
    pub columns: Vec<String>,
    /// Column types as reported by the server: the declared type when the planner knows it
    /// (column reference, CAST, count()), else the type of the first non-NULL value.
    pub column_types: Vec<pb::ColumnType>,
    /// Rows.
    pub rows: Vec<Vec<Value>>,
    /// Rows changed by DML.
    pub rows_affected: u64,
}

impl QueryResult {
    /// The rows as [`Rows`], the type [`toondb::Database::query`] returns (column types are
    /// dropped; `rows_affected` is not carried, so [`Rows::rows_affected`] is 0).
    pub fn into_rows(self) -> Rows {
        Rows::from_parts(self.columns, self.rows)
    }
}

/// `r` if every row has one value per column; a server that sends anything else is refused
/// ([`Error::InvalidResponse`]) rather than trusted.
fn checked_width(r: QueryResult) -> Result<QueryResult> {
    let width = r.columns.len();
    match r.rows.iter().position(|row| row.len() != width) {
        None => Ok(r),
        Some(i) => Err(Error::InvalidResponse(format!(
            "row {i} has {} values for {width} columns",
            r.rows[i].len()
        ))),
    }
}

/// An assembled context.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteContext {
    /// The context as TOON text.
    pub text: String,
    /// Exact tokens of `text`.
    pub total_tokens: u64,
    /// The budget asked for.
    pub budget: u64,
    /// Per-section reports.
    pub sections: Vec<pb::ContextSectionReport>,
}

impl RemoteContext {
    /// As a [`ContextResult`], the type [`toondb::Database::execute_context`] returns. The
    /// protocol does not carry the tokenizer, so the caller names it.
    pub fn into_context_result(self, tokenizer: Tokenizer) -> ContextResult {
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let mut out = ContextResult::new(self.text, tokenizer);
        out.sections = self
            .sections
            .into_iter()
            .map(|s| {
                let mut r = SectionReport::new(s.name, s.priority);
                r.tokens = size(s.tokens);
                r.items_included = size(s.items_included);
                r.items_dropped = size(s.items_dropped);
                r.duplicates = size(s.duplicates);
                r.truncated = s.truncated;
                r
            })
            .collect();
        out.total_tokens = size(self.total_tokens);
        out.budget = size(self.budget);
        out
    }
}

/// A connection to a `toondb-server`. Cheap to clone; clones share one HTTP/2 connection
/// (and so may use each other's transactions).
#[derive(Clone, Debug)]
pub struct Client {
    stubs: std::sync::Arc<Stubs>,
}

/// The generated stubs, shared by clones of a [`Client`].
#[derive(Debug)]
struct Stubs {
    kv: KvClient<Svc>,
    txn: TransactionsClient<Svc>,
    sql: SqlClient<Svc>,
    coll: CollectionsClient<Svc>,
    ctx: ContextQueriesClient<Svc>,
    graph: GraphClient<Svc>,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::InvalidResponse(msg.into())
}

/// The smallest key greater than `k`.
fn successor(k: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(k.len() + 1);
    v.extend_from_slice(k);
    v.push(0);
    v
}

fn range_request(
    lower: Bound<&[u8]>,
    upper: Bound<&[u8]>,
    direction: Direction,
    txn: Option<u64>,
) -> pb::ScanRequest {
    pb::ScanRequest {
        prefix: None,
        start: match lower {
            Bound::Included(k) => Some(k.to_vec()),
            Bound::Excluded(k) => Some(successor(k)),
            Bound::Unbounded => None,
        },
        end: match upper {
            Bound::Included(k) => Some(successor(k)),
            Bound::Excluded(k) => Some(k.to_vec()),
            Bound::Unbounded => None,
        },
        limit: 0,
        reverse: matches!(direction, Direction::Reverse),
        txn: txn.map(|id| pb::TxnHandle { id }),
    }
}

fn isolation_to_pb(i: Isolation) -> pb::Isolation {
    match i {
        Isolation::Serializable => pb::Isolation::Serializable,
        _ => pb::Isolation::Snapshot,
    }
}

impl Client {
    /// Connects to `uri` (e.g. `http://127.0.0.1:50051`).
    pub async fn connect(uri: &str) -> Result<Client> {
        Client::connect_with(uri, ClientOptions::default()).await
    }

    fn endpoint(uri: &str, opts: &ClientOptions) -> Result<Endpoint> {
        let mut ep = Endpoint::from_shared(uri.to_string())
            .map_err(Error::Transport)?
            .connect_timeout(opts.connect_timeout)
            .tcp_nodelay(true);
        if let Some(t) = opts.timeout {
            ep = ep.timeout(t);
        }
        Ok(ep)
    }

    /// Connects to `uri` with options.
    pub async fn connect_with(uri: &str, opts: ClientOptions) -> Result<Client> {
        let ch = Client::endpoint(uri, &opts)?.connect().await?;
        Client::from_channel(ch, &opts)
    }

    /// Connects to a server's Unix socket.
    pub async fn connect_unix(path: impl Into<PathBuf>, opts: ClientOptions) -> Result<Client> {
        let path = path.into();
        let ch = Client::endpoint("http://localhost", &opts)?
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let p = path.clone();
                async move {
                    let s = tokio::net::UnixStream::connect(p).await?;
                    Ok::<_, std::io::Error>(TokioIo::new(s))
                }
            }))
            .await?;
        Client::from_channel(ch, &opts)
    }

    /// A client over an existing channel.
    pub fn from_channel(ch: Channel, opts: &ClientOptions) -> Result<Client> {
        let header = match &opts.token {
            Some(t) => Some(
                format!("Bearer {t}")
                    .parse()
                    .map_err(|_| Error::Config("token is not valid header text".into()))?,
            ),
            None => None,
        };
        let svc = InterceptedService::new(ch, TokenInjector { header });
        let n = opts.max_message_bytes;
        Ok(Client {
            stubs: std::sync::Arc::new(Stubs {
                kv: KvClient::new(svc.clone())
                    .max_decoding_message_size(n)
                    .max_encoding_message_size(n),
                txn: TransactionsClient::new(svc.clone())
                    .max_decoding_message_size(n)
                    .max_encoding_message_size(n),
                sql: SqlClient::new(svc.clone())
                    .max_decoding_message_size(n)
                    .max_encoding_message_size(n),
                coll: CollectionsClient::new(svc.clone())
                    .max_decoding_message_size(n)
                    .max_encoding_message_size(n),
                ctx: ContextQueriesClient::new(svc.clone())
                    .max_decoding_message_size(n)
                    .max_encoding_message_size(n),
                graph: GraphClient::new(svc)
                    .max_decoding_message_size(n)
                    .max_encoding_message_size(n),
            }),
        })
    }

    /// The generated KV stub, for calls this type does not wrap.
    pub fn kv_stub(&self) -> KvClient<Svc> {
        self.stubs.kv.clone()
    }
    /// The generated SQL stub.
    pub fn sql_stub(&self) -> SqlClient<Svc> {
        self.stubs.sql.clone()
    }
    /// The generated collections stub.
    pub fn collections_stub(&self) -> CollectionsClient<Svc> {
        self.stubs.coll.clone()
    }
    /// The generated context-query stub.
    pub fn context_stub(&self) -> ContextQueriesClient<Svc> {
        self.stubs.ctx.clone()
    }
    /// The generated graph stub.
    pub fn graph_stub(&self) -> GraphClient<Svc> {
        self.stubs.graph.clone()
    }
    /// The generated transactions stub.
    pub fn transactions_stub(&self) -> TransactionsClient<Svc> {
        self.stubs.txn.clone()
    }

    // -------------------------------------------------------------------- key-value

    /// Sets `key` to `value`.
    pub async fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        self.put_in(None, key.as_ref(), value.as_ref()).await
    }

    async fn put_in(&self, txn: Option<u64>, key: &[u8], value: &[u8]) -> Result<()> {
        self.stubs
            .kv
            .clone()
            .put(pb::PutRequest {
                key: key.to_vec(),
                value: value.to_vec(),
                txn: txn.map(|id| pb::TxnHandle { id }),
            })
            .await?;
        Ok(())
    }

    /// The value of `key`, if present.
    pub async fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.get_in(None, key.as_ref()).await
    }

    async fn get_in(&self, txn: Option<u64>, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let r = self
            .stubs
            .kv
            .clone()
            .get(pb::GetRequest {
                key: key.to_vec(),
                txn: txn.map(|id| pb::TxnHandle { id }),
            })
            .await?
            .into_inner();
        Ok(r.found.then_some(r.value))
    }

    /// Removes `key` (no error if absent).
    pub async fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        self.delete_in(None, key.as_ref()).await
    }

    async fn delete_in(&self, txn: Option<u64>, key: &[u8]) -> Result<()> {
        self.stubs
            .kv
            .clone()
            .delete(pb::DeleteRequest {
                key: key.to_vec(),
                txn: txn.map(|id| pb::TxnHandle { id }),
            })
            .await?;
        Ok(())
    }

    /// Applies several puts and deletes atomically. `None` deletes.
    pub async fn write_batch<K, V, I>(&self, ops: I) -> Result<()>
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
        I: IntoIterator<Item = (K, Option<V>)>,
    {
        let ops = ops
            .into_iter()
            .map(|(k, v)| pb::BatchOp {
                op: Some(match v {
                    Some(v) => pb::batch_op::Op::Put(pb::KeyValue {
                        key: k.as_ref().to_vec(),
                        value: v.as_ref().to_vec(),
                    }),
                    None => pb::batch_op::Op::Delete(k.as_ref().to_vec()),
                }),
            })
            .collect();
        self.stubs
            .kv
            .clone()
            .batch(pb::BatchRequest { ops, txn: None })
            .await?;
        Ok(())
    }

    /// Streams a scan; each message carries a chunk of pairs.
    pub async fn scan_stream(
        &self,
        req: pb::ScanRequest,
    ) -> Result<tonic::Streaming<pb::ScanResponse>> {
        Ok(self.stubs.kv.clone().scan(req).await?.into_inner())
    }

    async fn collect_scan(&self, req: pb::ScanRequest) -> Result<Vec<KvPair>> {
        let mut s = self.scan_stream(req).await?;
        let mut out = Vec::new();
        while let Some(chunk) = s.message().await? {
            out.extend(chunk.pairs.into_iter().map(|kv| (kv.key, kv.value)));
        }
        Ok(out)
    }

    /// All pairs whose key starts with `prefix`, in key order (collected).
    pub async fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Vec<KvPair>> {
        self.collect_scan(pb::ScanRequest {
            prefix: Some(prefix.as_ref().to_vec()),
            ..Default::default()
        })
        .await
    }

    /// Pairs with keys in `(lower, upper)` in forward or reverse order (collected).
    pub async fn range(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
    ) -> Result<Vec<KvPair>> {
        self.collect_scan(range_request(lower, upper, direction, None))
            .await
    }

    // -------------------------------------------------------------------- transactions

    /// Starts a transaction at the server's default isolation.
    pub async fn begin(&self) -> Result<RemoteTransaction> {
        self.begin_iso(pb::Isolation::Unspecified).await
    }

    /// Starts a transaction at the given isolation.
    pub async fn begin_with(&self, isolation: Isolation) -> Result<RemoteTransaction> {
        self.begin_iso(isolation_to_pb(isolation)).await
    }

    async fn begin_iso(&self, iso: pb::Isolation) -> Result<RemoteTransaction> {
        let r = self
            .stubs
            .txn
            .clone()
            .begin(pb::BeginRequest {
                isolation: iso as i32,
            })
            .await?
            .into_inner();
        let id = r.txn.ok_or_else(|| bad("Begin returned no handle"))?.id;
        Ok(RemoteTransaction {
            client: self.clone(),
            id,
            done: false,
            idle_timeout: Duration::from_millis(r.idle_timeout_ms),
        })
    }

    // -------------------------------------------------------------------- SQL

    async fn sql_exec(&self, txn: Option<u64>, sql: &str, params: &[Value]) -> Result<QueryResult> {
        let r = self
            .stubs
            .sql
            .clone()
            .execute(pb::SqlRequest {
                sql: sql.to_string(),
                params: params.iter().map(value_to_pb).collect(),
                txn: txn.map(|id| pb::TxnHandle { id }),
            })
            .await?
            .into_inner();
        checked_width(QueryResult {
            column_types: r
                .columns
                .iter()
                .map(|c| pb::ColumnType::try_from(c.r#type).unwrap_or_default())
                .collect(),
            columns: r.columns.into_iter().map(|c| c.name).collect(),
            rows: r
                .rows
                .into_iter()
                .map(|row| row.values.into_iter().map(value_from_pb).collect())
                .collect(),
            rows_affected: r.rows_affected,
        })
    }

    async fn sql_stream(
        &self,
        txn: Option<u64>,
        sql: &str,
        params: &[Value],
    ) -> Result<QueryResult> {
        let mut s = self
            .stubs
            .sql
            .clone()
            .query(pb::SqlRequest {
                sql: sql.to_string(),
                params: params.iter().map(value_to_pb).collect(),
                txn: txn.map(|id| pb::TxnHandle { id }),
            })
            .await?
            .into_inner();
        let mut out = QueryResult {
            columns: Vec::new(),
            column_types: Vec::new(),
            rows: Vec::new(),
            rows_affected: 0,
        };
        while let Some(chunk) = s.message().await? {
            for c in chunk.columns {
                out.column_types
                    .push(pb::ColumnType::try_from(c.r#type).unwrap_or_default());
                out.columns.push(c.name);
            }
            out.rows.extend(
                chunk
                    .rows
                    .into_iter()
                    .map(|row| row.values.into_iter().map(value_from_pb).collect()),
            );
        }
        checked_width(out)
    }

    /// Runs SQL (one statement or several separated by `;`) and returns the rows the last one
    /// inserted, updated or deleted.
    pub async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        Ok(self.sql_exec(None, sql, params).await?.rows_affected)
    }

    /// Runs a query, streaming its rows from the server, and returns them all. Also accepts
    /// `CONTEXT ...` statements.
    pub async fn query(&self, sql: &str, params: &[Value]) -> Result<QueryResult> {
        self.sql_stream(None, sql, params).await
    }

    // -------------------------------------------------------------------- collections

    /// Creates a collection (default HNSW settings).
    pub async fn create_collection(
        &self,
        name: &str,
        dim: usize,
        metric: Metric,
    ) -> Result<RemoteCollection> {
        let dimension =
            u32::try_from(dim).map_err(|_| Error::Config(format!("dimension {dim} too large")))?;
        self.stubs
            .coll
            .clone()
            .create_collection(pb::CreateCollectionRequest {
                name: name.to_string(),
                dimension,
                metric: metric_to_pb(metric) as i32,
                if_not_exists: false,
            })
            .await?;
        Ok(self.collection(name))
    }

    /// A handle on a collection (not checked until used).
    pub fn collection(&self, name: &str) -> RemoteCollection {
        RemoteCollection {
            client: self.clone(),
            name: name.to_string(),
        }
    }

    /// Names of all collections.
    pub async fn list_collections(&self) -> Result<Vec<String>> {
        Ok(self
            .stubs
            .coll
            .clone()
            .list_collections(pb::ListCollectionsRequest {})
            .await?
            .into_inner()
            .names)
    }

    /// Drops a collection; returns whether it existed.
    pub async fn drop_collection(&self, name: &str) -> Result<bool> {
        Ok(self
            .stubs
            .coll
            .clone()
            .drop_collection(pb::DropCollectionRequest {
                name: name.to_string(),
            })
            .await?
            .into_inner()
            .existed)
    }

    // -------------------------------------------------------------------- context

    /// Runs a `CONTEXT ...` statement.
    pub async fn execute_context(&self, statement: &str) -> Result<RemoteContext> {
        self.context_query(pb::context_query_request::Query::Statement(
            statement.to_string(),
        ))
        .await
    }

    /// Assembles a context from a structured spec.
    pub async fn context(&self, spec: pb::ContextSpec) -> Result<RemoteContext> {
        self.context_query(pb::context_query_request::Query::Spec(spec))
            .await
    }

    // -------------------------------------------------------------------- graph

    /// Runs one operation of the graph's JSON command interface
    /// ([`toondb::graph::json`]) in namespace `namespace`, auto-committed; `txn` joins a
    /// transaction (a [`RemoteTransaction::id`]).
    pub async fn graph_call(
        &self,
        namespace: &str,
        op: &str,
        args: &serde_json::Value,
        txn: Option<u64>,
    ) -> Result<serde_json::Value> {
        let r = self
            .stubs
            .graph
            .clone()
            .call(pb::GraphCallRequest {
                namespace: namespace.to_string(),
                op: op.to_string(),
                args_json: args.to_string(),
                txn: txn.map(|id| pb::TxnHandle { id }),
            })
            .await?
            .into_inner();
        serde_json::from_str(&r.result_json)
            .map_err(|e| bad(format!("graph result is not JSON: {e}")))
    }

    async fn context_query(&self, q: pb::context_query_request::Query) -> Result<RemoteContext> {
        let r = self
            .stubs
            .ctx
            .clone()
            .query(pb::ContextQueryRequest { query: Some(q) })
            .await?
            .into_inner();
        Ok(RemoteContext {
            text: r.toon,
            total_tokens: r.token_count,
            budget: r.budget,
            sections: r.sections,
        })
    }
}

/// A server-side transaction. Commit or roll it back; dropping it unfinished asks the server
/// to roll it back in the background (and the server also rolls it back when the connection
/// closes or it stays idle past its timeout).
#[derive(Debug)]
pub struct RemoteTransaction {
    client: Client,
    id: u64,
    done: bool,
    idle_timeout: Duration,
}

impl RemoteTransaction {
    /// The server's handle id.
    pub fn id(&self) -> u64 {
        self.id
    }
    /// Idle time after which the server rolls this transaction back.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }
    /// Reads a key inside the transaction.
    pub async fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.client.get_in(Some(self.id), key.as_ref()).await
    }
    /// Writes a key inside the transaction.
    pub async fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        self.client
            .put_in(Some(self.id), key.as_ref(), value.as_ref())
            .await
    }
    /// Deletes a key inside the transaction.
    pub async fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        self.client.delete_in(Some(self.id), key.as_ref()).await
    }
    /// Pairs under a prefix, as the transaction sees them.
    pub async fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Vec<KvPair>> {
        self.client
            .collect_scan(pb::ScanRequest {
                prefix: Some(prefix.as_ref().to_vec()),
                txn: Some(pb::TxnHandle { id: self.id }),
                ..Default::default()
            })
            .await
    }
    /// A range, as the transaction sees it.
    pub async fn range(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
    ) -> Result<Vec<KvPair>> {
        self.client
            .collect_scan(range_request(lower, upper, direction, Some(self.id)))
            .await
    }
    /// Runs SQL inside the transaction; returns rows affected.
    pub async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        Ok(self
            .client
            .sql_exec(Some(self.id), sql, params)
            .await?
            .rows_affected)
    }
    /// Runs a query inside the transaction.
    pub async fn query(&self, sql: &str, params: &[Value]) -> Result<QueryResult> {
        self.client.sql_stream(Some(self.id), sql, params).await
    }
    /// Commits. A conflict fails with ABORTED ([`Error::is_conflict`]).
    pub async fn commit(mut self) -> Result<()> {
        self.done = true;
        self.client
            .stubs
            .txn
            .clone()
            .commit(pb::CommitRequest {
                txn: Some(pb::TxnHandle { id: self.id }),
            })
            .await?;
        Ok(())
    }
    /// Rolls back.
    pub async fn rollback(mut self) -> Result<()> {
        self.done = true;
        self.client
            .stubs
            .txn
            .clone()
            .rollback(pb::RollbackRequest {
                txn: Some(pb::TxnHandle { id: self.id }),
            })
            .await?;
        Ok(())
    }
}

impl Drop for RemoteTransaction {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Ok(h) = tokio::runtime::Handle::try_current() {
            let mut stub = self.client.stubs.txn.clone();
            let id = self.id;
            h.spawn(async move {
                // Best effort: the server also reaps it on disconnect or idle timeout.
                let _ = stub
                    .rollback(pb::RollbackRequest {
                        txn: Some(pb::TxnHandle { id }),
                    })
                    .await;
            });
        }
    }
}

/// A remote collection.
#[derive(Clone, Debug)]
pub struct RemoteCollection {
    client: Client,
    name: String,
}

impl RemoteCollection {
    /// The collection name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Inserts or replaces a document.
    pub async fn upsert(&self, doc: Document) -> Result<()> {
        self.upsert_many([doc]).await
    }
    /// Inserts or replaces several documents.
    pub async fn upsert_many(&self, docs: impl IntoIterator<Item = Document>) -> Result<()> {
        self.client
            .stubs
            .coll
            .clone()
            .upsert(pb::UpsertRequest {
                collection: self.name.clone(),
                documents: docs.into_iter().map(|d| document_to_pb(&d)).collect(),
            })
            .await?;
        Ok(())
    }
    /// A document by id.
    pub async fn get(&self, id: &str) -> Result<Option<Document>> {
        match self
            .client
            .stubs
            .coll
            .clone()
            .get_document(pb::GetDocumentRequest {
                collection: self.name.clone(),
                id: id.to_string(),
            })
            .await
        {
            Ok(d) => Ok(Some(document_from_pb(d.into_inner()).map_err(bad)?)),
            Err(s)
                if s.code() == tonic::Code::NotFound
                    && s.metadata().get(crate::status::KIND_METADATA).is_none() =>
            {
                Ok(None)
            }
            Err(s) => Err(s.into()),
        }
    }
    /// Deletes a document; returns whether it existed.
    pub async fn delete(&self, id: &str) -> Result<bool> {
        Ok(self
            .client
            .stubs
            .coll
            .clone()
            .delete_document(pb::DeleteDocumentRequest {
                collection: self.name.clone(),
                id: id.to_string(),
            })
            .await?
            .into_inner()
            .existed)
    }
    /// Nearest neighbours of `vector`.
    pub async fn search(&self, vector: &[f32], k: usize) -> Result<Vec<SearchHit>> {
        self.search_with(&SearchRequest::vector(vector.to_vec(), k))
            .await
    }
    /// BM25 keyword search.
    pub async fn keyword_search(&self, text: &str, k: usize) -> Result<Vec<SearchHit>> {
        self.search_with(&SearchRequest::text(text, k)).await
    }
    /// Hybrid search.
    pub async fn hybrid_search(
        &self,
        text: &str,
        vector: &[f32],
        k: usize,
    ) -> Result<Vec<SearchHit>> {
        self.search_with(&SearchRequest::hybrid(text, vector.to_vec(), k))
            .await
    }
    /// Any search (`candidates` is not carried over the wire).
    pub async fn search_with(&self, req: &SearchRequest) -> Result<Vec<SearchHit>> {
        let k = u32::try_from(req.k).map_err(|_| Error::Config("k too large".into()))?;
        let filter_json = match &req.filter {
            Some(f) => filter_to_json(f).map_err(Error::Config)?,
            None => String::new(),
        };
        let resp = match (&req.vector, &req.text) {
            (Some(v), None) => {
                self.client
                    .stubs
                    .coll
                    .clone()
                    .search(pb::SearchRequest {
                        collection: self.name.clone(),
                        vector: v.clone(),
                        k,
                        filter_json,
                        ef_search: req
                            .ef_search
                            .map_or(0, |e| u32::try_from(e).unwrap_or(u32::MAX)),
                    })
                    .await?
            }
            (v, t) => {
                self.client
                    .stubs
                    .coll
                    .clone()
                    .hybrid_search(pb::HybridSearchRequest {
                        collection: self.name.clone(),
                        text: t.clone().unwrap_or_default(),
                        vector: v.clone().unwrap_or_default(),
                        k,
                        filter_json,
                        vector_weight: Some(req.vector_weight),
                        keyword_weight: Some(req.keyword_weight),
                        rrf_k: Some(req.rrf_k),
                    })
                    .await?
            }
        };
        resp.into_inner()
            .hits
            .into_iter()
            .map(|h| hit_from_pb(h).map_err(bad))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(columns: &[&str], rows: Vec<Vec<Value>>) -> QueryResult {
        QueryResult {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            column_types: Vec::new(),
            rows,
            rows_affected: 0,
        }
    }

    #[test]
    fn rows_narrower_or_wider_than_the_columns_are_refused() {
        let ok = result(&["a", "b"], vec![vec![Value::Integer(1), Value::Null]]);
        assert_eq!(checked_width(ok.clone()).unwrap(), ok);
        for bad in [vec![Value::Integer(1)], vec![Value::Null; 3]] {
            let r = result(&["a", "b"], vec![ok.rows[0].clone(), bad]);
            let e = checked_width(r).unwrap_err();
            assert!(
                matches!(e, Error::InvalidResponse(ref m) if m.contains("row 1")),
                "{e}"
            );
        }
    }

    #[test]
    fn a_short_row_reads_as_an_error_not_a_panic() {
        let rows = result(&["a", "b"], vec![vec![Value::Integer(1)]]).into_rows();
        assert_eq!(rows[0].get::<i64>("a").unwrap(), 1);
        assert_eq!(
            rows[0].get::<i64>(1).unwrap_err().kind(),
            toondb::ErrorKind::NotFound
        );
        assert!(rows[0].value("b").is_err());
    }
}
