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

mod backup;
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
mod repair;
mod sst;
mod stats;
mod txn;
mod verify;
mod version;

#[cfg(feature = "async")]
mod async_api;

pub use backup::BackupReport;
pub use batch::WriteBatch;
pub use engine::{Engine, Snapshot};
pub use error::{Error, Result};
pub use iter::{Direction, KvIter};
pub use manifest::FORMAT_VERSION;
pub use options::{Options, SyncMode};
pub use repair::{repair, repair_with_vfs, RepairReport};
pub use stats::{EngineStats, LevelStats};
pub use txn::{Isolation, Transaction};
pub use verify::{Problem, TailCutKind, VerifyReport, WalTailCut};

/// Sequence numbers stay below 2^56.
pub(crate) const MAX_SEQ: u64 = 1 << 56;

/// Byte-level decoders exposed for fuzzing only (not a stable API).
#[doc(hidden)]
pub mod fuzz {
    use std::path::Path;

    /// Parses `data` as a WAL file, decodes every batch, and also decodes `data` directly as a
    /// batch payload (so the fuzzer reaches the decoder without forging checksums). Never
    /// panics; returns how many batches decoded.
    pub fn wal_file(data: &[u8]) -> usize {
        let path = Path::new("fuzz.log");
        let mut ok = 0;
        if let Ok(p) = crate::log::parse(data, path, true) {
            for (off, r) in &p.records {
                ok += usize::from(crate::batch::codec::decode(r, path, *off).is_ok());
            }
        }
        if let Ok((seq, b)) = crate::batch::codec::decode(data, path, 0) {
            // Whatever decodes must re-encode to the same bytes.
            let mut again = Vec::new();
            crate::batch::codec::encode(&b, seq, &mut again);
            assert_eq!(again, data, "batch codec is not canonical");
            ok += 1;
        }
        ok
    }

    /// Parses `data` as a manifest, decodes every edit, and also decodes `data` directly as a
    /// version edit. Never panics; returns how many edits decoded.
    pub fn manifest_file(data: &[u8]) -> usize {
        let path = Path::new("MANIFEST");
        let mut ok = 0;
        if let Ok(p) = crate::log::parse(data, path, true) {
            for (off, r) in &p.records {
                ok += usize::from(crate::manifest::codec::decode(r, path, *off).is_ok());
            }
        }
        if let Ok(e) = crate::manifest::codec::decode(data, path, 0) {
            let again = crate::manifest::codec::encode(&e);
            // Field order is canonicalised by the encoder; decoding it again must agree.
            let back = crate::manifest::codec::decode(&again, path, 0);
            assert!(
                back.is_ok_and(|b| b == e),
                "manifest codec does not round-trip"
            );
            ok += 1;
        }
        ok
    }
}
