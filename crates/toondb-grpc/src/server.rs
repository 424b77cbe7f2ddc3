//! Running the gRPC server: listeners, limits, authentication, health, transaction reaping
//! and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UnixListener};
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};
use tokio_stream::StreamExt;
use tonic::service::interceptor::InterceptedService;
use toondb::Database;

use crate::auth::BearerAuth;
use crate::conn::{Conn, OnClose};
use crate::error::{Error, Result};
use crate::pb;
use crate::service::ToonService;
use crate::tls::TlsConfig;
use crate::txn::TxnRegistry;

/// Server limits and options. `ServerConfig::default()` is a sensible starting point.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Bearer token required on every call of the `toondb.v1` services (the health service
    /// stays open so probes work). `None` = no authentication.
    pub token: Option<String>,
    /// Largest request or response message, in bytes. Default 16 MiB.
    pub max_message_bytes: usize,
    /// Database calls admitted at once (running, or queued for the point-operation threads),
    /// across all connections; further calls wait. Default 256.
    pub max_in_flight: usize,
    /// Threads of the pool that runs point operations (`Get`, `Put`, `Delete`, `Batch` outside
    /// transactions); other calls use tokio's blocking pool. Default: one per available core,
    /// at least 2 and at most 64 (more threads than cores measured slower: more wake-ups).
    pub db_threads: usize,
    /// Concurrent HTTP/2 streams (calls) per connection. Default 1024.
    pub max_streams_per_connection: u32,
    /// Deadline for producing a response when the client sets none (a client's
    /// `grpc-timeout` shorter than this wins). Default 30 s.
    pub request_timeout: Duration,
    /// A transaction unused for this long is rolled back. Default 60 s.
    pub txn_idle_timeout: Duration,
    /// Open transactions, at most. Default 10 000.
    pub max_open_txns: usize,
    /// Open transactions one connection may hold, at most. Default 256.
    pub max_txns_per_connection: usize,
    /// A transaction older than this is rolled back, used or not. Default 10 min.
    pub txn_max_lifetime: Duration,
    /// A streaming call whose client reads nothing for this long is ended. Default 30 s.
    pub stream_stall_timeout: Duration,
    /// Longest a streaming call may last in total, however fast the client reads. Default
    /// 10 min.
    pub stream_max_duration: Duration,
    /// Streaming database calls one connection may run at once (its share of
    /// `max_in_flight`); more fail with RESOURCE_EXHAUSTED. Default 16.
    pub max_db_streams_per_connection: usize,
    /// HTTP/2 keep-alive ping interval (detects dead peers so their transactions are rolled
    /// back). Default 30 s.
    pub keepalive_interval: Duration,
    /// After the shutdown signal, how long in-flight calls may take to finish before the
    /// remaining connections are dropped and the database is closed anyway. Default 10 s.
    pub shutdown_grace: Duration,
    /// How often the engine is checked for poisoning (health turns NOT_SERVING). Default 1 s.
    pub health_check_interval: Duration,
    /// TLS for the TCP listeners (Unix sockets stay plain). `None` = plain HTTP/2.
    pub tls: Option<TlsConfig>,
    /// A TLS client that has not finished its handshake after this long is disconnected.
    /// Default 10 s.
    pub tls_handshake_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            token: None,
            max_message_bytes: 16 << 20,
            max_in_flight: 256,
            db_threads: std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .clamp(2, 64),
            max_streams_per_connection: 1024,
            request_timeout: Duration::from_secs(30),
            txn_idle_timeout: Duration::from_secs(60),
            max_open_txns: 10_000,
            max_txns_per_connection: 256,
            txn_max_lifetime: Duration::from_secs(600),
            stream_stall_timeout: Duration::from_secs(30),
            stream_max_duration: Duration::from_secs(600),
            max_db_streams_per_connection: 16,
            keepalive_interval: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            health_check_interval: Duration::from_secs(1),
            tls: None,
            tls_handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl ServerConfig {
    /// Sets the bearer token.
    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.token = token;
        self
    }
    /// Sets the transaction idle timeout.
    pub fn with_txn_idle_timeout(mut self, d: Duration) -> Self {
        self.txn_idle_timeout = d;
        self
    }
    /// Sets the request timeout.
    pub fn with_request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = d;
        self
    }
    /// Sets the message size limit.
    pub fn with_max_message_bytes(mut self, n: usize) -> Self {
        self.max_message_bytes = n;
        self
    }
    /// Sets the shutdown grace period.
    pub fn with_shutdown_grace(mut self, d: Duration) -> Self {
        self.shutdown_grace = d;
        self
    }
    /// Sets the number of point-operation threads (at least 1).
    pub fn with_db_threads(mut self, n: usize) -> Self {
        self.db_threads = n.max(1);
        self
    }
    /// Sets (or removes) TLS for the TCP listeners.
    pub fn with_tls(mut self, tls: Option<TlsConfig>) -> Self {
        self.tls = tls;
        self
    }
    /// Sets the in-flight database call limit.
    pub fn with_max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n;
        self
    }
}

/// Where the server listens.
#[derive(Debug)]
pub enum Listener {
    /// A bound TCP listener.
    Tcp(TcpListener),
    /// A bound Unix-socket listener and its path (removed at shutdown).
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// Binds a TCP address (port 0 picks a free port).
    pub async fn tcp(addr: SocketAddr) -> Result<Listener> {
        let l = TcpListener::bind(addr)
            .await
            .map_err(|e| Error::io(format!("bind {addr}"), e))?;
        Ok(Listener::Tcp(l))
    }

    /// Binds a Unix socket at `path` with mode 0600 (owner only); see [`Listener::unix_with_mode`].
    pub async fn unix(path: impl Into<PathBuf>) -> Result<Listener> {
        Listener::unix_with_mode(path, 0o600).await
    }

    /// Binds a Unix socket at `path` and gives it permission bits `mode` (e.g. `0o660`).
    /// Something at `path` that is not a socket is refused (never deleted); a socket that
    /// accepts connections is refused (a server is running); a stale socket is replaced.
    pub async fn unix_with_mode(path: impl Into<PathBuf>, mode: u32) -> Result<Listener> {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let path = path.into();
        if mode & !0o777 != 0 {
            return Err(Error::Config(format!(
                "socket mode {mode:o} has bits other than permission bits"
            )));
        }
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if !meta.file_type().is_socket() => {
                return Err(Error::Config(format!(
                    "{} exists and is not a socket; refusing to replace it",
                    path.display()
                )));
            }
            Ok(_) => {
                if tokio::net::UnixStream::connect(&path).await.is_ok() {
                    return Err(Error::Config(format!(
                        "{} is in use by a running server",
                        path.display()
                    )));
                }
                std::fs::remove_file(&path)
                    .map_err(|e| Error::io(format!("remove stale socket {}", path.display()), e))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(format!("inspect {}", path.display()), e)),
        }
        let l = UnixListener::bind(&path)
            .map_err(|e| Error::io(format!("bind {}", path.display()), e))?;
        // Before the first accept: nobody is served through looser permissions.
        if let Err(e) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)) {
            let _ = std::fs::remove_file(&path);
            return Err(Error::io(format!("chmod {}", path.display()), e));
        }
        Ok(Listener::Unix(l, path))
    }

    /// A printable address: `127.0.0.1:50051` or `unix:/path`.
    pub fn display_addr(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map_or_else(|_| "tcp:?".to_string(), |a| a.to_string()),
            Listener::Unix(_, p) => format!("unix:{}", p.display()),
        }
    }

    /// The bound TCP address.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Listener::Tcp(l) => l.local_addr().ok(),
            Listener::Unix(..) => None,
        }
    }
}

/// Refuses a non-loopback TCP bind without a token unless `insecure_no_auth`.
pub fn check_bind_policy(
    addr: &SocketAddr,
    token: Option<&str>,
    insecure_no_auth: bool,
) -> Result<()> {
    if token.is_none() && !addr.ip().is_loopback() && !insecure_no_auth {
        return Err(Error::Config(format!(
            "refusing to listen on non-loopback address {addr} without --token \
             (pass --insecure-no-auth to allow unauthenticated remote access)"
        )));
    }
    Ok(())
}

/// Refuses a non-loopback TCP bind without TLS unless `insecure`: a token or any data would
/// travel in clear. Loopback addresses (and Unix sockets, which have no address) are allowed.
pub fn check_transport_policy(addr: &SocketAddr, tls: bool, insecure: bool) -> Result<()> {
    if !tls && !addr.ip().is_loopback() && !insecure {
        return Err(Error::Config(format!(
            "refusing to listen on non-loopback address {addr} without TLS \
             (give --tls-cert and --tls-key, or pass --insecure to send traffic in clear)"
        )));
    }
    Ok(())
}

/// Accepts TCP connections and runs each TLS handshake in its own task (with a deadline), so
/// slow handshakes never hold up the accept loop. Ends when the receiving side is dropped
/// (the server stopped accepting), which closes the listening socket.
fn tls_incoming(
    l: TcpListener,
    tls: TlsConfig,
    handshake_timeout: Duration,
    on_close: OnClose,
) -> impl tokio_stream::Stream<Item = std::io::Result<Conn>> + Send {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Conn>>(64);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = tx.closed() => return,
                r = l.accept() => r,
            };
            let (stream, peer) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and the like: back off instead of spinning.
                    eprintln!("toondb-server: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let acceptor = tls.acceptor().clone();
            let tx = tx.clone();
            let oc = on_close.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(s)) => {
                        let _ = tx.send(Ok(Conn::tls(s, Some(oc)))).await;
                    }
                    Ok(Err(e)) => eprintln!("toondb-server: TLS handshake with {peer} failed: {e}"),
                    Err(_) => eprintln!("toondb-server: TLS handshake with {peer} timed out"),
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// Sets the health status of the whole server (`""`) and of every `toondb.v1` service.
async fn set_health(
    health: &tonic_health::server::HealthReporter,
    status: tonic_health::ServingStatus,
) {
    use tonic::server::NamedService;
    for name in [
        "",
        <pb::kv_server::KvServer<ToonService> as NamedService>::NAME,
        <pb::transactions_server::TransactionsServer<ToonService> as NamedService>::NAME,
        <pb::sql_server::SqlServer<ToonService> as NamedService>::NAME,
        <pb::collections_server::CollectionsServer<ToonService> as NamedService>::NAME,
        <pb::context_queries_server::ContextQueriesServer<ToonService> as NamedService>::NAME,
        <pb::graph_server::GraphServer<ToonService> as NamedService>::NAME,
    ] {
        health.set_service_status(name, status).await;
    }
}

/// Serves `db` on `listeners` until `shutdown` resolves, then drains in-flight calls, rolls
/// back open transactions and closes the database.
pub async fn serve<F>(
    db: Database,
    listeners: Vec<Listener>,
    cfg: ServerConfig,
    shutdown: F,
) -> Result<()>
where
    F: Future<Output = ()> + Send,
{
    let txns = Arc::new(
        TxnRegistry::new(cfg.txn_idle_timeout, cfg.max_open_txns)
            .with_limits(cfg.max_txns_per_connection, cfg.txn_max_lifetime),
    );
    serve_with_txns(db, listeners, cfg, txns, shutdown).await
}

/// [`serve`] with a caller-provided transaction registry (its TTL and limit are used instead
/// of the config's), so embedders and tests can observe open transactions.
pub async fn serve_with_txns<F>(
    db: Database,
    listeners: Vec<Listener>,
    cfg: ServerConfig,
    txns: Arc<TxnRegistry>,
    shutdown: F,
) -> Result<()>
where
    F: Future<Output = ()> + Send,
{
    let svc = ToonService::new(
        db.clone(),
        txns.clone(),
        cfg.max_in_flight,
        cfg.db_threads,
        cfg.stream_stall_timeout,
    )
    .map_err(|e| Error::io("starting database threads", e))?
    .with_stream_max_duration(cfg.stream_max_duration)
    .with_max_streams_per_connection(cfg.max_db_streams_per_connection);
    let auth = BearerAuth::new(cfg.token.as_deref());
    let n = cfg.max_message_bytes;

    let (health, health_svc) = tonic_health::server::health_reporter();
    set_health(&health, tonic_health::ServingStatus::Serving).await;
    // A poisoned engine (a failed WAL write, ENOSPC in compaction...) refuses writes until it
    // is reopened: health says so, so that load balancers and orchestrators react.
    let poison_watch = {
        let health = health.clone();
        let db = db.clone();
        let every = cfg.health_check_interval;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let db = db.clone();
                let poisoned = tokio::task::spawn_blocking(move || db.engine().stats().poisoned)
                    .await
                    .ok()
                    .flatten();
                if let Some(why) = poisoned {
                    eprintln!("toondb-server: database poisoned ({why}); health is NOT_SERVING");
                    set_health(&health, tonic_health::ServingStatus::NotServing).await;
                    return;
                }
            }
        })
    };

    // Reaper for idle transactions.
    let reaper = {
        let txns = txns.clone();
        let every = (txns.idle_ttl().min(txns.max_lifetime()) / 4)
            .clamp(Duration::from_millis(20), Duration::from_secs(5));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let txns = txns.clone();
                // Rolling back may touch the engine: keep it off the async workers.
                let _ = tokio::task::spawn_blocking(move || txns.reap_idle()).await;
            }
        })
    };

    let on_close: OnClose = {
        let txns = txns.clone();
        Arc::new(move |conn| {
            txns.close_connection(conn);
        })
    };

    let mut unix_paths = Vec::new();
    let mut incoming: Option<
        std::pin::Pin<Box<dyn tokio_stream::Stream<Item = std::io::Result<Conn>> + Send>>,
    > = None;
    for l in listeners {
        let oc = on_close.clone();
        let s: std::pin::Pin<Box<dyn tokio_stream::Stream<Item = std::io::Result<Conn>> + Send>> =
            match l {
                Listener::Tcp(l) => match &cfg.tls {
                    Some(tls) => {
                        Box::pin(tls_incoming(l, tls.clone(), cfg.tls_handshake_timeout, oc))
                    }
                    None => Box::pin(
                        TcpListenerStream::new(l)
                            .map(move |r| r.map(|s| Conn::tcp(s, Some(oc.clone())))),
                    ),
                },
                Listener::Unix(l, p) => {
                    unix_paths.push(p);
                    Box::pin(
                        UnixListenerStream::new(l)
                            .map(move |r| r.map(|s| Conn::unix(s, Some(oc.clone())))),
                    )
                }
            };
        incoming = Some(match incoming {
            None => s,
            Some(prev) => Box::pin(prev.merge(s)),
        });
    }
    let incoming = incoming.ok_or_else(|| Error::Config("no listener".into()))?;

    macro_rules! limited {
        ($server:ty) => {
            InterceptedService::new(
                <$server>::new(svc.clone())
                    .max_decoding_message_size(n)
                    .max_encoding_message_size(n),
                auth.clone(),
            )
        };
    }

    let signalled = Arc::new(tokio::sync::Notify::new());
    let shutdown = {
        let signalled = signalled.clone();
        let health = health.clone();
        async move {
            shutdown.await;
            set_health(&health, tonic_health::ServingStatus::NotServing).await;
            signalled.notify_one();
        }
    };
    let server = tonic::transport::Server::builder()
        .timeout(cfg.request_timeout)
        .max_concurrent_streams(cfg.max_streams_per_connection)
        .http2_keepalive_interval(Some(cfg.keepalive_interval))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)))
        .add_service(health_svc)
        .add_service(limited!(pb::kv_server::KvServer<ToonService>))
        .add_service(limited!(
            pb::transactions_server::TransactionsServer<ToonService>
        ))
        .add_service(limited!(pb::sql_server::SqlServer<ToonService>))
        .add_service(limited!(
            pb::collections_server::CollectionsServer<ToonService>
        ))
        .add_service(limited!(
            pb::context_queries_server::ContextQueriesServer<ToonService>
        ))
        .add_service(limited!(pb::graph_server::GraphServer<ToonService>))
        .serve_with_incoming_shutdown(incoming, shutdown);
    let grace = cfg.shutdown_grace;
    let result = tokio::select! {
        r = server => r.map_err(Error::from),
        () = async {
            signalled.notified().await;
            tokio::time::sleep(grace).await;
        } => {
            // Peers that neither finish nor hang up must not hold the database open forever.
            eprintln!("toondb-server: connections still busy {grace:?} after the shutdown signal; closing anyway");
            Ok(())
        }
    };

    // Every connection is drained: stop admitting calls, let the point-operation pool finish
    // what it holds, roll back what is left, close.
    reaper.abort();
    poison_watch.abort();
    svc.close_gate();
    let txns2 = txns.clone();
    let closed = tokio::task::spawn_blocking(move || {
        if !svc.stop_pool(grace) {
            eprintln!("toondb-server: database threads still busy {grace:?} after draining; closing anyway");
        }
        txns2.clear();
        db.close()
    })
    .await
    .map_err(|e| Error::Config(format!("close task failed: {e}")))?;
    for p in unix_paths {
        let _ = std::fs::remove_file(p);
    }
    result?;
    closed?;
    Ok(())
}
