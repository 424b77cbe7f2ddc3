//! The table layer the engine uses. Everything about SST files goes through this module, so
//! the engine depends on `toondb-sstable` in exactly one place.
//!
//! TEMPORARY: until `toondb-sstable` lands this is a simple stand-in with the same API (whole
//! table kept in memory, records framed like the WAL).

use crate::log;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use toondb_core::vfs::{Vfs, WritableFile};

pub(crate) use fallback::*;

#[allow(dead_code, missing_docs)]
mod fallback {
    use super::*;

    /// Entry kind.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[repr(u8)]
    pub enum ValueKind {
        /// Tombstone.
        Delete = 0,
        /// Value.
        Put = 1,
    }

    /// Table-layer error.
    #[derive(Debug, thiserror::Error)]
    #[non_exhaustive]
    pub enum SstError {
        /// Damaged content.
        #[error("corruption in {path} at {offset}: {detail}")]
        Corruption { path: PathBuf, offset: u64, detail: String },
        /// I/O error.
        #[error("io error on {path}: {source}")]
        Io { path: PathBuf, source: std::io::Error },
        /// Keys out of order.
        #[error("out of order: {detail}")]
        OutOfOrder { detail: String },
    }

    /// Builder options.
    #[derive(Clone, Debug, Default)]
    pub struct SstOptions {
        pub block_size: usize,
        pub bloom_bits_per_key: usize,
        pub restart_interval: usize,
    }

    #[derive(Clone, Debug)]
    pub struct TableProps {
        pub smallest_key: Vec<u8>,
        pub largest_key: Vec<u8>,
        pub num_entries: u64,
        pub num_deletes: u64,
        pub min_seq: u64,
        pub max_seq: u64,
        pub file_size: u64,
    }

    #[derive(Debug, Clone, Copy, Default)]
    pub struct CacheStats {
        pub hits: u64,
        pub misses: u64,
        pub usage_bytes: u64,
        pub capacity_bytes: u64,
    }

    #[derive(Debug)]
    pub struct BlockCache {
        cap: usize,
        hits: AtomicU64,
    }
    impl BlockCache {
        pub fn new(capacity_bytes: usize) -> Arc<Self> {
            Arc::new(BlockCache { cap: capacity_bytes, hits: AtomicU64::new(0) })
        }
        pub fn stats(&self) -> CacheStats {
            CacheStats {
                hits: self.hits.load(Ordering::Relaxed),
                misses: 0,
                usage_bytes: 0,
                capacity_bytes: self.cap as u64,
            }
        }
    }

    type Ent = (Vec<u8>, u64, ValueKind, Vec<u8>);

    pub struct SstBuilder {
        file: Box<dyn WritableFile>,
        path: PathBuf,
        buf: Vec<u8>,
        last: Option<(Vec<u8>, u64)>,
        props: TableProps,
    }
    impl SstBuilder {
        pub fn new(file: Box<dyn WritableFile>, path: PathBuf, _opts: SstOptions) -> Self {
            SstBuilder {
                file,
                path,
                buf: Vec::new(),
                last: None,
                props: TableProps {
                    smallest_key: Vec::new(),
                    largest_key: Vec::new(),
                    num_entries: 0,
                    num_deletes: 0,
                    min_seq: u64::MAX,
                    max_seq: 0,
                    file_size: 0,
                },
            }
        }
        pub fn add(&mut self, user_key: &[u8], seq: u64, kind: ValueKind, value: &[u8]) -> Result<(), SstError> {
            if let Some((k, s)) = &self.last {
                if (k.as_slice(), std::cmp::Reverse(*s)) >= (user_key, std::cmp::Reverse(seq)) {
                    return Err(SstError::OutOfOrder { detail: "order".into() });
                }
            }
            let mut p = Vec::new();
            p.push(kind as u8);
            p.extend_from_slice(&seq.to_le_bytes());
            p.extend_from_slice(&(user_key.len() as u32).to_le_bytes());
            p.extend_from_slice(user_key);
            p.extend_from_slice(value);
            log::frame(&p, &mut self.buf);
            if self.props.num_entries == 0 {
                self.props.smallest_key = user_key.to_vec();
            }
            self.props.largest_key = user_key.to_vec();
            self.props.num_entries += 1;
            if kind == ValueKind::Delete {
                self.props.num_deletes += 1;
            }
            self.props.min_seq = self.props.min_seq.min(seq);
            self.props.max_seq = self.props.max_seq.max(seq);
            self.last = Some((user_key.to_vec(), seq));
            Ok(())
        }
        pub fn estimated_size(&self) -> u64 {
            self.buf.len() as u64
        }
        pub fn num_entries(&self) -> u64 {
            self.props.num_entries
        }
        pub fn finish(mut self) -> Result<TableProps, SstError> {
            let io = |e| SstError::Io { path: self.path.clone(), source: e };
            self.file.append(&self.buf).map_err(io)?;
            self.file.sync().map_err(|e| SstError::Io { path: self.path.clone(), source: e })?;
            self.props.file_size = self.buf.len() as u64;
            Ok(self.props)
        }
    }

    pub struct Table {
        path: PathBuf,
        ents: Vec<Ent>,
        props: TableProps,
        raw: Vec<u8>,
    }
    impl Table {
        pub fn open(vfs: &dyn Vfs, path: &Path, _file_id: u64, _cache: Option<Arc<BlockCache>>) -> Result<Arc<Table>, SstError> {
            let raw = vfs.read_all(path).map_err(|e| SstError::Io { path: path.to_path_buf(), source: e })?;
            let parsed = log::parse(&raw, path, false).map_err(|e| SstError::Corruption {
                path: path.to_path_buf(),
                offset: 0,
                detail: e.to_string(),
            })?;
            let mut ents = Vec::new();
            for (off, p) in parsed.records {
                let bad = || SstError::Corruption { path: path.to_path_buf(), offset: off, detail: "bad entry".into() };
                if p.len() < 13 {
                    return Err(bad());
                }
                let kind = match p[0] {
                    0 => ValueKind::Delete,
                    1 => ValueKind::Put,
                    _ => return Err(bad()),
                };
                let mut s = [0u8; 8];
                s.copy_from_slice(&p[1..9]);
                let klen = u32::from_le_bytes([p[9], p[10], p[11], p[12]]) as usize;
                let key = p.get(13..13 + klen).ok_or_else(bad)?;
                ents.push((key.to_vec(), u64::from_le_bytes(s), kind, p[13 + klen..].to_vec()));
            }
            let props = TableProps {
                smallest_key: ents.first().map(|e| e.0.clone()).unwrap_or_default(),
                largest_key: ents.last().map(|e| e.0.clone()).unwrap_or_default(),
                num_entries: ents.len() as u64,
                num_deletes: ents.iter().filter(|e| e.2 == ValueKind::Delete).count() as u64,
                min_seq: ents.iter().map(|e| e.1).min().unwrap_or(0),
                max_seq: ents.iter().map(|e| e.1).max().unwrap_or(0),
                file_size: raw.len() as u64,
            };
            Ok(Arc::new(Table { path: path.to_path_buf(), ents, props, raw }))
        }
        pub fn props(&self) -> &TableProps {
            &self.props
        }
        pub fn path(&self) -> &Path {
            &self.path
        }
        pub fn may_contain(&self, _k: &[u8]) -> bool {
            true
        }
        fn lower(&self, key: &[u8], seq: u64) -> usize {
            self.ents.partition_point(|e| (e.0.as_slice(), std::cmp::Reverse(e.1)) < (key, std::cmp::Reverse(seq)))
        }
        pub fn get(&self, user_key: &[u8], snapshot_seq: u64) -> Result<Option<(u64, ValueKind, Vec<u8>)>, SstError> {
            let i = self.lower(user_key, snapshot_seq);
            Ok(self.ents.get(i).filter(|e| e.0 == user_key).map(|e| (e.1, e.2, e.3.clone())))
        }
        pub fn iter(self: &Arc<Self>) -> TableIter {
            TableIter { t: self.clone(), i: None }
        }
        pub fn verify(&self) -> Result<(), SstError> {
            log::parse(&self.raw, &self.path, false).map(|_| ()).map_err(|e| SstError::Corruption {
                path: self.path.clone(),
                offset: 0,
                detail: e.to_string(),
            })
        }
    }

    pub struct TableIter {
        t: Arc<Table>,
        i: Option<usize>,
    }
    impl TableIter {
        fn set(&mut self, i: Option<usize>) {
            self.i = i.filter(|&i| i < self.t.ents.len());
        }
        pub fn seek_to_first(&mut self) -> Result<(), SstError> {
            self.set(Some(0));
            Ok(())
        }
        pub fn seek_to_last(&mut self) -> Result<(), SstError> {
            self.set(self.t.ents.len().checked_sub(1));
            Ok(())
        }
        pub fn seek(&mut self, key: &[u8]) -> Result<(), SstError> {
            let i = self.t.lower(key, u64::MAX);
            self.set(Some(i));
            Ok(())
        }
        pub fn seek_for_prev(&mut self, key: &[u8]) -> Result<(), SstError> {
            let i = self.t.ents.partition_point(|e| e.0.as_slice() <= key);
            self.set(i.checked_sub(1));
            Ok(())
        }
        pub fn next(&mut self) -> Result<(), SstError> {
            let i = self.i.map(|i| i + 1);
            self.set(i);
            Ok(())
        }
        pub fn prev(&mut self) -> Result<(), SstError> {
            let i = self.i.and_then(|i| i.checked_sub(1));
            self.set(i);
            Ok(())
        }
        pub fn valid(&self) -> bool {
            self.i.is_some()
        }
        fn e(&self) -> &Ent {
            &self.t.ents[self.i.unwrap_or(0)]
        }
        pub fn user_key(&self) -> &[u8] {
            &self.e().0
        }
        pub fn seq(&self) -> u64 {
            self.e().1
        }
        pub fn kind(&self) -> ValueKind {
            self.e().2
        }
        pub fn value(&self) -> &[u8] {
            &self.e().3
        }
    }
}
