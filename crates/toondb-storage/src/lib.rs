//! ToonDB's synchronous LSM storage engine: write-ahead log with group commit, skip-list
//! memtables, SSTables (from `toondb-sstable`), leveled compaction, MVCC snapshots and
//! transactions (snapshot isolation and serializable). Depends only on `toondb-core` and
//! `toondb-sstable`; never on an async runtime unless the `async` feature is enabled.
//!
//! ```
//! use std::ops::Bound;
//! use toondb_storage::{Direction, Engine, Options, WriteBatch};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let db = Engine::open(dir.path(), Options::default()).unwrap();
//! db.put(b"user:1", b"ada").unwrap();
//! let mut batch = WriteBatch::new();
//! batch.put(b"user:2", b"grace").delete(b"user:1");
//! db.write(batch).unwrap();
//! assert_eq!(db.get(b"user:2").unwrap(), Some(b"grace".to_vec()));
//! assert_eq!(db.get(b"user:1").unwrap(), None);
//! let keys: Vec<Vec<u8>> = db
//!     .scan(Bound::Unbounded, Bound::Unbounded, Direction::Reverse)
//!     .unwrap()
//!     .map(|kv| kv.unwrap().0)
//!     .collect();
//! assert_eq!(keys, vec![b"user:2".to_vec()]);
//! db.close().unwrap();
//!
//! // Reopening replays the WAL.
//! let db = Engine::open(dir.path(), Options::default()).unwrap();
//! assert_eq!(db.get(b"user:2").unwrap(), Some(b"grace".to_vec()));
//! ```
//!
//! # Crate features
//!
//! - `async` (off by default): `*_async` methods on [`Engine`] and [`Transaction`] that run
//!   the blocking call on `tokio::task::spawn_blocking`. Without it the crate has no tokio in
//!   its dependency tree.
//!
//! # Design
//!
//! See `docs/architecture/storage.md` for the file formats and the crash-safety argument.
#![forbid(unsafe_code)]

mod batch;
mod compaction;
mod engine;
mod error;
mod files;
mod iter;
mod log;
mod manifest;
mod memtable;
mod mvcc;
mod options;
mod recovery;
mod sst;
mod stats;
mod txn;
mod verify;
mod version;

#[cfg(feature = "async")]
mod async_api;

pub use batch::WriteBatch;
pub use engine::{Engine, Snapshot};
pub use error::{Error, Result};
pub use iter::{Direction, KvIter};
pub use manifest::FORMAT_VERSION;
pub use options::{Options, SyncMode};
pub use stats::{EngineStats, LevelStats};
pub use txn::{Isolation, Transaction};
pub use verify::{Problem, VerifyReport};

/// Sequence numbers stay below 2^56.
pub(crate) const MAX_SEQ: u64 = 1 << 56;

/// Byte-level decoders exposed for fuzzing only (not a stable API).
#[doc(hidden)]
pub mod fuzz {
    use std::path::Path;

    /// Parses `data` as a WAL file and decodes every batch; never panics.
    pub fn wal_file(data: &[u8]) -> usize {
        match crate::log::parse(data, Path::new("fuzz.log"), true) {
            Ok(p) => p
                .records
                .iter()
                .filter(|(off, r)| {
                    crate::batch::codec::decode(r, Path::new("fuzz.log"), *off).is_ok()
                })
                .count(),
            Err(_) => 0,
        }
    }

    /// Parses `data` as a manifest and decodes every edit; never panics.
    pub fn manifest_file(data: &[u8]) -> usize {
        match crate::log::parse(data, Path::new("MANIFEST"), true) {
            Ok(p) => p
                .records
                .iter()
                .filter(|(off, r)| {
                    crate::manifest::codec::decode(r, Path::new("MANIFEST"), *off).is_ok()
                })
                .count(),
            Err(_) => 0,
        }
    }
}
