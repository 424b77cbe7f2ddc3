//! Background work: flushing frozen memtables to L0 tables and leveled compaction.

use crate::engine::{BgMsg, Inner, SuperVersion};
use crate::error::{Error, Result};
use crate::files;
use crate::iter::{InternalIter, MergeIter, TableCursor};
use crate::manifest::{FileDesc, VersionEdit, NUM_LEVELS};
use crate::memtable::MemTable;
use crate::options::{Options, SyncMode};
use crate::sst::{BlockCache, SstBuilder, SstOptions, Table, ValueKind};
use crate::version::{FileMeta, Version};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use toondb_core::vfs::Vfs;

/// Starts the flush and compaction threads.
pub(crate) fn spawn_background(inner: &Arc<Inner>) -> Result<Vec<JoinHandle<()>>> {
    if inner.opts.read_only {
        // Nothing to flush, compact or sync.
        return Ok(Vec::new());
    }
    let (ftx, frx) = crossbeam_channel::unbounded::<BgMsg>();
    let (ctx, crx) = crossbeam_channel::unbounded::<BgMsg>();
    *inner.flush_tx.lock() = Some(ftx);
    *inner.compact_tx.lock() = Some(ctx);
    let mut threads = Vec::new();
    let fi = inner.clone();
    threads.push(
        std::thread::Builder::new()
            .name("toondb-flush".into())
            .spawn(move || {
                while let Ok(BgMsg::Work) = frx.recv() {
                    if fi.poison_reason().is_some() {
                        continue;
                    }
                    if let Err(e) = flush_imms(&fi) {
                        fi.set_poison(format!("background flush failed: {e}"));
                    }
                }
            })
            .map_err(|e| Error::io(&inner.dir, e))?,
    );
    let ci = inner.clone();
    threads.push(
        std::thread::Builder::new()
            .name("toondb-compact".into())
            .spawn(move || {
                while let Ok(BgMsg::Work) = crx.recv() {
                    loop {
                        if ci.poison_reason().is_some() || ci.closed.load(Ordering::Acquire) {
                            break;
                        }
                        match maybe_compact(&ci) {
                            Ok(true) => continue,
                            Ok(false) => break,
                            Err(e) => {
                                ci.set_poison(format!("background compaction failed: {e}"));
                                break;
                            }
                        }
                    }
                }
            })
            .map_err(|e| Error::io(&inner.dir, e))?,
    );
    if inner.opts.sync == SyncMode::Normal {
        // The fsync timer: commits only hand bytes to the OS, so without it writes followed
        // by idle time would stay unsynced until rotation or close.
        let si = inner.clone();
        let interval = Duration::from_millis(inner.opts.normal_sync_interval_ms.max(1));
        threads.push(
            std::thread::Builder::new()
                .name("toondb-wal-sync".into())
                .spawn(move || loop {
                    {
                        let mut g = si.bg_mu.lock();
                        if si.closed.load(Ordering::Acquire) {
                            return;
                        }
                        si.bg_cv.wait_for(&mut g, interval);
                    }
                    if si.closed.load(Ordering::Acquire) {
                        return;
                    }
                    if si.poison_reason().is_none() {
                        // A failure poisons the engine; the next commit reports it.
                        let _ = si.sync_if_due();
                    }
                })
                .map_err(|e| Error::io(&inner.dir, e))?,
        );
    }
    // Recovery may have left work (e.g. many L0 files).
    inner.signal(&inner.compact_tx);
    Ok(threads)
}

/// What writing a table needs (available both to the engine and to recovery).
pub(crate) struct TableCtx<'a> {
    pub vfs: &'a Arc<dyn Vfs>,
    pub dir: &'a Path,
    pub opts: &'a Options,
    pub cache: &'a Arc<BlockCache>,
}

impl Inner {
    pub(crate) fn table_ctx(&self) -> TableCtx<'_> {
        TableCtx {
            vfs: &self.vfs,
            dir: &self.dir,
            opts: &self.opts,
            cache: &self.cache,
        }
    }
}

/// Builds one table from entries fed in internal order.
pub(crate) struct TableWriter {
    builder: SstBuilder,
    number: u64,
    path: PathBuf,
}

impl TableWriter {
    pub(crate) fn create(inner: &TableCtx<'_>, number: u64) -> Result<TableWriter> {
        let path = files::table(inner.dir, number);
        let file = inner.vfs.create(&path).map_err(|e| Error::io(&path, e))?;
        let opts = SstOptions {
            block_size: inner.opts.block_size,
            bloom_bits_per_key: inner.opts.bloom_bits_per_key,
            ..SstOptions::default()
        };
        Ok(TableWriter {
            builder: SstBuilder::new(file, path.clone(), opts),
            number,
            path,
        })
    }
    pub(crate) fn add(
        &mut self,
        key: &[u8],
        seq: u64,
        kind: ValueKind,
        value: &[u8],
    ) -> Result<()> {
        Ok(self.builder.add(key, seq, kind, value)?)
    }
    pub(crate) fn estimated_size(&self) -> u64 {
        self.builder.estimated_size()
    }
    /// Finishes (syncs) the file and opens it for reading.
    pub(crate) fn finish(self, inner: &TableCtx<'_>, level: u8) -> Result<Arc<FileMeta>> {
        let props = self.builder.finish()?;
        let table = Table::open(
            inner.vfs.as_ref(),
            &self.path,
            self.number,
            Some(inner.cache.clone()),
        )?;
        Ok(Arc::new(FileMeta {
            desc: FileDesc {
                level,
                number: self.number,
                size: props.file_size,
                smallest: props.smallest_key,
                largest: props.largest_key,
                min_seq: props.min_seq,
                max_seq: props.max_seq,
            },
            table,
            path: self.path,
            obsolete: AtomicBool::new(false),
            vfs: inner.vfs.clone(),
        }))
    }
}

/// Writes a memtable as a level-0 table (synced, directory synced). `None` if it is empty.
pub(crate) fn write_memtable(
    inner: &TableCtx<'_>,
    mem: &MemTable,
    number: u64,
) -> Result<Option<Arc<FileMeta>>> {
    if mem.is_empty() {
        return Ok(None);
    }
    let mut w = TableWriter::create(inner, number)?;
    let path = w.path.clone();
    let r = (|| {
        mem.for_each(|k, s, kind, v| w.add(k, s, kind, v))?;
        let f = w.finish(inner, 0)?;
        inner
            .vfs
            .sync_dir(inner.dir)
            .map_err(|e| Error::io(inner.dir, e))?;
        Ok(f)
    })();
    if r.is_err() {
        let _ = inner.vfs.remove(&path);
    }
    r.map(Some)
}

/// Flushes every frozen memtable, oldest first, recording each in the manifest before its WAL
/// is deleted.
pub(crate) fn flush_imms(inner: &Inner) -> Result<()> {
    let _g = inner.flush_lock.lock();
    loop {
        inner.check_writable().or_else(|e| match e {
            Error::Closed => Ok(()),
            e => Err(e),
        })?;
        let sv = inner.current_sv();
        let Some(imm) = sv.imms.last().cloned() else {
            return Ok(());
        };
        let next_log = if sv.imms.len() >= 2 {
            sv.imms[sv.imms.len() - 2].wal_number
        } else {
            sv.mem.wal_number
        };
        let number = inner.vs.lock().new_file_number();
        let file = write_memtable(&inner.table_ctx(), &imm, number)?;
        let mut edit = VersionEdit {
            log_number: Some(next_log),
            last_seq: Some(imm.max_seq()),
            ..VersionEdit::default()
        };
        let mut new_files = HashMap::new();
        if let Some(f) = &file {
            edit.added.push(f.desc.clone());
            new_files.insert(f.desc.number, f.clone());
        }
        {
            let mut vs = inner.vs.lock();
            if let Err(e) = vs.log_and_apply(edit, &new_files) {
                inner.set_poison(format!("manifest write failed: {e}"));
                return Err(e);
            }
            // One swap removes the memtable and adds its table, so a reader always finds the
            // memtable's entries in exactly one of the two.
            inner.sv.update(|cur| SuperVersion {
                mem: cur.mem.clone(),
                imms: cur
                    .imms
                    .iter()
                    .filter(|m| !Arc::ptr_eq(m, &imm))
                    .cloned()
                    .collect(),
                version: vs.current.clone(),
            });
        }
        // The memtable is durable in a table: its WAL (and any older) is no longer needed.
        if let Ok(names) = inner.vfs.list_dir(&inner.dir) {
            for n in names {
                if let Some(files::FileKind::Wal(w)) = files::classify(&n) {
                    if w < next_log {
                        let _ = inner.vfs.remove(&inner.dir.join(&n));
                    }
                }
            }
        }
        inner.stats.flushes.fetch_add(1, Ordering::Relaxed);
        inner.notify_bg();
        inner.signal(&inner.compact_tx);
    }
}

struct Compaction {
    level: usize,
    /// `level + 1`, or `level` itself when compacting the last level in place.
    out_level: usize,
    inputs: [Vec<Arc<FileMeta>>; 2],
    allow_move: bool,
}

fn key_range(files: &[Arc<FileMeta>]) -> Option<(Vec<u8>, Vec<u8>)> {
    let lo = files.iter().map(|f| f.desc.smallest.clone()).min()?;
    let hi = files.iter().map(|f| f.desc.largest.clone()).max()?;
    Some((lo, hi))
}

fn level_target(inner: &Inner, level: usize) -> u64 {
    let mut t = inner.opts.l1_target_bytes;
    for _ in 1..level {
        t = t.saturating_mul(inner.opts.level_size_ratio);
    }
    t
}

fn pick(inner: &Inner, v: &Version, pointers: &mut [Vec<u8>; NUM_LEVELS]) -> Option<Compaction> {
    // Score each level (L0 by file count, deeper levels by size against their target) and
    // compact the most urgent one whose score reaches 1.
    let mut best: Option<(f64, usize)> = None;
    for level in 0..NUM_LEVELS - 1 {
        let score = if level == 0 {
            v.levels[0].len() as f64 / inner.opts.l0_compaction_trigger as f64
        } else {
            v.level_bytes(level) as f64 / level_target(inner, level) as f64
        };
        let due = if level == 0 {
            score >= 1.0
        } else {
            score > 1.0
        };
        if due && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, level));
        }
    }
    let (_, level) = best?;
    if level == 0 {
        let l0 = v.levels[0].clone();
        let (lo, hi) = key_range(&l0)?;
        let l1 = v.overlapping(1, Some(&lo), Some(&hi));
        return Some(Compaction {
            level: 0,
            out_level: 1,
            inputs: [l0, l1],
            allow_move: false,
        });
    }
    // Round-robin over the level's files so every key range gets compacted in turn.
    let files = &v.levels[level];
    let pointer = &mut pointers[level];
    let f = files
        .iter()
        .find(|f| f.desc.smallest > *pointer)
        .or_else(|| files.first())?
        .clone();
    *pointer = f.desc.largest.clone();
    let next = v.overlapping(level + 1, Some(&f.desc.smallest), Some(&f.desc.largest));
    Some(Compaction {
        level,
        out_level: level + 1,
        inputs: [vec![f], next],
        allow_move: true,
    })
}

/// Runs one automatic compaction if one is due. Returns whether it did work.
pub(crate) fn maybe_compact(inner: &Inner) -> Result<bool> {
    let mut pointers = inner.compaction_lock.lock();
    let v = inner.vs.lock().current.clone();
    let Some(c) = pick(inner, &v, &mut pointers) else {
        return Ok(false);
    };
    run(inner, c)?;
    Ok(true)
}

/// Manual compaction of `[lo, hi]` down to the deepest level holding overlapping data.
pub(crate) fn compact_range(inner: &Inner, lo: Option<&[u8]>, hi: Option<&[u8]>) -> Result<()> {
    let _pointers = inner.compaction_lock.lock();
    let v = inner.vs.lock().current.clone();
    let deepest = (0..NUM_LEVELS)
        .rev()
        .find(|&l| !v.overlapping(l, lo, hi).is_empty());
    let Some(deepest) = deepest else {
        return Ok(());
    };
    // Push every level down to deepest + 1 (the last level is rewritten in place), so the
    // output is at a level with nothing below it: shadowed versions and tombstones can go.
    for level in 0..=deepest {
        inner.check_writable()?;
        let v = inner.vs.lock().current.clone();
        let inputs0 = if level == 0 {
            // L0 files overlap each other: always take all of them so no older version of
            // a key stays above a newer one.
            v.levels[0].clone()
        } else {
            v.overlapping(level, lo, hi)
        };
        let Some((l, h)) = key_range(&inputs0) else {
            continue;
        };
        let out_level = (level + 1).min(NUM_LEVELS - 1);
        let inputs1 = if out_level == level {
            Vec::new()
        } else {
            v.overlapping(out_level, Some(&l), Some(&h))
        };
        run(
            inner,
            Compaction {
                level,
                out_level,
                inputs: [inputs0, inputs1],
                allow_move: false,
            },
        )?;
    }
    Ok(())
}

/// Whether no level deeper than `out_level` may hold `key`.
fn is_base_level(v: &Version, out_level: usize, key: &[u8]) -> bool {
    for level in out_level + 1..NUM_LEVELS {
        let files = &v.levels[level];
        let i = files.partition_point(|f| f.desc.largest.as_slice() < key);
        if files
            .get(i)
            .is_some_and(|f| f.desc.smallest.as_slice() <= key)
        {
            return false;
        }
    }
    true
}

fn run(inner: &Inner, c: Compaction) -> Result<()> {
    let out_level = c.out_level;
    let mut edit = VersionEdit::default();
    let mut new_files = HashMap::new();
    for (level, files) in [(c.level, &c.inputs[0]), (c.out_level, &c.inputs[1])] {
        for f in files {
            edit.removed.push((level as u8, f.desc.number));
        }
    }
    if c.allow_move && c.inputs[0].len() == 1 && c.inputs[1].is_empty() {
        let f = &c.inputs[0][0];
        let mut d = f.desc.clone();
        d.level = out_level as u8;
        edit.added.push(d);
        new_files.insert(f.desc.number, f.clone());
        return install(inner, edit, &new_files, 0, 0);
    }
    let v = inner.vs.lock().current.clone();
    let smallest_snap = inner.snaps.oldest(&inner.visible);
    let mut children: Vec<Box<dyn InternalIter>> = Vec::new();
    let mut bytes_in = 0;
    for f in c.inputs.iter().flatten() {
        bytes_in += f.desc.size;
        children.push(Box::new(TableCursor::new(f.clone())));
    }
    let mut merge = MergeIter::new(children);
    merge.seek_to_first()?;
    let mut outputs: Vec<Arc<FileMeta>> = Vec::new();
    let mut cur: Option<TableWriter> = None;
    let mut last_key: Option<Vec<u8>> = None;
    let mut last_seq_for_key = u64::MAX;
    let result = (|| -> Result<()> {
        while let Some(e) = merge.current() {
            let key = e.key();
            if last_key.as_deref() != Some(key) {
                last_key = Some(key.to_vec());
                last_seq_for_key = u64::MAX;
                // Split outputs only between user keys, so levels >= 1 never overlap.
                if cur
                    .as_ref()
                    .is_some_and(|w| w.estimated_size() >= inner.opts.target_file_size)
                {
                    if let Some(w) = cur.take() {
                        outputs.push(w.finish(&inner.table_ctx(), out_level as u8)?);
                    }
                }
            }
            let drop = if last_seq_for_key <= smallest_snap {
                // A newer version that every reader sees shadows this one.
                true
            } else {
                e.kind() == ValueKind::Delete
                    && e.seq() <= smallest_snap
                    && is_base_level(&v, out_level, key)
            };
            last_seq_for_key = e.seq();
            if !drop {
                if cur.is_none() {
                    let n = inner.vs.lock().new_file_number();
                    cur = Some(TableWriter::create(&inner.table_ctx(), n)?);
                }
                if let Some(w) = cur.as_mut() {
                    w.add(key, e.seq(), e.kind(), e.value())?;
                }
            }
            merge.next()?;
        }
        if let Some(w) = cur.take() {
            outputs.push(w.finish(&inner.table_ctx(), out_level as u8)?);
        }
        inner
            .vfs
            .sync_dir(&inner.dir)
            .map_err(|e| Error::io(&inner.dir, e))?;
        Ok(())
    })();
    if let Err(e) = result {
        for f in &outputs {
            f.obsolete.store(true, Ordering::Release);
        }
        return Err(e);
    }
    let mut bytes_out = 0;
    for f in &outputs {
        bytes_out += f.desc.size;
        let mut d = f.desc.clone();
        d.level = out_level as u8;
        edit.added.push(d);
        new_files.insert(f.desc.number, f.clone());
    }
    install(inner, edit, &new_files, bytes_in, bytes_out)
}

fn install(
    inner: &Inner,
    edit: VersionEdit,
    new_files: &HashMap<u64, Arc<FileMeta>>,
    bytes_in: u64,
    bytes_out: u64,
) -> Result<()> {
    {
        let mut vs = inner.vs.lock();
        if let Err(e) = vs.log_and_apply(edit, new_files) {
            // The edit may be on disk even though its fsync (or a later step) failed, so the
            // outputs may be referenced: never delete them here. The next open keeps them if
            // the edit is durable, and removes them (provably unreferenced) if it is not.
            inner.set_poison(format!("manifest write failed: {e}"));
            return Err(e);
        }
        inner.sv.update(|cur| SuperVersion {
            mem: cur.mem.clone(),
            imms: cur.imms.clone(),
            version: vs.current.clone(),
        });
    }
    inner.stats.compactions.fetch_add(1, Ordering::Relaxed);
    inner
        .stats
        .compaction_read
        .fetch_add(bytes_in, Ordering::Relaxed);
    inner
        .stats
        .compaction_written
        .fetch_add(bytes_out, Ordering::Relaxed);
    inner.notify_bg();
    Ok(())
}
