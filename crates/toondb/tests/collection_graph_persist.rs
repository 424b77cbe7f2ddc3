//! Collections persist their HNSW graph as a checkpointed image: reopening loads the image
//! and patches it with the writes committed after the checkpoint (inserts, updates, deletes),
//! a damaged image falls back to a rebuild with the same results, rolled-back writes never
//! appear, and a writer killed with SIGKILL leaves every acknowledged document searchable.
//!
//! The SIGKILL test re-invokes its own executable, running only `graph_crash_child` with
//! `TOONDB_GRAPH_CRASH_DIR` set; that child writes documents until killed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use toondb::{Collection, CollectionOptions, Database, Document, Metric, SearchRequest};

const DIM: usize = 8;

/// Deterministic pseudo-random vector for `(i, gen)`.
fn vector(i: usize, gen: usize) -> Vec<f32> {
    let mut x = (i as u64 + 1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((gen as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    (0..DIM)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 10_000) as f32 / 1000.0
        })
        .collect()
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn create(db: &Database) -> Collection {
    db.create_collection(
        "g",
        DIM,
        Metric::L2,
        CollectionOptions::default().with_ef_search(200),
    )
    .unwrap()
}

/// Exact top-k ids over `live` (id, vector).
fn brute(live: &[(String, Vec<f32>)], q: &[f32], k: usize) -> Vec<String> {
    let mut d: Vec<(f32, &String)> = live.iter().map(|(id, v)| (l2(q, v), id)).collect();
    d.sort_by(|a, b| a.0.total_cmp(&b.0));
    d.into_iter().take(k).map(|(_, id)| id.clone()).collect()
}

/// Every live document is found by its own vector, nothing else is, and top-10 lists match
/// brute force on a few queries.
fn check(c: &Collection, live: &[(String, Vec<f32>)], gone: &[String]) {
    assert_eq!(c.len(), live.len());
    for (id, v) in live {
        let hits = c.search(v, 1).unwrap();
        assert_eq!(&hits[0].id, id, "document {id} not found by its vector");
    }
    let all: HashSet<String> = c
        .search_with(&SearchRequest::vector(vector(0, 99), live.len() + 10).ef_search(1000))
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    for g in gone {
        assert!(
            !all.contains(g),
            "deleted or rolled-back {g} still searchable"
        );
    }
    for q in 0..5 {
        let qv = vector(10_000 + q, 7);
        let got: Vec<String> = c
            .search(&qv, 10)
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect();
        assert_eq!(got, brute(live, &qv, 10), "query {q}");
    }
}

/// Writes 300 documents, optionally checkpoints, then inserts 50, updates 20 (new vectors)
/// and deletes 30; optionally checkpoints again. Returns the live set and the deleted ids.
fn populate(
    c: &Collection,
    cp_before: bool,
    cp_after: bool,
) -> (Vec<(String, Vec<f32>)>, Vec<String>) {
    let docs: Vec<Document> = (0..300)
        .map(|i| Document::new(format!("d{i}"), vector(i, 0)).with_metadata(json!({"i": i})))
        .collect();
    c.upsert_many(docs).unwrap();
    if cp_before {
        c.checkpoint().unwrap();
    }
    for i in 300..350 {
        c.insert(Document::new(format!("d{i}"), vector(i, 0)))
            .unwrap();
    }
    for i in 0..20 {
        c.upsert(Document::new(format!("d{i}"), vector(i, 1)))
            .unwrap();
    }
    let mut gone = Vec::new();
    for i in (20..320).step_by(10) {
        assert!(c.delete(&format!("d{i}")).unwrap());
        gone.push(format!("d{i}"));
    }
    if cp_after {
        c.checkpoint().unwrap();
    }
    let live = (0..350)
        .filter(|i| !(20..320).contains(i) || i % 10 != 0)
        .map(|i| (format!("d{i}"), vector(i, usize::from(i < 20))))
        .collect();
    (live, gone)
}

fn reopen(path: &Path) -> (Database, Collection) {
    let db = Database::open(path).unwrap();
    let c = db.collection("g").unwrap();
    (db, c)
}

#[test]
fn reopen_loads_image_and_patches_inserts_updates_deletes() {
    for (cp_before, cp_after) in [(false, false), (true, false), (false, true), (true, true)] {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).unwrap();
        let c = create(&db);
        let (live, gone) = populate(&c, cp_before, cp_after);
        check(&c, &live, &gone);
        // Dropped, not closed: `close` would checkpoint the changes after the last checkpoint
        // (tested below); here the reopen must patch them in.
        drop(c);
        drop(db);

        let (db, c) = reopen(dir.path());
        let stats = c.open_stats();
        assert_eq!(stats.vectors, live.len());
        assert_eq!(
            stats.graph_image_used,
            cp_before || cp_after,
            "case {cp_before}/{cp_after}: {stats:?}"
        );
        if !stats.graph_image_used {
            assert_eq!(stats.fallback.as_deref(), Some("no graph image"));
        }
        check(&c, &live, &gone);
        // Writes after a reopen from the image work and survive the next reopen too.
        c.insert(Document::new("late", vector(999, 3))).unwrap();
        c.checkpoint().unwrap();
        db.close().unwrap();
        let (_db, c) = reopen(dir.path());
        assert!(c.open_stats().graph_image_used);
        let mut live2 = live.clone();
        live2.push(("late".into(), vector(999, 3)));
        check(&c, &live2, &gone);
    }
}

#[test]
fn close_checkpoints_collections_changed_since_their_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let c = create(&db);
    let (live, gone) = populate(&c, true, false);
    let before = c.open_stats().checkpoints;
    db.close().unwrap();
    assert_eq!(
        c.open_stats().checkpoints,
        before + 1,
        "close wrote a checkpoint"
    );
    let (db, c) = reopen(dir.path());
    let stats = c.open_stats();
    assert!(stats.graph_image_used, "{stats:?}");
    check(&c, &live, &gone);
    // Nothing changed since: closing again writes no checkpoint.
    db.close().unwrap();
    assert_eq!(c.open_stats().checkpoints, 0);
}

#[test]
fn flipped_byte_in_image_falls_back_to_rebuild_with_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let c = create(&db);
    let (live, gone) = populate(&c, false, true);
    db.close().unwrap();

    let (db, c) = reopen(dir.path());
    assert!(c.open_stats().graph_image_used);
    let queries: Vec<Vec<f32>> = (0..20).map(|q| vector(20_000 + q, 5)).collect();
    let before: Vec<Vec<String>> = queries
        .iter()
        .map(|q| c.search(q, 10).unwrap().into_iter().map(|h| h.id).collect())
        .collect();
    // Flip one byte in the middle of the first image chunk.
    let mut key = vec![0x13u8];
    key.extend_from_slice(b"g\0g/c/");
    key.extend_from_slice(&0u32.to_be_bytes());
    let mut chunk = db.engine().get(&key).unwrap().expect("image chunk stored");
    let mid = chunk.len() / 2;
    chunk[mid] ^= 0x5A;
    db.engine().put(&key, &chunk).unwrap();
    db.close().unwrap();

    let (_db, c) = reopen(dir.path());
    let stats = c.open_stats();
    assert!(!stats.graph_image_used, "{stats:?}");
    assert!(
        stats
            .fallback
            .as_deref()
            .unwrap_or("")
            .contains("graph image"),
        "{stats:?}"
    );
    let after: Vec<Vec<String>> = queries
        .iter()
        .map(|q| c.search(q, 10).unwrap().into_iter().map(|h| h.id).collect())
        .collect();
    assert_eq!(before, after);
    for (q, got) in queries.iter().zip(&after) {
        assert_eq!(got, &brute(&live, q, 10));
    }
    check(&c, &live, &gone);
}

#[test]
fn rolled_back_documents_never_appear_after_checkpoint_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let c = create(&db);
    let (live, mut gone) = populate(&c, true, false);
    let tx = db.begin().unwrap();
    tx.collection("g")
        .unwrap()
        .upsert(Document::new("ghost", vector(5000, 0)))
        .unwrap();
    tx.rollback();
    gone.push("ghost".into());
    c.checkpoint().unwrap();
    check(&c, &live, &gone);
    db.close().unwrap();
    let (_db, c) = reopen(dir.path());
    assert!(c.open_stats().graph_image_used);
    check(&c, &live, &gone);
    assert!(c.get("ghost").unwrap().is_none());
}

#[test]
fn rebuild_index_ignores_image_and_checkpoint_counts() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let c = create(&db);
    let (live, gone) = populate(&c, true, true);
    assert_eq!(c.open_stats().checkpoints, 2);
    c.rebuild_index().unwrap();
    check(&c, &live, &gone);
}

// ------------------------------------------------------------------ SIGKILL

const ENV: &str = "TOONDB_GRAPH_CRASH_DIR";

/// The child: not a test on its own (returns at once without the environment variable).
/// Document `n` is inserted as step `n`; every 7th step also deletes document `n - 3`; every
/// 25th step checkpoints the graph. Prints "ack n" after step `n` committed.
#[test]
fn graph_crash_child() {
    let Ok(dir) = std::env::var(ENV) else { return };
    let db = Database::open(&dir).unwrap();
    let c = match db.collection("g") {
        Ok(c) => c,
        Err(_) => create(&db),
    };
    let start: usize = db
        .get("next")
        .unwrap()
        .map_or(0, |b| String::from_utf8(b).unwrap().parse().unwrap());
    for n in start.. {
        c.upsert(Document::new(format!("d{n}"), vector(n, 0)))
            .unwrap();
        if n % 7 == 6 {
            c.delete(&format!("d{}", n - 3)).unwrap();
        }
        db.put("next", (n + 1).to_string()).unwrap();
        println!("ack {n}");
        if n % 25 == 24 {
            c.checkpoint().unwrap();
        }
    }
}

fn deleted(n: usize) -> bool {
    // d{m} is deleted at step m + 3 when (m + 3) % 7 == 6.
    (n + 3) % 7 == 6
}

#[test]
fn acknowledged_documents_searchable_after_sigkill_with_stale_image() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked: Option<usize> = None;
    let mut image_used = 0;
    for round in 0..4u64 {
        let mut child = Command::new(&exe)
            .args([
                "graph_crash_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        for line in lines.by_ref() {
            if let Some(n) = line.unwrap().strip_prefix("ack ") {
                let n: usize = n.trim().parse().unwrap();
                acked = Some(acked.map_or(n, |a| a.max(n)));
                seen += 1;
                if seen >= 40 {
                    break;
                }
            }
        }
        assert!(seen >= 40, "child stopped early");
        std::thread::sleep(Duration::from_millis(2 * round + 1));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        for line in lines.map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("ack ") {
                let n: usize = n.trim().parse().unwrap();
                acked = Some(acked.map_or(n, |a| a.max(n)));
            }
        }

        let (db, c) = reopen(dir.path());
        let stats = c.open_stats();
        if stats.graph_image_used {
            image_used += 1;
        }
        c.verify().unwrap();
        let last = acked.unwrap();
        // The step after the last acknowledged one may have committed (its ack was lost).
        for n in 0..=last {
            let id = format!("d{n}");
            if deleted(n) {
                // Deleted at step n + 3; that step may have committed unacknowledged.
                if n + 3 <= last {
                    assert!(c.get(&id).unwrap().is_none(), "{id} should be deleted");
                }
                continue;
            }
            let hits = c.search(&vector(n, 0), 1).unwrap();
            assert_eq!(
                hits[0].id, id,
                "round {round}: acknowledged {id} not searchable"
            );
        }
        // Index and records agree: every stored document is in the graph.
        let all = c
            .search_with(&SearchRequest::vector(vector(0, 0), c.len() + 5).ef_search(2000))
            .unwrap();
        assert_eq!(all.len(), c.len(), "round {round}: {stats:?}");
        db.close().unwrap();
    }
    assert!(
        image_used >= 2,
        "graph image used in only {image_used} reopens"
    );
}
