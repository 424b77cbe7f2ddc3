//! Sorted string tables for ToonDB: the immutable on-disk table format, its builder and
//! reader, the bloom filter and the shared block cache. Depends only on `toondb-core` (for
//! the [`Vfs`](toondb_core::vfs::Vfs) and CRC32C); knows nothing of WALs, manifests or MVCC.
//!
//! A table stores *entries* `(user_key, seq, kind, value)` sorted by user key ascending and,
//! for equal keys, by sequence number descending (newest first). Sequence numbers are below
//! 2^56.
//!
//! ```
//! use std::path::Path;
//! use toondb_core::vfs::{MemVfs, Vfs};
//! use toondb_sstable::{BlockCache, SstBuilder, SstOptions, Table, ValueKind};
//!
//! let vfs = MemVfs::new();
//! let path = Path::new("000007.sst");
//! let mut b = SstBuilder::new(vfs.create(path)?, path.to_path_buf(), SstOptions::default());
//! for i in 0..1000u32 {
//!     b.add(format!("key{i:05}").as_bytes(), 1, ValueKind::Put, b"value")?;
//! }
//! b.finish()?; // also syncs the file
//!
//! let cache = BlockCache::new(1 << 20);
//! let table = Table::open(&vfs, path, 7, Some(cache.clone()))?;
//! assert_eq!(table.get(b"key00042", u64::MAX)?.map(|e| e.2), Some(b"value".to_vec()));
//! let mut it = table.iter();
//! it.seek(b"key00998")?;
//! assert_eq!(it.user_key(), b"key00998");
//! table.verify()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # File format (version 1)
//!
//! All fixed-width integers are **little-endian**; `varint` is unsigned LEB128 (at most 10
//! bytes). A file is a sequence of blocks, each followed by a 5-byte block trailer, then a
//! fixed 64-byte footer:
//!
//! ```text
//! [data block 0][trailer] ... [data block n-1][trailer]
//! [index block][trailer] [bloom block][trailer] [properties block][trailer]
//! [footer: 64 bytes]
//! ```
//!
//! **Block trailer** (5 bytes): `compression: u8` (0 = none; no other value is defined and
//! any other is corruption) then `crc: u32`, the masked CRC32C
//! ([`toondb_core::checksum::mask`]) of the block body followed by the compression byte.
//!
//! **Data and index blocks** (same layout): a run of entries, then the restart array:
//!
//! ```text
//! entry   := shared: varint | unshared: varint | value_len: varint
//!            | key_delta: [u8; unshared] | trailer: u64 | value: [u8; value_len]
//! block   := entry* | restart: u32 * num_restarts | num_restarts: u32
//! ```
//!
//! An entry's key is the first `shared` bytes of the previous entry's key followed by
//! `key_delta`. At each restart point (every `restart_interval` entries; offsets relative to
//! the block start, the first is 0, strictly ascending) `shared` is 0, so a reader can binary
//! search the restart points and step backwards. `trailer = seq << 8 | kind`
//! (kind 0 = Delete, 1 = Put). In data blocks the key is the user key. The index block has
//! one entry per data block (restart interval 1) whose key and trailer are those of the
//! block's **last** entry and whose value is the block handle `offset: varint | size: varint`
//! (size excludes the trailer). Blocks are contiguous from offset 0, so the index block's
//! offset bounds the data area.
//!
//! **Bloom block**: the bit array (a multiple of 8 bytes, at least 64 bits) then
//! `probes: u8` (1..=30). An empty body means "no filter". Each distinct user key sets the
//! bits `(h + i * delta) mod nbits` for `i` in `0..probes`, where `h` is a fixed 64-bit hash
//! of the key (see `bloom::hash64`; it is part of the format) and `delta = rotl(h, 31) | 1`.
//! Bit `b` is bit `b % 8` of byte `b / 8`. The default is 10 bits per key (~1% false
//! positives).
//!
//! **Properties block**: `smallest_key_len: varint | smallest_key | largest_key_len: varint |
//! largest_key | num_entries: u64 | num_deletes: u64 | min_seq: u64 | max_seq: u64 |
//! num_data_blocks: u64`. (The file size is not stored; it is the file's length.)
//!
//! **Footer** (64 bytes, at `file_len - 64`):
//!
//! | offset | field |
//! |---|---|
//! | 0 | index handle: `offset: u64`, `size: u64` |
//! | 16 | bloom handle: `offset: u64`, `size: u64` |
//! | 32 | properties handle: `offset: u64`, `size: u64` |
//! | 48 | `format_version: u32` = 1 |
//! | 52 | `crc: u32`, masked CRC32C of footer bytes 0..52 |
//! | 56 | `magic: u64` = `0x5453_5342_4e4f_4f54` (the bytes `TOONBSST`) |
//!
//! A reader checks the magic, then the version, then the footer checksum, then that every
//! handle lies before the footer (before allocating), then every block's checksum. Any
//! failure is [`SstError::Corruption`] with the path and the file offset of the bad bytes.
//! No input makes the reader panic or allocate more than the file's size.
#![forbid(unsafe_code)]

mod block;
mod bloom;
mod builder;
mod cache;
mod codec;
mod table;

use std::path::PathBuf;

pub use builder::{SstBuilder, MAX_KEY_LEN, MAX_VALUE_LEN};
pub use cache::{BlockCache, CacheStats};
pub use table::{Table, TableIter};

/// Whether an entry sets a value or deletes the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ValueKind {
    /// A tombstone.
    Delete = 0,
    /// A value.
    Put = 1,
}

/// Options for [`SstBuilder`].
#[derive(Clone, Debug)]
pub struct SstOptions {
    /// Target size of a data block body in bytes (default 4096). A block is closed as soon as
    /// it reaches this size, so a block holding one huge entry can be larger.
    pub block_size: usize,
    /// Bloom filter bits per distinct user key (default 10; 0 disables the filter).
    pub bloom_bits_per_key: usize,
    /// Entries between restart points in data blocks (default 16).
    pub restart_interval: usize,
}

impl Default for SstOptions {
    fn default() -> Self {
        SstOptions {
            block_size: 4096,
            bloom_bits_per_key: 10,
            restart_interval: 16,
        }
    }
}

/// Summary of a table, stored in its properties block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableProps {
    /// Smallest user key (empty for an empty table).
    pub smallest_key: Vec<u8>,
    /// Largest user key (empty for an empty table).
    pub largest_key: Vec<u8>,
    /// Number of entries (all versions, deletes included).
    pub num_entries: u64,
    /// Number of Delete entries.
    pub num_deletes: u64,
    /// Smallest sequence number (0 for an empty table).
    pub min_seq: u64,
    /// Largest sequence number (0 for an empty table).
    pub max_seq: u64,
    /// Size of the file in bytes.
    pub file_size: u64,
}

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SstError {
    /// The file's bytes are not a valid table.
    #[error("corrupt table {path} at offset {offset}: {detail}")]
    Corruption {
        /// The table file.
        path: PathBuf,
        /// File offset of the bad bytes.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// An I/O error.
    #[error("I/O error on table {path}: {source}")]
    Io {
        /// The table file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// [`SstBuilder::add`] received an entry not strictly after the previous one.
    #[error("table entries out of order: {detail}")]
    OutOfOrder {
        /// Which entries.
        detail: String,
    },
    /// A caller-supplied value is out of range (sequence number >= 2^56, oversized key or
    /// value).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl SstError {
    /// Whether this is a [`SstError::Corruption`].
    pub fn is_corruption(&self) -> bool {
        matches!(self, SstError::Corruption { .. })
    }
}
