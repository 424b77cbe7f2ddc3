//! Iterators: per-source cursors over internal entries (memtable, table, level), their merge,
//! and the user-facing [`KvIter`] which hides old versions and tombstones.

use crate::error::Result;
use crate::memtable::{Entry, MemTable};
use crate::sst::{TableIter, ValueKind};
use crate::version::FileMeta;
use std::cmp::{Ordering, Reverse};
use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

/// A cursor over internal entries in (user key asc, seq desc) order.
pub(crate) trait InternalIter: Send {
    fn seek_to_first(&mut self) -> Result<()>;
    fn seek_to_last(&mut self) -> Result<()>;
    /// First entry whose user key >= key.
    fn seek(&mut self, key: &[u8]) -> Result<()>;
    /// Last entry whose user key <= key.
    fn seek_for_prev(&mut self, key: &[u8]) -> Result<()>;
    fn next(&mut self) -> Result<()>;
    fn prev(&mut self) -> Result<()>;
    fn valid(&self) -> bool;
    fn key(&self) -> &[u8];
    fn seq(&self) -> u64;
    fn kind(&self) -> ValueKind;
    fn value(&self) -> &[u8];
}

/// Cursor over a memtable (it owns its memtable). Steps are served from entries read ahead in
/// one skip-list walk (a batch that grows while the scan goes on), so a scan costs one search
/// per batch instead of one per entry. Reading ahead is safe under MVCC: an entry that lands
/// in the memtable later has a sequence number above every snapshot taken before it.
pub(crate) struct MemIter {
    mem: Arc<MemTable>,
    cur: Option<Entry>,
    /// Entries after `cur` in the current direction, nearest first.
    ahead: VecDeque<Entry>,
    /// The direction `ahead` was read in.
    backward: bool,
    /// Size of the next read-ahead.
    batch: usize,
}

/// First read-ahead of a memtable cursor (a short scan or a point seek reads little) and the
/// largest (copies of entries waiting to be used).
const MEM_AHEAD_MIN: usize = 8;
const MEM_AHEAD_MAX: usize = 256;

impl MemIter {
    pub(crate) fn new(mem: Arc<MemTable>) -> MemIter {
        MemIter {
            mem,
            cur: None,
            ahead: VecDeque::new(),
            backward: false,
            batch: MEM_AHEAD_MIN,
        }
    }

    fn reset(&mut self) {
        self.ahead.clear();
        self.batch = MEM_AHEAD_MIN;
    }

    fn step(&mut self, backward: bool) {
        if self.backward != backward {
            self.reset();
            self.backward = backward;
        }
        if let Some(e) = self.ahead.pop_front() {
            self.cur = Some(e);
            return;
        }
        if let Some(c) = self.cur.take() {
            self.mem.entries_from(
                &(c.key, Reverse(c.seq)),
                self.batch,
                backward,
                &mut self.ahead,
            );
            self.batch = (self.batch * 2).min(MEM_AHEAD_MAX);
            self.cur = self.ahead.pop_front();
        }
    }
}

impl InternalIter for MemIter {
    fn seek_to_first(&mut self) -> Result<()> {
        self.reset();
        self.cur = self.mem.first();
        Ok(())
    }
    fn seek_to_last(&mut self) -> Result<()> {
        self.reset();
        self.cur = self.mem.last();
        Ok(())
    }
    fn seek(&mut self, key: &[u8]) -> Result<()> {
        self.reset();
        self.cur = self.mem.entry_ge(&(key.to_vec(), Reverse(u64::MAX)));
        Ok(())
    }
    fn seek_for_prev(&mut self, key: &[u8]) -> Result<()> {
        self.reset();
        self.cur = self.mem.entry_le(&(key.to_vec(), Reverse(0)));
        Ok(())
    }
    fn next(&mut self) -> Result<()> {
        self.step(false);
        Ok(())
    }
    fn prev(&mut self) -> Result<()> {
        self.step(true);
        Ok(())
    }
    fn valid(&self) -> bool {
        self.cur.is_some()
    }
    fn key(&self) -> &[u8] {
        self.cur.as_ref().map_or(&[], |c| &c.key)
    }
    fn seq(&self) -> u64 {
        self.cur.as_ref().map_or(0, |c| c.seq)
    }
    fn kind(&self) -> ValueKind {
        self.cur.as_ref().map_or(ValueKind::Delete, |c| c.kind)
    }
    fn value(&self) -> &[u8] {
        self.cur.as_ref().map_or(&[], |c| &c.value)
    }
}

/// Cursor over one table.
pub(crate) struct TableCursor {
    it: TableIter,
    // Keeps the file alive (and undeleted) while iterating.
    _file: Arc<FileMeta>,
}

impl TableCursor {
    pub(crate) fn new(file: Arc<FileMeta>) -> TableCursor {
        TableCursor {
            it: file.table.iter(),
            _file: file,
        }
    }
}

impl InternalIter for TableCursor {
    fn seek_to_first(&mut self) -> Result<()> {
        Ok(self.it.seek_to_first()?)
    }
    fn seek_to_last(&mut self) -> Result<()> {
        Ok(self.it.seek_to_last()?)
    }
    fn seek(&mut self, key: &[u8]) -> Result<()> {
        Ok(self.it.seek(key)?)
    }
    fn seek_for_prev(&mut self, key: &[u8]) -> Result<()> {
        Ok(self.it.seek_for_prev(key)?)
    }
    fn next(&mut self) -> Result<()> {
        Ok(self.it.next()?)
    }
    fn prev(&mut self) -> Result<()> {
        Ok(self.it.prev()?)
    }
    fn valid(&self) -> bool {
        self.it.valid()
    }
    fn key(&self) -> &[u8] {
        self.it.user_key()
    }
    fn seq(&self) -> u64 {
        self.it.seq()
    }
    fn kind(&self) -> ValueKind {
        self.it.kind()
    }
    fn value(&self) -> &[u8] {
        self.it.value()
    }
}

/// Cursor over a sorted, non-overlapping level: opens one table at a time.
pub(crate) struct LevelIter {
    files: Vec<Arc<FileMeta>>,
    idx: usize,
    cur: Option<TableCursor>,
}

impl LevelIter {
    pub(crate) fn new(files: Vec<Arc<FileMeta>>) -> LevelIter {
        LevelIter {
            files,
            idx: 0,
            cur: None,
        }
    }
    fn open(&mut self, idx: usize) -> bool {
        match self.files.get(idx) {
            Some(f) => {
                self.idx = idx;
                self.cur = Some(TableCursor::new(f.clone()));
                true
            }
            None => {
                self.cur = None;
                false
            }
        }
    }
    fn skip_forward(&mut self) -> Result<()> {
        while self.cur.as_ref().is_some_and(|c| !c.valid()) {
            if !self.open(self.idx + 1) {
                break;
            }
            if let Some(c) = self.cur.as_mut() {
                c.seek_to_first()?;
            }
        }
        Ok(())
    }
    fn skip_backward(&mut self) -> Result<()> {
        while self.cur.as_ref().is_some_and(|c| !c.valid()) {
            if self.idx == 0 || !self.open(self.idx - 1) {
                self.cur = None;
                break;
            }
            if let Some(c) = self.cur.as_mut() {
                c.seek_to_last()?;
            }
        }
        Ok(())
    }
}

impl InternalIter for LevelIter {
    fn seek_to_first(&mut self) -> Result<()> {
        if self.open(0) {
            if let Some(c) = self.cur.as_mut() {
                c.seek_to_first()?;
            }
        }
        self.skip_forward()
    }
    fn seek_to_last(&mut self) -> Result<()> {
        if let Some(last) = self.files.len().checked_sub(1) {
            self.open(last);
            if let Some(c) = self.cur.as_mut() {
                c.seek_to_last()?;
            }
        }
        self.skip_backward()
    }
    fn seek(&mut self, key: &[u8]) -> Result<()> {
        let i = self
            .files
            .partition_point(|f| f.desc.largest.as_slice() < key);
        if self.open(i) {
            if let Some(c) = self.cur.as_mut() {
                c.seek(key)?;
            }
        }
        self.skip_forward()
    }
    fn seek_for_prev(&mut self, key: &[u8]) -> Result<()> {
        let i = self
            .files
            .partition_point(|f| f.desc.smallest.as_slice() <= key);
        match i.checked_sub(1) {
            Some(i) => {
                self.open(i);
                if let Some(c) = self.cur.as_mut() {
                    c.seek_for_prev(key)?;
                }
                self.skip_backward()
            }
            None => {
                self.cur = None;
                Ok(())
            }
        }
    }
    fn next(&mut self) -> Result<()> {
        if let Some(c) = self.cur.as_mut() {
            c.next()?;
        }
        self.skip_forward()
    }
    fn prev(&mut self) -> Result<()> {
        if let Some(c) = self.cur.as_mut() {
            c.prev()?;
        }
        self.skip_backward()
    }
    fn valid(&self) -> bool {
        self.cur.as_ref().is_some_and(|c| c.valid())
    }
    fn key(&self) -> &[u8] {
        self.cur.as_ref().map_or(&[], |c| c.key())
    }
    fn seq(&self) -> u64 {
        self.cur.as_ref().map_or(0, |c| c.seq())
    }
    fn kind(&self) -> ValueKind {
        self.cur.as_ref().map_or(ValueKind::Delete, |c| c.kind())
    }
    fn value(&self) -> &[u8] {
        self.cur.as_ref().map_or(&[], |c| c.value())
    }
}

fn cmp_internal(a: &dyn InternalIter, b: &dyn InternalIter) -> Ordering {
    a.key().cmp(b.key()).then(b.seq().cmp(&a.seq()))
}

/// Forward merge of several cursors in internal order (used by compaction).
pub(crate) struct MergeIter {
    children: Vec<Box<dyn InternalIter>>,
    cur: Option<usize>,
}

impl MergeIter {
    pub(crate) fn new(children: Vec<Box<dyn InternalIter>>) -> MergeIter {
        MergeIter {
            children,
            cur: None,
        }
    }
    fn pick(&mut self) {
        let mut best: Option<usize> = None;
        for (i, c) in self.children.iter().enumerate() {
            if !c.valid() {
                continue;
            }
            best = match best {
                Some(b)
                    if cmp_internal(self.children[b].as_ref(), c.as_ref()) != Ordering::Greater =>
                {
                    Some(b)
                }
                _ => Some(i),
            };
        }
        self.cur = best;
    }
    pub(crate) fn seek_to_first(&mut self) -> Result<()> {
        for c in &mut self.children {
            c.seek_to_first()?;
        }
        self.pick();
        Ok(())
    }
    pub(crate) fn next(&mut self) -> Result<()> {
        if let Some(i) = self.cur {
            self.children[i].next()?;
        }
        self.pick();
        Ok(())
    }
    /// The current entry.
    pub(crate) fn current(&self) -> Option<&dyn InternalIter> {
        self.cur.map(|i| self.children[i].as_ref())
    }
}

/// Scan direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Ascending keys.
    Forward,
    /// Descending keys.
    Reverse,
}

/// Owned range bounds.
pub(crate) type OwnedRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

pub(crate) fn own_bound(b: Bound<&[u8]>) -> Bound<Vec<u8>> {
    match b {
        Bound::Included(k) => Bound::Included(k.to_vec()),
        Bound::Excluded(k) => Bound::Excluded(k.to_vec()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

pub(crate) fn above_lower(k: &[u8], lower: &Bound<Vec<u8>>) -> bool {
    match lower {
        Bound::Included(l) => k >= l.as_slice(),
        Bound::Excluded(l) => k > l.as_slice(),
        Bound::Unbounded => true,
    }
}

pub(crate) fn below_upper(k: &[u8], upper: &Bound<Vec<u8>>) -> bool {
    match upper {
        Bound::Included(u) => k <= u.as_slice(),
        Bound::Excluded(u) => k < u.as_slice(),
        Bound::Unbounded => true,
    }
}

pub(crate) fn in_range(k: &[u8], r: &OwnedRange) -> bool {
    above_lower(k, &r.0) && below_upper(k, &r.1)
}

/// The smallest key greater than every key starting with `prefix`, if any.
pub(crate) fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut p = prefix.to_vec();
    while let Some(last) = p.pop() {
        if last < 0xff {
            p.push(last + 1);
            return Some(p);
        }
    }
    None
}

/// Range bounds of a prefix scan.
pub(crate) fn prefix_range(prefix: &[u8]) -> OwnedRange {
    (
        Bound::Included(prefix.to_vec()),
        match prefix_successor(prefix) {
            Some(s) => Bound::Excluded(s),
            None => Bound::Unbounded,
        },
    )
}

/// User-visible iteration over a snapshot: newest visible version per key, tombstones hidden.
pub(crate) struct DbIter {
    children: Vec<Box<dyn InternalIter>>,
    snap: u64,
    range: OwnedRange,
    dir: Direction,
    started: bool,
    done: bool,
    // Keeps the snapshot registered (so compaction keeps the versions we read).
    _pin: Option<Arc<crate::mvcc::SnapshotPin>>,
}

impl DbIter {
    pub(crate) fn new(
        children: Vec<Box<dyn InternalIter>>,
        snap: u64,
        range: OwnedRange,
        dir: Direction,
        pin: Option<Arc<crate::mvcc::SnapshotPin>>,
    ) -> DbIter {
        DbIter {
            children,
            snap,
            range,
            dir,
            started: false,
            done: false,
            _pin: pin,
        }
    }

    fn start(&mut self) -> Result<()> {
        for c in &mut self.children {
            match (self.dir, &self.range) {
                (Direction::Forward, (Bound::Included(k) | Bound::Excluded(k), _)) => c.seek(k)?,
                (Direction::Forward, (Bound::Unbounded, _)) => c.seek_to_first()?,
                (Direction::Reverse, (_, Bound::Included(k) | Bound::Excluded(k))) => {
                    c.seek_for_prev(k)?
                }
                (Direction::Reverse, (_, Bound::Unbounded)) => c.seek_to_last()?,
            }
        }
        Ok(())
    }

    fn step(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        if !self.started {
            self.started = true;
            self.start()?;
        }
        let fwd = self.dir == Direction::Forward;
        loop {
            // The next user key in iteration order.
            let mut k: Option<&[u8]> = None;
            for c in &self.children {
                if c.valid() {
                    let ck = c.key();
                    k = match k {
                        Some(cur) if (fwd && cur <= ck) || (!fwd && cur >= ck) => Some(cur),
                        _ => Some(ck),
                    };
                }
            }
            let Some(k) = k.map(|k| k.to_vec()) else {
                return Ok(None);
            };
            let (in_start, in_end) = if fwd {
                (
                    above_lower(&k, &self.range.0),
                    below_upper(&k, &self.range.1),
                )
            } else {
                (
                    below_upper(&k, &self.range.1),
                    above_lower(&k, &self.range.0),
                )
            };
            if !in_end {
                return Ok(None);
            }
            // Newest version of k visible at the snapshot, consuming every version of k.
            let mut best: Option<(u64, ValueKind, Vec<u8>)> = None;
            for c in &mut self.children {
                while c.valid() && c.key() == k.as_slice() {
                    let s = c.seq();
                    if s <= self.snap && best.as_ref().is_none_or(|b| s > b.0) {
                        best = Some((s, c.kind(), c.value().to_vec()));
                    }
                    if fwd {
                        c.next()?;
                    } else {
                        c.prev()?;
                    }
                }
            }
            if !in_start {
                continue;
            }
            if let Some((_, ValueKind::Put, v)) = best {
                return Ok(Some((k, v)));
            }
        }
    }
}

enum Inner {
    Db(Box<DbIter>),
    Vec(std::vec::IntoIter<(Vec<u8>, Vec<u8>)>),
    Overlay(Box<Overlay>),
}

/// A transaction's buffered writes (in iteration order; `None` = delete) laid over a snapshot
/// scan, merged lazily.
/// A transaction's pending writes inside a range, in scan order, read lazily (in batches that
/// grow) from the write set as it was when the scan started: a scan costs what it reads, not
/// the size of the transaction.
pub(crate) struct PendingWrites {
    map: Arc<std::collections::BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
    /// What is left of the range.
    range: OwnedRange,
    forward: bool,
    buf: VecDeque<(Vec<u8>, Option<Vec<u8>>)>,
    batch: usize,
    done: bool,
}

impl PendingWrites {
    pub(crate) fn new(
        map: Arc<std::collections::BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
        range: OwnedRange,
        dir: Direction,
    ) -> PendingWrites {
        let done = map.is_empty() || crate::mvcc::range_is_empty(&range);
        PendingWrites {
            map,
            range,
            forward: dir == Direction::Forward,
            buf: VecDeque::new(),
            batch: 16,
            done,
        }
    }

    fn fill(&mut self) {
        if !self.buf.is_empty() || self.done {
            return;
        }
        // `BTreeMap::range` panics on an empty range; the bounds only ever shrink towards it.
        if crate::mvcc::range_is_empty(&self.range) {
            self.done = true;
            return;
        }
        let r = self.map.range::<Vec<u8>, _>(self.range.clone());
        let clone = |(k, w): (&Vec<u8>, &Option<Vec<u8>>)| (k.clone(), w.clone());
        if self.forward {
            self.buf.extend(r.take(self.batch).map(clone));
        } else {
            self.buf.extend(r.rev().take(self.batch).map(clone));
        }
        match self.buf.back() {
            Some((last, _)) if self.buf.len() == self.batch => {
                if self.forward {
                    self.range.0 = Bound::Excluded(last.clone());
                } else {
                    self.range.1 = Bound::Excluded(last.clone());
                }
            }
            _ => self.done = true,
        }
        self.batch = (self.batch * 2).min(1024);
    }

    fn front(&mut self) -> Option<&(Vec<u8>, Option<Vec<u8>>)> {
        self.fill();
        self.buf.front()
    }

    fn pop_front(&mut self) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
        self.fill();
        self.buf.pop_front()
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.done = true;
    }
}

struct Overlay {
    base: KvIter,
    base_done: bool,
    peeked: Option<(Vec<u8>, Vec<u8>)>,
    writes: PendingWrites,
    forward: bool,
}

impl Overlay {
    fn next(&mut self) -> Option<Result<(Vec<u8>, Vec<u8>)>> {
        loop {
            if self.peeked.is_none() && !self.base_done {
                match self.base.next() {
                    Some(Ok(kv)) => self.peeked = Some(kv),
                    Some(Err(e)) => {
                        self.base_done = true;
                        self.writes.clear();
                        return Some(Err(e));
                    }
                    None => self.base_done = true,
                }
            }
            let order = match (&self.peeked, self.writes.front()) {
                (None, None) => return None,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(p), Some(w)) => {
                    let o = p.0.cmp(&w.0);
                    if self.forward {
                        o
                    } else {
                        o.reverse()
                    }
                }
            };
            if order == Ordering::Less {
                return self.peeked.take().map(Ok);
            }
            if order == Ordering::Equal {
                // The transaction's own write shadows the snapshot's value.
                self.peeked = None;
            }
            if let Some((k, Some(v))) = self.writes.pop_front() {
                return Some(Ok((k, v)));
            }
        }
    }
}

/// Iterator over `(key, value)` pairs of a scan. It owns everything it needs (`'static`,
/// `Send`) and sees the snapshot it was created at. After an error it ends.
pub struct KvIter {
    inner: Inner,
}

impl std::fmt::Debug for KvIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvIter").finish_non_exhaustive()
    }
}

impl KvIter {
    pub(crate) fn from_db(it: DbIter) -> KvIter {
        KvIter {
            inner: Inner::Db(Box::new(it)),
        }
    }
    /// Lays `writes` (read in the direction of `base`; `None` = delete) over `base`.
    pub(crate) fn overlay(base: KvIter, writes: PendingWrites, dir: Direction) -> KvIter {
        KvIter {
            inner: Inner::Overlay(Box::new(Overlay {
                base,
                base_done: false,
                peeked: None,
                writes,
                forward: dir == Direction::Forward,
            })),
        }
    }
    pub(crate) fn from_vec(v: Vec<(Vec<u8>, Vec<u8>)>) -> KvIter {
        KvIter {
            inner: Inner::Vec(v.into_iter()),
        }
    }
    /// Collects all remaining pairs, stopping at the first error.
    pub fn collect_all(self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.collect()
    }
}

impl Iterator for KvIter {
    type Item = Result<(Vec<u8>, Vec<u8>)>;
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Vec(v) => v.next().map(Ok),
            Inner::Overlay(o) => o.next(),
            Inner::Db(d) => {
                if d.done {
                    return None;
                }
                match d.step() {
                    Ok(Some(kv)) => Some(Ok(kv)),
                    Ok(None) => {
                        d.done = true;
                        None
                    }
                    Err(e) => {
                        d.done = true;
                        Some(Err(e))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn kv_iter_is_send_and_static() {
        fn is_send<T: Send + 'static>() {}
        is_send::<super::KvIter>();
    }

    #[test]
    fn prefix_successor_skips_ff() {
        assert_eq!(super::prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(super::prefix_successor(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(super::prefix_successor(b"\xff\xff"), None);
    }
}
