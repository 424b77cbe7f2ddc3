//! A streaming call has a total deadline: a client that reads slowly (but within the per-chunk
//! stall timeout) cannot hold its permit and its snapshot forever.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::TestServer;
use toondb_grpc::server::ServerConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_reader_gets_deadline_exceeded_after_the_stream_maximum() {
    let mut cfg = ServerConfig::default();
    cfg.stream_max_duration = Duration::from_millis(200);
    let srv = TestServer::start(cfg).await;
    let c = srv.client().await;
    let mut batch = Vec::new();
    for i in 0..1000u32 {
        batch.push((format!("k{i:05}").into_bytes(), vec![b'v'; 8192]));
    }
    for (k, v) in batch {
        c.put(k, v).await.unwrap();
    }
    let mut s = c
        .scan_stream(toondb_grpc::pb::ScanRequest::default())
        .await
        .unwrap();
    let mut got = 0;
    let end = loop {
        match s.message().await {
            Ok(Some(m)) => {
                got += m.pairs.len();
                // Slower than the stream maximum allows in total, far below the stall timeout.
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    let e = end.expect("stream finished although it outlived its maximum duration");
    assert_eq!(e.code(), tonic::Code::DeadlineExceeded, "{e:?}");
    assert!(got < 1000);
    srv.stop().await.0.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_gets_only_its_share_of_stream_permits() {
    let mut cfg = ServerConfig::default();
    cfg.max_db_streams_per_connection = 1;
    let srv = TestServer::start(cfg).await;
    let a = srv.client().await;
    for i in 0..400u32 {
        a.put(format!("k{i:05}"), vec![b'v'; 65536]).await.unwrap();
    }
    // An unread stream of 26 MB (more than the HTTP/2 windows hold) keeps its producer (and its share) busy.
    let _held = a
        .scan_stream(toondb_grpc::pb::ScanRequest::default())
        .await
        .unwrap();
    let e = a
        .scan_stream(toondb_grpc::pb::ScanRequest::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("too many streaming calls"), "{e}");
    // Another connection still gets its own.
    let b = srv.client().await;
    let mut s = b
        .scan_stream(toondb_grpc::pb::ScanRequest::default())
        .await
        .unwrap();
    assert!(s.message().await.unwrap().is_some());
    drop(_held);
    drop(s);
    srv.stop().await.0.unwrap();
}
