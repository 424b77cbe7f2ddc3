//! Creates a small database for trying the MCP server (and for its Python client test): a
//! table `orders`, a collection `docs`, a few keys and a graph namespace `memory`.
//!
//! ```text
//! cargo run -p toondb-mcp --example seed -- /tmp/agentdb
//! toondb mcp /tmp/agentdb
//! ```

use serde_json::json;
use toondb::graph::Valid;
use toondb::{params, Database, Document, Metric};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: seed DATABASE_DIR")?;
    let db = Database::open(&path)?;
    db.execute(
        "CREATE TABLE orders(id INTEGER PRIMARY KEY, item TEXT NOT NULL, total REAL)",
        params![],
    )?;
    db.execute(
        "INSERT INTO orders(item, total) VALUES ('book', 12.5), ('pen', 2)",
        params![],
    )?;
    let docs = db.create_collection("docs", 3, Metric::Cosine, Default::default())?;
    docs.upsert(
        Document::new("a", vec![1.0, 0.0, 0.0])
            .with_text("Rust storage engines")
            .with_metadata(json!({"lang": "en"})),
    )?;
    docs.upsert(
        Document::new("b", vec![0.0, 1.0, 0.0])
            .with_text("Vector search with HNSW")
            .with_metadata(json!({"lang": "en"})),
    )?;
    docs.upsert(
        Document::new("c", vec![0.0, 0.0, 1.0])
            .with_text("Datenbanken in Rust")
            .with_metadata(json!({"lang": "de"})),
    )?;
    db.put("user:alice:prefs", "short answers")?;
    db.put("user:bob:prefs", "long answers")?;
    db.transaction(|tx| {
        let g = tx.graph("memory")?;
        g.add_node("alice", "person", json!({"name": "Alice"}), Valid::now())?;
        g.add_node("bob", "person", json!({"name": "Bob"}), Valid::now())?;
        g.add_node("acme", "company", json!({"city": "Oslo"}), Valid::now())?;
        g.add_edge(
            "alice",
            "knows",
            "bob",
            json!({"since": 2019}),
            Valid::now(),
        )?;
        g.add_edge(
            "bob",
            "works_at",
            "acme",
            json!({"role": "engineer"}),
            Valid::now(),
        )?;
        Ok(())
    })?;
    db.close()?;
    println!("seeded {path}");
    Ok(())
}
