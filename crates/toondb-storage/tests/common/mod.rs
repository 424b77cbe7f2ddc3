//! Test support: a [`Vfs`] wrapper that models the death of the process at power loss.
//!
//! `MemVfs::crash` only invalidates open file handles; threads of the "dead" engine could still
//! create, rename and remove files in the post-crash namespace before the test drops them.
//! `KillableVfs::kill_and_crash` blocks every later operation of the old engine and performs
//! the crash while no operation is in flight, so nothing the old engine does happens after
//! the power loss.
#![allow(dead_code, clippy::unwrap_used)]

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use toondb_core::vfs::{FileLock, RandomAccessFile, Vfs, WritableFile};

type Gate = Arc<RwLock<bool>>;

fn dead() -> io::Error {
    io::Error::other("the process died (simulated power loss)")
}

fn gated<T>(gate: &Gate, f: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    let g = gate.read().unwrap();
    if *g {
        return Err(dead());
    }
    f()
}

/// See the module docs.
#[derive(Debug)]
pub struct KillableVfs {
    inner: Arc<dyn Vfs>,
    gate: Gate,
}

impl KillableVfs {
    pub fn new(inner: Arc<dyn Vfs>) -> Arc<KillableVfs> {
        Arc::new(KillableVfs {
            inner,
            gate: Arc::new(RwLock::new(false)),
        })
    }

    /// Kills the "process" (every later operation through this Vfs fails) and runs `crash`
    /// while no operation is in flight.
    pub fn kill_and_crash(&self, crash: impl FnOnce()) {
        let mut g = self.gate.write().unwrap();
        *g = true;
        crash();
    }
}

struct KillableFile {
    inner: Box<dyn WritableFile>,
    gate: Gate,
}

impl WritableFile for KillableFile {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        let gate = self.gate.clone();
        gated(&gate, || self.inner.append(data))
    }
    fn flush(&mut self) -> io::Result<()> {
        let gate = self.gate.clone();
        gated(&gate, || self.inner.flush())
    }
    fn sync(&mut self) -> io::Result<()> {
        let gate = self.gate.clone();
        gated(&gate, || self.inner.sync())
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
}

impl Vfs for KillableVfs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let f = gated(&self.gate, || self.inner.create(path))?;
        Ok(Box::new(KillableFile {
            inner: f,
            gate: self.gate.clone(),
        }))
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let f = gated(&self.gate, || self.inner.open_append(path))?;
        Ok(Box::new(KillableFile {
            inner: f,
            gate: self.gate.clone(),
        }))
    }
    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn RandomAccessFile>> {
        gated(&self.gate, || self.inner.open_read(path))
    }
    fn read_all(&self, path: &Path) -> io::Result<Vec<u8>> {
        gated(&self.gate, || self.inner.read_all(path))
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        gated(&self.gate, || self.inner.remove(path))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        gated(&self.gate, || self.inner.rename(from, to))
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        gated(&self.gate, || self.inner.list_dir(path))
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        gated(&self.gate, || self.inner.create_dir_all(path))
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        gated(&self.gate, || self.inner.sync_dir(path))
    }
    fn file_size(&self, path: &Path) -> io::Result<u64> {
        gated(&self.gate, || self.inner.file_size(path))
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        gated(&self.gate, || self.inner.truncate(path, len))
    }
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        gated(&self.gate, || self.inner.lock(path))
    }
}

/// A [`Vfs`] wrapper that records the directory-level operations, in order (`lock /db/LOCK`,
/// `list /db`, `sync_dir /`, `create /db/000001.log`, ...).
pub struct RecordingVfs {
    inner: Arc<dyn Vfs>,
    pub log: std::sync::Mutex<Vec<String>>,
    /// Called with (operation, path) before each recorded operation.
    #[allow(clippy::type_complexity)]
    pub hook: std::sync::Mutex<Option<Box<dyn Fn(&str, &Path) + Send + Sync>>>,
}

impl std::fmt::Debug for RecordingVfs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingVfs").finish()
    }
}

impl RecordingVfs {
    pub fn new(inner: Arc<dyn Vfs>) -> Arc<RecordingVfs> {
        Arc::new(RecordingVfs {
            inner,
            log: std::sync::Mutex::new(Vec::new()),
            hook: std::sync::Mutex::new(None),
        })
    }
    fn note(&self, op: &str, p: &Path) {
        if let Some(h) = self.hook.lock().unwrap().as_ref() {
            h(op, p);
        }
        self.log
            .lock()
            .unwrap()
            .push(format!("{op} {}", p.display()));
    }
    pub fn ops(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Vfs for RecordingVfs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        self.note("create", path);
        self.inner.create(path)
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        self.inner.open_append(path)
    }
    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn RandomAccessFile>> {
        self.note("read", path);
        self.inner.open_read(path)
    }
    fn read_all(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.note("read", path);
        self.inner.read_all(path)
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.note("remove", path);
        self.inner.remove(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.note("rename", from);
        self.inner.rename(from, to)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        self.note("list", path);
        self.inner.list_dir(path)
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.note("mkdir", path);
        self.inner.create_dir_all(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.note("sync_dir", path);
        self.inner.sync_dir(path)
    }
    fn file_size(&self, path: &Path) -> io::Result<u64> {
        self.inner.file_size(path)
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        self.note("truncate", path);
        self.inner.truncate(path, len)
    }
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        self.note("lock", path);
        self.inner.lock(path)
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.note("link", to);
        self.inner.hard_link(from, to)
    }
}
