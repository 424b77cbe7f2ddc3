//! The whole-table bloom filter over user keys, with double hashing of one 64-bit hash.
//!
//! The hash ([`hash64`]) is part of the file format: it is defined here byte by byte and must
//! never change for format version 1.

use crate::codec;

const P1: u64 = 0x9e37_79b9_7f4a_7c15;
const P2: u64 = 0xc2b2_ae3d_27d4_eb4f;
const P3: u64 = 0x1656_67b1_9e37_79f9;

fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// A 64-bit hash of `data`: 8-byte little-endian words mixed by multiply-rotate, the tail
/// bytes zero-padded into one more word, the length folded in, and a murmur3 finalizer.
pub(crate) fn hash64(data: &[u8]) -> u64 {
    let mut h = P3 ^ (data.len() as u64).wrapping_mul(P1);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let k = u64::from_le_bytes(w)
            .wrapping_mul(P2)
            .rotate_left(31)
            .wrapping_mul(P1);
        h = (h ^ k).rotate_left(27).wrapping_mul(P1).wrapping_add(P3);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        let k = u64::from_le_bytes(w)
            .wrapping_mul(P2)
            .rotate_left(31)
            .wrapping_mul(P1);
        h ^= k;
    }
    fmix64(h)
}

/// Collects key hashes while a table is built.
pub(crate) struct BloomBuilder {
    bits_per_key: usize,
    hashes: Vec<u64>,
}

impl BloomBuilder {
    pub(crate) fn new(bits_per_key: usize) -> Self {
        BloomBuilder {
            bits_per_key,
            hashes: Vec::new(),
        }
    }

    /// Adds a distinct user key.
    pub(crate) fn add(&mut self, key: &[u8]) {
        if self.bits_per_key > 0 {
            self.hashes.push(hash64(key));
        }
    }

    /// The encoded filter block (empty if filtering is disabled).
    pub(crate) fn finish(&self) -> Vec<u8> {
        if self.bits_per_key == 0 {
            return Vec::new();
        }
        let nbits = self
            .hashes
            .len()
            .saturating_mul(self.bits_per_key)
            .max(64)
            .div_ceil(8)
            * 8;
        // k = bits_per_key * ln 2, rounded, clamped to [1, 30].
        let probes = ((self.bits_per_key as f64) * 0.69).round() as u8;
        let probes = probes.clamp(1, codec::MAX_BLOOM_PROBES);
        let mut bits = vec![0u8; nbits / 8];
        for &h in &self.hashes {
            for bit in probe_positions(h, probes, nbits as u64) {
                bits[(bit / 8) as usize] |= 1 << (bit % 8);
            }
        }
        codec::encode_bloom(&bits, probes)
    }
}

/// Bit positions probed for hash `h`: `h + i * delta (mod nbits)` for `i` in `0..probes`,
/// where `delta = rotl(h, 31) | 1`.
fn probe_positions(h: u64, probes: u8, nbits: u64) -> impl Iterator<Item = u64> {
    let delta = h.rotate_left(31) | 1;
    (0..u64::from(probes)).map(move |i| h.wrapping_add(i.wrapping_mul(delta)) % nbits)
}

/// A decoded filter.
pub(crate) struct Bloom {
    bits: Vec<u8>,
    probes: u8,
}

impl Bloom {
    /// From a verified block body.
    pub(crate) fn decode(body: &[u8]) -> codec::DResult<Bloom> {
        let (bits, probes) = codec::decode_bloom(body)?;
        Ok(Bloom {
            bits: bits.to_vec(),
            probes,
        })
    }

    /// False only if `key` is certainly absent.
    pub(crate) fn may_contain(&self, key: &[u8]) -> bool {
        if self.bits.is_empty() {
            return true;
        }
        let nbits = self.bits.len() as u64 * 8;
        probe_positions(hash64(key), self.probes, nbits).all(|bit| {
            self.bits
                .get((bit / 8) as usize)
                .is_some_and(|b| b & (1 << (bit % 8)) != 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable_and_spreads() {
        // Golden values: the hash is part of the on-disk format.
        // Changing any of these breaks every existing table's bloom filter.
        assert_eq!(hash64(b""), 0xf490_368a_ba8b_feac);
        assert_eq!(hash64(b"a"), 0xb70d_9c73_8d07_86fc);
        assert_eq!(hash64(b"hello world, toondb"), 0x65aa_5488_1693_ea0d);
        assert_ne!(hash64(b"a"), hash64(b"b"));
        assert_ne!(hash64(b"a"), hash64(b"a\0"));
        assert_ne!(hash64(b"12345678"), hash64(b"12345679"));
    }

    #[test]
    fn no_false_negatives_and_low_false_positive_rate() {
        let mut b = BloomBuilder::new(10);
        for i in 0..10_000u32 {
            b.add(format!("key{i}").as_bytes());
        }
        let f = Bloom::decode(&b.finish()).unwrap();
        for i in 0..10_000u32 {
            assert!(f.may_contain(format!("key{i}").as_bytes()));
        }
        let fp = (0..10_000u32)
            .filter(|i| f.may_contain(format!("other{i}").as_bytes()))
            .count();
        // ~1% expected at 10 bits/key; 3% leaves room for variance but catches a broken hash.
        assert!(fp < 300, "false positives: {fp}");
    }

    #[test]
    fn disabled_filter_admits_everything() {
        let mut b = BloomBuilder::new(0);
        b.add(b"x");
        let f = Bloom::decode(&b.finish()).unwrap();
        assert!(f.may_contain(b"anything"));
    }
}
