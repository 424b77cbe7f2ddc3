//! An in-memory [`Vfs`] that models durability, for in-memory databases and crash simulation.
//!
//! # Durability model
//!
//! * Each file (an "inode") holds its current bytes and a *durable length*: the prefix that
//!   survives power loss. [`WritableFile::sync`] makes every byte appended so far durable;
//!   [`Vfs::truncate`] shortens the file and makes the new length durable.
//! * The namespace (which path names which inode) exists twice: the *current* namespace seen
//!   by every operation, and the *durable* namespace that survives power loss. Creations,
//!   renames and removals change only the current namespace; [`Vfs::sync_dir`] on a directory
//!   copies that directory's entries (additions and removals) into the durable namespace.
//! * [`Vfs::create`] always makes a fresh inode (as if the old file were unlinked and a new
//!   one created), so a re-created file is durable only after both a file sync and a
//!   `sync_dir` of its parent. This is stricter than some real file systems, never laxer.
//! * Directories are made durable as soon as [`Vfs::create_dir_all`] returns (a simplification:
//!   ToonDB creates its directory once, before anything else).
//! * [`MemVfs::crash`] simulates power loss: the current namespace is replaced by the durable
//!   one, every file is cut back to its durable length, all locks are released and every
//!   handle opened before the crash fails with an error from then on.
//!   [`MemVfs::crash_with_torn_tail`] also keeps a random prefix of each file's unsynced bytes
//!   (a torn write). [`MemVfs::crash_with`] and [`CrashModel::LostPages`] model what real disks
//!   do with unsynced data more closely: the file keeps a random length between its durable
//!   length and its written length, and each 512-byte page of the unsynced part that is kept
//!   independently holds either the new bytes or zeros (lost), so a later page can survive
//!   while an earlier one is lost (written back out of order).
//! * [`MemVfs::power_cut_after`] arms a power cut at the n-th mutating operation (create,
//!   append, sync, directory sync, rename, remove, truncate, hard link): that operation and
//!   every later one fail, and the crash happens at that instant. An `append` at the cut point
//!   still lands in the page cache (it may or may not survive); a `sync` at the cut point does
//!   not happen. [`MemVfs::revive`] powers the machine back on.
//! * A file's parent directory must exist, as on a real file system. The empty path and the
//!   root `/` always exist.

use super::{FileLock, RandomAccessFile, Vfs, WritableFile};
use parking_lot::Mutex;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// One file's contents.
#[derive(Default)]
struct NodeData {
    data: Vec<u8>,
    durable_len: usize,
}

type Node = Arc<Mutex<NodeData>>;

#[derive(Default)]
struct State {
    files: HashMap<PathBuf, Node>,
    durable_files: HashMap<PathBuf, Node>,
    dirs: BTreeSet<PathBuf>,
    /// Held locks: path -> token of the guard that holds it.
    locks: HashMap<PathBuf, u64>,
    next_token: u64,
}

/// What happens to unsynced data at a simulated power loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashModel {
    /// Every unsynced byte is lost.
    Clean,
    /// Each file keeps a pseudo-random prefix of its unsynced bytes (seeded).
    TornPrefix(u64),
    /// Each file keeps a pseudo-random length of its unsynced bytes, and each 512-byte page of
    /// that part independently holds the new bytes or zeros (seeded): lost, kept, or kept out
    /// of order.
    LostPages(u64),
}

/// Size of the unit in which [`CrashModel::LostPages`] keeps or loses unsynced data.
pub const PAGE_SIZE: usize = 512;

struct PowerCut {
    remaining: u64,
    model: CrashModel,
}

struct Shared {
    state: Mutex<State>,
    /// Bumped by every crash; handles from an older epoch are dead.
    epoch: AtomicU64,
    /// An armed power cut.
    cut: Mutex<Option<PowerCut>>,
    /// Set when an armed power cut fired; every operation fails until `revive`.
    dead: AtomicBool,
    /// Mutating operations performed so far.
    ops: AtomicU64,
    /// The operation and path at which the last armed power cut fired.
    last_cut: Mutex<Option<(&'static str, PathBuf)>>,
    /// Every mutating operation, when recording (see `MemVfs::record_ops`).
    recorded: Mutex<Option<Vec<(&'static str, PathBuf)>>>,
}

fn power_is_off() -> io::Error {
    io::Error::other("simulated power loss: the machine is off")
}

impl Shared {
    fn check_epoch(&self, epoch: u64) -> io::Result<()> {
        if self.dead.load(Ordering::Acquire) {
            return Err(power_is_off());
        }
        if self.epoch.load(Ordering::Acquire) == epoch {
            Ok(())
        } else {
            Err(io::Error::other(
                "file handle is stale: the simulated machine crashed",
            ))
        }
    }

    fn alive(&self) -> io::Result<()> {
        if self.dead.load(Ordering::Acquire) {
            Err(power_is_off())
        } else {
            Ok(())
        }
    }

    /// Counts one mutating operation. `Err` if the power is off, or if an armed cut fires now
    /// (`after` says whether the operation itself happens first, as an append to the page
    /// cache does).
    fn tick(&self, op: &'static str, path: &Path, after: impl FnOnce()) -> io::Result<()> {
        self.alive()?;
        self.ops.fetch_add(1, Ordering::AcqRel);
        if let Some(log) = self.recorded.lock().as_mut() {
            log.push((op, path.to_path_buf()));
        }
        let mut cut = self.cut.lock();
        // Another thread's cut may have fired while we waited for the lock.
        self.alive()?;
        let fire = match cut.as_mut() {
            Some(c) if c.remaining == 0 => Some(c.model),
            Some(c) => {
                c.remaining -= 1;
                None
            }
            None => None,
        };
        match fire {
            None => Ok(()),
            Some(model) => {
                *cut = None;
                *self.last_cut.lock() = Some((op, path.to_path_buf()));
                after();
                self.dead.store(true, Ordering::Release);
                self.crash(model);
                Err(power_is_off())
            }
        }
    }

    fn crash(&self, model: CrashModel) {
        let mut st = self.state.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let mut rng = match model {
            CrashModel::Clean => 0,
            CrashModel::TornPrefix(s) | CrashModel::LostPages(s) => s,
        };
        // Visit files in a stable order so a seed always tears the same way.
        let mut paths: Vec<&PathBuf> = st.durable_files.keys().collect();
        paths.sort();
        for p in paths {
            let Some(node) = st.durable_files.get(p) else {
                continue;
            };
            let mut n = node.lock();
            let durable = n.durable_len.min(n.data.len());
            let unsynced = n.data.len() - durable;
            let keep = match model {
                CrashModel::Clean => durable,
                CrashModel::TornPrefix(_) | CrashModel::LostPages(_) => {
                    durable + (splitmix64(&mut rng) % (unsynced as u64 + 1)) as usize
                }
            };
            if matches!(model, CrashModel::LostPages(_)) {
                let mut page = durable / PAGE_SIZE * PAGE_SIZE;
                while page < keep {
                    let lo = page.max(durable);
                    let hi = (page + PAGE_SIZE).min(keep);
                    if splitmix64(&mut rng).is_multiple_of(2) {
                        n.data[lo..hi].fill(0);
                    }
                    page += PAGE_SIZE;
                }
            }
            n.data.truncate(keep);
            n.durable_len = keep;
        }
        st.files = st.durable_files.clone();
        st.locks.clear();
    }
}

/// An in-memory file system with a realistic durability model (see the module docs).
///
/// Cloning is cheap and every clone shares the same files.
///
/// ```
/// use toondb_core::vfs::{MemVfs, Vfs};
/// use std::path::Path;
///
/// let vfs = MemVfs::new();
/// vfs.create_dir_all(Path::new("/db")).unwrap();
/// let mut f = vfs.create(Path::new("/db/a")).unwrap();
/// f.append(b"durable").unwrap();
/// f.sync().unwrap();
/// f.append(b" lost").unwrap();
/// vfs.sync_dir(Path::new("/db")).unwrap();
/// vfs.crash();
/// assert_eq!(vfs.read_all(Path::new("/db/a")).unwrap(), b"durable");
/// ```
#[derive(Clone)]
pub struct MemVfs {
    shared: Arc<Shared>,
}

impl Default for MemVfs {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemVfs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.state.lock();
        f.debug_struct("MemVfs")
            .field("files", &st.files.len())
            .field("dirs", &st.dirs.len())
            .finish()
    }
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: no such file or directory", path.display()),
    )
}

fn parent_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

impl State {
    fn dir_exists(&self, dir: &Path) -> bool {
        dir.as_os_str().is_empty() || dir == Path::new("/") || self.dirs.contains(dir)
    }
    fn check_parent(&self, path: &Path) -> io::Result<()> {
        let parent = parent_of(path);
        if self.dir_exists(&parent) {
            Ok(())
        } else {
            Err(not_found(&parent))
        }
    }
}

/// A small deterministic generator (splitmix64) for torn-tail lengths.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl MemVfs {
    /// An empty file system.
    pub fn new() -> Self {
        MemVfs {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                epoch: AtomicU64::new(0),
                cut: Mutex::new(None),
                dead: AtomicBool::new(false),
                ops: AtomicU64::new(0),
                last_cut: Mutex::new(None),
                recorded: Mutex::new(None),
            }),
        }
    }

    /// Simulates power loss: only durable state survives (see the module docs).
    pub fn crash(&self) {
        self.shared.crash(CrashModel::Clean);
    }

    /// Like [`MemVfs::crash`], but each file also keeps a pseudo-random prefix (chosen from
    /// `rng_seed`, possibly empty, possibly all) of its unsynced bytes, as a torn write would.
    pub fn crash_with_torn_tail(&self, rng_seed: u64) {
        self.shared.crash(CrashModel::TornPrefix(rng_seed));
    }

    /// Simulates power loss with the given treatment of unsynced data.
    pub fn crash_with(&self, model: CrashModel) {
        self.shared.crash(model);
    }

    /// Arms a power cut: the mutating operation after `ops` more successful ones fails and
    /// the machine crashes at that instant with `model` (see the module docs). Every later
    /// operation fails until [`MemVfs::revive`].
    pub fn power_cut_after(&self, ops: u64, model: CrashModel) {
        *self.shared.cut.lock() = Some(PowerCut {
            remaining: ops,
            model,
        });
    }

    /// Whether an armed power cut has fired (and the machine is still off).
    pub fn is_powered_off(&self) -> bool {
        self.shared.dead.load(Ordering::Acquire)
    }

    /// Turns the machine back on after a power cut (and disarms a pending one).
    pub fn revive(&self) {
        *self.shared.cut.lock() = None;
        self.shared.dead.store(false, Ordering::Release);
    }

    /// The operation (`create`, `append`, `sync`, `sync_dir`, `rename`, `remove`, `truncate`,
    /// `hard_link`) and path at which the last armed power cut fired.
    pub fn last_power_cut(&self) -> Option<(&'static str, PathBuf)> {
        self.shared.last_cut.lock().clone()
    }

    /// Starts recording every mutating operation (operation name and path), in order, so a
    /// power-cut sweep can aim at particular steps; [`MemVfs::recorded_ops`] returns them.
    pub fn record_ops(&self) {
        *self.shared.recorded.lock() = Some(Vec::new());
    }

    /// The operations recorded since [`MemVfs::record_ops`] (index = power-cut position).
    pub fn recorded_ops(&self) -> Vec<(&'static str, PathBuf)> {
        self.shared.recorded.lock().clone().unwrap_or_default()
    }

    /// Mutating operations performed so far (to size power-cut sweeps).
    pub fn mutating_ops(&self) -> u64 {
        self.shared.ops.load(Ordering::Acquire)
    }

    /// Paths of all files in the current namespace, sorted (for tests and debugging).
    pub fn file_paths(&self) -> Vec<PathBuf> {
        let st = self.shared.state.lock();
        let mut v: Vec<PathBuf> = st.files.keys().cloned().collect();
        v.sort();
        v
    }

    /// Number of bytes of `path` that would survive a crash right now (0 if the name itself
    /// is not durable).
    pub fn durable_len(&self, path: &Path) -> u64 {
        let st = self.shared.state.lock();
        st.durable_files
            .get(path)
            .map(|n| n.lock().durable_len as u64)
            .unwrap_or(0)
    }

    fn node(&self, path: &Path) -> io::Result<Node> {
        let st = self.shared.state.lock();
        st.files.get(path).cloned().ok_or_else(|| not_found(path))
    }

    fn epoch(&self) -> u64 {
        self.shared.epoch.load(Ordering::Acquire)
    }
}

struct MemWritable {
    path: PathBuf,
    node: Node,
    shared: Arc<Shared>,
    epoch: u64,
    len: u64,
}

impl WritableFile for MemWritable {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.shared.check_epoch(self.epoch)?;
        // At a power cut the bytes still reach the page cache (they may survive the crash).
        let node = self.node.clone();
        self.shared.tick("append", &self.path, || {
            node.lock().data.extend_from_slice(data)
        })?;
        // Checked under the node lock, which a crash takes after bumping the epoch: the
        // append happens entirely before the crash or fails (linearizable).
        let mut n = self.node.lock();
        self.shared.check_epoch(self.epoch)?;
        n.data.extend_from_slice(data);
        drop(n);
        self.len += data.len() as u64;
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.shared.check_epoch(self.epoch)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.shared.check_epoch(self.epoch)?;
        self.shared.tick("sync", &self.path, || ())?;
        let mut n = self.node.lock();
        // As for append: a sync racing with a crash either completes before it or fails.
        self.shared.check_epoch(self.epoch)?;
        n.durable_len = n.data.len();
        Ok(())
    }
    fn len(&self) -> u64 {
        self.len
    }
}

struct MemReadable {
    node: Node,
    shared: Arc<Shared>,
    epoch: u64,
    len: u64,
}

impl RandomAccessFile for MemReadable {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.shared.check_epoch(self.epoch)?;
        let n = self.node.lock();
        let start = usize::try_from(offset).ok();
        let end = start.and_then(|s| s.checked_add(buf.len()));
        match (start, end) {
            (Some(s), Some(e)) if e <= n.data.len() => {
                buf.copy_from_slice(&n.data[s..e]);
                Ok(())
            }
            _ => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of the file",
            )),
        }
    }
    fn len(&self) -> u64 {
        self.len
    }
}

struct MemLock {
    path: PathBuf,
    token: u64,
    shared: Arc<Shared>,
}

impl fmt::Debug for MemLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemLock").field("path", &self.path).finish()
    }
}

impl FileLock for MemLock {}

impl Drop for MemLock {
    fn drop(&mut self) {
        let mut st = self.shared.state.lock();
        if st.locks.get(&self.path) == Some(&self.token) {
            st.locks.remove(&self.path);
        }
    }
}

impl Vfs for MemVfs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        self.shared.tick("create", path, || ())?;
        let mut st = self.shared.state.lock();
        // A power cut in another thread sets `dead` before it takes this lock to crash.
        self.shared.alive()?;
        st.check_parent(path)?;
        if st.dirs.contains(path) {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                format!("{} is a directory", path.display()),
            ));
        }
        let node: Node = Arc::new(Mutex::new(NodeData::default()));
        st.files.insert(path.to_path_buf(), node.clone());
        Ok(Box::new(MemWritable {
            path: path.to_path_buf(),
            node,
            shared: self.shared.clone(),
            epoch: self.epoch(),
            len: 0,
        }))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        self.shared.alive()?;
        let node = self.node(path)?;
        let len = node.lock().data.len() as u64;
        Ok(Box::new(MemWritable {
            path: path.to_path_buf(),
            node,
            shared: self.shared.clone(),
            epoch: self.epoch(),
            len,
        }))
    }

    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn RandomAccessFile>> {
        self.shared.alive()?;
        let node = self.node(path)?;
        let len = node.lock().data.len() as u64;
        Ok(Arc::new(MemReadable {
            node,
            shared: self.shared.clone(),
            epoch: self.epoch(),
            len,
        }))
    }

    fn read_all(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.shared.alive()?;
        Ok(self.node(path)?.lock().data.clone())
    }

    fn exists(&self, path: &Path) -> bool {
        let st = self.shared.state.lock();
        st.files.contains_key(path) || st.dir_exists(path)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.shared.tick("remove", path, || ())?;
        let mut st = self.shared.state.lock();
        // A power cut in another thread sets `dead` before it takes this lock to crash.
        self.shared.alive()?;
        st.files
            .remove(path)
            .map(|_| ())
            .ok_or_else(|| not_found(path))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.shared.tick("rename", to, || ())?;
        let mut st = self.shared.state.lock();
        // A power cut in another thread sets `dead` before it takes this lock to crash.
        self.shared.alive()?;
        st.check_parent(to)?;
        let node = st.files.remove(from).ok_or_else(|| not_found(from))?;
        st.files.insert(to.to_path_buf(), node);
        Ok(())
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        self.shared.alive()?;
        let st = self.shared.state.lock();
        if !st.dir_exists(path) {
            return Err(not_found(path));
        }
        let mut out: Vec<PathBuf> = st
            .files
            .keys()
            .chain(st.dirs.iter())
            .filter(|p| p.parent() == Some(path))
            .filter_map(|p| p.file_name().map(PathBuf::from))
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.shared.alive()?;
        let mut st = self.shared.state.lock();
        let mut p = Some(path);
        while let Some(d) = p {
            if d.as_os_str().is_empty() || d == Path::new("/") {
                break;
            }
            if st.files.contains_key(d) {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} is a file", d.display()),
                ));
            }
            st.dirs.insert(d.to_path_buf());
            p = d.parent();
        }
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.shared.tick("sync_dir", path, || ())?;
        let mut st = self.shared.state.lock();
        // A power cut in another thread sets `dead` before it takes this lock to crash.
        self.shared.alive()?;
        if !st.dir_exists(path) {
            return Err(not_found(path));
        }
        let st = &mut *st;
        st.durable_files
            .retain(|p, _| p.parent().unwrap_or(Path::new("")) != path || st.files.contains_key(p));
        for (p, n) in &st.files {
            if p.parent().unwrap_or(Path::new("")) == path {
                st.durable_files.insert(p.clone(), n.clone());
            }
        }
        Ok(())
    }

    fn file_size(&self, path: &Path) -> io::Result<u64> {
        Ok(self.node(path)?.lock().data.len() as u64)
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        self.shared.tick("truncate", path, || ())?;
        let node = self.node(path)?;
        let mut n = node.lock();
        self.shared.alive()?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > n.data.len() {
            n.data.resize(len, 0);
        } else {
            n.data.truncate(len);
        }
        n.durable_len = len;
        Ok(())
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.shared.tick("hard_link", to, || ())?;
        let mut st = self.shared.state.lock();
        // A power cut in another thread sets `dead` before it takes this lock to crash.
        self.shared.alive()?;
        st.check_parent(to)?;
        if st.files.contains_key(to) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists", to.display()),
            ));
        }
        let node = st.files.get(from).cloned().ok_or_else(|| not_found(from))?;
        st.files.insert(to.to_path_buf(), node);
        Ok(())
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        self.shared.alive()?;
        let mut st = self.shared.state.lock();
        st.check_parent(path)?;
        if st.locks.contains_key(path) {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("{} is locked", path.display()),
            ));
        }
        if !st.files.contains_key(path) {
            st.files.insert(
                path.to_path_buf(),
                Arc::new(Mutex::new(NodeData::default())),
            );
        }
        st.next_token += 1;
        let token = st.next_token;
        st.locks.insert(path.to_path_buf(), token);
        Ok(Box::new(MemLock {
            path: path.to_path_buf(),
            token,
            shared: self.shared.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(vfs: &MemVfs, p: &str, data: &[u8], sync: bool) -> Box<dyn WritableFile> {
        let mut f = vfs.create(Path::new(p)).unwrap();
        f.append(data).unwrap();
        if sync {
            f.sync().unwrap();
        }
        f
    }

    fn setup() -> MemVfs {
        let vfs = MemVfs::new();
        vfs.create_dir_all(Path::new("/db")).unwrap();
        vfs
    }

    #[test]
    fn basic_io_matches_os_semantics() {
        let vfs = setup();
        let p = Path::new("/db/a");
        let mut w = write(&vfs, "/db/a", b"hello ", false);
        w.append(b"world").unwrap();
        assert_eq!(w.len(), 11);
        drop(w);
        let mut w = vfs.open_append(p).unwrap();
        assert_eq!(w.len(), 11);
        w.append(b"!").unwrap();
        let r = vfs.open_read(p).unwrap();
        assert_eq!(r.len(), 12);
        let mut buf = [0u8; 5];
        r.read_exact_at(6, &mut buf).unwrap();
        assert_eq!(&buf, b"world");
        assert!(r.read_exact_at(10, &mut [0u8; 5]).is_err());
        assert!(r.read_exact_at(u64::MAX, &mut [0u8; 1]).is_err());
        vfs.truncate(p, 5).unwrap();
        assert_eq!(vfs.read_all(p).unwrap(), b"hello");
        assert_eq!(vfs.file_size(p).unwrap(), 5);
        vfs.rename(p, Path::new("/db/b")).unwrap();
        assert!(!vfs.exists(p));
        assert!(vfs.exists(Path::new("/db/b")));
        assert_eq!(
            vfs.list_dir(Path::new("/db")).unwrap(),
            vec![PathBuf::from("b")]
        );
        assert_eq!(
            vfs.create(Path::new("/nodir/x")).err().unwrap().kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(
            vfs.remove(Path::new("/db/zz")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        vfs.remove(Path::new("/db/b")).unwrap();
        assert!(vfs.list_dir(Path::new("/db")).unwrap().is_empty());
    }

    #[test]
    fn crash_drops_unsynced_data() {
        let vfs = setup();
        let mut w = write(&vfs, "/db/a", b"durable", true);
        w.append(b"-volatile").unwrap();
        vfs.sync_dir(Path::new("/db")).unwrap();
        assert_eq!(vfs.durable_len(Path::new("/db/a")), 7);
        vfs.crash();
        assert_eq!(vfs.read_all(Path::new("/db/a")).unwrap(), b"durable");
        // The old handle is dead after the crash.
        assert!(w.append(b"x").is_err());
        assert!(w.sync().is_err());
        assert_eq!(vfs.read_all(Path::new("/db/a")).unwrap(), b"durable");
    }

    #[test]
    fn crash_drops_unsynced_creations_renames_and_removals() {
        let vfs = setup();
        let _ = write(&vfs, "/db/old", b"1", true);
        vfs.sync_dir(Path::new("/db")).unwrap();
        // Synced file, but its directory entry is not.
        let _ = write(&vfs, "/db/new", b"2", true);
        vfs.rename(Path::new("/db/old"), Path::new("/db/renamed"))
            .unwrap();
        vfs.crash();
        assert!(!vfs.exists(Path::new("/db/new")));
        assert!(!vfs.exists(Path::new("/db/renamed")));
        assert_eq!(vfs.read_all(Path::new("/db/old")).unwrap(), b"1");

        // A removal is undone unless the directory is synced.
        vfs.remove(Path::new("/db/old")).unwrap();
        vfs.crash();
        assert!(vfs.exists(Path::new("/db/old")));
        vfs.remove(Path::new("/db/old")).unwrap();
        vfs.sync_dir(Path::new("/db")).unwrap();
        vfs.crash();
        assert!(!vfs.exists(Path::new("/db/old")));

        // A synced rename survives, replacing the target.
        let _ = write(&vfs, "/db/CURRENT", b"v1", true);
        vfs.sync_dir(Path::new("/db")).unwrap();
        let _ = write(&vfs, "/db/CURRENT.tmp", b"v2", true);
        vfs.rename(Path::new("/db/CURRENT.tmp"), Path::new("/db/CURRENT"))
            .unwrap();
        vfs.sync_dir(Path::new("/db")).unwrap();
        vfs.crash();
        assert_eq!(vfs.read_all(Path::new("/db/CURRENT")).unwrap(), b"v2");
        assert_eq!(vfs.file_paths(), vec![PathBuf::from("/db/CURRENT")]);
    }

    #[test]
    fn torn_tail_keeps_a_prefix_of_unsynced_bytes() {
        let mut seen = BTreeSet::new();
        for seed in 0..64 {
            let vfs = setup();
            let mut w = write(&vfs, "/db/log", b"abc", true);
            w.append(b"defghijklmnop").unwrap();
            vfs.sync_dir(Path::new("/db")).unwrap();
            vfs.crash_with_torn_tail(seed);
            let got = vfs.read_all(Path::new("/db/log")).unwrap();
            assert!(got.len() >= 3);
            assert_eq!(&got[..], &b"abcdefghijklmnop"[..got.len()]);
            seen.insert(got.len());
            // Same seed, same tear.
            let vfs2 = setup();
            let mut w2 = write(&vfs2, "/db/log", b"abc", true);
            w2.append(b"defghijklmnop").unwrap();
            vfs2.sync_dir(Path::new("/db")).unwrap();
            vfs2.crash_with_torn_tail(seed);
            assert_eq!(vfs2.read_all(Path::new("/db/log")).unwrap(), got);
        }
        assert!(seen.len() > 3, "tears should vary with the seed: {seen:?}");
    }

    #[test]
    fn lost_pages_keep_some_unsynced_pages_and_zero_others() {
        let mut kinds = BTreeSet::new();
        for seed in 0..64 {
            let vfs = setup();
            let mut w = write(&vfs, "/db/log", &[7u8; 100], true);
            w.append(&[9u8; 4 * PAGE_SIZE]).unwrap();
            vfs.sync_dir(Path::new("/db")).unwrap();
            vfs.crash_with(CrashModel::LostPages(seed));
            let got = vfs.read_all(Path::new("/db/log")).unwrap();
            assert!(got.len() >= 100);
            assert!(got[..100].iter().all(|&b| b == 7), "synced bytes survive");
            let tail = &got[100..];
            assert!(tail.iter().all(|&b| b == 0 || b == 9));
            let has_zero = tail.contains(&0);
            let zero_then_data = tail
                .iter()
                .position(|&b| b == 0)
                .is_some_and(|z| tail[z..].contains(&9));
            kinds.insert((tail.is_empty(), has_zero, zero_then_data));
        }
        // Lost tails, fully kept pages, and a lost page followed by a kept one all occur.
        assert!(kinds.contains(&(false, true, true)), "{kinds:?}");
        assert!(kinds.iter().any(|k| !k.1 && !k.0), "{kinds:?}");
    }

    #[test]
    fn power_cut_fires_at_the_chosen_operation() {
        let vfs = setup();
        let mut w = write(&vfs, "/db/a", b"one", true);
        vfs.sync_dir(Path::new("/db")).unwrap();
        let before = vfs.mutating_ops();
        vfs.power_cut_after(1, CrashModel::Clean);
        w.append(b"two").unwrap();
        // The second mutating operation (this sync) is the cut: it does not happen.
        assert!(w.sync().is_err());
        assert!(vfs.is_powered_off());
        assert!(vfs.create(Path::new("/db/b")).is_err());
        assert!(vfs.list_dir(Path::new("/db")).is_err());
        assert_eq!(vfs.mutating_ops(), before + 2);
        assert_eq!(vfs.last_power_cut(), Some(("sync", PathBuf::from("/db/a"))));
        vfs.revive();
        assert_eq!(vfs.read_all(Path::new("/db/a")).unwrap(), b"one");
        assert!(w.append(b"x").is_err(), "pre-crash handles stay dead");
    }

    #[test]
    fn lock_is_exclusive_until_dropped_and_released_by_crash() {
        let vfs = setup();
        let p = Path::new("/db/LOCK");
        let g = vfs.lock(p).unwrap();
        assert_eq!(vfs.lock(p).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        let clone = vfs.clone();
        assert_eq!(clone.lock(p).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        drop(g);
        let g2 = vfs.lock(p).unwrap();
        vfs.crash();
        let g3 = vfs.lock(p).unwrap();
        // Dropping the pre-crash guard must not release the new holder's lock.
        drop(g2);
        assert_eq!(vfs.lock(p).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        drop(g3);
        vfs.lock(p).unwrap();
    }

    #[test]
    fn truncate_is_durable() {
        let vfs = setup();
        let p = Path::new("/db/a");
        let _w = write(&vfs, "/db/a", b"0123456789", true);
        vfs.sync_dir(Path::new("/db")).unwrap();
        vfs.truncate(p, 4).unwrap();
        vfs.crash();
        assert_eq!(vfs.read_all(p).unwrap(), b"0123");
    }

    #[test]
    fn is_send_sync_and_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<MemVfs>();
        let vfs = setup();
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let v = vfs.clone();
                std::thread::spawn(move || {
                    let p = PathBuf::from(format!("/db/f{i}"));
                    let mut w = v.create(&p).unwrap();
                    for _ in 0..100 {
                        w.append(&[i as u8]).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(vfs.list_dir(Path::new("/db")).unwrap().len(), 4);
        assert_eq!(vfs.file_size(Path::new("/db/f3")).unwrap(), 100);
    }
}
