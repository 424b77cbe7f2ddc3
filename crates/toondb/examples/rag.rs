//! Retrieval-augmented generation in miniature: a collection of documents with a toy
//! embedding, hybrid search with a metadata filter, and a token-budgeted TOON context built
//! both with the builder and with a `CONTEXT SELECT` statement.
//!
//! Run: `cargo run -p toondb --example rag`

use serde_json::json;
use toondb::{params, Database, Document, Filter, Message, Metric, SearchRequest, Section};

const DIM: usize = 32;

/// A toy embedding: hashed bag of words, L2-normalised. Stands in for a real model.
fn embed(text: &str) -> Vec<f32> {
    let mut v = vec![0f32; DIM];
    for w in toondb::tokenize(text) {
        let h = w.bytes().fold(2166136261u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(16777619)
        });
        v[(h as usize) % DIM] += 1.0;
    }
    if v.iter().all(|x| *x == 0.0) {
        v[0] = 1.0;
    }
    v
}

const DOCS: &[(&str, &str, &str, i64)] = &[
    ("toon", "TOON is a compact, token-oriented notation for sending structured data to language models.", "format", 2024),
    ("hnsw", "HNSW builds a layered proximity graph for fast approximate nearest neighbour vector search.", "index", 2016),
    ("bm25", "BM25 ranks documents for keyword search using term frequency and inverse document frequency.", "index", 1994),
    ("lsm", "An LSM tree buffers writes in a memtable and flushes sorted tables to disk, then compacts them.", "storage", 1996),
    ("wal", "A write-ahead log makes commits durable: records are fsynced before the commit is acknowledged.", "storage", 1992),
    ("rrf", "Reciprocal rank fusion merges several rankings by summing one over k plus rank.", "index", 2009),
];

fn main() -> toondb::Result<()> {
    let db = Database::open_in_memory()?;
    let kb = db.create_collection("kb", DIM, Metric::Cosine, Default::default())?;
    kb.upsert_many(DOCS.iter().map(|(id, text, topic, year)| {
        Document::new(*id, embed(text))
            .with_text(*text)
            .with_metadata(json!({"topic": topic, "year": year}))
    }))?;
    println!("collection kb: {} documents", kb.len());

    let question = "How does vector search find nearest neighbours quickly?";
    let hits = kb.search_with(
        &SearchRequest::hybrid(question, embed(question), 3).filter(Filter::eq("topic", "index")),
    )?;
    println!("hybrid hits (topic = index):");
    for h in &hits {
        println!(
            "  {:<5} score {:.4} (distance {:?}, bm25 {:?})",
            h.id, h.score, h.distance, h.keyword_score
        );
    }

    db.execute(
        "CREATE TABLE feedback(doc TEXT, helpful INTEGER)",
        params![],
    )?;
    db.execute(
        "INSERT INTO feedback VALUES ('hnsw', 1), ('bm25', 0)",
        params![],
    )?;

    let ctx = db
        .context()
        .budget(220)
        .system("Answer the user's question using only the retrieved documents.")
        .history([
            Message::new("user", "I am building a search feature."),
            Message::new("user", question),
        ])
        .section(
            Section::search("kb", SearchRequest::hybrid(question, embed(question), 4))
                .named("documents")
                .priority(30),
        )
        .sql("feedback", "SELECT doc, helpful FROM feedback", params![])
        .build()?;
    println!(
        "\n--- context ({} / {} tokens) ---\n{}\n---",
        ctx.total_tokens, ctx.budget, ctx.text
    );
    for s in &ctx.sections {
        println!(
            "  section {:<10} tokens {:>4}  included {:>2}  dropped {:>2}  duplicates {}  truncated {}",
            s.name, s.tokens, s.items_included, s.items_dropped, s.duplicates, s.truncated
        );
    }
    assert!(ctx.total_tokens <= ctx.budget);

    let rows = db.query(
        "CONTEXT SELECT SYSTEM 'Be brief.',
                SEARCH kb 'write ahead log durability' K 2 WHERE topic = 'storage' AS docs,
                (SELECT doc, helpful FROM feedback WHERE helpful = 1) AS liked
         BUDGET 120 TOKENIZER cl100k",
        params![],
    )?;
    let text: String = rows[0].get("context")?;
    let tokens: i64 = rows[0].get("tokens")?;
    println!("\n--- CONTEXT SELECT ({tokens} tokens, cl100k) ---\n{text}");
    Ok(())
}
