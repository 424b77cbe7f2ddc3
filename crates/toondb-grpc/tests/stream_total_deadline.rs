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
