//! Deterministic simulation: a workload with flushes and compactions runs on a simulated disk
//! that starts failing a random class of operation after a random number of successes (or
//! tears writes), then loses power. After reopening on a healthy disk every acknowledged batch
//! is present, no batch is partially visible, and batches survive as a prefix.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use toondb_core::vfs::{
    FaultAction, FaultController, FaultOp, FaultRule, FaultVfs, IoFault, MemVfs, Vfs,
};
use toondb_storage::{Engine, Options, SyncMode, WriteBatch};

const KEYS: u32 = 4;

fn opts() -> Options {
    Options {
        sync: SyncMode::Full,
        memtable_size: 2 << 10,
        l0_compaction_trigger: 2,
        l0_stall_trigger: 8,
        l1_target_bytes: 8 << 10,
        level_size_ratio: 2,
        target_file_size: 4 << 10,
        max_manifest_bytes: 2 << 10,
        ..Options::default()
    }
}

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn key(i: u32, j: u32) -> Vec<u8> {
    format!("b{i:05}_{j}").into_bytes()
}

#[test]
fn faults_then_power_loss_keep_acknowledged_batches() {
    let seeds: u64 = std::env::var("TOONDB_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let ops = [
        FaultOp::Write,
        FaultOp::Sync,
        FaultOp::SyncDir,
        FaultOp::Open,
        FaultOp::Rename,
        FaultOp::Remove,
        FaultOp::Any,
    ];
    for seed in 0..seeds {
        let mut rng = seed;
        let mem = Arc::new(MemVfs::new());
        let ctl = FaultController::new();
        let vfs: Arc<dyn Vfs> = Arc::new(FaultVfs::new(mem.clone(), ctl.clone()));
        let live = common::KillableVfs::new(vfs.clone());
        let db = Engine::open_with_vfs(live.clone(), "/db", opts()).unwrap();
        let op = ops[(splitmix(&mut rng) % ops.len() as u64) as usize];
        let after = splitmix(&mut rng) % 300;
        let kind = if splitmix(&mut rng).is_multiple_of(2) {
            IoFault::Eio
        } else {
            IoFault::NoSpace
        };
        let action = if op == FaultOp::Write && splitmix(&mut rng).is_multiple_of(2) {
            FaultAction::ShortWrite(kind)
        } else {
            FaultAction::Fail(kind)
        };
        ctl.add(FaultRule::new(op, action).after(after));
        let mut acked: Option<u32> = None;
        for i in 0..150u32 {
            let mut b = WriteBatch::new();
            for j in 0..KEYS {
                b.put(&key(i, j), format!("{i}:{}", "x".repeat(40)).as_bytes());
            }
            if db.write(b).is_err() {
                break;
            }
            acked = Some(i);
        }
        live.kill_and_crash(|| mem.crash_with_torn_tail(seed));
        drop(db);
        ctl.clear();
        let db = Engine::open_with_vfs(vfs, "/db", opts())
            .unwrap_or_else(|e| panic!("seed {seed} ({op:?} after {after}): reopen failed: {e}"));
        let mut missing_from = None;
        for i in 0..152u32 {
            let present = (0..KEYS)
                .filter(|&j| db.get(&key(i, j)).unwrap().is_some())
                .count() as u32;
            assert!(
                present == 0 || present == KEYS,
                "seed {seed}: batch {i} partially visible"
            );
            if present == 0 {
                missing_from.get_or_insert(i);
            } else {
                assert!(
                    missing_from.is_none(),
                    "seed {seed}: batch {i} present after a missing one"
                );
            }
            if acked.is_some_and(|a| i <= a) {
                assert_eq!(
                    present, KEYS,
                    "seed {seed} ({op:?} after {after}): acknowledged batch {i} lost"
                );
            }
        }
        let rep = db.verify().unwrap();
        assert!(!rep.has_damage(), "seed {seed}: {rep:?}");
    }
}
