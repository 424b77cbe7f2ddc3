//! Point reads and scans racing with overwrites, deletes, memtable flushes and compactions.
//!
//! Every value carries its key's version number (a per-key counter incremented by the key's
//! only writer), and writers publish the versions they have started and committed. A read
//! that starts after version `lo` committed and ends before version `hi + 1` started must
//! return a version in `[lo, hi]` (a `None` only if a delete lies in that window), and a
//! reader never sees a key's version go backwards. Snapshots must keep returning what they
//! first returned while compaction rewrites the tables under them.
//!
//! Default run: a few seconds in debug. `TOONDB_LONG_TESTS=1` runs ten times more writes.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use toondb_storage::{Engine, Options, SyncMode};

const KEYS: usize = 48;
/// Keys below this are never deleted.
const STABLE: usize = 24;
const WRITERS: usize = 2;

fn key(k: usize) -> Vec<u8> {
    format!("key{k:04}").into_bytes()
}

/// Deletable keys are deleted at every version divisible by 3.
fn is_delete(k: usize, v: u64) -> bool {
    k >= STABLE && v.is_multiple_of(3)
}

fn value(k: usize, v: u64) -> Vec<u8> {
    let mut s = format!("{k:04}:{v:010}:").into_bytes();
    s.resize(160, b'.');
    s
}

fn parse(k: usize, val: &[u8]) -> u64 {
    let s = std::str::from_utf8(val).expect("value is utf-8");
    let mut parts = s.split(':');
    assert_eq!(
        parts.next(),
        Some(format!("{k:04}").as_str()),
        "value of another key"
    );
    let v = parts.next().expect("version").parse().expect("version");
    assert_eq!(val, value(k, v).as_slice(), "torn or foreign value");
    v
}

struct Published {
    /// Highest version whose write has returned.
    committed: Vec<AtomicU64>,
    /// Highest version whose write has started.
    started: Vec<AtomicU64>,
}

impl Published {
    fn window(&self, k: usize) -> u64 {
        self.committed[k].load(Ordering::SeqCst)
    }
    fn ceiling(&self, k: usize) -> u64 {
        self.started[k].load(Ordering::SeqCst)
    }
}

/// Checks one observation of key `k` made between `lo` (committed before) and `hi` (started
/// after); returns the version seen, if any.
fn check(k: usize, got: Option<&[u8]>, lo: u64, hi: u64, last: &mut HashMap<usize, u64>) {
    let floor = lo.max(last.get(&k).copied().unwrap_or(0));
    match got {
        Some(val) => {
            let v = parse(k, val);
            assert!(
                !is_delete(k, v),
                "key {k}: saw a value at a delete version {v}"
            );
            assert!(
                v >= floor && v <= hi,
                "key {k}: saw version {v}, expected within [{floor}, {hi}] (committed before \
                 the read: {lo})"
            );
            last.insert(k, v);
        }
        None => {
            assert!(k >= STABLE, "key {k} is never deleted but was missing");
            assert!(
                (floor..=hi).any(|d| is_delete(k, d)),
                "key {k}: missing, but no delete in [{floor}, {hi}]"
            );
        }
    }
}

#[test]
fn reads_see_committed_versions_while_flush_and_compaction_run() {
    let long = std::env::var_os("TOONDB_LONG_TESTS").is_some();
    let writes_per_writer: u64 = if long { 80_000 } else { 8_000 };
    let dir = tempfile::tempdir().unwrap();
    let db = Engine::open(
        dir.path(),
        Options {
            sync: SyncMode::Off,
            memtable_size: 16 << 10,
            block_cache_bytes: 64 << 10,
            block_size: 512,
            l0_compaction_trigger: 2,
            l1_target_bytes: 48 << 10,
            level_size_ratio: 3,
            target_file_size: 8 << 10,
            ..Options::default()
        },
    )
    .unwrap();
    let pubd = Arc::new(Published {
        committed: (0..KEYS).map(|_| AtomicU64::new(1)).collect(),
        started: (0..KEYS).map(|_| AtomicU64::new(1)).collect(),
    });
    for k in 0..KEYS {
        db.put(&key(k), &value(k, 1)).unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let db = db.clone();
        let pubd = pubd.clone();
        writers.push(std::thread::spawn(move || {
            let mut x = 0x2545_f491_4f6c_dd1du64 ^ (w as u64 + 1);
            for _ in 0..writes_per_writer {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Key k is written only by writer k % WRITERS.
                let k = (x as usize % (KEYS / WRITERS)) * WRITERS + w;
                let v = pubd.started[k].load(Ordering::SeqCst) + 1;
                pubd.started[k].store(v, Ordering::SeqCst);
                if is_delete(k, v) {
                    db.delete(&key(k)).unwrap();
                } else {
                    db.put(&key(k), &value(k, v)).unwrap();
                }
                pubd.committed[k].store(v, Ordering::SeqCst);
            }
        }));
    }

    // Keeps forcing flushes and full compactions on top of the automatic ones.
    let churn = {
        let db = db.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut rounds = 0u32;
            while !stop.load(Ordering::SeqCst) {
                if rounds % 4 == 3 {
                    db.compact_range(None, None).unwrap();
                } else {
                    db.flush().unwrap();
                }
                rounds += 1;
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };

    let mut readers = Vec::new();
    for r in 0..3u64 {
        let db = db.clone();
        let pubd = pubd.clone();
        let stop = stop.clone();
        readers.push(std::thread::spawn(move || {
            let mut last: HashMap<usize, u64> = HashMap::new();
            let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ r;
            let mut gets = 0u64;
            let mut scans = 0u64;
            while !stop.load(Ordering::SeqCst) {
                for _ in 0..64 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let k = x as usize % KEYS;
                    let lo = pubd.window(k);
                    let got = db.get(&key(k)).unwrap();
                    let hi = pubd.ceiling(k);
                    check(k, got.as_deref(), lo, hi, &mut last);
                    gets += 1;
                }
                // A full scan, consumed slowly so that tables are replaced under it.
                let los: Vec<u64> = (0..KEYS).map(|k| pubd.window(k)).collect();
                let it = db.scan_prefix(b"key").unwrap();
                let mut seen = vec![None; KEYS];
                for (i, kv) in it.enumerate() {
                    let (k, v) = kv.unwrap();
                    let n: usize = std::str::from_utf8(&k[3..]).unwrap().parse().unwrap();
                    assert!(seen[n].is_none(), "key {n} returned twice");
                    seen[n] = Some(v);
                    if i % 8 == 0 {
                        std::thread::yield_now();
                    }
                }
                let his: Vec<u64> = (0..KEYS).map(|k| pubd.ceiling(k)).collect();
                for (k, v) in seen.iter().enumerate() {
                    check(k, v.as_deref(), los[k], his[k], &mut last);
                }
                scans += 1;
                // A registered snapshot keeps answering the same while compaction runs.
                if r == 0 && scans.is_multiple_of(4) {
                    let snap = db.snapshot();
                    let first: Vec<_> = (0..KEYS).map(|k| snap.get(&key(k)).unwrap()).collect();
                    std::thread::sleep(std::time::Duration::from_millis(3));
                    db.flush().unwrap();
                    let again: Vec<_> = (0..KEYS).map(|k| snap.get(&key(k)).unwrap()).collect();
                    assert_eq!(first, again, "snapshot changed under flush/compaction");
                    let scanned = snap.scan_prefix(b"key").unwrap().count();
                    assert_eq!(scanned, first.iter().flatten().count());
                }
            }
            (gets, scans)
        }));
    }

    for h in writers {
        h.join().unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    churn.join().unwrap();
    let mut total_gets = 0;
    for h in readers {
        let (gets, scans) = h.join().unwrap();
        assert!(gets > 0 && scans > 0);
        total_gets += gets;
    }
    // The final state is exactly the last committed version of every key.
    let mut last = HashMap::new();
    for k in 0..KEYS {
        let v = pubd.committed[k].load(Ordering::SeqCst);
        check(k, db.get(&key(k)).unwrap().as_deref(), v, v, &mut last);
    }
    let st = db.stats();
    assert!(
        st.flushes > 10 && st.compactions > 5,
        "the test must exercise flush and compaction: {st:?}"
    );
    assert_eq!(st.live_snapshots, 0);
    assert!(total_gets > 0);
    assert!(db.verify().unwrap().problems.is_empty());
    db.close().unwrap();
}
