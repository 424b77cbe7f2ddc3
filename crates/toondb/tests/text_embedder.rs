//! A collection with a text embedder: upsert_text(s), search_text, hybrid from text, and
//! CONTEXT SEARCH on text alone using the vector half. Uses a deterministic toy embedder so it
//! needs no model (the real model is tested in toondb-embed).

use std::sync::Arc;

use serde_json::json;
use toondb::{CollectionOptions, Database, Metric, TextEmbedder};

/// Topic one-hot vectors: "file" words, "async" words, "list" words.
struct Topics;

impl TextEmbedder for Topics {
    fn dim(&self) -> usize {
        3
    }
    fn embed_texts(&self, texts: &[&str]) -> toondb::Result<Vec<Vec<f32>>> {
        texts
            .iter()
            .map(|t| {
                if t.trim().is_empty() {
                    return Err(toondb::Error::InvalidArgument("empty text".into()));
                }
                let t = t.to_lowercase();
                let has = |ws: &[&str]| ws.iter().filter(|w| t.contains(*w)).count() as f32;
                Ok(vec![
                    has(&["file", "read", "open"]) + 0.01,
                    has(&["async", "concurren", "coroutine", "parallel"]) + 0.01,
                    has(&["list", "sequence", "mutable"]) + 0.01,
                ])
            })
            .collect()
    }
    fn model_name(&self) -> String {
        "topics".into()
    }
}

fn db_with_docs() -> (Database, toondb::Collection) {
    let db = Database::open_in_memory().expect("open");
    let c = db
        .create_collection(
            "docs",
            0,
            Metric::Cosine,
            CollectionOptions::default().embedder(Arc::new(Topics)),
        )
        .expect("create");
    assert_eq!(c.dim(), 3);
    c.upsert_texts([
        (
            "a",
            "The open() function opens a file object.",
            json!({"k": 1}),
        ),
        (
            "b",
            "asyncio runs coroutines on an event loop.",
            json!(null),
        ),
        ("c", "Lists are mutable sequences.", json!({"k": 3})),
    ])
    .expect("upsert_texts");
    c.upsert_text("d", "Reading a file line by line", json!({"k": 4}))
        .expect("upsert_text");
    (db, c)
}

#[test]
fn search_text_finds_documents_by_meaning() {
    let (_db, c) = db_with_docs();
    let hits = c
        .search_text("doing work in parallel", 1)
        .expect("search_text");
    assert_eq!(hits[0].id, "b");
    let doc = c.get("c").expect("get").expect("present");
    assert_eq!(doc.text.as_deref(), Some("Lists are mutable sequences."));
    assert_eq!(doc.metadata.get("k"), Some(&json!(3)));
    let hybrid = c.hybrid_search_text("read a file", 2).expect("hybrid");
    assert!(
        hybrid.iter().all(|h| h.id == "a" || h.id == "d"),
        "{hybrid:?}"
    );
    assert!(hybrid[0].distance.is_some() && hybrid[0].keyword_score.is_some());
}

#[test]
fn context_search_on_text_uses_the_vector_half_when_an_embedder_is_attached() {
    let (db, _c) = db_with_docs();
    // "parallel" shares no keyword with document b: only the vector half can find it.
    let r = db
        .execute_context("CONTEXT SELECT SEARCH docs 'parallel' K 1 BUDGET 200")
        .expect("context");
    assert!(r.text.contains("asyncio"), "{}", r.text);
}

#[test]
fn embedder_errors_and_dimension_mismatch_are_typed() {
    let (db, c) = db_with_docs();
    let err = c.upsert_text("e", "  ", json!(null)).expect_err("empty");
    assert_eq!(err.kind(), toondb::ErrorKind::InvalidArgument);
    assert!(c.get("e").expect("get").is_none());
    let plain = db
        .create_collection("plain", 4, Metric::Cosine, CollectionOptions::default())
        .expect("plain");
    let err = plain.search_text("x", 1).expect_err("no embedder");
    assert!(err.to_string().contains("no text embedder"), "{err}");
    let err = plain.set_embedder(Arc::new(Topics)).expect_err("dim");
    assert_eq!(err.kind(), toondb::ErrorKind::InvalidArgument);
    let err = db
        .create_collection(
            "bad",
            5,
            Metric::Cosine,
            CollectionOptions::default().embedder(Arc::new(Topics)),
        )
        .expect_err("dim mismatch");
    assert_eq!(err.kind(), toondb::ErrorKind::InvalidArgument);
    // Without an embedder, a text-only context search stays keyword-only.
    let r = db
        .execute_context("CONTEXT SELECT SEARCH plain 'parallel' K 1 BUDGET 200")
        .expect("context");
    assert!(!r.text.contains("asyncio"));
}
