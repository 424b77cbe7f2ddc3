//! Damaged tables are reported as `SstError::Corruption` naming the file and an offset inside
//! the damaged structure, never a panic and never wrong data: single-bit flips in every
//! region (data blocks, block trailers, index, bloom, properties, footer), truncation at every
//! length, and I/O faults while reading.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use toondb_core::vfs::{FaultController, FaultVfs, MemVfs, Vfs};
use toondb_sstable::{SstError, Table};

/// Regions of a table file, parsed from the documented footer layout.
struct Layout {
    data: Range<u64>,
    index: Range<u64>,
    bloom: Range<u64>,
    props: Range<u64>,
    footer: Range<u64>,
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn layout(bytes: &[u8]) -> Layout {
    let len = bytes.len() as u64;
    let f = &bytes[bytes.len() - 64..];
    let region = |i: usize| le64(f, 16 * i)..le64(f, 16 * i) + le64(f, 16 * i + 8) + 5;
    let (index, bloom, props) = (region(0), region(1), region(2));
    assert_eq!(index.end, bloom.start);
    assert_eq!(bloom.end, props.start);
    assert_eq!(props.end, len - 64);
    Layout {
        data: 0..index.start,
        index,
        bloom,
        props,
        footer: len - 64..len,
    }
}

fn region_of(l: &Layout, pos: u64) -> (&'static str, Range<u64>) {
    for (name, r) in [
        ("data", &l.data),
        ("index", &l.index),
        ("bloom", &l.bloom),
        ("props", &l.props),
        ("footer", &l.footer),
    ] {
        if r.contains(&pos) {
            return (name, r.clone());
        }
    }
    unreachable!("position {pos} outside the file")
}

fn expect_corruption(e: SstError, path: &Path, region: &Range<u64>, what: &str) {
    match e {
        SstError::Corruption {
            path: p, offset, ..
        } => {
            assert_eq!(p, path, "{what}: wrong path");
            assert!(
                region.contains(&offset),
                "{what}: offset {offset} outside {region:?}"
            );
        }
        other => panic!("{what}: expected corruption, got {other:?}"),
    }
}

/// Opens, verifies, scans and looks up every key of a damaged table; the damage must surface
/// as a corruption error from `open` or `verify`, and a scan must either fail the same way or
/// (never) return wrong data.
fn check_damaged(bytes: &[u8], good: &[Entry], what: &str, region: &Range<u64>) {
    let vfs = MemVfs::new();
    let path = p("damaged.sst");
    let mut f = vfs.create(&path).unwrap();
    f.append(bytes).unwrap();
    drop(f);
    let t = match Table::open(&vfs, &path, 1, None) {
        Err(e) => return expect_corruption(e, &path, region, what),
        Ok(t) => t,
    };
    expect_corruption(t.verify().unwrap_err(), &path, region, what);
    match scan(&t) {
        Ok(got) => assert_eq!(got, good, "{what}: scan returned wrong data"),
        Err(e) => expect_corruption(e, &path, region, what),
    }
    let mut it = t.iter();
    match it.seek_to_last() {
        Ok(()) => {
            let mut n = 0;
            while it.valid() && n <= good.len() {
                n += 1;
                if let Err(e) = it.prev() {
                    expect_corruption(e, &path, region, what);
                    break;
                }
            }
        }
        Err(e) => expect_corruption(e, &path, region, what),
    }
    for e in good.iter().step_by(5) {
        match t.get(&e.0, u64::MAX) {
            Ok(Some(v)) => {
                let newest = good.iter().find(|g| g.0 == e.0).unwrap();
                assert_eq!(
                    v,
                    (newest.1, newest.2, newest.3.clone()),
                    "{what}: wrong get"
                );
            }
            // A damaged bloom filter may wrongly exclude a key only if open did not catch
            // it, which it always does; so None means a bug.
            Ok(None) => panic!("{what}: get lost a key"),
            Err(e) => expect_corruption(e, &path, region, what),
        }
    }
}

fn build() -> (Vec<u8>, Vec<Entry>) {
    let vfs = MemVfs::new();
    let path = p("t.sst");
    let m = sample_entries(300);
    write_table(&vfs, &path, &m, small_blocks());
    (vfs.read_all(&path).unwrap(), m)
}

#[test]
fn every_single_bit_flip_is_detected() {
    let (bytes, m) = build();
    let l = layout(&bytes);
    assert!(l.data.end > 2000, "want several data blocks");
    let mut per_region = std::collections::BTreeMap::new();
    for pos in 0..bytes.len() as u64 {
        let (name, region) = region_of(&l, pos);
        // Every byte of the metadata; a stride through the data area (still hitting bodies,
        // entry headers and trailers of every block).
        if name == "data" && pos % 3 != 0 {
            continue;
        }
        let mut damaged = bytes.clone();
        damaged[pos as usize] ^= 1 << (pos % 8);
        let what = format!("bit flip at {pos} ({name})");
        let region = if name == "data" {
            l.data.clone()
        } else {
            region
        };
        check_damaged(&damaged, &m, &what, &region);
        *per_region.entry(name).or_insert(0) += 1;
    }
    assert_eq!(per_region.len(), 5, "{per_region:?}");
}

#[test]
fn every_truncation_is_detected() {
    let (bytes, m) = build();
    for len in 0..bytes.len() {
        check_damaged(
            &bytes[..len],
            &m,
            &format!("truncated to {len}"),
            &(0..bytes.len() as u64),
        );
    }
}

#[test]
fn trailing_garbage_is_detected() {
    let (mut bytes, m) = build();
    bytes.extend_from_slice(b"garbage");
    let len = bytes.len() as u64;
    check_damaged(&bytes, &m, "trailing garbage", &(len - 64..len));
}

#[test]
fn unknown_magic_and_version_are_named() {
    let (bytes, _) = build();
    let vfs = MemVfs::new();
    let path = p("v.sst");
    let n = bytes.len();
    for (at, expect) in [(n - 1, "magic"), (n - 16, "version")] {
        let mut b = bytes.clone();
        b[at] ^= 0x40;
        let mut f = vfs.create(&path).unwrap();
        f.append(&b).unwrap();
        drop(f);
        match Table::open(&vfs, &path, 1, None).unwrap_err() {
            SstError::Corruption {
                path: pp,
                offset,
                detail,
            } => {
                assert_eq!(pp, path);
                assert!(detail.contains(expect), "{detail}");
                assert!(offset >= (n - 64) as u64);
            }
            e => panic!("{e:?}"),
        }
    }
}

#[test]
fn io_errors_and_flipped_reads_surface_as_errors() {
    let (bytes, m) = build();
    let mem = MemVfs::new();
    let ctl = FaultController::new();
    let vfs = FaultVfs::new(Arc::new(mem.clone()), ctl.clone());
    let path = p("f.sst");
    let mut f = mem.create(&path).unwrap();
    f.append(&bytes).unwrap();
    drop(f);
    let t = Table::open(&vfs, &path, 1, None).unwrap();
    assert_eq!(scan(&t).unwrap(), m);

    ctl.fail_reads(Some("f.sst"));
    assert!(matches!(scan(&t), Err(SstError::Io { .. })));
    assert!(matches!(
        Table::open(&vfs, &path, 1, None),
        Err(SstError::Io { .. })
    ));
    ctl.clear();

    // A bit flipped on its way from disk (not on disk) inside the second data block.
    ctl.flip_bit_on_read("f.sst", 300, 2);
    let e = t.verify().unwrap_err();
    assert!(e.is_corruption(), "{e:?}");
    assert!(ctl.injected() > 0);
    ctl.clear();
    t.verify().unwrap();
    assert_eq!(scan(&t).unwrap(), m);
}

#[test]
fn out_of_order_and_invalid_adds_are_rejected() {
    use toondb_sstable::{SstBuilder, SstOptions, ValueKind};
    let vfs = MemVfs::new();
    let path = p("o.sst");
    let mut b = SstBuilder::new(
        vfs.create(&path).unwrap(),
        path.clone(),
        SstOptions::default(),
    );
    b.add(b"b", 5, ValueKind::Put, b"x").unwrap();
    // Smaller key, same key with a larger or equal seq: all out of order.
    assert!(matches!(
        b.add(b"b", 5, ValueKind::Delete, b""),
        Err(SstError::OutOfOrder { .. })
    ));
    for (k, s) in [(&b"a"[..], 1), (b"b", 5), (b"b", 6)] {
        assert!(
            matches!(
                b.add(k, s, ValueKind::Put, b""),
                Err(SstError::OutOfOrder { .. })
            ),
            "{k:?} {s}"
        );
    }
    assert!(matches!(
        b.add(b"c", 1 << 56, ValueKind::Put, b""),
        Err(SstError::InvalidArgument(_))
    ));
    b.add(b"b", 4, ValueKind::Delete, b"").unwrap();
    b.add(b"c", 9, ValueKind::Put, b"y").unwrap();
    assert_eq!(b.num_entries(), 3);
    assert!(b.estimated_size() > 0);
    let props = b.finish().unwrap();
    assert_eq!(
        (
            props.num_entries,
            props.num_deletes,
            props.min_seq,
            props.max_seq
        ),
        (3, 1, 4, 9)
    );
}

#[test]
fn write_failure_poisons_the_builder() {
    use toondb_core::vfs::IoFault;
    use toondb_sstable::{SstBuilder, ValueKind};
    let mem = MemVfs::new();
    let ctl = FaultController::new();
    let vfs = FaultVfs::new(Arc::new(mem), ctl.clone());
    let path = p("w.sst");
    let mut b = SstBuilder::new(vfs.create(&path).unwrap(), path.clone(), small_blocks());
    ctl.fail_writes(IoFault::NoSpace, None);
    let mut failed = None;
    for i in 0..1000u32 {
        if let Err(e) = b.add(format!("k{i:05}").as_bytes(), 1, ValueKind::Put, b"value") {
            failed = Some(e);
            break;
        }
    }
    match failed.unwrap() {
        SstError::Io { source, .. } => assert_eq!(source.kind(), std::io::ErrorKind::StorageFull),
        e => panic!("{e:?}"),
    }
    ctl.clear();
    assert!(matches!(
        b.add(b"z", 1, ValueKind::Put, b""),
        Err(SstError::Io { .. })
    ));
    assert!(matches!(b.finish(), Err(SstError::Io { .. })));
}
