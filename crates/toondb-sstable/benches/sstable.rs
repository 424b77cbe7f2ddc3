//! Benchmarks: building a table, point lookups on a hot block cache, and a full scan.
//! Tables live in a `MemVfs`, so the figures measure the format code, not the disk.
//!
//! Run: `cargo bench -p toondb-sstable -- --warm-up-time 1 --measurement-time 2`

// Benchmark code: a failed unwrap aborts the benchmark, which is what we want.
#![allow(clippy::unwrap_used)]

use criterion::{black_box, criterion_main, BatchSize, Criterion, Throughput};
use std::path::Path;
use toondb_core::vfs::{MemVfs, Vfs};
use toondb_sstable::{BlockCache, SstBuilder, SstOptions, Table, ValueKind};

const N: u64 = 100_000;

fn key(i: u64) -> Vec<u8> {
    format!("user:{i:012}").into_bytes()
}

fn build(vfs: &MemVfs, path: &Path) {
    let mut b = SstBuilder::new(
        vfs.create(path).unwrap(),
        path.to_path_buf(),
        SstOptions::default(),
    );
    let value = [0x5au8; 100];
    for i in 0..N {
        b.add(&key(i), N - i, ValueKind::Put, &value).unwrap();
    }
    b.finish().unwrap();
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("sstable");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N));
    g.bench_function("build_100k_entries_100B_values", |b| {
        b.iter_batched(
            MemVfs::new,
            |vfs| build(&vfs, Path::new("b.sst")),
            BatchSize::PerIteration,
        )
    });

    let vfs = MemVfs::new();
    let path = Path::new("t.sst");
    build(&vfs, path);
    let cache = BlockCache::new(256 << 20);
    let table = Table::open(&vfs, path, 1, Some(cache.clone())).unwrap();
    g.bench_function("full_scan_100k", |b| {
        b.iter(|| {
            let mut it = table.iter();
            it.seek_to_first().unwrap();
            let mut n = 0u64;
            while it.valid() {
                n += it.value().len() as u64;
                it.next().unwrap();
            }
            black_box(n)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("sstable_get");
    g.throughput(Throughput::Elements(1));
    let keys: Vec<Vec<u8>> = (0..4096u64).map(|i| key((i * 7919) % N)).collect();
    let mut i = 0usize;
    g.bench_function("point_get_hot_cache", |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            black_box(table.get(&keys[i], u64::MAX).unwrap())
        })
    });
    let absent: Vec<Vec<u8>> = (0..4096u64)
        .map(|i| format!("none:{i}").into_bytes())
        .collect();
    g.bench_function("point_get_absent_bloom", |b| {
        b.iter(|| {
            i = (i + 1) % absent.len();
            black_box(table.get(&absent[i], u64::MAX).unwrap())
        })
    });
    g.finish();
}

// The macro generates an undocumented function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(sst, super::benches);
}
criterion_main!(group::sst);
