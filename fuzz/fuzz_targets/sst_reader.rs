//! Fuzzes the table reader: arbitrary bytes (mode 0), or fuzzer-chosen block bodies assembled
//! into a file with valid checksums and footer (mode 1, reaching the decoders behind the
//! checksum checks). Opening, verifying, iterating both ways, seeking and point lookups must
//! never panic; a table that passes `verify` must iterate in order and answer `get`
//! consistently with its own scan.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use toondb_core::checksum;
use toondb_core::vfs::{MemVfs, Vfs};
use toondb_sstable::{BlockCache, Table};

fn put_block(file: &mut Vec<u8>, body: &[u8]) -> (u64, u64) {
    let at = file.len() as u64;
    file.extend_from_slice(body);
    file.push(0);
    let crc = checksum::mask(checksum::crc32c_parts(&[body, &[0]]));
    file.extend_from_slice(&crc.to_le_bytes());
    (at, body.len() as u64)
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Layout of mode-1 input: data_len: u16 | key_len: u8 | bloom_len: u8 | data | key | bloom
/// | props (rest). One data block behind a well-formed one-entry index.
fn assemble(input: &[u8]) -> Option<Vec<u8>> {
    let (hdr, rest) = input.split_at_checked(4)?;
    let data_len = usize::from(u16::from_le_bytes([hdr[0], hdr[1]]));
    let (data, rest) = rest.split_at_checked(data_len.min(rest.len()))?;
    let (key, rest) = rest.split_at_checked(usize::from(hdr[2]).min(rest.len()))?;
    let (bloom, props) = rest.split_at_checked(usize::from(hdr[3]).min(rest.len()))?;
    let mut file = Vec::new();
    let (off, size) = put_block(&mut file, data);
    let mut handle = Vec::new();
    varint(&mut handle, off);
    varint(&mut handle, size);
    let mut index = Vec::new();
    varint(&mut index, 0);
    varint(&mut index, key.len() as u64);
    varint(&mut index, handle.len() as u64);
    index.extend_from_slice(key);
    index.extend_from_slice(&((1u64 << 8) | 1).to_le_bytes());
    index.extend_from_slice(&handle);
    index.extend_from_slice(&0u32.to_le_bytes());
    index.extend_from_slice(&1u32.to_le_bytes());
    let ih = put_block(&mut file, &index);
    let bh = put_block(&mut file, bloom);
    let ph = put_block(&mut file, props);
    let mut footer = Vec::new();
    for (o, s) in [ih, bh, ph] {
        footer.extend_from_slice(&o.to_le_bytes());
        footer.extend_from_slice(&s.to_le_bytes());
    }
    footer.extend_from_slice(&1u32.to_le_bytes());
    let crc = checksum::mask(checksum::crc32c(&footer));
    footer.extend_from_slice(&crc.to_le_bytes());
    footer.extend_from_slice(b"TOONBSST");
    file.extend_from_slice(&footer);
    Some(file)
}

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let bytes = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        match assemble(rest) {
            Some(b) => b,
            None => return,
        }
    };
    let vfs = MemVfs::new();
    let path = Path::new("fuzz.sst");
    let mut f = vfs.create(path).expect("create");
    f.append(&bytes).expect("append");
    drop(f);
    let cache = (mode & 2 != 0).then(|| BlockCache::new(1 << 16));
    let Ok(table) = Table::open(&vfs, path, 1, cache) else {
        return;
    };
    let verified = table.verify().is_ok();

    // Forward scan (bounded), collecting entries.
    let mut it = table.iter();
    let mut fwd = Vec::new();
    let mut ok = it.seek_to_first().is_ok();
    while ok && it.valid() && fwd.len() < 100_000 {
        fwd.push((it.user_key().to_vec(), it.seq(), it.kind(), it.value().to_vec()));
        ok = it.next().is_ok();
    }
    let fwd_ok = ok;
    // Backward scan.
    let mut back = Vec::new();
    let mut ok = it.seek_to_last().is_ok();
    while ok && it.valid() && back.len() < 100_000 {
        back.push((it.user_key().to_vec(), it.seq(), it.kind(), it.value().to_vec()));
        ok = it.prev().is_ok();
    }
    let back_ok = ok;
    for probe in [&b""[..], b"a", b"key", b"\xff\xff"] {
        let _ = table.get(probe, u64::MAX);
        let _ = it.seek(probe);
        let _ = it.seek_for_prev(probe);
    }

    if verified {
        assert!(fwd_ok && back_ok, "verified table failed to iterate");
        back.reverse();
        assert_eq!(fwd, back, "forward and backward scans differ");
        assert_eq!(fwd.len() as u64, table.props().num_entries);
        for w in fwd.windows(2) {
            assert!(
                w[0].0 < w[1].0 || (w[0].0 == w[1].0 && w[0].1 > w[1].1),
                "verified table out of order"
            );
        }
        for e in fwd.iter().take(64) {
            let got = table.get(&e.0, e.1).expect("get on a verified table");
            assert_eq!(got, Some((e.1, e.2, e.3.clone())), "get disagrees with scan");
        }
    }
});
