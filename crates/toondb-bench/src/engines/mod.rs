//! The engines compared by `toondb-bench kv`, behind one trait. Every commit is durable
//! (fsynced before it returns) in every engine; see each module for how that is configured.

use std::path::Path;

#[cfg(feature = "peers")]
mod fjall;
#[cfg(feature = "peers")]
mod redb;
#[cfg(feature = "peers")]
mod sled;
#[cfg(feature = "peers")]
mod sqlite;
mod toondb;

/// One write in an atomic batch: a put (`Some(value)`) or a delete (`None`).
pub type Op = (Vec<u8>, Option<Vec<u8>>);

/// Errors are reported as text: the benchmark only prints them.
pub type Res<T> = Result<T, String>;

/// A key-value engine under test.
pub trait KvEngine {
    /// How commits are made durable, in words (printed with the results).
    fn durability(&self) -> &'static str;
    /// Applies `ops` atomically as one durable commit.
    fn write(&mut self, ops: &[Op]) -> Res<()>;
    /// One durable transaction that reads every key of `keys`, then writes `value` to each.
    fn txn_read_write(&mut self, keys: &[Vec<u8>], value: &[u8]) -> Res<()>;
    /// A reader usable from another thread.
    fn reader(&self) -> Res<Box<dyn KvReader + Send>>;
    /// Closes and reopens the database (empties the engine's own caches).
    fn reopen(&mut self) -> Res<()>;
    /// Closes the database, flushing whatever the engine flushes on close.
    fn close(self: Box<Self>) -> Res<()>;
}

/// Point reads and range scans.
pub trait KvReader {
    /// The value of `key`.
    fn get(&mut self, key: &[u8]) -> Res<Option<Vec<u8>>>;
    /// Reads up to `n` pairs from the first key `>= start`; returns how many were read.
    fn scan(&mut self, start: &[u8], n: usize) -> Res<usize>;
}

/// Engines compiled into this binary.
pub fn available() -> Vec<&'static str> {
    let mut v = vec!["toondb"];
    if cfg!(feature = "peers") {
        v.extend(["redb", "sled", "fjall", "sqlite"]);
    }
    v
}

/// Opens (creating) engine `name` in directory `dir`.
pub fn open(name: &str, dir: &Path) -> Res<Box<dyn KvEngine>> {
    match name {
        "toondb" => Ok(Box::new(toondb::Toon::open(dir)?)),
        #[cfg(feature = "peers")]
        "redb" => Ok(Box::new(redb::Redb::open(dir)?)),
        #[cfg(feature = "peers")]
        "sled" => Ok(Box::new(sled::Sled::open(dir)?)),
        #[cfg(feature = "peers")]
        "fjall" => Ok(Box::new(fjall::Fjall::open(dir)?)),
        #[cfg(feature = "peers")]
        "sqlite" => Ok(Box::new(sqlite::Sqlite::open(dir)?)),
        "rocksdb" => {
            Err("rocksdb is not built into this benchmark (see docs/benchmarks.md)".into())
        }
        other => Err(format!(
            "unknown or not compiled-in engine {other:?} (available: {})",
            available().join(",")
        )),
    }
}

/// Formats any error as text.
pub fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}
