//! The gRPC service implementations over [`toondb::Database`].
//!
//! No database call runs on an async worker. Every call first takes a permit from a global
//! semaphore (so the number of admitted database calls is bounded), then runs either on the
//! fixed database pool ([`pool`]: `Get`, `Put`, `Delete` and `Batch` outside transactions,
//! short calls whose cost used to be dominated by the hand-off itself) or on tokio's blocking
//! pool (`spawn_blocking`: everything else, including transactions, SQL, search and the
//! streaming producers, which may run long and must not hold up point operations).

mod graph;
mod pool;

use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use toondb::{Database, Direction, Isolation, SearchRequest, Section, Target};

use crate::conn::ConnInfo;
use crate::convert::{
    columns_of_rows, document_from_pb, document_to_pb, filter_from_json, hit_to_pb, metric_from_pb,
    value_from_pb, value_to_pb,
};
use crate::pb;
use crate::status::to_status;
use crate::txn::{TxnLookupError, TxnRegistry, TxnSlot};
use pool::{DbPool, Job};

/// Pairs per scan message, at most.
const SCAN_CHUNK_PAIRS: usize = 256;
/// Rows per query message, at most.
const QUERY_CHUNK_ROWS: usize = 256;
/// Payload bytes per streamed message before it is sent (kept well under message limits).
const CHUNK_BYTES: usize = 256 * 1024;
/// Largest `k` a search accepts.
pub const MAX_K: u32 = 10_000;

/// Shared state of all services.
pub struct State {
    pub(crate) db: Database,
    pub(crate) txns: Arc<TxnRegistry>,
    permits: Arc<Semaphore>,
    pool: DbPool,
    /// How long a streaming producer waits for a slow client before giving up.
    stream_stall_timeout: Duration,
    /// Longest a streaming call may last in total (then it ends with DEADLINE_EXCEEDED).
    stream_max_duration: Duration,
    /// Streaming calls one connection may run at once (its share of the permits).
    max_streams_per_conn: usize,
    /// Streaming calls running, per connection.
    streams: Arc<parking_lot::Mutex<std::collections::HashMap<u64, usize>>>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").field("txns", &self.txns).finish()
    }
}

/// The service object implementing every `toondb.v1` service.
#[derive(Clone, Debug)]
pub struct ToonService {
    state: Arc<State>,
}

fn txn_status(e: TxnLookupError) -> Status {
    match e {
        TxnLookupError::NotFound(_) => Status::not_found(e.to_string()),
        TxnLookupError::TooMany { .. } => Status::resource_exhausted(e.to_string()),
    }
}

/// Runs `f` on the target a request names: the transaction in `slot` (refused once it has
/// finished) or, without one, the database. Every call that both sides serve goes through
/// here once instead of being written for each.
pub(crate) fn on_target<T>(
    db: &Database,
    slot: Option<&TxnSlot>,
    f: impl FnOnce(Target<'_>) -> toondb::Result<T>,
) -> Result<T, Status> {
    match slot {
        Some(s) => s
            .with(|t| f(Target::Txn(t)))
            .ok_or_else(finished_txn)?
            .map_err(db_err),
        None => f(Target::Db(db)).map_err(db_err),
    }
}

fn conn_of<T>(req: &Request<T>) -> u64 {
    req.extensions().get::<ConnInfo>().map_or(0, |c| c.id)
}

fn db_err(e: toondb::Error) -> Status {
    client_status(&e)
}

/// The status a client sees for a database error: the kind (code and `toondb-error-kind`
/// metadata) always; the message only for kinds about the caller's own input. I/O, internal,
/// corruption and closed/poisoned errors can name files of the server or carry panic text:
/// their full text goes to the server's log and the client gets a fixed message.
pub fn client_status(e: &toondb::Error) -> Status {
    use toondb::ErrorKind as K;
    let full = to_status(e);
    let generic = match e.kind() {
        K::Io => "the server could not complete the operation (I/O error)",
        K::Internal => "internal server error",
        K::Corruption => "stored data is damaged",
        K::Closed => "the database is closed or failed; it must be reopened",
        K::Busy => "the database is busy",
        _ => return full,
    };
    eprintln!("toondb-server: {} error: {e}", e.kind().as_str());
    let mut s = Status::new(full.code(), generic);
    *s.metadata_mut() = full.metadata().clone();
    s
}

fn finished_txn() -> Status {
    Status::not_found("transaction already finished")
}

impl ToonService {
    /// Services over `db`, with transactions kept in `txns`, at most `max_in_flight` database
    /// calls admitted at once and `db_threads` threads in the point-operation pool. Fails only
    /// if the pool's threads cannot be started.
    pub fn new(
        db: Database,
        txns: Arc<TxnRegistry>,
        max_in_flight: usize,
        db_threads: usize,
        stream_stall_timeout: Duration,
    ) -> std::io::Result<ToonService> {
        let pool = DbPool::start(&db, db_threads)?;
        Ok(ToonService {
            state: Arc::new(State {
                db,
                txns,
                permits: Arc::new(Semaphore::new(max_in_flight.max(1))),
                pool,
                stream_stall_timeout,
                stream_max_duration: Duration::MAX,
                max_streams_per_conn: usize::MAX,
                streams: Arc::default(),
            }),
        })
    }

    /// Limits the total duration of a streaming call: a stream still producing after `d`
    /// ends with DEADLINE_EXCEEDED, releasing its permit and the table files it reads. Call
    /// before cloning the service (it is ignored afterwards).
    pub fn with_stream_max_duration(mut self, d: Duration) -> ToonService {
        if let Some(st) = Arc::get_mut(&mut self.state) {
            st.stream_max_duration = d;
        }
        self
    }

    /// Limits the streaming calls one connection may run at once (at least 1), so that one
    /// client cannot take every permit. Call before cloning the service.
    pub fn with_max_streams_per_connection(mut self, n: usize) -> ToonService {
        if let Some(st) = Arc::get_mut(&mut self.state) {
            st.max_streams_per_conn = n.max(1);
        }
        self
    }

    /// Stops admitting new database calls (they fail with UNAVAILABLE); calls already running
    /// finish.
    pub fn close_gate(&self) {
        self.state.permits.close();
    }

    /// Lets the point-operation pool finish what is queued and stops its threads, waiting at
    /// most `wait` (blocking: call it off the async workers, after [`ToonService::close_gate`]).
    /// Returns whether every thread stopped in time.
    pub fn stop_pool(&self, wait: Duration) -> bool {
        self.state.pool.stop(wait)
    }

    /// Runs `f` on the point-operation pool with a permit. For short calls only: a long one
    /// holds up every point operation queued behind it.
    async fn point<T, F>(&self, f: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, Status> + Send + 'static,
    {
        let permit = self.permit().await?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job = Job::Call(Box::new(move |db: &Database| {
            let _permit = permit;
            if !tx.is_closed() {
                let _ = tx.send(f(db));
            }
        }));
        self.submit(job, rx).await
    }

    /// A put (`Some`) or delete (`None`) outside transactions, on the pool, where it may be
    /// committed together with other queued writes (each still gets its own result).
    async fn point_write(&self, key: Vec<u8>, value: Option<Vec<u8>>) -> Result<(), Status> {
        let permit = self.permit().await?;
        let (reply, rx) = tokio::sync::oneshot::channel();
        let job = Job::Write {
            key,
            value,
            reply,
            permit,
        };
        self.submit(job, rx).await
    }

    async fn submit<T>(
        &self,
        job: Job,
        rx: tokio::sync::oneshot::Receiver<Result<T, Status>>,
    ) -> Result<T, Status> {
        if self.state.pool.submit(job).is_err() {
            return Err(Status::unavailable("server is shutting down"));
        }
        rx.await
            .map_err(|_| Status::internal("database worker failed"))?
    }

    async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, Status> {
        self.state
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Status::unavailable("server is shutting down"))
    }

    /// Runs `f` on the blocking pool with a permit.
    async fn blocking<T, F>(&self, f: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, Status> + Send + 'static,
    {
        let permit = self.permit().await?;
        let db = self.state.db.clone();
        // A deadline or a client cancel drops this future: the guard then cancels the SQL
        // statement running on the worker (it fails with "interrupted" and applies nothing).
        let token = toondb::CancelToken::new();
        let _cancel_on_drop = CancelOnDrop(token.clone());
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            toondb::with_cancel_token(&token, || f(&db))
        })
        .await
        .map_err(|e| {
            eprintln!("toondb-server: database worker failed: {e}");
            Status::internal("internal server error")
        })?
    }

    fn slot(&self, conn: u64, txn: Option<pb::TxnHandle>) -> Result<Option<Arc<TxnSlot>>, Status> {
        match txn {
            None => Ok(None),
            Some(h) => self
                .state
                .txns
                .get(conn, h.id)
                .map(Some)
                .map_err(txn_status),
        }
    }

    /// Runs a producer on the blocking pool that pushes stream items into a channel; the
    /// returned stream ends when the producer returns. The producer's `send` returns false when
    /// the client has gone (or stalled longer than the stall timeout): it must then stop.
    async fn stream<T, F>(
        &self,
        conn: u64,
        produce: F,
    ) -> Result<ReceiverStream<Result<T, Status>>, Status>
    where
        T: Send + 'static,
        F: FnOnce(&Database, &mut dyn FnMut(Result<T, Status>) -> bool) + Send + 'static,
    {
        let share = StreamShare::take(&self.state.streams, conn, self.state.max_streams_per_conn)?;
        let permit = self.permit().await?;
        let (tx, rx) = mpsc::channel(4);
        let db = self.state.db.clone();
        let stall = self.state.stream_stall_timeout;
        let max = self.state.stream_max_duration;
        let handle = tokio::runtime::Handle::current();
        // The client going away (cancel, deadline) drops the receiving stream: a watcher then
        // cancels the SQL statement the producer is running.
        let token = toondb::CancelToken::new();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let watch_tx = tx.clone();
        let watch_token = token.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = watch_tx.closed() => watch_token.cancel(),
                _ = done_rx => {}
            }
        });
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _done = done_tx;
            let _share = share;
            let start = std::time::Instant::now();
            let mut send = |item: Result<T, Status>| -> bool {
                let over = || {
                    Err(Status::deadline_exceeded(
                        "stream exceeded its maximum duration",
                    ))
                };
                let left = max.saturating_sub(start.elapsed());
                if left.is_zero() {
                    let _ = handle.block_on(tx.send_timeout(over(), stall));
                    return false;
                }
                match handle.block_on(tx.send_timeout(item, stall.min(left))) {
                    Ok(()) => true,
                    Err(mpsc::error::SendTimeoutError::Timeout(_)) if start.elapsed() >= max => {
                        let _ = handle.block_on(tx.send_timeout(over(), stall));
                        false
                    }
                    Err(_) => false,
                }
            };
            toondb::with_cancel_token(&token, || produce(&db, &mut send));
        });
        Ok(ReceiverStream::new(rx))
    }
}

/// Cancels a token when dropped (the request future was dropped: deadline or client cancel).
struct CancelOnDrop(toondb::CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// One running stream counted against its connection's share; released on drop.
struct StreamShare {
    map: Arc<parking_lot::Mutex<std::collections::HashMap<u64, usize>>>,
    conn: u64,
}

impl StreamShare {
    fn take(
        map: &Arc<parking_lot::Mutex<std::collections::HashMap<u64, usize>>>,
        conn: u64,
        limit: usize,
    ) -> Result<StreamShare, Status> {
        let mut m = map.lock();
        let n = m.entry(conn).or_insert(0);
        if *n >= limit {
            return Err(Status::resource_exhausted(format!(
                "too many streaming calls on this connection (limit {limit})"
            )));
        }
        *n += 1;
        Ok(StreamShare {
            map: map.clone(),
            conn,
        })
    }
}

impl Drop for StreamShare {
    fn drop(&mut self) {
        let mut m = self.map.lock();
        if let Some(n) = m.get_mut(&self.conn) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.conn);
            }
        }
    }
}

// ------------------------------------------------------------------------------------ KV

fn scan_bounds(req: &pb::ScanRequest) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    if let Some(p) = &req.prefix {
        let upper = prefix_successor(p).map_or(Bound::Unbounded, Bound::Excluded);
        return (Bound::Included(p.clone()), upper);
    }
    let lower = req.start.clone().map_or(Bound::Unbounded, Bound::Included);
    let upper = req.end.clone().map_or(Bound::Unbounded, Bound::Excluded);
    (lower, upper)
}

/// The smallest key greater than every key starting with `prefix` (None if there is none).
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut p = prefix.to_vec();
    while let Some(last) = p.pop() {
        if last < 0xFF {
            p.push(last + 1);
            return Some(p);
        }
    }
    None
}

fn as_ref_bound(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

#[tonic::async_trait]
impl pb::kv_server::Kv for ToonService {
    async fn get(&self, req: Request<pb::GetRequest>) -> Result<Response<pb::GetResponse>, Status> {
        let conn = conn_of(&req);
        let r = req.into_inner();
        let v = match self.slot(conn, r.txn)? {
            Some(s) => {
                self.blocking(move |db| on_target(db, Some(&s), |mut t| t.get(&r.key)))
                    .await?
            }
            None => {
                self.point(move |db| on_target(db, None, |mut t| t.get(&r.key)))
                    .await?
            }
        };
        Ok(Response::new(pb::GetResponse {
            found: v.is_some(),
            value: v.unwrap_or_default(),
        }))
    }

    async fn put(&self, req: Request<pb::PutRequest>) -> Result<Response<pb::PutResponse>, Status> {
        let conn = conn_of(&req);
        let r = req.into_inner();
        match self.slot(conn, r.txn)? {
            Some(s) => {
                self.blocking(move |db| on_target(db, Some(&s), |mut t| t.put(&r.key, &r.value)))
                    .await?
            }
            None => self.point_write(r.key, Some(r.value)).await?,
        }
        Ok(Response::new(pb::PutResponse {}))
    }

    async fn delete(
        &self,
        req: Request<pb::DeleteRequest>,
    ) -> Result<Response<pb::DeleteResponse>, Status> {
        let conn = conn_of(&req);
        let r = req.into_inner();
        match self.slot(conn, r.txn)? {
            Some(s) => {
                self.blocking(move |db| on_target(db, Some(&s), |mut t| t.delete(&r.key)))
                    .await?
            }
            None => self.point_write(r.key, None).await?,
        }
        Ok(Response::new(pb::DeleteResponse {}))
    }

    async fn batch(
        &self,
        req: Request<pb::BatchRequest>,
    ) -> Result<Response<pb::BatchResponse>, Status> {
        let conn = conn_of(&req);
        let r = req.into_inner();
        let slot = self.slot(conn, r.txn)?;
        let mut ops: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::with_capacity(r.ops.len());
        for (i, op) in r.ops.into_iter().enumerate() {
            match op.op {
                Some(pb::batch_op::Op::Put(kv)) => ops.push((kv.key, Some(kv.value))),
                Some(pb::batch_op::Op::Delete(k)) => ops.push((k, None)),
                None => return Err(Status::invalid_argument(format!("batch op {i} is empty"))),
            }
        }
        let n = ops.len() as u64;
        match slot {
            Some(s) => {
                self.blocking(move |_| {
                    s.with(|t| {
                        for (k, v) in &ops {
                            match v {
                                Some(v) => t.put(k, v)?,
                                None => t.delete(k)?,
                            }
                        }
                        Ok(())
                    })
                    .ok_or_else(finished_txn)?
                    .map_err(db_err)
                })
                .await?
            }
            None => {
                self.point(move |db| db.write_batch(ops).map_err(db_err))
                    .await?
            }
        }
        Ok(Response::new(pb::BatchResponse { applied: n }))
    }

    type ScanStream = ReceiverStream<Result<pb::ScanResponse, Status>>;

    async fn scan(
        &self,
        req: Request<pb::ScanRequest>,
    ) -> Result<Response<Self::ScanStream>, Status> {
        let conn = conn_of(&req);
        let r = req.into_inner();
        let slot = self.slot(conn, r.txn)?;
        let (lower, upper) = scan_bounds(&r);
        let dir = if r.reverse {
            Direction::Reverse
        } else {
            Direction::Forward
        };
        let limit = if r.limit == 0 { u64::MAX } else { r.limit };
        let stream = self
            .stream(conn, move |db, send| {
                let it = on_target(db, slot.as_deref(), |mut t| {
                    t.range(as_ref_bound(&lower), as_ref_bound(&upper), dir)
                });
                let it = match it {
                    Ok(it) => it,
                    Err(s) => {
                        send(Err(s));
                        return;
                    }
                };
                let mut chunk = Vec::new();
                let mut bytes = 0usize;
                let mut count = 0u64;
                for item in it {
                    if count >= limit {
                        break;
                    }
                    match item {
                        Ok((key, value)) => {
                            bytes += key.len() + value.len();
                            chunk.push(pb::KeyValue { key, value });
                            count += 1;
                            if chunk.len() >= SCAN_CHUNK_PAIRS || bytes >= CHUNK_BYTES {
                                let pairs = std::mem::take(&mut chunk);
                                bytes = 0;
                                if !send(Ok(pb::ScanResponse { pairs })) {
                                    return;
                                }
                            }
                        }
                        Err(e) => {
                            send(Err(db_err(e)));
                            return;
                        }
                    }
                }
                if !chunk.is_empty() {
                    send(Ok(pb::ScanResponse { pairs: chunk }));
                }
            })
            .await?;
        Ok(Response::new(stream))
    }
}

// ---------------------------------------------------------------------------- transactions

#[tonic::async_trait]
impl pb::transactions_server::Transactions for ToonService {
    async fn begin(
        &self,
        req: Request<pb::BeginRequest>,
    ) -> Result<Response<pb::BeginResponse>, Status> {
        let conn = conn_of(&req);
        let r = req.into_inner();
        let iso = match pb::Isolation::try_from(r.isolation) {
            Ok(pb::Isolation::Unspecified) => None,
            Ok(pb::Isolation::Snapshot) => Some(Isolation::Snapshot),
            Ok(pb::Isolation::Serializable) => Some(Isolation::Serializable),
            Err(_) => {
                return Err(Status::invalid_argument(format!(
                    "unknown isolation {}",
                    r.isolation
                )))
            }
        };
        let txns = self.state.txns.clone();
        let id = self
            .blocking(move |db| {
                let t = match iso {
                    Some(i) => db.begin_with(i),
                    None => db.begin(),
                }
                .map_err(db_err)?;
                txns.insert(conn, t).map_err(txn_status)
            })
            .await?;
        Ok(Response::new(pb::BeginResponse {
            txn: Some(pb::TxnHandle { id }),
            idle_timeout_ms: u64::try_from(self.state.txns.idle_ttl().as_millis())
                .unwrap_or(u64::MAX),
        }))
    }

    async fn commit(
        &self,
        req: Request<pb::CommitRequest>,
    ) -> Result<Response<pb::CommitResponse>, Status> {
        let conn = conn_of(&req);
        let h = req
            .into_inner()
            .txn
            .ok_or_else(|| Status::invalid_argument("missing txn"))?;
        // Taking the transaction waits for a statement still running on it: never on a
        // runtime worker.
        let txns = self.state.txns.clone();
        self.blocking(move |_| {
            let t = txns.remove(conn, h.id).map_err(txn_status)?;
            t.commit().map_err(db_err)
        })
        .await?;
        Ok(Response::new(pb::CommitResponse {}))
    }

    async fn rollback(
        &self,
        req: Request<pb::RollbackRequest>,
    ) -> Result<Response<pb::RollbackResponse>, Status> {
        let conn = conn_of(&req);
        let h = req
            .into_inner()
            .txn
            .ok_or_else(|| Status::invalid_argument("missing txn"))?;
        let txns = self.state.txns.clone();
        self.blocking(move |_| {
            let t = txns.remove(conn, h.id).map_err(txn_status)?;
            t.rollback();
            Ok(())
        })
        .await?;
        Ok(Response::new(pb::RollbackResponse {}))
    }
}

// ------------------------------------------------------------------------------------ SQL

/// Column headers (name + declared or inferred type), rows and rows affected of a SQL call.
type SqlOutput = (Vec<pb::Column>, Vec<Vec<toondb::Value>>, u64);

/// Runs a query (inside the transaction if given).
fn run_sql(
    db: &Database,
    slot: Option<&TxnSlot>,
    sql: &str,
    params: &[toondb::Value],
) -> Result<SqlOutput, Status> {
    let rows = on_target(db, slot, |mut t| t.query(sql, params))?;
    let columns = columns_of_rows(&rows);
    let affected = rows.rows_affected();
    let data = rows.into_iter().map(|r| r.into_values()).collect();
    Ok((columns, data, affected))
}

/// Header types the plan did not know (`UNSPECIFIED`) from the first non-NULL value among the
/// rows sent with the header.
fn refine_header(columns: &mut [pb::Column], rows: &[Vec<toondb::Value>]) {
    for (i, c) in columns.iter_mut().enumerate() {
        if c.r#type != pb::ColumnType::Unspecified as i32 {
            continue;
        }
        let first = rows.iter().filter_map(|r| r.get(i)).find(|v| !v.is_null());
        if let Some(v) = first {
            c.r#type = crate::convert::column_type_of(v) as i32;
        }
    }
}

fn to_pb_rows(rows: Vec<Vec<toondb::Value>>) -> Vec<pb::Row> {
    rows.into_iter()
        .map(|r| pb::Row {
            values: r.iter().map(value_to_pb).collect(),
        })
        .collect()
}

fn row_bytes(r: &[toondb::Value]) -> usize {
    r.iter()
        .map(|v| match v {
            toondb::Value::Text(s) => s.len(),
            toondb::Value::Blob(b) => b.len(),
            _ => 8,
        })
        .sum()
}

#[tonic::async_trait]
impl pb::sql_server::Sql for ToonService {
    async fn execute(
        &self,
        req: Request<pb::SqlRequest>,
    ) -> Result<Response<pb::SqlResult>, Status> {
        let conn = conn_of(&req);
        let r = req.into_inner();
        let slot = self.slot(conn, r.txn)?;
        let params: Vec<toondb::Value> = r.params.into_iter().map(value_from_pb).collect();
        let (names, rows, affected) = self
            .blocking(move |db| run_sql(db, slot.as_deref(), &r.sql, &params))
            .await?;
        Ok(Response::new(pb::SqlResult {
            columns: names,
            rows: to_pb_rows(rows),
            rows_affected: affected,
        }))
    }

    type QueryStream = ReceiverStream<Result<pb::QueryChunk, Status>>;

    async fn query(
        &self,
        req: Request<pb::SqlRequest>,
    ) -> Result<Response<Self::QueryStream>, Status> {
        let conn = conn_of(&req);
        let r = req.into_inner();
        let slot = self.slot(conn, r.txn)?;
        let params: Vec<toondb::Value> = r.params.into_iter().map(value_from_pb).collect();
        let stream = self
            .stream(conn, move |db, send| {
                // Rows go out in chunks as the statement produces them (a client reading slowly
                // holds the statement back; nothing is collected). The first chunk carries the
                // typed column header, sent even for an empty result.
                let columns = std::cell::RefCell::new(Vec::new());
                let mut chunk: Vec<pb::Row> = Vec::new();
                // The first chunk's values: header types the plan does not know come from them.
                let mut first_values: Vec<Vec<toondb::Value>> = Vec::new();
                let mut bytes = 0usize;
                let mut gone = false;
                let mut on_row = |row: toondb::Row| {
                    let values = row.into_values();
                    bytes += row_bytes(&values);
                    chunk.push(pb::Row {
                        values: values.iter().map(value_to_pb).collect(),
                    });
                    if !columns.borrow().is_empty() {
                        first_values.push(values);
                    }
                    if chunk.len() >= QUERY_CHUNK_ROWS || bytes >= CHUNK_BYTES {
                        bytes = 0;
                        let mut header = columns.take();
                        refine_header(&mut header, &std::mem::take(&mut first_values));
                        let msg = pb::QueryChunk {
                            columns: header,
                            rows: std::mem::take(&mut chunk),
                        };
                        if !send(Ok(msg)) {
                            gone = true;
                            return Ok(std::ops::ControlFlow::Break(()));
                        }
                    }
                    Ok(std::ops::ControlFlow::Continue(()))
                };
                let on_header = |h: &toondb::Rows| *columns.borrow_mut() = columns_of_rows(h);
                let r = on_target(db, slot.as_deref(), |mut t| {
                    t.query_each_with_header(&r.sql, &params, on_header, &mut on_row)
                });
                if gone {
                    return;
                }
                if let Err(status) = r {
                    send(Err(status));
                    return;
                }
                let mut columns = columns.take();
                refine_header(&mut columns, &first_values);
                if !chunk.is_empty() || !columns.is_empty() {
                    send(Ok(pb::QueryChunk {
                        columns,
                        rows: chunk,
                    }));
                }
            })
            .await?;
        Ok(Response::new(stream))
    }
}

// ---------------------------------------------------------------------------- collections

fn check_k(k: u32) -> Result<usize, Status> {
    if k == 0 || k > MAX_K {
        return Err(Status::invalid_argument(format!(
            "k must be in 1..={MAX_K}, got {k}"
        )));
    }
    Ok(k as usize)
}

fn filter(s: &str) -> Result<Option<toondb::Filter>, Status> {
    filter_from_json(s).map_err(Status::invalid_argument)
}

fn hybrid_request(
    text: String,
    vector: Vec<f32>,
    k: usize,
    filter_json: &str,
) -> Result<SearchRequest, Status> {
    let mut req = match (text.trim().is_empty(), vector.is_empty()) {
        (false, false) => SearchRequest::hybrid(text, vector, k),
        (false, true) => SearchRequest::text(text, k),
        (true, false) => SearchRequest::vector(vector, k),
        (true, true) => {
            return Err(Status::invalid_argument(
                "a search needs a text, a vector, or both",
            ))
        }
    };
    if let Some(f) = filter(filter_json)? {
        req = req.filter(f);
    }
    Ok(req)
}

#[tonic::async_trait]
impl pb::collections_server::Collections for ToonService {
    async fn create_collection(
        &self,
        req: Request<pb::CreateCollectionRequest>,
    ) -> Result<Response<pb::CreateCollectionResponse>, Status> {
        let r = req.into_inner();
        let metric = metric_from_pb(r.metric).map_err(Status::invalid_argument)?;
        let created = self
            .blocking(move |db| {
                match db.create_collection(
                    &r.name,
                    r.dimension as usize,
                    metric,
                    Default::default(),
                ) {
                    Ok(_) => Ok(true),
                    Err(e) if r.if_not_exists && e.kind() == toondb::ErrorKind::AlreadyExists => {
                        Ok(false)
                    }
                    Err(e) => Err(db_err(e)),
                }
            })
            .await?;
        Ok(Response::new(pb::CreateCollectionResponse { created }))
    }

    async fn list_collections(
        &self,
        _req: Request<pb::ListCollectionsRequest>,
    ) -> Result<Response<pb::ListCollectionsResponse>, Status> {
        let names = self
            .blocking(|db| db.list_collections().map_err(db_err))
            .await?;
        Ok(Response::new(pb::ListCollectionsResponse { names }))
    }

    async fn drop_collection(
        &self,
        req: Request<pb::DropCollectionRequest>,
    ) -> Result<Response<pb::DropCollectionResponse>, Status> {
        let r = req.into_inner();
        let existed = self
            .blocking(move |db| db.drop_collection(&r.name).map_err(db_err))
            .await?;
        Ok(Response::new(pb::DropCollectionResponse { existed }))
    }

    async fn upsert(
        &self,
        req: Request<pb::UpsertRequest>,
    ) -> Result<Response<pb::UpsertResponse>, Status> {
        let r = req.into_inner();
        let docs = r
            .documents
            .into_iter()
            .map(document_from_pb)
            .collect::<Result<Vec<_>, _>>()
            .map_err(Status::invalid_argument)?;
        let n = docs.len() as u64;
        self.blocking(move |db| {
            let c = db.collection(&r.collection).map_err(db_err)?;
            c.upsert_many(docs).map_err(db_err)
        })
        .await?;
        Ok(Response::new(pb::UpsertResponse { upserted: n }))
    }

    async fn get_document(
        &self,
        req: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<pb::Document>, Status> {
        let r = req.into_inner();
        let doc = self
            .blocking(move |db| {
                let c = db.collection(&r.collection).map_err(db_err)?;
                c.get(&r.id).map_err(db_err)?.ok_or_else(|| {
                    Status::not_found(format!("document {:?} not in {:?}", r.id, r.collection))
                })
            })
            .await?;
        Ok(Response::new(document_to_pb(&doc)))
    }

    async fn delete_document(
        &self,
        req: Request<pb::DeleteDocumentRequest>,
    ) -> Result<Response<pb::DeleteDocumentResponse>, Status> {
        let r = req.into_inner();
        let existed = self
            .blocking(move |db| {
                let c = db.collection(&r.collection).map_err(db_err)?;
                c.delete(&r.id).map_err(db_err)
            })
            .await?;
        Ok(Response::new(pb::DeleteDocumentResponse { existed }))
    }

    async fn search(
        &self,
        req: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        let r = req.into_inner();
        let k = check_k(r.k)?;
        if r.vector.is_empty() {
            return Err(Status::invalid_argument("search needs a vector"));
        }
        let mut sr = SearchRequest::vector(r.vector, k);
        if let Some(f) = filter(&r.filter_json)? {
            sr = sr.filter(f);
        }
        if r.ef_search > 0 {
            sr = sr.ef_search(r.ef_search as usize);
        }
        let hits = self
            .blocking(move |db| {
                let c = db.collection(&r.collection).map_err(db_err)?;
                c.search_with(&sr).map_err(db_err)
            })
            .await?;
        Ok(Response::new(pb::SearchResponse {
            hits: hits.iter().map(hit_to_pb).collect(),
        }))
    }

    async fn hybrid_search(
        &self,
        req: Request<pb::HybridSearchRequest>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        let r = req.into_inner();
        let k = check_k(r.k)?;
        let mut sr = hybrid_request(r.text, r.vector, k, &r.filter_json)?;
        if r.vector_weight.is_some() || r.keyword_weight.is_some() {
            sr = sr.weights(
                r.vector_weight.unwrap_or(1.0),
                r.keyword_weight.unwrap_or(1.0),
            );
        }
        if let Some(rk) = r.rrf_k {
            sr = sr.rrf_k(rk);
        }
        let hits = self
            .blocking(move |db| {
                let c = db.collection(&r.collection).map_err(db_err)?;
                c.search_with(&sr).map_err(db_err)
            })
            .await?;
        Ok(Response::new(pb::SearchResponse {
            hits: hits.iter().map(hit_to_pb).collect(),
        }))
    }
}

// ------------------------------------------------------------------------------- context

fn section_from_pb(s: pb::ContextSection) -> Result<Section, Status> {
    use pb::context_section::Source;
    let mut sec = match s.source {
        Some(Source::System(t)) => Section::system(t),
        Some(Source::Text(t)) => {
            let name = if s.name.is_empty() { "text" } else { &s.name };
            Section::text(name, t)
        }
        Some(Source::History(h)) => Section::history(
            h.messages
                .into_iter()
                .map(|m| toondb::Message::new(m.role, m.content)),
        ),
        Some(Source::Search(q)) => {
            let req = hybrid_request(q.text, q.vector, check_k(q.k)?, &q.filter_json)?;
            Section::search(&q.collection, req)
        }
        Some(Source::Sql(q)) => {
            if q.txn.is_some() {
                return Err(Status::invalid_argument(
                    "context SQL sections cannot run inside a transaction",
                ));
            }
            let params: Vec<toondb::Value> = q.params.into_iter().map(value_from_pb).collect();
            Section::sql(q.sql, &params)
        }
        Some(Source::KvPrefix(p)) => Section::kv_prefix(p),
        None => return Err(Status::invalid_argument("context section without a source")),
    };
    if !s.name.is_empty() {
        sec = sec.named(s.name);
    }
    if let Some(p) = s.priority {
        sec = sec.priority(p);
    }
    if s.max_tokens > 0 {
        sec = sec.max_tokens(usize::try_from(s.max_tokens).unwrap_or(usize::MAX));
    }
    Ok(sec)
}

#[tonic::async_trait]
impl pb::context_queries_server::ContextQueries for ToonService {
    async fn query(
        &self,
        req: Request<pb::ContextQueryRequest>,
    ) -> Result<Response<pb::ContextQueryResponse>, Status> {
        use pb::context_query_request::Query;
        let r = req.into_inner();
        let result = match r.query {
            Some(Query::Statement(text)) => {
                self.blocking(move |db| db.execute_context(&text).map_err(db_err))
                    .await?
            }
            Some(Query::Spec(spec)) => {
                let sections = spec
                    .sections
                    .into_iter()
                    .map(section_from_pb)
                    .collect::<Result<Vec<_>, _>>()?;
                let budget = usize::try_from(spec.budget).unwrap_or(usize::MAX);
                self.blocking(move |db| {
                    let mut b = db.context();
                    if budget > 0 {
                        b = b.budget(budget);
                    }
                    for s in sections {
                        b = b.section(s);
                    }
                    b.build().map_err(db_err)
                })
                .await?
            }
            None => return Err(Status::invalid_argument("missing statement or spec")),
        };
        Ok(Response::new(pb::ContextQueryResponse {
            toon: result.text,
            token_count: result.total_tokens as u64,
            budget: result.budget as u64,
            sections: result
                .sections
                .into_iter()
                .map(|s| pb::ContextSectionReport {
                    name: s.name,
                    priority: s.priority,
                    tokens: s.tokens as u64,
                    items_included: s.items_included as u64,
                    items_dropped: s.items_dropped as u64,
                    duplicates: s.duplicates as u64,
                    truncated: s.truncated,
                })
                .collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_bounds() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"\xff\xff"), None);
        let r = pb::ScanRequest {
            prefix: Some(b"\xff".to_vec()),
            ..Default::default()
        };
        assert_eq!(
            scan_bounds(&r),
            (Bound::Included(b"\xff".to_vec()), Bound::Unbounded)
        );
    }
}
