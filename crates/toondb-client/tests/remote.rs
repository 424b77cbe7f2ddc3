//! `toondb-client` without a server: connection strings, the embedded side
//! of `Connection` (persistence, transactions, collections), and the errors a client reports
//! when no server answers. The same calls against live servers are compared in
//! `crates/toondb-grpc/tests/connection_backends_agree.rs`.

use std::path::PathBuf;

use toondb::{params, Database, Document, ErrorKind, Metric};
use toondb_client::{
    Client, Connection, ConnectionCollection, ConnectionTransaction, Error, Target,
};

#[test]
fn connection_strings() {
    assert_eq!(Target::parse(" memory: ").unwrap(), Target::Memory);
    assert_eq!(Target::parse(":memory:").unwrap(), Target::Memory);
    assert_eq!(
        Target::parse("embedded:rel/dir").unwrap(),
        Target::Embedded(PathBuf::from("rel/dir"))
    );
    assert_eq!(
        Target::parse("file:/abs/dir").unwrap(),
        Target::Embedded(PathBuf::from("/abs/dir"))
    );
    assert_eq!(
        Target::parse("unix:/run/t.sock").unwrap(),
        Target::Unix(PathBuf::from("/run/t.sock"))
    );
    assert_eq!(
        Target::parse("unix:///run/t.sock").unwrap(),
        Target::Unix(PathBuf::from("/run/t.sock"))
    );
    assert_eq!(
        Target::parse("https://db.example:443").unwrap(),
        Target::Http("https://db.example:443".into())
    );
    for bad in [
        "",
        "embedded:",
        "unix:",
        "unix://",
        "tcp://1.2.3.4:5",
        "/just/a/path",
    ] {
        let e = Target::parse(bad).unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{bad:?}: {e}");
        assert_eq!(e.kind(), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_connection_persists_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("embedded:{}", dir.path().join("db").display());
    let conn = Connection::open(&spec).await.unwrap();
    assert!(!conn.is_remote());
    assert!(conn.as_database().is_some() && conn.as_client().is_none());
    conn.put("k", "v").await.unwrap();
    conn.execute("CREATE TABLE t(x INTEGER)", params![])
        .await
        .unwrap();
    conn.execute("INSERT INTO t VALUES (?), (?)", params![1, 2])
        .await
        .unwrap();
    let docs = conn.create_collection("docs", 2, Metric::L2).await.unwrap();
    docs.upsert(Document::new("a", vec![1.0, 2.0]))
        .await
        .unwrap();
    conn.close().await.unwrap();

    let conn = Connection::open(&spec).await.unwrap();
    assert_eq!(conn.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    let rows = conn
        .query("SELECT sum(x) AS s FROM t", params![])
        .await
        .unwrap();
    assert_eq!(rows[0].get::<i64>("s").unwrap(), 3);
    let docs = conn.collection("docs").await.unwrap();
    assert!(matches!(docs, ConnectionCollection::Embedded(_)));
    assert_eq!(docs.search(&[1.0, 2.0], 1).await.unwrap()[0].id, "a");
    assert_eq!(
        conn.collection("nope").await.unwrap_err().kind(),
        Some(ErrorKind::NotFound)
    );
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_transactions_match_the_sync_api() {
    let db = Database::open_in_memory().unwrap();
    let conn = Connection::from(db.clone());
    let tx = conn.begin().await.unwrap();
    assert!(matches!(tx, ConnectionTransaction::Embedded(_)));
    tx.put("a", "1").await.unwrap();
    tx.execute("CREATE TABLE t(x TEXT)", params![])
        .await
        .unwrap();
    tx.execute("INSERT INTO t VALUES ('in tx')", params![])
        .await
        .unwrap();
    assert_eq!(db.get("a").unwrap(), None, "not visible before commit");
    assert_eq!(
        tx.query("SELECT x FROM t", params![]).await.unwrap()[0]
            .get::<String>(0)
            .unwrap(),
        "in tx"
    );
    tx.commit().await.unwrap();
    assert_eq!(db.get("a").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(db.query("SELECT x FROM t", params![]).unwrap().len(), 1);

    let tx = conn.begin().await.unwrap();
    tx.delete("a").await.unwrap();
    assert_eq!(tx.scan_prefix("").await.unwrap(), vec![]);
    tx.rollback().await.unwrap();
    assert_eq!(conn.scan_prefix("").await.unwrap().len(), 1);

    // Write-write conflict: the loser's error says so.
    let t1 = conn.begin().await.unwrap();
    let t2 = conn.begin().await.unwrap();
    t1.put("a", "x").await.unwrap();
    t2.put("a", "y").await.unwrap();
    t1.commit().await.unwrap();
    let e = t2.commit().await.unwrap_err();
    assert!(e.is_conflict(), "{e}");
    assert!(matches!(e, Error::Database(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_server_means_a_transport_error() {
    // Bind a port, then free it: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = Connection::open(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e}");
    assert!(!e.is_conflict());
    let dir = tempfile::tempdir().unwrap();
    let e = Client::connect_unix(dir.path().join("none.sock"), Default::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e}");
    let e = Client::connect("not a uri").await.unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e}");
}
