//! Versions: immutable snapshots of which table files are live at each level. The current
//! version is an `Arc<Version>` swapped under a short lock; readers clone the Arc and never
//! wait for compaction.

use crate::error::Result;
use crate::manifest::{FileDesc, VersionEdit, NUM_LEVELS};
use crate::sst::{Table, ValueKind};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use toondb_core::vfs::Vfs;

/// A live table file. When a compaction makes it obsolete, the file is deleted once the last
/// version (and iterator) referencing it is gone.
pub(crate) struct FileMeta {
    pub desc: FileDesc,
    pub table: Arc<Table>,
    pub path: PathBuf,
    pub obsolete: AtomicBool,
    pub vfs: Arc<dyn Vfs>,
}

impl std::fmt::Debug for FileMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileMeta")
            .field("desc", &self.desc)
            .finish()
    }
}

impl Drop for FileMeta {
    fn drop(&mut self) {
        if self.obsolete.load(Ordering::Acquire) {
            // Best effort: a leftover file is removed at the next open.
            let _ = self.vfs.remove(&self.path);
        }
    }
}

impl FileMeta {
    pub(crate) fn overlaps(&self, lo: Option<&[u8]>, hi: Option<&[u8]>) -> bool {
        lo.is_none_or(|lo| self.desc.largest.as_slice() >= lo)
            && hi.is_none_or(|hi| self.desc.smallest.as_slice() <= hi)
    }
    pub(crate) fn contains(&self, key: &[u8]) -> bool {
        self.desc.smallest.as_slice() <= key && key <= self.desc.largest.as_slice()
    }
}

/// The set of live files. L0 is ordered newest first (files may overlap); deeper levels are
/// sorted by smallest key and do not overlap.
#[derive(Debug, Default, Clone)]
pub(crate) struct Version {
    pub levels: [Vec<Arc<FileMeta>>; NUM_LEVELS],
}

impl Version {
    /// Applies an edit; `new_files` holds opened tables for every added file.
    pub(crate) fn apply(
        &self,
        edit: &VersionEdit,
        new_files: &HashMap<u64, Arc<FileMeta>>,
    ) -> Version {
        let mut v = self.clone();
        for (level, number) in &edit.removed {
            v.levels[*level as usize].retain(|f| f.desc.number != *number);
        }
        for d in &edit.added {
            if let Some(f) = new_files.get(&d.number) {
                v.levels[d.level as usize].push(f.clone());
            }
        }
        v.levels[0].sort_by_key(|f| std::cmp::Reverse(f.desc.number));
        for l in v.levels.iter_mut().skip(1) {
            l.sort_by(|a, b| a.desc.smallest.cmp(&b.desc.smallest));
        }
        v
    }

    /// Newest entry for `key` with seq <= `snap` across all levels.
    pub(crate) fn get(&self, key: &[u8], snap: u64) -> Result<Option<(u64, ValueKind, Vec<u8>)>> {
        for f in &self.levels[0] {
            // `Table::get` consults the bloom filter itself.
            if f.contains(key) && f.desc.min_seq <= snap {
                if let Some(hit) = f.table.get(key, snap)? {
                    return Ok(Some(hit));
                }
            }
        }
        for level in self.levels.iter().skip(1) {
            let i = level.partition_point(|f| f.desc.largest.as_slice() < key);
            if let Some(f) = level.get(i) {
                if f.desc.smallest.as_slice() <= key {
                    if let Some(hit) = f.table.get(key, snap)? {
                        return Ok(Some(hit));
                    }
                }
            }
        }
        Ok(None)
    }

    pub(crate) fn overlapping(
        &self,
        level: usize,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
    ) -> Vec<Arc<FileMeta>> {
        self.levels[level]
            .iter()
            .filter(|f| f.overlaps(lo, hi))
            .cloned()
            .collect()
    }

    pub(crate) fn level_bytes(&self, level: usize) -> u64 {
        self.levels[level].iter().map(|f| f.desc.size).sum()
    }

    /// A full description, written as the first record of a new manifest.
    pub(crate) fn all_files(&self) -> Vec<FileDesc> {
        let mut out = Vec::new();
        for (level, files) in self.levels.iter().enumerate() {
            for f in files {
                let mut d = f.desc.clone();
                d.level = level as u8;
                out.push(d);
            }
        }
        out
    }
}
