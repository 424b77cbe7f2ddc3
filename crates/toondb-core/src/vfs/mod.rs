//! The file-system abstraction. Every byte ToonDB reads or writes goes through a [`Vfs`], so
//! tests can swap the operating system for a simulated disk that loses unsynced writes, tears
//! writes, flips bits, runs out of space or fails an fsync.
//!
//! Operations return plain [`std::io::Result`]; callers attach the path and turn them into
//! their own typed errors. Faults are expressed as ordinary I/O errors
//! ([`std::io::ErrorKind::StorageFull`] for ENOSPC, [`std::io::ErrorKind::Other`] for EIO).

mod fault;
mod mem;
mod os;

use std::fmt::Debug;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use fault::{FaultAction, FaultController, FaultOp, FaultRule, FaultVfs, IoFault};
pub use mem::{CrashModel, MemVfs, PAGE_SIZE};
pub use os::{OsVfs, DEFAULT_FILE_MODE};

/// A file-system implementation.
pub trait Vfs: Send + Sync + Debug {
    /// Creates `path` (truncating it if it exists) for appending.
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>>;
    /// Opens an existing file for appending at its end.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>>;
    /// Opens a file for positional reads.
    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn RandomAccessFile>>;
    /// Reads a whole file.
    fn read_all(&self, path: &Path) -> io::Result<Vec<u8>> {
        let f = self.open_read(path)?;
        let len = usize::try_from(f.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "file too large"))?;
        let mut buf = vec![0u8; len];
        f.read_exact_at(0, &mut buf)?;
        Ok(buf)
    }
    /// Whether `path` exists.
    fn exists(&self, path: &Path) -> bool;
    /// Removes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Atomically renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Names (not full paths) of the entries of a directory.
    fn list_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>>;
    /// Creates a directory and its parents.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Makes directory entries (creations, renames, removals) under `path` durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Size of a file in bytes.
    fn file_size(&self, path: &Path) -> io::Result<u64>;
    /// Shortens a file to `len` bytes and makes that durable.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Takes an exclusive advisory lock on `path` (created if missing). Fails with
    /// [`io::ErrorKind::WouldBlock`] if another holder has it. Released when the guard drops.
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>>;
    /// Makes `to` a second name of the file `from` (a hard link). File systems that cannot
    /// return [`io::ErrorKind::Unsupported`]; callers then copy.
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        let _ = (from, to);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "hard links are not supported by this file system",
        ))
    }
}

/// A file open for appending.
pub trait WritableFile: Send + Sync {
    /// Appends bytes (possibly buffered in user space).
    fn append(&mut self, data: &[u8]) -> io::Result<()>;
    /// Hands buffered bytes to the operating system (survives a process crash, not power loss).
    fn flush(&mut self) -> io::Result<()>;
    /// Flushes and makes the contents durable (fdatasync).
    fn sync(&mut self) -> io::Result<()>;
    /// Logical length: bytes appended so far, including the initial size when opened to append.
    fn len(&self) -> u64;
    /// Whether nothing has been written.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A file open for positional reads; shareable between threads.
pub trait RandomAccessFile: Send + Sync {
    /// Reads exactly `buf.len()` bytes at `offset`; an error if the file is shorter.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Length of the file when it was opened.
    fn len(&self) -> u64;
    /// Whether the file is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An exclusive lock held until dropped.
pub trait FileLock: Send + Sync + Debug {}
