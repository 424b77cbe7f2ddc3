//! Sql.Execute / Sql.Query column headers carry the declared type, not the first value's type.

mod common;

use common::TestServer;
use toondb::Value;
use toondb_grpc::pb;
use toondb_grpc::server::ServerConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_types_come_from_declared_types() {
    let srv = TestServer::start(ServerConfig::default()).await;
    let c = srv.client().await;
    c.execute(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, n INTEGER, s TEXT, r REAL, u)",
        &[],
    )
    .await
    .unwrap();
    // First row: every nullable column NULL; second row: text in the INTEGER column is kept as
    // text by affinity, and the untyped column holds an integer.
    c.execute(
        "INSERT INTO t(n, s, r, u) VALUES (NULL, NULL, NULL, NULL), ('x', 'b', 2.5, 7)",
        &[],
    )
    .await
    .unwrap();
    let sql = "SELECT n, s AS alias, r, u, CAST(u AS TEXT), n + 1 FROM t ORDER BY id".to_string();
    let expected = [
        pb::ColumnType::Integer, // declared, although row 1 is NULL and row 2 holds text
        pb::ColumnType::Text,    // declared, through an alias
        pb::ColumnType::Real,    // declared
        pb::ColumnType::Integer, // untyped column: type of the first non-NULL value (7)
        pb::ColumnType::Text,    // CAST target
        pb::ColumnType::Integer, // expression: NULL in row 1, 'x' + 1 = 1 in row 2
    ];

    let r = c.query(&sql, &[]).await.unwrap();
    assert_eq!(r.rows[0][0], Value::Null);
    assert_eq!(r.rows[1][0], Value::Text("x".into()));
    assert_eq!(r.column_types, expected, "Sql.Query header");

    let mut raw = pb::sql_client::SqlClient::connect(srv.uri.clone())
        .await
        .unwrap();
    let res = raw
        .execute(pb::SqlRequest {
            sql: sql.clone(),
            params: Vec::new(),
            txn: None,
        })
        .await
        .unwrap()
        .into_inner();
    let types: Vec<pb::ColumnType> = res
        .columns
        .iter()
        .map(|c| pb::ColumnType::try_from(c.r#type).unwrap())
        .collect();
    assert_eq!(types, expected, "Sql.Execute header");

    // An empty result still reports declared types; an expression reports UNSPECIFIED.
    let r = c
        .query("SELECT n, n * 2 FROM t WHERE id < 0", &[])
        .await
        .unwrap();
    assert!(r.rows.is_empty());
    assert_eq!(
        r.column_types,
        [pb::ColumnType::Integer, pb::ColumnType::Unspecified]
    );
}
