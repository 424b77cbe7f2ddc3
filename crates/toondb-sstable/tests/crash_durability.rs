//! A table is durable exactly when `finish` returns (plus the directory sync the engine owns),
//! and a crash at any earlier point leaves a file that `open` rejects as corruption.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use toondb_core::vfs::{MemVfs, Vfs};
use toondb_sstable::{SstBuilder, SstError};

#[test]
fn finished_table_survives_crash() {
    let vfs = MemVfs::new();
    let path = p("t.sst");
    let m = sample_entries(2000);
    write_table(&vfs, &path, &m, small_blocks());
    vfs.sync_dir(std::path::Path::new("")).unwrap();
    vfs.crash_with_torn_tail(7);
    let t = open(&vfs, &path, None).unwrap();
    t.verify().unwrap();
    assert_eq!(scan(&t).unwrap(), m);
}

#[test]
fn crash_before_finish_leaves_a_rejected_file() {
    let m = sample_entries(2000);
    for seed in 0..40u64 {
        let vfs = MemVfs::new();
        let path = p("t.sst");
        let mut b = SstBuilder::new(vfs.create(&path).unwrap(), path.clone(), small_blocks());
        let cut = (seed as usize * 47) % m.len();
        for (k, s, kind, v) in &m[..cut] {
            b.add(k, *s, *kind, v).unwrap();
        }
        vfs.sync_dir(std::path::Path::new("")).unwrap();
        vfs.crash_with_torn_tail(seed);
        drop(b);
        match open(&vfs, &path, None) {
            Err(SstError::Corruption { path: pp, .. }) => assert_eq!(pp, path),
            other => panic!("seed {seed}: expected corruption, got {other:?}"),
        }
    }
}
