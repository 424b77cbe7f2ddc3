//! Atomic write batches and their byte encoding (the payload of one WAL record).

use crate::error::{Error, Result};
use std::path::Path;

/// What a batch entry does to its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Delete = 0,
    Put = 1,
}

/// A group of puts and deletes applied atomically: after a crash either all of them are visible
/// or none is.
///
/// ```
/// let mut b = toondb_storage::WriteBatch::new();
/// b.put(b"a", b"1");
/// b.delete(b"b");
/// assert_eq!(b.len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBatch {
    pub(crate) entries: Vec<(Op, Vec<u8>, Vec<u8>)>,
    pub(crate) bytes: usize,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> WriteBatch {
        WriteBatch::default()
    }
    /// Adds a put.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> &mut Self {
        self.bytes += key.len() + value.len() + 16;
        self.entries.push((Op::Put, key.to_vec(), value.to_vec()));
        self
    }
    /// Adds a delete.
    pub fn delete(&mut self, key: &[u8]) -> &mut Self {
        self.bytes += key.len() + 16;
        self.entries.push((Op::Delete, key.to_vec(), Vec::new()));
        self
    }
    /// Number of operations.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Whether the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// Removes all operations.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
    /// Approximate encoded size in bytes.
    pub fn approximate_size(&self) -> usize {
        self.bytes + 12
    }
}

/// Byte codec of a batch.
///
/// ```text
/// first_seq: u64 LE | count: u32 LE | count x entry
/// entry = kind: u8 (0 delete, 1 put) | key_len: u32 LE | key | [value_len: u32 LE | value]  (value only for put)
/// ```
pub(crate) mod codec {
    use super::*;

    /// Appends the encoding of `b` with first sequence number `seq` to `out`.
    pub(crate) fn encode(b: &WriteBatch, seq: u64, out: &mut Vec<u8>) {
        out.reserve(b.approximate_size());
        out.extend_from_slice(&seq.to_le_bytes());
        out.extend_from_slice(&(b.entries.len() as u32).to_le_bytes());
        for (op, k, v) in &b.entries {
            out.push(*op as u8);
            out.extend_from_slice(&(k.len() as u32).to_le_bytes());
            out.extend_from_slice(k);
            if *op == Op::Put {
                out.extend_from_slice(&(v.len() as u32).to_le_bytes());
                out.extend_from_slice(v);
            }
        }
    }

    struct Reader<'a> {
        data: &'a [u8],
        pos: usize,
    }
    impl<'a> Reader<'a> {
        fn take(&mut self, n: usize) -> Option<&'a [u8]> {
            let end = self.pos.checked_add(n)?;
            let s = self.data.get(self.pos..end)?;
            self.pos = end;
            Some(s)
        }
        fn u32(&mut self) -> Option<u32> {
            let b = self.take(4)?;
            Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        }
        fn u64(&mut self) -> Option<u64> {
            let b = self.take(8)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            Some(u64::from_le_bytes(a))
        }
    }

    /// Decodes a batch payload. `path`/`offset` locate it for error messages.
    pub(crate) fn decode(data: &[u8], path: &Path, offset: u64) -> Result<(u64, WriteBatch)> {
        let bad = |d: &str| Error::corruption(path, offset, format!("bad batch: {d}"));
        let mut r = Reader { data, pos: 0 };
        let seq = r.u64().ok_or_else(|| bad("truncated header"))?;
        let count = r.u32().ok_or_else(|| bad("truncated header"))? as usize;
        // Every entry takes at least 5 bytes: cap the allocation by what the input can hold.
        if count > data.len() / 5 {
            return Err(bad("entry count exceeds payload"));
        }
        let mut b = WriteBatch::new();
        b.entries.reserve(count);
        for _ in 0..count {
            let kind = r.take(1).ok_or_else(|| bad("truncated entry"))?[0];
            let klen = r.u32().ok_or_else(|| bad("truncated entry"))? as usize;
            let key = r.take(klen).ok_or_else(|| bad("truncated key"))?;
            match kind {
                0 => {
                    b.delete(key);
                }
                1 => {
                    let vlen = r.u32().ok_or_else(|| bad("truncated entry"))? as usize;
                    let v = r.take(vlen).ok_or_else(|| bad("truncated value"))?;
                    b.put(key, v);
                }
                k => return Err(bad(&format!("unknown entry kind {k}"))),
            }
        }
        if r.pos != data.len() {
            return Err(bad("trailing bytes"));
        }
        if seq
            .checked_add(count as u64)
            .is_none_or(|end| end >= crate::MAX_SEQ)
        {
            return Err(bad("sequence number out of range"));
        }
        Ok((seq, b))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// The WAL payload layout documented in docs/architecture/storage.md, byte by byte.
        #[test]
        fn golden_layout() {
            let mut b = WriteBatch::new();
            b.put(b"k", b"vv").delete(b"d");
            let mut out = Vec::new();
            encode(&b, 0x0102, &mut out);
            #[rustfmt::skip]
            let want: &[u8] = &[
                0x02, 0x01, 0, 0, 0, 0, 0, 0, // first_seq
                2, 0, 0, 0,                   // count
                1, 1, 0, 0, 0, b'k', 2, 0, 0, 0, b'v', b'v', // put k -> vv
                0, 1, 0, 0, 0, b'd',          // delete d
            ];
            assert_eq!(out, want);
            let mut framed = Vec::new();
            crate::log::frame(&out, &mut framed);
            let crc = toondb_core::checksum::mask(toondb_core::checksum::crc32c(&framed[4..]));
            assert_eq!(&framed[0..4], &crc.to_le_bytes());
            assert_eq!(&framed[4..8], &(want.len() as u32).to_le_bytes());
            assert_eq!(&framed[8..], want);
        }

        #[test]
        fn roundtrip_and_truncation() {
            let mut b = WriteBatch::new();
            b.put(b"k1", b"v1").delete(b"k2").put(b"", b"");
            let mut out = Vec::new();
            encode(&b, 42, &mut out);
            let (seq, d) = decode(&out, Path::new("x"), 0).unwrap();
            assert_eq!(seq, 42);
            assert_eq!(d, b);
            for cut in 0..out.len() {
                assert!(decode(&out[..cut], Path::new("x"), 0).is_err());
            }
        }
    }
}
