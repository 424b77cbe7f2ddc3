//! The async API (feature `async`): every `*_async` method runs the blocking call on tokio's
//! blocking pool, so many tasks can share one `Database`.
//!
//! Run: `cargo run -p toondb --features async --example async`

use serde_json::json;
use toondb::{params, Database, Document, Metric, SearchRequest, Value};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> toondb::Result<()> {
    let db = Database::open_in_memory()?;

    // 100 concurrent tasks writing and reading keys.
    let mut tasks = Vec::new();
    for i in 0..100u32 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            db.put_async(format!("task:{i:03}"), i.to_le_bytes().to_vec())
                .await?;
            let v = db.get_async(format!("task:{i:03}")).await?;
            Ok::<_, toondb::Error>(v.map(|b| b.len()))
        }));
    }
    for t in tasks {
        let len = t
            .await
            .map_err(|e| toondb::Error::Internal(e.to_string()))??;
        assert_eq!(len, Some(4));
    }
    println!(
        "100 tasks wrote {} keys",
        db.scan_prefix_async("task:").await?.len()
    );

    db.execute_async(
        "CREATE TABLE events(id INTEGER PRIMARY KEY, kind TEXT)",
        vec![],
    )
    .await?;
    db.execute_async(
        "INSERT INTO events(kind) VALUES (?), (?)",
        vec![Value::from("login"), Value::from("logout")],
    )
    .await?;
    let rows = db
        .query_async("SELECT kind FROM events ORDER BY id", vec![])
        .await?;
    let kinds: Vec<String> = rows
        .iter()
        .map(|r| r.get(0))
        .collect::<toondb::Result<_>>()?;
    println!("events: {kinds:?}");

    let n = db
        .transaction_async(|tx| {
            tx.execute("INSERT INTO events(kind) VALUES ('purchase')", params![])?;
            tx.put("last_event", "purchase")?;
            Ok(3)
        })
        .await?;
    println!("transaction returned {n}");

    let c = db.create_collection("notes", 2, Metric::Cosine, Default::default())?;
    c.upsert_async(
        Document::new("n1", vec![1.0, 0.0])
            .with_text("async rust")
            .with_metadata(json!({"k": 1})),
    )
    .await?;
    c.upsert_async(Document::new("n2", vec![0.0, 1.0]).with_text("blocking pools"))
        .await?;
    let hits = c
        .search_async(SearchRequest::hybrid("rust", vec![0.9, 0.1], 1))
        .await?;
    println!("best hit: {}", hits[0].id);
    assert_eq!(hits[0].id, "n1");

    let ctx = db
        .execute_context_async(
            "CONTEXT SELECT SYSTEM 'Be brief.', SEARCH notes 'rust' K 1 BUDGET 50",
        )
        .await?;
    println!("context ({} tokens):\n{}", ctx.total_tokens, ctx.text);
    Ok(())
}
