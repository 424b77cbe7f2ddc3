//! One program, two backends: the same calls run against an embedded
//! database or a `toondb-server`, chosen by the connection string only.
//!
//! Run embedded (the default, `memory:`):
//!   `cargo run -p toondb-client --example remote`
//! Run against a server:
//!   `cargo run -p toondb-grpc --bin toondb-server -- --listen 127.0.0.1:50051 --data /tmp/tdb &`
//!   `cargo run -p toondb-client --example remote -- http://127.0.0.1:50051`
//! (also `embedded:/some/dir` or `unix:/path/to/toondb.sock`).

use serde_json::json;
use toondb::{params, Document, Filter, Metric, SearchRequest};
use toondb_client::{Connection, Result};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "memory:".into());
    let conn = Connection::open(&url).await?;
    println!(
        "connected to {url} ({})",
        if conn.is_remote() {
            "remote"
        } else {
            "embedded"
        }
    );
    // A run id keeps repeated runs against one server apart.
    let run = std::process::id();

    // Key-value.
    conn.put(format!("example:{run}:a"), "1").await?;
    conn.put(format!("example:{run}:b"), "2").await?;
    let pairs = conn.scan_prefix(format!("example:{run}:")).await?;
    println!("kv: {} keys under example:{run}:", pairs.len());
    assert_eq!(pairs.len(), 2);

    // A transaction.
    let tx = conn.begin().await?;
    tx.put(format!("example:{run}:c"), "3").await?;
    tx.delete(format!("example:{run}:a")).await?;
    tx.commit().await?;
    assert_eq!(conn.get(format!("example:{run}:a")).await?, None);

    // SQL; the rows come back as toondb::Rows on both backends.
    let table = format!("notes_{run}");
    conn.execute(
        &format!("CREATE TABLE {table}(id INTEGER PRIMARY KEY, body TEXT, stars INTEGER)"),
        params![],
    )
    .await?;
    let n = conn
        .execute(
            &format!("INSERT INTO {table}(body, stars) VALUES (?, ?), (?, ?)"),
            params!["remote and embedded", 5, "same calls", 4],
        )
        .await?;
    assert_eq!(n, 2);
    let rows = conn
        .query(
            &format!("SELECT body, stars FROM {table} ORDER BY stars DESC"),
            params![],
        )
        .await?;
    for row in &rows {
        println!(
            "sql: {} ({} stars)",
            row.get::<String>("body")?,
            row.get::<i64>(1)?
        );
    }

    // A collection: upsert, filtered vector search, hybrid search.
    let name = format!("docs_{run}");
    let docs = conn.create_collection(&name, 3, Metric::Cosine).await?;
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
    .await?;
    let hits = docs
        .search_with(SearchRequest::vector(vec![0.0, 0.2, 1.0], 1).filter(Filter::eq("lang", "en")))
        .await?;
    println!("filtered vector search: {}", hits[0].id);
    let hits = docs.hybrid_search("rust", &[1.0, 0.0, 0.0], 2).await?;
    println!(
        "hybrid search: {:?}",
        hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>()
    );

    // A context under a token budget.
    let ctx = conn
        .execute_context(&format!(
            "CONTEXT SELECT SYSTEM 'Answer briefly.', SEARCH {name} 'rust' K 2 AS docs BUDGET 120"
        ))
        .await?;
    println!(
        "context ({} of {} tokens):\n{}",
        ctx.total_tokens, ctx.budget, ctx.text
    );

    conn.drop_collection(&name).await?;
    conn.execute(&format!("DROP TABLE {table}"), params![])
        .await?;
    conn.close().await
}
