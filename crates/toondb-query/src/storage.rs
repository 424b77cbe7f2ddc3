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
}

impl StorageBackend {
    /// Uses snapshot isolation for every transaction.
    pub fn new(engine: toondb_storage::Engine) -> Self {
        StorageBackend {
            engine,
            isolation: toondb_storage::Isolation::Snapshot,
        }
    }

    /// Uses the given isolation level.
    pub fn with_isolation(
        engine: toondb_storage::Engine,
        isolation: toondb_storage::Isolation,
    ) -> Self {
        StorageBackend { engine, isolation }
    }

    /// The wrapped engine.
    pub fn engine(&self) -> &toondb_storage::Engine {
        &self.engine
    }
}

pub(crate) fn storage_err(e: toondb_storage::Error) -> Error {
    if e.is_conflict() {
        Error::Conflict(e.to_string())
    } else {
        Error::Storage(e.to_string())
    }
}

struct StorageTxn {
    txn: toondb_storage::Transaction,
}

impl KvBackend for StorageBackend {
    fn begin(&self) -> Result<Box<dyn KvTxn>> {
        let txn = self.engine.begin(self.isolation).map_err(storage_err)?;
        Ok(Box::new(StorageTxn { txn }))
    }
}

impl KvTxn for StorageTxn {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.txn.get(key).map_err(storage_err)
    }
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.txn.put(key, value).map_err(storage_err)
    }
    fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.txn.delete(key).map_err(storage_err)
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
        let it = self.txn.scan(lower, upper, dir).map_err(storage_err)?;
        Ok(Box::new(it.map(|r| r.map_err(storage_err))))
    }
    fn commit(self: Box<Self>) -> Result<()> {
        self.txn.commit().map_err(storage_err)
    }
    fn rollback(self: Box<Self>) {
        self.txn.rollback();
    }
}
