//! Online backup: a consistent copy of a live database (see [`crate::Engine::backup_to`]).

use crate::compaction::{write_memtable, TableCtx};
use crate::engine::Inner;
use crate::error::{Error, Result};
use crate::files::{self, FileKind};
use crate::manifest::{self, VersionEdit, FORMAT_VERSION};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toondb_core::vfs::{RandomAccessFile, Vfs};

/// What [`crate::Engine::backup_to`] copied.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct BackupReport {
    /// The backup directory.
    pub dest: PathBuf,
    /// Table files in the copy.
    pub tables: usize,
    /// Of those, hard-linked rather than copied.
    pub tables_linked: usize,
    /// WAL files copied.
    pub wals: usize,
    /// Bytes copied (hard links count 0).
    pub bytes_copied: u64,
    /// The largest sequence number the copy may hold.
    pub last_seq: u64,
}

fn copy_handle(
    vfs: &dyn Vfs,
    src: &dyn RandomAccessFile,
    len: u64,
    src_path: &Path,
    dst: &Path,
) -> Result<u64> {
    let len = len.min(src.len());
    let mut w = vfs.create(dst).map_err(|e| Error::io(dst, e))?;
    let mut buf = vec![0u8; (1usize << 20).min(len as usize)];
    let mut off = 0u64;
    while off < len {
        let n = ((len - off) as usize).min(buf.len());
        src.read_exact_at(off, &mut buf[..n])
            .map_err(|e| Error::io(src_path, e))?;
        w.append(&buf[..n]).map_err(|e| Error::io(dst, e))?;
        off += n as u64;
    }
    w.sync().map_err(|e| Error::io(dst, e))?;
    Ok(len)
}

pub(crate) fn backup(inner: &Arc<Inner>, dest: &Path) -> Result<BackupReport> {
    inner.check_open()?;
    let vfs = inner.vfs.as_ref();
    if vfs.exists(dest) {
        let names = vfs.list_dir(dest).map_err(|e| Error::io(dest, e))?;
        if !names.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "backup destination {} is not empty",
                dest.display()
            )));
        }
    } else {
        vfs.create_dir_all(dest).map_err(|e| Error::io(dest, e))?;
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        vfs.sync_dir(&parent).map_err(|e| Error::io(&parent, e))?;
    }
    let mut report = BackupReport {
        dest: dest.to_path_buf(),
        ..BackupReport::default()
    };

    // Capture a consistent state: tables + log number + live WALs + the active WAL's length.
    // Flush installs and rotations take the manifest lock, so none happens in between.
    let (version, log_number, mut next_file, last_seq, wals) = {
        let vs = inner.vs.lock();
        let mut wals: Vec<(u64, PathBuf, Arc<dyn RandomAccessFile>, u64)> = Vec::new();
        if !inner.opts.read_only {
            let names = vfs
                .list_dir(&inner.dir)
                .map_err(|e| Error::io(&inner.dir, e))?;
            let mut nums: Vec<u64> = names
                .iter()
                .filter_map(|n| match files::classify(n) {
                    Some(FileKind::Wal(w)) if w >= vs.log_number => Some(w),
                    _ => None,
                })
                .collect();
            nums.sort_unstable();
            // Everything acknowledged is handed to the OS before the length is taken.
            let mut wal = inner.wal.lock();
            wal.flush()?;
            let (active, active_len) = (wal.number, wal.file.len());
            for w in nums {
                let path = files::wal(&inner.dir, w);
                // An open handle keeps the bytes readable even if a flush deletes the file.
                let h = vfs.open_read(&path).map_err(|e| Error::io(&path, e))?;
                let len = if w == active { active_len } else { h.len() };
                wals.push((w, path, h, len));
            }
        }
        (
            vs.current.clone(),
            vs.log_number,
            vs.next_file,
            inner.visible.load(std::sync::atomic::Ordering::Acquire),
            wals,
        )
    };

    let mut added = Vec::new();
    for (level, fs) in version.levels.iter().enumerate() {
        for f in fs {
            let dst = files::table(dest, f.desc.number);
            // Tables are immutable: a second name for the same bytes is a consistent copy.
            if vfs.hard_link(&f.path, &dst).is_ok() {
                report.tables_linked += 1;
            } else {
                let h = vfs.open_read(&f.path).map_err(|e| Error::io(&f.path, e))?;
                report.bytes_copied += copy_handle(vfs, h.as_ref(), h.len(), &f.path, &dst)?;
            }
            report.tables += 1;
            let mut d = f.desc.clone();
            d.level = level as u8;
            added.push(d);
        }
    }
    for (_, path, h, len) in &wals {
        let dst = dest.join(path.file_name().unwrap_or_default());
        report.bytes_copied += copy_handle(vfs, h.as_ref(), *len, path, &dst)?;
        report.wals += 1;
    }
    let mut log_number_out = log_number;
    if inner.opts.read_only {
        // The replayed WAL contents live only in memory: write them as a table.
        let sv = inner.current_sv();
        let ctx = TableCtx {
            vfs: &inner.vfs,
            dir: dest,
            opts: &inner.opts,
            cache: &inner.cache,
        };
        let n = next_file;
        next_file += 1;
        if let Some(f) = write_memtable(&ctx, &sv.mem, n)? {
            report.tables += 1;
            added.push(f.desc.clone());
        }
        log_number_out = next_file;
        next_file += 1;
    }
    let manifest_number = next_file;
    next_file += 1;
    let snapshot = VersionEdit {
        format_version: Some(FORMAT_VERSION),
        log_number: Some(log_number_out),
        next_file_number: Some(next_file),
        // Largest sequence number persisted in the copy's tables (the WALs add theirs).
        last_seq: Some(added.iter().map(|d| d.max_seq).max().unwrap_or(0)),
        added,
        removed: Vec::new(),
    };
    // Written and synced, directory synced, then CURRENT: the copy is complete once CURRENT
    // exists, so a crash during the backup leaves a directory that is plainly unfinished.
    manifest::install_new_manifest(vfs, dest, manifest_number, &snapshot)?;
    report.last_seq = last_seq;
    Ok(report)
}
