//! Opening a database: lock, read CURRENT and the manifest, replay the WALs (cutting a torn
//! tail), write the recovered memtable as an L0 table, start a fresh manifest and WAL, and
//! delete files no version references.

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
use crate::version::{FileMeta, Version};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use toondb_core::vfs::Vfs;

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
struct ManifestState {
    /// The manifest file CURRENT names, and its length (for error reports).
    path: PathBuf,
    len: u64,
    files: BTreeMap<u64, FileDesc>,
    log_number: u64,
    next_file: u64,
    last_seq: u64,
}

fn read_manifest(vfs: &dyn Vfs, dir: &Path) -> Result<ManifestState> {
    let cur_path = dir.join(files::CURRENT);
    let cur = vfs
        .read_all(&cur_path)
        .map_err(|e| Error::io(&cur_path, e))?;
    let name = std::str::from_utf8(&cur)
        .ok()
        .and_then(|s| s.strip_suffix('\n'))
        .filter(|s| matches!(files::classify(Path::new(s)), Some(FileKind::Manifest(_))))
        .ok_or_else(|| Error::corruption(&cur_path, 0, "CURRENT does not name a manifest"))?;
    let path = dir.join(name);
    let data = vfs.read_all(&path).map_err(|e| Error::io(&path, e))?;
    // A torn tail is an edit whose write never completed: it was never acknowledged.
    let parsed = log::parse(&data, &path, true)?;
    let mut st = ManifestState {
        path: path.clone(),
        len: data.len() as u64,
        files: BTreeMap::new(),
        log_number: 0,
        next_file: 1,
        last_seq: 0,
    };
    for (i, (off, payload)) in parsed.records.iter().enumerate() {
        let e = manifest::codec::decode(payload, &path, *off)?;
        if i == 0 {
            match e.format_version {
                None => {
                    return Err(Error::corruption(
                        &path,
                        *off,
                        "first record lacks the format version",
                    ))
                }
                Some(v) if v != FORMAT_VERSION => {
                    return Err(Error::UnsupportedVersion {
                        path,
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
    if parsed.records.is_empty() {
        return Err(Error::corruption(&path, 0, "empty manifest"));
    }
    Ok(st)
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

/// Opens or creates the database in `dir`.
pub(crate) fn recover(vfs: Arc<dyn Vfs>, dir: &Path, opts: Options) -> Result<Recovered> {
    validate(&opts)?;
    let dir: PathBuf = dir.to_path_buf();
    vfs.create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let names = vfs.list_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    let has_current = names.iter().any(|n| n.as_os_str() == files::CURRENT);
    if !has_current && names.iter().any(|n| files::classify(n).is_none()) {
        return Err(Error::NotADatabase { path: dir });
    }
    let lock_path = dir.join(files::LOCK);
    let lock = vfs.lock(&lock_path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::WouldBlock {
            Error::Locked {
                path: lock_path.clone(),
            }
        } else {
            Error::io(&lock_path, e)
        }
    })?;
    let stats = Counters::default();
    let cache = BlockCache::new(opts.block_cache_bytes);

    let mut st = if has_current {
        read_manifest(vfs.as_ref(), &dir)?
    } else {
        // Fresh (or a crash during creation left only our own files): start over.
        for n in &names {
            if !matches!(files::classify(n), Some(FileKind::Lock)) {
                let p = dir.join(n);
                vfs.remove(&p).map_err(|e| Error::io(&p, e))?;
            }
        }
        ManifestState {
            path: dir.join(files::CURRENT),
            len: 0,
            files: BTreeMap::new(),
            log_number: 0,
            next_file: 1,
            last_seq: 0,
        }
    };
    let mut wals: Vec<u64> = Vec::new();
    for n in &names {
        if let Some(FileKind::Wal(w) | FileKind::Table(w) | FileKind::Manifest(w)) =
            files::classify(n)
        {
            st.next_file = st.next_file.max(w + 1);
            if matches!(files::classify(n), Some(FileKind::Wal(_)))
                && w >= st.log_number
                && has_current
            {
                wals.push(w);
            }
        }
    }
    wals.sort_unstable();
    check_log_number(&st, &wals)?;

    let mut next_file = st.next_file;
    let mut alloc = || {
        let n = next_file;
        next_file += 1;
        n
    };

    // Open every live table.
    let mut version = Version::default();
    let mut metas = HashMap::new();
    let mut edit_all = VersionEdit::default();
    for d in st.files.values() {
        let path = files::table(&dir, d.number);
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

    // Replay the WALs into one memtable.
    let mem = MemTable::new(0);
    let mut last_seq = st.last_seq;
    for (i, &w) in wals.iter().enumerate() {
        let path = files::wal(&dir, w);
        let data = vfs.read_all(&path).map_err(|e| Error::io(&path, e))?;
        let last = i + 1 == wals.len();
        let parsed = log::parse(&data, &path, last)?;
        for (off, payload) in &parsed.records {
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
            stats.recovered_records.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(t) = parsed.torn_at {
            stats
                .torn_tail_bytes
                .store(data.len() as u64 - t, Ordering::Relaxed);
            vfs.truncate(&path, t).map_err(|e| Error::io(&path, e))?;
        }
    }

    // Persist the recovered memtable as an L0 table.
    let ctx = TableCtx {
        vfs: &vfs,
        dir: &dir,
        opts: &opts,
        cache: &cache,
    };
    if let Some(f) = write_memtable(&ctx, &mem, alloc())? {
        edit_all.added.push(f.desc.clone());
        metas.insert(f.desc.number, f);
    }
    version = version.apply(&edit_all, &metas);

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

    // Delete what no longer matters.
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
        lock,
        stats,
    })
}
