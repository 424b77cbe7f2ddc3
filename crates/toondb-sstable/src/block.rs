//! Blocks: a builder that prefix-compresses sorted entries with restart points, and a
//! bidirectional iterator over a verified block body.

use crate::codec::{self, DResult, DecodeError};
use std::cmp::Ordering;
use std::sync::Arc;

/// Accumulates entries into one block body.
pub(crate) struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    restart_interval: usize,
    counter: usize,
    last_key: Vec<u8>,
    entries: usize,
}

impl BlockBuilder {
    pub(crate) fn new(restart_interval: usize) -> Self {
        BlockBuilder {
            buf: Vec::new(),
            restarts: vec![0],
            restart_interval: restart_interval.max(1),
            counter: 0,
            last_key: Vec::new(),
            entries: 0,
        }
    }

    /// Appends an entry; the caller guarantees internal-key order.
    pub(crate) fn add(&mut self, key: &[u8], trailer: u64, value: &[u8]) {
        let shared = if self.counter < self.restart_interval {
            self.last_key
                .iter()
                .zip(key)
                .take_while(|(a, b)| a == b)
                .count()
        } else {
            self.restarts.push(self.buf.len() as u32);
            self.counter = 0;
            0
        };
        codec::put_entry(&mut self.buf, shared, key, trailer, value);
        self.last_key.truncate(shared);
        self.last_key.extend_from_slice(&key[shared..]);
        self.counter += 1;
        self.entries += 1;
    }

    /// Size of the body if finished now.
    pub(crate) fn estimated_size(&self) -> usize {
        self.buf.len() + 4 * self.restarts.len() + 4
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Appends the restart array and returns the body, resetting the builder.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        let mut body = std::mem::take(&mut self.buf);
        codec::put_restarts(&mut body, &self.restarts);
        self.restarts.clear();
        self.restarts.push(0);
        self.counter = 0;
        self.last_key.clear();
        self.entries = 0;
        body
    }
}

/// A verified block body, cheap to clone (the bytes are shared).
#[derive(Clone)]
pub(crate) struct Block {
    data: Arc<[u8]>,
    /// End of the entry area = start of the restart array.
    restarts_at: usize,
    num_restarts: usize,
}

impl Block {
    /// Wraps a body whose checksum was verified; checks the restart array.
    pub(crate) fn new(data: Arc<[u8]>) -> DResult<Block> {
        let (restarts_at, num_restarts) = codec::parse_restarts(&data)?;
        Ok(Block {
            data,
            restarts_at,
            num_restarts,
        })
    }

    /// Bytes charged to the block cache.
    pub(crate) fn charge(&self) -> usize {
        self.data.len() + 64
    }

    fn entries(&self) -> &[u8] {
        &self.data[..self.restarts_at]
    }

    fn restart(&self, i: usize) -> usize {
        codec::restart_at(&self.data, self.restarts_at, i)
    }
}

/// The entry a point seek stopped at: the first entry >= the target in internal order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PointHit {
    /// Offset of the entry within the block.
    pub offset: usize,
    /// Whether the entry's user key equals the target's.
    pub key_eq: bool,
    pub trailer: u64,
    /// The value's byte range within the block.
    pub value: (usize, usize),
}

/// Length of the common prefix of `a` and `b`, comparing 8 bytes at a time.
#[cfg(test)]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    compare_from(a, b, 0).1
}

#[inline]
fn word(s: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[..8]);
    u64::from_le_bytes(w)
}

/// Orders `a` against `b` (bytewise) given that their first `known` bytes are equal;
/// returns the order and the length of the common prefix. Compares 8 bytes at a time; a
/// short remainder is compared with one 8-byte load ending at the shorter length, which
/// re-reads bytes already known to be equal. (If `known` overstates the common prefix,
/// which only unsorted, corrupt input can cause, the order is still total and nothing
/// panics.)
#[inline(always)]
fn compare_from(a: &[u8], b: &[u8], known: usize) -> (Ordering, usize) {
    let n = a.len().min(b.len());
    let (a8, b8) = (&a[..n], &b[..n]);
    let mut i = known.min(n);
    let l = loop {
        if i + 8 <= n {
            let d = word(&a8[i..]) ^ word(&b8[i..]);
            if d != 0 {
                break i + (d.trailing_zeros() / 8) as usize;
            }
            i += 8;
        } else if i == n {
            break n;
        } else if n >= 8 {
            let d = word(&a8[n - 8..]) ^ word(&b8[n - 8..]);
            break if d == 0 {
                n
            } else {
                n - 8 + (d.trailing_zeros() / 8) as usize
            };
        } else {
            while i < n && a8[i] == b8[i] {
                i += 1;
            }
            break i;
        }
    };
    let ord = match (a.get(l), b.get(l)) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => Ordering::Equal,
    };
    (ord, l)
}

impl Block {
    /// The bytes at `range` (empty if out of range).
    pub(crate) fn slice(&self, range: (usize, usize)) -> &[u8] {
        self.data.get(range.0..range.1).unwrap_or(&[])
    }

    /// Finds the first entry >= (key, trailer) in internal order without building a cursor:
    /// a binary search over the restart keys, compared in place, then a scan of one restart
    /// interval that compares each prefix-compressed key against the target without
    /// rebuilding it. Allocates nothing. `None` when every entry is smaller.
    ///
    /// Every entry it steps over is decoded with the same checks as [`BlockIter`], so the
    /// same corruption is reported (offsets relative to the block start).
    pub(crate) fn seek_point(&self, key: &[u8], trailer: u64) -> DResult<Option<PointHit>> {
        let entries = self.entries();
        // Last restart whose key is < target (restart 0 if none). `llo`/`lhi` are the common
        // prefix lengths of the target with the restart keys bounding the search; with sorted
        // restart keys every key between them shares min(llo, lhi) bytes with the target, so
        // those are not compared again.
        let (mut lo, mut hi) = (0usize, self.num_restarts - 1);
        let (mut llo, mut lhi) = (0usize, 0usize);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            let (k, t) = codec::get_restart_key(entries, self.restart(mid))?;
            let (ord, l) = compare_from(k, key, llo.min(lhi).min(k.len()));
            let ord = ord.then(trailer.cmp(&t));
            if ord == Ordering::Less {
                lo = mid;
                llo = l;
            } else {
                hi = mid - 1;
                lhi = l;
            }
        }
        // Scan forward from restart `lo`. Invariant: the previous entry (of length
        // `prev_len`, sharing `m` bytes with the target) is < target.
        let mut pos = self.restart(lo);
        let mut idx = lo;
        let next_restart = |i: usize| {
            if i + 1 < self.num_restarts {
                self.restart(i + 1)
            } else {
                usize::MAX
            }
        };
        let mut next = next_restart(idx);
        let mut prev_len = 0usize;
        let mut m = 0usize;
        while pos < self.restarts_at {
            // At a restart point the key starts afresh (as in `BlockIter::parse_next`).
            if next <= pos {
                if next == pos {
                    prev_len = 0;
                    m = 0;
                }
                while next <= pos {
                    idx += 1;
                    next = next_restart(idx);
                }
            }
            let e = codec::get_entry_ref(entries, pos, prev_len)?;
            let klen = e.shared + e.delta.len();
            if e.shared > m {
                // The previous key is < target and differs from it at byte m (m < prev_len,
                // or the target would be a prefix of it, hence smaller); this key keeps that
                // byte, so it is < target too and shares exactly m bytes with it.
                prev_len = klen;
                pos = e.value_end;
                continue;
            }
            // This key's first `shared` bytes equal the target's; compare the rest in place.
            let tail = key.get(e.shared..).unwrap_or(&[]);
            let (ord, l) = compare_from(e.delta, tail, 0);
            let ord = ord.then(trailer.cmp(&e.trailer));
            if ord != Ordering::Less {
                return Ok(Some(PointHit {
                    offset: pos,
                    key_eq: klen == key.len() && e.shared + l == klen,
                    trailer: e.trailer,
                    value: (e.value_start, e.value_end),
                }));
            }
            prev_len = klen;
            m = e.shared + l;
            pos = e.value_end;
        }
        Ok(None)
    }
}

/// One index entry decoded ahead of time: the key (as a range of the index block), its
/// trailer and the data block handle.
#[derive(Debug, Clone, Copy)]
struct FlatEntry {
    key_start: u32,
    key_end: u32,
    trailer: u64,
    handle: codec::BlockHandle,
}

/// An index block decoded once when the table is opened, so a point lookup binary-searches
/// plain structs (keys compared in place in the block) instead of decoding varints and
/// block handles on every probe. Costs 32 bytes per data block.
///
/// Built only from an index that the cursor path would read without error and search the
/// same way: every entry decodes, shares no key bytes (our writer uses restart interval 1),
/// holds a valid handle, and keys ascend strictly. Any other index is searched with
/// [`Block::seek_point`], which reports its corruption exactly as before.
pub(crate) struct FlatIndex {
    block: Block,
    entries: Vec<FlatEntry>,
}

impl FlatIndex {
    /// Decodes `index`, or `None` if it does not qualify (see the type's documentation).
    pub(crate) fn build(index: &Block) -> Option<FlatIndex> {
        let area = index.entries();
        // One entry per restart point when every entry is one (the restart array was checked
        // against the block's size, so this is bounded by the input).
        let mut entries: Vec<FlatEntry> = Vec::with_capacity(index.num_restarts);
        let mut pos = 0;
        while pos < index.restarts_at {
            let e = codec::get_entry_ref(area, pos, 0).ok()?;
            if e.shared != 0 {
                return None;
            }
            let key_end = e.value_start - codec::ENTRY_TRAILER_LEN;
            let key_start = key_end - e.delta.len();
            let handle = codec::get_handle(area.get(e.value_start..e.value_end)?).ok()?;
            if let Some(prev) = entries.last() {
                let pk = area.get(prev.key_start as usize..prev.key_end as usize)?;
                if codec::cmp_internal(pk, prev.trailer, e.delta, e.trailer) != Ordering::Less {
                    return None;
                }
            }
            entries.push(FlatEntry {
                key_start: u32::try_from(key_start).ok()?,
                key_end: u32::try_from(key_end).ok()?,
                trailer: e.trailer,
                handle,
            });
            pos = e.value_end;
        }
        entries.shrink_to_fit();
        Some(FlatIndex {
            block: index.clone(),
            entries,
        })
    }

    fn key(&self, e: &FlatEntry) -> &[u8] {
        self.block
            .data
            .get(e.key_start as usize..e.key_end as usize)
            .unwrap_or(&[])
    }

    /// The handle of the first data block whose last entry is >= (key, trailer), if any.
    pub(crate) fn seek(&self, key: &[u8], trailer: u64) -> Option<codec::BlockHandle> {
        // Binary search for the first entry >= target; `llo`/`lhi` as in `Block::seek_point`.
        let (mut lo, mut hi) = (0usize, self.entries.len());
        let (mut llo, mut lhi) = (0usize, 0usize);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let e = self.entries.get(mid)?;
            let k = self.key(e);
            let (ord, l) = compare_from(k, key, llo.min(lhi).min(k.len()));
            if ord.then(trailer.cmp(&e.trailer)) == Ordering::Less {
                lo = mid + 1;
                llo = l;
            } else {
                hi = mid;
                lhi = l;
            }
        }
        self.entries.get(lo).map(|e| e.handle)
    }
}

/// A cursor over a [`Block`]. Errors carry offsets relative to the block start.
pub(crate) struct BlockIter {
    block: Block,
    /// Offset of the current entry (== restarts_at when past the end).
    cur: usize,
    /// Offset of the entry after the current one.
    next: usize,
    /// Index of the restart region containing `cur`.
    restart_idx: usize,
    key: Vec<u8>,
    trailer: u64,
    value: (usize, usize),
    valid: bool,
}

impl BlockIter {
    pub(crate) fn new(block: Block) -> Self {
        let end = block.restarts_at;
        BlockIter {
            block,
            cur: end,
            next: end,
            restart_idx: 0,
            key: Vec::new(),
            trailer: 0,
            value: (0, 0),
            valid: false,
        }
    }

    pub(crate) fn valid(&self) -> bool {
        self.valid
    }
    pub(crate) fn key(&self) -> &[u8] {
        &self.key
    }
    pub(crate) fn trailer(&self) -> u64 {
        self.trailer
    }
    pub(crate) fn value(&self) -> &[u8] {
        self.block
            .data
            .get(self.value.0..self.value.1)
            .unwrap_or(&[])
    }
    /// Offset of the current entry within the block.
    pub(crate) fn offset(&self) -> usize {
        self.cur
    }

    fn invalidate(&mut self) {
        self.valid = false;
        self.cur = self.block.restarts_at;
        self.next = self.block.restarts_at;
    }

    fn seek_to_restart(&mut self, i: usize) {
        self.key.clear();
        self.restart_idx = i;
        self.next = self.block.restart(i);
        self.cur = self.next;
        self.valid = false;
    }

    /// Decodes the entry at `self.next`.
    fn parse_next(&mut self) -> DResult<bool> {
        self.cur = self.next;
        if self.cur >= self.block.restarts_at {
            self.invalidate();
            return Ok(false);
        }
        let at_restart = self.block.restart(self.restart_idx) == self.cur
            || (self.restart_idx + 1 < self.block.num_restarts
                && self.block.restart(self.restart_idx + 1) == self.cur);
        if at_restart {
            self.key.clear();
        }
        match codec::get_entry(self.block.entries(), self.cur, &mut self.key) {
            Ok(e) => {
                self.trailer = e.trailer;
                self.value = (e.value_start, e.value_end);
                self.next = e.next;
                while self.restart_idx + 1 < self.block.num_restarts
                    && self.block.restart(self.restart_idx + 1) <= self.cur
                {
                    self.restart_idx += 1;
                }
                self.valid = true;
                Ok(true)
            }
            Err(e) => {
                self.invalidate();
                Err(e)
            }
        }
    }

    pub(crate) fn seek_to_first(&mut self) -> DResult<()> {
        self.seek_to_restart(0);
        self.parse_next().map(|_| ())
    }

    pub(crate) fn seek_to_last(&mut self) -> DResult<()> {
        self.seek_to_restart(self.block.num_restarts - 1);
        while self.parse_next()? && self.next < self.block.restarts_at {}
        Ok(())
    }

    pub(crate) fn next(&mut self) -> DResult<()> {
        if !self.valid {
            return Ok(());
        }
        self.parse_next().map(|_| ())
    }

    pub(crate) fn prev(&mut self) -> DResult<()> {
        if !self.valid {
            return Ok(());
        }
        let original = self.cur;
        let mut idx = self.restart_idx;
        while self.block.restart(idx) >= original {
            if idx == 0 {
                self.invalidate();
                return Ok(());
            }
            idx -= 1;
        }
        self.seek_to_restart(idx);
        while self.parse_next()? && self.next < original {}
        if self.valid && self.next != original {
            let at = self.cur;
            self.invalidate();
            return Err(codec::err(
                at,
                "entries do not chain to the previous position",
            ));
        }
        Ok(())
    }

    /// Positions at the first entry >= (key, trailer) in internal order (invalid if none).
    pub(crate) fn seek(&mut self, key: &[u8], trailer: u64) -> DResult<()> {
        // Last restart whose key is < target (restart keys compared in place, skipping the
        // prefix known to be shared, as in `Block::seek_point`).
        let (mut lo, mut hi) = (0usize, self.block.num_restarts - 1);
        let (mut llo, mut lhi) = (0usize, 0usize);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            let probe = codec::get_restart_key(self.block.entries(), self.block.restart(mid));
            let (k, t) = match probe {
                Ok(x) => x,
                Err(e) => {
                    self.invalidate();
                    return Err(e);
                }
            };
            let (ord, l) = compare_from(k, key, llo.min(lhi).min(k.len()));
            if ord.then(trailer.cmp(&t)) == Ordering::Less {
                lo = mid;
                llo = l;
            } else {
                hi = mid - 1;
                lhi = l;
            }
        }
        self.seek_to_restart(lo);
        while self.parse_next()? {
            if compare_from(&self.key, key, 0)
                .0
                .then(trailer.cmp(&self.trailer))
                != Ordering::Less
            {
                break;
            }
        }
        Ok(())
    }
}

/// Decodes every entry of a block and checks that keys ascend strictly in internal order.
pub(crate) fn check_entries(block: &Block) -> Result<usize, DecodeError> {
    let mut it = BlockIter::new(block.clone());
    it.seek_to_first()?;
    let mut prev: Option<(Vec<u8>, u64)> = None;
    let mut n = 0;
    while it.valid() {
        if let Some((pk, pt)) = &prev {
            // (user_key, seq) must ascend strictly; the kind does not break ties.
            if codec::cmp_internal(pk, *pt >> 8, it.key(), it.trailer() >> 8) != Ordering::Less {
                return Err(codec::err(
                    it.offset(),
                    "keys out of order within the block",
                ));
            }
        }
        prev = Some((it.key().to_vec(), it.trailer()));
        n += 1;
        it.next()?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::pack_trailer;
    use crate::ValueKind;

    fn build(entries: &[(Vec<u8>, u64)], interval: usize) -> Block {
        let mut b = BlockBuilder::new(interval);
        for (k, s) in entries {
            b.add(
                k,
                pack_trailer(*s, ValueKind::Put),
                format!("v{s}").as_bytes(),
            );
        }
        Block::new(b.finish().into()).unwrap()
    }

    fn sample() -> Vec<(Vec<u8>, u64)> {
        let mut v = Vec::new();
        for i in 0..50u32 {
            let k = format!("key{:03}", i / 2).into_bytes();
            v.push((k, 1000 - u64::from(i)));
        }
        v
    }

    #[test]
    fn forward_backward_and_seek() {
        for interval in [1, 2, 3, 16, 100] {
            let e = sample();
            let b = build(&e, interval);
            let mut it = BlockIter::new(b.clone());
            it.seek_to_first().unwrap();
            for (k, s) in &e {
                assert!(it.valid());
                assert_eq!(it.key(), &k[..]);
                assert_eq!(it.trailer() >> 8, *s);
                assert_eq!(it.value(), format!("v{s}").as_bytes());
                it.next().unwrap();
            }
            assert!(!it.valid());
            it.seek_to_last().unwrap();
            for (k, s) in e.iter().rev() {
                assert!(it.valid());
                assert_eq!(it.key(), &k[..]);
                assert_eq!(it.trailer() >> 8, *s);
                it.prev().unwrap();
            }
            assert!(!it.valid());
            for (i, (k, s)) in e.iter().enumerate() {
                it.seek(k, pack_trailer(*s, ValueKind::Put)).unwrap();
                assert_eq!(it.key(), &k[..]);
                assert_eq!(it.trailer() >> 8, *s, "interval {interval} i {i}");
            }
            it.seek(b"key0245", u64::MAX).unwrap();
            assert!(!it.valid());
            it.seek(b"", u64::MAX).unwrap();
            assert_eq!(it.key(), b"key000");
            assert_eq!(check_entries(&b).unwrap(), e.len());
        }
    }

    #[test]
    fn common_prefix_matches_bytewise() {
        let a = b"0123456789abcdefghij";
        for la in 0..=a.len() {
            for lb in 0..=a.len() {
                for flip in 0..=lb {
                    let mut b = a[..lb].to_vec();
                    if flip < lb {
                        b[flip] ^= 0x40;
                    }
                    let want = a[..la].iter().zip(&b).take_while(|(x, y)| x == y).count();
                    assert_eq!(common_prefix(&a[..la], &b), want, "{la} {lb} {flip}");
                    assert_eq!(compare_from(&a[..la], &b, 0).0, a[..la].cmp(&b[..]));
                }
            }
        }
    }

    proptest::proptest! {
        /// The cursor-free point seek stops at the same entry as the cursor's seek.
        #[test]
        fn seek_point_agrees_with_cursor_seek(
            keys in proptest::collection::btree_set(proptest::collection::vec(0u8..4, 0..12), 0..60),
            interval in 1usize..20,
            targets in proptest::collection::vec((proptest::collection::vec(0u8..5, 0..13), 0u64..4), 0..40),
        ) {
            let mut b = BlockBuilder::new(interval);
            for (i, k) in keys.iter().enumerate() {
                for s in [3u64, 1] {
                    b.add(k, pack_trailer(s, ValueKind::Put), &[i as u8]);
                }
            }
            let block = Block::new(b.finish().into()).unwrap();
            let mut it = BlockIter::new(block.clone());
            for (t, s) in &targets {
                let tr = pack_trailer(*s, ValueKind::Put) | 0xff;
                it.seek(t, tr).unwrap();
                let hit = block.seek_point(t, tr).unwrap();
                proptest::prop_assert_eq!(hit.is_some(), it.valid());
                if let Some(h) = hit {
                    proptest::prop_assert_eq!(h.offset, it.offset());
                    proptest::prop_assert_eq!(h.key_eq, it.key() == &t[..]);
                    proptest::prop_assert_eq!(h.trailer, it.trailer());
                    proptest::prop_assert_eq!(block.slice(h.value), it.value());
                }
            }
        }
    }

    #[test]
    fn empty_block() {
        let b = Block::new(BlockBuilder::new(4).finish().into()).unwrap();
        let mut it = BlockIter::new(b);
        it.seek_to_first().unwrap();
        assert!(!it.valid());
        it.seek_to_last().unwrap();
        assert!(!it.valid());
        it.seek(b"a", 0).unwrap();
        assert!(!it.valid());
    }
}
