//! Context assembly: the budget is never exceeded, low priorities go first, duplicates appear
//! once, per-section caps and keep-first/keep-last rules hold, and token counts are exact.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use serde_json::json;
use toondb::{
    params, CollectionOptions, Database, Document, Keep, Message, Metric, SearchRequest, Section,
    Tokenizer,
};
use toondb_toon::count_tokens;

fn setup() -> Database {
    let db = Database::open_in_memory().unwrap();
    db.execute(
        "CREATE TABLE orders(id INTEGER PRIMARY KEY, item TEXT, total REAL)",
        params![],
    )
    .unwrap();
    for i in 0..30 {
        db.execute(
            "INSERT INTO orders(item, total) VALUES (?, ?)",
            params![format!("item number {i}"), i as f64 * 1.5],
        )
        .unwrap();
    }
    let c = db
        .create_collection("kb", 2, Metric::Cosine, CollectionOptions::default())
        .unwrap();
    for i in 0..12 {
        c.upsert(
            Document::new(format!("doc{i}"), vec![1.0, i as f32])
                .with_text(format!(
                    "knowledge base entry {i} about shipping and returns policy"
                ))
                .with_metadata(json!({"i": i})),
        )
        .unwrap();
    }
    for i in 0..8 {
        db.put(format!("pref:{i}"), format!("preference value {i}"))
            .unwrap();
    }
    db
}

fn history(n: usize) -> Vec<Message> {
    (0..n)
        .map(|i| {
            Message::new(
                if i % 2 == 0 { "user" } else { "assistant" },
                format!("message {i} in the chat"),
            )
        })
        .collect()
}

fn full(db: &Database, budget: usize, tok: Tokenizer) -> toondb::ContextResult {
    db.context()
        .budget(budget)
        .tokenizer(tok)
        .system("You are a support assistant. Answer briefly and cite document ids.")
        .history(history(10))
        .section(Section::search("kb", SearchRequest::text("shipping returns", 8)).priority(30))
        .section(
            Section::sql("SELECT id, item, total FROM orders ORDER BY id", &[])
                .named("orders")
                .priority(5),
        )
        .section(Section::kv_prefix("pref:").named("prefs").priority(1))
        .build()
        .unwrap()
}

#[test]
fn never_exceeds_budget_and_counts_are_exact() {
    let db = setup();
    let unlimited = full(&db, 1_000_000, Tokenizer::O200k);
    assert!(unlimited
        .sections
        .iter()
        .all(|s| !s.truncated && s.items_dropped == 0));
    let max = unlimited.total_tokens;
    for tok in [Tokenizer::O200k, Tokenizer::Cl100k] {
        let mut budget = 0;
        let step = if tok == Tokenizer::O200k { 29 } else { 97 };
        while budget <= max + 10 {
            let r = full(&db, budget, tok);
            assert!(r.total_tokens <= budget, "{} > {budget}", r.total_tokens);
            assert_eq!(r.total_tokens, count_tokens(&r.text, tok), "exact count");
            assert_eq!(r.budget, budget);
            for s in &r.sections {
                if s.items_included == 0 {
                    assert_eq!(s.tokens, 0);
                    assert!(
                        !r.text.contains(&format!("{}:", s.name))
                            && !r.text.contains(&format!("{}[", s.name))
                    );
                }
            }
            budget += step;
        }
    }
    // The TOON is decodable and tabular.
    assert!(unlimited.text.contains("orders[30]{id,item,total}:"));
    assert!(unlimited.text.contains("history[10]{role,content}:"));
    toondb_toon::decode(&unlimited.text, &Default::default()).unwrap();
}

#[test]
fn lowest_priority_goes_first() {
    let db = setup();
    let unlimited = full(&db, 1_000_000, Tokenizer::O200k);
    let tokens = |name: &str, r: &toondb::ContextResult| {
        r.sections.iter().find(|s| s.name == name).unwrap().clone()
    };
    // A budget that forces dropping all of the lowest-priority `prefs` section and a few
    // rows of `orders` (about 8 tokens a row).
    let prefs = tokens("prefs", &unlimited).tokens;
    let r = full(&db, unlimited.total_tokens - prefs - 20, Tokenizer::O200k);
    assert_eq!(tokens("prefs", &r).items_included, 0);
    assert!(tokens("prefs", &r).truncated);
    assert!(
        tokens("orders", &r).items_included < 30 && tokens("orders", &r).items_included > 20,
        "orders shrank a little"
    );
    for name in ["system", "history", "retrieval"] {
        assert!(!tokens(name, &r).truncated, "{name} untouched");
    }
    // Tighter: orders is truncated from the end (first rows kept) before history loses anything.
    let r = full(&db, 150, Tokenizer::O200k);
    let orders = tokens("orders", &r);
    assert_eq!(orders.items_included + orders.items_dropped, 30);
    if orders.items_included > 0 {
        assert!(r.text.contains("orders[") && r.text.contains("  1,item number 0,0"));
    }
    assert_eq!(tokens("prefs", &r).items_included, 0);
    // Very tight: only the system prompt survives, cut to fit.
    let r = full(&db, 8, Tokenizer::O200k);
    assert!(r.text.starts_with("system: You are"), "{}", r.text);
    assert!(tokens("system", &r).truncated);
    for name in ["history", "retrieval", "orders", "prefs"] {
        assert_eq!(tokens(name, &r).items_included, 0);
    }
    assert_eq!(full(&db, 0, Tokenizer::O200k).text, "");
}

#[test]
fn history_keeps_latest_and_caps_apply() {
    let db = setup();
    let r = db
        .context()
        .budget(10_000)
        .history(history(20))
        .section(
            Section::history(history(20))
                .named("first")
                .keep(Keep::First)
                .max_tokens(40)
                .priority(0),
        )
        .build()
        .unwrap();
    // Dedup: the second history section repeats the same messages, so it is empty.
    let first = &r.sections[1];
    assert_eq!(first.duplicates, 20);
    assert_eq!(first.items_included, 0);

    let r = db
        .context()
        .budget(60)
        .history(history(20))
        .build()
        .unwrap();
    let h = &r.sections[0];
    assert!(h.items_included > 0 && h.items_included < 20);
    assert!(
        r.text.contains("message 19 in the chat"),
        "latest kept: {}",
        r.text
    );
    assert!(!r.text.contains("message 0 in the chat"));

    let r = db
        .context()
        .budget(10_000)
        .section(
            Section::sql("SELECT id, item FROM orders ORDER BY id", &[])
                .named("rows")
                .max_tokens(50),
        )
        .build()
        .unwrap();
    let s = &r.sections[0];
    assert!(s.tokens <= 50 && s.items_included > 0 && s.truncated);
    assert!(r.text.contains("  1,item number 0"), "first rows kept");
    assert_eq!(s.items_included + s.items_dropped, 30);
    assert_eq!(
        r.text.lines().next().unwrap(),
        format!("rows[{}]{{id,item}}:", s.items_included)
    );
}

#[test]
fn duplicates_across_sections_appear_once() {
    let db = setup();
    let q = SearchRequest::text("shipping", 5);
    let r = db
        .context()
        .budget(10_000)
        .section(Section::search("kb", q.clone()).named("a").priority(20))
        .section(
            Section::search("kb", SearchRequest::text("shipping", 7))
                .named("b")
                .priority(10),
        )
        .text_section_for_test("knowledge base entry 0 about shipping and returns policy")
        .build()
        .unwrap();
    let a = &r.sections[0];
    let b = &r.sections[1];
    assert_eq!(a.items_included, 5);
    assert_eq!(b.duplicates, 5);
    assert_eq!(b.items_included, 2);
    // The low-priority text section repeats doc0's text: dropped as a duplicate if doc0 was
    // retrieved.
    let t = &r.sections[2];
    let doc0_included = r.text.matches("knowledge base entry 0 about").count();
    assert_eq!(doc0_included, 1);
    assert!(t.duplicates == 1 || t.items_included == 1);
    for i in 0..12 {
        assert!(r.text.matches(&format!("doc{i},")).count() <= 1);
    }
}

trait TextForTest {
    fn text_section_for_test(self, t: &str) -> Self;
}
impl TextForTest for toondb::ContextBuilder {
    fn text_section_for_test(self, t: &str) -> Self {
        self.section(Section::text("note", t).priority(0))
    }
}

#[test]
fn kv_sql_and_errors() {
    let db = setup();
    let r = db
        .context()
        .section(Section::kv_keys(["pref:1", "missing", "pref:2"]))
        .build()
        .unwrap();
    // Keys contain ':' so TOON quotes them.
    assert_eq!(
        r.text,
        "kv[2]{key,value}:\n  \"pref:1\",preference value 1\n  \"pref:2\",preference value 2"
    );
    let e = db.context().system("a").system("b").build().unwrap_err();
    assert_eq!(
        e.kind(),
        toondb::ErrorKind::InvalidArgument,
        "duplicate section names"
    );
    let e = db
        .context()
        .sql("x", "SELECT * FROM nope", &[])
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), toondb::ErrorKind::NotFound);
    let e = db
        .context()
        .search("nope", SearchRequest::text("a", 1))
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), toondb::ErrorKind::NotFound);
}
