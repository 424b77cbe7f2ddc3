//! Tables read back exactly what was written: point lookups at random snapshots, full
//! iteration in both directions, and seeks with mixed next/prev steps, all checked against a
//! sorted-vector model.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use proptest::prelude::*;
use toondb_core::vfs::MemVfs;
use toondb_sstable::{BlockCache, SstOptions, ValueKind};

/// Model answer for get(key, snap): the newest version with seq <= snap.
fn model_get(m: &[Entry], key: &[u8], snap: u64) -> Option<(u64, ValueKind, Vec<u8>)> {
    m.iter()
        .find(|e| e.0 == key && e.1 <= snap)
        .map(|e| (e.1, e.2, e.3.clone()))
}

fn arb_entries() -> impl Strategy<Value = Vec<Entry>> {
    let key = proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'c')], 0..6);
    let entry = (
        key,
        0u64..40,
        prop_oneof![3 => Just(ValueKind::Put), 1 => Just(ValueKind::Delete)],
        proptest::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(k, s, kind, v)| {
            let v = if kind == ValueKind::Delete {
                Vec::new()
            } else {
                v
            };
            (k, s, kind, v)
        });
    proptest::collection::vec(entry, 0..300).prop_map(normalize)
}

fn arb_opts() -> impl Strategy<Value = SstOptions> {
    (32usize..1024, 0usize..14, 1usize..20).prop_map(
        |(block_size, bloom_bits_per_key, restart_interval)| SstOptions {
            block_size,
            bloom_bits_per_key,
            restart_interval,
        },
    )
}

#[derive(Debug, Clone)]
enum Op {
    Seek(Vec<u8>),
    SeekForPrev(Vec<u8>),
    First,
    Last,
    Next,
    Prev,
}

fn arb_ops() -> impl Strategy<Value = Vec<Op>> {
    let key = proptest::collection::vec(
        prop_oneof![Just(b'a'), Just(b'b'), Just(b'c'), Just(b'd')],
        0..6,
    );
    let op = prop_oneof![
        key.clone().prop_map(Op::Seek),
        key.prop_map(Op::SeekForPrev),
        Just(Op::First),
        Just(Op::Last),
        Just(Op::Next),
        Just(Op::Next),
        Just(Op::Prev),
        Just(Op::Prev),
    ];
    proptest::collection::vec(op, 0..60)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn table_matches_model(
        m in arb_entries(),
        opts in arb_opts(),
        use_cache in any::<bool>(),
        probes in proptest::collection::vec((proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'c'), Just(b'd')], 0..6), 0u64..45), 0..40),
        ops in arb_ops(),
    ) {
        let vfs = MemVfs::new();
        let path = p("t.sst");
        let props = write_table(&vfs, &path, &m, opts);
        let cache = use_cache.then(|| BlockCache::new(4096));
        let t = open(&vfs, &path, cache.clone()).unwrap();
        t.verify().unwrap();

        // Properties.
        prop_assert_eq!(t.props(), &props);
        prop_assert_eq!(props.num_entries, m.len() as u64);
        prop_assert_eq!(props.num_deletes, m.iter().filter(|e| e.2 == ValueKind::Delete).count() as u64);
        prop_assert_eq!(&props.smallest_key, &m.first().map(|e| e.0.clone()).unwrap_or_default());
        prop_assert_eq!(&props.largest_key, &m.last().map(|e| e.0.clone()).unwrap_or_default());
        prop_assert_eq!(props.max_seq, m.iter().map(|e| e.1).max().unwrap_or(0));
        prop_assert_eq!(props.min_seq, m.iter().map(|e| e.1).min().unwrap_or(0));

        // Full scans.
        prop_assert_eq!(&scan(&t).unwrap(), &m);
        let mut it = t.iter();
        it.seek_to_last().unwrap();
        let mut rev = Vec::new();
        while it.valid() {
            rev.push((it.user_key().to_vec(), it.seq(), it.kind(), it.value().to_vec()));
            it.prev().unwrap();
        }
        rev.reverse();
        prop_assert_eq!(&rev, &m);

        // Point lookups: every stored key at several snapshots, plus random probes.
        for e in &m {
            for snap in [e.1, e.1.saturating_sub(1), e.1 + 1, u64::MAX] {
                prop_assert_eq!(t.get(&e.0, snap).unwrap(), model_get(&m, &e.0, snap));
            }
            prop_assert!(t.may_contain(&e.0));
        }
        for (k, snap) in &probes {
            prop_assert_eq!(t.get(k, *snap).unwrap(), model_get(&m, k, *snap));
        }

        // Seeks and steps against a model cursor (None = invalid).
        let mut it = t.iter();
        let mut pos: Option<usize> = None;
        for op in &ops {
            match op {
                Op::Seek(k) => {
                    it.seek(k).unwrap();
                    pos = m.iter().position(|e| e.0.as_slice() >= k.as_slice());
                }
                Op::SeekForPrev(k) => {
                    it.seek_for_prev(k).unwrap();
                    pos = m.iter().rposition(|e| e.0.as_slice() <= k.as_slice());
                }
                Op::First => {
                    it.seek_to_first().unwrap();
                    pos = if m.is_empty() { None } else { Some(0) };
                }
                Op::Last => {
                    it.seek_to_last().unwrap();
                    pos = m.len().checked_sub(1);
                }
                Op::Next => {
                    it.next().unwrap();
                    pos = pos.map(|i| i + 1).filter(|&i| i < m.len());
                }
                Op::Prev => {
                    it.prev().unwrap();
                    pos = pos.and_then(|i| i.checked_sub(1));
                }
            }
            match pos {
                None => prop_assert!(!it.valid(), "{:?}: expected invalid", op),
                Some(i) => {
                    prop_assert!(it.valid(), "{:?}: expected entry {}", op, i);
                    prop_assert_eq!(it.user_key(), &m[i].0[..]);
                    prop_assert_eq!(it.seq(), m[i].1);
                    prop_assert_eq!(it.kind(), m[i].2);
                    prop_assert_eq!(it.value(), &m[i].3[..]);
                }
            }
        }
        if let Some(c) = cache {
            let s = c.stats();
            prop_assert!(s.usage_bytes <= s.capacity_bytes);
        }
    }
}

#[test]
fn block_cache_serves_repeated_reads() {
    let vfs = MemVfs::new();
    let path = p("c.sst");
    let m = sample_entries(3000);
    write_table(&vfs, &path, &m, small_blocks());
    let cache = BlockCache::new(64 << 20);
    let t = open(&vfs, &path, Some(cache.clone())).unwrap();
    assert_eq!(scan(&t).unwrap(), m);
    let first = cache.stats();
    assert!(
        first.misses > 10,
        "a multi-block table misses once per block: {first:?}"
    );
    assert_eq!(first.hits, 0);
    assert_eq!(scan(&t).unwrap(), m);
    let second = cache.stats();
    assert_eq!(
        second.misses, first.misses,
        "second scan is served from the cache"
    );
    assert_eq!(second.hits, first.misses);
    assert!(second.usage_bytes > 0);
}

#[test]
fn bloom_filter_skips_absent_keys() {
    let vfs = MemVfs::new();
    let path = p("b.sst");
    let m = sample_entries(3000);
    write_table(&vfs, &path, &m, small_blocks());
    let cache = BlockCache::new(64 << 20);
    let t = open(&vfs, &path, Some(cache.clone())).unwrap();
    let absent = (0..1000)
        .filter(|i| !t.may_contain(format!("absent:{i}").as_bytes()))
        .count();
    assert!(
        absent > 950,
        "bloom rejected only {absent} of 1000 absent keys"
    );
    for i in 0..1000 {
        assert_eq!(
            t.get(format!("absent:{i}").as_bytes(), u64::MAX).unwrap(),
            None
        );
    }
    // Rejected lookups never touch a block.
    let s = cache.stats();
    assert!(s.hits + s.misses < 60, "{s:?}");
}

#[test]
fn empty_table_roundtrips() {
    let vfs = MemVfs::new();
    let path = p("e.sst");
    let props = write_table(&vfs, &path, &[], SstOptions::default());
    assert_eq!(props.num_entries, 0);
    let t = open(&vfs, &path, None).unwrap();
    t.verify().unwrap();
    assert_eq!(t.get(b"x", u64::MAX).unwrap(), None);
    let mut it = t.iter();
    it.seek_to_first().unwrap();
    assert!(!it.valid());
    it.seek_to_last().unwrap();
    assert!(!it.valid());
    it.seek_for_prev(b"z").unwrap();
    assert!(!it.valid());
    assert_eq!(t.props().file_size, vfs_size(&vfs, &path));
}

fn vfs_size(vfs: &MemVfs, path: &std::path::Path) -> u64 {
    use toondb_core::vfs::Vfs;
    vfs.file_size(path).unwrap()
}

#[test]
fn large_keys_and_values() {
    // 64 KiB keys and a 64 MiB value must work.
    let vfs = MemVfs::new();
    let path = p("big.sst");
    let big_key = |c: u8| vec![c; 64 * 1024];
    let huge = vec![0xabu8; 64 << 20];
    let m: Vec<Entry> = vec![
        (big_key(b'a'), 9, ValueKind::Put, b"small".to_vec()),
        (big_key(b'a'), 8, ValueKind::Put, huge.clone()),
        (big_key(b'b'), 7, ValueKind::Delete, Vec::new()),
        (b"c".to_vec(), 6, ValueKind::Put, vec![1u8; 100_000]),
    ];
    let props = write_table(&vfs, &path, &m, SstOptions::default());
    assert!(props.file_size > 64 << 20);
    let t = open(&vfs, &path, Some(BlockCache::new(1 << 20))).unwrap();
    t.verify().unwrap();
    assert_eq!(
        t.get(&big_key(b'a'), 8).unwrap().map(|e| e.2.len()),
        Some(huge.len())
    );
    assert_eq!(
        t.get(&big_key(b'a'), 100).unwrap().map(|e| e.2),
        Some(b"small".to_vec())
    );
    assert_eq!(
        t.get(&big_key(b'b'), 100).unwrap().map(|e| e.1),
        Some(ValueKind::Delete)
    );
    let mut it = t.iter();
    it.seek_to_last().unwrap();
    assert_eq!(it.user_key(), b"c");
    it.prev().unwrap();
    it.prev().unwrap();
    assert_eq!(it.value().len(), huge.len());
    assert!(it.value() == &huge[..]);
}

#[test]
fn iterator_is_send_and_outlives_its_table_handle() {
    let vfs = MemVfs::new();
    let path = p("s.sst");
    let m = sample_entries(500);
    write_table(&vfs, &path, &m, small_blocks());
    let t = open(&vfs, &path, None).unwrap();
    let mut it = t.iter();
    drop(t);
    let n = std::thread::spawn(move || {
        it.seek_to_first().unwrap();
        let mut n = 0;
        while it.valid() {
            n += 1;
            it.next().unwrap();
        }
        n
    })
    .join()
    .unwrap();
    assert_eq!(n, m.len());
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}
    assert_send_sync::<toondb_sstable::Table>();
    assert_send_sync::<BlockCache>();
    assert_send::<toondb_sstable::TableIter>();
}

#[test]
fn concurrent_readers_share_one_small_cache() {
    // Several tables and threads contend for a cache far smaller than the data; every read
    // must still be correct and the cache must stay within its bound.
    let vfs = MemVfs::new();
    let cache = BlockCache::new(16 * 1024);
    let m = sample_entries(1500);
    let tables: Vec<_> = (0..3u64)
        .map(|i| {
            let path = p(&format!("{i}.sst"));
            write_table(&vfs, &path, &m, small_blocks());
            toondb_sstable::Table::open(&vfs, &path, i, Some(cache.clone())).unwrap()
        })
        .collect();
    std::thread::scope(|s| {
        for th in 0..4usize {
            let tables = &tables;
            let m = &m;
            s.spawn(move || {
                for (j, e) in m.iter().enumerate().skip(th).step_by(4) {
                    let t = &tables[j % tables.len()];
                    let newest = m.iter().find(|g| g.0 == e.0).unwrap();
                    assert_eq!(
                        t.get(&e.0, u64::MAX).unwrap(),
                        Some((newest.1, newest.2, newest.3.clone()))
                    );
                }
                assert_eq!(scan(&tables[th % tables.len()]).unwrap(), *m);
            });
        }
    });
    let s = cache.stats();
    assert!(s.usage_bytes <= s.capacity_bytes, "{s:?}");
    assert!(s.hits > 0 && s.misses > 0, "{s:?}");
}
