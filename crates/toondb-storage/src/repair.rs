//! Rebuilding a manifest from the tables and WALs found in a directory, for databases whose
//! `CURRENT` or manifest is missing or damaged, or whose older WAL is damaged.
//!
//! Nothing is deleted: files repair cannot use are moved into `lost/` with the reason in the
//! report, and a WAL whose damaged tail may hold data is copied there before it is retired.

use crate::compaction::{write_memtable, TableCtx};
use crate::error::{Error, Result};
use crate::files::{self, FileKind};
use crate::log;
use crate::manifest::{self, FileDesc, VersionEdit, FORMAT_VERSION};
use crate::options::Options;
use crate::recovery::{self, LOST_DIR};
use crate::sst::{BlockCache, Table};
use crate::verify::{TailCutKind, WalTailCut};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toondb_core::vfs::{OsVfs, Vfs};

/// What [`repair`] did.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RepairReport {
    /// The manifest whose list of tables was kept (the newest one that is readable and whose
    /// tables are all intact), or `None` if no manifest was usable and every intact table was
    /// kept at level 0.
    pub manifest_used: Option<PathBuf>,
    /// Tables in the rebuilt manifest.
    pub tables_kept: Vec<PathBuf>,
    /// WALs whose records were kept (written into a new level-0 table).
    pub wals_replayed: Vec<PathBuf>,
    /// WAL records kept.
    pub wal_records: u64,
    /// WAL tails that could not be read (kept in `lost/` when they may hold data).
    pub wal_cuts: Vec<WalTailCut>,
    /// Files that could not be used, moved into `lost/` (or copied there), with the reason.
    pub not_used: Vec<(PathBuf, String)>,
    /// The new manifest.
    pub new_manifest: PathBuf,
}

/// Rebuilds the manifest of the database in `path` on the real file system (see
/// [`repair_with_vfs`]).
pub fn repair(path: impl AsRef<Path>, opts: &Options) -> Result<RepairReport> {
    repair_with_vfs(
        Arc::new(OsVfs::with_file_mode(opts.file_mode)),
        path.as_ref(),
        opts,
    )
}

struct TableInfo {
    number: u64,
    table: Arc<Table>,
}

/// Rebuilds the manifest of the database in `dir` from the files found, then points
/// `CURRENT` at it. Takes the directory lock (fails with [`Error::Locked`] while the database
/// is open). Steps:
///
/// 1. Every table is opened and fully verified; damaged ones go to `lost/`.
/// 2. The newest manifest that decodes and whose tables are all intact gives the levels;
///    tables it does not reference go to `lost/`. Without such a manifest every intact table
///    is kept at level 0, renumbered in sequence order so newer data shadows older.
/// 3. Every WAL at or above the manifest's log number (all WALs without one) is replayed up
///    to its first damaged record; the records are written into a new level-0 table.
///    A WAL whose cut part may hold data is copied to `lost/` first.
/// 4. A new manifest (a full snapshot) and an empty WAL are written and `CURRENT` is switched.
///    Unusable files are moved to `lost/` only after that, so a crash during repair leaves
///    the previous state intact.
pub fn repair_with_vfs(vfs: Arc<dyn Vfs>, dir: &Path, opts: &Options) -> Result<RepairReport> {
    let dir = dir.to_path_buf();
    let _lock = recovery::take_lock(vfs.as_ref(), &dir)?;
    let names = vfs.list_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    if recovery::data_files(&names).is_empty() {
        return Err(Error::NotADatabase { path: dir });
    }
    let mut report = RepairReport::default();
    let mut to_lost: Vec<(PathBuf, String)> = Vec::new();
    let cache = BlockCache::new(opts.block_cache_bytes);
    let mut max_number = 0u64;
    let mut tables: BTreeMap<u64, TableInfo> = BTreeMap::new();
    let mut manifests = Vec::new();
    let mut wals = Vec::new();
    for n in &names {
        match files::classify(n) {
            Some(FileKind::Table(t)) => {
                max_number = max_number.max(t);
                let path = dir.join(n);
                let opened = Table::open(vfs.as_ref(), &path, t, Some(cache.clone()))
                    .and_then(|tb| tb.verify().map(|()| tb));
                match opened {
                    Ok(table) => {
                        tables.insert(t, TableInfo { number: t, table });
                    }
                    Err(e) => to_lost.push((path, format!("damaged table: {e}"))),
                }
            }
            Some(FileKind::Manifest(m)) => {
                max_number = max_number.max(m);
                manifests.push(m);
            }
            Some(FileKind::Wal(w)) => {
                max_number = max_number.max(w);
                wals.push(w);
            }
            _ => {}
        }
    }
    manifests.sort_unstable_by(|a, b| b.cmp(a));
    wals.sort_unstable();

    // The newest usable manifest.
    let mut base = None;
    for &m in &manifests {
        let path = dir.join(files::manifest_name(m));
        let st = match vfs
            .read_all(&path)
            .map_err(|e| Error::io(&path, e))
            .and_then(|d| recovery::parse_manifest(&d, &path))
        {
            Ok(st) => st,
            Err(e) => {
                to_lost.push((path, format!("unreadable manifest: {e}")));
                continue;
            }
        };
        if let Some(missing) = st.files.keys().find(|n| !tables.contains_key(n)) {
            report.not_used.push((
                path,
                format!("manifest references table {missing:06}.sst, which is missing or damaged"),
            ));
            continue;
        }
        base = Some(st);
        break;
    }
    let mut next_file = max_number + 1;
    let mut descs: Vec<FileDesc> = Vec::new();
    let (log_number, mut last_seq) = match &base {
        Some(st) => {
            report.manifest_used = Some(st.path.clone());
            for d in st.files.values() {
                descs.push(d.clone());
            }
            for (n, _) in tables.iter().filter(|(n, _)| !st.files.contains_key(n)) {
                to_lost.push((
                    files::table(&dir, *n),
                    format!(
                        "not referenced by {} (an obsolete compaction input or an output \
                         whose edit never became durable)",
                        st.path.display()
                    ),
                ));
            }
            (st.log_number, st.last_seq)
        }
        None => {
            // Level 0, renumbered so that file order is sequence order (newest = highest).
            let mut all: Vec<&TableInfo> = tables.values().collect();
            all.sort_by_key(|t| (t.table.props().max_seq, t.table.props().min_seq, t.number));
            let mut renamed = Vec::new();
            for t in all {
                let n = next_file;
                next_file += 1;
                let from = files::table(&dir, t.number);
                let to = files::table(&dir, n);
                vfs.rename(&from, &to).map_err(|e| Error::io(&from, e))?;
                let p = t.table.props();
                renamed.push(FileDesc {
                    level: 0,
                    number: n,
                    size: p.file_size,
                    smallest: p.smallest_key.clone(),
                    largest: p.largest_key.clone(),
                    min_seq: p.min_seq,
                    max_seq: p.max_seq,
                });
            }
            vfs.sync_dir(&dir).map_err(|e| Error::io(&dir, e))?;
            descs = renamed;
            (0, 0)
        }
    };
    for d in &descs {
        last_seq = last_seq.max(d.max_seq);
        report.tables_kept.push(files::table(&dir, d.number));
    }

    // WALs: keep every readable record.
    let lost = dir.join(LOST_DIR);
    let mem = crate::memtable::MemTable::new(0);
    for &w in wals.iter().filter(|&&w| w >= log_number) {
        let path = files::wal(&dir, w);
        let data = vfs.read_all(&path).map_err(|e| Error::io(&path, e))?;
        let (records, cut) = log::parse_prefix(&data);
        for (off, payload) in &records {
            match crate::batch::codec::decode(payload, &path, *off) {
                Ok((first, b)) => {
                    if !b.is_empty() {
                        last_seq = last_seq.max(first + b.len() as u64 - 1);
                    }
                    for (j, (op, k, v)) in b.entries.into_iter().enumerate() {
                        let kind = if op == crate::batch::Op::Put {
                            crate::sst::ValueKind::Put
                        } else {
                            crate::sst::ValueKind::Delete
                        };
                        mem.insert(k, first + j as u64, kind, v);
                    }
                    report.wal_records += 1;
                }
                Err(e) => report
                    .not_used
                    .push((path.clone(), format!("record not decodable: {e}"))),
            }
        }
        report.wals_replayed.push(path.clone());
        if let Some(cut) = cut {
            let kind = if cut.torn && cut.valid_after == 0 {
                TailCutKind::TornWrite
            } else {
                TailCutKind::Damaged
            };
            if kind == TailCutKind::Damaged {
                vfs.create_dir_all(&lost).map_err(|e| Error::io(&lost, e))?;
                let dst = lost.join(format!("{w:06}.log"));
                if !vfs.exists(&dst) {
                    recovery::copy_file(vfs.as_ref(), &path, &dst, None)?;
                }
                report.not_used.push((
                    path.clone(),
                    format!(
                        "{} bytes from offset {} unreadable ({} valid records after the \
                         damage); the whole file is copied to {}",
                        cut.bytes,
                        cut.offset,
                        cut.valid_after,
                        dst.display()
                    ),
                ));
            }
            report.wal_cuts.push(WalTailCut {
                path: path.clone(),
                offset: cut.offset,
                bytes: cut.bytes,
                valid_records_after: cut.valid_after,
                kind,
            });
        }
    }

    let vfs_ref = &vfs;
    let ctx = TableCtx {
        vfs: vfs_ref,
        dir: &dir,
        opts,
        cache: &cache,
    };
    let l0 = next_file;
    next_file += 1;
    if let Some(f) = write_memtable(&ctx, &mem, l0)? {
        report.tables_kept.push(f.path.clone());
        descs.push(f.desc.clone());
    }
    let wal_number = next_file;
    next_file += 1;
    let wal_path = files::wal(&dir, wal_number);
    let mut wal = vfs.create(&wal_path).map_err(|e| Error::io(&wal_path, e))?;
    wal.sync().map_err(|e| Error::io(&wal_path, e))?;
    let manifest_number = next_file;
    next_file += 1;
    let snapshot = VersionEdit {
        format_version: Some(FORMAT_VERSION),
        log_number: Some(wal_number),
        next_file_number: Some(next_file),
        last_seq: Some(last_seq),
        added: descs,
        removed: Vec::new(),
    };
    manifest::install_new_manifest(vfs.as_ref(), &dir, manifest_number, &snapshot)?;
    report.new_manifest = dir.join(files::manifest_name(manifest_number));

    // Only now (the new state is durable) move what could not be used out of the way.
    if !to_lost.is_empty() {
        vfs.create_dir_all(&lost).map_err(|e| Error::io(&lost, e))?;
        for (path, why) in to_lost {
            let Some(name) = path.file_name() else {
                continue;
            };
            let dst = lost.join(name);
            vfs.rename(&path, &dst).map_err(|e| Error::io(&path, e))?;
            report
                .not_used
                .push((path, format!("{why}; moved to {}", dst.display())));
        }
        vfs.sync_dir(&lost).map_err(|e| Error::io(&lost, e))?;
        vfs.sync_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    Ok(report)
}
