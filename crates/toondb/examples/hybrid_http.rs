//! A hybrid service: an axum HTTP server whose async handlers call the synchronous
//! `Database` through `tokio::task::spawn_blocking`. It binds 127.0.0.1:0, sends itself one
//! request with a tiny std::net HTTP client, prints the answer and exits.
//!
//! Run: `cargo run -p toondb --features http-example --example hybrid_http`

use std::io::{Read, Write};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value as Json_};
use toondb::{params, Database, Document, Metric, SearchRequest};

fn status(e: &toondb::Error) -> StatusCode {
    match e.kind() {
        toondb::ErrorKind::NotFound => StatusCode::NOT_FOUND,
        toondb::ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
        toondb::ErrorKind::Conflict => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// GET /search/{query}: hybrid search plus a SQL lookup, all on the blocking pool.
async fn search(
    State(db): State<Database>,
    Path(q): Path<String>,
) -> Result<Json<Json_>, (StatusCode, String)> {
    let res = tokio::task::spawn_blocking(move || -> toondb::Result<Json_> {
        let kb = db.collection("kb")?;
        let v = if q.contains("vector") { vec![0.0, 1.0] } else { vec![1.0, 0.0] };
        let hits = kb.search_with(&SearchRequest::hybrid(q.as_str(), v, 2))?;
        let visits: i64 = {
            db.execute("UPDATE stats SET n = n + 1 WHERE name = 'searches'", params![])?;
            db.query_row("SELECT n FROM stats WHERE name = 'searches'", params![])?.get(0)?
        };
        Ok(json!({
            "query": q,
            "searches": visits,
            "hits": hits.iter().map(|h| json!({"id": h.id, "score": h.score, "text": h.text})).collect::<Vec<_>>(),
        }))
    })
    .await
    .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    res.map(Json).map_err(|e| (status(&e), e.to_string()))
}

fn http_get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<String> {
    let mut s = std::net::TcpStream::connect(addr)?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = Database::open_in_memory()?;
    db.execute(
        "CREATE TABLE stats(name TEXT PRIMARY KEY, n INTEGER)",
        params![],
    )?;
    db.execute("INSERT INTO stats VALUES ('searches', 0)", params![])?;
    let kb = db.create_collection("kb", 2, Metric::Cosine, Default::default())?;
    kb.upsert(Document::new("lsm", vec![1.0, 0.0]).with_text("log structured merge trees"))?;
    kb.upsert(Document::new("hnsw", vec![0.0, 1.0]).with_text("graph based vector search"))?;

    let app = Router::new()
        .route("/search/{q}", get(search))
        .with_state(db);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let resp =
        tokio::task::spawn_blocking(move || http_get(addr, "/search/vector%20search")).await??;
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or_default();
    println!(
        "server on {addr} answered:\n{}",
        resp.lines().next().unwrap_or_default()
    );
    println!("{body}");
    server.abort();
    let v: Json_ = serde_json::from_str(body)?;
    assert_eq!(v["hits"][0]["id"], "hnsw");
    Ok(())
}
