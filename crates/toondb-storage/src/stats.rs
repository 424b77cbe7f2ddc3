//! Engine statistics.

use std::sync::atomic::AtomicU64;

/// Internal counters (atomics, updated without locks).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub stalls: AtomicU64,
    pub stall_micros: AtomicU64,
    pub wal_bytes: AtomicU64,
    pub wal_syncs: AtomicU64,
    pub commits: AtomicU64,
    pub flushes: AtomicU64,
    pub compactions: AtomicU64,
    pub compaction_read: AtomicU64,
    pub compaction_written: AtomicU64,
    pub recovered_records: AtomicU64,
    pub torn_tail_bytes: AtomicU64,
}

/// Files and bytes in one LSM level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LevelStats {
    /// Number of table files.
    pub files: usize,
    /// Total size of those files.
    pub bytes: u64,
}

/// A snapshot of the engine's counters and sizes, from [`crate::Engine::stats`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct EngineStats {
    /// Per level (L0 first).
    pub levels: Vec<LevelStats>,
    /// Sum of all table sizes.
    pub total_sst_bytes: u64,
    /// Approximate bytes in the active and frozen memtables.
    pub memtable_bytes: u64,
    /// Entries in the active memtable.
    pub memtable_entries: u64,
    /// Frozen memtables waiting for flush.
    pub immutable_memtables: usize,
    /// Block cache hits.
    pub cache_hits: u64,
    /// Block cache misses.
    pub cache_misses: u64,
    /// Bytes held by the block cache.
    pub cache_usage_bytes: u64,
    /// Block cache capacity.
    pub cache_capacity_bytes: u64,
    /// Times a writer had to wait for flush/compaction.
    pub stall_count: u64,
    /// Total time writers spent stalled, in microseconds.
    pub stall_micros: u64,
    /// WAL bytes written since open.
    pub wal_bytes: u64,
    /// WAL fsyncs since open (group commit makes this smaller than `commits`).
    pub wal_syncs: u64,
    /// Committed batches since open.
    pub commits: u64,
    /// Memtable flushes since open.
    pub flushes: u64,
    /// Compactions since open.
    pub compactions: u64,
    /// Bytes read by compactions.
    pub compaction_bytes_read: u64,
    /// Bytes written by compactions.
    pub compaction_bytes_written: u64,
    /// Latest visible sequence number.
    pub last_seq: u64,
    /// Live registered snapshots: [`crate::Snapshot`] handles and open transactions (with
    /// iterators made from them). Point reads and `Engine::scan` iterators do not register.
    pub live_snapshots: usize,
    /// WAL records replayed at open.
    pub recovered_records: u64,
    /// Bytes cut from a torn WAL tail at open (0 if the log ended cleanly).
    pub recovered_torn_tail_bytes: u64,
    /// Why the engine is poisoned, if it is.
    pub poisoned: Option<String>,
}
