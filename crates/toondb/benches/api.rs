//! Public-API micro-benchmarks: single write, single read, a 10-write transaction and a k=10
//! vector search over 10k vectors, synchronously and (feature `async`) through the `*_async`
//! methods.
//!
//! Run: `cargo bench -p toondb --bench api` (add `--features async` for the async variants).
//! Writes use `SyncMode::Normal` (WAL handed to the OS on commit, fsync about once a second):
//! with `SyncMode::Full` every commit waits for an fsync and measures the disk instead.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use toondb::{CollectionOptions, Database, Document, Metric, Options, SyncMode};

const DIM: usize = 128;
const N_VECTORS: usize = 10_000;

fn vectors(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            (0..DIM)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
                })
                .collect()
        })
        .collect()
}

struct Fixture {
    _dir: tempfile::TempDir,
    db: Database,
    queries: Vec<Vec<f32>>,
    /// The same vectors in a bare HNSW index (baseline for the API's search overhead).
    raw_index: toondb_index::HnswIndex,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open_with(dir.path(), Options::default().with_sync(SyncMode::Normal))
        .expect("open");
    for i in 0..10_000u32 {
        db.put(format!("key{i:08}"), [7u8; 100]).expect("put");
    }
    let c = db
        .create_collection("bench", DIM, Metric::Cosine, CollectionOptions::default())
        .expect("create");
    let docs: Vec<Document> = vectors(N_VECTORS, 42)
        .into_iter()
        .enumerate()
        .map(|(i, v)| Document::new(format!("doc{i}"), v))
        .collect();
    for chunk in docs.chunks(1000) {
        c.upsert_many(chunk.to_vec()).expect("upsert");
    }
    let mut raw_index =
        toondb_index::HnswIndex::new(toondb_index::HnswConfig::new(DIM, Metric::Cosine))
            .expect("index");
    let ids: Vec<u64> = (0..N_VECTORS as u64).collect();
    let flat: Vec<f32> = docs.iter().flat_map(|d| d.vector.iter().copied()).collect();
    raw_index.insert_batch(&ids, &flat).expect("insert");
    Fixture {
        _dir: dir,
        db,
        queries: vectors(64, 7),
        raw_index,
    }
}

fn sync_benches(c: &mut Criterion, f: &Fixture) {
    let db = &f.db;
    let mut g = c.benchmark_group("sync");
    let mut i = 0u64;
    g.bench_function("put", |b| {
        b.iter(|| {
            i += 1;
            db.put(format!("w{i:012}"), [1u8; 100]).expect("put");
        })
    });
    let mut j = 0u32;
    g.bench_function("get", |b| {
        b.iter(|| {
            j = (j + 7919) % 10_000;
            black_box(db.get(format!("key{j:08}")).expect("get"));
        })
    });
    let mut t = 0u64;
    g.bench_function("txn_10_writes", |b| {
        b.iter(|| {
            t += 1;
            db.transaction(|tx| {
                for k in 0..10 {
                    tx.put(format!("t{t:010}-{k}"), [2u8; 100])?;
                }
                Ok(())
            })
            .expect("txn");
        })
    });
    let coll = db.collection("bench").expect("collection");
    let mut q = 0;
    g.bench_function("search_k10_10k", |b| {
        b.iter(|| {
            q = (q + 1) % f.queries.len();
            black_box(coll.search(&f.queries[q], 10).expect("search"));
        })
    });
    g.finish();
}

#[cfg(feature = "async")]
fn async_benches(c: &mut Criterion, f: &Fixture) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let db = &f.db;
    let mut g = c.benchmark_group("async");
    let mut i = 0u64;
    g.bench_function("put", |b| {
        b.iter(|| {
            i += 1;
            rt.block_on(db.put_async(format!("a{i:012}"), vec![1u8; 100]))
                .expect("put");
        })
    });
    let mut j = 0u32;
    g.bench_function("get", |b| {
        b.iter(|| {
            j = (j + 7919) % 10_000;
            black_box(
                rt.block_on(db.get_async(format!("key{j:08}")))
                    .expect("get"),
            );
        })
    });
    let mut t = 0u64;
    g.bench_function("txn_10_writes", |b| {
        b.iter(|| {
            t += 1;
            let n = t;
            rt.block_on(db.transaction_async(move |tx| {
                for k in 0..10 {
                    tx.put(format!("at{n:010}-{k}"), [2u8; 100])?;
                }
                Ok(())
            }))
            .expect("txn");
        })
    });
    let coll = db.collection("bench").expect("collection");
    let mut q = 0;
    g.bench_function("search_k10_10k", |b| {
        b.iter(|| {
            q = (q + 1) % f.queries.len();
            let req = toondb::SearchRequest::vector(f.queries[q].clone(), 10);
            black_box(rt.block_on(coll.search_async(req)).expect("search"));
        })
    });
    g.finish();
}

/// The layers underneath, measured in the same run, so API overhead can be read off despite
/// machine noise.
fn raw_benches(c: &mut Criterion, f: &Fixture) {
    let engine = f.db.engine();
    let mut g = c.benchmark_group("raw");
    let mut i = 0u64;
    g.bench_function("engine_put", |b| {
        b.iter(|| {
            i += 1;
            engine
                .put(format!("\x10r{i:012}").as_bytes(), &[1u8; 100])
                .expect("put");
        })
    });
    let mut j = 0u32;
    g.bench_function("engine_get", |b| {
        b.iter(|| {
            j = (j + 7919) % 10_000;
            black_box(
                engine
                    .get(format!("\x10key{j:08}").as_bytes())
                    .expect("get"),
            );
        })
    });
    let mut q = 0;
    g.bench_function("hnsw_search_k10_10k", |b| {
        b.iter(|| {
            q = (q + 1) % f.queries.len();
            black_box(f.raw_index.search(&f.queries[q], 10).expect("search"));
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let f = fixture();
    raw_benches(c, &f);
    sync_benches(c, &f);
    #[cfg(feature = "async")]
    async_benches(c, &f);
}

criterion_group! {
    name = api;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(30);
    targets = benches
}
criterion_main!(api);
