//! The `*_async` methods (feature `async`; run with `cargo test -p toondb --features async`).
#![cfg(feature = "async")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use toondb::{Database, Document, ErrorKind, Metric, SearchRequest, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_methods_match_sync_ones() {
    let db = Database::open_in_memory().unwrap();
    let mut hs = Vec::new();
    for i in 0..50u32 {
        let db = db.clone();
        hs.push(tokio::spawn(async move {
            db.put_async(format!("k{i:02}"), i.to_string()).await
        }));
    }
    for h in hs {
        h.await.unwrap().unwrap();
    }
    assert_eq!(db.scan_prefix_async("k").await.unwrap().len(), 50);
    assert_eq!(
        db.get_async("k07").await.unwrap().as_deref(),
        Some(&b"7"[..])
    );
    db.delete_async("k07").await.unwrap();
    assert_eq!(db.get("k07").unwrap(), None);

    db.execute_async("CREATE TABLE t(x INTEGER)", vec![])
        .await
        .unwrap();
    assert_eq!(
        db.execute_async(
            "INSERT INTO t VALUES (?), (?)",
            vec![Value::from(1), Value::from(2)]
        )
        .await
        .unwrap(),
        2
    );
    let rows = db
        .query_async("SELECT sum(x) FROM t", vec![])
        .await
        .unwrap();
    assert_eq!(rows[0].get::<i64>(0).unwrap(), 3);
    let e = db
        .query_async("SELECT * FROM nope", vec![])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);

    let n = db
        .transaction_async(|tx| {
            tx.put("in-tx", "1")?;
            tx.execute("INSERT INTO t VALUES (10)", &[])
        })
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(db.get("in-tx").unwrap().as_deref(), Some(&b"1"[..]));

    let c = db
        .create_collection("c", 2, Metric::L2, Default::default())
        .unwrap();
    c.upsert_async(Document::new("a", vec![0.0, 1.0]).with_text("alpha"))
        .await
        .unwrap();
    c.upsert_async(Document::new("b", vec![1.0, 0.0]).with_text("beta"))
        .await
        .unwrap();
    let hits = c
        .search_async(SearchRequest::vector(vec![0.9, 0.0], 1))
        .await
        .unwrap();
    assert_eq!(hits[0].id, "b");
    assert!(c.delete_async("b").await.unwrap());
    let r = db
        .execute_context_async("CONTEXT SEARCH c 'alpha' K 1 BUDGET 40")
        .await
        .unwrap();
    assert_eq!(r.text, "retrieval[1]{id,score,text}:\n  a,0.2877,alpha");
}

/// Point operations run on the calling task; a loop of them must still let other tasks (and
/// timers) run, even on a single-threaded runtime.
#[test]
fn inline_point_operations_yield_to_other_tasks() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let db = Database::open_in_memory().unwrap();
    rt.block_on(async {
        for op in ["get", "put", "delete"] {
            let ran = Arc::new(AtomicBool::new(false));
            let r2 = ran.clone();
            tokio::spawn(async move { r2.store(true, Ordering::SeqCst) });
            let mut n = 0;
            while !ran.load(Ordering::SeqCst) && n < 100_000 {
                match op {
                    "get" => drop(db.get_async(b"k".to_vec()).await.unwrap()),
                    "put" => db.put_async(b"k".to_vec(), b"v".to_vec()).await.unwrap(),
                    _ => db.delete_async(b"k".to_vec()).await.unwrap(),
                }
                n += 1;
            }
            assert!(
                ran.load(Ordering::SeqCst),
                "{op}_async never yielded in {n} calls"
            );
        }
    });
}
