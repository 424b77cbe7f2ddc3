//! Collections: vector search (vs brute force), metadata filters, BM25, hybrid RRF, upsert
//! and delete semantics, persistence and index rebuild on reopen.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use serde_json::json;
use toondb::{CollectionOptions, Database, Document, ErrorKind, Filter, Metric, SearchRequest};

fn rng(seed: &mut u64) -> f32 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    ((*seed >> 40) as f32 / (1u64 << 24) as f32) - 0.5
}

const TAGS: [&str; 4] = ["a", "b", "c", "d"];

fn random_docs(n: usize, dim: usize) -> Vec<Document> {
    let mut s = 42u64;
    (0..n)
        .map(|i| {
            let v: Vec<f32> = (0..dim).map(|_| rng(&mut s)).collect();
            Document::new(format!("d{i:04}"), v)
                .with_text(format!("document number {i} about {}", ["cats", "dogs", "birds"][i % 3]))
                .with_metadata(json!({"group": i % 3, "even": i % 2 == 0, "year": 2000 + (i % 25) as i64, "tag": TAGS[i % 4]}))
        })
        .collect()
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

#[test]
fn vector_search_matches_brute_force_and_filters() {
    let db = Database::open_in_memory().unwrap();
    let dim = 16;
    let c = db
        .create_collection("vecs", dim, Metric::L2, CollectionOptions::default())
        .unwrap();
    let docs = random_docs(400, dim);
    c.upsert_many(docs.clone()).unwrap();
    assert_eq!(c.len(), 400);
    let mut s = 7u64;
    let mut recall_hits = 0;
    let queries = 20;
    for _ in 0..queries {
        let q: Vec<f32> = (0..dim).map(|_| rng(&mut s)).collect();
        let mut exact: Vec<(f32, &str)> = docs
            .iter()
            .map(|d| (l2(&q, &d.vector), d.id.as_str()))
            .collect();
        exact.sort_by(|a, b| a.0.total_cmp(&b.0));
        let hits = c.search(&q, 10).unwrap();
        assert_eq!(hits.len(), 10);
        assert!(
            hits.windows(2).all(|w| w[0].score >= w[1].score),
            "sorted by score"
        );
        let top: std::collections::HashSet<&str> = exact[..10].iter().map(|e| e.1).collect();
        recall_hits += hits.iter().filter(|h| top.contains(h.id.as_str())).count();
        // Scores are -distance for L2, and the distance is the true distance.
        let d = docs.iter().find(|d| d.id == hits[0].id).unwrap();
        assert!((hits[0].distance.unwrap() - l2(&q, &d.vector)).abs() < 1e-4);
        assert_eq!(hits[0].score, -hits[0].distance.unwrap());

        // Filtered: every hit satisfies the filter and equals the exact filtered top-k.
        let f = Filter::eq("group", 1).and(Filter::range("year").gte(2005).lt(2020));
        let hits = c
            .search_with(&SearchRequest::vector(q.clone(), 5).filter(f.clone()))
            .unwrap();
        let want: Vec<&str> = exact
            .iter()
            .filter(|(_, id)| f.matches(&docs.iter().find(|d| d.id == *id).unwrap().metadata))
            .take(5)
            .map(|e| e.1)
            .collect();
        let got: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(got.len(), 5);
        for h in &hits {
            assert!(f.matches(&h.metadata));
        }
        let overlap = got.iter().filter(|g| want.contains(g)).count();
        assert!(overlap >= 4, "filtered recall too low: {got:?} vs {want:?}");
    }
    let recall = recall_hits as f64 / (queries * 10) as f64;
    assert!(recall >= 0.9, "recall@10 = {recall}");

    // In-list filter with few matches returns exactly the matching docs.
    let f = Filter::is_in("tag", ["a"])
        .and(Filter::eq("even", true))
        .and(Filter::range("year").lte(2001));
    let hits = c
        .search_with(&SearchRequest::vector(vec![0.0; dim], 50).filter(f.clone()))
        .unwrap();
    let n = docs.iter().filter(|d| f.matches(&d.metadata)).count();
    assert!(n > 0);
    assert_eq!(hits.len(), n);
}

#[test]
fn bm25_keyword_search() {
    let db = Database::open_in_memory().unwrap();
    let c = db
        .create_collection("kw", 2, Metric::Cosine, CollectionOptions::default())
        .unwrap();
    let texts = [
        ("short", "rust database"),
        ("long", "rust is a language; this long text mentions a database once among many many other words here"),
        ("twice", "database database rust"),
        ("none", "nothing relevant at all"),
        ("unicode", "Über Datenbanken: ÜBER alles"),
    ];
    for (i, (id, t)) in texts.iter().enumerate() {
        c.insert(
            Document::new(*id, vec![1.0, i as f32])
                .with_text(*t)
                .with_metadata(json!({"i": i})),
        )
        .unwrap();
    }
    c.insert(Document::new("notext", vec![0.5, 0.5])).unwrap();
    let hits = c.keyword_search("database", 10).unwrap();
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["twice", "short", "long"],
        "tf and length normalisation order"
    );
    assert!(hits
        .iter()
        .all(|h| h.keyword_score == Some(h.score) && h.distance.is_none()));
    // Case-insensitive, stop words ignored, unicode lower-casing.
    assert_eq!(c.keyword_search("THE über", 5).unwrap()[0].id, "unicode");
    assert!(c.keyword_search("the of and", 5).unwrap().is_empty());
    // Rarer term weighs more: "language" appears once in the corpus, "rust" thrice.
    let hits = c.keyword_search("rust language", 5).unwrap();
    assert_eq!(hits[0].id, "long");
    // Filters apply to keyword search too.
    let hits = c
        .search_with(&SearchRequest::text("database", 10).filter(Filter::range("i").gte(1)))
        .unwrap();
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, vec!["twice", "long"]);
    // Text and metadata come back with hits.
    assert_eq!(hits[0].text.as_deref(), Some("database database rust"));
    assert_eq!(hits[0].metadata["i"], json!(2));
}

#[test]
fn hybrid_search_fuses_rankings() {
    let db = Database::open_in_memory().unwrap();
    let c = db
        .create_collection("hy", 2, Metric::Cosine, CollectionOptions::default())
        .unwrap();
    // "both" is second in each ranking; "vec" first by vector only; "kw" first by keyword only.
    c.upsert(Document::new("vec", vec![1.0, 0.0]).with_text("unrelated words"))
        .unwrap();
    c.upsert(
        Document::new("both", vec![0.95, 0.3]).with_text("apple pie recipe with more words in it"),
    )
    .unwrap();
    c.upsert(Document::new("kw", vec![0.0, 1.0]).with_text("apple pie"))
        .unwrap();
    c.upsert(Document::new("far", vec![-1.0, 0.1]).with_text("banana"))
        .unwrap();
    // Fillers between "both" and "kw" in the vector ranking, without the keywords.
    for i in 0..5 {
        c.upsert(
            Document::new(format!("filler{i}"), vec![0.8, 0.5 + i as f32 * 0.1])
                .with_text("filler"),
        )
        .unwrap();
    }
    let q = vec![1.0, 0.0];
    let hits = c.hybrid_search("apple pie", &q, 3).unwrap();
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids[0], "both", "{ids:?}");
    let both = &hits[0];
    assert!(both.distance.is_some() && both.keyword_score.is_some());
    let expected = 1.0 / 62.0 + 1.0 / 62.0;
    assert!(
        (both.score - expected).abs() < 1e-6,
        "RRF score {} vs {expected}",
        both.score
    );
    // Weights shift the balance: keyword-only weight makes "kw" win.
    let hits = c
        .search_with(&SearchRequest::hybrid("apple pie", q.clone(), 2).weights(0.1, 1.0))
        .unwrap();
    assert_eq!(hits[0].id, "kw");
    let hits = c
        .search_with(&SearchRequest::hybrid("apple pie", q, 2).weights(1.0, 0.0))
        .unwrap();
    assert_eq!(hits[0].id, "vec");
}

#[test]
fn upsert_delete_and_errors() {
    let db = Database::open_in_memory().unwrap();
    let c = db
        .create_collection("ud", 3, Metric::Cosine, CollectionOptions::default())
        .unwrap();
    c.insert(Document::new("a", vec![1.0, 0.0, 0.0]).with_text("old words"))
        .unwrap();
    assert_eq!(
        c.insert(Document::new("a", vec![1.0, 0.0, 0.0]))
            .unwrap_err()
            .kind(),
        ErrorKind::AlreadyExists
    );
    c.upsert(
        Document::new("a", vec![0.0, 1.0, 0.0])
            .with_text("new words")
            .with_metadata(json!({"v": 2})),
    )
    .unwrap();
    assert!(c.keyword_search("old", 5).unwrap().is_empty());
    assert_eq!(c.keyword_search("new", 5).unwrap()[0].id, "a");
    let hits = c.search(&[0.0, 1.0, 0.0], 1).unwrap();
    assert_eq!(hits[0].id, "a");
    assert!(hits[0].score > 0.999);
    let got = c.get("a").unwrap().unwrap();
    assert_eq!(got.vector, vec![0.0, 1.0, 0.0]);
    assert_eq!(got.metadata["v"], json!(2));
    assert_eq!(c.len(), 1);
    assert_eq!(c.verify().unwrap(), 1);

    assert!(c.delete("a").unwrap());
    assert!(!c.delete("a").unwrap());
    assert!(c.search(&[0.0, 1.0, 0.0], 1).unwrap().is_empty());
    assert!(c.keyword_search("new", 5).unwrap().is_empty());
    assert_eq!(c.get("a").unwrap(), None);
    assert_eq!(c.verify().unwrap(), 0);

    let bad = |d: Document| c.upsert(d).unwrap_err().kind();
    assert_eq!(
        bad(Document::new("x", vec![1.0, 2.0])),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        bad(Document::new("x", vec![0.0, 0.0, 0.0])),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        bad(Document::new("x", vec![f32::NAN, 0.0, 0.0])),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        bad(Document::new("", vec![1.0, 0.0, 0.0])),
        ErrorKind::InvalidArgument
    );
    let dup = c.upsert_many(vec![
        Document::new("y", vec![1.0, 0.0, 0.0]),
        Document::new("y", vec![1.0, 0.0, 0.0]),
    ]);
    assert_eq!(dup.unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(c.len(), 0, "a rejected batch writes nothing");
    assert_eq!(
        c.search(&[1.0, 0.0, 0.0], 0).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );

    assert_eq!(
        db.create_collection("ud", 3, Metric::L2, CollectionOptions::default())
            .unwrap_err()
            .kind(),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        db.create_collection("bad name", 3, Metric::L2, CollectionOptions::default())
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        db.create_collection("zero", 0, Metric::L2, CollectionOptions::default())
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        db.collection("missing").unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn collections_persist_and_rebuild_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let docs = random_docs(120, 8);
    let q = docs[17].vector.clone();
    let before;
    {
        let db = Database::open(dir.path()).unwrap();
        let c = db
            .create_collection("p", 8, Metric::L2, CollectionOptions::default().with_m(8))
            .unwrap();
        db.create_collection(
            "other",
            4,
            Metric::InnerProduct,
            CollectionOptions::default(),
        )
        .unwrap();
        c.upsert_many(docs.clone()).unwrap();
        c.delete("d0003").unwrap();
        before = c.search(&q, 5).unwrap();
        assert_eq!(before[0].id, "d0017");
        db.close().unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.list_collections().unwrap(), vec!["other", "p"]);
    let c = db.collection("p").unwrap();
    assert_eq!(c.dim(), 8);
    assert_eq!(c.metric(), Metric::L2);
    assert_eq!(c.options().m, 8);
    assert_eq!(c.len(), 119);
    assert_eq!(c.verify().unwrap(), 119);
    let after = c.search(&q, 5).unwrap();
    assert_eq!(after[0].id, "d0017");
    assert_eq!(
        after.iter().map(|h| &h.id).collect::<Vec<_>>(),
        before.iter().map(|h| &h.id).collect::<Vec<_>>()
    );
    assert_eq!(c.get("d0003").unwrap(), None);
    // 40 of the 120 texts mention cats; d0003 (one of them) was deleted.
    assert_eq!(c.keyword_search("cats", 200).unwrap().len(), 39);
    // New inserts after reopen get fresh internal ids (no clash with stored ones).
    c.insert(Document::new("new", vec![9.0; 8]).with_text("cats"))
        .unwrap();
    assert_eq!(c.search(&[9.0; 8], 1).unwrap()[0].id, "new");
    assert_eq!(c.verify().unwrap(), 120);
    c.rebuild_index().unwrap();
    assert_eq!(c.search(&[9.0; 8], 1).unwrap()[0].id, "new");

    let stale = c.clone();
    assert!(db.drop_collection("p").unwrap());
    // Handles to a dropped collection fail instead of writing orphaned data.
    assert_eq!(
        stale
            .upsert(Document::new("z", vec![1.0; 8]))
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        stale.search(&[1.0; 8], 1).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(!db.drop_collection("p").unwrap());
    assert_eq!(db.collection("p").unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(db.list_collections().unwrap(), vec!["other"]);
    let p2 = db
        .create_collection("p", 2, Metric::L2, CollectionOptions::default())
        .unwrap();
    assert_eq!(p2.len(), 0, "a re-created collection starts empty");
}

#[test]
fn concurrent_writers_and_searchers() {
    let db = Database::open_in_memory().unwrap();
    let c = db
        .create_collection("cc", 4, Metric::L2, CollectionOptions::default())
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..3 {
            let c = c.clone();
            s.spawn(move || {
                for i in 0..30 {
                    c.upsert(
                        Document::new(format!("t{t}-{i}"), vec![t as f32, i as f32, 0.0, 1.0])
                            .with_text(format!("thread{t}")),
                    )
                    .unwrap();
                }
            });
        }
        let c = c.clone();
        s.spawn(move || {
            for _ in 0..30 {
                let _ = c.search(&[0.0, 0.0, 0.0, 1.0], 3).unwrap();
            }
        });
    });
    assert_eq!(c.len(), 90);
    assert_eq!(c.verify().unwrap(), 90);
    assert_eq!(c.keyword_search("thread1", 100).unwrap().len(), 30);
}
