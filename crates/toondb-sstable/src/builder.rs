//! Writing a table.

use crate::block::BlockBuilder;
use crate::bloom::BloomBuilder;
use crate::codec::{self, BlockHandle, Footer};
use crate::{SstError, SstOptions, TableProps, ValueKind};
use std::cmp::Ordering;
use std::io;
use std::path::PathBuf;
use toondb_core::vfs::WritableFile;

/// Longest user key accepted (keys of at least 64 KiB are guaranteed to work).
pub const MAX_KEY_LEN: usize = 16 << 20;
/// Longest value accepted (values of at least 64 MiB are guaranteed to work).
pub const MAX_VALUE_LEN: usize = 1 << 30;
/// Largest block size honoured (bigger settings are clamped; restart offsets are u32).
const MAX_BLOCK_SIZE: usize = 256 << 20;

/// Writes a table from entries supplied in (user key ascending, sequence descending) order.
///
/// ```
/// use std::path::Path;
/// use toondb_core::vfs::{MemVfs, Vfs};
/// use toondb_sstable::{SstBuilder, SstOptions, Table, ValueKind};
///
/// let vfs = MemVfs::new();
/// let path = Path::new("000001.sst");
/// let mut b = SstBuilder::new(vfs.create(path)?, path.to_path_buf(), SstOptions::default());
/// b.add(b"apple", 7, ValueKind::Put, b"red")?;
/// b.add(b"apple", 3, ValueKind::Put, b"green")?;
/// b.add(b"kiwi", 5, ValueKind::Delete, b"")?;
/// let props = b.finish()?;
/// assert_eq!(props.num_entries, 3);
///
/// let table = Table::open(&vfs, path, 1, None)?;
/// assert_eq!(table.get(b"apple", 10)?, Some((7, ValueKind::Put, b"red".to_vec())));
/// assert_eq!(table.get(b"apple", 5)?, Some((3, ValueKind::Put, b"green".to_vec())));
/// assert_eq!(table.get(b"apple", 2)?, None);
/// assert_eq!(table.get(b"kiwi", 9)?, Some((5, ValueKind::Delete, vec![])));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SstBuilder {
    file: Box<dyn WritableFile>,
    path: PathBuf,
    block_size: usize,
    data: BlockBuilder,
    index: BlockBuilder,
    bloom: BloomBuilder,
    /// Bytes written so far.
    offset: u64,
    last_key: Vec<u8>,
    last_trailer: u64,
    props: TableProps,
    num_data_blocks: u64,
    /// Set after a write error: the file is in an unknown state.
    failed: bool,
}

impl SstBuilder {
    /// A builder writing to `file` (created by the caller); `path` is used in errors.
    pub fn new(file: Box<dyn WritableFile>, path: PathBuf, opts: SstOptions) -> Self {
        SstBuilder {
            file,
            path,
            block_size: opts.block_size.clamp(64, MAX_BLOCK_SIZE),
            data: BlockBuilder::new(opts.restart_interval),
            index: BlockBuilder::new(1),
            bloom: BloomBuilder::new(opts.bloom_bits_per_key.min(100)),
            offset: 0,
            last_key: Vec::new(),
            last_trailer: 0,
            props: TableProps {
                smallest_key: Vec::new(),
                largest_key: Vec::new(),
                num_entries: 0,
                num_deletes: 0,
                min_seq: 0,
                max_seq: 0,
                file_size: 0,
            },
            num_data_blocks: 0,
            failed: false,
        }
    }

    /// Adds an entry. Entries must arrive in (user_key ascending, seq descending) order, each
    /// (user_key, seq) at most once; otherwise `Err(SstError::OutOfOrder)` and nothing is added.
    /// `seq` must be below 2^56.
    pub fn add(
        &mut self,
        user_key: &[u8],
        seq: u64,
        kind: ValueKind,
        value: &[u8],
    ) -> Result<(), SstError> {
        self.check_usable()?;
        if seq > codec::MAX_SEQ {
            return Err(SstError::InvalidArgument(format!(
                "sequence number {seq} is not below 2^56"
            )));
        }
        if user_key.len() > MAX_KEY_LEN || value.len() > MAX_VALUE_LEN {
            return Err(SstError::InvalidArgument(format!(
                "key of {} bytes or value of {} bytes exceeds the limits ({MAX_KEY_LEN}, {MAX_VALUE_LEN})",
                user_key.len(),
                value.len()
            )));
        }
        let trailer = codec::pack_trailer(seq, kind);
        let first = self.props.num_entries == 0;
        let new_user_key = first || self.last_key.as_slice() != user_key;
        // Compare (user_key, seq) only: two entries with the same key and sequence number
        // are out of order even if their kinds differ.
        if !first
            && codec::cmp_internal(&self.last_key, self.last_trailer >> 8, user_key, seq)
                != Ordering::Less
        {
            return Err(SstError::OutOfOrder {
                detail: format!(
                    "entry ({:?}, seq {seq}) does not follow ({:?}, seq {}) in {}",
                    String::from_utf8_lossy(&user_key[..user_key.len().min(64)]),
                    String::from_utf8_lossy(&self.last_key[..self.last_key.len().min(64)]),
                    self.last_trailer >> 8,
                    self.path.display()
                ),
            });
        }
        if first {
            self.props.smallest_key = user_key.to_vec();
            self.props.min_seq = seq;
            self.props.max_seq = seq;
        }
        if new_user_key {
            self.bloom.add(user_key);
            self.last_key.clear();
            self.last_key.extend_from_slice(user_key);
        }
        self.last_trailer = trailer;
        self.data.add(user_key, trailer, value);
        self.props.num_entries += 1;
        if kind == ValueKind::Delete {
            self.props.num_deletes += 1;
        }
        self.props.min_seq = self.props.min_seq.min(seq);
        self.props.max_seq = self.props.max_seq.max(seq);
        if self.data.estimated_size() >= self.block_size {
            self.flush_data_block()?;
        }
        Ok(())
    }

    /// Bytes written so far plus the pending data block.
    pub fn estimated_size(&self) -> u64 {
        self.offset + self.data.estimated_size() as u64
    }

    /// Entries added so far.
    pub fn num_entries(&self) -> u64 {
        self.props.num_entries
    }

    /// Writes index, bloom, properties and footer, then syncs the file.
    pub fn finish(mut self) -> Result<TableProps, SstError> {
        self.check_usable()?;
        if !self.data.is_empty() {
            self.flush_data_block()?;
        }
        let index_body = self.index.finish();
        let index = self.write_block(&index_body)?;
        let bloom_body = self.bloom.finish();
        let bloom = self.write_block(&bloom_body)?;
        self.props.largest_key = self.last_key.clone();
        let props_body = codec::encode_props(&self.props, self.num_data_blocks);
        let props = self.write_block(&props_body)?;
        let footer = codec::encode_footer(&Footer {
            index,
            bloom,
            props,
        });
        self.write(&footer)?;
        let path = self.path.clone();
        self.file
            .sync()
            .map_err(|source| SstError::Io { path, source })?;
        self.props.file_size = self.offset;
        Ok(self.props)
    }

    fn check_usable(&self) -> Result<(), SstError> {
        if self.failed {
            return Err(SstError::Io {
                path: self.path.clone(),
                source: io::Error::other("an earlier write to this table failed"),
            });
        }
        Ok(())
    }

    fn flush_data_block(&mut self) -> Result<(), SstError> {
        let body = self.data.finish();
        let handle = self.write_block(&body)?;
        let mut v = Vec::with_capacity(20);
        codec::put_handle(&mut v, handle);
        self.index.add(&self.last_key, self.last_trailer, &v);
        self.num_data_blocks += 1;
        Ok(())
    }

    fn write_block(&mut self, body: &[u8]) -> Result<BlockHandle, SstError> {
        let handle = BlockHandle {
            offset: self.offset,
            size: body.len() as u64,
        };
        self.write(body)?;
        self.write(&codec::block_trailer(body, codec::COMPRESSION_NONE))?;
        Ok(handle)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), SstError> {
        match self.file.append(bytes) {
            Ok(()) => {
                self.offset += bytes.len() as u64;
                Ok(())
            }
            Err(source) => {
                self.failed = true;
                Err(SstError::Io {
                    path: self.path.clone(),
                    source,
                })
            }
        }
    }
}
