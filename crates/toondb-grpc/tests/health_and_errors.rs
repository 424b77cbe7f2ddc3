//! Health follows the engine (NOT_SERVING once it is poisoned, and from the shutdown signal
//! on), and errors sent to clients carry a kind but no server file paths.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tokio::sync::oneshot;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use toondb_grpc::server::{serve, Listener, ServerConfig};

async fn status(uri: &str, service: &str) -> i32 {
    let ch = tonic::transport::Endpoint::from_shared(uri.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap();
    HealthClient::new(ch)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_turns_not_serving_when_the_engine_is_poisoned_and_errors_hide_paths() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    let db = toondb::Database::open(&data).unwrap();
    let l = Listener::tcp("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let uri = format!("http://{}", l.local_addr().unwrap());
    let mut cfg = ServerConfig::default();
    cfg.health_check_interval = Duration::from_millis(20);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(db.clone(), vec![l], cfg, async move {
        let _ = rx.await;
    }));
    assert_eq!(status(&uri, "").await, ServingStatus::Serving as i32);

    // Pull the directory out from under the engine: the WAL rotation of the next flush cannot
    // create its file, which poisons the engine.
    std::fs::rename(&data, dir.path().join("moved")).unwrap();
    std::fs::write(&data, b"not a directory").unwrap();
    db.put(b"k", b"v").unwrap();
    let _ = db.engine().flush();
    assert!(
        db.engine().stats().poisoned.is_some(),
        "engine not poisoned"
    );

    let mut seen = false;
    for _ in 0..500 {
        if status(&uri, "").await == ServingStatus::NotServing as i32
            && status(&uri, "toondb.v1.Sql").await == ServingStatus::NotServing as i32
        {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen, "health stayed SERVING on a poisoned engine");

    // A write fails; the client learns the kind, not the server's paths.
    let client = toondb_grpc::Client::connect(&uri).await.unwrap();
    let err = client.put(b"k2".to_vec(), b"v".to_vec()).await.unwrap_err();
    let text = err.to_string();
    let dir_text = dir.path().display().to_string();
    assert!(
        !text.contains(&dir_text),
        "path leaked to the client: {text}"
    );
    assert!(!text.contains("panicked"), "{text}");
    let _ = tx.send(());
    let _ = task.await.unwrap();
}
