//! Helpers shared by the behaviour tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use toondb_core::vfs::{MemVfs, Vfs};
use toondb_sstable::{BlockCache, SstBuilder, SstOptions, Table, TableProps, ValueKind};

/// One model entry: (user key, seq, kind, value).
pub type Entry = (Vec<u8>, u64, ValueKind, Vec<u8>);

/// Writes `entries` (already in table order) to `path` on `vfs`.
pub fn write_table(vfs: &MemVfs, path: &Path, entries: &[Entry], opts: SstOptions) -> TableProps {
    let mut b = SstBuilder::new(vfs.create(path).unwrap(), path.to_path_buf(), opts);
    for (k, s, kind, v) in entries {
        b.add(k, *s, *kind, v).unwrap();
    }
    b.finish().unwrap()
}

/// Sorts into table order and drops duplicate (key, seq) pairs.
pub fn normalize(mut entries: Vec<Entry>) -> Vec<Entry> {
    entries.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    entries.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    entries
}

/// A deterministic multi-block table with several versions per key and some deletes.
pub fn sample_entries(n: u32) -> Vec<Entry> {
    let mut v = Vec::new();
    for i in 0..n {
        let key = format!("user:{:06}", i / 3).into_bytes();
        let seq = 10_000 - u64::from(i);
        let kind = if i % 7 == 3 {
            ValueKind::Delete
        } else {
            ValueKind::Put
        };
        let value = if kind == ValueKind::Delete {
            Vec::new()
        } else {
            format!("value-{i}-{}", "x".repeat((i % 13) as usize)).into_bytes()
        };
        v.push((key, seq, kind, value));
    }
    normalize(v)
}

pub fn small_blocks() -> SstOptions {
    SstOptions {
        block_size: 256,
        bloom_bits_per_key: 10,
        restart_interval: 4,
    }
}

/// Reads every entry forward.
pub fn scan(t: &Arc<Table>) -> Result<Vec<Entry>, toondb_sstable::SstError> {
    let mut it = t.iter();
    it.seek_to_first()?;
    let mut out = Vec::new();
    while it.valid() {
        out.push((
            it.user_key().to_vec(),
            it.seq(),
            it.kind(),
            it.value().to_vec(),
        ));
        it.next()?;
    }
    Ok(out)
}

pub fn open(
    vfs: &MemVfs,
    path: &Path,
    cache: Option<Arc<BlockCache>>,
) -> Result<Arc<Table>, toondb_sstable::SstError> {
    Table::open(vfs, path, 1, cache)
}

pub fn p(name: &str) -> PathBuf {
    PathBuf::from(name)
}
