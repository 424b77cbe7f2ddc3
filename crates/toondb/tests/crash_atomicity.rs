//! A document's record, vector, keyword postings and text statistics are written in one
//! storage transaction: a writer process killed (SIGKILL) at an arbitrary moment leaves every
//! batch either complete or absent, and the collection consistent.
//!
//! The test re-invokes its own executable, running only `crash_child` with
//! `TOONDB_CRASH_CHILD_DIR` set; that child writes batches forever until killed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use toondb::{CollectionOptions, Database, Document, Metric};

const ENV: &str = "TOONDB_CRASH_CHILD_DIR";
const PER_BATCH: usize = 5;

fn vector(b: usize, j: usize) -> Vec<f32> {
    vec![1.0 + b as f32, j as f32, (b * j) as f32 * 0.01, 1.0]
}

/// The child: not a test on its own (returns at once without the environment variable).
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(ENV) else { return };
    let db = Database::open(&dir).unwrap();
    let c = match db.collection("crash") {
        Ok(c) => c,
        Err(_) => db
            .create_collection("crash", 4, Metric::L2, CollectionOptions::default())
            .unwrap(),
    };
    let mut b = c.len() / PER_BATCH;
    loop {
        let mut docs: Vec<Document> = (0..PER_BATCH)
            .map(|j| {
                Document::new(format!("{b}-{j}"), vector(b, j))
                    .with_text(format!("batch{b} item{j} shared words"))
                    .with_metadata(json!({"batch": b}))
            })
            .collect();
        if b > 0 {
            // Rewrite a document of the previous batch: its old postings must go atomically.
            docs.push(
                Document::new(format!("{}-0", b - 1), vector(b - 1, 0))
                    .with_text(format!("updated by {b}")),
            );
        }
        c.upsert_many(docs).unwrap();
        println!("committed {b}");
        b += 1;
    }
}

#[test]
fn document_batches_survive_sigkill_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acknowledged = 0usize;
    for round in 0..4 {
        let mut child = Command::new(&exe)
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let want = 2 + round;
        let mut seen = 0;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("committed ") {
                acknowledged = acknowledged.max(n.trim().parse::<usize>().unwrap() + 1);
                seen += 1;
                if seen >= want {
                    break;
                }
            }
        }
        assert!(seen >= want, "child stopped early");
        // Let it get into the middle of a later batch, then kill it.
        std::thread::sleep(Duration::from_millis(3 * round as u64 + 1));
        child.kill().unwrap();
        child.wait().unwrap();
        // Any lines the child printed before dying are acknowledged commits too.
        for line in lines.map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("committed ") {
                acknowledged = acknowledged.max(n.trim().parse::<usize>().unwrap() + 1);
            }
        }

        let db = Database::open(dir.path()).unwrap();
        let c = db.collection("crash").unwrap();
        let n = c.verify().unwrap();
        assert_eq!(n % PER_BATCH, 0, "partial batch visible: {n} documents");
        let batches = n / PER_BATCH;
        assert!(
            batches >= acknowledged,
            "lost acknowledged batches: {batches} < {acknowledged}"
        );
        for b in 0..batches {
            for j in 0..PER_BATCH {
                let d = c
                    .get(&format!("{b}-{j}"))
                    .unwrap()
                    .unwrap_or_else(|| panic!("missing {b}-{j}"));
                assert_eq!(d.vector, vector(b, j));
            }
            // Batch b rewrote the first document of batch b - 1 in the same transaction.
            if b > 0 {
                let prev = c.get(&format!("{}-0", b - 1)).unwrap().unwrap();
                assert_eq!(prev.text.unwrap(), format!("updated by {b}"));
            }
        }
        // The indexes agree with the records after the rebuild on open.
        if batches > 0 {
            let last = batches - 1;
            let hits = c.search(&vector(last, 3), 1).unwrap();
            assert_eq!(hits[0].id, format!("{last}-3"));
            assert_eq!(
                c.keyword_search(&format!("batch{last}"), 10).unwrap().len(),
                PER_BATCH
            );
            if last > 0 {
                // The rewritten document no longer matches its old text.
                let old = c.keyword_search(&format!("batch{}", last - 1), 10).unwrap();
                assert_eq!(old.len(), PER_BATCH - 1);
            }
        }
        db.close().unwrap();
    }
    assert!(acknowledged >= 2);
}
