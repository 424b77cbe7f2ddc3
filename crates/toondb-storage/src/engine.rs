//! The engine: shared state, the group-commit write path, reads, snapshots and lifecycle.

use crate::backup::BackupReport;
use crate::batch::{self, Op, WriteBatch};
use crate::error::{Error, Result};
use crate::iter::{
    own_bound, prefix_range, DbIter, Direction, InternalIter, KvIter, LevelIter, MemIter,
    OwnedRange, TableCursor,
};
use crate::log::{self, LogWriter};
use crate::manifest::{self, VersionEdit, NUM_LEVELS};
use crate::memtable::MemTable;
use crate::mvcc::{CommitLog, ConflictCheck, SnapshotPin, SnapshotRegistry};
use crate::options::{Options, SyncMode};
use crate::sst::{BlockCache, ValueKind};
use crate::stats::{Counters, EngineStats, LevelStats};
use crate::txn::{Isolation, Transaction};
use crate::verify::VerifyReport;
use crate::version::{FileMeta, Version};
use arc_swap::{ArcSwap, Guard};
use crossbeam_channel::Sender;
use parking_lot::{Condvar, Mutex};
use std::collections::HashMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use toondb_core::vfs::{FileLock, OsVfs, Vfs};

/// What readers need: the memtables and the table files, swapped as one unit.
#[derive(Debug)]
pub(crate) struct SuperVersion {
    pub mem: Arc<MemTable>,
    /// Frozen memtables, newest first.
    pub imms: Vec<Arc<MemTable>>,
    pub version: Arc<Version>,
}

/// The published [`SuperVersion`]. Readers load it without taking a lock or writing a shared
/// counter (arc-swap); installers (memtable rotation, flush, compaction) serialise their
/// read-modify-write on `write`, so no update is lost.
pub(crate) struct SvCell {
    cur: ArcSwap<SuperVersion>,
    write: Mutex<()>,
}

impl SvCell {
    fn new(sv: SuperVersion) -> SvCell {
        SvCell {
            cur: ArcSwap::from_pointee(sv),
            write: Mutex::new(()),
        }
    }

    /// A short-lived reference to the current super-version (keeps it alive while held).
    pub(crate) fn load(&self) -> Guard<Arc<SuperVersion>> {
        self.cur.load()
    }

    /// Replaces the super-version by `f(current)`, atomically with respect to other updates.
    pub(crate) fn update(&self, f: impl FnOnce(&SuperVersion) -> SuperVersion) {
        let _g = self.write.lock();
        let next = f(&self.cur.load());
        self.cur.store(Arc::new(next));
    }
}

/// Manifest state; guarded by one mutex.
pub(crate) struct VersionSet {
    pub vfs: Arc<dyn Vfs>,
    pub dir: PathBuf,
    /// Start a new manifest when the current one grows beyond this.
    pub max_manifest_bytes: u64,
    pub manifest: LogWriter,
    pub next_file: u64,
    pub log_number: u64,
    pub last_seq: u64,
    pub current: Arc<Version>,
}

impl VersionSet {
    pub(crate) fn new_file_number(&mut self) -> u64 {
        let n = self.next_file;
        self.next_file += 1;
        n
    }

    /// Appends `edit` to the manifest, syncs it, then installs the resulting version. Removed
    /// files (that are not re-added, i.e. moved) are marked obsolete and deleted when unused.
    pub(crate) fn log_and_apply(
        &mut self,
        mut edit: VersionEdit,
        new_files: &HashMap<u64, Arc<FileMeta>>,
    ) -> Result<()> {
        edit.next_file_number = Some(self.next_file);
        if let Some(s) = edit.last_seq {
            self.last_seq = self.last_seq.max(s);
        }
        edit.last_seq = Some(self.last_seq);
        let mut rec = Vec::new();
        log::frame(&manifest::codec::encode(&edit), &mut rec);
        self.manifest.append_framed(&rec)?;
        self.manifest.sync()?;
        let old = self.current.clone();
        self.current = Arc::new(old.apply(&edit, new_files));
        if let Some(l) = edit.log_number {
            self.log_number = self.log_number.max(l);
        }
        for (level, number) in &edit.removed {
            if edit.added.iter().any(|a| a.number == *number) {
                continue;
            }
            if let Some(f) = old.levels[*level as usize]
                .iter()
                .find(|f| f.desc.number == *number)
            {
                f.obsolete.store(true, Ordering::Release);
            }
        }
        if self.manifest.file.len() > self.max_manifest_bytes {
            self.rotate_manifest()?;
        }
        Ok(())
    }

    /// Replaces the manifest by a new one holding a snapshot of the current state, so the
    /// manifest does not grow without bound in a long-running process.
    fn rotate_manifest(&mut self) -> Result<()> {
        let number = self.new_file_number();
        let snapshot = VersionEdit {
            format_version: Some(manifest::FORMAT_VERSION),
            log_number: Some(self.log_number),
            next_file_number: Some(self.next_file),
            last_seq: Some(self.last_seq),
            added: self.current.all_files(),
            removed: Vec::new(),
        };
        let new = manifest::install_new_manifest(self.vfs.as_ref(), &self.dir, number, &snapshot)?;
        let old = std::mem::replace(&mut self.manifest, new);
        // Best effort: a leftover old manifest is removed at the next open.
        let _ = self.vfs.remove(&old.path);
        Ok(())
    }
}

pub(crate) enum BgMsg {
    Work,
    Stop,
}

enum ReqKind {
    Batch(WriteBatch, Option<ConflictCheck>),
    Rotate,
}

struct Slot {
    req: Mutex<Option<ReqKind>>,
    done: Mutex<Option<Result<()>>>,
}

#[derive(Default)]
struct Queue {
    pending: Vec<Arc<Slot>>,
    leader: bool,
}

/// State shared by handles, transactions, snapshots, iterators and background threads.
pub(crate) struct Inner {
    pub vfs: Arc<dyn Vfs>,
    pub dir: PathBuf,
    pub opts: Options,
    pub sv: SvCell,
    pub vs: Mutex<VersionSet>,
    pub wal: Mutex<LogWriter>,
    queue: Mutex<Queue>,
    queue_cv: Condvar,
    /// Largest sequence number visible to new readers.
    pub visible: AtomicU64,
    pub snaps: Arc<SnapshotRegistry>,
    commits: Mutex<CommitLog>,
    poison: Mutex<Option<String>>,
    poisoned: AtomicBool,
    pub closed: AtomicBool,
    pub bg_mu: Mutex<()>,
    pub bg_cv: Condvar,
    pub flush_tx: Mutex<Option<Sender<BgMsg>>>,
    pub compact_tx: Mutex<Option<Sender<BgMsg>>>,
    pub cache: Arc<BlockCache>,
    pub stats: Counters,
    lock: Mutex<Option<Box<dyn FileLock>>>,
    pub flush_lock: Mutex<()>,
    pub compaction_lock: Mutex<[Vec<u8>; NUM_LEVELS]>,
    last_sync: Mutex<Instant>,
    /// WAL bytes were written since the last fsync (SyncMode::Normal / Off).
    wal_dirty: AtomicBool,
    /// WAL tails recovery cut at open.
    pub cuts: Vec<crate::verify::WalTailCut>,
}

/// Everything recovery produced, to assemble an [`Inner`].
pub(crate) struct Recovered {
    pub vfs: Arc<dyn Vfs>,
    pub dir: PathBuf,
    pub opts: Options,
    pub vs: VersionSet,
    pub wal: LogWriter,
    pub last_seq: u64,
    pub cache: Arc<BlockCache>,
    /// `None` for a read-only open (it takes no lock).
    pub lock: Option<Box<dyn FileLock>>,
    pub stats: Counters,
    /// The replayed memtable of a read-only open (a read-write open flushed it to L0).
    pub mem: Option<MemTable>,
    /// WAL tails cut during recovery.
    pub cuts: Vec<crate::verify::WalTailCut>,
}

impl Inner {
    pub(crate) fn from_recovered(r: Recovered) -> Inner {
        let mem = Arc::new(r.mem.unwrap_or_else(|| MemTable::new(r.wal.number)));
        let sv = SuperVersion {
            mem,
            imms: Vec::new(),
            version: r.vs.current.clone(),
        };
        Inner {
            vfs: r.vfs,
            dir: r.dir,
            opts: r.opts,
            sv: SvCell::new(sv),
            vs: Mutex::new(r.vs),
            wal: Mutex::new(r.wal),
            queue: Mutex::new(Queue::default()),
            queue_cv: Condvar::new(),
            visible: AtomicU64::new(r.last_seq),
            snaps: Arc::new(SnapshotRegistry::default()),
            commits: Mutex::new(CommitLog::default()),
            poison: Mutex::new(None),
            poisoned: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            bg_mu: Mutex::new(()),
            bg_cv: Condvar::new(),
            flush_tx: Mutex::new(None),
            compact_tx: Mutex::new(None),
            cache: r.cache,
            stats: r.stats,
            lock: Mutex::new(r.lock),
            flush_lock: Mutex::new(()),
            compaction_lock: Mutex::new(Default::default()),
            last_sync: Mutex::new(Instant::now()),
            wal_dirty: AtomicBool::new(false),
            cuts: r.cuts,
        }
    }

    /// Marks the engine poisoned: every later write fails until reopen.
    pub(crate) fn set_poison(&self, why: String) {
        let mut p = self.poison.lock();
        if p.is_none() {
            *p = Some(why);
        }
        self.poisoned.store(true, Ordering::Release);
        drop(p);
        let _g = self.bg_mu.lock();
        self.bg_cv.notify_all();
    }

    pub(crate) fn poison_reason(&self) -> Option<String> {
        if self.poisoned.load(Ordering::Acquire) {
            self.poison.lock().clone()
        } else {
            None
        }
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        self.check_open()?;
        if self.opts.read_only {
            return Err(Error::ReadOnly {
                path: self.dir.clone(),
            });
        }
        Ok(())
    }

    /// Open and not poisoned (reads and read-only transactions may proceed).
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if let Some(p) = self.poison_reason() {
            return Err(Error::Poisoned(p));
        }
        Ok(())
    }

    /// fsyncs the WAL if bytes were written since the last fsync. A failure poisons.
    pub(crate) fn sync_wal(&self) -> Result<()> {
        if self.opts.read_only {
            return Ok(());
        }
        let mut wal = self.wal.lock();
        let mut last = self.last_sync.lock();
        if !self.wal_dirty.load(Ordering::Acquire) {
            return Ok(());
        }
        if let Err(e) = wal.sync() {
            self.set_poison(format!("WAL fsync failed: {e}"));
            return Err(e);
        }
        self.wal_dirty.store(false, Ordering::Release);
        self.stats.wal_syncs.fetch_add(1, Ordering::Relaxed);
        *last = Instant::now();
        Ok(())
    }

    /// The `SyncMode::Normal` timer: fsyncs when the interval has passed since the last fsync
    /// and bytes are waiting.
    pub(crate) fn sync_if_due(&self) -> Result<()> {
        let interval = Duration::from_millis(self.opts.normal_sync_interval_ms);
        if self.last_sync.lock().elapsed() < interval {
            return Ok(());
        }
        self.sync_wal()
    }

    pub(crate) fn current_sv(&self) -> Arc<SuperVersion> {
        self.sv.cur.load_full()
    }

    /// The current super-version and the visible sequence number, captured consistently: every
    /// entry with a sequence number <= the returned one lies in the returned memtables or
    /// tables, and no compaction that produced those tables dropped a version a reader at
    /// that sequence number needs. Needs no snapshot registration as long as the caller reads
    /// only through the returned super-version (see docs/architecture/storage.md, "Read path
    /// and snapshots").
    pub(crate) fn read_view(&self) -> (Guard<Arc<SuperVersion>>, u64) {
        for _ in 0..16 {
            let sv = self.sv.cur.load();
            let seq = self.visible.load(Ordering::Acquire);
            // The super-version did not change while `seq` was read: `sv` was current during
            // the whole window (a guard keeps it alive, so its address cannot be reused).
            if Arc::ptr_eq(&sv, &self.sv.cur.load()) {
                return (sv, seq);
            }
        }
        // Installs kept racing with us: block them for the two loads.
        let _g = self.sv.write.lock();
        let sv = self.sv.cur.load();
        let seq = self.visible.load(Ordering::Acquire);
        (sv, seq)
    }

    pub(crate) fn pin(&self) -> SnapshotPin {
        self.snaps.pin(&self.visible)
    }

    pub(crate) fn notify_bg(&self) {
        let _g = self.bg_mu.lock();
        self.bg_cv.notify_all();
    }

    pub(crate) fn signal(&self, which: &Mutex<Option<Sender<BgMsg>>>) {
        if let Some(tx) = which.lock().as_ref() {
            let _ = tx.send(BgMsg::Work);
        }
    }

    pub(crate) fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.is_empty() {
            return Err(Error::InvalidArgument("empty key".into()));
        }
        if key.len() > self.opts.max_key_size {
            return Err(Error::InvalidArgument(format!(
                "key of {} bytes exceeds max_key_size {}",
                key.len(),
                self.opts.max_key_size
            )));
        }
        Ok(())
    }

    pub(crate) fn check_value(&self, value: &[u8]) -> Result<()> {
        if value.len() > self.opts.max_value_size {
            return Err(Error::InvalidArgument(format!(
                "value of {} bytes exceeds max_value_size {}",
                value.len(),
                self.opts.max_value_size
            )));
        }
        Ok(())
    }

    pub(crate) fn check_batch(&self, b: &WriteBatch) -> Result<()> {
        for (op, k, v) in &b.entries {
            self.check_key(k)?;
            if *op == Op::Put {
                self.check_value(v)?;
            }
        }
        if b.approximate_size() > log::MAX_RECORD {
            return Err(Error::InvalidArgument("batch larger than 1 GiB".into()));
        }
        Ok(())
    }

    // ---------------------------------------------------------------- write path

    /// Queues a request; the first queued writer becomes the leader and commits the whole
    /// queue with one WAL write and one fsync.
    fn submit(&self, kind: ReqKind) -> Result<()> {
        let slot = Arc::new(Slot {
            req: Mutex::new(Some(kind)),
            done: Mutex::new(None),
        });
        let mut q = self.queue.lock();
        q.pending.push(slot.clone());
        loop {
            if let Some(r) = slot.done.lock().take() {
                return r;
            }
            if !q.leader {
                break;
            }
            self.queue_cv.wait(&mut q);
        }
        q.leader = true;
        // Take a bounded group (always including our own request, which is queued).
        let mut bytes = 0usize;
        let mut n = 0usize;
        let mut has_self = false;
        for s in &q.pending {
            if bytes > (4 << 20) && has_self {
                break;
            }
            n += 1;
            has_self |= Arc::ptr_eq(s, &slot);
            if let Some(ReqKind::Batch(b, _)) = s.req.lock().as_ref() {
                bytes += b.approximate_size();
            }
        }
        let group: Vec<Arc<Slot>> = q.pending.drain(..n).collect();
        drop(q);
        let reqs: Vec<Option<ReqKind>> = group.iter().map(|s| s.req.lock().take()).collect();
        let results = self.lead(reqs);
        for (s, r) in group.iter().zip(results) {
            *s.done.lock() = Some(r);
        }
        let mut q = self.queue.lock();
        q.leader = false;
        self.queue_cv.notify_all();
        drop(q);
        let r = slot.done.lock().take();
        r.unwrap_or_else(|| {
            // Unreachable: the leader fills every slot of its group before stepping down.
            Err(Error::Poisoned(
                "internal error: commit result missing".into(),
            ))
        })
    }

    fn lead(&self, mut reqs: Vec<Option<ReqKind>>) -> Vec<Result<()>> {
        let n = reqs.len();
        let fail_all =
            |e: &Error| -> Vec<Result<()>> { (0..n).map(|_| Err(clone_err(e))).collect() };
        if let Err(e) = self.check_writable() {
            return fail_all(&e);
        }
        let force = reqs.iter().any(|r| matches!(r, Some(ReqKind::Rotate)));
        if let Err(e) = self.make_room(force) {
            return fail_all(&e);
        }
        let mut results: Vec<Result<()>> = (0..n).map(|_| Ok(())).collect();
        let mut applied: Vec<(usize, u64)> = Vec::new();
        let mut buf = Vec::new();
        let mut seq = self.visible.load(Ordering::Acquire);
        {
            let mut commits = self.commits.lock();
            for (i, r) in reqs.iter().enumerate() {
                let Some(ReqKind::Batch(b, check)) = r else {
                    continue;
                };
                if b.is_empty() {
                    continue;
                }
                if let Some(c) = check {
                    if let Err((k, detail)) = commits.check(c) {
                        results[i] = Err(Error::Conflict {
                            key: String::from_utf8_lossy(&k).into_owned(),
                            detail: detail.to_string(),
                        });
                        continue;
                    }
                }
                let first = seq + 1;
                seq += b.len() as u64;
                for (_, k, _) in &b.entries {
                    commits.record(k, seq);
                }
                log::frame_with(&mut buf, |o| batch::codec::encode(b, first, o));
                applied.push((i, first));
            }
            commits.maybe_prune(self.snaps.oldest(&self.visible));
        }
        if applied.is_empty() {
            return results;
        }
        if seq >= crate::MAX_SEQ {
            let e = Error::Poisoned("sequence numbers exhausted".into());
            self.set_poison(e.to_string());
            return fail_all(&e);
        }
        if let Err(e) = self.write_wal(&buf) {
            self.set_poison(format!("WAL write failed: {e}"));
            for (i, _) in &applied {
                results[*i] = Err(clone_err(&e));
            }
            return results;
        }
        let mem = self.sv.load().mem.clone();
        for (i, first) in &applied {
            // The batch is no longer needed: move its buffers into the memtable.
            if let Some(ReqKind::Batch(b, _)) = reqs[*i].take() {
                for (j, (op, k, v)) in b.entries.into_iter().enumerate() {
                    let kind = if op == Op::Put {
                        ValueKind::Put
                    } else {
                        ValueKind::Delete
                    };
                    mem.insert(k, first + j as u64, kind, v);
                }
            }
        }
        self.visible.store(seq, Ordering::Release);
        self.stats
            .commits
            .fetch_add(applied.len() as u64, Ordering::Relaxed);
        results
    }

    fn write_wal(&self, buf: &[u8]) -> Result<()> {
        let mut wal = self.wal.lock();
        wal.append_framed(buf)?;
        self.stats
            .wal_bytes
            .fetch_add(buf.len() as u64, Ordering::Relaxed);
        match self.opts.sync {
            SyncMode::Full => {
                wal.sync()?;
                self.stats.wal_syncs.fetch_add(1, Ordering::Relaxed);
            }
            SyncMode::Normal => {
                wal.flush()?;
                self.wal_dirty.store(true, Ordering::Release);
                let mut last = self.last_sync.lock();
                if last.elapsed() >= Duration::from_millis(self.opts.normal_sync_interval_ms) {
                    wal.sync()?;
                    self.wal_dirty.store(false, Ordering::Release);
                    self.stats.wal_syncs.fetch_add(1, Ordering::Relaxed);
                    *last = Instant::now();
                }
            }
            SyncMode::Off => {
                self.wal_dirty.store(true, Ordering::Release);
            }
        }
        Ok(())
    }

    /// Freezes the memtable when full (or when forced), stalling while too much background
    /// work is pending. Called only by the commit leader.
    fn make_room(&self, force: bool) -> Result<()> {
        let mut stalled: Option<Instant> = None;
        let r = loop {
            if let Err(e) = self.check_writable() {
                break Err(e);
            }
            // An owned Arc, not a guard: this path may wait below.
            let sv = self.current_sv();
            let full = sv.mem.approximate_size() >= self.opts.memtable_size;
            let need_rotate = (force && !sv.mem.is_empty()) || full;
            let l0 = sv.version.levels[0].len();
            let stall = l0 >= self.opts.l0_stall_trigger
                || (need_rotate && sv.imms.len() >= self.opts.max_immutable_memtables);
            if stall {
                if stalled.is_none() {
                    stalled = Some(Instant::now());
                    self.stats.stalls.fetch_add(1, Ordering::Relaxed);
                }
                self.signal(&self.flush_tx);
                self.signal(&self.compact_tx);
                let mut g = self.bg_mu.lock();
                self.bg_cv.wait_for(&mut g, Duration::from_millis(50));
                continue;
            }
            if need_rotate {
                break self.rotate();
            }
            break Ok(());
        };
        if let Some(t) = stalled {
            self.stats
                .stall_micros
                .fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
        }
        r
    }

    /// Starts a new WAL and memtable; the old memtable joins the immutable list.
    ///
    /// Order: fsync the old WAL, then create the new one and sync the directory, then switch.
    /// So whenever a newer WAL exists on disk, every older one is complete and durable, and
    /// recovery may treat damage in an older WAL followed by records in a newer one as damage
    /// to synced data (see `recovery::replay_wals`).
    fn rotate(&self) -> Result<()> {
        let number = self.vs.lock().new_file_number();
        let path = crate::files::wal(&self.dir, number);
        let res = (|| {
            let mut wal = self.wal.lock();
            wal.sync()?;
            self.wal_dirty.store(false, Ordering::Release);
            self.stats.wal_syncs.fetch_add(1, Ordering::Relaxed);
            let file = self.vfs.create(&path).map_err(|e| Error::io(&path, e))?;
            self.vfs
                .sync_dir(&self.dir)
                .map_err(|e| Error::io(&self.dir, e))?;
            *wal = LogWriter::new(file, path.clone(), number);
            Ok(())
        })();
        if let Err(e) = res {
            self.set_poison(format!("WAL rotation failed: {e}"));
            return Err(e);
        }
        self.sv.update(|sv| {
            let mut imms = Vec::with_capacity(sv.imms.len() + 1);
            imms.push(sv.mem.clone());
            imms.extend(sv.imms.iter().cloned());
            SuperVersion {
                mem: Arc::new(MemTable::new(number)),
                imms,
                version: sv.version.clone(),
            }
        });
        self.signal(&self.flush_tx);
        Ok(())
    }

    // ---------------------------------------------------------------- reads

    /// Reads `key` at a registered snapshot `snap` (the registration keeps every version the
    /// snapshot needs in whatever super-version is current now).
    pub(crate) fn get_at(&self, key: &[u8], snap: u64) -> Result<Option<Vec<u8>>> {
        get_in(&self.sv.load(), key, snap)
    }

    /// Scans at a registered snapshot `snap` (held alive by `pin`).
    pub(crate) fn scan_at(
        &self,
        range: OwnedRange,
        dir: Direction,
        pin: Option<Arc<SnapshotPin>>,
        snap: u64,
    ) -> KvIter {
        scan_in(&self.sv.load(), range, dir, pin, snap)
    }
}

/// Newest value of `key` visible at `snap` in `sv`.
fn get_in(sv: &SuperVersion, key: &[u8], snap: u64) -> Result<Option<Vec<u8>>> {
    let mut hit = sv.mem.get(key, snap);
    if hit.is_none() {
        hit = sv.imms.iter().find_map(|m| m.get(key, snap));
    }
    if hit.is_none() {
        hit = sv.version.get(key, snap)?;
    }
    Ok(match hit {
        Some((_, ValueKind::Put, v)) => Some(v),
        _ => None,
    })
}

/// An iterator over `range` at `snap` reading `sv`'s memtables and tables (it holds them, so
/// none of its files is deleted while it lives).
fn scan_in(
    sv: &SuperVersion,
    range: OwnedRange,
    dir: Direction,
    pin: Option<Arc<SnapshotPin>>,
    snap: u64,
) -> KvIter {
    let mut children: Vec<Box<dyn InternalIter>> = Vec::new();
    children.push(Box::new(MemIter::new(sv.mem.clone())));
    for m in &sv.imms {
        children.push(Box::new(MemIter::new(m.clone())));
    }
    let lo = match &range.0 {
        Bound::Included(k) | Bound::Excluded(k) => Some(k.as_slice()),
        Bound::Unbounded => None,
    };
    let hi = match &range.1 {
        Bound::Included(k) | Bound::Excluded(k) => Some(k.as_slice()),
        Bound::Unbounded => None,
    };
    for f in sv.version.overlapping(0, lo, hi) {
        children.push(Box::new(TableCursor::new(f)));
    }
    for level in 1..NUM_LEVELS {
        let files = sv.version.overlapping(level, lo, hi);
        if !files.is_empty() {
            children.push(Box::new(LevelIter::new(files)));
        }
    }
    KvIter::from_db(DbIter::new(children, snap, range, dir, pin))
}

impl Inner {
    // ---------------------------------------------------------------- lifecycle

    fn close(&self, threads: Vec<JoinHandle<()>>) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // Wait for an in-flight commit group to finish.
        {
            let mut q = self.queue.lock();
            while q.leader {
                self.queue_cv.wait(&mut q);
            }
        }
        for tx in [&self.flush_tx, &self.compact_tx] {
            if let Some(tx) = tx.lock().take() {
                let _ = tx.send(BgMsg::Stop);
            }
        }
        self.notify_bg();
        for t in threads {
            let _ = t.join();
        }
        let r = if self.poison_reason().is_none() && !self.opts.read_only {
            self.wal.lock().sync()
        } else {
            Ok(())
        };
        self.lock.lock().take();
        r
    }
}

pub(crate) fn clone_err(e: &Error) -> Error {
    match e {
        Error::Io { path, source } => Error::Io {
            path: path.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        Error::Poisoned(s) => Error::Poisoned(s.clone()),
        Error::Closed => Error::Closed,
        Error::InvalidArgument(s) => Error::InvalidArgument(s.clone()),
        Error::Corruption {
            path,
            offset,
            detail,
        } => Error::Corruption {
            path: path.clone(),
            offset: *offset,
            detail: detail.clone(),
        },
        Error::Conflict { key, detail } => Error::Conflict {
            key: key.clone(),
            detail: detail.clone(),
        },
        other => Error::Poisoned(other.to_string()),
    }
}

struct Handle {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        let threads = std::mem::take(&mut *self.threads.lock());
        let _ = self.inner.close(threads);
    }
}

/// An open database. Cheap to clone (all clones share one engine); `Send + Sync`.
///
/// Dropping the last clone closes the engine (best effort); call [`Engine::close`] to see
/// errors.
///
/// ```
/// use std::ops::Bound;
/// use toondb_storage::{Direction, Engine, Options};
///
/// let db = Engine::open_in_memory(Options::default()).unwrap();
/// db.put(b"a", b"1").unwrap();
/// let snap = db.snapshot();
/// db.put(b"a", b"2").unwrap();
/// db.put(b"b", b"3").unwrap();
/// // The snapshot still sees the old state.
/// assert_eq!(snap.get(b"a").unwrap(), Some(b"1".to_vec()));
/// let now: Vec<(Vec<u8>, Vec<u8>)> = db
///     .scan(Bound::Included(b"a"), Bound::Unbounded, Direction::Forward)
///     .unwrap()
///     .collect::<Result<_, _>>()
///     .unwrap();
/// assert_eq!(now, vec![(b"a".to_vec(), b"2".to_vec()), (b"b".to_vec(), b"3".to_vec())]);
/// assert_eq!(snap.scan_prefix(b"").unwrap().count(), 1);
/// ```
#[derive(Clone)]
pub struct Engine {
    h: Arc<Handle>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("dir", &self.h.inner.dir)
            .finish()
    }
}

impl Engine {
    /// Opens (creating if needed) the database in directory `path` on the real file system.
    pub fn open(path: impl AsRef<Path>, opts: Options) -> Result<Engine> {
        Engine::open_with_vfs(Arc::new(OsVfs::with_file_mode(opts.file_mode)), path, opts)
    }

    /// Opens the database in `path` read-only (see [`Options::read_only`]): nothing in the
    /// directory is created, renamed, truncated or deleted, and no lock is taken.
    pub fn open_read_only(path: impl AsRef<Path>, opts: Options) -> Result<Engine> {
        Engine::open(
            path,
            Options {
                read_only: true,
                ..opts
            },
        )
    }

    /// Whether this handle was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.h.inner.opts.read_only
    }

    /// Makes every commit acknowledged so far durable (fsyncs the WAL if anything is
    /// unsynced), whatever the [`SyncMode`]. A no-op for a read-only handle.
    pub fn sync(&self) -> Result<()> {
        self.h.inner.check_open()?;
        self.h.inner.sync_wal()
    }

    /// Opens a database through a custom [`Vfs`] (simulated disks in tests).
    pub fn open_with_vfs(
        vfs: Arc<dyn Vfs>,
        path: impl AsRef<Path>,
        opts: Options,
    ) -> Result<Engine> {
        let rec = crate::recovery::recover(vfs, path.as_ref(), opts)?;
        let inner = Arc::new(Inner::from_recovered(rec));
        let threads = crate::compaction::spawn_background(&inner)?;
        Ok(Engine {
            h: Arc::new(Handle {
                inner,
                threads: Mutex::new(threads),
            }),
        })
    }

    /// Opens a fresh database on an in-memory file system (lost when dropped).
    pub fn open_in_memory(opts: Options) -> Result<Engine> {
        Engine::open_with_vfs(
            Arc::new(toondb_core::vfs::MemVfs::new()),
            "/toondb-mem",
            opts,
        )
    }

    /// Sets `key` to `value`.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        let mut b = WriteBatch::new();
        b.put(key, value);
        self.write(b)
    }

    /// The current value of `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        // No snapshot registration: the read uses only the super-version captured with its
        // sequence number (see `Inner::read_view`).
        let (sv, seq) = self.h.inner.read_view();
        get_in(&sv, key, seq)
    }

    /// Removes `key` (a no-op if absent).
    pub fn delete(&self, key: &[u8]) -> Result<()> {
        let mut b = WriteBatch::new();
        b.delete(key);
        self.write(b)
    }

    /// Applies a batch atomically.
    pub fn write(&self, batch: WriteBatch) -> Result<()> {
        let inner = &self.h.inner;
        inner.check_writable()?;
        inner.check_batch(&batch)?;
        inner.submit(ReqKind::Batch(batch, None))
    }

    pub(crate) fn commit_txn(inner: &Inner, batch: WriteBatch, check: ConflictCheck) -> Result<()> {
        inner.check_writable()?;
        inner.check_batch(&batch)?;
        inner.submit(ReqKind::Batch(batch, Some(check)))
    }

    /// Iterates keys in the given range in `dir` order, at a snapshot taken now.
    pub fn scan(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>, dir: Direction) -> Result<KvIter> {
        // The iterator holds the memtables and tables of the captured super-version, which is
        // all it ever reads, so it needs no snapshot registration (see `Inner::read_view`).
        let (sv, seq) = self.h.inner.read_view();
        Ok(scan_in(
            &sv,
            (own_bound(lower), own_bound(upper)),
            dir,
            None,
            seq,
        ))
    }

    /// Iterates (forward) all keys starting with `prefix`.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<KvIter> {
        let (sv, seq) = self.h.inner.read_view();
        Ok(scan_in(
            &sv,
            prefix_range(prefix),
            Direction::Forward,
            None,
            seq,
        ))
    }

    /// A consistent point-in-time view. Compaction keeps every version it needs until dropped.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            inner: self.h.inner.clone(),
            pin: Arc::new(self.h.inner.pin()),
        }
    }

    /// Starts a transaction.
    pub fn begin(&self, isolation: Isolation) -> Result<Transaction> {
        // Read-only handles may run transactions that only read; a commit with writes fails.
        self.h.inner.check_open()?;
        Ok(Transaction::new(self.h.inner.clone(), isolation))
    }

    /// Writes every memtable to L0 tables and waits until they are recorded in the manifest.
    pub fn flush(&self) -> Result<()> {
        let inner = &self.h.inner;
        inner.check_writable()?;
        inner.submit(ReqKind::Rotate)?;
        crate::compaction::flush_imms(inner)
    }

    /// Flushes, then compacts every level overlapping `[lower, upper]` (None = unbounded) down
    /// to the deepest level that holds such data.
    pub fn compact_range(&self, lower: Option<&[u8]>, upper: Option<&[u8]>) -> Result<()> {
        self.flush()?;
        crate::compaction::compact_range(&self.h.inner, lower, upper)
    }

    /// Counters and sizes.
    pub fn stats(&self) -> EngineStats {
        let inner = &self.h.inner;
        let sv = inner.current_sv();
        let levels: Vec<LevelStats> = (0..NUM_LEVELS)
            .map(|l| LevelStats {
                files: sv.version.levels[l].len(),
                bytes: sv.version.level_bytes(l),
            })
            .collect();
        let cache = inner.cache.stats();
        let c = &inner.stats;
        let ld = |a: &AtomicU64| a.load(Ordering::Relaxed);
        EngineStats {
            total_sst_bytes: levels.iter().map(|l| l.bytes).sum(),
            levels,
            memtable_bytes: sv.mem.approximate_size() as u64
                + sv.imms
                    .iter()
                    .map(|m| m.approximate_size() as u64)
                    .sum::<u64>(),
            memtable_entries: sv.mem.len() as u64,
            immutable_memtables: sv.imms.len(),
            cache_hits: cache.hits,
            cache_misses: cache.misses,
            cache_usage_bytes: cache.usage_bytes,
            cache_capacity_bytes: cache.capacity_bytes,
            stall_count: ld(&c.stalls),
            stall_micros: ld(&c.stall_micros),
            wal_bytes: ld(&c.wal_bytes),
            wal_syncs: ld(&c.wal_syncs),
            commits: ld(&c.commits),
            flushes: ld(&c.flushes),
            compactions: ld(&c.compactions),
            compaction_bytes_read: ld(&c.compaction_read),
            compaction_bytes_written: ld(&c.compaction_written),
            last_seq: inner.visible.load(Ordering::Acquire),
            live_snapshots: inner.snaps.count(),
            recovered_records: ld(&c.recovered_records),
            recovered_torn_tail_bytes: ld(&c.torn_tail_bytes),
            poisoned: inner.poison_reason(),
        }
    }

    /// Re-reads every table block and WAL record, checking checksums.
    pub fn verify(&self) -> Result<VerifyReport> {
        crate::verify::verify(&self.h.inner)
    }

    /// Writes a consistent copy of the database into `dest` (which must be missing or an
    /// empty directory) while writers keep going; restoring is opening the copy.
    ///
    /// The copy holds every commit acknowledged before the call and is a prefix of the commit
    /// order (see `docs/architecture/storage.md`, "Online backup"): under the manifest lock
    /// the current version, its log number and the live WALs are captured and the active WAL
    /// is flushed to the OS and its length noted; then, without blocking writers, the tables
    /// (immutable; hard links when the file system allows) and the WALs up to that length are
    /// copied and fsynced, and a manifest describing exactly that state is written and named by
    /// `CURRENT`. From a read-only handle the replayed WAL contents are written as a table.
    pub fn backup_to(&self, dest: impl AsRef<Path>) -> Result<BackupReport> {
        crate::backup::backup(&self.h.inner, dest.as_ref())
    }

    /// Syncs the WAL, stops background threads and releases the directory lock. Other clones
    /// of this handle then fail with [`Error::Closed`] on writes.
    pub fn close(self) -> Result<()> {
        let threads = std::mem::take(&mut *self.h.threads.lock());
        self.h.inner.close(threads)
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.h.inner.dir
    }
}

/// A consistent, read-only point-in-time view of the database.
#[derive(Clone, Debug)]
pub struct Snapshot {
    inner: Arc<Inner>,
    pin: Arc<SnapshotPin>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner").field("dir", &self.dir).finish()
    }
}

impl Snapshot {
    /// The sequence number this snapshot reads at.
    pub fn seq(&self) -> u64 {
        self.pin.seq
    }
    /// The value of `key` at the snapshot.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.get_at(key, self.pin.seq)
    }
    /// Range scan at the snapshot.
    pub fn scan(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>, dir: Direction) -> Result<KvIter> {
        Ok(self.inner.scan_at(
            (own_bound(lower), own_bound(upper)),
            dir,
            Some(self.pin.clone()),
            self.pin.seq,
        ))
    }
    /// Prefix scan (forward) at the snapshot.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<KvIter> {
        Ok(self.inner.scan_at(
            prefix_range(prefix),
            Direction::Forward,
            Some(self.pin.clone()),
            self.pin.seq,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_paths(sv: &SuperVersion) -> Vec<PathBuf> {
        sv.version
            .levels
            .iter()
            .flatten()
            .map(|f| f.path.clone())
            .collect()
    }

    /// The invariant unregistered reads rely on: a view captured by `read_view` keeps
    /// answering at its sequence number after a compaction dropped the old versions (nothing
    /// pins them) and made its tables obsolete; those files are deleted only once the view is
    /// gone.
    #[test]
    fn captured_view_outlives_compaction_and_table_deletion() {
        let db = Engine::open_in_memory(Options::default()).unwrap();
        let inner = db.h.inner.clone();
        db.put(b"k", b"v1").unwrap();
        db.put(b"gone", b"x").unwrap();
        db.flush().unwrap();
        let (guard, seq) = inner.read_view();
        let view: Arc<SuperVersion> = Guard::into_inner(guard);
        let old_tables = table_paths(&view);
        assert!(!old_tables.is_empty());

        db.put(b"k", b"v2").unwrap();
        db.delete(b"gone").unwrap();
        db.compact_range(None, None).unwrap();
        assert_eq!(inner.snaps.count(), 0, "nothing pinned the old versions");

        // Current reads see the new state; the compacted tables no longer hold v1.
        assert_eq!(db.get(b"k").unwrap(), Some(b"v2".to_vec()));
        assert_eq!(db.get(b"gone").unwrap(), None);
        let now = inner.current_sv();
        assert!(table_paths(&now).iter().all(|p| !old_tables.contains(p)));
        assert_eq!(
            get_in(&now, b"k", seq).unwrap(),
            None,
            "v1 was compacted away"
        );

        // The captured view still reads its own tables at its own sequence number.
        assert_eq!(get_in(&view, b"k", seq).unwrap(), Some(b"v1".to_vec()));
        assert_eq!(get_in(&view, b"gone", seq).unwrap(), Some(b"x".to_vec()));
        for p in &old_tables {
            assert!(inner.vfs.exists(p), "{p:?} deleted while still referenced");
        }
        drop(view);
        for p in &old_tables {
            assert!(!inner.vfs.exists(p), "{p:?} not deleted once unreferenced");
        }
        db.close().unwrap();
    }
}
