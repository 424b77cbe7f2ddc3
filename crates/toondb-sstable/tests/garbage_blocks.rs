//! Blocks whose checksums are valid but whose contents are garbage (as written by a buggy or
//! malicious writer) must be rejected with errors, never panics, hangs or huge allocations.
//! Files are assembled here from the documented format, so the decoders behind the checksum
//! checks are exercised.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use proptest::prelude::*;
use toondb_core::checksum;
use toondb_core::vfs::{MemVfs, Vfs};
use toondb_sstable::{SstError, Table};

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `body` and its trailer; returns (offset, size).
fn put_block(file: &mut Vec<u8>, body: &[u8]) -> (u64, u64) {
    let at = file.len() as u64;
    file.extend_from_slice(body);
    file.push(0);
    let crc = checksum::mask(checksum::crc32c_parts(&[body, &[0]]));
    file.extend_from_slice(&crc.to_le_bytes());
    (at, body.len() as u64)
}

/// A block body from raw entry bytes and restart offsets.
fn block_body(entries: &[u8], restarts: &[u32]) -> Vec<u8> {
    let mut b = entries.to_vec();
    for r in restarts {
        b.extend_from_slice(&r.to_le_bytes());
    }
    b.extend_from_slice(&(restarts.len() as u32).to_le_bytes());
    b
}

/// A file with the given data block bodies, a well-formed index (keys from `keys`), the given
/// bloom and properties bodies, and a valid footer.
fn assemble(data: &[Vec<u8>], keys: &[Vec<u8>], bloom: &[u8], props: &[u8]) -> Vec<u8> {
    let mut file = Vec::new();
    let mut index_entries = Vec::new();
    let mut restarts = Vec::new();
    for (i, body) in data.iter().enumerate() {
        let (off, size) = put_block(&mut file, body);
        let mut handle = Vec::new();
        varint(&mut handle, off);
        varint(&mut handle, size);
        let key = keys.get(i).cloned().unwrap_or_default();
        restarts.push(index_entries.len() as u32);
        varint(&mut index_entries, 0);
        varint(&mut index_entries, key.len() as u64);
        varint(&mut index_entries, handle.len() as u64);
        index_entries.extend_from_slice(&key);
        index_entries.extend_from_slice(&((u64::from(i as u8) << 8) | 1).to_le_bytes());
        index_entries.extend_from_slice(&handle);
    }
    if restarts.is_empty() {
        restarts.push(0);
    }
    let index = put_block(&mut file, &block_body(&index_entries, &restarts));
    let bloom = put_block(&mut file, bloom);
    let props = put_block(&mut file, props);
    let mut footer = Vec::new();
    for (o, s) in [index, bloom, props] {
        footer.extend_from_slice(&o.to_le_bytes());
        footer.extend_from_slice(&s.to_le_bytes());
    }
    footer.extend_from_slice(&1u32.to_le_bytes());
    let crc = checksum::mask(checksum::crc32c(&footer));
    footer.extend_from_slice(&crc.to_le_bytes());
    footer.extend_from_slice(b"TOONBSST");
    file.extend_from_slice(&footer);
    file
}

fn valid_props() -> Vec<u8> {
    let mut p = vec![0u8, 0u8];
    for x in [0u64, 0, 0, 0, 0] {
        p.extend_from_slice(&x.to_le_bytes());
    }
    p
}

/// Exercises every read path; returns whether anything reported an error.
fn exercise(bytes: &[u8], probe: &[u8]) -> bool {
    let vfs = MemVfs::new();
    let path = p("g.sst");
    let mut f = vfs.create(&path).unwrap();
    f.append(bytes).unwrap();
    drop(f);
    let t = match Table::open(&vfs, &path, 1, None) {
        Ok(t) => t,
        Err(e) => {
            assert!(matches!(e, SstError::Corruption { .. }), "{e:?}");
            return true;
        }
    };
    let mut errors = t.verify().is_err();
    errors |= t.get(probe, u64::MAX).is_err();
    let mut it = t.iter();
    let mut steps = 0;
    let mut r = it.seek_to_first();
    while r.is_ok() && it.valid() && steps < 10_000 {
        r = it.next();
        steps += 1;
    }
    errors |= r.is_err();
    let mut r = it.seek_to_last();
    while r.is_ok() && it.valid() && steps < 20_000 {
        r = it.prev();
        steps += 1;
    }
    errors |= r.is_err();
    errors |= it.seek(probe).is_err();
    errors |= it.seek_for_prev(probe).is_err();
    assert!(steps < 20_000, "iteration did not terminate");
    errors
}

/// A valid block of `n` entries with shared prefixes.
fn valid_block(n: usize, interval: usize) -> Vec<u8> {
    let mut entries = Vec::new();
    let mut restarts = Vec::new();
    let mut prev: Vec<u8> = Vec::new();
    for i in 0..n {
        let key = format!("key{:04}", i).into_bytes();
        let shared = if i % interval == 0 {
            restarts.push(entries.len() as u32);
            0
        } else {
            prev.iter().zip(&key).take_while(|(a, b)| a == b).count()
        };
        varint(&mut entries, shared as u64);
        varint(&mut entries, (key.len() - shared) as u64);
        varint(&mut entries, 3);
        entries.extend_from_slice(&key[shared..]);
        entries.extend_from_slice(&((100 - i as u64) << 8 | 1).to_le_bytes());
        entries.extend_from_slice(b"val");
        prev = key;
    }
    block_body(&entries, &restarts)
}

#[test]
fn assembled_valid_file_reads_back() {
    // The assembler itself is right: a valid block behind a valid index reads back.
    let body = valid_block(20, 4);
    let bytes = assemble(&[body], &[b"key0019".to_vec()], &[], &valid_props());
    let vfs = MemVfs::new();
    let path = p("ok.sst");
    let mut f = vfs.create(&path).unwrap();
    f.append(&bytes).unwrap();
    drop(f);
    let t = Table::open(&vfs, &path, 1, None).unwrap();
    let all = scan(&t).unwrap();
    assert_eq!(all.len(), 20);
    assert_eq!(t.get(b"key0007", u64::MAX).unwrap().unwrap().2, b"val");
    // Properties claim 0 entries: verify notices.
    assert!(t.verify().is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_entry_bytes_behind_valid_restarts(
        entries in proptest::collection::vec(any::<u8>(), 0..200),
        cuts in proptest::collection::vec(any::<u8>(), 0..6),
        key in proptest::collection::vec(any::<u8>(), 0..8),
        probe in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut restarts = vec![0u32];
        let mut r: Vec<u32> = cuts.iter().map(|c| u32::from(*c) % (entries.len().max(1) as u32)).filter(|&c| c > 0).collect();
        r.sort_unstable();
        r.dedup();
        restarts.extend(r);
        let body = block_body(&entries, &restarts);
        exercise(&assemble(&[body], &[key], &[], &valid_props()), &probe);
    }

    #[test]
    fn mutated_valid_blocks(
        n in 1usize..40,
        interval in 1usize..6,
        flips in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..4),
        probe in proptest::collection::vec(prop_oneof![Just(b'k'), Just(b'e'), Just(b'y'), Just(b'0'), Just(b'1')], 0..8),
        bloom in proptest::collection::vec(any::<u8>(), 0..20),
        props in proptest::collection::vec(any::<u8>(), 0..60),
    ) {
        let mut body = valid_block(n, interval);
        for (at, v) in &flips {
            let i = usize::from(*at) % body.len();
            body[i] ^= v | 1;
        }
        let last = format!("key{:04}", n - 1).into_bytes();
        exercise(&assemble(std::slice::from_ref(&body), std::slice::from_ref(&last), &bloom, &props), &probe);
        exercise(&assemble(&[body.clone(), body], &[last.clone(), last], &[], &valid_props()), &probe);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), probe in proptest::collection::vec(any::<u8>(), 0..4)) {
        prop_assert!(exercise(&bytes, &probe));
    }
}
