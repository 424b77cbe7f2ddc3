//! Fault injection through [`FaultVfs`] over a [`MemVfs`]: ENOSPC, EIO on read and write,
//! short (torn) writes and failing fsync, injected at random points while the
//! [`crate::workload`] runs; then a simulated power loss, reopen, and check.

use std::collections::BTreeSet;
use std::sync::Arc;

use toondb_core::vfs::{FaultAction, FaultOp, FaultRule, FaultVfs, IoFault, MemVfs, Vfs};
use toondb_storage::{Engine, Error, Options, SyncMode};

use crate::workload::{self, Rng};

/// Totals of a fault run.
#[derive(Debug, Default)]
pub struct FaultSummary {
    /// Scenarios run.
    pub scenarios: u64,
    /// Faults the VFS actually injected.
    pub faults_injected: u64,
    /// Scenarios with a violated expectation.
    pub failures: u64,
    /// Commits acknowledged in total.
    pub acknowledged: u64,
    /// Commits refused with an error in total.
    pub refused: u64,
}

const DIR: &str = "/faultdb";

fn options() -> Options {
    Options {
        sync: SyncMode::Full,
        memtable_size: 32 << 10,
        l1_target_bytes: 128 << 10,
        target_file_size: 32 << 10,
        max_manifest_bytes: 8 << 10,
        ..Options::default()
    }
}

/// The fault kinds exercised, by index.
pub const KINDS: [&str; 6] = [
    "enospc-write",
    "eio-write",
    "short-write",
    "fsync-fail",
    "eio-read",
    "eio-write-wal-once",
];

fn rule(kind: usize, rng: &mut Rng) -> FaultRule {
    let paths = [".log", ".log", ".sst", "MANIFEST"];
    let path = paths[rng.below(paths.len() as u64) as usize];
    // WAL writes happen on every commit; table and manifest writes only on flushes.
    let skip = if path == ".log" {
        rng.below(60)
    } else {
        rng.below(8)
    };
    let r = match kind {
        0 => FaultRule::new(FaultOp::Write, FaultAction::Fail(IoFault::NoSpace)).on_path(path),
        1 => FaultRule::new(FaultOp::Write, FaultAction::Fail(IoFault::Eio)).on_path(path),
        2 => FaultRule::new(FaultOp::Write, FaultAction::ShortWrite(IoFault::Eio)).on_path(path),
        3 => FaultRule::new(FaultOp::Sync, FaultAction::Fail(IoFault::Eio)).on_path(path),
        4 => FaultRule::new(FaultOp::Read, FaultAction::Fail(IoFault::Eio)).on_path(".sst"),
        _ => FaultRule::new(FaultOp::Write, FaultAction::Fail(IoFault::Eio))
            .on_path(".log")
            .times(1),
    };
    r.after(skip)
}

/// Runs one scenario; returns whether every expectation held. Problems go to stderr.
fn scenario(n: u64, kind: usize, rng: &mut Rng, sum: &mut FaultSummary) -> bool {
    let mem = Arc::new(MemVfs::new());
    let ctl = toondb_core::vfs::FaultController::new();
    let fvfs: Arc<dyn Vfs> = Arc::new(FaultVfs::new(mem.clone(), ctl.clone()));
    let fail = |msg: String| {
        eprintln!("scenario {n} ({}): {msg}", KINDS[kind]);
        false
    };
    let db = match Engine::open_with_vfs(fvfs.clone(), DIR, options()) {
        Ok(db) => db,
        Err(e) => return fail(format!("clean open failed: {e}")),
    };
    let mut acked = BTreeSet::new();
    let mut ambiguous = BTreeSet::new();
    let warmup = 50 + rng.below(200);
    let total = warmup + 300;
    let mut first_err: Option<(u64, String)> = None;
    let mut ok = true;
    let is_write_fault = kind != 4;
    for id in 0..total {
        if id == warmup {
            ctl.add(rule(kind, rng));
        }
        match workload::apply(&db, id) {
            Ok(()) => {
                // After a failed write or fsync the engine must stay poisoned until reopened.
                if let (true, Some((at, e))) = (is_write_fault, &first_err) {
                    ok = fail(format!(
                        "commit {id} acknowledged after commit {at} failed: {e}"
                    ));
                }
                acked.insert(id);
            }
            Err(e) => {
                sum.refused += 1;
                // A commit refused because the engine is already poisoned never reached the
                // log: it must not be visible. Any other failed commit is ambiguous.
                if !matches!(e, Error::Poisoned(_)) {
                    ambiguous.insert(id);
                }
                if first_err.is_none() {
                    first_err = Some((id, e.to_string()));
                }
                if let Error::Corruption { .. } = e {
                    ok = fail(format!(
                        "commit {id}: I/O fault reported as corruption: {e}"
                    ));
                }
            }
        }
        if kind == 4 && id % 10 == 0 {
            // Reads under EIO: an error or the right value, never a wrong one.
            for _ in 0..20 {
                let probe = rng.below(id.max(1));
                if !acked.contains(&probe) {
                    continue;
                }
                if let Ok(Some(v)) = db.get(&workload::marker_key(probe)) {
                    if v != probe.to_string().as_bytes() {
                        ok = fail(format!("read of {probe} returned a wrong value"));
                    }
                }
            }
        }
    }
    sum.acknowledged += acked.len() as u64;
    drop(db);
    let injected = ctl.injected();
    sum.faults_injected += injected;
    ctl.clear();
    // Power loss: only fsynced bytes survive.
    mem.crash();
    let db = match Engine::open_with_vfs(fvfs, DIR, options()) {
        Ok(db) => db,
        Err(e) => return fail(format!("reopen after fault failed: {e}")),
    };
    match db.verify() {
        Ok(r) if !r.has_damage() => {}
        Ok(r) => ok = fail(format!("verify after reopen: {r:?}")),
        Err(e) => ok = fail(format!("verify after reopen failed: {e}")),
    }
    match workload::dump(&db) {
        Ok(m) => {
            let r = workload::check(&m, &acked, &|id| {
                acked.contains(&id) || ambiguous.contains(&id)
            });
            if !r.is_ok() {
                ok = fail(format!("check after reopen: {r:?}"));
            }
        }
        Err(e) => ok = fail(format!("scan after reopen failed: {e}")),
    }
    // The reopened engine must accept writes again.
    if let Err(e) = workload::apply(&db, total + 1000) {
        ok = fail(format!("write after recovery failed: {e}"));
    }
    ok
}

/// Runs `scenarios` scenarios, cycling through the fault kinds.
pub fn run(scenarios: u64, seed: u64) -> FaultSummary {
    let mut rng = Rng::new(seed);
    let mut sum = FaultSummary::default();
    for n in 0..scenarios {
        let kind = (n % KINDS.len() as u64) as usize;
        let ok = scenario(n, kind, &mut rng, &mut sum);
        sum.scenarios += 1;
        if !ok {
            sum.failures += 1;
        }
    }
    sum
}
