//! Crash safety of `PersistentIndex`: a child process writes vectors (inserts, upserts and
//! deletes) and is killed with SIGKILL at an arbitrary point, four times in a row. After each
//! kill the reopened index must agree exactly with the vectors stored in the engine, and the
//! stored state must be the result of a prefix of the child's (deterministic) operation
//! sequence that includes every operation the child acknowledged. The child writes graph
//! checkpoints every 40 operations, so reopening exercises both the image fast path (patched
//! with the writes made after it) and, when a kill lands mid-checkpoint, the rebuild.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use toondb_index::rng::Rng;
use toondb_index::{HnswConfig, Metric, PersistentIndex};
use toondb_storage::{Engine, Options};

const CHILD_DIR: &str = "TOONDB_INDEX_CRASH_CHILD_DIR";
const CHILD_START: &str = "TOONDB_INDEX_CRASH_CHILD_START";
const DIM: usize = 8;

fn cfg() -> HnswConfig {
    let mut c = HnswConfig::new(DIM, Metric::L2);
    c.ef_construction = 32;
    c
}

/// Operation `i`: `(id, Some(vector))` for a put, `(id, None)` for a delete.
fn op(i: u64) -> (u64, Option<Vec<f32>>) {
    let id = (i * 7) % 97;
    if i % 5 == 4 {
        (id, None)
    } else {
        let mut r = Rng::new(i);
        (id, Some((0..DIM).map(|_| r.gauss()).collect()))
    }
}

type State = BTreeMap<u64, Vec<f32>>;

fn apply(state: &mut State, i: u64) {
    match op(i) {
        (id, Some(v)) => {
            state.insert(id, v);
        }
        (id, None) => {
            state.remove(&id);
        }
    }
}

#[test]
#[ignore = "child process of `sigkill_loop_keeps_index_and_storage_in_agreement`"]
fn crash_child() {
    let (Ok(dir), Ok(start)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_START)) else {
        return;
    };
    let start: u64 = start.parse().unwrap();
    let engine = Engine::open(&dir, Options::default()).unwrap();
    let idx = PersistentIndex::open(&engine, "crash", cfg()).unwrap();
    let mut out = std::io::stdout().lock();
    for i in start.. {
        match op(i) {
            (id, Some(v)) => idx.insert(id, &v).unwrap(),
            (id, None) => {
                idx.delete(id).unwrap();
            }
        }
        if i % 40 == 39 {
            // Graph images of various ages must be reconciled with the stored vectors.
            idx.checkpoint().unwrap();
        }
        writeln!(out, "ack {i}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn sigkill_loop_keeps_index_and_storage_in_agreement() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut state = State::new();
    let mut next = 0u64;
    for round in 0..4u64 {
        let mut child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_START, next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let want = 60 + round * 23;
        let mut acked = None;
        let mut seen = 0;
        while seen < want {
            let line = lines.next().expect("child exited early").unwrap();
            if let Some(n) = line.strip_prefix("ack ") {
                acked = Some(n.parse::<u64>().unwrap());
                seen += 1;
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let acked = acked.unwrap();
        // Every acknowledged op is in the model; later ops may or may not have landed.
        for i in next..=acked {
            apply(&mut state, i);
        }

        let engine = Engine::open(dir.path(), Options::default()).unwrap();
        let idx = PersistentIndex::open(&engine, "crash", cfg()).unwrap();
        // What the engine holds.
        let mut stored = State::new();
        for kv in engine.scan_prefix(b"idx/crash/v/").unwrap() {
            let (k, v) = kv.unwrap();
            let id = u64::from_be_bytes(k[k.len() - 8..].try_into().unwrap());
            let vec: Vec<f32> = v
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            stored.insert(id, vec);
        }
        if round > 0 {
            assert!(
                idx.open_report().graph_loaded,
                "round {round}: {:?}",
                idx.open_report()
            );
        }
        // The index agrees with the engine exactly.
        assert_eq!(idx.len(), stored.len(), "round {round}");
        for (id, v) in &stored {
            assert_eq!(
                idx.with_index(|g| g.get(*id)).as_ref(),
                Some(v),
                "round {round} id {id}"
            );
            assert_eq!(
                idx.search(v, 1).unwrap()[0].id,
                *id,
                "round {round} id {id}"
            );
        }
        // The engine holds a prefix of the op sequence that includes every acked op.
        let mut j = acked;
        while state != stored {
            j += 1;
            assert!(
                j < acked + 10_000,
                "round {round}: stored state is no prefix of the ops"
            );
            apply(&mut state, j);
        }
        next = j + 1;
        drop(idx);
        engine.close().unwrap();
    }
    assert!(next > 200, "the child made progress");
}
