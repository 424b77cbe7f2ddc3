//! The in-memory write buffer: a lock-free skip list ordered by (user key asc, seq desc).

use crate::sst::ValueKind;
use crossbeam_skiplist::SkipMap;
use std::cmp::Reverse;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Internal key: user key ascending, then sequence number descending.
pub(crate) type IKey = (Vec<u8>, Reverse<u64>);

/// Keys longer than this do not keep their probe buffer alive in the thread.
const PROBE_KEEP: usize = 4096;

thread_local! {
    /// Reusable search key for [`MemTable::get`].
    static PROBE: std::cell::RefCell<IKey> = const { std::cell::RefCell::new((Vec::new(), Reverse(0))) };
}

/// One memtable. Written only by the commit leader; read by anyone.
#[derive(Debug)]
pub(crate) struct MemTable {
    map: SkipMap<IKey, (ValueKind, Vec<u8>)>,
    size: AtomicUsize,
    /// Number of the WAL file holding this memtable's records.
    pub(crate) wal_number: u64,
    /// Largest sequence number inserted.
    max_seq: AtomicU64,
}

impl MemTable {
    pub(crate) fn new(wal_number: u64) -> MemTable {
        MemTable {
            map: SkipMap::new(),
            size: AtomicUsize::new(0),
            wal_number,
            max_seq: AtomicU64::new(0),
        }
    }

    /// Inserts one entry, taking ownership of the key and value buffers.
    pub(crate) fn insert(&self, key: Vec<u8>, seq: u64, kind: ValueKind, value: Vec<u8>) {
        self.size
            .fetch_add(key.len() + value.len() + 48, Ordering::Relaxed);
        self.max_seq.fetch_max(seq, Ordering::Relaxed);
        self.map.insert((key, Reverse(seq)), (kind, value));
    }

    pub(crate) fn approximate_size(&self) -> usize {
        self.size.load(Ordering::Relaxed)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn max_seq(&self) -> u64 {
        self.max_seq.load(Ordering::Relaxed)
    }

    /// Newest entry for `key` with seq <= `snap`.
    pub(crate) fn get(&self, key: &[u8], snap: u64) -> Option<(u64, ValueKind, Vec<u8>)> {
        // A fresh memtable (the usual state right after a flush) answers without a search.
        if self.map.is_empty() {
            return None;
        }
        // The skip list is searched with an owned internal key; reuse a per-thread buffer
        // instead of allocating one per lookup.
        PROBE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut probe) => {
                probe.0.clear();
                probe.0.extend_from_slice(key);
                probe.1 = Reverse(snap);
                let r = self.get_with(&probe, key);
                if probe.0.capacity() > PROBE_KEEP {
                    probe.0 = Vec::new();
                }
                r
            }
            // Unreachable (no lookup runs inside another), but stay correct regardless.
            Err(_) => self.get_with(&(key.to_vec(), Reverse(snap)), key),
        })
    }

    fn get_with(&self, probe: &IKey, key: &[u8]) -> Option<(u64, ValueKind, Vec<u8>)> {
        let e = self.map.lower_bound(Bound::Included(probe))?;
        let (k, Reverse(seq)) = e.key();
        if k.as_slice() != key {
            return None;
        }
        let (kind, v) = e.value();
        Some((*seq, *kind, v.clone()))
    }

    /// All entries in order (used by flush).
    pub(crate) fn for_each(
        &self,
        mut f: impl FnMut(&[u8], u64, ValueKind, &[u8]) -> crate::Result<()>,
    ) -> crate::Result<()> {
        for e in self.map.iter() {
            let (k, Reverse(seq)) = e.key();
            let (kind, v) = e.value();
            f(k, *seq, *kind, v)?;
        }
        Ok(())
    }

    /// First entry at or after (key, seq) in internal order.
    pub(crate) fn entry_ge(&self, key: &IKey) -> Option<Entry> {
        self.map
            .lower_bound(Bound::Included(key))
            .map(|e| Entry::of(&e))
    }

    /// Appends to `out` up to `n` entries strictly after (`backward`: before) `key` in internal
    /// order, nearest first: one skip-list search, then the list's links.
    pub(crate) fn entries_from(
        &self,
        key: &IKey,
        n: usize,
        backward: bool,
        out: &mut std::collections::VecDeque<Entry>,
    ) {
        if backward {
            let r = self.map.range((Bound::Unbounded, Bound::Excluded(key)));
            out.extend(r.rev().take(n).map(|e| Entry::of(&e)));
        } else {
            let r = self.map.range((Bound::Excluded(key), Bound::Unbounded));
            out.extend(r.take(n).map(|e| Entry::of(&e)));
        }
    }

    /// Last entry at or before (key, seq) in internal order.
    pub(crate) fn entry_le(&self, key: &IKey) -> Option<Entry> {
        self.map
            .upper_bound(Bound::Included(key))
            .map(|e| Entry::of(&e))
    }

    pub(crate) fn first(&self) -> Option<Entry> {
        self.map.front().map(|e| Entry::of(&e))
    }

    pub(crate) fn last(&self) -> Option<Entry> {
        self.map.back().map(|e| Entry::of(&e))
    }
}

/// An owned copy of one memtable entry.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) key: Vec<u8>,
    pub(crate) seq: u64,
    pub(crate) kind: ValueKind,
    pub(crate) value: Vec<u8>,
}

impl Entry {
    fn of(e: &crossbeam_skiplist::map::Entry<'_, IKey, (ValueKind, Vec<u8>)>) -> Entry {
        let (k, Reverse(seq)) = e.key();
        let (kind, v) = e.value();
        Entry {
            key: k.clone(),
            seq: *seq,
            kind: *kind,
            value: v.clone(),
        }
    }
}
