//! The graph over gRPC: `Graph.Call` auto-committed and inside a server-side transaction,
//! with status codes for bad input.

mod common;

use common::TestServer;
use serde_json::json;
use tonic::Code;
use toondb_grpc::server::ServerConfig;

fn code(e: &toondb_grpc::Error) -> Code {
    e.code().unwrap_or_else(|| panic!("not a status: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_calls_auto_commit_join_transactions_and_map_errors() {
    let srv = TestServer::start(ServerConfig::default()).await;
    let c = srv.client().await;
    for id in ["alice", "bob", "acme"] {
        c.graph_call("mem", "add_node", &json!({"id": id, "label": "x"}), None)
            .await
            .unwrap();
    }
    c.graph_call(
        "mem",
        "add_edge",
        &json!({"src": "alice", "type": "knows", "dst": "bob"}),
        None,
    )
    .await
    .unwrap();

    // Inside a transaction: a key and an edge commit together; rollback discards both.
    let tx = c.begin().await.unwrap();
    tx.put("k", "v").await.unwrap();
    c.graph_call(
        "mem",
        "add_edge",
        &json!({"src": "bob", "type": "works_at", "dst": "acme"}),
        Some(tx.id()),
    )
    .await
    .unwrap();
    let n = c
        .graph_call("mem", "neighbors", &json!({"node": "bob"}), None)
        .await
        .unwrap();
    assert_eq!(n, json!([]), "not visible before commit");
    tx.commit().await.unwrap();
    let p = c
        .graph_call(
            "mem",
            "shortest_path",
            &json!({"start": "alice", "target": "acme", "depth": 4}),
            None,
        )
        .await
        .unwrap();
    assert_eq!(p["nodes"], json!(["alice", "bob", "acme"]));
    assert_eq!(c.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));

    let tx = c.begin().await.unwrap();
    c.graph_call("mem", "delete_node", &json!({"id": "acme"}), Some(tx.id()))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(!c
        .graph_call("mem", "get_node", &json!({"id": "acme"}), None)
        .await
        .unwrap()
        .is_null());

    let t = c
        .graph_call(
            "mem",
            "traverse",
            &json!({"start": "alice", "depth": 2}),
            None,
        )
        .await
        .unwrap();
    assert_eq!(t.as_array().unwrap().len(), 3);

    // Errors map to status codes.
    let e = c
        .graph_call(
            "mem",
            "add_node",
            &json!({"id": "alice", "label": "x"}),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), Code::AlreadyExists, "{e}");
    let e = c
        .graph_call(
            "mem",
            "add_edge",
            &json!({"src": "alice", "type": "t", "dst": "ghost"}),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), Code::NotFound, "{e}");
    let e = c
        .graph_call(
            "mem",
            "traverse",
            &json!({"start": "alice", "depth": 1000}),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), Code::InvalidArgument, "{e}");
    let e = c
        .graph_call("", "get_node", &json!({"id": "a"}), None)
        .await
        .unwrap_err();
    assert_eq!(code(&e), Code::InvalidArgument, "{e}");
    let e = c
        .graph_call("mem", "nope", &json!({}), None)
        .await
        .unwrap_err();
    assert_eq!(code(&e), Code::InvalidArgument, "{e}");
    let e = c
        .graph_stub()
        .call(toondb_grpc::pb::GraphCallRequest {
            namespace: "mem".into(),
            op: "get_node".into(),
            args_json: "{not json".into(),
            txn: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = c
        .graph_call("mem", "get_node", &json!({"id": "a"}), Some(987_654))
        .await
        .unwrap_err();
    assert_eq!(code(&e), Code::NotFound, "{e}");
    srv.stop().await.0.unwrap();
}
