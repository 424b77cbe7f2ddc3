//! Distance kernels: scalar reference implementations plus SIMD versions selected at run time
//! (AVX2+FMA on x86_64 via `is_x86_feature_detected!`, NEON on aarch64).
//!
//! This is the only module of the crate that may contain `unsafe` code. Every `unsafe` block
//! carries a `// SAFETY:` comment. The public functions are safe: they check slice lengths and
//! dispatch to an implementation whose CPU features were verified once at start-up.
#![allow(unsafe_code)]

use std::sync::OnceLock;

/// Which implementation the dispatching functions use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelLevel {
    /// Portable scalar code (auto-vectorised by the compiler as far as it can).
    Scalar,
    /// AVX2 + FMA (x86_64).
    Avx2Fma,
    /// NEON (aarch64).
    Neon,
}

type F32Kernel = fn(&[f32], &[f32]) -> f32;
type U8Kernel = fn(&[f32], &[u8]) -> f32;

struct Kernels {
    level: KernelLevel,
    dot: F32Kernel,
    l2sq: F32Kernel,
    dot_u8: U8Kernel,
}

fn kernels() -> &'static Kernels {
    static K: OnceLock<Kernels> = OnceLock::new();
    K.get_or_init(detect)
}

fn scalar_kernels() -> Kernels {
    Kernels {
        level: KernelLevel::Scalar,
        dot: dot_scalar,
        l2sq: l2sq_scalar,
        dot_u8: dot_u8_scalar,
    }
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Kernels {
    if std::env::var_os("TOONDB_FORCE_SCALAR").is_some() {
        return scalar_kernels();
    }
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        Kernels {
            level: KernelLevel::Avx2Fma,
            dot: x86::dot,
            l2sq: x86::l2sq,
            dot_u8: x86::dot_u8,
        }
    } else {
        scalar_kernels()
    }
}

#[cfg(target_arch = "aarch64")]
fn detect() -> Kernels {
    if std::env::var_os("TOONDB_FORCE_SCALAR").is_some() {
        return scalar_kernels();
    }
    // NEON is part of the aarch64 baseline, but check anyway.
    if std::arch::is_aarch64_feature_detected!("neon") {
        Kernels {
            level: KernelLevel::Neon,
            dot: neon::dot,
            l2sq: neon::l2sq,
            dot_u8: neon::dot_u8,
        }
    } else {
        scalar_kernels()
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn detect() -> Kernels {
    scalar_kernels()
}

/// The kernel level chosen for this process (set `TOONDB_FORCE_SCALAR=1` to force scalar).
pub fn kernel_level() -> KernelLevel {
    kernels().level
}

/// The selected dot-product kernel, for callers that compute many distances and want to skip
/// the per-call dispatch (like [`dot`], it uses the shorter length of the two slices).
pub fn dot_kernel() -> fn(&[f32], &[f32]) -> f32 {
    kernels().dot
}

/// The selected squared-L2 kernel (see [`dot_kernel`]).
pub fn l2sq_kernel() -> fn(&[f32], &[f32]) -> f32 {
    kernels().l2sq
}

/// Dot product of two equally long slices (the shorter length is used if they differ).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    (kernels().dot)(&a[..n], &b[..n])
}

/// Squared Euclidean distance of two equally long slices (shorter length used if they differ).
#[inline]
pub fn l2sq(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    (kernels().l2sq)(&a[..n], &b[..n])
}

/// `sum(q[i] * c[i] as f32)`: the inner loop of asymmetric SQ8 distances.
#[inline]
pub fn dot_u8(q: &[f32], c: &[u8]) -> f32 {
    let n = q.len().min(c.len());
    (kernels().dot_u8)(&q[..n], &c[..n])
}

/// Scalar reference: dot product.
pub fn dot_scalar(a: &[f32], b: &[f32]) -> f32 {
    // Four independent accumulators so the compiler can vectorise without reassociation issues.
    let mut acc = [0.0f32; 4];
    let chunks = a.len() / 4;
    for i in 0..chunks {
        for (j, slot) in acc.iter_mut().enumerate() {
            *slot += a[i * 4 + j] * b[i * 4 + j];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for i in chunks * 4..a.len().min(b.len()) {
        s += a[i] * b[i];
    }
    s
}

/// Scalar reference: squared L2 distance.
pub fn l2sq_scalar(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 4];
    let chunks = a.len() / 4;
    for i in 0..chunks {
        for (j, slot) in acc.iter_mut().enumerate() {
            let d = a[i * 4 + j] - b[i * 4 + j];
            *slot += d * d;
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for i in chunks * 4..a.len().min(b.len()) {
        let d = a[i] - b[i];
        s += d * d;
    }
    s
}

/// Scalar reference: `sum(q[i] * c[i])` with `c` widened from u8.
pub fn dot_u8_scalar(q: &[f32], c: &[u8]) -> f32 {
    let mut acc = [0.0f32; 4];
    let chunks = q.len() / 4;
    for i in 0..chunks {
        for (j, slot) in acc.iter_mut().enumerate() {
            *slot += q[i * 4 + j] * f32::from(c[i * 4 + j]);
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for i in chunks * 4..q.len().min(c.len()) {
        s += q[i] * f32::from(c[i]);
    }
    s
}

/// Hint the CPU to pull the cache line holding `slice[0]` (no-op where unsupported).
#[inline]
pub fn prefetch<T>(slice: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(first) = slice.first() {
            // SAFETY: `_mm_prefetch` only hints the cache; it never faults, even on invalid
            // addresses, and the pointer here comes from a live reference. SSE is part of the
            // x86_64 baseline.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    (first as *const T).cast::<i8>(),
                );
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = slice;
    }
}

/// Per-node rows that keep a node's layer-0 adjacency list and its f32 vector side by side,
/// so a graph walk touches one memory region per node (as hnswlib does).
///
/// Each row is `links_w` atomic words (mutated concurrently by graph builders) followed by
/// `vec_w` words holding the vector's `f32` bits. The vector words are only ever written
/// through `&mut self` ([`NodeRows::set_vector`]) and are never handed out as atomics, which
/// is what makes the plain `&[f32]` view of [`NodeRows::vector`] sound.
#[derive(Debug, Default)]
pub struct NodeRows {
    words: Vec<std::sync::atomic::AtomicU32>,
    links_w: usize,
    vec_w: usize,
}

impl NodeRows {
    /// Empty rows of `links_w` link words and `vec_w` vector floats.
    pub fn new(links_w: usize, vec_w: usize) -> Self {
        NodeRows {
            words: Vec::new(),
            links_w,
            vec_w,
        }
    }

    fn stride(&self) -> usize {
        self.links_w + self.vec_w
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.words.len().checked_div(self.stride()).unwrap_or(0)
    }

    /// Floats per vector (0 once vectors were dropped).
    pub fn vec_width(&self) -> usize {
        self.vec_w
    }

    /// Reserves room for `extra` more rows (exactly).
    pub fn reserve_exact(&mut self, extra: usize) {
        self.words
            .reserve_exact(extra.saturating_mul(self.stride()));
    }

    /// Appends a zeroed row.
    pub fn push_row(&mut self) {
        let w = self.stride();
        self.words
            .extend((0..w).map(|_| std::sync::atomic::AtomicU32::new(0)));
    }

    /// The link words of row `i`.
    #[inline]
    pub fn links(&self, i: usize) -> &[std::sync::atomic::AtomicU32] {
        let s = i * self.stride();
        &self.words[s..s + self.links_w]
    }

    /// The vector of row `i` (empty once vectors were dropped).
    #[inline]
    pub fn vector(&self, i: usize) -> &[f32] {
        let s = i * self.stride() + self.links_w;
        let words = &self.words[s..s + self.vec_w];
        // SAFETY: `AtomicU32` has the same size, alignment and bit validity as `u32`, and every
        // bit pattern is a valid `f32`, so the cast yields `vec_w` initialised floats inside
        // one allocation. These vector words are written only by `set_vector`, which takes
        // `&mut self`, and are never exposed as atomics (`links` stops at `links_w`), so no
        // write can happen while this shared borrow of `self` is alive.
        unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<f32>(), words.len()) }
    }

    /// Writes the vector of row `i` (extra floats in `v` are ignored).
    pub fn set_vector(&mut self, i: usize, v: &[f32]) {
        let s = i * self.stride() + self.links_w;
        let vw = self.vec_w;
        for (w, x) in self.words[s..s + vw].iter_mut().zip(v) {
            *w.get_mut() = x.to_bits();
        }
    }

    /// Drops the vector part of every row, keeping the links.
    pub fn drop_vectors(&mut self) {
        if self.vec_w == 0 {
            return;
        }
        let rows = self.rows();
        let mut words = Vec::with_capacity(rows * self.links_w);
        for r in 0..rows {
            words.extend(self.links(r).iter().map(|a| {
                std::sync::atomic::AtomicU32::new(a.load(std::sync::atomic::Ordering::Relaxed))
            }));
        }
        self.words = words;
        self.vec_w = 0;
    }

    /// Heap bytes of (links, vectors), by allocated capacity.
    pub fn memory_bytes(&self) -> (usize, usize) {
        let cap_rows = self
            .words
            .capacity()
            .checked_div(self.stride())
            .unwrap_or(0);
        let total = self.words.capacity() * 4;
        let vecs = cap_rows * self.vec_w * 4;
        (total - vecs, vecs)
    }

    /// Prefetches the start of row `i` (its links, then its vector).
    #[inline]
    pub fn prefetch(&self, i: usize) {
        if let Some(w) = self.words.get(i * self.stride()..) {
            prefetch(w);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: this function is installed in the dispatch table only after
        // `is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")` returned true,
        // and the caller passes slices of equal length.
        unsafe { dot_impl(a, b) }
    }

    pub(super) fn l2sq(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: as for `dot`: AVX2+FMA were detected before installing this kernel.
        unsafe { l2sq_impl(a, b) }
    }

    pub(super) fn dot_u8(q: &[f32], c: &[u8]) -> f32 {
        // SAFETY: as for `dot`: AVX2+FMA were detected before installing this kernel.
        unsafe { dot_u8_impl(q, c) }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let hi = _mm256_extractf128_ps::<1>(v);
        let lo = _mm256_castps256_ps128(v);
        let s = _mm_add_ps(hi, lo);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s));
        _mm_cvtss_f32(s)
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_impl(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        // Four independent accumulators hide the FMA latency.
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 32 <= n {
            for (j, s) in acc.iter_mut().enumerate() {
                // SAFETY: i + 32 <= n and j < 4, so the 8-lane loads at i + 8j stay inside
                // both slices.
                unsafe {
                    let x = _mm256_loadu_ps(pa.add(i + 8 * j));
                    let y = _mm256_loadu_ps(pb.add(i + 8 * j));
                    *s = _mm256_fmadd_ps(x, y, *s);
                }
            }
            i += 32;
        }
        while i + 8 <= n {
            // SAFETY: i + 8 <= n, so the loads stay inside the slices.
            unsafe {
                let x = _mm256_loadu_ps(pa.add(i));
                let y = _mm256_loadu_ps(pb.add(i));
                acc[0] = _mm256_fmadd_ps(x, y, acc[0]);
            }
            i += 8;
        }
        let mut s = hsum(_mm256_add_ps(
            _mm256_add_ps(acc[0], acc[1]),
            _mm256_add_ps(acc[2], acc[3]),
        ));
        while i < n {
            s += a[i] * b[i];
            i += 1;
        }
        s
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn l2sq_impl(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 32 <= n {
            for (j, s) in acc.iter_mut().enumerate() {
                // SAFETY: i + 32 <= n and j < 4, so the 8-lane loads at i + 8j stay inside
                // both slices.
                unsafe {
                    let d = _mm256_sub_ps(
                        _mm256_loadu_ps(pa.add(i + 8 * j)),
                        _mm256_loadu_ps(pb.add(i + 8 * j)),
                    );
                    *s = _mm256_fmadd_ps(d, d, *s);
                }
            }
            i += 32;
        }
        while i + 8 <= n {
            // SAFETY: i + 8 <= n, so the loads stay inside the slices.
            unsafe {
                let d = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
                acc[0] = _mm256_fmadd_ps(d, d, acc[0]);
            }
            i += 8;
        }
        let mut s = hsum(_mm256_add_ps(
            _mm256_add_ps(acc[0], acc[1]),
            _mm256_add_ps(acc[2], acc[3]),
        ));
        while i < n {
            let d = a[i] - b[i];
            s += d * d;
            i += 1;
        }
        s
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_u8_impl(q: &[f32], c: &[u8]) -> f32 {
        let n = q.len().min(c.len());
        let (pq, pc) = (q.as_ptr(), c.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY: i + 16 <= n: the 16-byte load of codes and the two 8-lane f32 loads stay
            // inside their slices.
            unsafe {
                let bytes = _mm_loadu_si128(pc.add(i).cast::<__m128i>());
                let lo = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
                let hi = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128::<8>(bytes)));
                acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pq.add(i)), lo, acc0);
                acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(pq.add(i + 8)), hi, acc1);
            }
            i += 16;
        }
        let mut s = hsum(_mm256_add_ps(acc0, acc1));
        while i < n {
            s += q[i] * f32::from(c[i]);
            i += 1;
        }
        s
    }
}

#[cfg(target_arch = "aarch64")]
mod neon {
    use std::arch::aarch64::*;

    pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: NEON availability was checked before installing this kernel; slices have
        // equal length (the dispatcher truncates both to the shorter one).
        unsafe { dot_impl(a, b) }
    }

    pub(super) fn l2sq(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: as for `dot`.
        unsafe { l2sq_impl(a, b) }
    }

    pub(super) fn dot_u8(q: &[f32], c: &[u8]) -> f32 {
        // SAFETY: as for `dot`.
        unsafe { dot_u8_impl(q, c) }
    }

    #[target_feature(enable = "neon")]
    unsafe fn dot_impl(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = vdupq_n_f32(0.0);
        let mut acc1 = vdupq_n_f32(0.0);
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n, so the 4-lane loads at i and i + 4 stay inside the slices.
            unsafe {
                acc0 = vfmaq_f32(acc0, vld1q_f32(pa.add(i)), vld1q_f32(pb.add(i)));
                acc1 = vfmaq_f32(acc1, vld1q_f32(pa.add(i + 4)), vld1q_f32(pb.add(i + 4)));
            }
            i += 8;
        }
        let mut s = vaddvq_f32(vaddq_f32(acc0, acc1));
        while i < n {
            s += a[i] * b[i];
            i += 1;
        }
        s
    }

    #[target_feature(enable = "neon")]
    unsafe fn l2sq_impl(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = vdupq_n_f32(0.0);
        let mut acc1 = vdupq_n_f32(0.0);
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n, so the 4-lane loads at i and i + 4 stay inside the slices.
            unsafe {
                let d0 = vsubq_f32(vld1q_f32(pa.add(i)), vld1q_f32(pb.add(i)));
                let d1 = vsubq_f32(vld1q_f32(pa.add(i + 4)), vld1q_f32(pb.add(i + 4)));
                acc0 = vfmaq_f32(acc0, d0, d0);
                acc1 = vfmaq_f32(acc1, d1, d1);
            }
            i += 8;
        }
        let mut s = vaddvq_f32(vaddq_f32(acc0, acc1));
        while i < n {
            let d = a[i] - b[i];
            s += d * d;
            i += 1;
        }
        s
    }

    #[target_feature(enable = "neon")]
    unsafe fn dot_u8_impl(q: &[f32], c: &[u8]) -> f32 {
        let n = q.len().min(c.len());
        let (pq, pc) = (q.as_ptr(), c.as_ptr());
        let mut acc = vdupq_n_f32(0.0);
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n: the 8-byte code load and the two 4-lane f32 loads stay inside
            // their slices.
            unsafe {
                let w = vmovl_u8(vld1_u8(pc.add(i)));
                let lo = vcvtq_f32_u32(vmovl_u16(vget_low_u16(w)));
                let hi = vcvtq_f32_u32(vmovl_u16(vget_high_u16(w)));
                acc = vfmaq_f32(acc, vld1q_f32(pq.add(i)), lo);
                acc = vfmaq_f32(acc, vld1q_f32(pq.add(i + 4)), hi);
            }
            i += 8;
        }
        let mut s = vaddvq_f32(acc);
        while i < n {
            s += q[i] * f32::from(c[i]);
            i += 1;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn close(a: f32, b: f32, scale: f32) -> bool {
        (a - b).abs() <= 1e-4 * scale.max(1.0)
    }

    #[test]
    fn simd_matches_scalar_on_random_odd_lengths() {
        let mut rng = Rng::new(7);
        for len in (0..70).chain([127, 128, 129, 383, 384, 385, 1023]) {
            let a: Vec<f32> = (0..len).map(|_| rng.next_f32() * 2.0 - 1.0).collect();
            let b: Vec<f32> = (0..len).map(|_| rng.next_f32() * 2.0 - 1.0).collect();
            let c: Vec<u8> = (0..len).map(|_| (rng.next_u64() & 0xff) as u8).collect();
            let scale = len as f32;
            assert!(
                close(dot(&a, &b), dot_scalar(&a, &b), scale),
                "dot len {len}"
            );
            assert!(
                close(l2sq(&a, &b), l2sq_scalar(&a, &b), scale),
                "l2 len {len}"
            );
            assert!(
                close(dot_u8(&a, &c), dot_u8_scalar(&a, &c), 255.0 * scale),
                "dot_u8 len {len}"
            );
            // And against a naive f64 reference.
            let r: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| f64::from(*x) * f64::from(*y))
                .sum();
            assert!(close(dot(&a, &b), r as f32, scale));
        }
    }

    #[test]
    fn node_rows_keep_links_and_vectors_apart() {
        let mut r = NodeRows::new(3, 2);
        r.push_row();
        r.push_row();
        r.set_vector(1, &[1.5, -2.0]);
        r.links(1)[2].store(7, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(r.vector(1), &[1.5, -2.0]);
        assert_eq!(r.vector(0), &[0.0, 0.0]);
        assert_eq!(r.memory_bytes().1, r.words.capacity() / 5 * 2 * 4);
        r.drop_vectors();
        assert_eq!(r.rows(), 2);
        assert!(r.vector(1).is_empty());
        assert_eq!(r.links(1)[2].load(std::sync::atomic::Ordering::Relaxed), 7);
    }

    #[test]
    fn mismatched_lengths_use_shorter() {
        let a = [1.0f32; 10];
        let b = [2.0f32; 7];
        assert_eq!(dot(&a, &b), 14.0);
        assert_eq!(l2sq(&a, &b), 7.0);
    }

    #[test]
    fn level_detected() {
        let l = kernel_level();
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && std::env::var_os("TOONDB_FORCE_SCALAR").is_none()
        {
            assert_eq!(l, KernelLevel::Avx2Fma);
        }
        let _ = l;
    }
}
