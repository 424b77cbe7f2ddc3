//! Vector quantization: scalar 8-bit (SQ8) and product quantization (PQ).
//!
//! Both are *asymmetric*: the query stays in f32 and is turned into a small lookup structure
//! ([`QueryLut`]) once per search; stored vectors are only codes.

use crate::error::{IndexError, Result};
use crate::metric::Metric;
use crate::rng::Rng;
use crate::simd;

/// Which quantizer an index uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantization {
    /// Full-precision f32 vectors.
    None,
    /// One byte per dimension, per-dimension min/max trained on the data.
    Sq8,
    /// Product quantization with `m` subspaces of 256 centroids (one byte per subspace).
    /// `m` must divide the dimension.
    Pq {
        /// Number of subspaces.
        m: usize,
    },
}

/// Scalar 8-bit quantizer: `x[i] ~ min[i] + scale[i] * code[i]`.
#[derive(Clone, Debug)]
pub struct Sq8 {
    min: Vec<f32>,
    scale: Vec<f32>,
}

impl Sq8 {
    /// Learns per-dimension min/max from `data` (row-major, `dim` columns).
    pub fn train(data: &[f32], dim: usize) -> Result<Sq8> {
        if dim == 0 || data.is_empty() || !data.len().is_multiple_of(dim) {
            return Err(IndexError::InvalidArgument(
                "SQ8 training needs at least one vector".into(),
            ));
        }
        let mut lo = vec![f32::INFINITY; dim];
        let mut hi = vec![f32::NEG_INFINITY; dim];
        for row in data.chunks_exact(dim) {
            for i in 0..dim {
                lo[i] = lo[i].min(row[i]);
                hi[i] = hi[i].max(row[i]);
            }
        }
        let scale = lo
            .iter()
            .zip(&hi)
            .map(|(l, h)| {
                let s = (h - l) / 255.0;
                if s > 0.0 && s.is_finite() {
                    s
                } else {
                    1.0
                }
            })
            .collect();
        Ok(Sq8 { min: lo, scale })
    }

    /// Bytes per code (= dimension).
    pub fn code_len(&self) -> usize {
        self.min.len()
    }

    /// Encodes `v` into `out` (values outside the trained range are clamped).
    pub fn encode(&self, v: &[f32], out: &mut [u8]) {
        for i in 0..self.min.len().min(v.len()).min(out.len()) {
            let c = ((v[i] - self.min[i]) / self.scale[i]).round();
            out[i] = c.clamp(0.0, 255.0) as u8;
        }
    }

    /// Decodes `code` into `out`.
    pub fn decode(&self, code: &[u8], out: &mut [f32]) {
        for i in 0..self.min.len().min(code.len()).min(out.len()) {
            out[i] = self.min[i] + self.scale[i] * f32::from(code[i]);
        }
    }

    /// Heap bytes of the parameters.
    pub fn memory_bytes(&self) -> usize {
        (self.min.capacity() + self.scale.capacity()) * 4
    }
}

/// Product quantizer: the vector is cut into `m` contiguous sub-vectors, each replaced by the
/// index of its nearest of 256 k-means centroids.
#[derive(Clone, Debug)]
pub struct Pq {
    m: usize,
    dsub: usize,
    ksub: usize,
    /// `m * ksub * dsub` floats.
    centroids: Vec<f32>,
}

/// k-means iterations used for PQ training.
const PQ_ITERS: usize = 10;
/// At most this many training vectors are sampled.
const PQ_MAX_TRAIN: usize = 10_000;

impl Pq {
    /// Trains `m` codebooks of up to 256 centroids on `data` with k-means (seeded, parallel
    /// over subspaces on `threads` threads).
    pub fn train(data: &[f32], dim: usize, m: usize, seed: u64, threads: usize) -> Result<Pq> {
        if m == 0 || dim == 0 || !dim.is_multiple_of(m) {
            return Err(IndexError::InvalidArgument(format!(
                "PQ subspace count {m} must be >= 1 and divide the dimension {dim}"
            )));
        }
        if data.is_empty() || !data.len().is_multiple_of(dim) {
            return Err(IndexError::InvalidArgument(
                "PQ training needs at least one vector".into(),
            ));
        }
        let n = data.len() / dim;
        let dsub = dim / m;
        let ksub = 256.min(n);
        // Sample training rows.
        let mut rng = Rng::new(seed);
        let rows: Vec<usize> = if n <= PQ_MAX_TRAIN {
            (0..n).collect()
        } else {
            let mut all: Vec<usize> = (0..n).collect();
            for i in 0..PQ_MAX_TRAIN {
                let j = i + rng.below(n - i);
                all.swap(i, j);
            }
            all.truncate(PQ_MAX_TRAIN);
            all
        };
        let mut centroids = vec![0.0f32; m * ksub * dsub];
        let threads = threads.max(1);
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results = parking_lot::Mutex::new(Vec::with_capacity(m));
        std::thread::scope(|s| {
            for _ in 0..threads.min(m) {
                s.spawn(|| loop {
                    let j = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if j >= m {
                        break;
                    }
                    let sub: Vec<f32> = rows
                        .iter()
                        .flat_map(|&r| &data[r * dim + j * dsub..r * dim + (j + 1) * dsub])
                        .copied()
                        .collect();
                    let c = kmeans(&sub, dsub, ksub, PQ_ITERS, seed.wrapping_add(j as u64));
                    results.lock().push((j, c));
                });
            }
        });
        for (j, c) in results.into_inner() {
            centroids[j * ksub * dsub..(j + 1) * ksub * dsub].copy_from_slice(&c);
        }
        Ok(Pq {
            m,
            dsub,
            ksub,
            centroids,
        })
    }

    /// Bytes per code (= number of subspaces).
    pub fn code_len(&self) -> usize {
        self.m
    }

    fn centroid(&self, j: usize, c: usize) -> &[f32] {
        let off = (j * self.ksub + c) * self.dsub;
        &self.centroids[off..off + self.dsub]
    }

    /// Encodes `v` into `out` (`m` bytes).
    pub fn encode(&self, v: &[f32], out: &mut [u8]) {
        for (j, o) in out.iter_mut().enumerate().take(self.m) {
            let x = &v[j * self.dsub..(j + 1) * self.dsub];
            let mut best = (f32::INFINITY, 0usize);
            for c in 0..self.ksub {
                let d = simd::l2sq(x, self.centroid(j, c));
                if d < best.0 {
                    best = (d, c);
                }
            }
            *o = best.1 as u8;
        }
    }

    /// Decodes `code` into `out`.
    pub fn decode(&self, code: &[u8], out: &mut [f32]) {
        for (j, &c) in code.iter().enumerate().take(self.m) {
            let c = usize::from(c).min(self.ksub - 1);
            out[j * self.dsub..(j + 1) * self.dsub].copy_from_slice(self.centroid(j, c));
        }
    }

    /// Heap bytes of the codebooks.
    pub fn memory_bytes(&self) -> usize {
        self.centroids.capacity() * 4
    }
}

/// Lloyd's k-means with random initial centroids drawn from the data; empty clusters are
/// re-seeded with a random point.
fn kmeans(data: &[f32], d: usize, k: usize, iters: usize, seed: u64) -> Vec<f32> {
    let n = data.len() / d;
    let mut rng = Rng::new(seed);
    let mut cent = vec![0.0f32; k * d];
    // Distinct random rows as initial centroids.
    let mut perm: Vec<usize> = (0..n).collect();
    for i in 0..k.min(n) {
        let j = i + rng.below(n - i);
        perm.swap(i, j);
        cent[i * d..(i + 1) * d].copy_from_slice(&data[perm[i] * d..(perm[i] + 1) * d]);
    }
    let mut assign = vec![0usize; n];
    let mut sums = vec![0.0f64; k * d];
    let mut counts = vec![0usize; k];
    for _ in 0..iters {
        for (i, row) in data.chunks_exact(d).enumerate() {
            let mut best = (f32::INFINITY, 0usize);
            for c in 0..k {
                let dd = simd::l2sq(row, &cent[c * d..(c + 1) * d]);
                if dd < best.0 {
                    best = (dd, c);
                }
            }
            assign[i] = best.1;
        }
        sums.iter_mut().for_each(|s| *s = 0.0);
        counts.iter_mut().for_each(|c| *c = 0);
        for (i, row) in data.chunks_exact(d).enumerate() {
            let c = assign[i];
            counts[c] += 1;
            for t in 0..d {
                sums[c * d + t] += f64::from(row[t]);
            }
        }
        for c in 0..k {
            if counts[c] == 0 {
                let r = rng.below(n);
                cent[c * d..(c + 1) * d].copy_from_slice(&data[r * d..(r + 1) * d]);
            } else {
                for t in 0..d {
                    cent[c * d + t] = (sums[c * d + t] / counts[c] as f64) as f32;
                }
            }
        }
    }
    cent
}

/// A trained quantizer.
#[derive(Clone, Debug)]
pub enum Quantizer {
    /// Scalar 8-bit.
    Sq8(Sq8),
    /// Product quantization.
    Pq(Pq),
}

/// Per-query precomputation for asymmetric distances.
#[derive(Clone, Debug)]
pub enum QueryLut {
    /// SQ8: `dot(q, x) = bias + dot_u8(q_scaled, code)`; `qnorm = |q|^2` for L2.
    Sq8 {
        /// `q[i] * scale[i]`.
        q_scaled: Vec<f32>,
        /// `sum(q[i] * min[i])`.
        bias: f32,
        /// `|q|^2`.
        qnorm: f32,
    },
    /// PQ: `table[j * 256 + c]` is the partial distance of subspace `j` to centroid `c`.
    Pq {
        /// `m * ksub` partial distances.
        table: Vec<f32>,
        /// Centroids per subspace.
        ksub: usize,
        /// Added to the sum (1 for cosine: distance = 1 - dot).
        offset: f32,
    },
}

impl Quantizer {
    /// Trains the quantizer named by `kind` on `data` (row-major, `dim` columns).
    /// Returns `Ok(None)` for [`Quantization::None`].
    pub fn train(
        kind: Quantization,
        data: &[f32],
        dim: usize,
        seed: u64,
        threads: usize,
    ) -> Result<Option<Quantizer>> {
        Ok(match kind {
            Quantization::None => None,
            Quantization::Sq8 => Some(Quantizer::Sq8(Sq8::train(data, dim)?)),
            Quantization::Pq { m } => Some(Quantizer::Pq(Pq::train(data, dim, m, seed, threads)?)),
        })
    }

    /// Bytes per encoded vector.
    pub fn code_len(&self) -> usize {
        match self {
            Quantizer::Sq8(q) => q.code_len(),
            Quantizer::Pq(q) => q.code_len(),
        }
    }

    /// Encodes a prepared vector.
    pub fn encode(&self, v: &[f32], out: &mut [u8]) {
        match self {
            Quantizer::Sq8(q) => q.encode(v, out),
            Quantizer::Pq(q) => q.encode(v, out),
        }
    }

    /// Decodes a code to an approximate vector.
    pub fn decode(&self, code: &[u8], out: &mut [f32]) {
        match self {
            Quantizer::Sq8(q) => q.decode(code, out),
            Quantizer::Pq(q) => q.decode(code, out),
        }
    }

    /// Heap bytes of the trained parameters.
    pub fn memory_bytes(&self) -> usize {
        match self {
            Quantizer::Sq8(q) => q.memory_bytes(),
            Quantizer::Pq(q) => q.memory_bytes(),
        }
    }

    /// Precomputes the per-query lookup for `q` (already prepared for `metric`).
    pub fn lut(&self, metric: Metric, q: &[f32]) -> QueryLut {
        match self {
            Quantizer::Sq8(s) => QueryLut::Sq8 {
                q_scaled: q.iter().zip(&s.scale).map(|(a, b)| a * b).collect(),
                bias: simd::dot(q, &s.min),
                qnorm: simd::dot(q, q),
            },
            Quantizer::Pq(p) => {
                let mut table = vec![0.0f32; p.m * p.ksub];
                // Sub-vectors are short (typically 4..16): plain loops the compiler vectorises
                // beat a dispatched kernel call per centroid.
                let l2 = metric == Metric::L2;
                for j in 0..p.m {
                    let qs = &q[j * p.dsub..(j + 1) * p.dsub];
                    let cents = &p.centroids[j * p.ksub * p.dsub..(j + 1) * p.ksub * p.dsub];
                    let row = &mut table[j * p.ksub..(j + 1) * p.ksub];
                    for (t, cen) in row.iter_mut().zip(cents.chunks_exact(p.dsub)) {
                        *t = if l2 {
                            qs.iter().zip(cen).map(|(a, b)| (a - b) * (a - b)).sum()
                        } else {
                            -qs.iter().zip(cen).map(|(a, b)| a * b).sum::<f32>()
                        };
                    }
                }
                let offset = if metric == Metric::Cosine { 1.0 } else { 0.0 };
                QueryLut::Pq {
                    table,
                    ksub: p.ksub,
                    offset,
                }
            }
        }
    }
}

impl QueryLut {
    /// Approximate distance of the query to `code`; `xnorm` is `|decode(code)|^2` (only read
    /// for SQ8 under L2).
    #[inline]
    pub fn distance(&self, metric: Metric, code: &[u8], xnorm: f32) -> f32 {
        match self {
            QueryLut::Sq8 {
                q_scaled,
                bias,
                qnorm,
            } => {
                let dot = bias + simd::dot_u8(q_scaled, code);
                match metric {
                    Metric::L2 => (qnorm + xnorm - 2.0 * dot).max(0.0),
                    Metric::Cosine => 1.0 - dot,
                    Metric::InnerProduct => -dot,
                }
            }
            QueryLut::Pq {
                table,
                ksub,
                offset,
            } => {
                let mut s = *offset;
                for (j, &c) in code.iter().enumerate() {
                    s += table.get(j * ksub + usize::from(c)).copied().unwrap_or(0.0);
                }
                s
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut r = Rng::new(seed);
        (0..n * dim).map(|_| r.gauss()).collect()
    }

    #[test]
    fn sq8_round_trip_error_is_small() {
        let dim = 13;
        let d = data(500, dim, 1);
        let q = Sq8::train(&d, dim).unwrap();
        let mut code = vec![0u8; dim];
        let mut back = vec![0.0f32; dim];
        for row in d.chunks_exact(dim) {
            q.encode(row, &mut code);
            q.decode(&code, &mut back);
            for i in 0..dim {
                assert!((row[i] - back[i]).abs() <= q.scale[i] * 0.5 + 1e-5);
            }
        }
    }

    #[test]
    fn sq8_asymmetric_distance_matches_decoded() {
        let dim = 37;
        let d = data(200, dim, 2);
        let quant = Quantizer::train(Quantization::Sq8, &d, dim, 0, 1)
            .unwrap()
            .unwrap();
        let q = &d[..dim];
        let mut code = vec![0u8; dim];
        let mut back = vec![0.0f32; dim];
        for metric in [Metric::L2, Metric::InnerProduct] {
            let lut = quant.lut(metric, q);
            for row in d.chunks_exact(dim).skip(1).take(50) {
                quant.encode(row, &mut code);
                quant.decode(&code, &mut back);
                let xnorm = simd::dot(&back, &back);
                let exact = metric.distance(q, &back);
                let approx = lut.distance(metric, &code, xnorm);
                assert!(
                    (exact - approx).abs() < 1e-3 * exact.abs().max(1.0),
                    "{metric:?}"
                );
            }
        }
    }

    #[test]
    fn pq_distance_matches_decoded_and_rejects_bad_m() {
        let dim = 16;
        let d = data(600, dim, 3);
        assert!(matches!(
            Pq::train(&d, dim, 5, 0, 1),
            Err(IndexError::InvalidArgument(_))
        ));
        let quant = Quantizer::train(Quantization::Pq { m: 4 }, &d, dim, 9, 2)
            .unwrap()
            .unwrap();
        let q = &d[..dim];
        let mut code = vec![0u8; 4];
        let mut back = vec![0.0f32; dim];
        for metric in [Metric::L2, Metric::InnerProduct] {
            let lut = quant.lut(metric, q);
            for row in d.chunks_exact(dim).take(50) {
                quant.encode(row, &mut code);
                quant.decode(&code, &mut back);
                let exact = metric.distance(q, &back);
                let approx = lut.distance(metric, &code, 0.0);
                assert!((exact - approx).abs() < 1e-3 * exact.abs().max(1.0));
            }
        }
        // Quantization error must be well below the data variance (k-means did something).
        let mut err = 0.0f32;
        for row in d.chunks_exact(dim) {
            quant.encode(row, &mut code);
            quant.decode(&code, &mut back);
            err += simd::l2sq(row, &back);
        }
        let var: f32 = d.iter().map(|x| x * x).sum();
        assert!(err < 0.6 * var, "err {err} var {var}");
    }

    #[test]
    fn pq_with_fewer_points_than_centroids() {
        let dim = 4;
        let d = data(10, dim, 4);
        let quant = Pq::train(&d, dim, 2, 0, 1).unwrap();
        let mut code = [0u8; 2];
        quant.encode(&d[..dim], &mut code);
        let mut back = [0.0f32; 4];
        quant.decode(&code, &mut back);
        // Every training point is its own centroid.
        assert!(simd::l2sq(&d[..dim], &back) < 1e-6);
    }
}
