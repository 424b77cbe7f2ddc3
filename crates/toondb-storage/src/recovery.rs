//! Opening a database: lock, list, read CURRENT and the manifest, replay the WALs
//! (point-in-time: up to the first damaged record), write the recovered memtable as an L0
//! table, start a fresh manifest and WAL, and delete only files the new manifest proves
//! obsolete. A read-only open does the reading part in memory and writes nothing.

use crate::batch;
use crate::compaction::{write_memtable, TableCtx};
use crate::engine::{Recovered, VersionSet};
use crate::error::{Error, Result};
use crate::files::{self, FileKind};
use crate::log::{self, LogWriter};
use crate::manifest::{self, FileDesc, VersionEdit, FORMAT_VERSION};
use crate::memtable::MemTable;
use crate::options::Options;
use crate::sst::{BlockCache, Table, ValueKind};
use crate::stats::Counters;
use crate::verify::{TailCutKind, WalTailCut};
use crate::version::{FileMeta, Version};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use toondb_core::vfs::{Vfs, WritableFile};

fn validate(opts: &Options) -> Result<()> {
    let bad = |s: &str| Err(Error::InvalidArgument(s.to_string()));
    if opts.memtable_size == 0 {
        return bad("memtable_size must be > 0");
    }
    if opts.max_immutable_memtables == 0 {
        return bad("max_immutable_memtables must be > 0");
    }
    if opts.l0_compaction_trigger == 0 || opts.l0_stall_trigger <= opts.l0_compaction_trigger {
        return bad("need 0 < l0_compaction_trigger < l0_stall_trigger");
    }
    if opts.level_size_ratio < 2 || opts.l1_target_bytes == 0 || opts.target_file_size == 0 {
        return bad("level sizes must be positive (ratio >= 2)");
    }
    if opts.max_key_size == 0 || opts.block_size == 0 {
        return bad("max_key_size and block_size must be > 0");
    }
    if opts.max_key_size > crate::sst::MAX_KEY_LEN
        || opts.max_value_size > crate::sst::MAX_VALUE_LEN
    {
        return bad("max_key_size / max_value_size exceed what tables can store");
    }
    Ok(())
}

/// State read from the manifest.
pub(crate) struct ManifestState {
    /// The manifest file CURRENT names, and its length (for error reports).
    pub path: PathBuf,
    pub len: u64,
    pub files: BTreeMap<u64, FileDesc>,
    pub log_number: u64,
    pub next_file: u64,
    pub last_seq: u64,
}

impl ManifestState {
    fn empty(path: PathBuf) -> ManifestState {
        ManifestState {
            path,
            len: 0,
            files: BTreeMap::new(),
            log_number: 0,
            next_file: 1,
            last_seq: 0,
        }
    }
}

/// Names of the data files (tables, WALs, manifests, `CURRENT.tmp`) among `names`.
pub(crate) fn data_files(names: &[PathBuf]) -> Vec<String> {
    names
        .iter()
        .filter(|n| {
            matches!(
                files::classify(n),
                Some(
                    FileKind::Wal(_)
                        | FileKind::Table(_)
                        | FileKind::Manifest(_)
                        | FileKind::CurrentTmp
                )
            )
        })
        .map(|n| n.to_string_lossy().into_owned())
        .collect()
}

/// Replays the edits of one manifest file.
pub(crate) fn parse_manifest(data: &[u8], path: &Path) -> Result<ManifestState> {
    // A torn tail is an edit whose write never completed: it was never acted on.
    let parsed = log::parse(data, path, true)?;
    let mut st = ManifestState::empty(path.to_path_buf());
    st.len = data.len() as u64;
    if parsed.records.is_empty() {
        // The first record is synced before CURRENT may name the manifest, so it cannot have
        // been torn by a crash: a damaged first record is damage, reported where it starts.
        return Err(match parsed.torn_at {
            Some(at) => Error::corruption(
                path,
                at,
                format!(
                    "the first record (the snapshot, synced before CURRENT named this \
                     manifest) is damaged: checksum mismatch or bad length in the {} bytes \
                     from offset {at}",
                    data.len() as u64 - at
                ),
            ),
            None => Error::corruption(path, 0, "empty manifest (0 bytes)"),
        });
    }
    for (i, (off, payload)) in parsed.records.iter().enumerate() {
        let e = manifest::codec::decode(payload, path, *off)?;
        if i == 0 {
            match e.format_version {
                None => {
                    return Err(Error::corruption(
                        path,
                        *off,
                        "first record lacks the format version",
                    ))
                }
                Some(v) if v != FORMAT_VERSION => {
                    return Err(Error::UnsupportedVersion {
                        path: path.to_path_buf(),
                        found: v,
                        supported: FORMAT_VERSION,
                    })
                }
                Some(_) => {}
            }
        }
        for (_, n) in &e.removed {
            st.files.remove(n);
        }
        for f in e.added {
            st.files.insert(f.number, f);
        }
        if let Some(l) = e.log_number {
            st.log_number = st.log_number.max(l);
        }
        if let Some(n) = e.next_file_number {
            st.next_file = st.next_file.max(n);
        }
        if let Some(s) = e.last_seq {
            st.last_seq = st.last_seq.max(s);
        }
    }
    Ok(st)
}

fn read_manifest(vfs: &dyn Vfs, dir: &Path, names: &[PathBuf]) -> Result<ManifestState> {
    let cur_path = dir.join(files::CURRENT);
    let missing = |what: String| Error::MissingManifest {
        path: dir.to_path_buf(),
        missing: what,
        data_files: data_files(names),
    };
    let cur = match vfs.read_all(&cur_path) {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(missing("CURRENT is missing".into()))
        }
        Err(e) => return Err(Error::io(&cur_path, e)),
    };
    let name = std::str::from_utf8(&cur)
        .ok()
        .and_then(|s| s.strip_suffix('\n'))
        .filter(|s| matches!(files::classify(Path::new(s)), Some(FileKind::Manifest(_))))
        .ok_or_else(|| {
            missing(format!(
                "CURRENT is invalid (it does not name a manifest: {:?})",
                String::from_utf8_lossy(&cur[..cur.len().min(64)])
            ))
        })?;
    let path = dir.join(name);
    let data = match vfs.read_all(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(missing(format!("{name}, named by CURRENT, is missing")))
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    parse_manifest(&data, &path)
}

/// Whether the data files in a directory without `CURRENT` provably hold nothing: what a
/// crash while creating the database leaves (a WAL without a single valid record, a
/// manifest (possibly torn), a `CURRENT.tmp`). A manifest alone holds no rows: every row is in
/// a table or a WAL record. Any table, or any WAL with a valid record, may be someone's data.
fn provably_empty(vfs: &dyn Vfs, dir: &Path, names: &[PathBuf]) -> bool {
    names.iter().all(|n| match files::classify(n) {
        Some(FileKind::Table(_)) => false,
        Some(FileKind::Wal(_)) => vfs
            .read_all(&dir.join(n))
            .is_ok_and(|d| log::parse_prefix(&d).0.is_empty()),
        _ => true,
    })
}

/// Cross-checks the manifest against the WAL files on disk.
///
/// The WAL named by the manifest's `log_number` is created before any edit names it and is
/// deleted only after a later edit has moved `log_number` past it, so in every state a crash
/// can leave it exists. If it is missing while a newer WAL exists, the manifest lost edits
/// that were once durable (for example it was truncated at a record boundary, which looks like
/// a clean end): opening would silently drop the data those edits recorded, and the orphan
/// sweep would then delete the tables they referenced. Refuse instead.
fn check_log_number(st: &ManifestState, wals: &[u64]) -> Result<()> {
    if st.log_number == 0 || wals.first() == Some(&st.log_number) {
        return Ok(());
    }
    match wals.iter().find(|&&w| w > st.log_number) {
        Some(newer) => Err(Error::corruption(
            &st.path,
            st.len,
            format!(
                "manifest names WAL {} as live but it is missing while newer WAL {} exists: \
                 the manifest has lost edits (truncated or replaced)",
                st.log_number, newer
            ),
        )),
        None => Ok(()),
    }
}

/// The outcome of replaying WALs.
pub(crate) struct Replayed {
    pub mem: MemTable,
    pub last_seq: u64,
    pub records: u64,
    /// Where replay stopped early, per WAL.
    pub cuts: Vec<WalTailCut>,
    /// WALs whose cut-off part may hold data (damage, not a torn append): copied to `lost/`
    /// before the WAL is deleted, so nothing is destroyed.
    pub salvage: Vec<u64>,
}

impl Replayed {
    /// Records what the replay recovered and cut in the engine's counters.
    fn count_in(&self, stats: &Counters) {
        stats
            .recovered_records
            .store(self.records, Ordering::Relaxed);
        stats
            .torn_tail_bytes
            .store(self.cuts.iter().map(|c| c.bytes).sum(), Ordering::Relaxed);
    }
}

/// Replays `wals` (ascending) in memory, point-in-time: each WAL up to its first damaged or
/// incomplete record.
///
/// An older WAL was fsynced before the next one was created (rotation order), and nothing is
/// written to a new WAL before that, so damage in an older WAL with records in a newer one is
/// damage to synced data: `Error::Corruption`. Damage in an older WAL whose newer WALs hold
/// no record is what a crash at rotation leaves (also in databases written before the
/// rotation order was fixed, and in `SyncMode::Off` when the process dies with half a record
/// handed to the OS): it is cut like a torn tail.
pub(crate) fn replay_wals(
    vfs: &dyn Vfs,
    dir: &Path,
    wals: &[u64],
    mut last_seq: u64,
) -> Result<Replayed> {
    let mut datas = Vec::with_capacity(wals.len());
    for &w in wals {
        let path = files::wal(dir, w);
        datas.push(vfs.read_all(&path).map_err(|e| Error::io(&path, e))?);
    }
    let parsed: Vec<_> = datas.iter().map(|d| log::parse_prefix(d)).collect();
    let mem = MemTable::new(0);
    let mut out_cuts = Vec::new();
    let mut salvage = Vec::new();
    let mut records = 0u64;
    for (i, &w) in wals.iter().enumerate() {
        let path = files::wal(dir, w);
        let (recs, cut) = &parsed[i];
        if let Some(cut) = cut {
            let later_records = parsed[i + 1..].iter().any(|(r, _)| !r.is_empty());
            if later_records {
                return Err(Error::corruption(
                    &path,
                    cut.offset,
                    format!(
                        "damaged record in a WAL that was synced before a newer WAL received \
                         records (damage before the last sync; {} bytes, {} valid records \
                         after it); run `toondb repair` to keep what is readable",
                        cut.bytes, cut.valid_after
                    ),
                ));
            }
            let kind = if cut.torn && cut.valid_after == 0 {
                TailCutKind::TornWrite
            } else {
                salvage.push(w);
                TailCutKind::Damaged
            };
            out_cuts.push(WalTailCut {
                path: path.clone(),
                offset: cut.offset,
                bytes: cut.bytes,
                valid_records_after: cut.valid_after,
                kind,
            });
        }
        for (off, payload) in recs {
            let (first, b) = batch::codec::decode(payload, &path, *off)?;
            if !b.is_empty() {
                last_seq = last_seq.max(first + b.len() as u64 - 1);
            }
            for (j, (op, k, v)) in b.entries.into_iter().enumerate() {
                let kind = if op == batch::Op::Put {
                    ValueKind::Put
                } else {
                    ValueKind::Delete
                };
                mem.insert(k, first + j as u64, kind, v);
            }
            records += 1;
        }
    }
    Ok(Replayed {
        mem,
        last_seq,
        records,
        cuts: out_cuts,
        salvage,
    })
}

/// Copies (hard-links when possible) `src` to `dst` and syncs the copy.
pub(crate) fn copy_file(vfs: &dyn Vfs, src: &Path, dst: &Path, len: Option<u64>) -> Result<()> {
    if len.is_none() && vfs.hard_link(src, dst).is_ok() {
        return Ok(());
    }
    let r = vfs.open_read(src).map_err(|e| Error::io(src, e))?;
    let total = len.unwrap_or(r.len()).min(r.len());
    let mut w = vfs.create(dst).map_err(|e| Error::io(dst, e))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    while off < total {
        let n = ((total - off) as usize).min(buf.len());
        r.read_exact_at(off, &mut buf[..n])
            .map_err(|e| Error::io(src, e))?;
        w.append(&buf[..n]).map_err(|e| Error::io(dst, e))?;
        off += n as u64;
    }
    w.sync().map_err(|e| Error::io(dst, e))
}

/// The directory where files recovery or repair could not use are kept.
pub(crate) const LOST_DIR: &str = "lost";

fn sync_parent(vfs: &dyn Vfs, dir: &Path) -> Result<()> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    vfs.sync_dir(&parent).map_err(|e| Error::io(&parent, e))
}

pub(crate) fn take_lock(vfs: &dyn Vfs, dir: &Path) -> Result<Box<dyn toondb_core::vfs::FileLock>> {
    let lock_path = dir.join(files::LOCK);
    vfs.lock(&lock_path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::WouldBlock {
            Error::Locked {
                path: lock_path.clone(),
            }
        } else {
            Error::io(&lock_path, e)
        }
    })
}

/// A writer that refuses every write: the WAL and manifest of a read-only engine.
struct ReadOnlyFile(PathBuf);

impl WritableFile for ReadOnlyFile {
    fn append(&mut self, _: &[u8]) -> std::io::Result<()> {
        Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("{} is open read-only", self.0.display()),
        ))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn len(&self) -> u64 {
        0
    }
}

fn open_tables(
    vfs: &Arc<dyn Vfs>,
    dir: &Path,
    st: &ManifestState,
    cache: &Arc<BlockCache>,
) -> Result<(HashMap<u64, Arc<FileMeta>>, VersionEdit)> {
    let mut metas = HashMap::new();
    let mut edit_all = VersionEdit::default();
    for d in st.files.values() {
        let path = files::table(dir, d.number);
        let table = Table::open(vfs.as_ref(), &path, d.number, Some(cache.clone()))?;
        let meta = Arc::new(FileMeta {
            desc: d.clone(),
            table,
            path,
            obsolete: AtomicBool::new(false),
            vfs: vfs.clone(),
        });
        metas.insert(d.number, meta);
        edit_all.added.push(d.clone());
    }
    Ok((metas, edit_all))
}

/// Live WALs (numbered >= the manifest's log number) among `names`, ascending, and the
/// largest file number seen.
fn live_wals(names: &[PathBuf], st: &ManifestState) -> (Vec<u64>, u64) {
    let mut wals = Vec::new();
    let mut max_number = 0;
    for n in names {
        if let Some(FileKind::Wal(w) | FileKind::Table(w) | FileKind::Manifest(w)) =
            files::classify(n)
        {
            max_number = max_number.max(w);
            if matches!(files::classify(n), Some(FileKind::Wal(_))) && w >= st.log_number {
                wals.push(w);
            }
        }
    }
    wals.sort_unstable();
    (wals, max_number)
}

/// Opens without writing anything (see [`Options::read_only`]). A writer in another process
/// may delete a WAL, table or manifest between our reads; such an open is retried.
fn recover_read_only(vfs: Arc<dyn Vfs>, dir: &Path, opts: Options) -> Result<Recovered> {
    let mut attempt = 0;
    loop {
        match recover_read_only_once(vfs.clone(), dir, opts.clone()) {
            Err(e) if attempt < 20 && vanished(&e) => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            r => return r,
        }
    }
}

/// Whether `e` says a file disappeared (a concurrent writer's flush or compaction).
fn vanished(e: &Error) -> bool {
    match e {
        Error::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
        // Replaced by a manifest switch between reading CURRENT and the manifest (CURRENT
        // itself is replaced atomically, so it never goes missing under a writer).
        Error::MissingManifest { missing, .. } => missing.contains("named by CURRENT"),
        _ => false,
    }
}

fn recover_read_only_once(vfs: Arc<dyn Vfs>, dir: &Path, opts: Options) -> Result<Recovered> {
    let dir = dir.to_path_buf();
    let names = vfs.list_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    if !names.iter().any(|n| n.as_os_str() == files::CURRENT) && data_files(&names).is_empty() {
        return Err(Error::NotADatabase { path: dir });
    }
    let st = read_manifest(vfs.as_ref(), &dir, &names)?;
    let (wals, max_number) = live_wals(&names, &st);
    check_log_number(&st, &wals)?;
    let stats = Counters::default();
    let cache = BlockCache::new(opts.block_cache_bytes);
    let (metas, edit_all) = open_tables(&vfs, &dir, &st, &cache)?;
    let version = Version::default().apply(&edit_all, &metas);
    let rep = replay_wals(vfs.as_ref(), &dir, &wals, st.last_seq)?;
    rep.count_in(&stats);
    let wal_number = wals.last().copied().unwrap_or(st.log_number);
    let man_path = st.path.clone();
    let wal_path = files::wal(&dir, wal_number);
    let vs = VersionSet {
        vfs: vfs.clone(),
        dir: dir.clone(),
        max_manifest_bytes: u64::MAX,
        manifest: LogWriter::new(Box::new(ReadOnlyFile(man_path.clone())), man_path, 0),
        next_file: st.next_file.max(max_number + 1),
        log_number: st.log_number,
        last_seq: rep.last_seq,
        current: Arc::new(version),
    };
    Ok(Recovered {
        vfs,
        dir,
        opts,
        vs,
        wal: LogWriter::new(
            Box::new(ReadOnlyFile(wal_path.clone())),
            wal_path,
            wal_number,
        ),
        last_seq: rep.last_seq,
        cache,
        lock: None,
        stats,
        mem: Some(rep.mem),
        cuts: rep.cuts,
    })
}

/// Opens or creates the database in `dir`.
pub(crate) fn recover(vfs: Arc<dyn Vfs>, dir: &Path, opts: Options) -> Result<Recovered> {
    validate(&opts)?;
    if opts.read_only {
        return recover_read_only(vfs, dir, opts);
    }
    let dir: PathBuf = dir.to_path_buf();
    if !vfs.exists(&dir) {
        vfs.create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        // The new directory's own entry is durable before anything inside it is.
        sync_parent(vfs.as_ref(), &dir)?;
    }
    // The lock is taken before anything is listed or read, so what we read cannot change
    // under us (another process opening the same directory waits for nothing: it fails).
    let lock_path = dir.join(files::LOCK);
    let lock_existed = vfs.exists(&lock_path);
    let lock = take_lock(vfs.as_ref(), &dir)?;
    let names = vfs.list_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    let has_current = names.iter().any(|n| n.as_os_str() == files::CURRENT);
    if !has_current && names.iter().any(|n| files::classify(n).is_none()) {
        // Someone else's directory: leave it as it was.
        drop(lock);
        if !lock_existed {
            let _ = vfs.remove(&lock_path);
        }
        return Err(Error::NotADatabase { path: dir });
    }
    let stats = Counters::default();
    let cache = BlockCache::new(opts.block_cache_bytes);

    let st = if has_current {
        read_manifest(vfs.as_ref(), &dir, &names)?
    } else if provably_empty(vfs.as_ref(), &dir, &names) {
        // Fresh, or a crash while creating it left only files that hold nothing; they are
        // removed by the sweep below once the new manifest is in place.
        ManifestState::empty(dir.join(files::CURRENT))
    } else {
        return Err(Error::MissingManifest {
            path: dir.clone(),
            missing: "CURRENT is missing".into(),
            data_files: data_files(&names),
        });
    };
    let (wals, max_number) = if has_current {
        live_wals(&names, &st)
    } else {
        (Vec::new(), live_wals(&names, &st).1)
    };
    check_log_number(&st, &wals)?;

    let mut next_file = st.next_file.max(max_number + 1);
    let mut alloc = || {
        let n = next_file;
        next_file += 1;
        n
    };

    let (mut metas, mut edit_all) = open_tables(&vfs, &dir, &st, &cache)?;
    let rep = replay_wals(vfs.as_ref(), &dir, &wals, st.last_seq)?;
    rep.count_in(&stats);
    // What was cut from a WAL may be someone's data: keep a copy before the WAL goes.
    if !rep.salvage.is_empty() {
        let lost = dir.join(LOST_DIR);
        vfs.create_dir_all(&lost).map_err(|e| Error::io(&lost, e))?;
        for &w in &rep.salvage {
            let src = files::wal(&dir, w);
            let dst = lost.join(format!("{w:06}.log"));
            if !vfs.exists(&dst) {
                copy_file(vfs.as_ref(), &src, &dst, None)?;
            }
        }
        vfs.sync_dir(&lost).map_err(|e| Error::io(&lost, e))?;
        vfs.sync_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    let last_seq = rep.last_seq;

    // Persist the recovered memtable as an L0 table.
    let ctx = TableCtx {
        vfs: &vfs,
        dir: &dir,
        opts: &opts,
        cache: &cache,
    };
    if let Some(f) = write_memtable(&ctx, &rep.mem, alloc())? {
        edit_all.added.push(f.desc.clone());
        metas.insert(f.desc.number, f);
    }
    let version = Version::default().apply(&edit_all, &metas);

    // A fresh WAL, then a fresh manifest describing everything, then switch CURRENT.
    let wal_number = alloc();
    let wal_path = files::wal(&dir, wal_number);
    let wal_file = vfs.create(&wal_path).map_err(|e| Error::io(&wal_path, e))?;
    let manifest_number = alloc();
    let next_file_val = next_file;
    let snapshot_edit = VersionEdit {
        format_version: Some(FORMAT_VERSION),
        log_number: Some(wal_number),
        next_file_number: Some(next_file_val),
        last_seq: Some(last_seq),
        added: version.all_files(),
        removed: Vec::new(),
    };
    let man = manifest::install_new_manifest(vfs.as_ref(), &dir, manifest_number, &snapshot_edit)?;

    // Delete what the new manifest proves obsolete: WALs below its log number (their records
    // are in the L0 table it references), tables it does not reference (inputs of a
    // compaction whose edit is durable, or outputs whose edit never was; their data is
    // elsewhere), older manifests and a leftover CURRENT.tmp.
    let names = vfs.list_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    for n in names {
        let obsolete = match files::classify(&n) {
            Some(FileKind::Wal(w)) => w < wal_number,
            Some(FileKind::Table(t)) => !metas.contains_key(&t),
            Some(FileKind::Manifest(m)) => m != manifest_number,
            Some(FileKind::CurrentTmp) => true,
            _ => false,
        };
        if obsolete {
            let _ = vfs.remove(&dir.join(&n));
        }
    }

    let vs = VersionSet {
        vfs: vfs.clone(),
        dir: dir.clone(),
        max_manifest_bytes: opts.max_manifest_bytes,
        manifest: man,
        next_file: next_file_val,
        log_number: wal_number,
        last_seq,
        current: Arc::new(version),
    };
    Ok(Recovered {
        vfs,
        dir,
        opts,
        vs,
        wal: LogWriter::new(wal_file, wal_path, wal_number),
        last_seq,
        cache,
        lock: Some(lock),
        stats,
        mem: None,
        cuts: rep.cuts,
    })
}
