//! Measurement (ignored by default): reopen + first search of a collection loaded from its
//! graph image versus rebuilt from the stored vectors (the path every open took before graph
//! images). Run in release on the minilm-20k data set:
//!
//! ```text
//! TOONDB_MINILM_DIR=/work/shared/data/minilm-20k \
//!   cargo test --release -p toondb --test collection_reopen_time -- --ignored --nocapture
//! ```
//!
//! Prints timings only; the assertions check that both opens return the same documents.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use toondb::{CollectionOptions, Database, Document, Metric};
use toondb_index::texmex;

#[test]
#[ignore = "measurement; needs TOONDB_MINILM_DIR and a release build"]
fn minilm_reopen_with_image_vs_rebuild() {
    let Ok(dir) = std::env::var("TOONDB_MINILM_DIR") else {
        eprintln!("TOONDB_MINILM_DIR not set; skipped");
        return;
    };
    let dir = std::path::Path::new(&dir);
    let base = texmex::read_fvecs(&dir.join("base.fvecs")).unwrap();
    let query = texmex::read_fvecs(&dir.join("query.fvecs")).unwrap();
    let n = base.rows();
    let tmp = tempfile::tempdir().unwrap();

    let db = Database::open(tmp.path()).unwrap();
    let c = db
        .create_collection("m", base.dim, Metric::Cosine, CollectionOptions::default())
        .unwrap();
    let t = Instant::now();
    for start in (0..n).step_by(1000) {
        let docs: Vec<Document> = (start..(start + 1000).min(n))
            .map(|i| Document::new(format!("p{i}"), base.row(i).to_vec()))
            .collect();
        c.upsert_many(docs).unwrap();
    }
    let build = t.elapsed();
    let t = Instant::now();
    c.checkpoint().unwrap();
    let checkpoint = t.elapsed();
    let q0 = query.row(0).to_vec();
    let expect: Vec<String> = c
        .search(&q0, 10)
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    db.close().unwrap();

    let open_and_search = |label: &str| {
        let t = Instant::now();
        let db = Database::open(tmp.path()).unwrap();
        let c = db.collection("m").unwrap();
        let hits = c.search(&q0, 10).unwrap();
        let el = t.elapsed();
        let st = c.open_stats();
        println!(
            "{label}: reopen + first search {:.3} s (index ready {:.3} s, image used {}, fallback {:?}, {} vectors)",
            el.as_secs_f64(),
            st.duration.as_secs_f64(),
            st.graph_image_used,
            st.fallback,
            st.vectors
        );
        let got: Vec<String> = hits.into_iter().map(|h| h.id).collect();
        (db, got, st.graph_image_used)
    };

    let (db, got, used) = open_and_search("graph image");
    assert!(used);
    assert_eq!(got.len(), 10);
    let overlap = got.iter().filter(|x| expect.contains(x)).count();
    // Remove the image so the next open takes the rebuild path.
    let mut meta = vec![0x13u8];
    meta.extend_from_slice(b"m\0g/meta");
    db.engine().delete(&meta).unwrap();
    db.close().unwrap();
    let (_db, got2, used2) = open_and_search("rebuild (no image)");
    assert!(!used2);
    assert_eq!(got2.len(), 10);
    println!(
        "n {n}: build {:.2} s, checkpoint {:.3} s, top-10 overlap image/original {overlap}/10",
        build.as_secs_f64(),
        checkpoint.as_secs_f64()
    );
}
