//! `*_async` methods (feature `async`), awaited inside a tokio runtime.
//!
//! Calls that can wait for long (SQL statements, transactions, scans, collection writes and
//! searches, commits that fsync) run on `tokio::task::spawn_blocking`. Key-value point
//! operations that finish in microseconds run on the calling task instead, because a hop to
//! the blocking pool costs several times the operation itself (measured by `toondb-bench
//! seed`: +450 % on a 2 µs get): `get_async` always (memtable, block cache, at worst one
//! block read from the page cache or disk), and `put_async` / `delete_async` when commits do
//! not wait for an fsync ([`SyncMode::Normal`](crate::SyncMode::Normal) or
//! [`SyncMode::Off`](crate::SyncMode::Off)); under [`SyncMode::Full`](crate::SyncMode::Full)
//! they wait for the group commit's fsync on the blocking pool. Inline calls spend tokio's
//! cooperative budget (`consume_budget`), so a task looping over them still yields to the
//! other tasks and to timers.

use crate::collection::{Collection, Document, SearchHit, SearchRequest};
use crate::db::Database;
use crate::error::{Error, Result};
use crate::sql::Rows;
use crate::{ContextResult, Value};

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("blocking task failed: {e}")))?
}

impl Database {
    /// Whether a write is acknowledged without waiting for an fsync.
    fn writes_return_quickly(&self) -> bool {
        self.options().storage.sync != crate::SyncMode::Full
    }

    /// Async [`Database::put`]: on the calling task unless commits wait for an fsync
    /// (`SyncMode::Full`), then on the blocking pool.
    pub async fn put_async(
        &self,
        key: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
    ) -> Result<()> {
        let (k, v) = (key.into(), value.into());
        if self.writes_return_quickly() {
            // Cooperative scheduling: a task looping over inline calls still yields.
            tokio::task::consume_budget().await;
            return self.put(k, v);
        }
        let db = self.clone();
        blocking(move || db.put(k, v)).await
    }

    /// Async [`Database::get`], on the calling task (a point read takes microseconds: see
    /// the module documentation).
    pub async fn get_async(&self, key: impl Into<Vec<u8>>) -> Result<Option<Vec<u8>>> {
        tokio::task::consume_budget().await;
        self.get(key.into())
    }

    /// Async [`Database::delete`]: like [`Database::put_async`].
    pub async fn delete_async(&self, key: impl Into<Vec<u8>>) -> Result<()> {
        let k = key.into();
        if self.writes_return_quickly() {
            tokio::task::consume_budget().await;
            return self.delete(k);
        }
        let db = self.clone();
        blocking(move || db.delete(k)).await
    }

    /// Async [`Database::scan_prefix`] (collected).
    pub async fn scan_prefix_async(
        &self,
        prefix: impl Into<Vec<u8>>,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let (db, p) = (self.clone(), prefix.into());
        blocking(move || db.scan_prefix(p)?.collect_all()).await
    }

    /// Async [`Database::execute`].
    pub async fn execute_async(&self, sql: impl Into<String>, params: Vec<Value>) -> Result<u64> {
        let (db, sql) = (self.clone(), sql.into());
        blocking(move || db.execute(&sql, &params)).await
    }

    /// Async [`Database::query`].
    pub async fn query_async(&self, sql: impl Into<String>, params: Vec<Value>) -> Result<Rows> {
        let (db, sql) = (self.clone(), sql.into());
        blocking(move || db.query(&sql, &params)).await
    }

    /// Async [`Database::transaction`]; the closure runs on a blocking thread.
    pub async fn transaction_async<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&mut crate::Transaction) -> Result<T> + Send + 'static,
    {
        let db = self.clone();
        blocking(move || db.transaction(f)).await
    }

    /// Async [`Database::execute_context`].
    pub async fn execute_context_async(&self, text: impl Into<String>) -> Result<ContextResult> {
        let (db, text) = (self.clone(), text.into());
        blocking(move || db.execute_context(&text)).await
    }
}

impl Collection {
    /// Async [`Collection::upsert`].
    pub async fn upsert_async(&self, doc: Document) -> Result<()> {
        let c = self.clone();
        blocking(move || c.upsert(doc)).await
    }

    /// Async [`Collection::delete`].
    pub async fn delete_async(&self, id: impl Into<String>) -> Result<bool> {
        let (c, id) = (self.clone(), id.into());
        blocking(move || c.delete(&id)).await
    }

    /// Async [`Collection::search_with`].
    pub async fn search_async(&self, request: SearchRequest) -> Result<Vec<SearchHit>> {
        let c = self.clone();
        blocking(move || c.search_with(&request)).await
    }
}
