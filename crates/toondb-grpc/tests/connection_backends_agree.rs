//! `toondb_client::Connection` runs the same calls against an embedded database and a live
//! `toondb-server` (loopback TCP and a Unix socket), with identical results.
#![allow(clippy::unwrap_used)] // the scenario is a helper, not a #[test] fn

mod common;

use std::ops::Bound;
use std::time::Duration;

use common::TestServer;
use serde_json::json;
use toondb::{params, Direction, Document, ErrorKind, Filter, Metric, SearchRequest};
use toondb_client::{Connection, Result};
use toondb_grpc::server::ServerConfig;

/// Everything observable from one run, in order, as text (exact: f32 scores print with full
/// round-trip precision).
#[derive(Default)]
struct Transcript(Vec<String>);

impl Transcript {
    fn note(&mut self, what: &str, v: impl std::fmt::Debug) {
        self.0.push(format!("{what}: {v:?}"));
    }
}

fn kind<T: std::fmt::Debug>(r: Result<T>) -> Option<ErrorKind> {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.kind(),
    }
}

/// The one program, written once against `Connection`. Asserts the values it can know, and
/// records everything for the cross-backend comparison.
async fn scenario(conn: &Connection) -> Transcript {
    let mut t = Transcript::default();

    // Key-value.
    conn.put("a", "1").await.unwrap();
    assert_eq!(conn.get("a").await.unwrap().as_deref(), Some(&b"1"[..]));
    conn.write_batch([
        ("b", Some("2")),
        ("c", Some("3")),
        ("d", Some("4")),
        ("a", None),
    ])
    .await
    .unwrap();
    conn.delete("d").await.unwrap();
    conn.delete("never-there").await.unwrap();
    assert_eq!(conn.get("a").await.unwrap(), None);
    let all = conn.scan_prefix("").await.unwrap();
    assert_eq!(all.len(), 2);
    t.note("scan", &all);
    t.note(
        "range",
        conn.range(
            Bound::Excluded(&b"b"[..]),
            Bound::Unbounded,
            Direction::Reverse,
        )
        .await
        .unwrap(),
    );

    // Transactions: own writes visible inside only, commit, rollback, conflict.
    let tx = conn.begin().await.unwrap();
    tx.put("t/1", "x").await.unwrap();
    tx.delete("b").await.unwrap();
    assert_eq!(tx.get("t/1").await.unwrap().as_deref(), Some(&b"x"[..]));
    assert_eq!(conn.get("t/1").await.unwrap(), None);
    t.note("tx scan", tx.scan_prefix("").await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(conn.get("b").await.unwrap(), None);
    let tx = conn.begin().await.unwrap();
    tx.put("t/2", "lost").await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(conn.get("t/2").await.unwrap(), None);

    let t1 = conn.begin().await.unwrap();
    let t2 = conn.begin().await.unwrap();
    assert_eq!(t1.get("hot").await.unwrap(), None);
    assert_eq!(t2.get("hot").await.unwrap(), None);
    t1.put("hot", "1").await.unwrap();
    t2.put("hot", "2").await.unwrap();
    t1.commit().await.unwrap();
    let e = t2.commit().await.unwrap_err();
    assert!(e.is_conflict(), "{e}");
    t.note("conflict kind", e.kind());
    t.note("after conflict", conn.get("hot").await.unwrap());

    // SQL, also inside a transaction.
    conn.execute(
        "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, price REAL, img BLOB)",
        params![],
    )
    .await
    .unwrap();
    let n = conn
        .execute(
            "INSERT INTO items(name, price, img) VALUES (?, ?, ?), (?, ?, ?), (?, NULL, NULL)",
            params!["pen", 1.5, vec![0u8, 255], "book", 12, vec![1u8], "gift"],
        )
        .await
        .unwrap();
    assert_eq!(n, 3);
    let tx = conn.begin().await.unwrap();
    assert_eq!(
        tx.execute(
            "UPDATE items SET price = price * 2 WHERE price < ?",
            params![5]
        )
        .await
        .unwrap(),
        1
    );
    t.note(
        "tx query",
        tx.query("SELECT name, price FROM items ORDER BY id", params![])
            .await
            .unwrap(),
    );
    tx.commit().await.unwrap();
    let rows = conn
        .query(
            "SELECT id, name, price, img FROM items WHERE id >= ? ORDER BY id",
            params![1],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].get::<f64>("price").unwrap(), 3.0);
    assert_eq!(rows[2].get::<Option<f64>>("price").unwrap(), None);
    t.note("rows", &rows);
    t.note(
        "aggregate",
        conn.query("SELECT count(*) AS n, sum(price) FROM items", params![])
            .await
            .unwrap(),
    );
    t.note(
        "missing table",
        kind(conn.query("SELECT * FROM nope", params![]).await),
    );
    t.note("bad sql", kind(conn.execute("SELEC 1", params![]).await));
    t.note(
        "unique",
        kind(
            conn.execute("INSERT INTO items(id, name) VALUES (1, 'dup')", params![])
                .await,
        ),
    );

    // Collections.
    let docs = conn
        .create_collection("docs", 3, Metric::Cosine)
        .await
        .unwrap();
    assert_eq!(docs.name(), "docs");
    docs.upsert_many([
        Document::new("a", vec![1.0, 0.0, 0.0])
            .with_text("Rust storage engines")
            .with_metadata(json!({"lang": "en", "year": 2021})),
        Document::new("b", vec![0.0, 1.0, 0.0])
            .with_text("Vector search with HNSW in Rust")
            .with_metadata(json!({"lang": "en", "year": 2024})),
        Document::new("c", vec![0.0, 0.2, 1.0])
            .with_text("Datenbanken in Rust")
            .with_metadata(json!({"lang": "de", "year": 2023})),
    ])
    .await
    .unwrap();
    docs.upsert(Document::new("d", vec![0.5, 0.5, 0.0]).with_text("temporary"))
        .await
        .unwrap();
    assert!(docs.delete("d").await.unwrap());
    assert!(!docs.delete("d").await.unwrap());
    t.note("get doc", docs.get("b").await.unwrap());
    t.note("get missing doc", docs.get("zz").await.unwrap());
    let hits = docs.search(&[0.9, 0.1, 0.0], 2).await.unwrap();
    assert_eq!(hits[0].id, "a");
    t.note("vector", &hits);
    t.note("keyword", docs.keyword_search("rust", 5).await.unwrap());
    let hybrid = docs
        .hybrid_search("hnsw", &[0.0, 1.0, 0.1], 3)
        .await
        .unwrap();
    assert_eq!(hybrid[0].id, "b");
    t.note("hybrid", &hybrid);
    let filtered = docs
        .search_with(
            SearchRequest::vector(vec![0.0, 0.1, 1.0], 3)
                .filter(Filter::eq("lang", "en").and(Filter::range("year").gte(2022))),
        )
        .await
        .unwrap();
    assert_eq!(filtered.len(), 1);
    t.note("filtered", &filtered);
    t.note("collections", conn.list_collections().await.unwrap());
    t.note(
        "reopened handle",
        conn.collection("docs")
            .await
            .unwrap()
            .keyword_search("datenbanken", 1)
            .await
            .unwrap(),
    );
    t.note("missing collection", kind(conn.collection("nope").await));
    t.note(
        "wrong dimension",
        kind(docs.upsert(Document::new("x", vec![1.0])).await),
    );

    // Context statements, as a result and as rows.
    let stmt = "CONTEXT SELECT SYSTEM 'Answer briefly.', SEARCH docs 'rust' K 2 AS docs, \
                SQL 'SELECT name, price FROM items ORDER BY id' AS items BUDGET 120";
    let ctx = conn.execute_context(stmt).await.unwrap();
    assert!(ctx.total_tokens <= 120 && ctx.total_tokens > 0);
    assert!(ctx.text.contains("items[3]{name,price}:"), "{}", ctx.text);
    t.note("context", &ctx);
    t.note("context rows", conn.query(stmt, params![]).await.unwrap());

    assert!(conn.drop_collection("docs").await.unwrap());
    assert!(!conn.drop_collection("docs").await.unwrap());
    t
}

fn assert_same(name: &str, expected: &Transcript, got: &Transcript) {
    assert_eq!(expected.0.len(), got.0.len(), "{name}: transcript length");
    for (e, g) in expected.0.iter().zip(&got.0) {
        assert_eq!(e, g, "{name} differs from embedded");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_tcp_and_unix_give_identical_results() {
    let embedded = Connection::open("memory:").await.unwrap();
    assert!(!embedded.is_remote());
    let reference = scenario(&embedded).await;

    let dir = tempfile::tempdir().unwrap();
    let on_disk = Connection::open(&format!("embedded:{}", dir.path().join("db").display()))
        .await
        .unwrap();
    assert_same("embedded on disk", &reference, &scenario(&on_disk).await);
    on_disk.close().await.unwrap();

    let tcp = TestServer::start(ServerConfig::default()).await;
    let conn = Connection::open(&tcp.uri).await.unwrap();
    assert!(conn.is_remote());
    assert_same("tcp", &reference, &scenario(&conn).await);
    drop(conn);
    tcp.stop().await.0.unwrap();

    let unix = TestServer::start_with(ServerConfig::default(), true, Duration::from_secs(60)).await;
    let sock = unix.socket.clone().unwrap();
    let conn = Connection::open(&format!("unix:{}", sock.display()))
        .await
        .unwrap();
    assert_same("unix", &reference, &scenario(&conn).await);
    drop(conn);
    unix.stop().await.0.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_options_and_errors() {
    // A token-protected server: the token travels in ClientOptions, wrong tokens are refused.
    let cfg = ServerConfig::default().with_token(Some("s3cret".into()));
    let srv = TestServer::start(cfg).await;
    let denied = Connection::open(&srv.uri).await.unwrap();
    let e = denied.get("k").await.unwrap_err();
    assert_eq!(e.code(), Some(tonic::Code::Unauthenticated));
    let conn = Connection::open_with(
        &srv.uri,
        toondb_client::ClientOptions::default().with_token("s3cret"),
    )
    .await
    .unwrap();
    conn.put("k", "v").await.unwrap();
    assert_eq!(conn.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    drop((denied, conn));
    srv.stop().await.0.unwrap();

    // Nothing listens on a closed socket path.
    let dir = tempfile::tempdir().unwrap();
    let e = Connection::open(&format!("unix:{}", dir.path().join("none.sock").display()))
        .await
        .unwrap_err();
    assert!(matches!(e, toondb_client::Error::Transport(_)), "{e}");
}
