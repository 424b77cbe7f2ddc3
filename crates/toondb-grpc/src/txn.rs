//! Server-side transaction handles.
//!
//! Handles are unguessable (a secret-keyed PRF of a counter, not the counter). Each handle is
//! owned by the connection that began it: calls naming it from another
//! connection get NOT_FOUND, and it is rolled back when its connection closes
//! ([`TxnRegistry::close_connection`]) or after it has been idle for the configured TTL
//! ([`TxnRegistry::reap_idle`], run periodically by the server).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use toondb::Transaction;

/// Why a handle could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnLookupError {
    /// No open transaction with this id on this connection (never existed, finished, expired,
    /// rolled back with its connection, or owned by another connection).
    NotFound(u64),
    /// Too many open transactions.
    TooMany {
        /// The configured limit.
        limit: usize,
    },
}

impl std::fmt::Display for TxnLookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TxnLookupError::NotFound(id) => write!(
                f,
                "transaction {id} not found (finished, expired after being idle, or begun on another connection)"
            ),
            TxnLookupError::TooMany { limit } => {
                write!(f, "too many open transactions (limit {limit})")
            }
        }
    }
}

/// One open transaction.
pub struct TxnSlot {
    conn: u64,
    created: Instant,
    /// `None` once committed or rolled back by a racing call.
    txn: Mutex<Option<Transaction>>,
    last_used: Mutex<Instant>,
}

impl TxnSlot {
    /// Runs `f` on the transaction (blocking; call from a blocking thread). Returns `None` if
    /// the transaction was finished meanwhile.
    pub fn with<T>(&self, f: impl FnOnce(&mut Transaction) -> T) -> Option<T> {
        let mut g = self.txn.lock();
        let r = g.as_mut().map(f);
        *self.last_used.lock() = Instant::now();
        r
    }

    /// Takes the transaction out (for commit or rollback).
    pub fn take(&self) -> Option<Transaction> {
        self.txn.lock().take()
    }
}

/// Open transactions by id.
pub struct TxnRegistry {
    next: AtomicU64,
    /// Secret-keyed PRF (SipHash with keys from the OS) turning the counter into handles:
    /// handles cannot be guessed from other handles.
    keys: std::collections::hash_map::RandomState,
    max_per_conn: usize,
    max_lifetime: Duration,
    slots: Mutex<HashMap<u64, Arc<TxnSlot>>>,
    idle_ttl: Duration,
    max_open: usize,
}

impl std::fmt::Debug for TxnRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxnRegistry")
            .field("open", &self.len())
            .field("idle_ttl", &self.idle_ttl)
            .field("max_open", &self.max_open)
            .finish()
    }
}

impl TxnRegistry {
    /// A registry whose transactions expire after `idle_ttl` without use, holding at most
    /// `max_open` at once.
    pub fn new(idle_ttl: Duration, max_open: usize) -> TxnRegistry {
        TxnRegistry {
            next: AtomicU64::new(1),
            keys: std::collections::hash_map::RandomState::new(),
            max_per_conn: usize::MAX,
            max_lifetime: Duration::MAX,
            slots: Mutex::new(HashMap::new()),
            idle_ttl,
            max_open,
        }
    }

    /// Caps the transactions one connection may hold open (at least 1) and the age of any
    /// transaction (older ones are rolled back by [`TxnRegistry::reap_idle`]).
    pub fn with_limits(mut self, max_per_conn: usize, max_lifetime: Duration) -> TxnRegistry {
        self.max_per_conn = max_per_conn.max(1);
        self.max_lifetime = max_lifetime;
        self
    }

    /// The maximum age of a transaction.
    pub fn max_lifetime(&self) -> Duration {
        self.max_lifetime
    }

    /// The idle TTL.
    pub fn idle_ttl(&self) -> Duration {
        self.idle_ttl
    }

    /// Number of open transactions.
    pub fn len(&self) -> usize {
        self.slots.lock().len()
    }

    /// Whether no transaction is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Registers a new transaction owned by connection `conn`; returns its id.
    pub fn insert(&self, conn: u64, txn: Transaction) -> Result<u64, TxnLookupError> {
        let mut slots = self.slots.lock();
        if slots.len() >= self.max_open {
            return Err(TxnLookupError::TooMany {
                limit: self.max_open,
            });
        }
        if slots.values().filter(|s| s.conn == conn).count() >= self.max_per_conn {
            return Err(TxnLookupError::TooMany {
                limit: self.max_per_conn,
            });
        }
        let id = loop {
            use std::hash::BuildHasher;
            let id = self
                .keys
                .hash_one(self.next.fetch_add(1, Ordering::Relaxed));
            if id != 0 && !slots.contains_key(&id) {
                break id;
            }
        };
        slots.insert(
            id,
            Arc::new(TxnSlot {
                conn,
                created: Instant::now(),
                txn: Mutex::new(Some(txn)),
                last_used: Mutex::new(Instant::now()),
            }),
        );
        Ok(id)
    }

    /// The slot of `id` if connection `conn` owns it.
    pub fn get(&self, conn: u64, id: u64) -> Result<Arc<TxnSlot>, TxnLookupError> {
        match self.slots.lock().get(&id) {
            Some(s) if s.conn == conn => Ok(s.clone()),
            _ => Err(TxnLookupError::NotFound(id)),
        }
    }

    /// Removes `id` (owned by `conn`) and returns its transaction, for commit or rollback.
    pub fn remove(&self, conn: u64, id: u64) -> Result<Transaction, TxnLookupError> {
        let slot = {
            let mut slots = self.slots.lock();
            match slots.get(&id) {
                Some(s) if s.conn == conn => slots.remove(&id),
                _ => None,
            }
        };
        slot.and_then(|s| s.take())
            .ok_or(TxnLookupError::NotFound(id))
    }

    /// Rolls back every transaction of connection `conn`; returns how many.
    pub fn close_connection(&self, conn: u64) -> usize {
        let gone: Vec<Arc<TxnSlot>> = {
            let mut slots = self.slots.lock();
            let ids: Vec<u64> = slots
                .iter()
                .filter(|(_, s)| s.conn == conn)
                .map(|(id, _)| *id)
                .collect();
            ids.iter().filter_map(|id| slots.remove(id)).collect()
        };
        let n = gone.len();
        for s in gone {
            // A call still running on this slot keeps its Arc; the transaction is then dropped
            // (rolled back) when that call finishes. Otherwise roll back now.
            if let Some(t) = s.txn.try_lock().and_then(|mut g| g.take()) {
                t.rollback();
            }
        }
        n
    }

    /// Rolls back transactions idle for longer than the TTL that no call is using; returns how
    /// many.
    pub fn reap_idle(&self) -> usize {
        self.reap_older_than(self.idle_ttl)
    }

    fn reap_older_than(&self, ttl: Duration) -> usize {
        let now = Instant::now();
        let gone: Vec<Arc<TxnSlot>> = {
            let mut slots = self.slots.lock();
            let ids: Vec<u64> = slots
                .iter()
                .filter(|(_, s)| {
                    // A slot whose transaction is locked is in use right now: not idle.
                    s.txn.try_lock().is_some()
                        && (now.saturating_duration_since(*s.last_used.lock()) > ttl
                            || now.saturating_duration_since(s.created) > self.max_lifetime)
                })
                .map(|(id, _)| *id)
                .collect();
            ids.iter().filter_map(|id| slots.remove(id)).collect()
        };
        let n = gone.len();
        for s in gone {
            if let Some(t) = s.take() {
                t.rollback();
            }
        }
        n
    }

    /// Rolls back everything (server shutdown); returns how many.
    pub fn clear(&self) -> usize {
        let gone: Vec<Arc<TxnSlot>> = self.slots.lock().drain().map(|(_, s)| s).collect();
        let n = gone.len();
        for s in gone {
            if let Some(t) = s.take() {
                t.rollback();
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_expiry_and_connection_close() {
        let db = toondb::Database::open_in_memory().unwrap();
        let reg = TxnRegistry::new(Duration::from_secs(3600), 3);
        let a = reg.insert(1, db.begin().unwrap()).unwrap();
        let b = reg.insert(2, db.begin().unwrap()).unwrap();
        let c = reg.insert(2, db.begin().unwrap()).unwrap();
        assert_eq!(
            reg.insert(3, db.begin().unwrap()).unwrap_err(),
            TxnLookupError::TooMany { limit: 3 }
        );
        // Another connection cannot see or finish the handle.
        assert!(reg.get(2, a).is_err());
        assert!(reg.remove(2, a).is_err());
        reg.get(1, a)
            .unwrap()
            .with(|t| t.put("k", "v").unwrap())
            .unwrap();
        assert_eq!(db.get("k").unwrap(), None);
        reg.remove(1, a).unwrap().commit().unwrap();
        assert_eq!(db.get("k").unwrap().as_deref(), Some(&b"v"[..]));
        assert!(matches!(reg.get(1, a), Err(TxnLookupError::NotFound(_))));

        // Closing connection 2 rolls back both of its transactions.
        reg.get(2, b)
            .unwrap()
            .with(|t| t.put("b", "1").unwrap())
            .unwrap();
        assert_eq!(reg.close_connection(2), 2);
        assert!(reg.get(2, b).is_err() && reg.get(2, c).is_err());
        assert_eq!(db.get("b").unwrap(), None);
    }

    #[test]
    fn handles_are_not_sequential_and_limits_apply_per_connection_and_age() {
        let db = toondb::Database::open_in_memory().unwrap();
        let reg = TxnRegistry::new(Duration::from_secs(3600), 100)
            .with_limits(2, Duration::from_millis(1));
        let a = reg.insert(1, db.begin().unwrap()).unwrap();
        let b = reg.insert(1, db.begin().unwrap()).unwrap();
        assert!(
            a > 1 << 20 || b > 1 << 20,
            "handles look sequential: {a} {b}"
        );
        assert_ne!(b.wrapping_sub(a), 1);
        // Connection 1 is at its cap; connection 2 is not affected.
        assert_eq!(
            reg.insert(1, db.begin().unwrap()).unwrap_err(),
            TxnLookupError::TooMany { limit: 2 }
        );
        let c = reg.insert(2, db.begin().unwrap()).unwrap();
        // Used just now, but older than the maximum lifetime: reaped.
        std::thread::sleep(Duration::from_millis(5));
        reg.get(2, c).unwrap().with(|_| ()).unwrap();
        assert_eq!(reg.reap_idle(), 3);
        assert!(reg.is_empty());

        // Idle reaping.
        let d = reg.insert(4, db.begin().unwrap()).unwrap();
        assert_eq!(reg.reap_idle(), 0);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(reg.reap_older_than(Duration::ZERO), 1);
        assert!(reg.get(4, d).is_err());
        assert!(reg.is_empty());
    }
}
