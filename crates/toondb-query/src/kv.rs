//! The small key-value interface the executor runs on, with an in-memory implementation
//! (tests) and the toondb-storage implementation.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// A boxed iterator over `(key, value)` pairs.
pub type KvPairs<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + 'a>;

/// One read-write transaction. Reads see the transaction's own writes.
pub trait KvTxn: Send {
    /// Point read.
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Insert or overwrite.
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()>;
    /// Delete (no error when absent).
    fn delete(&mut self, key: &[u8]) -> Result<()>;
    /// Range scan over `[lower, upper]` bounds, ascending or (`reverse`) descending.
    fn scan(
        &mut self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
    ) -> Result<KvPairs<'_>>;
    /// The first `limit` pairs of an ascending (or, with `reverse`, descending) scan. The
    /// executor reads tables in chunks, so a backend whose `scan` must buffer can override this
    /// to buffer only a chunk.
    fn scan_chunk(
        &mut self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.scan(lower, upper, reverse)?.take(limit).collect()
    }
    /// Makes the writes durable and visible. Conflicts surface as errors for which
    /// [`Error::is_conflict`] is true.
    fn commit(self: Box<Self>) -> Result<()>;
    /// Discards the writes.
    fn rollback(self: Box<Self>);
}

/// Something that can start transactions.
pub trait KvBackend: Send + Sync {
    /// Starts a new transaction.
    fn begin(&self) -> Result<Box<dyn KvTxn>>;
    /// `VACUUM`: reclaims the space of deleted and overwritten data in the backend's whole
    /// key range. The default does nothing (in-memory backends hold no dead space worth a
    /// rewrite); a backend that runs inside an open transaction refuses with
    /// [`Error::Transaction`].
    fn vacuum(&self) -> Result<()> {
        Ok(())
    }
}

/// True when no key can lie between the bounds: the lower bound is above the upper one, or
/// they are equal and one is exclusive. `BTreeMap::range` panics on the first case (and on
/// equal exclusive bounds), so every buffered-write merge checks this first.
pub fn range_is_empty(lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> bool {
    match (lower, upper) {
        (Bound::Unbounded, _) | (_, Bound::Unbounded) => false,
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l), Bound::Excluded(u))
        | (Bound::Excluded(l), Bound::Included(u))
        | (Bound::Excluded(l), Bound::Excluded(u)) => l >= u,
    }
}

/// Buffered writes of a transaction or statement: `None` is a delete.
pub type WriteBuffer = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Iterator over buffered writes in key order.
pub type WritesIter<'w> =
    Box<dyn DoubleEndedIterator<Item = (&'w Vec<u8>, &'w Option<Vec<u8>>)> + 'w>;

/// The buffered writes inside the bounds (empty, never a panic, for inverted bounds).
pub fn writes_in<'w>(
    writes: &'w WriteBuffer,
    lower: Bound<&[u8]>,
    upper: Bound<&[u8]>,
) -> WritesIter<'w> {
    if range_is_empty(lower, upper) {
        return Box::new(std::iter::empty());
    }
    let lo = lower.map(<[u8]>::to_vec);
    let hi = upper.map(<[u8]>::to_vec);
    Box::new(writes.range((lo, hi)))
}

/// Lazily merges a base scan with buffered writes (writes win; `None` deletes), ascending or
/// descending.
pub struct MergeWrites<'a> {
    base: std::iter::Peekable<KvPairs<'a>>,
    writes: std::iter::Peekable<WritesIter<'a>>,
    reverse: bool,
}

impl<'a> MergeWrites<'a> {
    /// Merges `base` (ascending) with the writes inside the same bounds.
    pub fn new(
        base: KvPairs<'a>,
        writes: &'a WriteBuffer,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
    ) -> Self {
        Self::with_direction(base, writes, lower, upper, false)
    }

    /// Merges `base` (descending when `reverse`, else ascending) with the writes inside the
    /// same bounds, in the same direction.
    pub fn with_direction(
        base: KvPairs<'a>,
        writes: &'a WriteBuffer,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
    ) -> Self {
        let writes = writes_in(writes, lower, upper);
        let writes: WritesIter<'a> = if reverse {
            Box::new(writes.rev())
        } else {
            writes
        };
        MergeWrites {
            base: base.peekable(),
            writes: writes.peekable(),
            reverse,
        }
    }
}

/// The first `limit` pairs of a scan over a base store merged with buffered `writes`, in the
/// given direction, reading the base `limit` pairs at a time through `read(lower, upper, limit)`
/// (which must return the first `limit` base pairs in that direction). Fewer than `limit`
/// pairs come back only when the range is exhausted, however many base keys the writes delete.
pub fn merged_chunk(
    writes: &WriteBuffer,
    lower: Bound<&[u8]>,
    upper: Bound<&[u8]>,
    limit: usize,
    reverse: bool,
    mut read: impl FnMut(Bound<&[u8]>, Bound<&[u8]>, usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>>,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let limit = limit.max(1);
    let mut lo: Bound<Vec<u8>> = lower.map(<[u8]>::to_vec);
    let mut hi: Bound<Vec<u8>> = upper.map(<[u8]>::to_vec);
    let mut out = Vec::new();
    loop {
        let (lo_r, hi_r) = (bound_slice(&lo), bound_slice(&hi));
        if range_is_empty(lo_r, hi_r) {
            return Ok(out);
        }
        let base = read(lo_r, hi_r, limit)?;
        let exhausted = base.len() < limit;
        let last = base.last().map(|(k, _)| k.clone());
        // The writes that belong between the previous chunk and this chunk's last base key
        // (or the end of the range once the base is exhausted).
        let (wlo, whi) = match (&last, exhausted, reverse) {
            (Some(k), false, false) => (lo_r, Bound::Included(k.as_slice())),
            (Some(k), false, true) => (Bound::Included(k.as_slice()), hi_r),
            _ => (lo_r, hi_r),
        };
        let merged = MergeWrites::with_direction(
            Box::new(base.into_iter().map(Ok)),
            writes,
            wlo,
            whi,
            reverse,
        );
        for pair in merged {
            out.push(pair?);
            if out.len() >= limit {
                return Ok(out);
            }
        }
        match last {
            Some(k) if !exhausted => {
                if reverse {
                    hi = Bound::Excluded(k);
                } else {
                    lo = Bound::Excluded(k);
                }
            }
            _ => return Ok(out),
        }
    }
}

fn bound_slice(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl Iterator for MergeWrites<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let take_write = match (self.base.peek(), self.writes.peek()) {
                (None, None) => return None,
                (Some(Err(_)), _) => return self.base.next(),
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(Ok((bk, _))), Some((wk, _))) => {
                    let ord = bk.as_slice().cmp(wk.as_slice());
                    match if self.reverse { ord.reverse() } else { ord } {
                        std::cmp::Ordering::Less => false,
                        std::cmp::Ordering::Equal => {
                            self.base.next();
                            true
                        }
                        std::cmp::Ordering::Greater => true,
                    }
                }
            };
            if take_write {
                let (k, w) = self.writes.next()?;
                match w {
                    Some(v) => return Some(Ok((k.clone(), v.clone()))),
                    None => continue,
                }
            }
            return self.base.next();
        }
    }
}

// ---------------------------------------------------------------- in-memory backend

/// A `BTreeMap` behind a mutex. Transactions buffer writes and apply them at commit
/// (no conflict detection: last committer wins). Meant for tests and fuzzing.
#[derive(Clone, Default)]
pub struct MemBackend {
    map: Arc<Mutex<BTreeMap<Vec<u8>, Vec<u8>>>>,
}

impl MemBackend {
    /// Empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

struct MemTxn {
    map: Arc<Mutex<BTreeMap<Vec<u8>, Vec<u8>>>>,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

fn poisoned() -> Error {
    Error::Internal("in-memory store mutex poisoned".into())
}

impl KvBackend for MemBackend {
    fn begin(&self) -> Result<Box<dyn KvTxn>> {
        Ok(Box::new(MemTxn {
            map: self.map.clone(),
            writes: BTreeMap::new(),
        }))
    }
}

impl KvTxn for MemTxn {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(w) = self.writes.get(key) {
            return Ok(w.clone());
        }
        Ok(self.map.lock().map_err(|_| poisoned())?.get(key).cloned())
    }
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.writes.insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }
    fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.writes.insert(key.to_vec(), None);
        Ok(())
    }
    fn scan(
        &mut self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
    ) -> Result<KvPairs<'_>> {
        if range_is_empty(lower, upper) {
            return Ok(Box::new(std::iter::empty()));
        }
        let lo = lower.map(|b| b.to_vec());
        let hi = upper.map(|b| b.to_vec());
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = {
            let map = self.map.lock().map_err(|_| poisoned())?;
            map.range((lo.clone(), hi.clone()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        for (k, w) in self.writes.range((lo, hi)) {
            match w {
                Some(v) => {
                    merged.insert(k.clone(), v.clone());
                }
                None => {
                    merged.remove(k);
                }
            }
        }
        if reverse {
            Ok(Box::new(merged.into_iter().rev().map(Ok)))
        } else {
            Ok(Box::new(merged.into_iter().map(Ok)))
        }
    }
    fn commit(self: Box<Self>) -> Result<()> {
        let mut map = self.map.lock().map_err(|_| poisoned())?;
        for (k, w) in self.writes {
            match w {
                Some(v) => map.insert(k, v),
                None => map.remove(&k),
            };
        }
        Ok(())
    }
    fn rollback(self: Box<Self>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_txn_isolation_and_scan() {
        let b = MemBackend::new();
        let mut t = b.begin().unwrap();
        t.put(b"a", b"1").unwrap();
        t.put(b"b", b"2").unwrap();
        t.put(b"c", b"3").unwrap();
        t.delete(b"b").unwrap();
        let got: Vec<_> = t
            .scan(Bound::Unbounded, Bound::Unbounded, true)
            .unwrap()
            .map(|r| r.unwrap().0)
            .collect();
        assert_eq!(got, vec![b"c".to_vec(), b"a".to_vec()]);
        let mut other = b.begin().unwrap();
        assert_eq!(other.get(b"a").unwrap(), None);
        t.commit().unwrap();
        assert_eq!(other.get(b"a").unwrap(), Some(b"1".to_vec()));
        let mut t2 = b.begin().unwrap();
        t2.put(b"z", b"9").unwrap();
        t2.rollback();
        assert_eq!(other.get(b"z").unwrap(), None);
    }

    #[test]
    fn inverted_bounds_scan_nothing() {
        let b = MemBackend::new();
        let mut t = b.begin().unwrap();
        t.put(b"a", b"1").unwrap();
        let n = t
            .scan(Bound::Included(b"z"), Bound::Excluded(b"b"), false)
            .unwrap()
            .count();
        assert_eq!(n, 0);
        let n = t
            .scan(Bound::Excluded(b"a"), Bound::Excluded(b"a"), false)
            .unwrap()
            .count();
        assert_eq!(n, 0);
    }

    #[test]
    fn merge_writes_overrides_and_deletes() {
        let base: Vec<Result<(Vec<u8>, Vec<u8>)>> = vec![
            Ok((b"a".to_vec(), b"1".to_vec())),
            Ok((b"b".to_vec(), b"2".to_vec())),
            Ok((b"d".to_vec(), b"4".to_vec())),
        ];
        let mut w = WriteBuffer::new();
        w.insert(b"b".to_vec(), None);
        w.insert(b"c".to_vec(), Some(b"3".to_vec()));
        w.insert(b"d".to_vec(), Some(b"5".to_vec()));
        w.insert(b"e".to_vec(), Some(b"6".to_vec()));
        let got: Vec<_> = MergeWrites::new(
            Box::new(base.into_iter()),
            &w,
            Bound::Unbounded,
            Bound::Unbounded,
        )
        .map(|r| r.unwrap())
        .collect();
        let want: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (b"a".to_vec(), b"1".to_vec()),
            (b"c".to_vec(), b"3".to_vec()),
            (b"d".to_vec(), b"5".to_vec()),
            (b"e".to_vec(), b"6".to_vec()),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn merge_writes_descending() {
        let base: Vec<Result<(Vec<u8>, Vec<u8>)>> = vec![
            Ok((b"d".to_vec(), b"4".to_vec())),
            Ok((b"b".to_vec(), b"2".to_vec())),
            Ok((b"a".to_vec(), b"1".to_vec())),
        ];
        let mut w = WriteBuffer::new();
        w.insert(b"b".to_vec(), None);
        w.insert(b"c".to_vec(), Some(b"3".to_vec()));
        w.insert(b"d".to_vec(), Some(b"5".to_vec()));
        w.insert(b"e".to_vec(), Some(b"6".to_vec()));
        let got: Vec<_> = MergeWrites::with_direction(
            Box::new(base.into_iter()),
            &w,
            Bound::Unbounded,
            Bound::Included(b"d"),
            true,
        )
        .map(|r| r.unwrap())
        .collect();
        let want: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (b"d".to_vec(), b"5".to_vec()),
            (b"c".to_vec(), b"3".to_vec()),
            (b"a".to_vec(), b"1".to_vec()),
        ];
        assert_eq!(got, want);
    }
}
