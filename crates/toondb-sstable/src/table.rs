//! Reading a table: open and verify the metadata, point lookups, and a bidirectional
//! two-level iterator (index block -> data blocks).

use crate::block::{self, Block, BlockIter, FlatIndex};
use crate::bloom::Bloom;
use crate::cache::BlockCache;
use crate::codec::{self, BlockHandle, DecodeError, FOOTER_LEN};
use crate::{SstError, TableProps, ValueKind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toondb_core::vfs::{RandomAccessFile, Vfs};

/// An open, immutable table. Cheap to share (`Arc<Table>`); `Send + Sync`.
pub struct Table {
    file: Arc<dyn RandomAccessFile>,
    path: PathBuf,
    file_id: u64,
    cache: Option<Arc<BlockCache>>,
    index: Block,
    /// The index decoded for point lookups (`None`: search `index` itself).
    flat_index: Option<FlatIndex>,
    index_handle: BlockHandle,
    bloom: Bloom,
    props: TableProps,
    num_data_blocks: u64,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("path", &self.path)
            .field("file_id", &self.file_id)
            .field("props", &self.props)
            .finish()
    }
}

fn corruption(path: &Path, offset: u64, detail: impl Into<String>) -> SstError {
    SstError::Corruption {
        path: path.to_path_buf(),
        offset,
        detail: detail.into(),
    }
}

fn decode_err(path: &Path, base: u64, e: DecodeError) -> SstError {
    corruption(path, base.saturating_add(e.offset), e.detail)
}

/// Reads `handle`'s body and trailer, which must end at or before `limit`, and verifies the
/// checksum. Allocates only after the bounds check, so a forged size cannot exhaust memory.
fn read_block_body(
    file: &dyn RandomAccessFile,
    path: &Path,
    handle: BlockHandle,
    limit: u64,
    what: &str,
) -> Result<Vec<u8>, SstError> {
    let in_bounds = handle.end_with_trailer().is_some_and(|end| end <= limit);
    let len = usize::try_from(handle.size)
        .ok()
        .and_then(|s| s.checked_add(codec::BLOCK_TRAILER_LEN));
    let Some(len) = len.filter(|_| in_bounds) else {
        return Err(corruption(
            path,
            handle.offset,
            format!(
                "{what} block handle (offset {}, size {}) lies outside the {limit} bytes available",
                handle.offset, handle.size
            ),
        ));
    };
    let mut raw = vec![0u8; len];
    file.read_exact_at(handle.offset, &mut raw)
        .map_err(|source| SstError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let body_len = codec::check_block(&raw).map_err(|e| {
        decode_err(
            path,
            handle.offset,
            DecodeError {
                offset: e.offset,
                detail: format!("{what} block: {}", e.detail),
            },
        )
    })?;
    raw.truncate(body_len);
    Ok(raw)
}

impl Table {
    /// Opens `path`, reading and verifying the footer, index, bloom filter and properties.
    /// `file_id` identifies the file in `cache` (it must be unique among the tables sharing
    /// the cache).
    pub fn open(
        vfs: &dyn Vfs,
        path: &Path,
        file_id: u64,
        cache: Option<Arc<BlockCache>>,
    ) -> Result<Arc<Table>, SstError> {
        let io = |source| SstError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = vfs.open_read(path).map_err(io)?;
        let len = file.len();
        if len < FOOTER_LEN as u64 {
            return Err(corruption(
                path,
                0,
                format!("file of {len} bytes is shorter than the {FOOTER_LEN}-byte footer"),
            ));
        }
        let footer_at = len - FOOTER_LEN as u64;
        let mut fbuf = [0u8; FOOTER_LEN];
        file.read_exact_at(footer_at, &mut fbuf).map_err(io)?;
        let footer = codec::decode_footer(&fbuf).map_err(|e| decode_err(path, footer_at, e))?;

        let index_body = read_block_body(&*file, path, footer.index, footer_at, "index")?;
        let index =
            Block::new(index_body.into()).map_err(|e| decode_err(path, footer.index.offset, e))?;
        let bloom_body = read_block_body(&*file, path, footer.bloom, footer_at, "bloom")?;
        let bloom =
            Bloom::decode(&bloom_body).map_err(|e| decode_err(path, footer.bloom.offset, e))?;
        let props_body = read_block_body(&*file, path, footer.props, footer_at, "properties")?;
        let (props, num_data_blocks) = codec::decode_props(&props_body, len)
            .map_err(|e| decode_err(path, footer.props.offset, e))?;
        Ok(Arc::new(Table {
            file,
            path: path.to_path_buf(),
            file_id,
            cache,
            flat_index: FlatIndex::build(&index),
            index,
            index_handle: footer.index,
            bloom,
            props,
            num_data_blocks,
        }))
    }

    /// The table's properties (`file_size` is the file's length).
    pub fn props(&self) -> &TableProps {
        &self.props
    }

    /// The file this table was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The id keying this table's blocks in the cache.
    pub fn file_id(&self) -> u64 {
        self.file_id
    }

    /// False only if no entry of `user_key` is in the table (bloom filter).
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        self.bloom.may_contain(user_key)
    }

    /// The newest entry for `user_key` with `seq <= snapshot_seq`; a Delete entry is returned
    /// as such (with an empty value).
    pub fn get(
        &self,
        user_key: &[u8],
        snapshot_seq: u64,
    ) -> Result<Option<(u64, ValueKind, Vec<u8>)>, SstError> {
        if !self.may_contain(user_key) {
            return Ok(None);
        }
        let trailer = seek_trailer(snapshot_seq);
        // Point path: search the index (decoded at open, or the block in place; borrowed,
        // not cloned), then the one data block it names; no cursor, no key buffers.
        let h = match &self.flat_index {
            Some(ix) => match ix.seek(user_key, trailer) {
                Some(h) => h,
                None => return Ok(None),
            },
            None => {
                let Some(ih) = self
                    .index
                    .seek_point(user_key, trailer)
                    .map_err(|e| self.index_err(e))?
                else {
                    return Ok(None);
                };
                codec::get_handle(self.index.slice(ih.value)).map_err(|e| {
                    self.index_err(DecodeError {
                        offset: ih.offset as u64,
                        detail: format!("bad block handle: {}", e.detail),
                    })
                })?
            }
        };
        let b = self.data_block(h)?;
        match b
            .seek_point(user_key, trailer)
            .map_err(|e| decode_err(&self.path, h.offset, e))?
        {
            Some(hit) if hit.key_eq => {
                let (seq, kind) = split_trailer(hit.trailer);
                Ok(Some((seq, kind, b.slice(hit.value).to_vec())))
            }
            Some(_) => Ok(None),
            // The index promised an entry >= target in this block (its last key); a block
            // that disagrees is left to the cursor, which moves on exactly as iteration does.
            None => self.get_with_cursor(user_key, trailer),
        }
    }

    /// `get` through a full two-level cursor (the path for an index that disagrees with its
    /// data block).
    #[cold]
    fn get_with_cursor(
        &self,
        user_key: &[u8],
        trailer: u64,
    ) -> Result<Option<(u64, ValueKind, Vec<u8>)>, SstError> {
        let mut c = Cursor::new(self);
        c.seek(self, user_key, trailer)?;
        match &c.data {
            Some((d, _)) if d.valid() && d.key() == user_key => {
                let (seq, kind) = split_trailer(d.trailer());
                Ok(Some((seq, kind, d.value().to_vec())))
            }
            _ => Ok(None),
        }
    }

    /// An unpositioned iterator over all entries.
    pub fn iter(self: &Arc<Self>) -> TableIter {
        TableIter {
            cursor: Cursor::new(self),
            table: self.clone(),
        }
    }

    /// Reads every block from the file (bypassing the cache), checks every checksum, decodes
    /// every entry, and checks ordering, block contiguity, index keys, the entry count and
    /// that the bloom filter admits every key.
    pub fn verify(&self) -> Result<(), SstError> {
        let mut idx = BlockIter::new(self.index.clone());
        block::check_entries(&self.index).map_err(|e| self.index_err(e))?;
        idx.seek_to_first().map_err(|e| self.index_err(e))?;
        let mut expected_offset = 0u64;
        let mut entries = 0u64;
        let mut blocks = 0u64;
        while idx.valid() {
            let h = codec::get_handle(idx.value()).map_err(|e| self.index_err(e))?;
            if h.offset != expected_offset {
                return Err(corruption(
                    &self.path,
                    h.offset,
                    format!("data block expected at offset {expected_offset}"),
                ));
            }
            let body =
                read_block_body(&*self.file, &self.path, h, self.index_handle.offset, "data")?;
            let b = Block::new(body.into()).map_err(|e| decode_err(&self.path, h.offset, e))?;
            entries +=
                block::check_entries(&b).map_err(|e| decode_err(&self.path, h.offset, e))? as u64;
            let mut it = BlockIter::new(b.clone());
            it.seek_to_last()
                .map_err(|e| decode_err(&self.path, h.offset, e))?;
            if !it.valid() || it.key() != idx.key() || it.trailer() != idx.trailer() {
                return Err(corruption(
                    &self.path,
                    h.offset,
                    "data block's last key differs from its index entry",
                ));
            }
            self.check_bloom(&b, h.offset)?;
            expected_offset = h.end_with_trailer().unwrap_or(u64::MAX);
            blocks += 1;
            idx.next().map_err(|e| self.index_err(e))?;
        }
        if expected_offset != self.index_handle.offset {
            return Err(corruption(
                &self.path,
                expected_offset,
                "gap between the last data block and the index block",
            ));
        }
        if entries != self.props.num_entries || blocks != self.num_data_blocks {
            return Err(corruption(
                &self.path,
                self.index_handle.offset,
                format!(
                    "table holds {entries} entries in {blocks} blocks, properties say {} in {}",
                    self.props.num_entries, self.num_data_blocks
                ),
            ));
        }
        Ok(())
    }

    /// Checks that the bloom filter admits every key of a data block.
    fn check_bloom(&self, b: &Block, offset: u64) -> Result<(), SstError> {
        let mut it = BlockIter::new(b.clone());
        it.seek_to_first()
            .map_err(|e| decode_err(&self.path, offset, e))?;
        while it.valid() {
            if !self.may_contain(it.key()) {
                return Err(corruption(
                    &self.path,
                    offset + it.offset() as u64,
                    "bloom filter rejects a key the table holds",
                ));
            }
            it.next().map_err(|e| decode_err(&self.path, offset, e))?;
        }
        Ok(())
    }

    fn index_err(&self, e: DecodeError) -> SstError {
        decode_err(&self.path, self.index_handle.offset, e)
    }

    /// A data block, from the cache if possible.
    fn data_block(&self, h: BlockHandle) -> Result<Block, SstError> {
        if let Some(c) = &self.cache {
            if let Some(b) = c.get(self.file_id, h.offset) {
                return Ok(b);
            }
        }
        let body = read_block_body(&*self.file, &self.path, h, self.index_handle.offset, "data")?;
        let b = Block::new(body.into()).map_err(|e| decode_err(&self.path, h.offset, e))?;
        if let Some(c) = &self.cache {
            c.insert(self.file_id, h.offset, b.clone());
        }
        Ok(b)
    }
}

/// The trailer that seeks to the newest version with `seq <= snapshot`.
fn seek_trailer(snapshot: u64) -> u64 {
    (snapshot.min(codec::MAX_SEQ) << 8) | 0xff
}

fn split_trailer(t: u64) -> (u64, ValueKind) {
    // Every trailer was validated when its entry was decoded.
    codec::unpack_trailer(t).unwrap_or((t >> 8, ValueKind::Put))
}

/// Two-level position: index entry + data block cursor (with the block's file offset).
struct Cursor {
    index: BlockIter,
    data: Option<(BlockIter, u64)>,
}

impl Cursor {
    fn new(t: &Table) -> Self {
        Cursor {
            index: BlockIter::new(t.index.clone()),
            data: None,
        }
    }

    fn valid(&self) -> bool {
        self.data.as_ref().is_some_and(|(d, _)| d.valid())
    }

    fn data_err(&self, t: &Table, e: DecodeError) -> SstError {
        let base = self.data.as_ref().map_or(0, |(_, b)| *b);
        decode_err(&t.path, base, e)
    }

    /// Loads the block the index points at (the index must be valid).
    fn load(&mut self, t: &Table) -> Result<(), SstError> {
        let h = codec::get_handle(self.index.value()).map_err(|e| {
            t.index_err(DecodeError {
                offset: self.index.offset() as u64,
                detail: format!("bad block handle: {}", e.detail),
            })
        })?;
        let b = t.data_block(h)?;
        self.data = Some((BlockIter::new(b), h.offset));
        Ok(())
    }

    /// Runs a data-block step, mapping its error.
    fn step(
        &mut self,
        t: &Table,
        f: impl FnOnce(&mut BlockIter) -> Result<(), DecodeError>,
    ) -> Result<(), SstError> {
        if let Some((d, _)) = self.data.as_mut() {
            if let Err(e) = f(d) {
                return Err(self.data_err(t, e));
            }
        }
        Ok(())
    }

    /// Moves forward over exhausted blocks until an entry or the end.
    fn skip_forward(&mut self, t: &Table) -> Result<(), SstError> {
        while !self.valid() {
            if !self.index.valid() {
                self.data = None;
                return Ok(());
            }
            self.index.next().map_err(|e| t.index_err(e))?;
            if !self.index.valid() {
                self.data = None;
                return Ok(());
            }
            self.load(t)?;
            self.step(t, |d| d.seek_to_first())?;
        }
        Ok(())
    }

    fn skip_backward(&mut self, t: &Table) -> Result<(), SstError> {
        while !self.valid() {
            if !self.index.valid() {
                self.data = None;
                return Ok(());
            }
            self.index.prev().map_err(|e| t.index_err(e))?;
            if !self.index.valid() {
                self.data = None;
                return Ok(());
            }
            self.load(t)?;
            self.step(t, |d| d.seek_to_last())?;
        }
        Ok(())
    }

    fn seek_to_first(&mut self, t: &Table) -> Result<(), SstError> {
        self.data = None;
        self.index.seek_to_first().map_err(|e| t.index_err(e))?;
        if self.index.valid() {
            self.load(t)?;
            self.step(t, |d| d.seek_to_first())?;
        }
        self.skip_forward(t)
    }

    fn seek_to_last(&mut self, t: &Table) -> Result<(), SstError> {
        self.data = None;
        self.index.seek_to_last().map_err(|e| t.index_err(e))?;
        if self.index.valid() {
            self.load(t)?;
            self.step(t, |d| d.seek_to_last())?;
        }
        self.skip_backward(t)
    }

    /// First entry >= (key, trailer) in internal order.
    fn seek(&mut self, t: &Table, key: &[u8], trailer: u64) -> Result<(), SstError> {
        self.data = None;
        self.index.seek(key, trailer).map_err(|e| t.index_err(e))?;
        if self.index.valid() {
            self.load(t)?;
            self.step(t, |d| d.seek(key, trailer))?;
        }
        self.skip_forward(t)
    }

    fn next(&mut self, t: &Table) -> Result<(), SstError> {
        if !self.valid() {
            return Ok(());
        }
        self.step(t, |d| d.next())?;
        self.skip_forward(t)
    }

    fn prev(&mut self, t: &Table) -> Result<(), SstError> {
        if !self.valid() {
            return Ok(());
        }
        self.step(t, |d| d.prev())?;
        self.skip_backward(t)
    }
}

/// A bidirectional iterator over a table's entries in (user key ascending, sequence
/// descending) order. It owns an `Arc<Table>`, so it is `'static` and `Send`.
///
/// Accessors return empty/zero values when the iterator is not [`valid`](TableIter::valid).
/// After an error the iterator is invalid until repositioned.
///
/// ```
/// use std::path::Path;
/// use toondb_core::vfs::{MemVfs, Vfs};
/// use toondb_sstable::{SstBuilder, SstOptions, Table, ValueKind};
///
/// let vfs = MemVfs::new();
/// let path = Path::new("t.sst");
/// let mut b = SstBuilder::new(vfs.create(path)?, path.to_path_buf(), SstOptions::default());
/// for (k, seq) in [(b"a", 3), (b"a", 1), (b"b", 2)] {
///     b.add(k, seq, ValueKind::Put, b"v")?;
/// }
/// b.finish()?;
/// let table = Table::open(&vfs, path, 1, None)?;
/// let mut it = table.iter();
/// it.seek_for_prev(b"a")?; // oldest version of the largest key <= "a"
/// assert_eq!((it.user_key(), it.seq()), (&b"a"[..], 1));
/// it.next()?;
/// assert_eq!((it.user_key(), it.seq()), (&b"b"[..], 2));
/// it.next()?;
/// assert!(!it.valid());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TableIter {
    table: Arc<Table>,
    cursor: Cursor,
}

impl TableIter {
    fn guard(&mut self, r: Result<(), SstError>) -> Result<(), SstError> {
        if r.is_err() {
            self.cursor.data = None;
        }
        r
    }

    /// Positions at the first entry.
    pub fn seek_to_first(&mut self) -> Result<(), SstError> {
        let r = self.cursor.seek_to_first(&self.table);
        self.guard(r)
    }

    /// Positions at the last entry.
    pub fn seek_to_last(&mut self) -> Result<(), SstError> {
        let r = self.cursor.seek_to_last(&self.table);
        self.guard(r)
    }

    /// First entry whose user_key >= key (its newest version first).
    pub fn seek(&mut self, key: &[u8]) -> Result<(), SstError> {
        let r = self.cursor.seek(&self.table, key, u64::MAX);
        self.guard(r)
    }

    /// Last entry whose user_key <= key (i.e. the OLDEST version of the largest such key).
    pub fn seek_for_prev(&mut self, key: &[u8]) -> Result<(), SstError> {
        // (key, trailer 0) is the last possible internal key for `key`.
        let mut r = self.cursor.seek(&self.table, key, 0);
        if r.is_ok() && self.cursor.valid() && self.user_key() == key {
            r = self.cursor.next(&self.table);
        }
        if r.is_ok() {
            r = if self.cursor.valid() {
                self.cursor.prev(&self.table)
            } else {
                self.cursor.seek_to_last(&self.table)
            };
        }
        self.guard(r)
    }

    /// Advances to the next entry (no-op when invalid).
    // Named by the storage API contract; a fallible cursor step is not `Iterator::next`.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<(), SstError> {
        let r = self.cursor.next(&self.table);
        self.guard(r)
    }

    /// Steps back to the previous entry (no-op when invalid).
    pub fn prev(&mut self) -> Result<(), SstError> {
        let r = self.cursor.prev(&self.table);
        self.guard(r)
    }

    /// Whether the iterator is positioned at an entry.
    pub fn valid(&self) -> bool {
        self.cursor.valid()
    }

    fn current(&self) -> Option<&BlockIter> {
        self.cursor
            .data
            .as_ref()
            .map(|(d, _)| d)
            .filter(|d| d.valid())
    }

    /// The current user key.
    pub fn user_key(&self) -> &[u8] {
        self.current().map_or(&[], |d| d.key())
    }

    /// The current sequence number.
    pub fn seq(&self) -> u64 {
        self.current().map_or(0, |d| d.trailer() >> 8)
    }

    /// The current entry's kind.
    pub fn kind(&self) -> ValueKind {
        self.current()
            .map_or(ValueKind::Put, |d| split_trailer(d.trailer()).1)
    }

    /// The current value (empty for deletes).
    pub fn value(&self) -> &[u8] {
        self.current().map_or(&[], |d| d.value())
    }

    /// The table being iterated.
    pub fn table(&self) -> &Arc<Table> {
        &self.table
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SstBuilder, SstOptions};
    use toondb_core::vfs::MemVfs;

    /// The decoded index and the in-place search of the index block answer every lookup
    /// alike (the latter is the path for indexes the decoded form does not accept).
    #[test]
    fn flat_index_and_block_search_agree() {
        let vfs = MemVfs::new();
        let path = Path::new("f.sst");
        let opts = SstOptions {
            block_size: 200,
            bloom_bits_per_key: 0,
            restart_interval: 3,
        };
        let mut b = SstBuilder::new(vfs.create(path).unwrap(), path.to_path_buf(), opts);
        for i in 0..600u32 {
            let k = format!("k{:05}", i * 2);
            b.add(k.as_bytes(), 9, ValueKind::Put, k.as_bytes())
                .unwrap();
            b.add(k.as_bytes(), 4, ValueKind::Delete, b"").unwrap();
        }
        b.finish().unwrap();
        let flat = Table::open(&vfs, path, 1, None).unwrap();
        assert!(flat.flat_index.is_some());
        let mut plain = Table::open(&vfs, path, 2, None).unwrap();
        Arc::get_mut(&mut plain).unwrap().flat_index = None;
        let mut found = 0;
        for i in 0..1202u32 {
            let k = format!("k{i:05}");
            for snap in [0, 3, 4, 8, 9, u64::MAX] {
                let a = flat.get(k.as_bytes(), snap).unwrap();
                assert_eq!(a, plain.get(k.as_bytes(), snap).unwrap(), "{k} {snap}");
                found += usize::from(a.is_some());
            }
        }
        assert_eq!(found, 600 * 4);
        assert_eq!(flat.get(b"", u64::MAX).unwrap(), None);
        assert_eq!(flat.get(b"z", u64::MAX).unwrap(), None);
    }
}
