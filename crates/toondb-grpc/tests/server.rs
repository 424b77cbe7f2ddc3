//! End-to-end tests of every service over loopback TCP and a Unix socket.

mod common;

use std::ops::Bound;
use std::time::Duration;

use common::{eventually, TestServer};
use serde_json::json;
use tonic::Code;
use toondb::{Direction, Document, ErrorKind, Filter, Metric, SearchRequest, Value};
use toondb_grpc::pb;
use toondb_grpc::server::ServerConfig;
use toondb_grpc::ClientOptions;

fn code(e: &toondb_grpc::Error) -> Code {
    e.code().unwrap_or_else(|| panic!("not a status: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_batch_and_streaming_scans() {
    let srv = TestServer::start(ServerConfig::default()).await;
    let c = srv.client().await;
    assert_eq!(c.get("missing").await.unwrap(), None);
    c.put("a", "1").await.unwrap();
    assert_eq!(c.get("a").await.unwrap().as_deref(), Some(&b"1"[..]));
    c.delete("a").await.unwrap();
    assert_eq!(c.get("a").await.unwrap(), None);

    // 700 keys: more than two scan chunks.
    let ops: Vec<(String, Option<String>)> = (0..700)
        .map(|i| (format!("k/{i:04}"), Some(format!("v{i}"))))
        .collect();
    c.write_batch(ops).await.unwrap();
    c.write_batch([("k/0003", None::<&str>), ("other", Some("x"))])
        .await
        .unwrap();
    let all = c.scan_prefix("k/").await.unwrap();
    assert_eq!(all.len(), 699);
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(all[3], (b"k/0004".to_vec(), b"v4".to_vec()));

    let rev = c
        .range(
            Bound::Excluded(&b"k/0010"[..]),
            Bound::Included(&b"k/0013"[..]),
            Direction::Reverse,
        )
        .await
        .unwrap();
    let keys: Vec<_> = rev
        .iter()
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
        .collect();
    assert_eq!(keys, ["k/0013", "k/0012", "k/0011"]);

    // Raw streaming with a limit: chunks arrive as separate messages.
    let mut s = c
        .scan_stream(pb::ScanRequest {
            prefix: Some(b"k/".to_vec()),
            limit: 600,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut chunks = 0;
    let mut n = 0;
    while let Some(m) = s.message().await.unwrap() {
        chunks += 1;
        n += m.pairs.len();
    }
    assert_eq!(n, 600);
    assert!(chunks >= 3, "{chunks} chunks");
    srv.stop().await.0.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_is_checked_on_every_service_but_health() {
    let cfg = ServerConfig::default().with_token(Some("s3cret".into()));
    let srv = TestServer::start(cfg).await;
    let anon = srv.client().await;
    let wrong = srv
        .client_with(ClientOptions::default().with_token("nope"))
        .await;
    for c in [&anon, &wrong] {
        assert_eq!(code(&c.get("k").await.unwrap_err()), Code::Unauthenticated);
        assert_eq!(
            code(&c.execute("SELECT 1", &[]).await.unwrap_err()),
            Code::Unauthenticated
        );
        assert_eq!(
            code(&c.list_collections().await.unwrap_err()),
            Code::Unauthenticated
        );
        assert_eq!(code(&c.begin().await.unwrap_err()), Code::Unauthenticated);
        assert_eq!(
            code(&c.execute_context("CONTEXT SYSTEM 'x'").await.unwrap_err()),
            Code::Unauthenticated
        );
        assert_eq!(
            code(&c.scan_prefix("").await.unwrap_err()),
            Code::Unauthenticated
        );
    }
    let ok = srv
        .client_with(ClientOptions::default().with_token("s3cret"))
        .await;
    ok.put("k", "v").await.unwrap();
    assert_eq!(ok.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));

    // Health answers without a token.
    let ch = tonic::transport::Endpoint::from_shared(srv.uri.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(ch);
    for svc in ["", "toondb.v1.Kv", "toondb.v1.Sql"] {
        let r = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: svc.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            r.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{svc}"
        );
    }
    srv.stop().await.0.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_commit_rollback_and_conflicts() {
    let srv = TestServer::start(ServerConfig::default()).await;
    let c = srv.client().await;
    c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", &[])
        .await
        .unwrap();

    let tx = c.begin().await.unwrap();
    tx.put("x", "1").await.unwrap();
    tx.execute("INSERT INTO t(v) VALUES (?)", &["in-tx".into()])
        .await
        .unwrap();
    assert_eq!(tx.get("x").await.unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(c.get("x").await.unwrap(), None, "not visible before commit");
    assert_eq!(tx.scan_prefix("x").await.unwrap().len(), 1);
    assert_eq!(
        tx.query("SELECT v FROM t", &[]).await.unwrap().rows.len(),
        1
    );
    assert_eq!(srv.txns.len(), 1);
    tx.commit().await.unwrap();
    assert_eq!(c.get("x").await.unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(
        c.query("SELECT v FROM t", &[]).await.unwrap().rows,
        vec![vec![Value::Text("in-tx".into())]]
    );

    let tx = c.begin().await.unwrap();
    tx.put("y", "1").await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(c.get("y").await.unwrap(), None);
    assert!(srv.txns.is_empty());

    // Write-write conflict: the second committer gets ABORTED.
    let t1 = c.begin().await.unwrap();
    let t2 = c.begin().await.unwrap();
    t1.put("hot", "1").await.unwrap();
    let r2 = t2.put("hot", "2").await;
    let r = match r2 {
        Err(e) => Err(e),
        Ok(()) => {
            t1.commit().await.unwrap();
            t2.commit().await
        }
    };
    let e = r.unwrap_err();
    assert_eq!(code(&e), Code::Aborted, "{e}");
    assert!(e.is_conflict());

    // A handle that does not exist.
    let mut stub = c.transactions_stub();
    let e = stub
        .commit(pb::CommitRequest {
            txn: Some(pb::TxnHandle { id: 999_999 }),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    srv.stop().await.0.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_expire_when_idle_and_when_the_connection_closes() {
    let srv =
        TestServer::start_with(ServerConfig::default(), false, Duration::from_millis(100)).await;
    let c = srv.client().await;
    let tx = c.begin().await.unwrap();
    assert_eq!(tx.idle_timeout(), Duration::from_millis(100));
    tx.put("e", "1").await.unwrap();
    assert!(eventually(Duration::from_secs(10), || srv.txns.is_empty()).await);
    let e = tx.put("e", "2").await.unwrap_err();
    assert_eq!(code(&e), Code::NotFound, "{e}");
    assert_eq!(c.get("e").await.unwrap(), None);
    drop(tx);
    srv.stop().await.0.unwrap();

    // Long TTL: only the connection closing ends the transaction.
    let srv = TestServer::start(ServerConfig::default()).await;
    let c1 = srv.client().await;
    // Raw stubs, so no client-side rollback happens: the server must notice the disconnect.
    let id = c1
        .transactions_stub()
        .begin(pb::BeginRequest::default())
        .await
        .unwrap()
        .into_inner()
        .txn
        .unwrap()
        .id;
    let put = |txn: u64, v: &str| pb::PutRequest {
        key: b"held".to_vec(),
        value: v.as_bytes().to_vec(),
        txn: Some(pb::TxnHandle { id: txn }),
    };
    c1.kv_stub().put(put(id, "1")).await.unwrap();
    let other = srv.client().await;
    // Another connection cannot use the handle.
    let e = other.kv_stub().put(put(id, "2")).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert_eq!(srv.txns.len(), 1);
    drop(c1);
    assert!(eventually(Duration::from_secs(10), || srv.txns.is_empty()).await);
    assert_eq!(other.get("held").await.unwrap(), None);
    srv.stop().await.0.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_execute_stream_and_error_codes() {
    let srv = TestServer::start(ServerConfig::default()).await;
    let c = srv.client().await;
    c.execute(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL, b BLOB)",
        &[],
    )
    .await
    .unwrap();
    let n = c
        .execute(
            "INSERT INTO t(name, score, b) VALUES (?, ?, ?), (?, ?, ?)",
            &[
                "a".into(),
                Value::Real(1.5),
                Value::Blob(vec![1]),
                "b".into(),
                Value::Null,
                Value::Null,
            ],
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    let tx = c.begin().await.unwrap();
    for i in 0..600 {
        tx.execute(
            "INSERT INTO t(name) VALUES (?)",
            &[Value::Text(format!("n{i}"))],
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let r = c
        .query("SELECT id, name, score, b FROM t ORDER BY id", &[])
        .await
        .unwrap();
    assert_eq!(r.columns, ["id", "name", "score", "b"]);
    assert_eq!(
        r.column_types,
        [
            pb::ColumnType::Integer,
            pb::ColumnType::Text,
            pb::ColumnType::Real,
            pb::ColumnType::Blob
        ]
    );
    assert_eq!(r.rows.len(), 602);
    assert_eq!(
        r.rows[0],
        vec![
            Value::Integer(1),
            "a".into(),
            Value::Real(1.5),
            Value::Blob(vec![1])
        ]
    );
    assert_eq!(r.rows[601][1], Value::Text("n599".into()));

    // The stream really is several messages, the first with the header.
    let mut s = c
        .sql_stub()
        .query(pb::SqlRequest {
            sql: "SELECT id FROM t".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let first = s.message().await.unwrap().unwrap();
    assert_eq!(first.columns.len(), 1);
    let mut msgs = 1;
    while let Some(m) = s.message().await.unwrap() {
        assert!(m.columns.is_empty());
        msgs += 1;
    }
    assert!(msgs >= 3);

    // Empty result still has its header.
    let r = c
        .query("SELECT name FROM t WHERE id < 0", &[])
        .await
        .unwrap();
    assert_eq!(r.columns, ["name"]);
    assert!(r.rows.is_empty());

    let e = c.execute("SELEKT nonsense", &[]).await.unwrap_err();
    assert_eq!(code(&e), Code::InvalidArgument, "{e}");
    assert_eq!(e.kind(), Some(ErrorKind::InvalidArgument));
    let e = c.query("SELECT * FROM nope", &[]).await.unwrap_err();
    assert_eq!(code(&e), Code::NotFound, "{e}");
    srv.stop().await.0.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collections_and_context_queries() {
    let srv = TestServer::start(ServerConfig::default()).await;
    let c = srv.client().await;
    let docs = c
        .create_collection("docs", 3, Metric::Cosine)
        .await
        .unwrap();
    let e = c
        .create_collection("docs", 3, Metric::Cosine)
        .await
        .unwrap_err();
    assert_eq!(code(&e), Code::AlreadyExists);
    docs.upsert_many([
        Document::new("a", vec![1.0, 0.0, 0.0])
            .with_text("Rust storage engines")
            .with_metadata(json!({"lang": "en"})),
        Document::new("b", vec![0.0, 1.0, 0.0])
            .with_text("Vector search with HNSW")
            .with_metadata(json!({"lang": "en"})),
        Document::new("c", vec![0.0, 0.0, 1.0])
            .with_text("Datenbanken in Rust")
            .with_metadata(json!({"lang": "de"})),
    ])
    .await
    .unwrap();
    assert_eq!(c.list_collections().await.unwrap(), ["docs"]);

    let hits = docs.search(&[0.9, 0.1, 0.0], 2).await.unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].id, "a");
    assert!(hits[0].distance.is_some());
    let hits = docs
        .search_with(
            &SearchRequest::vector(vec![0.0, 0.1, 0.9], 3).filter(Filter::eq("lang", "en")),
        )
        .await
        .unwrap();
    assert!(hits.iter().all(|h| h.id != "c"), "{hits:?}");
    assert_eq!(hits[0].metadata.get("lang"), Some(&json!("en")));
    let kw = docs.keyword_search("rust", 5).await.unwrap();
    let mut ids: Vec<_> = kw.iter().map(|h| h.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["a", "c"]);
    let hy = docs
        .hybrid_search("vector search", &[0.0, 1.0, 0.0], 2)
        .await
        .unwrap();
    assert_eq!(hy[0].id, "b");
    assert!(hy[0].keyword_score.is_some());

    let got = docs.get("c").await.unwrap().unwrap();
    assert_eq!(got.text.as_deref(), Some("Datenbanken in Rust"));
    assert_eq!(got.vector, vec![0.0, 0.0, 1.0]);
    assert!(docs.delete("c").await.unwrap());
    assert_eq!(docs.get("c").await.unwrap(), None);

    // Error mapping.
    let e = docs.search(&[1.0, 0.0], 2).await.unwrap_err();
    assert_eq!(code(&e), Code::InvalidArgument, "{e}");
    let e = c
        .collection("nope")
        .search(&[1.0, 0.0, 0.0], 2)
        .await
        .unwrap_err();
    assert_eq!(code(&e), Code::NotFound, "{e}");
    let e = c.collection("nope").get("a").await.unwrap_err();
    assert_eq!(code(&e), Code::NotFound, "{e}");
    let e = docs.search(&[1.0, 0.0, 0.0], 0).await.unwrap_err();
    assert_eq!(code(&e), Code::InvalidArgument);
    let mut stub = c.collections_stub();
    let e = stub
        .search(pb::SearchRequest {
            collection: "docs".into(),
            vector: vec![1.0, 0.0, 0.0],
            k: 1,
            filter_json: "{not json".into(),
            ef_search: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    // Context: statement form.
    c.execute(
        "CREATE TABLE orders(id INTEGER PRIMARY KEY, item TEXT)",
        &[],
    )
    .await
    .unwrap();
    c.execute("INSERT INTO orders(item) VALUES ('book'), ('pen')", &[])
        .await
        .unwrap();
    let ctx = c
        .execute_context(
            "CONTEXT SELECT SYSTEM 'Be brief.', (SELECT id, item FROM orders ORDER BY id) AS orders, \
             SEARCH docs 'rust' K 2 AS docs BUDGET 200",
        )
        .await
        .unwrap();
    assert!(ctx.text.starts_with("system: Be brief."), "{}", ctx.text);
    assert!(ctx.text.contains("orders[2]{id,item}:"), "{}", ctx.text);
    assert!(ctx.total_tokens > 0 && ctx.total_tokens <= 200);
    assert_eq!(ctx.budget, 200);
    assert_eq!(ctx.sections.len(), 3);

    // Structured form.
    let spec = pb::ContextSpec {
        budget: 100,
        sections: vec![
            pb::ContextSection {
                source: Some(pb::context_section::Source::System("Answer.".into())),
                ..Default::default()
            },
            pb::ContextSection {
                name: "hits".into(),
                source: Some(pb::context_section::Source::Search(pb::ContextSearch {
                    collection: "docs".into(),
                    text: "vector".into(),
                    vector: vec![0.0, 1.0, 0.0],
                    k: 1,
                    filter_json: String::new(),
                })),
                ..Default::default()
            },
        ],
    };
    let ctx = c.context(spec).await.unwrap();
    assert!(ctx.text.contains("hits"), "{}", ctx.text);
    assert!(ctx.text.contains("HNSW"), "{}", ctx.text);
    assert!(ctx.total_tokens <= 100);
    let e = c
        .execute_context("CONTEXT SYSTEM 'x' BUDGET lots")
        .await
        .unwrap_err();
    assert_eq!(code(&e), Code::InvalidArgument);
    srv.stop().await.0.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_and_clean_shutdown() {
    let srv = TestServer::start_with(ServerConfig::default(), true, Duration::from_secs(60)).await;
    let sock = srv.socket.clone().unwrap();
    assert!(sock.exists());
    let c = srv.client().await;
    c.put("persist", "yes").await.unwrap();
    let tx = c.begin().await.unwrap();
    tx.put("uncommitted", "1").await.unwrap();
    std::mem::forget(tx);
    let (r, dir) = srv.stop().await;
    r.unwrap();
    assert!(!sock.exists(), "socket removed at shutdown");
    // The database was closed (its lock released) and the commit is durable.
    let db = toondb::Database::open(dir.path().join("db")).unwrap();
    assert_eq!(db.get("persist").unwrap().as_deref(), Some(&b"yes"[..]));
    assert_eq!(db.get("uncommitted").unwrap(), None);
    db.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_size_limit() {
    let srv = TestServer::start(ServerConfig::default().with_max_message_bytes(64 * 1024)).await;
    let c = srv.client().await;
    c.put("small", vec![7u8; 1000]).await.unwrap();
    let e = c.put("big", vec![7u8; 200 * 1024]).await.unwrap_err();
    assert!(
        matches!(
            code(&e),
            Code::ResourceExhausted | Code::OutOfRange | Code::Internal
        ),
        "{e}"
    );
    assert_eq!(c.get("big").await.unwrap(), None);
    srv.stop().await.0.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_forever_for_a_silent_peer() {
    let mut cfg = ServerConfig::default().with_shutdown_grace(Duration::from_millis(300));
    // Keep-alive would eventually drop the silent peer too; make sure it is not what helps.
    cfg.keepalive_interval = Duration::from_secs(3600);
    let srv = TestServer::start(cfg).await;
    let c = srv.client().await;
    c.put("k", "v").await.unwrap();
    // A second runtime that is never driven again holds a connection open and silent.
    let uri = srv.uri.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let silent = rt.block_on(async { toondb_grpc::Client::connect(&uri).await.unwrap() });
        rt.block_on(async { silent.get("k").await.unwrap() });
        tx.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(60));
        drop((silent, rt));
    });
    rx.recv().unwrap();
    // Liveness bound, far above the 300 ms grace; without the grace this waits for an hour.
    let (r, dir) = tokio::time::timeout(Duration::from_secs(60), srv.stop())
        .await
        .expect("shutdown hung on a silent peer");
    r.unwrap();
    let db = toondb::Database::open(dir.path().join("db")).unwrap();
    assert_eq!(db.get("k").unwrap().as_deref(), Some(&b"v"[..]));
    drop(t); // detached; the process ends with the test binary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_limit_and_request_deadline() {
    // One database call at a time; a stream whose client does not read keeps its permit.
    let mut cfg = ServerConfig::default()
        .with_max_in_flight(1)
        .with_request_timeout(Duration::from_secs(1));
    cfg.stream_stall_timeout = Duration::from_secs(3600);
    let srv = TestServer::start(cfg).await;
    let c = srv.client().await;
    let big = vec![b'x'; 1024];
    for chunk in 0..20 {
        c.write_batch(
            (chunk * 200..(chunk + 1) * 200).map(|i| (format!("big/{i:05}"), Some(big.clone()))),
        )
        .await
        .unwrap();
    }
    let mut unread = c
        .scan_stream(pb::ScanRequest {
            prefix: Some(b"big/".to_vec()),
            ..Default::default()
        })
        .await
        .unwrap();
    let first = unread.message().await.unwrap().unwrap();
    assert!(!first.pairs.is_empty());
    // The producer is now blocked on flow control holding the only permit: a point read waits
    // for it and hits the server's deadline.
    let e = c.get("big/00001").await.unwrap_err();
    assert!(
        matches!(code(&e), Code::Cancelled | Code::DeadlineExceeded),
        "{e}"
    );
    // Dropping the stream frees the permit.
    drop(unread);
    let mut ok = false;
    for _ in 0..100 {
        if c.get("big/00001").await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "permit never released");
    srv.stop().await.0.unwrap();
}
