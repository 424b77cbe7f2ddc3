//! `*_async` methods (feature `async`): each runs the blocking call on
//! `tokio::task::spawn_blocking`, so it must be awaited inside a tokio runtime.

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
    /// Async [`Database::put`].
    pub async fn put_async(
        &self,
        key: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
    ) -> Result<()> {
        let (db, k, v) = (self.clone(), key.into(), value.into());
        blocking(move || db.put(k, v)).await
    }

    /// Async [`Database::get`].
    pub async fn get_async(&self, key: impl Into<Vec<u8>>) -> Result<Option<Vec<u8>>> {
        let (db, k) = (self.clone(), key.into());
        blocking(move || db.get(k)).await
    }

    /// Async [`Database::delete`].
    pub async fn delete_async(&self, key: impl Into<Vec<u8>>) -> Result<()> {
        let (db, k) = (self.clone(), key.into());
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
