//! Byte-level encoding and decoding of every on-disk structure of a table: varints, block
//! entries, restart arrays, block trailers, block handles, the bloom filter layout, the
//! properties block and the footer. All parsing of untrusted bytes lives here; every decoder
//! is total (returns an error, never panics) and never allocates more than the input holds.
//!
//! All fixed-width integers are little-endian. See the crate documentation for the layout.

use crate::{TableProps, ValueKind};
use toondb_core::checksum;

/// Identifies a ToonDB table file; the last 8 bytes of every table.
pub(crate) const MAGIC: u64 = 0x5453_5342_4e4f_4f54; // "TOONBSST" read as LE bytes reversed
/// The only format version this code writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// Size of the fixed footer at the end of the file.
pub(crate) const FOOTER_LEN: usize = 64;
/// Size of the trailer after every block: compression type (1) + masked CRC32C (4).
pub(crate) const BLOCK_TRAILER_LEN: usize = 5;
/// Compression type byte for uncompressed blocks (the only one defined).
pub(crate) const COMPRESSION_NONE: u8 = 0;
/// Size of the per-entry trailer holding `seq << 8 | kind`.
pub(crate) const ENTRY_TRAILER_LEN: usize = 8;
/// Largest sequence number (exclusive bound is 2^56).
pub(crate) const MAX_SEQ: u64 = (1 << 56) - 1;

/// A decoding failure at `offset` (relative to the start of the decoded buffer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError {
    pub offset: u64,
    pub detail: String,
}

pub(crate) fn err(offset: usize, detail: impl Into<String>) -> DecodeError {
    DecodeError {
        offset: offset as u64,
        detail: detail.into(),
    }
}

pub(crate) type DResult<T> = Result<T, DecodeError>;

// ---------------------------------------------------------------------------------------------
// Varints (LEB128, unsigned, at most 10 bytes for u64)

/// Appends `v` as a LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Decodes a varint at `*pos`, advancing it.
#[inline]
pub(crate) fn get_varint(buf: &[u8], pos: &mut usize) -> DResult<u64> {
    // Fast path: most lengths in a block fit in one byte.
    if let Some(&b) = buf.get(*pos) {
        if b < 0x80 {
            *pos += 1;
            return Ok(u64::from(b));
        }
    }
    get_varint_slow(buf, pos)
}

#[cold]
fn get_varint_slow(buf: &[u8], pos: &mut usize) -> DResult<u64> {
    let start = *pos;
    let mut v: u64 = 0;
    for i in 0..10 {
        let Some(&b) = buf.get(start + i) else {
            return Err(err(start, "truncated varint"));
        };
        let bits = u64::from(b & 0x7f);
        if i == 9 && b > 1 {
            return Err(err(start, "varint overflows u64"));
        }
        v |= bits << (7 * i);
        if b & 0x80 == 0 {
            *pos = start + i + 1;
            return Ok(v);
        }
    }
    Err(err(start, "varint longer than 10 bytes"))
}

/// Decodes a varint that must fit in `usize` and be at most `limit`.
pub(crate) fn get_len(buf: &[u8], pos: &mut usize, limit: usize, what: &str) -> DResult<usize> {
    let start = *pos;
    let v = get_varint(buf, pos)?;
    match usize::try_from(v) {
        Ok(n) if n <= limit => Ok(n),
        _ => Err(err(
            start,
            format!("{what} length {v} exceeds the {limit} bytes available"),
        )),
    }
}

fn get_u32(buf: &[u8], pos: usize) -> DResult<u32> {
    buf.get(pos..pos.saturating_add(4))
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| err(pos, "truncated u32"))
}

fn get_u64(buf: &[u8], pos: usize) -> DResult<u64> {
    buf.get(pos..pos.saturating_add(8))
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_le_bytes)
        .ok_or_else(|| err(pos, "truncated u64"))
}

// ---------------------------------------------------------------------------------------------
// Internal keys: ordering and the entry trailer

/// Packs a sequence number and kind into the 8-byte entry trailer value.
pub(crate) fn pack_trailer(seq: u64, kind: ValueKind) -> u64 {
    (seq << 8) | kind as u64
}

/// Splits a trailer value; the kind byte must be a known [`ValueKind`].
pub(crate) fn unpack_trailer(t: u64) -> Option<(u64, ValueKind)> {
    let kind = match t & 0xff {
        0 => ValueKind::Delete,
        1 => ValueKind::Put,
        _ => return None,
    };
    Some((t >> 8, kind))
}

/// Orders internal keys: user key ascending, then trailer (sequence) descending.
pub(crate) fn cmp_internal(
    a_key: &[u8],
    a_trailer: u64,
    b_key: &[u8],
    b_trailer: u64,
) -> std::cmp::Ordering {
    a_key.cmp(b_key).then(b_trailer.cmp(&a_trailer))
}

// ---------------------------------------------------------------------------------------------
// Block entries and restart arrays

/// Appends one block entry. `shared` bytes of `key` are shared with the previous key.
pub(crate) fn put_entry(out: &mut Vec<u8>, shared: usize, key: &[u8], trailer: u64, value: &[u8]) {
    let unshared = &key[shared..];
    put_varint(out, shared as u64);
    put_varint(out, unshared.len() as u64);
    put_varint(out, value.len() as u64);
    out.extend_from_slice(unshared);
    out.extend_from_slice(&trailer.to_le_bytes());
    out.extend_from_slice(value);
}

/// A decoded entry header; `key` has been rebuilt in the caller's buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryPos {
    pub trailer: u64,
    pub value_start: usize,
    pub value_end: usize,
    /// Offset of the next entry.
    pub next: usize,
}

/// A decoded entry that borrows its key delta from the block (nothing copied).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryRef<'a> {
    /// Bytes shared with the previous key (at most the `prev_len` passed in).
    pub shared: usize,
    /// The key bytes after the shared prefix.
    pub delta: &'a [u8],
    pub trailer: u64,
    pub value_start: usize,
    pub value_end: usize,
}

/// Decodes the entry at `pos` of `entries` (the block's entry area, restart array excluded)
/// without copying its key; `prev_len` is the length of the previous key of the block (0 at a
/// restart point). Performs every check [`get_entry`] does and reports the same error.
#[inline]
pub(crate) fn get_entry_ref(entries: &[u8], pos: usize, prev_len: usize) -> DResult<EntryRef<'_>> {
    // Hot path: all checks folded into one `None`; any failure is re-decoded by the cold
    // path to name the first problem exactly.
    match entry_fast(entries, pos, prev_len) {
        Some(e) => Ok(e),
        None => Err(entry_error(entries, pos, prev_len)),
    }
}

#[inline(always)]
fn entry_fast(entries: &[u8], pos: usize, prev_len: usize) -> Option<EntryRef<'_>> {
    let len = entries.len();
    let mut p = pos;
    let shared = varint_opt(entries, &mut p)?;
    let unshared = varint_opt(entries, &mut p)?;
    let value_len = varint_opt(entries, &mut p)?;
    if shared > prev_len as u64 || unshared > len as u64 || value_len > len as u64 {
        return None;
    }
    // `p`, `unshared`, `value_len` and `trailer_end` are each <= len <= isize::MAX when
    // summed, so no sum overflows.
    let key_end = p + unshared as usize;
    let trailer_end = key_end + ENTRY_TRAILER_LEN;
    if trailer_end > len {
        return None;
    }
    let value_end = trailer_end + value_len as usize;
    if value_end > len {
        return None;
    }
    let t = entries.get(key_end..trailer_end)?;
    let trailer = u64::from_le_bytes(<[u8; 8]>::try_from(t).ok()?);
    if trailer & 0xff > 1 {
        return None;
    }
    Some(EntryRef {
        shared: shared as usize,
        delta: entries.get(p..key_end)?,
        trailer,
        value_start: trailer_end,
        value_end,
    })
}

/// A varint, or `None` if malformed (the caller reports the error).
#[inline]
fn varint_opt(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let b = *buf.get(*pos)?;
    if b < 0x80 {
        *pos += 1;
        return Some(u64::from(b));
    }
    get_varint_slow(buf, pos).ok()
}

/// The error for a malformed entry at `pos`: the checks in order, each with its message.
#[cold]
#[inline(never)]
fn entry_error(entries: &[u8], pos: usize, prev_len: usize) -> DecodeError {
    let mut p = pos;
    let mut check = || -> DResult<()> {
        let shared = get_varint(entries, &mut p)?;
        let unshared = get_len(entries, &mut p, entries.len(), "key")?;
        let value_len = get_len(entries, &mut p, entries.len(), "value")?;
        if !usize::try_from(shared).is_ok_and(|s| s <= prev_len) {
            return Err(err(
                pos,
                format!("entry shares {shared} key bytes but the previous key has {prev_len}"),
            ));
        }
        let key_end = p + unshared;
        if key_end > entries.len() {
            return Err(err(pos, "entry key runs past the end of the block"));
        }
        let trailer_end = key_end + ENTRY_TRAILER_LEN;
        if trailer_end > entries.len() {
            return Err(err(pos, "entry trailer runs past the end of the block"));
        }
        if trailer_end + value_len > entries.len() {
            return Err(err(pos, "entry value runs past the end of the block"));
        }
        let trailer = get_u64(entries, key_end)?;
        if unpack_trailer(trailer).is_none() {
            return Err(err(
                key_end,
                format!("unknown value kind {}", trailer & 0xff),
            ));
        }
        Ok(())
    };
    match check() {
        Err(e) => e,
        Ok(()) => err(pos, "malformed entry"),
    }
}

/// Decodes the entry at `pos` of `entries` (the block's entry area, restart array excluded),
/// rebuilding its key in `key`, which must hold the previous key of the block (or be empty at
/// a restart point).
pub(crate) fn get_entry(entries: &[u8], pos: usize, key: &mut Vec<u8>) -> DResult<EntryPos> {
    let e = get_entry_ref(entries, pos, key.len())?;
    key.truncate(e.shared);
    key.extend_from_slice(e.delta);
    Ok(EntryPos {
        trailer: e.trailer,
        value_start: e.value_start,
        value_end: e.value_end,
        next: e.value_end,
    })
}

/// Decodes the key and trailer of the entry at restart point `pos` without copying: a restart
/// entry shares no bytes, so its key lies whole in the block.
pub(crate) fn get_restart_key(entries: &[u8], pos: usize) -> DResult<(&[u8], u64)> {
    let mut p = pos;
    let shared = get_varint(entries, &mut p)?;
    if shared != 0 {
        return Err(err(pos, format!("restart entry shares {shared} key bytes")));
    }
    let unshared = get_len(entries, &mut p, entries.len(), "key")?;
    let _value_len = get_varint(entries, &mut p)?;
    let key_end = p
        .checked_add(unshared)
        .filter(|&e| e <= entries.len())
        .ok_or_else(|| err(pos, "entry key runs past the end of the block"))?;
    let trailer = get_u64(entries, key_end)?;
    if key_end + ENTRY_TRAILER_LEN > entries.len() {
        return Err(err(pos, "entry trailer runs past the end of the block"));
    }
    Ok((&entries[p..key_end], trailer))
}

/// Appends the restart array and its count.
pub(crate) fn put_restarts(out: &mut Vec<u8>, restarts: &[u32]) {
    for r in restarts {
        out.extend_from_slice(&r.to_le_bytes());
    }
    out.extend_from_slice(&(restarts.len() as u32).to_le_bytes());
}

/// Parses the restart array at the end of a block body: returns (start of the restart array =
/// end of the entry area, number of restarts). Checks that every restart point lies inside
/// the entry area and that they ascend strictly (the first is 0).
pub(crate) fn parse_restarts(body: &[u8]) -> DResult<(usize, usize)> {
    if body.len() < 4 {
        return Err(err(0, "block shorter than its restart count"));
    }
    let count_at = body.len() - 4;
    let n = get_u32(body, count_at)? as usize;
    let array_len = n.checked_mul(4).filter(|&l| l <= count_at).ok_or_else(|| {
        err(
            count_at,
            format!("restart count {n} does not fit the block"),
        )
    })?;
    let restarts_at = count_at - array_len;
    if n == 0 {
        return Err(err(count_at, "block has no restart points"));
    }
    let mut prev = None;
    for i in 0..n {
        let r = get_u32(body, restarts_at + 4 * i)? as usize;
        let ok = match prev {
            None => r == 0,
            Some(p) => r > p && r < restarts_at,
        };
        if !ok {
            return Err(err(
                restarts_at + 4 * i,
                format!("restart point {i} at {r} is out of order or out of range"),
            ));
        }
        prev = Some(r);
    }
    Ok((restarts_at, n))
}

/// Reads restart point `i` of a block already checked by [`parse_restarts`].
pub(crate) fn restart_at(body: &[u8], restarts_at: usize, i: usize) -> usize {
    // In range by construction (checked by `parse_restarts`); 0 is a harmless fallback.
    get_u32(body, restarts_at + 4 * i)
        .map(|v| v as usize)
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Block trailers

/// The 5-byte trailer of a block body: compression type and masked CRC32C of body ++ type.
pub(crate) fn block_trailer(body: &[u8], compression: u8) -> [u8; BLOCK_TRAILER_LEN] {
    let crc = checksum::mask(checksum::crc32c_parts(&[body, &[compression]]));
    let c = crc.to_le_bytes();
    [compression, c[0], c[1], c[2], c[3]]
}

/// Checks a block read with its trailer (`raw = body ++ trailer`); returns the body length.
pub(crate) fn check_block(raw: &[u8]) -> DResult<usize> {
    let body_len = raw
        .len()
        .checked_sub(BLOCK_TRAILER_LEN)
        .ok_or_else(|| err(0, "block shorter than its trailer"))?;
    let compression = raw[body_len];
    let stored = get_u32(raw, body_len + 1)?;
    let actual = checksum::mask(checksum::crc32c(&raw[..body_len + 1]));
    if stored != actual {
        return Err(err(
            body_len + 1,
            format!("block checksum mismatch (stored {stored:#010x}, computed {actual:#010x})"),
        ));
    }
    if compression != COMPRESSION_NONE {
        return Err(err(
            body_len,
            format!("unknown compression type {compression}"),
        ));
    }
    Ok(body_len)
}

// ---------------------------------------------------------------------------------------------
// Block handles

/// Where a block body lives in the file (the trailer follows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct BlockHandle {
    pub offset: u64,
    pub size: u64,
}

impl BlockHandle {
    /// End of the block including its trailer, if it does not overflow.
    pub(crate) fn end_with_trailer(&self) -> Option<u64> {
        self.offset
            .checked_add(self.size)?
            .checked_add(BLOCK_TRAILER_LEN as u64)
    }
}

/// Appends a handle as two varints (used as index block values).
pub(crate) fn put_handle(out: &mut Vec<u8>, h: BlockHandle) {
    put_varint(out, h.offset);
    put_varint(out, h.size);
}

/// Decodes a handle from an index value; the whole value must be consumed.
#[inline]
pub(crate) fn get_handle(buf: &[u8]) -> DResult<BlockHandle> {
    let mut p = 0;
    let offset = get_varint(buf, &mut p)?;
    let size = get_varint(buf, &mut p)?;
    if p != buf.len() {
        return Err(err(p, "trailing bytes after block handle"));
    }
    Ok(BlockHandle { offset, size })
}

// ---------------------------------------------------------------------------------------------
// Footer

/// The fixed-size footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Footer {
    pub index: BlockHandle,
    pub bloom: BlockHandle,
    pub props: BlockHandle,
}

/// Encodes the footer: three handles as (u64 offset, u64 size), format version u32, masked
/// CRC32C u32 of bytes 0..52, magic u64.
pub(crate) fn encode_footer(f: &Footer) -> [u8; FOOTER_LEN] {
    let mut out = [0u8; FOOTER_LEN];
    let mut v = Vec::with_capacity(FOOTER_LEN);
    for h in [f.index, f.bloom, f.props] {
        v.extend_from_slice(&h.offset.to_le_bytes());
        v.extend_from_slice(&h.size.to_le_bytes());
    }
    v.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    let crc = checksum::mask(checksum::crc32c(&v));
    v.extend_from_slice(&crc.to_le_bytes());
    v.extend_from_slice(&MAGIC.to_le_bytes());
    out.copy_from_slice(&v);
    out
}

/// Decodes a footer (offsets in errors are relative to the footer start).
pub(crate) fn decode_footer(buf: &[u8]) -> DResult<Footer> {
    if buf.len() != FOOTER_LEN {
        return Err(err(0, "footer has the wrong size"));
    }
    let magic = get_u64(buf, 56)?;
    if magic != MAGIC {
        return Err(err(
            56,
            format!("bad magic number {magic:#018x}: not a ToonDB table"),
        ));
    }
    let version = get_u32(buf, 48)?;
    if version != FORMAT_VERSION {
        return Err(err(
            48,
            format!(
                "unsupported table format version {version} (this build reads {FORMAT_VERSION})"
            ),
        ));
    }
    let stored = get_u32(buf, 52)?;
    let actual = checksum::mask(checksum::crc32c(&buf[..52]));
    if stored != actual {
        return Err(err(52, "footer checksum mismatch"));
    }
    let h = |i: usize| -> DResult<BlockHandle> {
        Ok(BlockHandle {
            offset: get_u64(buf, 16 * i)?,
            size: get_u64(buf, 16 * i + 8)?,
        })
    };
    Ok(Footer {
        index: h(0)?,
        bloom: h(1)?,
        props: h(2)?,
    })
}

// ---------------------------------------------------------------------------------------------
// Bloom filter block

/// Largest number of probes accepted.
pub(crate) const MAX_BLOOM_PROBES: u8 = 30;

/// Encodes a bloom filter: the bit array, then the probe count (u8).
pub(crate) fn encode_bloom(bits: &[u8], probes: u8) -> Vec<u8> {
    let mut v = Vec::with_capacity(bits.len() + 1);
    v.extend_from_slice(bits);
    v.push(probes);
    v
}

/// Decodes a bloom block into (bit array, probes). An empty block means "no filter" and
/// decodes to an empty bit array.
pub(crate) fn decode_bloom(buf: &[u8]) -> DResult<(&[u8], u8)> {
    let Some((&probes, bits)) = buf.split_last() else {
        return Ok((&[], 0));
    };
    if bits.is_empty() {
        return Ok((&[], 0));
    }
    if probes == 0 || probes > MAX_BLOOM_PROBES {
        return Err(err(bits.len(), format!("bad bloom probe count {probes}")));
    }
    Ok((bits, probes))
}

// ---------------------------------------------------------------------------------------------
// Properties block

/// Encodes properties (without `file_size`, which is the file's length) plus the number of
/// data blocks.
pub(crate) fn encode_props(p: &TableProps, num_data_blocks: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(p.smallest_key.len() + p.largest_key.len() + 64);
    put_varint(&mut v, p.smallest_key.len() as u64);
    v.extend_from_slice(&p.smallest_key);
    put_varint(&mut v, p.largest_key.len() as u64);
    v.extend_from_slice(&p.largest_key);
    for x in [
        p.num_entries,
        p.num_deletes,
        p.min_seq,
        p.max_seq,
        num_data_blocks,
    ] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v
}

/// Decodes properties; `file_size` is filled with `file_size`. Returns (props, data blocks).
pub(crate) fn decode_props(buf: &[u8], file_size: u64) -> DResult<(TableProps, u64)> {
    let mut p = 0;
    let n = get_len(buf, &mut p, buf.len(), "smallest key")?;
    let smallest_key = buf
        .get(p..p + n)
        .ok_or_else(|| err(p, "truncated smallest key"))?
        .to_vec();
    p += n;
    let n = get_len(buf, &mut p, buf.len(), "largest key")?;
    let largest_key = buf
        .get(p..p + n)
        .ok_or_else(|| err(p, "truncated largest key"))?
        .to_vec();
    p += n;
    let mut nums = [0u64; 5];
    for x in nums.iter_mut() {
        *x = get_u64(buf, p)?;
        p += 8;
    }
    if p != buf.len() {
        return Err(err(p, "trailing bytes in properties block"));
    }
    let [num_entries, num_deletes, min_seq, max_seq, blocks] = nums;
    if num_deletes > num_entries || min_seq > max_seq || max_seq > MAX_SEQ {
        return Err(err(0, "inconsistent table properties"));
    }
    Ok((
        TableProps {
            smallest_key,
            largest_key,
            num_entries,
            num_deletes,
            min_seq,
            max_seq,
            file_size,
        },
        blocks,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varint_roundtrip(v in any::<u64>()) {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            let mut p = 0;
            prop_assert_eq!(get_varint(&b, &mut p).unwrap(), v);
            prop_assert_eq!(p, b.len());
        }

        #[test]
        fn varint_never_panics(b in proptest::collection::vec(any::<u8>(), 0..12)) {
            let mut p = 0;
            let _ = get_varint(&b, &mut p);
        }

        #[test]
        fn entry_decoder_is_total(b in proptest::collection::vec(any::<u8>(), 0..40), prev in proptest::collection::vec(any::<u8>(), 0..4)) {
            let mut key = prev;
            let _ = get_entry(&b, 0, &mut key);
            let _ = parse_restarts(&b);
            let _ = decode_props(&b, 0);
            let _ = decode_bloom(&b);
            let _ = get_handle(&b);
            let _ = check_block(&b);
        }
    }

    #[test]
    fn varint_rejects_overflow_and_truncation() {
        let mut p = 0;
        assert!(get_varint(&[0xff; 10], &mut p).is_err());
        assert!(get_varint(&[0x80, 0x80], &mut p).is_err());
        let mut b = Vec::new();
        put_varint(&mut b, u64::MAX);
        assert_eq!(b.len(), 10);
    }

    #[test]
    fn footer_roundtrip_and_rejections() {
        let f = Footer {
            index: BlockHandle { offset: 1, size: 2 },
            bloom: BlockHandle { offset: 3, size: 4 },
            props: BlockHandle {
                offset: u64::MAX,
                size: 6,
            },
        };
        let enc = encode_footer(&f);
        assert_eq!(decode_footer(&enc).unwrap(), f);
        let mut bad = enc;
        bad[60] ^= 1;
        assert_eq!(decode_footer(&bad).unwrap_err().offset, 56);
        let mut bad = enc;
        bad[48] = 2;
        assert!(decode_footer(&bad)
            .unwrap_err()
            .detail
            .contains("unsupported table format version 2"));
        let mut bad = enc;
        bad[3] ^= 0x10;
        assert_eq!(decode_footer(&bad).unwrap_err().offset, 52);
    }

    #[test]
    fn entry_roundtrip_with_sharing() {
        let mut b = Vec::new();
        put_entry(&mut b, 0, b"apple", pack_trailer(7, ValueKind::Put), b"v1");
        let second = b.len();
        put_entry(
            &mut b,
            2,
            b"apricot",
            pack_trailer(5, ValueKind::Delete),
            b"",
        );
        let mut key = Vec::new();
        let e = get_entry(&b, 0, &mut key).unwrap();
        assert_eq!(key, b"apple");
        assert_eq!(&b[e.value_start..e.value_end], b"v1");
        assert_eq!(e.next, second);
        let e2 = get_entry(&b, e.next, &mut key).unwrap();
        assert_eq!(key, b"apricot");
        assert_eq!(unpack_trailer(e2.trailer), Some((5, ValueKind::Delete)));
        assert_eq!(e2.next, b.len());
        // Sharing more than the previous key holds is corruption.
        let mut empty = Vec::new();
        assert!(get_entry(&b, second, &mut empty).is_err());
    }

    #[test]
    fn props_roundtrip() {
        let p = TableProps {
            smallest_key: b"a".to_vec(),
            largest_key: b"zz".to_vec(),
            num_entries: 10,
            num_deletes: 2,
            min_seq: 3,
            max_seq: 99,
            file_size: 0,
        };
        let enc = encode_props(&p, 4);
        let (d, blocks) = decode_props(&enc, 1234).unwrap();
        assert_eq!(blocks, 4);
        assert_eq!(d.largest_key, b"zz");
        assert_eq!(d.num_deletes, 2);
        assert_eq!(d.file_size, 1234);
        assert!(decode_props(&enc[..enc.len() - 1], 0).is_err());
    }
}
