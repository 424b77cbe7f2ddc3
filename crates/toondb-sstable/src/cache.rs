//! A sharded LRU cache of decoded data blocks, bounded in bytes.

use crate::block::Block;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Cache key: (table file id, block offset).
type Key = (u64, u64);

struct Shard {
    map: HashMap<Key, (Block, u64)>,
    /// Recency order: tick -> key; the smallest tick is the least recently used.
    order: BTreeMap<u64, Key>,
    tick: u64,
    usage: usize,
    capacity: usize,
}

impl Shard {
    fn get(&mut self, key: Key) -> Option<Block> {
        self.tick += 1;
        let tick = self.tick;
        let (block, t) = self.map.get_mut(&key)?;
        self.order.remove(t);
        *t = tick;
        self.order.insert(tick, key);
        Some(block.clone())
    }

    fn insert(&mut self, key: Key, block: Block) {
        let charge = block.charge();
        if charge > self.capacity {
            return;
        }
        if let Some((old, t)) = self.map.remove(&key) {
            self.order.remove(&t);
            self.usage -= old.charge();
        }
        while self.usage + charge > self.capacity {
            let Some((_, victim)) = self.order.pop_first() else {
                break;
            };
            if let Some((old, _)) = self.map.remove(&victim) {
                self.usage -= old.charge();
            }
        }
        self.tick += 1;
        self.order.insert(self.tick, key);
        self.map.insert(key, (block, self.tick));
        self.usage += charge;
    }
}

/// Counters of a [`BlockCache`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups that found their block.
    pub hits: u64,
    /// Lookups that had to read the file.
    pub misses: u64,
    /// Bytes currently held (block bodies plus a small per-entry overhead).
    pub usage_bytes: u64,
    /// The configured bound.
    pub capacity_bytes: u64,
}

/// A sharded LRU cache of data blocks keyed by (file id, block offset), bounded in bytes and
/// shared by every table of a database. Blocks are reference-counted: readers never copy
/// them, and an evicted block stays alive while an iterator still uses it.
///
/// ```
/// use toondb_sstable::BlockCache;
/// let cache = BlockCache::new(8 << 20);
/// assert_eq!(cache.stats().capacity_bytes, 8 << 20);
/// assert_eq!(cache.stats().hits, 0);
/// ```
pub struct BlockCache {
    shards: Box<[Mutex<Shard>]>,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCache")
            .field("stats", &self.stats())
            .finish()
    }
}

impl BlockCache {
    /// A cache holding at most `capacity_bytes` (split evenly over up to 16 shards, fewer for
    /// small capacities so that a shard still holds several blocks).
    pub fn new(capacity_bytes: usize) -> Arc<Self> {
        let nshards = (capacity_bytes / (256 * 1024)).clamp(1, 16);
        let per = capacity_bytes / nshards;
        let shards = (0..nshards)
            .map(|_| {
                Mutex::new(Shard {
                    map: HashMap::new(),
                    order: BTreeMap::new(),
                    tick: 0,
                    usage: 0,
                    capacity: per,
                })
            })
            .collect();
        Arc::new(BlockCache {
            shards,
            capacity: capacity_bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    fn shard(&self, key: Key) -> &Mutex<Shard> {
        let h =
            (key.0.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ key.1).wrapping_mul(0xff51_afd7_ed55_8ccd);
        let i = ((h >> 32) as usize) % self.shards.len();
        &self.shards[i]
    }

    pub(crate) fn get(&self, file_id: u64, offset: u64) -> Option<Block> {
        let r = self.shard((file_id, offset)).lock().get((file_id, offset));
        if r.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        } else {
            self.misses.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    pub(crate) fn insert(&self, file_id: u64, offset: u64, block: Block) {
        self.shard((file_id, offset))
            .lock()
            .insert((file_id, offset), block);
    }

    /// Current counters.
    pub fn stats(&self) -> CacheStats {
        let usage: usize = self.shards.iter().map(|s| s.lock().usage).sum();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            usage_bytes: usage as u64,
            capacity_bytes: self.capacity as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::BlockBuilder;

    fn block(n: usize) -> Block {
        let mut b = BlockBuilder::new(16);
        b.add(b"k", 1, &vec![7u8; n]);
        Block::new(b.finish().into()).unwrap()
    }

    #[test]
    fn lru_eviction_respects_capacity_and_recency() {
        let one = block(1000).charge();
        let cache = BlockCache::new(one * 3);
        assert_eq!(cache.shards.len(), 1);
        cache.insert(1, 0, block(1000));
        cache.insert(1, 100, block(1000));
        cache.insert(1, 200, block(1000));
        assert!(cache.get(1, 0).is_some()); // 0 is now most recent
        cache.insert(2, 0, block(1000)); // evicts (1, 100)
        assert!(cache.get(1, 100).is_none());
        assert!(cache.get(1, 0).is_some());
        assert!(cache.get(1, 200).is_some());
        assert!(cache.get(2, 0).is_some());
        let s = cache.stats();
        assert_eq!((s.hits, s.misses), (4, 1));
        assert!(s.usage_bytes <= s.capacity_bytes);
        assert_eq!(s.usage_bytes, 3 * one as u64);
        // A block larger than the cache is not kept.
        cache.insert(3, 0, block(10_000));
        assert!(cache.get(3, 0).is_none());
    }

    #[test]
    fn sharded_cache_stays_bounded() {
        let cache = BlockCache::new(4 << 20);
        assert_eq!(cache.shards.len(), 16);
        for i in 0..2000u64 {
            cache.insert(i % 7, i * 4096, block(4000));
        }
        let s = cache.stats();
        assert!(s.usage_bytes <= s.capacity_bytes);
        assert!(s.usage_bytes > s.capacity_bytes / 2);
    }
}
