//! `*_async` wrappers (feature `async`): each runs the blocking call on
//! `tokio::task::spawn_blocking`, so async callers never block their executor.

use crate::{Engine, Error, Result, Transaction, WriteBatch};

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Poisoned(format!("blocking task failed: {e}")))?
}

impl Engine {
    /// Async [`Engine::put`].
    pub async fn put_async(&self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        let e = self.clone();
        blocking(move || e.put(&key, &value)).await
    }
    /// Async [`Engine::get`].
    pub async fn get_async(&self, key: Vec<u8>) -> Result<Option<Vec<u8>>> {
        let e = self.clone();
        blocking(move || e.get(&key)).await
    }
    /// Async [`Engine::delete`].
    pub async fn delete_async(&self, key: Vec<u8>) -> Result<()> {
        let e = self.clone();
        blocking(move || e.delete(&key)).await
    }
    /// Async [`Engine::write`].
    pub async fn write_async(&self, batch: WriteBatch) -> Result<()> {
        let e = self.clone();
        blocking(move || e.write(batch)).await
    }
    /// Async [`Engine::flush`].
    pub async fn flush_async(&self) -> Result<()> {
        let e = self.clone();
        blocking(move || e.flush()).await
    }
    /// Async [`Engine::compact_range`] over the whole key space.
    pub async fn compact_all_async(&self) -> Result<()> {
        let e = self.clone();
        blocking(move || e.compact_range(None, None)).await
    }
}

impl Transaction {
    /// Async [`Transaction::commit`].
    pub async fn commit_async(self) -> Result<()> {
        blocking(move || self.commit()).await
    }
}
