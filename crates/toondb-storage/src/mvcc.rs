//! Multi-version concurrency control bookkeeping: the registry of live snapshots (so compaction
//! knows the oldest sequence number anyone can read) and the record of recent commits used to
//! detect transaction conflicts.

use crate::iter::{in_range, OwnedRange};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Live snapshots: sequence number -> number of holders.
#[derive(Debug, Default)]
pub(crate) struct SnapshotRegistry {
    live: Mutex<BTreeMap<u64, usize>>,
}

impl SnapshotRegistry {
    /// Registers a snapshot at the current visible sequence number. Reading the sequence number
    /// under the registry lock makes registration atomic with respect to [`Self::oldest`].
    pub(crate) fn pin(self: &Arc<Self>, visible: &AtomicU64) -> SnapshotPin {
        let mut live = self.live.lock();
        let seq = visible.load(Ordering::Acquire);
        *live.entry(seq).or_insert(0) += 1;
        SnapshotPin {
            reg: self.clone(),
            seq,
        }
    }

    /// The oldest sequence number any current or future reader may use.
    pub(crate) fn oldest(&self, visible: &AtomicU64) -> u64 {
        let live = self.live.lock();
        let v = visible.load(Ordering::Acquire);
        live.keys().next().map_or(v, |&s| s.min(v))
    }

    pub(crate) fn count(&self) -> usize {
        self.live.lock().values().sum()
    }
}

/// Keeps one sequence number registered while alive.
#[derive(Debug)]
pub(crate) struct SnapshotPin {
    reg: Arc<SnapshotRegistry>,
    pub(crate) seq: u64,
}

impl Drop for SnapshotPin {
    fn drop(&mut self) {
        let mut live = self.reg.live.lock();
        if let Some(n) = live.get_mut(&self.seq) {
            *n -= 1;
            if *n == 0 {
                live.remove(&self.seq);
            }
        }
    }
}

/// What a committing transaction asks the commit leader to check.
#[derive(Debug, Default)]
pub(crate) struct ConflictCheck {
    pub snapshot: u64,
    pub writes: Vec<Vec<u8>>,
    /// Serializable only: point reads and scanned ranges.
    pub reads: Vec<Vec<u8>>,
    pub ranges: Vec<OwnedRange>,
}

/// Last commit sequence number of every recently written key. Entries older than every live
/// snapshot are pruned.
#[derive(Debug, Default)]
pub(crate) struct CommitLog {
    last_write: BTreeMap<Vec<u8>, u64>,
    prune_at: usize,
}

impl CommitLog {
    pub(crate) fn record(&mut self, key: &[u8], seq: u64) {
        match self.last_write.get_mut(key) {
            Some(s) => *s = seq,
            None => {
                self.last_write.insert(key.to_vec(), seq);
            }
        }
    }

    /// Drops entries no live snapshot can conflict with.
    pub(crate) fn maybe_prune(&mut self, oldest: u64) {
        if self.last_write.len() >= self.prune_at.max(4096) {
            self.last_write.retain(|_, s| *s > oldest);
            self.prune_at = self.last_write.len() * 2;
        }
    }

    /// `Err((key, detail))` if the transaction must abort.
    pub(crate) fn check(&self, c: &ConflictCheck) -> Result<(), (Vec<u8>, &'static str)> {
        let newer = |k: &[u8]| self.last_write.get(k).is_some_and(|&s| s > c.snapshot);
        for k in &c.writes {
            if newer(k) {
                return Err((k.clone(), "write-write conflict: key was written by a transaction that committed after this one started"));
            }
        }
        for k in &c.reads {
            if newer(k) {
                return Err((k.clone(), "read-write conflict: a key this transaction read was changed by a later commit"));
            }
        }
        for r in &c.ranges {
            if range_is_empty(r) {
                continue;
            }
            let it = self
                .last_write
                .range::<Vec<u8>, _>((r.0.clone(), r.1.clone()));
            for (k, &s) in it {
                if s > c.snapshot && in_range(k, r) {
                    return Err((k.clone(), "read-write conflict: a range this transaction scanned was changed by a later commit"));
                }
            }
        }
        Ok(())
    }
}

/// Whether no key can lie in `r` (BTreeMap::range panics on such ranges).
pub(crate) fn range_is_empty(r: &OwnedRange) -> bool {
    use std::ops::Bound::*;
    match (&r.0, &r.1) {
        (Included(a), Included(b)) => a > b,
        (Included(a) | Excluded(a), Excluded(b)) | (Excluded(a), Included(b)) => a >= b,
        _ => false,
    }
}
