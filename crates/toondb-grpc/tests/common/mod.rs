//! Shared helpers: an in-process server on an ephemeral port or a Unix socket.
#![allow(dead_code, missing_docs, clippy::unwrap_used)] // test-only helpers

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use toondb_grpc::server::{serve_with_txns, Listener, ServerConfig};
use toondb_grpc::txn::TxnRegistry;
use toondb_grpc::{Client, ClientOptions};

pub struct TestServer {
    pub uri: String,
    pub socket: Option<std::path::PathBuf>,
    pub txns: Arc<TxnRegistry>,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<toondb_grpc::Result<()>>>,
}

impl TestServer {
    pub async fn start(cfg: ServerConfig) -> TestServer {
        TestServer::start_with(cfg, false, Duration::from_secs(60)).await
    }

    pub async fn start_with(cfg: ServerConfig, unix: bool, txn_ttl: Duration) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let db = toondb::Database::open(dir.path().join("db")).unwrap();
        let (listener, uri, socket) = if unix {
            let p = dir.path().join("toondb.sock");
            let l = Listener::unix(p.clone()).await.unwrap();
            (l, String::new(), Some(p))
        } else {
            let l = Listener::tcp("127.0.0.1:0".parse().unwrap()).await.unwrap();
            let uri = format!("http://{}", l.local_addr().unwrap());
            (l, uri, None)
        };
        let txns = Arc::new(TxnRegistry::new(txn_ttl, 1000));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_with_txns(
            db,
            vec![listener],
            cfg,
            txns.clone(),
            async move {
                let _ = rx.await;
            },
        ));
        TestServer {
            uri,
            socket,
            txns,
            dir,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub async fn client(&self) -> Client {
        self.client_with(ClientOptions::default()).await
    }

    pub async fn client_with(&self, opts: ClientOptions) -> Client {
        match &self.socket {
            Some(p) => Client::connect_unix(p.clone(), opts).await.unwrap(),
            None => Client::connect_with(&self.uri, opts).await.unwrap(),
        }
    }

    /// Signals shutdown and waits for `serve` to return.
    pub async fn stop(mut self) -> (toondb_grpc::Result<()>, tempfile::TempDir) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let r = self.task.take().unwrap().await.unwrap();
        (r, self.dir)
    }
}

/// Polls `f` until it returns true or `limit` passes.
pub async fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}
