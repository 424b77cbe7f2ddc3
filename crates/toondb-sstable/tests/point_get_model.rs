//! `Table::get` (the point-lookup path that searches blocks in place without a cursor) agrees
//! with a `BTreeMap` model for present keys, absent keys between entries, keys before the
//! first and after the last entry, keys at restart boundaries and at every snapshot edge,
//! across block sizes and restart intervals. Keys share long prefixes so the in-place key
//! comparison crosses its 8-byte word boundaries.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use proptest::prelude::*;
use std::cmp::Reverse;
use std::collections::BTreeMap;
use toondb_core::vfs::MemVfs;
use toondb_sstable::{BlockCache, SstOptions, ValueKind};

type Model = BTreeMap<(Vec<u8>, Reverse<u64>), (ValueKind, Vec<u8>)>;

fn model_get(m: &Model, key: &[u8], snap: u64) -> Option<(u64, ValueKind, Vec<u8>)> {
    m.range((key.to_vec(), Reverse(snap))..)
        .next()
        .filter(|((k, _), _)| k.as_slice() == key)
        .map(|((_, Reverse(s)), (kind, v))| (*s, *kind, v.clone()))
}

/// Keys: one of a few long shared prefixes (0, 7, 8, 9 and 16 bytes) plus a short suffix
/// from a small alphabet, so neighbours share prefixes of every length.
fn arb_key() -> impl Strategy<Value = Vec<u8>> {
    let prefix = prop_oneof![
        Just(Vec::new()),
        Just(b"pfx0123".to_vec()),
        Just(b"pfx01234".to_vec()),
        Just(b"pfx012345".to_vec()),
        Just(b"pfx0123456789abc".to_vec()),
    ];
    let suffix = proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'm'), Just(b'z')], 0..5);
    (prefix, suffix).prop_map(|(mut p, s)| {
        p.extend(s);
        p
    })
}

fn arb_model() -> impl Strategy<Value = Model> {
    let entry = (
        arb_key(),
        1u64..30,
        prop_oneof![3 => Just(ValueKind::Put), 1 => Just(ValueKind::Delete)],
        proptest::collection::vec(any::<u8>(), 0..24),
    );
    proptest::collection::vec(entry, 0..250).prop_map(|v| {
        v.into_iter()
            .map(|(k, s, kind, val)| {
                let val = if kind == ValueKind::Delete {
                    Vec::new()
                } else {
                    val
                };
                ((k, Reverse(s)), (kind, val))
            })
            .collect()
    })
}

/// Probe keys derived from a stored key: itself, one byte longer (just after it), with the
/// last byte lowered/raised (just before/after its neighbours), and truncated.
fn neighbours(k: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![k.to_vec()];
    let mut longer = k.to_vec();
    longer.push(0);
    out.push(longer);
    if let Some((&last, head)) = k.split_last() {
        out.push(head.to_vec());
        for b in [last.wrapping_sub(1), last.wrapping_add(1)] {
            let mut x = head.to_vec();
            x.push(b);
            out.push(x);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn get_matches_btreemap(
        m in arb_model(),
        block_size in prop_oneof![Just(1usize), 16usize..200, Just(4096)],
        restart_interval in prop_oneof![Just(1usize), 2usize..6, Just(16), Just(1000)],
        bloom in prop_oneof![Just(0usize), Just(10)],
        use_cache in any::<bool>(),
        extra in proptest::collection::vec((arb_key(), 0u64..32), 0..30),
    ) {
        let entries: Vec<Entry> = m
            .iter()
            .map(|((k, Reverse(s)), (kind, v))| (k.clone(), *s, *kind, v.clone()))
            .collect();
        let vfs = MemVfs::new();
        let path = p("g.sst");
        let opts = SstOptions { block_size, bloom_bits_per_key: bloom, restart_interval };
        write_table(&vfs, &path, &entries, opts);
        let t = open(&vfs, &path, use_cache.then(|| BlockCache::new(1 << 20))).unwrap();

        let mut probes: Vec<(Vec<u8>, u64)> = extra;
        for (k, s, _, _) in &entries {
            for n in neighbours(k) {
                for snap in [0, s - 1, *s, s + 1, u64::MAX] {
                    probes.push((n.clone(), snap));
                }
            }
        }
        // Before the first key and after the last.
        probes.push((Vec::new(), u64::MAX));
        probes.push((vec![0xff; 40], u64::MAX));
        probes.push((b"pfx0123456789abczzzzzz".to_vec(), 5));
        for (k, snap) in &probes {
            prop_assert_eq!(
                t.get(k, *snap).unwrap(),
                model_get(&m, k, *snap),
                "key {:?} snap {}", String::from_utf8_lossy(k), snap
            );
        }
    }
}

/// A deterministic large case: many blocks, default options, every key and its gaps.
#[test]
fn get_every_key_and_gap_default_options() {
    let mut m = Model::new();
    for i in 0..5000u64 {
        let k = format!("key{:012}", i * 2).into_bytes();
        m.insert((k.clone(), Reverse(7)), (ValueKind::Put, vec![i as u8; 50]));
        if i % 5 == 0 {
            m.insert((k, Reverse(3)), (ValueKind::Delete, Vec::new()));
        }
    }
    let entries: Vec<Entry> = m
        .iter()
        .map(|((k, Reverse(s)), (kind, v))| (k.clone(), *s, *kind, v.clone()))
        .collect();
    let vfs = MemVfs::new();
    let path = p("d.sst");
    let opts = SstOptions {
        bloom_bits_per_key: 0,
        ..SstOptions::default()
    };
    write_table(&vfs, &path, &entries, opts);
    let t = open(&vfs, &path, Some(BlockCache::new(1 << 20))).unwrap();
    for i in 0..10_001u64 {
        let k = format!("key{i:012}").into_bytes();
        for snap in [2, 3, 6, 7, u64::MAX] {
            assert_eq!(
                t.get(&k, snap).unwrap(),
                model_get(&m, &k, snap),
                "{i} {snap}"
            );
        }
    }
}
