//! A [`Vfs`] wrapper that injects faults: ENOSPC, EIO, short writes, failing syncs, read
//! errors and bit flips, optionally scoped to paths containing a substring and delayed by
//! "fail after N more operations" counters.
//!
//! Faults are described by [`FaultRule`]s registered on a shared [`FaultController`]; the
//! first matching rule decides what happens to an operation. Every fault actually injected is
//! counted ([`FaultController::injected`]).

use super::{FileLock, RandomAccessFile, Vfs, WritableFile};
use parking_lot::Mutex;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The class of operation a rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultOp {
    /// [`WritableFile::append`].
    Write,
    /// [`WritableFile::flush`].
    Flush,
    /// [`WritableFile::sync`].
    Sync,
    /// [`RandomAccessFile::read_exact_at`] (and [`Vfs::read_all`]).
    Read,
    /// [`Vfs::create`], [`Vfs::open_append`], [`Vfs::open_read`].
    Open,
    /// [`Vfs::rename`].
    Rename,
    /// [`Vfs::remove`].
    Remove,
    /// [`Vfs::sync_dir`].
    SyncDir,
    /// [`Vfs::truncate`].
    Truncate,
    /// Any of the above.
    Any,
}

/// Which error an injected failure returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoFault {
    /// ENOSPC: [`io::ErrorKind::StorageFull`].
    NoSpace,
    /// EIO: [`io::ErrorKind::Other`].
    Eio,
}

impl IoFault {
    fn to_error(self, path: &Path) -> io::Error {
        match self {
            IoFault::NoSpace => io::Error::new(
                io::ErrorKind::StorageFull,
                format!("injected ENOSPC on {}", path.display()),
            ),
            IoFault::Eio => io::Error::other(format!("injected EIO on {}", path.display())),
        }
    }
}

/// What a matching rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// The operation fails without effect.
    Fail(IoFault),
    /// Writes only: the first half of the buffer reaches the file, then the error is returned.
    ShortWrite(IoFault),
    /// Reads only: the read succeeds but bit `bit` (0..8) of the byte at absolute file offset
    /// `offset` is flipped if the read covers it. Reads that do not cover it are untouched and
    /// do not consume the rule.
    FlipBit {
        /// Absolute offset in the file.
        offset: u64,
        /// Bit index within the byte (taken modulo 8).
        bit: u8,
    },
}

/// One fault-injection rule.
#[derive(Clone, Debug)]
pub struct FaultRule {
    /// The operations it applies to.
    pub op: FaultOp,
    /// Only paths whose display form contains this substring (all paths if `None`).
    pub path_contains: Option<String>,
    /// Matching operations to let through before the first fault ("fail after N more").
    pub skip: u64,
    /// How many faults to inject before the rule expires (`None`: forever).
    pub times: Option<u64>,
    /// The fault.
    pub action: FaultAction,
}

impl FaultRule {
    /// A rule that applies `action` to every `op` on every path, from now on, forever.
    pub fn new(op: FaultOp, action: FaultAction) -> Self {
        FaultRule {
            op,
            path_contains: None,
            skip: 0,
            times: None,
            action,
        }
    }
    /// Restricts the rule to paths containing `s`.
    pub fn on_path(mut self, s: &str) -> Self {
        self.path_contains = Some(s.to_owned());
        self
    }
    /// Lets `n` matching operations succeed first.
    pub fn after(mut self, n: u64) -> Self {
        self.skip = n;
        self
    }
    /// Injects at most `n` faults.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }
}

/// Shared switchboard of a [`FaultVfs`]; hold an `Arc` to change faults while the database
/// runs.
#[derive(Default)]
pub struct FaultController {
    rules: Mutex<Vec<FaultRule>>,
    injected: AtomicU64,
}

impl fmt::Debug for FaultController {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultController")
            .field("rules", &*self.rules.lock())
            .field("injected", &self.injected())
            .finish()
    }
}

impl FaultController {
    /// A controller with no faults.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    /// Adds a rule (checked after the rules added before it).
    pub fn add(&self, rule: FaultRule) {
        self.rules.lock().push(rule);
    }
    /// Every write (to paths containing `path_contains`, if given) fails with `kind`.
    pub fn fail_writes(&self, kind: IoFault, path_contains: Option<&str>) {
        self.add(scoped(
            FaultRule::new(FaultOp::Write, FaultAction::Fail(kind)),
            path_contains,
        ));
    }
    /// Every write writes half its buffer, then fails with `kind`.
    pub fn short_writes(&self, kind: IoFault, path_contains: Option<&str>) {
        self.add(scoped(
            FaultRule::new(FaultOp::Write, FaultAction::ShortWrite(kind)),
            path_contains,
        ));
    }
    /// Every file sync fails with EIO.
    pub fn fail_syncs(&self, path_contains: Option<&str>) {
        self.add(scoped(
            FaultRule::new(FaultOp::Sync, FaultAction::Fail(IoFault::Eio)),
            path_contains,
        ));
    }
    /// Every read fails with EIO.
    pub fn fail_reads(&self, path_contains: Option<&str>) {
        self.add(scoped(
            FaultRule::new(FaultOp::Read, FaultAction::Fail(IoFault::Eio)),
            path_contains,
        ));
    }
    /// Reads covering byte `offset` of files matching `path_contains` see bit `bit` flipped.
    pub fn flip_bit_on_read(&self, path_contains: &str, offset: u64, bit: u8) {
        self.add(
            FaultRule::new(FaultOp::Read, FaultAction::FlipBit { offset, bit })
                .on_path(path_contains),
        );
    }
    /// After `n` more operations of class `op` succeed, every further one fails with `kind`.
    pub fn fail_after(&self, n: u64, op: FaultOp, kind: IoFault) {
        self.add(FaultRule::new(op, FaultAction::Fail(kind)).after(n));
    }
    /// Removes every rule (the injected count is kept).
    pub fn clear(&self) {
        self.rules.lock().clear();
    }
    /// How many faults have been injected so far.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// Finds the action for an operation, consuming skip/times counters. For reads, `range`
    /// is the byte range read; bit-flip rules that do not cover it are not consulted.
    fn check(&self, op: FaultOp, path: &Path, range: Option<(u64, u64)>) -> Option<FaultAction> {
        let mut rules = self.rules.lock();
        if rules.is_empty() {
            return None;
        }
        let shown = path.to_string_lossy();
        let mut hit = None;
        for (i, r) in rules.iter_mut().enumerate() {
            if r.op != op && r.op != FaultOp::Any {
                continue;
            }
            if let Some(s) = &r.path_contains {
                if !shown.contains(s.as_str()) {
                    continue;
                }
            }
            if let FaultAction::FlipBit { offset, .. } = r.action {
                match range {
                    Some((start, end)) if offset >= start && offset < end => {}
                    _ => continue,
                }
            }
            if r.skip > 0 {
                r.skip -= 1;
                continue;
            }
            let mut expired = false;
            if let Some(t) = r.times.as_mut() {
                *t = t.saturating_sub(1);
                expired = *t == 0;
            }
            hit = Some((i, r.action, expired));
            break;
        }
        let (i, action, expired) = hit?;
        if expired {
            rules.remove(i);
        }
        self.injected.fetch_add(1, Ordering::Relaxed);
        Some(action)
    }

    /// For operations that can only fail.
    fn check_fail(&self, op: FaultOp, path: &Path) -> io::Result<()> {
        match self.check(op, path, None) {
            Some(FaultAction::Fail(k)) | Some(FaultAction::ShortWrite(k)) => Err(k.to_error(path)),
            Some(FaultAction::FlipBit { .. }) | None => Ok(()),
        }
    }
}

fn scoped(rule: FaultRule, path_contains: Option<&str>) -> FaultRule {
    match path_contains {
        Some(s) => rule.on_path(s),
        None => rule,
    }
}

/// A [`Vfs`] that forwards to an inner one, injecting the faults its [`FaultController`] asks
/// for.
///
/// ```
/// use toondb_core::vfs::{FaultController, FaultVfs, IoFault, MemVfs, Vfs};
/// use std::{io, path::Path, sync::Arc};
///
/// let ctl = FaultController::new();
/// let vfs = FaultVfs::new(Arc::new(MemVfs::new()), ctl.clone());
/// let mut f = vfs.create(Path::new("wal.log")).unwrap();
/// ctl.fail_writes(IoFault::NoSpace, Some("wal"));
/// assert_eq!(f.append(b"x").unwrap_err().kind(), io::ErrorKind::StorageFull);
/// ctl.clear();
/// f.append(b"x").unwrap();
/// assert_eq!(ctl.injected(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct FaultVfs {
    inner: Arc<dyn Vfs>,
    ctl: Arc<FaultController>,
}

impl FaultVfs {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Vfs>, ctl: Arc<FaultController>) -> Self {
        FaultVfs { inner, ctl }
    }
    /// The controller.
    pub fn controller(&self) -> &Arc<FaultController> {
        &self.ctl
    }
    /// The wrapped file system.
    pub fn inner(&self) -> &Arc<dyn Vfs> {
        &self.inner
    }
}

struct FaultWritable {
    inner: Box<dyn WritableFile>,
    path: PathBuf,
    ctl: Arc<FaultController>,
}

impl WritableFile for FaultWritable {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        match self.ctl.check(FaultOp::Write, &self.path, None) {
            Some(FaultAction::Fail(k)) => Err(k.to_error(&self.path)),
            Some(FaultAction::ShortWrite(k)) => {
                self.inner.append(&data[..data.len() / 2])?;
                Err(k.to_error(&self.path))
            }
            Some(FaultAction::FlipBit { .. }) | None => self.inner.append(data),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.ctl.check_fail(FaultOp::Flush, &self.path)?;
        self.inner.flush()
    }
    fn sync(&mut self) -> io::Result<()> {
        self.ctl.check_fail(FaultOp::Sync, &self.path)?;
        self.inner.sync()
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
}

struct FaultReadable {
    inner: Arc<dyn RandomAccessFile>,
    path: PathBuf,
    ctl: Arc<FaultController>,
}

impl RandomAccessFile for FaultReadable {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let end = offset.saturating_add(buf.len() as u64);
        match self
            .ctl
            .check(FaultOp::Read, &self.path, Some((offset, end)))
        {
            Some(FaultAction::Fail(k)) | Some(FaultAction::ShortWrite(k)) => {
                Err(k.to_error(&self.path))
            }
            Some(FaultAction::FlipBit { offset: at, bit }) => {
                self.inner.read_exact_at(offset, buf)?;
                // `check` only returns FlipBit when offset <= at < end.
                if let Some(b) = usize::try_from(at - offset)
                    .ok()
                    .and_then(|i| buf.get_mut(i))
                {
                    *b ^= 1 << (bit % 8);
                }
                Ok(())
            }
            None => self.inner.read_exact_at(offset, buf),
        }
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
}

impl Vfs for FaultVfs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        self.ctl.check_fail(FaultOp::Open, path)?;
        Ok(Box::new(FaultWritable {
            inner: self.inner.create(path)?,
            path: path.to_path_buf(),
            ctl: self.ctl.clone(),
        }))
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        self.ctl.check_fail(FaultOp::Open, path)?;
        Ok(Box::new(FaultWritable {
            inner: self.inner.open_append(path)?,
            path: path.to_path_buf(),
            ctl: self.ctl.clone(),
        }))
    }
    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn RandomAccessFile>> {
        self.ctl.check_fail(FaultOp::Open, path)?;
        Ok(Arc::new(FaultReadable {
            inner: self.inner.open_read(path)?,
            path: path.to_path_buf(),
            ctl: self.ctl.clone(),
        }))
    }
    // `read_all` uses the default implementation so reads go through the fault checks.
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.ctl.check_fail(FaultOp::Remove, path)?;
        self.inner.remove(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.ctl.check_fail(FaultOp::Rename, from)?;
        self.inner.rename(from, to)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        self.inner.list_dir(path)
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inner.create_dir_all(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.ctl.check_fail(FaultOp::SyncDir, path)?;
        self.inner.sync_dir(path)
    }
    fn file_size(&self, path: &Path) -> io::Result<u64> {
        self.inner.file_size(path)
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        self.ctl.check_fail(FaultOp::Truncate, path)?;
        self.inner.truncate(path, len)
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.ctl.check_fail(FaultOp::Open, to)?;
        self.inner.hard_link(from, to)
    }
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        self.inner.lock(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::MemVfs;

    fn setup() -> (MemVfs, FaultVfs, Arc<FaultController>) {
        let mem = MemVfs::new();
        let ctl = FaultController::new();
        let vfs = FaultVfs::new(Arc::new(mem.clone()), ctl.clone());
        (mem, vfs, ctl)
    }

    #[test]
    fn enospc_and_eio_writes_scoped_by_path() {
        let (mem, vfs, ctl) = setup();
        let mut wal = vfs.create(Path::new("wal.log")).unwrap();
        let mut sst = vfs.create(Path::new("000001.sst")).unwrap();
        ctl.fail_writes(IoFault::NoSpace, Some("wal"));
        assert_eq!(
            wal.append(b"abc").unwrap_err().kind(),
            io::ErrorKind::StorageFull
        );
        sst.append(b"abc").unwrap();
        ctl.clear();
        ctl.fail_writes(IoFault::Eio, None);
        assert_eq!(sst.append(b"d").unwrap_err().kind(), io::ErrorKind::Other);
        ctl.clear();
        wal.append(b"ok").unwrap();
        assert_eq!(mem.read_all(Path::new("wal.log")).unwrap(), b"ok");
        assert_eq!(mem.read_all(Path::new("000001.sst")).unwrap(), b"abc");
        assert_eq!(ctl.injected(), 2);
    }

    #[test]
    fn short_write_writes_a_prefix() {
        let (mem, vfs, ctl) = setup();
        let mut f = vfs.create(Path::new("f")).unwrap();
        ctl.short_writes(IoFault::NoSpace, None);
        assert!(f.append(b"abcdefgh").is_err());
        assert_eq!(mem.read_all(Path::new("f")).unwrap(), b"abcd");
    }

    #[test]
    fn failing_sync_leaves_data_not_durable() {
        let (mem, vfs, ctl) = setup();
        let mut f = vfs.create(Path::new("f")).unwrap();
        f.append(b"abc").unwrap();
        ctl.fail_syncs(Some("f"));
        assert!(f.sync().is_err());
        vfs.sync_dir(Path::new("")).unwrap();
        assert_eq!(mem.durable_len(Path::new("f")), 0);
        ctl.clear();
        f.sync().unwrap();
        assert_eq!(mem.durable_len(Path::new("f")), 3);
    }

    #[test]
    fn read_errors_and_bit_flips() {
        let (_mem, vfs, ctl) = setup();
        let mut f = vfs.create(Path::new("t.sst")).unwrap();
        f.append(&[0u8; 16]).unwrap();
        let r = vfs.open_read(Path::new("t.sst")).unwrap();
        ctl.flip_bit_on_read("t.sst", 10, 3);
        let mut buf = [0u8; 4];
        r.read_exact_at(0, &mut buf).unwrap();
        assert_eq!(buf, [0; 4], "read not covering the offset is untouched");
        r.read_exact_at(8, &mut buf).unwrap();
        assert_eq!(buf, [0, 0, 8, 0]);
        assert_eq!(vfs.read_all(Path::new("t.sst")).unwrap()[10], 8);
        ctl.clear();
        ctl.fail_reads(None);
        assert!(r.read_exact_at(0, &mut buf).is_err());
        ctl.clear();
        r.read_exact_at(8, &mut buf).unwrap();
        assert_eq!(buf, [0; 4]);
        assert_eq!(ctl.injected(), 3);
    }

    #[test]
    fn fail_after_n_operations_and_times() {
        let (_mem, vfs, ctl) = setup();
        let mut f = vfs.create(Path::new("f")).unwrap();
        ctl.fail_after(2, FaultOp::Write, IoFault::Eio);
        f.append(b"1").unwrap();
        f.append(b"2").unwrap();
        assert!(f.append(b"3").is_err());
        assert!(f.append(b"4").is_err());
        ctl.clear();
        ctl.add(FaultRule::new(FaultOp::Any, FaultAction::Fail(IoFault::Eio)).times(1));
        assert!(vfs.rename(Path::new("f"), Path::new("g")).is_err());
        vfs.rename(Path::new("f"), Path::new("g")).unwrap();
        assert_eq!(ctl.injected(), 3);
        ctl.add(FaultRule::new(
            FaultOp::SyncDir,
            FaultAction::Fail(IoFault::Eio),
        ));
        assert!(vfs.sync_dir(Path::new("")).is_err());
        ctl.add(FaultRule::new(
            FaultOp::Open,
            FaultAction::Fail(IoFault::Eio),
        ));
        assert!(vfs.open_read(Path::new("g")).is_err());
    }
}
