//! A metadata filter that passes few documents switches the vector search to an exact scan
//! of the passing documents: the k results equal brute force over that set, and a filter
//! passing fewer than k documents returns all of them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use toondb::{CollectionOptions, Database, Document, Filter, Metric, SearchRequest};

fn vector(i: usize) -> Vec<f32> {
    let mut x = (i as u64 + 7).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..16)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 1000) as f32 / 100.0
        })
        .collect()
}

#[test]
fn selective_filters_return_exact_top_k() {
    let db = Database::open_in_memory().unwrap();
    let c = db
        .create_collection(
            "f",
            16,
            Metric::L2,
            CollectionOptions::default().with_ef_search(16),
        )
        .unwrap();
    let n = 3000;
    let docs: Vec<Document> = (0..n)
        .map(|i| {
            Document::new(format!("d{i}"), vector(i))
                .with_metadata(json!({"b200": i % 200, "b20": i % 20, "b2": i % 2}))
        })
        .collect();
    c.upsert_many(docs).unwrap();
    for (field, modulus) in [("b200", 200), ("b20", 20), ("b2", 2)] {
        for q in 0..10 {
            let qv = vector(100_000 + q);
            let k = 10;
            let got: Vec<String> = c
                .search_with(&SearchRequest::vector(qv.clone(), k).filter(Filter::eq(field, 0)))
                .unwrap()
                .into_iter()
                .map(|h| h.id)
                .collect();
            let mut exact: Vec<(f32, String)> = (0..n)
                .filter(|i| i % modulus == 0)
                .map(|i| {
                    let d: f32 = vector(i)
                        .iter()
                        .zip(&qv)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum();
                    (d, format!("d{i}"))
                })
                .collect();
            exact.sort_by(|a, b| a.0.total_cmp(&b.0));
            let exact: Vec<String> = exact.into_iter().take(k).map(|x| x.1).collect();
            if modulus >= 20 {
                // 0.5 % and 5 % selectivity: exact search over the filtered set.
                assert_eq!(got, exact, "{field} query {q}");
            } else {
                // 50 %: graph walk; k results, all passing the filter.
                assert_eq!(got.len(), k);
                assert!(got
                    .iter()
                    .all(|id| id[1..].parse::<usize>().unwrap() % 2 == 0));
            }
        }
    }
    // Fewer passing documents than k: all of them.
    let hits = c
        .search_with(&SearchRequest::vector(vector(1), 50).filter(Filter::eq("b200", 3)))
        .unwrap();
    assert_eq!(hits.len(), n / 200);
}
