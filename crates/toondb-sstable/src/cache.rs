//! A sharded cache of decoded data blocks, bounded in bytes, with CLOCK (second chance)
//! eviction.
//!
//! A hit takes only its shard's read lock and sets the entry's "referenced" bit (if not already
//! set), so concurrent readers never serialise on recency bookkeeping; inserts and evictions
//! take the shard's write lock.

use crate::block::Block;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Cache key: (table file id, block offset).
type Key = (u64, u64);

/// A cheap hasher for cache keys. Keys are chosen by the engine (file numbers and offsets),
/// not by users, so flooding resistance is not needed.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        // Final avalanche (MurmurHash3 fmix64): the table indexes buckets by the low bits.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

struct Slot {
    key: Key,
    block: Block,
    /// Set by hits; cleared as the clock hand passes (second chance).
    referenced: AtomicBool,
}

struct Shard {
    map: HashMap<Key, usize, BuildHasherDefault<KeyHasher>>,
    /// The clock ring; `None` marks a free slot (listed in `free`).
    ring: Vec<Option<Slot>>,
    free: Vec<usize>,
    hand: usize,
    usage: usize,
    capacity: usize,
}

impl Shard {
    fn get(&self, key: Key) -> Option<Block> {
        let slot = self.ring.get(*self.map.get(&key)?)?.as_ref()?;
        // Only write the flag when it changes, so hot blocks do not bounce a cache line.
        if !slot.referenced.load(Ordering::Relaxed) {
            slot.referenced.store(true, Ordering::Relaxed);
        }
        Some(slot.block.clone())
    }

    /// Evicts the next entry (other than slot `keep`) the clock hand finds unreferenced;
    /// returns its slot index, or `None` when there is nothing to evict.
    fn evict_one(&mut self, keep: Option<usize>) -> Option<usize> {
        if self.map.len() <= usize::from(keep.is_some()) {
            return None;
        }
        // Every entry is visited at most twice: the first pass clears the referenced bits.
        for _ in 0..2 * self.ring.len() {
            if self.hand >= self.ring.len() {
                self.hand = 0;
            }
            let i = self.hand;
            self.hand += 1;
            if Some(i) == keep {
                continue;
            }
            let Some(slot) = &self.ring[i] else { continue };
            if slot.referenced.swap(false, Ordering::Relaxed) {
                continue;
            }
            if let Some(old) = self.ring[i].take() {
                self.map.remove(&old.key);
                self.usage -= old.block.charge();
            }
            return Some(i);
        }
        None
    }

    fn insert(&mut self, key: Key, block: Block) {
        let charge = block.charge();
        if charge > self.capacity {
            return;
        }
        if let Some(&i) = self.map.get(&key) {
            if let Some(slot) = self.ring.get_mut(i).and_then(Option::as_mut) {
                self.usage = self.usage - slot.block.charge() + charge;
                slot.block = block;
                slot.referenced.store(true, Ordering::Relaxed);
            }
            while self.usage > self.capacity {
                match self.evict_one(Some(i)) {
                    Some(j) => self.free.push(j),
                    None => break,
                }
            }
            return;
        }
        while self.usage + charge > self.capacity {
            match self.evict_one(None) {
                Some(i) => self.free.push(i),
                None => break,
            }
        }
        let slot = Slot {
            key,
            block,
            referenced: AtomicBool::new(false),
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.ring[i] = Some(slot);
                i
            }
            None => {
                self.ring.push(Some(slot));
                self.ring.len() - 1
            }
        };
        self.map.insert(key, i);
        self.usage += charge;
    }
}

/// One shard with its counters, on its own cache lines so shards do not false-share.
#[repr(align(128))]
struct ShardCell {
    shard: RwLock<Shard>,
    hits: AtomicU64,
    misses: AtomicU64,
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

/// A sharded cache of data blocks keyed by (file id, block offset), bounded in bytes and
/// shared by every table of a database, with CLOCK (second-chance) eviction. Lookups take a
/// shard's read lock only, so concurrent readers do not serialise. Blocks are
/// reference-counted: readers never copy them, and an evicted block stays alive while an
/// iterator still uses it.
///
/// ```
/// use toondb_sstable::BlockCache;
/// let cache = BlockCache::new(8 << 20);
/// assert_eq!(cache.stats().capacity_bytes, 8 << 20);
/// assert_eq!(cache.stats().hits, 0);
/// ```
pub struct BlockCache {
    shards: Box<[ShardCell]>,
    capacity: usize,
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
            .map(|_| ShardCell {
                shard: RwLock::new(Shard {
                    map: HashMap::default(),
                    ring: Vec::new(),
                    free: Vec::new(),
                    hand: 0,
                    usage: 0,
                    capacity: per,
                }),
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
            })
            .collect();
        Arc::new(BlockCache {
            shards,
            capacity: capacity_bytes,
        })
    }

    fn shard(&self, key: Key) -> &ShardCell {
        let h =
            (key.0.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ key.1).wrapping_mul(0xff51_afd7_ed55_8ccd);
        let i = ((h >> 32) as usize) % self.shards.len();
        &self.shards[i]
    }

    pub(crate) fn get(&self, file_id: u64, offset: u64) -> Option<Block> {
        let cell = self.shard((file_id, offset));
        let r = cell.shard.read().get((file_id, offset));
        if r.is_some() {
            cell.hits.fetch_add(1, Ordering::Relaxed);
        } else {
            cell.misses.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    pub(crate) fn insert(&self, file_id: u64, offset: u64, block: Block) {
        self.shard((file_id, offset))
            .shard
            .write()
            .insert((file_id, offset), block);
    }

    /// Current counters.
    pub fn stats(&self) -> CacheStats {
        let mut st = CacheStats {
            capacity_bytes: self.capacity as u64,
            ..CacheStats::default()
        };
        for c in self.shards.iter() {
            st.usage_bytes += c.shard.read().usage as u64;
            st.hits += c.hits.load(Ordering::Relaxed);
            st.misses += c.misses.load(Ordering::Relaxed);
        }
        st
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
    fn clock_eviction_respects_capacity_and_recency() {
        let one = block(1000).charge();
        let cache = BlockCache::new(one * 3);
        assert_eq!(cache.shards.len(), 1);
        cache.insert(1, 0, block(1000));
        cache.insert(1, 100, block(1000));
        cache.insert(1, 200, block(1000));
        assert!(cache.get(1, 0).is_some()); // 0 is now most recent
        cache.insert(2, 0, block(1000)); // (1, 0) gets a second chance; evicts (1, 100)
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
    fn mixed_sizes_reuse_freed_slots_and_replacement_stays_bounded() {
        let small = block(500).charge();
        let big = block(2000).charge();
        let cache = BlockCache::new(big * 2);
        assert_eq!(cache.shards.len(), 1);
        for i in 0..8u64 {
            cache.insert(1, i, block(500));
        }
        // Fills with small blocks, then a big one evicts as many as it needs.
        cache.insert(2, 0, block(2000));
        let s = cache.stats();
        assert!(s.usage_bytes <= s.capacity_bytes, "{s:?}");
        assert!(cache.get(2, 0).is_some());
        let kept = (0..8u64).filter(|&i| cache.get(1, i).is_some()).count();
        assert_eq!(
            cache.stats().usage_bytes,
            (big + kept * small) as u64,
            "usage must match what is still cached"
        );
        // Replacing an entry by a larger block keeps that entry and evicts others.
        cache.insert(1, 100, block(500));
        cache.insert(1, 100, block(2000));
        assert!(cache.get(1, 100).is_some());
        assert!(cache.stats().usage_bytes <= cache.stats().capacity_bytes);
        let shard = cache.shards[0].shard.read();
        // Freed slots are reused: the ring never grows past the most entries ever held.
        assert!(shard.ring.len() <= 9, "ring grew to {}", shard.ring.len());
        assert_eq!(
            shard.map.len(),
            shard.ring.iter().filter(|s| s.is_some()).count()
        );
    }

    #[test]
    fn concurrent_hits_and_inserts_stay_consistent() {
        let cache = BlockCache::new(64 * block(100).charge());
        let hs: Vec<_> = (0..4u64)
            .map(|t| {
                let cache = cache.clone();
                std::thread::spawn(move || {
                    for i in 0..2000u64 {
                        let off = (i * 7 + t) % 200;
                        if cache.get(3, off).is_none() {
                            cache.insert(3, off, block(100));
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let s = cache.stats();
        assert_eq!(s.hits + s.misses, 8000);
        assert!(s.usage_bytes <= s.capacity_bytes, "{s:?}");
        for c in cache.shards.iter() {
            let sh = c.shard.read();
            let live: usize = sh.ring.iter().flatten().map(|s| s.block.charge()).sum();
            assert_eq!(live, sh.usage);
            assert_eq!(sh.map.len(), sh.ring.iter().flatten().count());
        }
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
