//! Shared foundations of ToonDB: the [`vfs::Vfs`] file-system abstraction through which every
//! byte of I/O flows, CRC32C checksums, and the base error type. Depends on nothing else in
//! the workspace and never on an async runtime.
#![forbid(unsafe_code)]

pub mod checksum;
pub mod error;
pub mod vfs;

pub use error::{CoreError, CoreResult};
pub use vfs::{FileLock, OsVfs, RandomAccessFile, Vfs, WritableFile};
