//! Transactions: snapshot isolation (first committer wins) and serializable snapshot isolation
//! (read-set validation at commit).

use crate::batch::WriteBatch;
use crate::engine::{Engine, Inner};
use crate::error::Result;
use crate::iter::{own_bound, prefix_range, Direction, KvIter, OwnedRange};
use crate::mvcc::{ConflictCheck, SnapshotPin};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

/// Transaction isolation level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Isolation {
    /// Snapshot isolation: reads see the snapshot taken at `begin`; commit fails with
    /// [`crate::Error::Conflict`] if another transaction committed a write to a key this one writes
    /// after this one began (first committer wins). Write skew is possible.
    #[default]
    Snapshot,
    /// Serializable: additionally, commit fails if any key this transaction read, or any key in
    /// a range it scanned, was written by a commit after its snapshot. Prevents write skew.
    Serializable,
}

/// A transaction. Reads see its snapshot plus its own writes; nothing is visible to others
/// until [`Transaction::commit`]. Dropping it without committing rolls it back.
///
/// ```
/// use toondb_storage::{Engine, Isolation, Options};
/// let db = Engine::open_in_memory(Options::default()).unwrap();
/// let mut t = db.begin(Isolation::Serializable).unwrap();
/// t.put(b"a", b"1").unwrap();
/// assert_eq!(t.get(b"a").unwrap(), Some(b"1".to_vec()));
/// assert_eq!(db.get(b"a").unwrap(), None);
/// t.commit().unwrap();
/// assert_eq!(db.get(b"a").unwrap(), Some(b"1".to_vec()));
/// ```
pub struct Transaction {
    inner: Arc<Inner>,
    pin: Arc<SnapshotPin>,
    isolation: Isolation,
    /// Buffered writes (`None` = delete). Shared with the scans that read them, copy-on-write:
    /// a scan holds the map as it was when it started and reads only the part it visits.
    writes: Arc<BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
    reads: Vec<Vec<u8>>,
    ranges: Vec<OwnedRange>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("snapshot", &self.pin.seq)
            .field("isolation", &self.isolation)
            .field("writes", &self.writes.len())
            .finish()
    }
}

impl Transaction {
    pub(crate) fn new(inner: Arc<Inner>, isolation: Isolation) -> Transaction {
        let pin = Arc::new(inner.pin());
        Transaction {
            inner,
            pin,
            isolation,
            writes: Arc::new(BTreeMap::new()),
            reads: Vec::new(),
            ranges: Vec::new(),
        }
    }

    /// The snapshot sequence number this transaction reads at.
    pub fn snapshot_seq(&self) -> u64 {
        self.pin.seq
    }

    /// The isolation level.
    pub fn isolation(&self) -> Isolation {
        self.isolation
    }

    /// Reads `key` (own writes first, then the snapshot).
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(w) = self.writes.get(key) {
            return Ok(w.clone());
        }
        if self.isolation == Isolation::Serializable {
            self.reads.push(key.to_vec());
        }
        self.inner.get_at(key, self.pin.seq)
    }

    /// Buffers a put.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.inner.check_key(key)?;
        self.inner.check_value(value)?;
        Arc::make_mut(&mut self.writes).insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    /// Buffers a delete.
    pub fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.inner.check_key(key)?;
        Arc::make_mut(&mut self.writes).insert(key.to_vec(), None);
        Ok(())
    }

    /// Scans a range of the snapshot merged (lazily) with this transaction's own writes, as
    /// they are when the scan starts.
    pub fn scan(
        &mut self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        dir: Direction,
    ) -> Result<KvIter> {
        self.scan_owned((own_bound(lower), own_bound(upper)), dir)
    }

    /// Forward scan of all keys starting with `prefix` (read-your-own-writes).
    pub fn scan_prefix(&mut self, prefix: &[u8]) -> Result<KvIter> {
        self.scan_owned(prefix_range(prefix), Direction::Forward)
    }

    fn scan_owned(&mut self, range: OwnedRange, dir: Direction) -> Result<KvIter> {
        if crate::mvcc::range_is_empty(&range) {
            return Ok(KvIter::from_vec(Vec::new()));
        }
        let base = self
            .inner
            .scan_at(range.clone(), dir, Some(self.pin.clone()), self.pin.seq);
        let writes = crate::iter::PendingWrites::new(self.writes.clone(), range.clone(), dir);
        if self.isolation == Isolation::Serializable {
            self.ranges.push(range);
        }
        Ok(KvIter::overlay(base, writes, dir))
    }

    /// Commits atomically. Fails with [`crate::Error::Conflict`] (nothing written) if validation
    /// fails; see [`Isolation`].
    pub fn commit(self) -> Result<()> {
        if self.writes.is_empty() {
            return Ok(());
        }
        let mut batch = WriteBatch::new();
        for (k, w) in self.writes.iter() {
            match w {
                Some(v) => batch.put(k, v),
                None => batch.delete(k),
            };
        }
        let check = ConflictCheck {
            snapshot: self.pin.seq,
            writes: self.writes.keys().cloned().collect(),
            reads: self.reads,
            ranges: self.ranges,
        };
        Engine::commit_txn(&self.inner, batch, check)
    }

    /// Discards all buffered writes.
    pub fn rollback(self) {}
}
