//! The engines compared by `toondb-bench kv`, behind one trait. Every commit is durable
//! (fsynced before it returns) in every engine; see each module for how that is configured.

use std::path::Path;

#[cfg(feature = "peers")]
mod fjall;
#[cfg(feature = "peers")]
mod redb;
#[cfg(feature = "rocksdb")]
mod rocksdb;
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
    if cfg!(feature = "rocksdb") {
        v.push("rocksdb");
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
        #[cfg(feature = "rocksdb")]
        "rocksdb" => Ok(Box::new(rocksdb::Rocks::open(dir)?)),
        #[cfg(not(feature = "rocksdb"))]
        "rocksdb" => Err(
            "rocksdb is not built into this benchmark (feature `rocksdb`, see docs/benchmarks.md)"
                .into(),
        ),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn k(i: u32) -> Vec<u8> {
        format!("key{i:05}").into_bytes()
    }

    /// Every compiled-in engine honours the trait's contract the benchmark relies on: batch
    /// puts and deletes, point reads, ordered scans, the read-write transaction and reopen.
    #[test]
    fn every_engine_round_trips_writes_through_reopen() {
        for name in available() {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut e = open(name, dir.path()).unwrap_or_else(|e| panic!("{name}: {e}"));
            let ops: Vec<Op> = (0..200).map(|i| (k(i), Some(vec![i as u8; 10]))).collect();
            e.write(&ops).expect("load");
            let dels: Vec<Op> = (0..200).step_by(2).map(|i| (k(i), None)).collect();
            e.write(&dels).expect("deletes");
            e.txn_read_write(&[k(1), k(3), k(4)], b"txn").expect("txn");
            e.reopen().expect("reopen");
            let mut r = e.reader().expect("reader");
            assert_eq!(r.get(&k(1)).expect("get"), Some(b"txn".to_vec()), "{name}");
            assert_eq!(r.get(&k(4)).expect("get"), Some(b"txn".to_vec()), "{name}");
            assert_eq!(r.get(&k(5)).expect("get"), Some(vec![5; 10]), "{name}");
            assert_eq!(r.get(&k(2)).expect("get"), None, "{name}: deleted key");
            assert_eq!(r.get(b"nope").expect("get"), None, "{name}");
            // Live keys: 100 odd ones plus key4 written by the transaction.
            assert_eq!(r.scan(&k(0), 1000).expect("scan"), 101, "{name}");
            assert_eq!(r.scan(&k(190), 1000).expect("scan"), 5, "{name}");
            assert_eq!(r.scan(&k(0), 7).expect("scan"), 7, "{name}");
            drop(r);
            e.close().unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
