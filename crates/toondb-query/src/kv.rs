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
    /// Makes the writes durable and visible. Conflicts surface as [`Error::Conflict`].
    fn commit(self: Box<Self>) -> Result<()>;
    /// Discards the writes.
    fn rollback(self: Box<Self>);
}

/// Something that can start transactions.
pub trait KvBackend: Send + Sync {
    /// Starts a new transaction.
    fn begin(&self) -> Result<Box<dyn KvTxn>>;
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
    Error::Storage("in-memory store mutex poisoned".into())
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
}
