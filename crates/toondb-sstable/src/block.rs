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
        // Last restart whose key is < target.
        let (mut lo, mut hi) = (0usize, self.block.num_restarts - 1);
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
            if codec::cmp_internal(k, t, key, trailer) == Ordering::Less {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        self.seek_to_restart(lo);
        while self.parse_next()? {
            if codec::cmp_internal(&self.key, self.trailer, key, trailer) != Ordering::Less {
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
