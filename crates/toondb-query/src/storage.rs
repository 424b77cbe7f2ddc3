//! [`KvBackend`] implementation over toondb-storage.

use std::ops::Bound;

use crate::error::{Error, Result};
use crate::kv::{KvBackend, KvPairs, KvTxn};

// ---------------------------------------------------------------- toondb-storage backend

/// Adapter running SQL on a [`toondb_storage::Engine`].
#[derive(Clone)]
pub struct StorageBackend {
    engine: toondb_storage::Engine,
    isolation: toondb_storage::Isolation,
    prefix: Vec<u8>,
}

impl StorageBackend {
    /// Uses snapshot isolation for every transaction.
    pub fn new(engine: toondb_storage::Engine) -> Self {
        StorageBackend {
            engine,
            isolation: toondb_storage::Isolation::Snapshot,
            prefix: Vec::new(),
        }
    }

    /// Stores every SQL key under `prefix` (so SQL data can share an engine with other data).
    pub fn with_prefix(mut self, prefix: impl Into<Vec<u8>>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Uses the given isolation level.
    pub fn with_isolation(
        engine: toondb_storage::Engine,
        isolation: toondb_storage::Isolation,
    ) -> Self {
        StorageBackend {
            engine,
            isolation,
            prefix: Vec::new(),
        }
    }

    /// The wrapped engine.
    pub fn engine(&self) -> &toondb_storage::Engine {
        &self.engine
    }
}

pub(crate) fn storage_err(e: toondb_storage::Error) -> Error {
    Error::Storage(e)
}

struct StorageTxn {
    txn: toondb_storage::Transaction,
    prefix: Vec<u8>,
}

impl StorageTxn {
    fn k(&self, key: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + key.len());
        k.extend_from_slice(&self.prefix);
        k.extend_from_slice(key);
        k
    }
}

impl KvBackend for StorageBackend {
    fn begin(&self) -> Result<Box<dyn KvTxn>> {
        let txn = self.engine.begin(self.isolation).map_err(storage_err)?;
        Ok(Box::new(StorageTxn {
            txn,
            prefix: self.prefix.clone(),
        }))
    }

    /// Flushes the memtables and compacts every level over the SQL key range (the engine's
    /// whole key range, or the prefix's) to the deepest level, so deleted rows and old
    /// versions no longer take space on disk.
    fn vacuum(&self) -> Result<()> {
        if self.prefix.is_empty() {
            return self.engine.compact_range(None, None).map_err(storage_err);
        }
        let upper = match crate::codec::prefix_end(&self.prefix) {
            Bound::Excluded(k) | Bound::Included(k) => Some(k),
            Bound::Unbounded => None,
        };
        self.engine
            .compact_range(Some(&self.prefix), upper.as_deref())
            .map_err(storage_err)
    }
}

impl KvTxn for StorageTxn {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if self.prefix.is_empty() {
            return self.txn.get(key).map_err(storage_err);
        }
        let k = self.k(key);
        self.txn.get(&k).map_err(storage_err)
    }
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        if self.prefix.is_empty() {
            return self.txn.put(key, value).map_err(storage_err);
        }
        let k = self.k(key);
        self.txn.put(&k, value).map_err(storage_err)
    }
    fn delete(&mut self, key: &[u8]) -> Result<()> {
        if self.prefix.is_empty() {
            return self.txn.delete(key).map_err(storage_err);
        }
        let k = self.k(key);
        self.txn.delete(&k).map_err(storage_err)
    }
    fn scan(
        &mut self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
    ) -> Result<KvPairs<'_>> {
        let dir = if reverse {
            toondb_storage::Direction::Reverse
        } else {
            toondb_storage::Direction::Forward
        };
        if self.prefix.is_empty() {
            let it = self.txn.scan(lower, upper, dir).map_err(storage_err)?;
            return Ok(Box::new(it.map(|r| r.map_err(storage_err))));
        }
        let lo = match lower {
            Bound::Included(b) => Bound::Included(self.k(b)),
            Bound::Excluded(b) => Bound::Excluded(self.k(b)),
            Bound::Unbounded => Bound::Included(self.prefix.clone()),
        };
        let hi = match upper {
            Bound::Included(b) => Bound::Included(self.k(b)),
            Bound::Excluded(b) => Bound::Excluded(self.k(b)),
            Bound::Unbounded => crate::codec::prefix_end(&self.prefix),
        };
        let as_ref = |b: &Bound<Vec<u8>>| match b {
            Bound::Included(k) => Bound::Included(k.clone()),
            Bound::Excluded(k) => Bound::Excluded(k.clone()),
            Bound::Unbounded => Bound::Unbounded,
        };
        let (lo, hi) = (as_ref(&lo), as_ref(&hi));
        let lo_r = match &lo {
            Bound::Included(k) => Bound::Included(k.as_slice()),
            Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
            Bound::Unbounded => Bound::Unbounded,
        };
        let hi_r = match &hi {
            Bound::Included(k) => Bound::Included(k.as_slice()),
            Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
            Bound::Unbounded => Bound::Unbounded,
        };
        let it = self.txn.scan(lo_r, hi_r, dir).map_err(storage_err)?;
        let n = self.prefix.len();
        Ok(Box::new(it.map(move |r| {
            r.map_err(storage_err).map(|(mut k, v)| {
                k.drain(..n.min(k.len()));
                (k, v)
            })
        })))
    }
    fn commit(self: Box<Self>) -> Result<()> {
        self.txn.commit().map_err(storage_err)
    }
    fn rollback(self: Box<Self>) {
        self.txn.rollback();
    }
}
