//! Engine micro-benchmarks: single writes (Full / Normal sync), single reads, a 10-write
//! transaction, a bulk fill followed by random reads, and range scans.
//!
//! `cargo bench -p toondb-storage --bench engine`. The fill uses 200k keys; set
//! `TOONDB_BENCH_KEYS=1000000` for the full 1M-key variant.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::ops::Bound;
use std::time::{Duration, Instant};
use toondb_storage::{Direction, Engine, Isolation, Options, SyncMode, WriteBatch};

fn key(i: u64) -> Vec<u8> {
    format!("key{i:012}").into_bytes()
}

fn open(dir: &std::path::Path, sync: SyncMode) -> Engine {
    Engine::open(
        dir,
        Options {
            sync,
            ..Options::default()
        },
    )
    .expect("open")
}

fn writes(c: &mut Criterion) {
    for (name, sync) in [
        ("write_single_full", SyncMode::Full),
        ("write_single_normal", SyncMode::Normal),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = open(dir.path(), sync);
        let mut i = 0u64;
        c.bench_function(name, |b| {
            b.iter(|| {
                i += 1;
                db.put(&key(i), &[7u8; 100]).expect("put");
            })
        });
    }
}

/// Four client threads writing with `SyncMode::Full`: group commit shares fsyncs, so the
/// time per write is far below one fsync.
fn group_commit(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path(), SyncMode::Full);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    c.bench_function("write_4_threads_full_per_op", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    let db = db.clone();
                    let next = next.clone();
                    std::thread::spawn(move || {
                        for _ in 0..iters.div_ceil(4) {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            db.put(&key(i), &[7u8; 100]).expect("put");
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().expect("join");
            }
            t.elapsed()
        })
    });
    let st = db.stats();
    eprintln!(
        "group commit: {} commits, {} WAL fsyncs",
        st.commits, st.wal_syncs
    );
}

fn txn(c: &mut Criterion) {
    for (name, sync) in [
        ("txn_10_writes_full", SyncMode::Full),
        ("txn_10_writes_normal", SyncMode::Normal),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = open(dir.path(), sync);
        let mut i = 0u64;
        c.bench_function(name, |b| {
            b.iter(|| {
                let mut t = db.begin(Isolation::Snapshot).expect("begin");
                for _ in 0..10 {
                    i += 1;
                    t.put(&key(i), &[7u8; 100]).expect("put");
                }
                t.commit().expect("commit");
            })
        });
    }
}

fn fill_and_read(c: &mut Criterion) {
    let n: u64 = std::env::var("TOONDB_BENCH_KEYS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path(), SyncMode::Normal);
    // Sequential client fill, one put per key (reported, not a criterion sample).
    let t = Instant::now();
    for i in 0..n {
        db.put(&key(i), &[7u8; 100]).expect("put");
    }
    let el = t.elapsed();
    eprintln!(
        "fill: {n} puts (SyncMode::Normal, 100-byte values) in {:.2?} = {:.0} ops/s",
        el,
        n as f64 / el.as_secs_f64()
    );
    let t = Instant::now();
    let mut b = WriteBatch::new();
    for i in n..n + 100_000 {
        b.put(&key(i), &[7u8; 100]);
        if b.len() == 1000 {
            db.write(std::mem::take(&mut b)).expect("write");
        }
    }
    eprintln!(
        "batched fill: 100000 puts in batches of 1000 in {:.2?}",
        t.elapsed()
    );
    db.flush().expect("flush");
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    c.bench_function("read_single_random", |b| {
        b.iter(|| {
            let k = key(rng.gen_range(0..n));
            black_box(db.get(&k).expect("get"));
        })
    });
    c.bench_function("read_single_missing", |b| {
        b.iter(|| {
            let k = format!("nokey{}", rng.gen_range(0..n)).into_bytes();
            black_box(db.get(&k).expect("get"));
        })
    });
    c.bench_function("scan_100_forward", |b| {
        b.iter_batched(
            || key(rng.gen_range(0..n - 200)),
            |start| {
                let it = db
                    .scan(
                        Bound::Included(&start),
                        Bound::Unbounded,
                        Direction::Forward,
                    )
                    .expect("scan");
                black_box(it.take(100).count());
            },
            BatchSize::SmallInput,
        )
    });
    c.bench_function("scan_100_reverse", |b| {
        b.iter_batched(
            || key(rng.gen_range(200..n)),
            |start| {
                let it = db
                    .scan(
                        Bound::Unbounded,
                        Bound::Included(&start),
                        Direction::Reverse,
                    )
                    .expect("scan");
                black_box(it.take(100).count());
            },
            BatchSize::SmallInput,
        )
    });
    let st = db.stats();
    eprintln!(
        "stats: levels {:?} cache hits {} misses {} flushes {} compactions {} stalls {}",
        st.levels.iter().map(|l| l.files).collect::<Vec<_>>(),
        st.cache_hits,
        st.cache_misses,
        st.flushes,
        st.compactions,
        st.stall_count
    );
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = writes, group_commit, txn, fill_and_read
}
criterion_main!(benches);
