//! Hierarchical Navigable Small World graph (Malkov & Yashunin) with optional quantized
//! storage, live upserts and deletes with graph repair, filtered search and parallel batch
//! build.
//!
//! Layout: each node's layer-0 adjacency (`m0 + 1` atomic words: a count followed by neighbour
//! ids) and its f32 vector share one row of [`simd::NodeRows`], so expanding a node and
//! measuring its neighbours touch one memory region per node; upper layers (about `1/m` of the
//! nodes) live in a map.
//! Writers of a node's list hold that node's mutex; readers never lock: they read the count
//! with `Acquire` and ids with `Relaxed`, so a racing reader sees valid node ids (possibly a mix
//! of the old and new list), which is harmless for a graph walk. Mutations that change the
//! number of slots (`insert`, `delete`, `repair`) take `&mut self`; wrap the index in a
//! `RwLock` to share it between searching and writing threads.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::error::{IndexError, Result};
use crate::metric::{self, Metric};
use crate::quant::{Quantization, Quantizer, QueryLut};
use crate::rng::Rng;
use crate::search::{Cand, Filter, Hit, SearchParams, TopK};
use crate::simd;

/// Where exact vectors for re-ranking come from when the index does not keep them in RAM.
pub trait VectorSource: Sync {
    /// Appends the vector of `id` (as inserted: it is re-normalised for cosine) to `out`;
    /// `Ok(false)` if the source does not know `id`.
    fn fetch(&self, id: u64, out: &mut Vec<f32>) -> Result<bool>;
}

/// Tunables of an [`HnswIndex`].
#[derive(Clone, Debug, PartialEq)]
pub struct HnswConfig {
    /// Vector dimension (>= 1).
    pub dim: usize,
    /// Distance metric.
    pub metric: Metric,
    /// Max neighbours per node on upper layers; layer 0 allows `2 * m`. Default 16.
    pub m: usize,
    /// Candidate list size while inserting. Default 200.
    pub ef_construction: usize,
    /// Default candidate list size while searching. Default 64.
    pub ef_search: usize,
    /// Stored representation used by searches. Default [`Quantization::None`].
    pub quantization: Quantization,
    /// With a quantizer: keep the f32 vectors in RAM too (enables exact re-ranking and exact
    /// graph construction, costs `4 * dim` bytes per vector). Default true.
    pub keep_full_vectors: bool,
    /// Default re-rank factor for quantized searches (see [`SearchParams::rerank_factor`]).
    /// Default 4.
    pub rerank_factor: usize,
    /// The quantizer is trained automatically once this many vectors are present (or call
    /// [`HnswIndex::train_quantizer`]). Default 1000.
    pub train_after: usize,
    /// Deleted nodes are repaired out of the graph once they exceed this fraction of live
    /// nodes. Default 0.1.
    pub repair_fraction: f32,
    /// Threads for batch insert, training and repair; 0 = all available cores. Default 0.
    pub threads: usize,
    /// Seed for level assignment and k-means. Default 42.
    pub seed: u64,
}

impl HnswConfig {
    /// Defaults for `dim` dimensions and `metric`.
    pub fn new(dim: usize, metric: Metric) -> Self {
        HnswConfig {
            dim,
            metric,
            m: 16,
            ef_construction: 200,
            ef_search: 64,
            quantization: Quantization::None,
            keep_full_vectors: true,
            rerank_factor: 4,
            train_after: 1000,
            repair_fraction: 0.1,
            threads: 0,
            seed: 42,
        }
    }

    fn validate(&self) -> Result<()> {
        let bad = |s: &str| Err(IndexError::InvalidArgument(s.to_string()));
        if self.dim == 0 || self.dim > 65_536 {
            return bad("dimension must be in 1..=65536");
        }
        if self.m < 2 || self.m > 256 {
            return bad("m must be in 2..=256");
        }
        if self.ef_construction == 0 || self.ef_search == 0 {
            return bad("ef_construction and ef_search must be >= 1");
        }
        if let Quantization::Pq { m } = self.quantization {
            if m == 0 || !self.dim.is_multiple_of(m) {
                return bad("PQ subspace count must divide the dimension");
            }
        }
        if self.repair_fraction.is_nan() || self.repair_fraction < 0.0 {
            return bad("repair_fraction must be >= 0");
        }
        Ok(())
    }

    fn thread_count(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }
    }
}

/// Heap bytes held by an index, by purpose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Full-precision vectors kept in RAM.
    pub vectors: usize,
    /// Quantized codes, per-vector norms and quantizer parameters.
    pub codes: usize,
    /// Adjacency lists, levels, per-node locks and flags.
    pub graph: usize,
    /// External-id mapping (id array and hash map, estimated).
    pub ids: usize,
}

impl MemoryUsage {
    /// Sum of all parts.
    pub fn total(&self) -> usize {
        self.vectors + self.codes + self.graph + self.ids
    }
}

const LIVE: u8 = 0;
const DELETED: u8 = 1;
const FREE: u8 = 2;
const EMPTY: u64 = u64::MAX;
const MAX_LEVEL: usize = 15;

fn pack(node: u32, level: usize) -> u64 {
    ((level as u64) << 32) | u64::from(node)
}

fn unpack(e: u64) -> (u32, usize) {
    (e as u32, (e >> 32) as usize)
}

/// Epoch-stamped visited set: O(1) reset.
#[derive(Default)]
struct Visited {
    marks: Vec<u32>,
    epoch: u32,
}

impl Visited {
    fn reset(&mut self, n: usize) {
        if self.marks.len() < n {
            self.marks.resize(n, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.marks.iter_mut().for_each(|m| *m = 0);
            self.epoch = 1;
        }
    }

    /// True if `i` was not yet visited (and marks it).
    #[inline]
    fn insert(&mut self, i: u32) -> bool {
        let slot = &mut self.marks[i as usize];
        if *slot == self.epoch {
            false
        } else {
            *slot = self.epoch;
            true
        }
    }
}

#[derive(Default)]
struct Scratch {
    visited: Visited,
    a: Vec<f32>,
    b: Vec<f32>,
}

thread_local! {
    static SEARCH_SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// How a query is compared with stored nodes.
enum QCtx<'a> {
    /// Exact: `add + mul * kernel(query, x)` (kernel resolved once per query).
    Full {
        q: &'a [f32],
        kernel: fn(&[f32], &[f32]) -> f32,
        mul: f32,
        add: f32,
    },
    Lut(QueryLut),
}

impl<'a> QCtx<'a> {
    fn full(metric: Metric, q: &'a [f32]) -> Self {
        let (kernel, mul, add) = match metric {
            Metric::L2 => (simd::l2sq_kernel(), 1.0, 0.0),
            Metric::Cosine => (simd::dot_kernel(), -1.0, 1.0),
            Metric::InnerProduct => (simd::dot_kernel(), -1.0, 0.0),
        };
        QCtx::Full {
            q,
            kernel,
            mul,
            add,
        }
    }
}

/// An HNSW index over `u64` ids.
///
/// ```
/// use toondb_index::{HnswConfig, HnswIndex, Metric};
/// let mut idx = HnswIndex::new(HnswConfig::new(3, Metric::Cosine))?;
/// idx.insert(1, &[1.0, 0.0, 0.0])?;
/// idx.insert(2, &[0.0, 1.0, 0.0])?;
/// idx.insert(3, &[0.9, 0.1, 0.0])?;
/// let hits = idx.search(&[1.0, 0.05, 0.0], 2)?;
/// assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![1, 3]);
/// idx.delete(1);
/// assert_eq!(idx.search(&[1.0, 0.05, 0.0], 1)?[0].id, 3);
/// # Ok::<(), toondb_index::IndexError>(())
/// ```
pub struct HnswIndex {
    cfg: HnswConfig,
    m0: usize,
    ml: f64,
    rng: Rng,
    labels: Vec<u64>,
    flags: Vec<u8>,
    levels: Vec<u8>,
    /// External id -> slot, only for ids that differ from their slot number (ids equal to
    /// their slot, e.g. dense row ids, need no map entry: see [`HnswIndex::lookup`]).
    id_map: HashMap<u64, u32>,
    n_live: usize,
    /// Layer-0 links and (while kept) f32 vectors, interleaved per node.
    rows: simd::NodeRows,
    upper: HashMap<u32, Box<[AtomicU32]>>,
    locks: Vec<Mutex<()>>,
    full_kept: bool,
    codes: Vec<u8>,
    xnorms: Vec<f32>,
    quantizer: Option<Quantizer>,
    entry: AtomicU64,
    entry_lock: Mutex<()>,
    free: Vec<u32>,
    n_deleted: usize,
}

impl std::fmt::Debug for HnswIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswIndex")
            .field("config", &self.cfg)
            .field("len", &self.len())
            .field("deleted", &self.n_deleted)
            .field("trained", &self.quantizer.is_some())
            .finish()
    }
}

impl HnswIndex {
    /// An empty index. Errors on out-of-range configuration.
    pub fn new(cfg: HnswConfig) -> Result<Self> {
        cfg.validate()?;
        Ok(HnswIndex {
            m0: cfg.m * 2,
            ml: 1.0 / (cfg.m as f64).ln(),
            rng: Rng::new(cfg.seed),
            labels: Vec::new(),
            flags: Vec::new(),
            levels: Vec::new(),
            id_map: HashMap::new(),
            n_live: 0,
            rows: simd::NodeRows::new(cfg.m * 2 + 1, cfg.dim),
            upper: HashMap::new(),
            locks: Vec::new(),
            full_kept: true,
            codes: Vec::new(),
            xnorms: Vec::new(),
            quantizer: None,
            entry: AtomicU64::new(EMPTY),
            entry_lock: Mutex::new(()),
            free: Vec::new(),
            n_deleted: 0,
            cfg,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &HnswConfig {
        &self.cfg
    }

    /// Number of live vectors.
    pub fn len(&self) -> usize {
        self.n_live
    }

    /// True when no live vector is present.
    pub fn is_empty(&self) -> bool {
        self.n_live == 0
    }

    /// Deleted nodes not yet repaired out of the graph.
    pub fn pending_deletes(&self) -> usize {
        self.n_deleted
    }

    /// Whether `id` is live.
    pub fn contains(&self, id: u64) -> bool {
        self.lookup(id).is_some()
    }

    /// Whether the quantizer (if configured) has been trained.
    pub fn is_trained(&self) -> bool {
        self.quantizer.is_some()
    }

    /// Live ids (arbitrary order).
    pub fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.slots())
            .filter(|&i| self.flags[i] == LIVE)
            .map(|i| self.labels[i])
    }

    /// The live slot holding `id`.
    fn lookup(&self, id: u64) -> Option<u32> {
        if let Some(&n) = self.id_map.get(&id) {
            return Some(n);
        }
        let i = usize::try_from(id).ok()?;
        (i < self.slots() && self.labels[i] == id && self.flags[i] == LIVE).then_some(i as u32)
    }

    /// The stored vector of `id`: as prepared (normalised under cosine), or decoded from its
    /// code when full vectors are not kept.
    pub fn get(&self, id: u64) -> Option<Vec<f32>> {
        let node = self.lookup(id)?;
        let mut buf = Vec::new();
        Some(self.node_vec(node, &mut buf).to_vec())
    }

    /// Heap bytes held, by purpose.
    pub fn memory_usage(&self) -> MemoryUsage {
        let upper: usize = self.upper.values().map(|b| b.len() * 4).sum::<usize>()
            + self.upper.capacity() * (4 + 16 + 1);
        // hashbrown keeps ~1/8 slack: (u64, u32) buckets pad to 16 bytes + 1 control byte.
        let id_map = self.id_map.capacity() * 17 * 8 / 7;
        let (links0, vectors) = self.rows.memory_bytes();
        MemoryUsage {
            vectors,
            codes: self.codes.capacity()
                + self.xnorms.capacity() * 4
                + self.quantizer.as_ref().map_or(0, Quantizer::memory_bytes),
            graph: links0
                + upper
                + self.levels.capacity()
                + self.flags.capacity()
                + self.locks.capacity() * std::mem::size_of::<Mutex<()>>()
                + self.free.capacity() * 4,
            ids: self.labels.capacity() * 8 + id_map,
        }
    }

    fn slots(&self) -> usize {
        self.labels.len()
    }

    fn maxm(&self, level: usize) -> usize {
        if level == 0 {
            self.m0
        } else {
            self.cfg.m
        }
    }

    fn block(&self, node: u32, level: usize) -> &[AtomicU32] {
        if level == 0 {
            self.rows.links(node as usize)
        } else {
            let w = self.cfg.m + 1;
            match self.upper.get(&node) {
                Some(b) if b.len() >= level * w => &b[(level - 1) * w..level * w],
                _ => &[],
            }
        }
    }

    fn read_neighbors(&self, node: u32, level: usize, out: &mut Vec<u32>) {
        out.clear();
        let b = self.block(node, level);
        if let Some((cnt, rest)) = b.split_first() {
            let c = (cnt.load(Ordering::Acquire) as usize).min(rest.len());
            out.extend(rest[..c].iter().map(|a| a.load(Ordering::Relaxed)));
        }
    }

    /// Caller holds the node's lock.
    fn write_neighbors(&self, node: u32, level: usize, ids: &[u32]) {
        let b = self.block(node, level);
        if let Some((cnt, rest)) = b.split_first() {
            let c = ids.len().min(rest.len());
            for (slot, &id) in rest.iter().zip(&ids[..c]) {
                slot.store(id, Ordering::Relaxed);
            }
            cnt.store(c as u32, Ordering::Release);
        }
    }

    fn has_full(&self) -> bool {
        self.full_kept
    }

    #[inline]
    fn full(&self, node: u32) -> &[f32] {
        self.rows.vector(node as usize)
    }

    #[inline]
    fn code(&self, node: u32) -> &[u8] {
        let l = self.quantizer.as_ref().map_or(0, Quantizer::code_len);
        &self.codes[node as usize * l..(node as usize + 1) * l]
    }

    fn node_vec<'a>(&'a self, node: u32, buf: &'a mut Vec<f32>) -> &'a [f32] {
        if self.has_full() {
            return self.full(node);
        }
        buf.resize(self.cfg.dim, 0.0);
        if let Some(q) = &self.quantizer {
            q.decode(self.code(node), buf);
        }
        buf
    }

    /// Distance between two stored nodes (exact when full vectors are kept, otherwise
    /// between their decoded codes).
    fn pair_dist(&self, a: u32, b: u32, scratch: &mut Scratch) -> f32 {
        if self.has_full() {
            return self.cfg.metric.distance(self.full(a), self.full(b));
        }
        let mut va = std::mem::take(&mut scratch.a);
        let d = {
            let x = self.node_vec(a, &mut va);
            self.cfg
                .metric
                .distance(x, self.node_vec(b, &mut scratch.b))
        };
        scratch.a = va;
        d
    }

    /// `(distance to base, id)` for each of `ids`, sorted nearest first.
    fn sorted_by_dist(
        &self,
        base: u32,
        ids: impl Iterator<Item = u32>,
        s: &mut Scratch,
    ) -> Vec<Cand> {
        let mut c: Vec<Cand> = ids
            .map(|x| Cand {
                d: self.pair_dist(base, x, s),
                id: x,
            })
            .collect();
        c.sort_unstable();
        c
    }

    #[inline]
    fn qdist(&self, q: &QCtx<'_>, node: u32) -> f32 {
        match q {
            QCtx::Full {
                q,
                kernel,
                mul,
                add,
            } => add + mul * kernel(q, self.full(node)),
            QCtx::Lut(l) => l.distance(
                self.cfg.metric,
                self.code(node),
                self.xnorms.get(node as usize).copied().unwrap_or(0.0),
            ),
        }
    }

    #[inline]
    fn prefetch_node(&self, node: u32) {
        if self.quantizer.is_some() && !matches!(self.cfg.quantization, Quantization::None) {
            let l = self.quantizer.as_ref().map_or(0, Quantizer::code_len);
            if let Some(s) = self.codes.get(node as usize * l..) {
                simd::prefetch(s);
            }
        } else if (node as usize) < self.rows.rows() {
            simd::prefetch(self.rows.vector(node as usize));
        }
    }

    /// Context used while building: exact when full vectors are present.
    fn build_ctx<'a>(&self, v: &'a [f32]) -> QCtx<'a> {
        match (&self.quantizer, self.has_full()) {
            (Some(q), false) => QCtx::Lut(q.lut(self.cfg.metric, v)),
            _ => QCtx::full(self.cfg.metric, v),
        }
    }

    /// Context used while searching: quantized when a quantizer is trained.
    fn search_ctx<'a>(&self, v: &'a [f32]) -> QCtx<'a> {
        match &self.quantizer {
            Some(q) => QCtx::Lut(q.lut(self.cfg.metric, v)),
            None => QCtx::full(self.cfg.metric, v),
        }
    }

    fn random_level(&mut self) -> usize {
        let l = (-self.rng.next_f64_open().ln() * self.ml) as usize;
        l.min(MAX_LEVEL)
    }

    /// Allocates a slot for `id` holding the prepared vector `v` (not yet linked).
    fn alloc(&mut self, id: u64, v: &[f32]) -> u32 {
        let level = self.random_level();
        let node = match self.free.pop() {
            Some(n) => n,
            None => {
                let n = self.slots() as u32;
                self.labels.push(0);
                self.flags.push(FREE);
                self.levels.push(0);
                self.locks.push(Mutex::new(()));
                self.rows.push_row();
                if let Some(q) = &self.quantizer {
                    self.codes.extend(std::iter::repeat_n(0, q.code_len()));
                    if matches!(q, Quantizer::Sq8(_)) && self.cfg.metric == Metric::L2 {
                        self.xnorms.push(0.0);
                    }
                }
                n
            }
        };
        let i = node as usize;
        self.labels[i] = id;
        self.flags[i] = LIVE;
        self.levels[i] = level as u8;
        self.rows.links(i)[0].store(0, Ordering::Relaxed);
        if level > 0 {
            let w = self.cfg.m + 1;
            self.upper
                .insert(node, (0..level * w).map(|_| AtomicU32::new(0)).collect());
        } else {
            self.upper.remove(&node);
        }
        if self.has_full() {
            self.rows.set_vector(i, v);
        }
        if let Some(q) = &self.quantizer {
            let l = q.code_len();
            q.encode(v, &mut self.codes[i * l..(i + 1) * l]);
            if let Some(x) = self.xnorms.get_mut(i) {
                let mut buf = vec![0.0; self.cfg.dim];
                q.decode(&self.codes[i * l..(i + 1) * l], &mut buf);
                *x = simd::dot(&buf, &buf);
            }
        }
        if u64::from(node) != id {
            self.id_map.insert(id, node);
        }
        self.n_live += 1;
        node
    }

    /// Marks the live node of `id` deleted (to be repaired later); false if absent.
    fn remove_live(&mut self, id: u64) -> bool {
        let Some(node) = self.lookup(id) else {
            return false;
        };
        self.id_map.remove(&id);
        self.flags[node as usize] = DELETED;
        self.n_deleted += 1;
        self.n_live -= 1;
        true
    }

    /// Inserts `id`, replacing its previous vector if present (upsert).
    pub fn insert(&mut self, id: u64, v: &[f32]) -> Result<()> {
        let p = metric::prepare(self.cfg.metric, self.cfg.dim, v)?;
        self.remove_live(id);
        let node = self.alloc(id, &p);
        let mut scratch = Scratch::default();
        self.link(node, &p, &mut scratch);
        self.after_write()
    }

    /// Inserts many vectors (`data` is row-major, `ids.len() * dim` floats) using all
    /// configured threads. Ids already present are replaced; if an id repeats inside the batch
    /// the last occurrence wins. Nothing is inserted if any vector is invalid.
    pub fn insert_batch(&mut self, ids: &[u64], data: &[f32]) -> Result<()> {
        let dim = self.cfg.dim;
        if data.len() != ids.len().saturating_mul(dim) {
            return Err(IndexError::InvalidArgument(format!(
                "batch of {} ids needs {} floats, got {}",
                ids.len(),
                ids.len().saturating_mul(dim),
                data.len()
            )));
        }
        let mut prepared = data.to_vec();
        for row in prepared.chunks_exact_mut(dim) {
            metric::prepare_in_place(self.cfg.metric, dim, row)?;
        }
        let mut last: HashMap<u64, usize> = HashMap::with_capacity(ids.len());
        for (i, &id) in ids.iter().enumerate() {
            last.insert(id, i);
        }
        let extra = last.len().saturating_sub(self.free.len());
        self.labels.reserve_exact(extra);
        self.flags.reserve_exact(extra);
        self.levels.reserve_exact(extra);
        self.locks.reserve_exact(extra);
        self.rows.reserve_exact(extra);
        let mut work: Vec<(u32, usize)> = Vec::with_capacity(last.len());
        for (i, &id) in ids.iter().enumerate() {
            if last.get(&id) != Some(&i) {
                continue;
            }
            self.remove_live(id);
            let node = self.alloc(id, &prepared[i * dim..(i + 1) * dim]);
            work.push((node, i));
        }
        let mut rest = &work[..];
        if self.entry.load(Ordering::Acquire) == EMPTY {
            if let Some((&(node, row), tail)) = work.split_first() {
                self.link(
                    node,
                    &prepared[row * dim..(row + 1) * dim],
                    &mut Scratch::default(),
                );
                rest = tail;
            }
        }
        let threads = self.cfg.thread_count().min(rest.len().max(1));
        let next = AtomicUsize::new(0);
        let this = &*self;
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    let mut scratch = Scratch::default();
                    loop {
                        let j = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&(node, row)) = rest.get(j) else {
                            break;
                        };
                        this.link(node, &prepared[row * dim..(row + 1) * dim], &mut scratch);
                    }
                });
            }
        });
        self.after_write()
    }

    /// Removes `id`; returns whether it was live. The node stops appearing in results at
    /// once and is unlinked from the graph by the next [`repair`](Self::repair), which runs
    /// automatically when deleted nodes exceed `repair_fraction` of the live ones.
    pub fn delete(&mut self, id: u64) -> bool {
        if !self.remove_live(id) {
            return false;
        }
        // Repair cannot fail; keep `delete` infallible.
        self.maybe_repair();
        true
    }

    fn after_write(&mut self) -> Result<()> {
        if self.quantizer.is_none()
            && self.cfg.quantization != Quantization::None
            && self.len() >= self.cfg.train_after.max(1)
        {
            self.train_quantizer()?;
        }
        self.maybe_repair();
        Ok(())
    }

    fn maybe_repair(&mut self) {
        if self.n_deleted > 0
            && self.n_deleted as f32 >= self.cfg.repair_fraction * self.len().max(1) as f32
        {
            self.repair();
        }
    }

    /// Trains the configured quantizer on the live vectors and encodes every vector. With
    /// `keep_full_vectors = false` the f32 vectors are then dropped from RAM. Errors if no
    /// quantizer is configured, the index is empty, or it was already trained without full
    /// vectors.
    pub fn train_quantizer(&mut self) -> Result<()> {
        if self.cfg.quantization == Quantization::None {
            return Err(IndexError::InvalidArgument(
                "no quantization configured".into(),
            ));
        }
        if !self.has_full() {
            return Err(IndexError::InvalidArgument(
                "already trained and full vectors were dropped".into(),
            ));
        }
        let live: Vec<u32> = (0..self.slots() as u32)
            .filter(|&i| self.flags[i as usize] == LIVE)
            .collect();
        let mut sample = Vec::with_capacity(live.len() * self.cfg.dim);
        for &n in &live {
            sample.extend_from_slice(self.full(n));
        }
        let q = Quantizer::train(
            self.cfg.quantization,
            &sample,
            self.cfg.dim,
            self.cfg.seed,
            self.cfg.thread_count(),
        )?
        .ok_or_else(|| IndexError::InvalidArgument("no quantization configured".into()))?;
        let l = q.code_len();
        let mut codes = vec![0u8; self.slots() * l];
        let want_norms = matches!(q, Quantizer::Sq8(_)) && self.cfg.metric == Metric::L2;
        let mut xnorms = if want_norms {
            vec![0.0f32; self.slots()]
        } else {
            Vec::new()
        };
        let mut buf = vec![0.0f32; self.cfg.dim];
        for n in 0..self.slots() {
            let code = &mut codes[n * l..(n + 1) * l];
            q.encode(self.full(n as u32), code);
            if want_norms {
                q.decode(code, &mut buf);
                xnorms[n] = simd::dot(&buf, &buf);
            }
        }
        self.codes = codes;
        self.xnorms = xnorms;
        self.quantizer = Some(q);
        if !self.cfg.keep_full_vectors {
            self.rows.drop_vectors();
            self.full_kept = false;
        }
        Ok(())
    }

    /// Greedy walk on an upper layer.
    fn greedy(&self, q: &QCtx<'_>, mut cur: Cand, level: usize, buf: &mut Vec<u32>) -> Cand {
        loop {
            let mut changed = false;
            self.read_neighbors(cur.id, level, buf);
            for &n in buf.iter() {
                let d = self.qdist(q, n);
                if d < cur.d {
                    cur = Cand { d, id: n };
                    changed = true;
                }
            }
            if !changed {
                return cur;
            }
        }
    }

    /// Best-first search of one layer. Only nodes passing `accept` enter the result list,
    /// but every node may be traversed. Returns up to `ef` results, nearest first.
    fn search_layer<F: Fn(u32) -> bool>(
        &self,
        q: &QCtx<'_>,
        start: Cand,
        ef: usize,
        level: usize,
        visited: &mut Visited,
        accept: F,
    ) -> Vec<Cand> {
        visited.reset(self.slots());
        let mut cands: BinaryHeap<Reverse<Cand>> = BinaryHeap::new();
        let mut top: BinaryHeap<Cand> = BinaryHeap::new();
        visited.insert(start.id);
        cands.push(Reverse(start));
        if accept(start.id) {
            top.push(start);
        }
        let mut lower = top.peek().map_or(f32::INFINITY, |c| c.d);
        while let Some(Reverse(c)) = cands.pop() {
            if c.d > lower && top.len() >= ef {
                break;
            }
            let b = self.block(c.id, level);
            // The next candidate's adjacency list will be needed right after this one.
            if let Some(Reverse(next)) = cands.peek() {
                simd::prefetch(self.block(next.id, level));
            }
            let Some((cnt, rest)) = b.split_first() else {
                continue;
            };
            let cnt = (cnt.load(Ordering::Acquire) as usize).min(rest.len());
            let rest = &rest[..cnt];
            if let Some(f) = rest.first() {
                self.prefetch_node(f.load(Ordering::Relaxed));
            }
            for (i, a) in rest.iter().enumerate() {
                if let Some(nx) = rest.get(i + 1) {
                    self.prefetch_node(nx.load(Ordering::Relaxed));
                }
                let n = a.load(Ordering::Relaxed);
                if !visited.insert(n) {
                    continue;
                }
                let d = self.qdist(q, n);
                if top.len() < ef || d < lower {
                    cands.push(Reverse(Cand { d, id: n }));
                    if accept(n) {
                        top.push(Cand { d, id: n });
                        if top.len() > ef {
                            top.pop();
                        }
                        if let Some(t) = top.peek() {
                            lower = t.d;
                        }
                    }
                }
            }
        }
        top.into_sorted_vec()
    }

    /// hnswlib's neighbour-selection heuristic: keep a candidate only if it is closer to the
    /// base than to every already kept neighbour. `cands` must be sorted nearest first.
    fn select(&self, cands: &[Cand], m: usize, scratch: &mut Scratch) -> Vec<u32> {
        if cands.len() <= m {
            return cands.iter().map(|c| c.id).collect();
        }
        let mut kept: Vec<u32> = Vec::with_capacity(m);
        for c in cands {
            if kept.len() >= m {
                break;
            }
            let good = kept
                .iter()
                .all(|&k| self.pair_dist(c.id, k, scratch) >= c.d);
            if good {
                kept.push(c.id);
            }
        }
        kept
    }

    /// Links an allocated node into the graph. `v` is its prepared vector.
    fn link(&self, node: u32, v: &[f32], scratch: &mut Scratch) {
        let level = usize::from(self.levels[node as usize]);
        let q = self.build_ctx(v);
        let e = self.entry.load(Ordering::Acquire);
        if e == EMPTY {
            let _g = self.entry_lock.lock();
            if self.entry.load(Ordering::Acquire) == EMPTY {
                self.entry.store(pack(node, level), Ordering::Release);
                return;
            }
        }
        let (ep, max_level) = unpack(self.entry.load(Ordering::Acquire));
        let mut cur = Cand {
            d: self.qdist(&q, ep),
            id: ep,
        };
        let mut buf = Vec::new();
        for l in (level + 1..=max_level).rev() {
            cur = self.greedy(&q, cur, l, &mut buf);
        }
        for l in (0..=level.min(max_level)).rev() {
            let found = self.search_layer(
                &q,
                cur,
                self.cfg.ef_construction,
                l,
                &mut scratch.visited,
                |x| x != node && self.flags[x as usize] == LIVE,
            );
            if let Some(best) = found.first() {
                cur = *best;
            }
            let chosen = self.select(&found, self.cfg.m, scratch);
            self.set_own_links(node, l, &chosen, scratch);
            for &n in &chosen {
                self.add_backlink(n, node, l, scratch);
            }
        }
        if level > max_level {
            let _g = self.entry_lock.lock();
            let (_, cur_max) = unpack(self.entry.load(Ordering::Acquire));
            if level > cur_max {
                self.entry.store(pack(node, level), Ordering::Release);
            }
        }
    }

    /// Writes a new node's list at `level`, keeping links that concurrent inserters already
    /// added to it (they can reach the node from an upper layer before its lower lists are
    /// written; overwriting would silently drop their back-links and strand nodes).
    fn set_own_links(&self, node: u32, level: usize, chosen: &[u32], scratch: &mut Scratch) {
        let _g = self.locks[node as usize].lock();
        let mut list = Vec::new();
        self.read_neighbors(node, level, &mut list);
        if list.is_empty() {
            self.write_neighbors(node, level, chosen);
            return;
        }
        for &c in chosen {
            if !list.contains(&c) {
                list.push(c);
            }
        }
        let maxm = self.maxm(level);
        if list.len() > maxm {
            let cands = self.sorted_by_dist(node, list.iter().copied(), scratch);
            list = self.select(&cands, maxm, scratch);
        }
        self.write_neighbors(node, level, &list);
    }

    fn add_backlink(&self, n: u32, node: u32, level: usize, scratch: &mut Scratch) {
        let _g = self.locks[n as usize].lock();
        let mut list = Vec::new();
        self.read_neighbors(n, level, &mut list);
        if list.contains(&node) {
            return;
        }
        let maxm = self.maxm(level);
        if list.len() < maxm {
            list.push(node);
            self.write_neighbors(n, level, &list);
            return;
        }
        list.push(node);
        let cands = self.sorted_by_dist(n, list.iter().copied(), scratch);
        let chosen = self.select(&cands, maxm, scratch);
        self.write_neighbors(n, level, &chosen);
    }

    /// Unlinks every deleted node: each live node that pointed at a deleted one is
    /// reconnected to the best of its remaining neighbours and the deleted node's neighbours
    /// (by the same heuristic as insertion); the deleted slots are then reused by later
    /// inserts. Returns the number of slots freed. Runs on all configured threads.
    pub fn repair(&mut self) -> usize {
        if self.n_deleted == 0 {
            return 0;
        }
        let slots = self.slots();
        let next = AtomicUsize::new(0);
        let this = &*self;
        std::thread::scope(|s| {
            for _ in 0..this.cfg.thread_count().min(slots.max(1)) {
                s.spawn(|| {
                    let mut scratch = Scratch::default();
                    let mut list = Vec::new();
                    let mut extra = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= slots {
                            break;
                        }
                        if this.flags[i] != LIVE {
                            continue;
                        }
                        let node = i as u32;
                        for l in 0..=usize::from(this.levels[i]) {
                            this.read_neighbors(node, l, &mut list);
                            if list.iter().all(|&x| this.flags[x as usize] == LIVE) {
                                continue;
                            }
                            let mut set: HashSet<u32> = HashSet::new();
                            for &x in &list {
                                if this.flags[x as usize] == LIVE {
                                    set.insert(x);
                                } else {
                                    this.read_neighbors(x, l, &mut extra);
                                    set.extend(
                                        extra.iter().filter(|&&y| {
                                            y != node && this.flags[y as usize] == LIVE
                                        }),
                                    );
                                }
                            }
                            let cands = this.sorted_by_dist(node, set.into_iter(), &mut scratch);
                            let chosen = this.select(&cands, this.maxm(l), &mut scratch);
                            let _g = this.locks[i].lock();
                            this.write_neighbors(node, l, &chosen);
                        }
                    }
                });
            }
        });
        // Free the deleted slots.
        let mut freed = 0;
        for i in 0..slots {
            if self.flags[i] == DELETED {
                self.flags[i] = FREE;
                self.rows.links(i)[0].store(0, Ordering::Relaxed);
                self.upper.remove(&(i as u32));
                self.free.push(i as u32);
                freed += 1;
            }
        }
        self.n_deleted = 0;
        // Pick a new entry point if the old one was freed.
        let e = self.entry.load(Ordering::Acquire);
        if e != EMPTY && self.flags[unpack(e).0 as usize] != LIVE {
            let best = (0..slots)
                .filter(|&i| self.flags[i] == LIVE)
                .max_by_key(|&i| (self.levels[i], std::cmp::Reverse(i)));
            let new = best.map_or(EMPTY, |i| pack(i as u32, usize::from(self.levels[i])));
            self.entry.store(new, Ordering::Release);
        }
        freed
    }

    /// The `k` nearest live ids, nearest first. `k > len()` returns every live id; `k = 0` is
    /// [`IndexError::InvalidArgument`].
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<Hit>> {
        self.search_with(query, &SearchParams::new(k))
    }

    /// Search with explicit `ef_search`, re-rank factor and filter.
    ///
    /// Filtered searches still return `k` hits when at least `k` ids qualify: the graph walk
    /// keeps expanding until `ef` qualifying nodes were found, small allow-lists are searched
    /// exhaustively, and if the walk still comes back short the index falls back to an exact
    /// scan of the qualifying ids.
    pub fn search_with(&self, query: &[f32], params: &SearchParams<'_>) -> Result<Vec<Hit>> {
        self.search_impl(query, params, None)
    }

    /// Like [`search_with`](Self::search_with), but for a quantized index that does not keep
    /// full vectors in RAM: the best `k * rerank_factor` approximate candidates are re-ranked
    /// by exact distance on vectors fetched from `source` (e.g. the storage engine or a file).
    /// Candidates the source does not know are dropped. If the index keeps full vectors they
    /// are used instead and `source` is not called.
    pub fn search_reranked(
        &self,
        query: &[f32],
        params: &SearchParams<'_>,
        source: &dyn VectorSource,
    ) -> Result<Vec<Hit>> {
        self.search_impl(query, params, Some(source))
    }

    fn search_impl(
        &self,
        query: &[f32],
        params: &SearchParams<'_>,
        source: Option<&dyn VectorSource>,
    ) -> Result<Vec<Hit>> {
        if params.k == 0 {
            return Err(IndexError::InvalidArgument("k must be at least 1".into()));
        }
        let q = metric::prepare(self.cfg.metric, self.cfg.dim, query)?;
        let live = self.len();
        if live == 0 {
            return Ok(Vec::new());
        }
        let k = params.k.min(live);
        let rerank = if self.quantizer.is_some() && (self.has_full() || source.is_some()) {
            params.rerank_factor.unwrap_or(self.cfg.rerank_factor)
        } else {
            0
        };
        let want = if rerank > 0 {
            k.saturating_mul(rerank)
        } else {
            k
        };
        let ef = params
            .ef_search
            .unwrap_or(self.cfg.ef_search)
            .max(want)
            .min(live.max(1));
        let ctx = self.search_ctx(&q);

        if let Filter::AllowList(list) = params.filter {
            if list.len() <= (4 * ef).max(1000) || list.len() * 20 <= live {
                let nodes = list.iter().filter_map(|&id| self.lookup(id));
                return self.finish(&q, self.scan(&ctx, nodes, want), k, rerank, source);
            }
        }
        let filter = params.filter.resolve();
        let e = self.entry.load(Ordering::Acquire);
        if e == EMPTY {
            return Ok(Vec::new());
        }
        let (ep, max_level) = unpack(e);
        let found = SEARCH_SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            let mut buf = Vec::new();
            let mut cur = Cand {
                d: self.qdist(&ctx, ep),
                id: ep,
            };
            for l in (1..=max_level).rev() {
                cur = self.greedy(&ctx, cur, l, &mut buf);
            }
            if self.n_deleted == 0 && filter.is_all() {
                // Nothing to exclude: free slots are never referenced by any list.
                return self.search_layer(&ctx, cur, ef, 0, &mut s.visited, |_| true);
            }
            let accept = |x: u32| {
                self.flags[x as usize] == LIVE
                    && (filter.is_all() || filter.allows(self.labels[x as usize]))
            };
            self.search_layer(&ctx, cur, ef, 0, &mut s.visited, accept)
        });
        let mut found = found;
        if found.len() < k {
            // Disconnected region or a very selective predicate: exact scan of what qualifies.
            let nodes = (0..self.slots() as u32).filter(|&x| {
                self.flags[x as usize] == LIVE && filter.allows(self.labels[x as usize])
            });
            found = self.scan(&ctx, nodes, want);
        }
        found.truncate(want);
        self.finish(&q, found, k, rerank, source)
    }

    fn scan(&self, ctx: &QCtx<'_>, nodes: impl Iterator<Item = u32>, want: usize) -> Vec<Cand> {
        let mut top = TopK::new(want);
        let mut seen = HashSet::new();
        for n in nodes {
            if self.flags[n as usize] == LIVE && seen.insert(n) {
                top.push(Cand {
                    d: self.qdist(ctx, n),
                    id: n,
                });
            }
        }
        top.into_sorted()
    }

    fn finish(
        &self,
        q: &[f32],
        mut found: Vec<Cand>,
        k: usize,
        rerank: usize,
        source: Option<&dyn VectorSource>,
    ) -> Result<Vec<Hit>> {
        if rerank > 0 {
            if self.has_full() {
                for c in &mut found {
                    c.d = self.cfg.metric.distance(q, self.full(c.id));
                }
            } else if let Some(src) = source {
                let mut buf = Vec::with_capacity(self.cfg.dim);
                let mut kept = Vec::with_capacity(found.len());
                for c in &found {
                    buf.clear();
                    if src.fetch(self.labels[c.id as usize], &mut buf)? {
                        metric::prepare_in_place(self.cfg.metric, self.cfg.dim, &mut buf)?;
                        kept.push(Cand {
                            d: self.cfg.metric.distance(q, &buf),
                            id: c.id,
                        });
                    }
                }
                found = kept;
            }
            found.sort_unstable();
        }
        found.truncate(k);
        Ok(found
            .into_iter()
            .map(|c| Hit {
                id: self.labels[c.id as usize],
                distance: c.d,
            })
            .collect())
    }
}

/// Magic of a serialized graph image.
const GRAPH_MAGIC: &[u8; 8] = b"TDBGRAPH";
const GRAPH_VERSION: u8 = 1;

/// Little-endian cursor over untrusted bytes; every read is bounds-checked.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let s = self
            .pos
            .checked_add(n)
            .and_then(|end| self.b.get(self.pos..end))
            .ok_or_else(|| IndexError::Corruption {
                file: "graph image".into(),
                offset: self.pos as u64,
                detail: format!("truncated: {n} bytes wanted"),
            })?;
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Result<u64> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
    fn bad(&self, detail: impl Into<String>) -> IndexError {
        IndexError::Corruption {
            file: "graph image".into(),
            offset: self.pos as u64,
            detail: detail.into(),
        }
    }
}

impl HnswIndex {
    /// Serializes the graph (ids, levels, adjacency lists, entry point) together with a
    /// checksum of each live node's vector as produced by `vector_sum`, so that a later
    /// [`from_graph_image`](Self::from_graph_image) can tell which nodes still match the
    /// stored vectors. Vectors and quantizer codes are not included.
    pub fn graph_image(&self, vector_sum: impl Fn(u64) -> u32) -> Vec<u8> {
        let slots = self.slots();
        let mut out = Vec::with_capacity(32 + slots * (18 + 4 * (self.m0 + 1)));
        out.extend_from_slice(GRAPH_MAGIC);
        out.push(GRAPH_VERSION);
        out.extend_from_slice(&(self.cfg.dim as u32).to_le_bytes());
        out.extend_from_slice(&(self.cfg.m as u32).to_le_bytes());
        out.extend_from_slice(&(slots as u32).to_le_bytes());
        out.extend_from_slice(&self.entry.load(Ordering::Acquire).to_le_bytes());
        let mut buf = Vec::new();
        for i in 0..slots {
            // Deleted-but-unrepaired nodes keep their links (live nodes still point at them).
            let flag = self.flags[i];
            let live = flag == LIVE;
            let linked = flag != FREE;
            out.extend_from_slice(&self.labels[i].to_le_bytes());
            out.push(flag);
            let level = if linked {
                usize::from(self.levels[i])
            } else {
                0
            };
            out.push(level as u8);
            out.extend_from_slice(
                &(if live { vector_sum(self.labels[i]) } else { 0 }).to_le_bytes(),
            );
            for l in 0..=level {
                if linked {
                    self.read_neighbors(i as u32, l, &mut buf);
                } else {
                    buf.clear();
                }
                out.extend_from_slice(&(buf.len() as u32).to_le_bytes());
                for &x in &buf {
                    out.extend_from_slice(&x.to_le_bytes());
                }
            }
        }
        out
    }

    /// Rebuilds an index from a [`graph_image`](Self::graph_image) and the current vectors.
    ///
    /// `vectors` maps each stored id to `(vector, checksum)`. Image nodes whose id is missing
    /// or whose checksum differs are treated as deleted and repaired out of the graph; stored
    /// vectors the image does not know are inserted afterwards. The result therefore holds
    /// exactly the ids and vectors of `vectors`, whatever the image says. Malformed images
    /// are [`IndexError::Corruption`] (callers fall back to a full build).
    pub fn from_graph_image(
        cfg: HnswConfig,
        image: &[u8],
        vectors: &HashMap<u64, (Vec<f32>, u32)>,
    ) -> Result<HnswIndex> {
        let mut idx = HnswIndex::new(cfg)?;
        let mut c = Cursor { b: image, pos: 0 };
        if c.take(8)? != GRAPH_MAGIC || c.u8()? != GRAPH_VERSION {
            return Err(c.bad("bad graph magic or version"));
        }
        let (dim, m) = (c.u32()? as usize, c.u32()? as usize);
        if dim != idx.cfg.dim || m != idx.cfg.m {
            return Err(c.bad(format!("image has dim {dim} / m {m}, config differs")));
        }
        let slots = c.u32()? as usize;
        // Every slot takes at least 18 bytes: cap the allocation by what is really there.
        if slots > image.len() / 18 {
            return Err(c.bad(format!("{slots} slots cannot fit in {} bytes", image.len())));
        }
        let entry = c.u64()?;
        idx.rows.reserve_exact(slots);
        let mut seen = HashSet::new();
        for i in 0..slots {
            let label = c.u64()?;
            let flag = c.u8()?;
            let level = usize::from(c.u8()?);
            let sum = c.u32()?;
            if flag > FREE || level > MAX_LEVEL {
                return Err(c.bad(format!("slot {i}: bad flag {flag} or level {level}")));
            }
            idx.labels.push(label);
            idx.levels.push(level as u8);
            idx.locks.push(Mutex::new(()));
            idx.rows.push_row();
            if level > 0 {
                let w = idx.cfg.m + 1;
                idx.upper.insert(
                    i as u32,
                    (0..level * w).map(|_| AtomicU32::new(0)).collect(),
                );
            }
            for l in 0..=level {
                let n = c.u32()? as usize;
                if n > idx.maxm(l) {
                    return Err(c.bad(format!("slot {i} level {l}: {n} links")));
                }
                let mut ids = Vec::with_capacity(n);
                for _ in 0..n {
                    let x = c.u32()?;
                    if x as usize >= slots {
                        return Err(c.bad(format!("slot {i}: link to {x} of {slots}")));
                    }
                    ids.push(x);
                }
                idx.write_neighbors(i as u32, l, &ids);
            }
            let stored = if flag == LIVE {
                vectors.get(&label)
            } else {
                None
            };
            match stored {
                Some((v, s)) if *s == sum && seen.insert(label) => {
                    let mut p = v.clone();
                    metric::prepare_in_place(idx.cfg.metric, idx.cfg.dim, &mut p)?;
                    idx.rows.set_vector(i, &p);
                    idx.flags.push(LIVE);
                    if label != i as u64 {
                        idx.id_map.insert(label, i as u32);
                    }
                    idx.n_live += 1;
                }
                _ if flag != FREE => {
                    // Stale node: keep it traversable until the repair below unlinks it.
                    idx.flags.push(DELETED);
                    idx.n_deleted += 1;
                }
                _ => {
                    idx.flags.push(FREE);
                    idx.free.push(i as u32);
                }
            }
        }
        if c.pos != image.len() {
            return Err(c.bad("trailing bytes after the last slot"));
        }
        // Free slots must not be referenced by anything.
        let mut buf = Vec::new();
        for i in 0..slots {
            if idx.flags[i] == FREE {
                continue;
            }
            for l in 0..=usize::from(idx.levels[i]) {
                idx.read_neighbors(i as u32, l, &mut buf);
                if buf.iter().any(|&x| idx.flags[x as usize] == FREE) {
                    return Err(c.bad(format!("slot {i} links to a free slot")));
                }
            }
        }
        let (en, el) = unpack(entry);
        if entry != EMPTY {
            if en as usize >= slots
                || idx.flags[en as usize] == FREE
                || el != usize::from(idx.levels[en as usize])
            {
                return Err(c.bad("bad entry point"));
            }
            idx.entry.store(entry, Ordering::Release);
        }
        // Vectors the image does not know (or knew with other contents).
        let mut ids: Vec<u64> = vectors
            .keys()
            .copied()
            .filter(|&id| idx.lookup(id).is_none())
            .collect();
        ids.sort_unstable();
        let mut data = Vec::with_capacity(ids.len() * idx.cfg.dim);
        for id in &ids {
            if let Some((v, _)) = vectors.get(id) {
                data.extend_from_slice(v);
            }
        }
        idx.repair();
        idx.insert_batch(&ids, &data)?;
        Ok(idx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flat::FlatIndex;

    /// Clustered random data: `n` vectors around 20 centres.
    pub(crate) fn clustered(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut r = Rng::new(seed);
        let centres: Vec<f32> = (0..20 * dim).map(|_| r.gauss() * 3.0).collect();
        let mut out = Vec::with_capacity(n * dim);
        for _ in 0..n {
            let c = r.below(20);
            for t in 0..dim {
                out.push(centres[c * dim + t] + r.gauss());
            }
        }
        out
    }

    fn recall(
        idx: &HnswIndex,
        flat: &FlatIndex,
        queries: &[f32],
        dim: usize,
        k: usize,
        ef: usize,
    ) -> f64 {
        let mut hit = 0;
        let mut total = 0;
        for q in queries.chunks_exact(dim) {
            let truth: HashSet<u64> = flat.search(q, k).unwrap().iter().map(|h| h.id).collect();
            let p = SearchParams {
                ef_search: Some(ef),
                ..SearchParams::new(k)
            };
            let got = idx.search_with(q, &p).unwrap();
            assert_eq!(got.len(), k.min(idx.len()));
            hit += got.iter().filter(|h| truth.contains(&h.id)).count();
            total += truth.len();
        }
        hit as f64 / total as f64
    }

    fn build(cfg: HnswConfig, data: &[f32]) -> (HnswIndex, FlatIndex) {
        let n = data.len() / cfg.dim;
        let ids: Vec<u64> = (0..n as u64).map(|i| i * 3 + 1).collect();
        let mut flat = FlatIndex::new(cfg.dim, cfg.metric).unwrap();
        for (i, row) in data.chunks_exact(cfg.dim).enumerate() {
            flat.insert(ids[i], row).unwrap();
        }
        let mut idx = HnswIndex::new(cfg).unwrap();
        idx.insert_batch(&ids, data).unwrap();
        (idx, flat)
    }

    #[test]
    fn recall_against_flat_for_each_metric() {
        let dim = 16;
        let data = clustered(2000, dim, 1);
        let queries = clustered(50, dim, 2);
        for metric in [Metric::L2, Metric::Cosine, Metric::InnerProduct] {
            let mut cfg = HnswConfig::new(dim, metric);
            cfg.ef_construction = 100;
            let (idx, flat) = build(cfg, &data);
            assert_eq!(idx.len(), 2000);
            // Maximum-inner-product search is not a metric space; HNSW needs a wider beam.
            let ef = if metric == Metric::InnerProduct {
                200
            } else {
                64
            };
            let r = recall(&idx, &flat, &queries, dim, 10, ef);
            assert!(r >= 0.9, "{metric:?} recall {r}");
        }
    }

    #[test]
    fn quantized_recall_sq8_and_pq() {
        let dim = 16;
        let data = clustered(2000, dim, 3);
        let queries = clustered(50, dim, 4);
        for (quant, keep, bound) in [
            (Quantization::Sq8, false, 0.85),
            (Quantization::Sq8, true, 0.9),
            (Quantization::Pq { m: 8 }, true, 0.9),
        ] {
            let mut cfg = HnswConfig::new(dim, Metric::L2);
            cfg.ef_construction = 100;
            cfg.quantization = quant;
            cfg.keep_full_vectors = keep;
            let (idx, flat) = build(cfg, &data);
            assert!(idx.is_trained());
            let r = recall(&idx, &flat, &queries, dim, 10, 64);
            assert!(r >= bound, "{quant:?} keep={keep} recall {r}");
            if !keep {
                assert_eq!(idx.memory_usage().vectors, 0);
            }
        }
    }

    #[test]
    fn live_inserts_into_quantized_index_without_full_vectors() {
        let dim = 8;
        let data = clustered(600, dim, 5);
        let mut cfg = HnswConfig::new(dim, Metric::Cosine);
        cfg.quantization = Quantization::Sq8;
        cfg.keep_full_vectors = false;
        cfg.train_after = 300;
        let mut idx = HnswIndex::new(cfg).unwrap();
        for (i, row) in data.chunks_exact(dim).enumerate() {
            idx.insert(i as u64, row).unwrap();
        }
        assert!(idx.is_trained());
        assert_eq!(idx.memory_usage().vectors, 0);
        let mut self_hits = 0;
        for (i, row) in data.chunks_exact(dim).enumerate() {
            if idx.search(row, 1).unwrap()[0].id == i as u64 {
                self_hits += 1;
            }
        }
        assert!(self_hits >= 570, "self hits {self_hits}");
    }

    #[test]
    fn deletes_are_skipped_then_repaired_and_slots_reused() {
        let dim = 8;
        let data = clustered(1000, dim, 6);
        let mut cfg = HnswConfig::new(dim, Metric::L2);
        cfg.repair_fraction = 10.0; // manual repair only
        let (mut idx, mut flat) = build(cfg, &data);
        let ids: Vec<u64> = idx.ids().collect();
        let mut gone = HashSet::new();
        for id in ids.iter().take(300) {
            assert!(idx.delete(*id));
            assert!(flat.delete(*id));
            gone.insert(*id);
        }
        assert!(!idx.delete(ids[0]));
        assert_eq!(idx.pending_deletes(), 300);
        let queries = clustered(30, dim, 7);
        for q in queries.chunks_exact(dim) {
            for h in idx.search(q, 20).unwrap() {
                assert!(!gone.contains(&h.id));
            }
        }
        assert_eq!(idx.repair(), 300);
        assert_eq!(idx.pending_deletes(), 0);
        // No live node points at a freed slot any more.
        let mut buf = Vec::new();
        for i in 0..idx.slots() {
            if idx.flags[i] == LIVE {
                for l in 0..=usize::from(idx.levels[i]) {
                    idx.read_neighbors(i as u32, l, &mut buf);
                    assert!(buf.iter().all(|&x| idx.flags[x as usize] == LIVE));
                }
            }
        }
        let r = recall(&idx, &flat, &queries, dim, 10, 64);
        assert!(r >= 0.9, "recall after repair {r}");
        let slots_before = idx.slots();
        for i in 0..100u64 {
            idx.insert(10_000 + i, &data[i as usize * dim..(i as usize + 1) * dim])
                .unwrap();
        }
        assert_eq!(idx.slots(), slots_before, "freed slots are reused");
        assert_eq!(idx.len(), 800);
    }

    struct MapSource(HashMap<u64, Vec<f32>>);

    impl VectorSource for MapSource {
        fn fetch(&self, id: u64, out: &mut Vec<f32>) -> Result<bool> {
            match self.0.get(&id) {
                Some(v) => {
                    out.extend_from_slice(v);
                    Ok(true)
                }
                None => Ok(false),
            }
        }
    }

    #[test]
    fn pq_rerank_from_external_source() {
        let dim = 16;
        let data = clustered(1500, dim, 9);
        let queries = clustered(40, dim, 10);
        let mut cfg = HnswConfig::new(dim, Metric::L2);
        cfg.ef_construction = 100;
        cfg.quantization = Quantization::Pq { m: 4 };
        cfg.keep_full_vectors = false;
        let (idx, flat) = build(cfg, &data);
        assert_eq!(idx.memory_usage().vectors, 0);
        let src = MapSource(
            (0..1500u64)
                .map(|i| {
                    (
                        i * 3 + 1,
                        data[i as usize * dim..(i as usize + 1) * dim].to_vec(),
                    )
                })
                .collect(),
        );
        let (mut plain, mut reranked, mut total) = (0, 0, 0);
        for q in queries.chunks_exact(dim) {
            let truth: HashSet<u64> = flat.search(q, 10).unwrap().iter().map(|h| h.id).collect();
            let p = SearchParams {
                ef_search: Some(64),
                ..SearchParams::new(10)
            };
            plain += idx
                .search_with(q, &p)
                .unwrap()
                .iter()
                .filter(|h| truth.contains(&h.id))
                .count();
            let got = idx.search_reranked(q, &p, &src).unwrap();
            // Re-ranked distances are exact.
            for h in &got {
                let i = (h.id - 1) / 3;
                let exact = Metric::L2.distance(q, &data[i as usize * dim..(i as usize + 1) * dim]);
                assert!((h.distance - exact).abs() < 1e-3);
            }
            reranked += got.iter().filter(|h| truth.contains(&h.id)).count();
            total += 10;
        }
        let (plain, reranked) = (plain as f64 / total as f64, reranked as f64 / total as f64);
        assert!(
            reranked >= 0.9 && reranked > plain,
            "plain {plain} reranked {reranked}"
        );
    }

    #[test]
    fn upsert_replaces_vector() {
        let mut idx = HnswIndex::new(HnswConfig::new(2, Metric::L2)).unwrap();
        idx.insert(1, &[0.0, 0.0]).unwrap();
        idx.insert(2, &[10.0, 10.0]).unwrap();
        idx.insert(1, &[20.0, 20.0]).unwrap();
        assert_eq!(idx.len(), 2);
        let h = idx.search(&[21.0, 21.0], 5).unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].id, 1);
        assert_eq!(idx.get(1).unwrap(), vec![20.0, 20.0]);
        // Batch with duplicate ids: last wins.
        idx.insert_batch(&[5, 5], &[1.0, 1.0, 2.0, 2.0]).unwrap();
        assert_eq!(idx.get(5).unwrap(), vec![2.0, 2.0]);
    }

    #[test]
    fn filtered_search_returns_k_even_when_selective() {
        let dim = 8;
        let data = clustered(2000, dim, 8);
        let (idx, flat) = build(HnswConfig::new(dim, Metric::L2), &data);
        let q = &data[..dim];
        // Predicate keeping 1% of ids.
        let pred = |id: u64| id % 100 == 1;
        let p = SearchParams {
            filter: Filter::Predicate(&pred),
            ..SearchParams::new(10)
        };
        let got = idx.search_with(q, &p).unwrap();
        let want = flat.search_with(q, &p).unwrap();
        assert_eq!(got.len(), 10);
        assert!(got.iter().all(|h| pred(h.id)));
        let wanted: HashSet<u64> = want.iter().map(|h| h.id).collect();
        assert!(got.iter().filter(|h| wanted.contains(&h.id)).count() >= 8);
        // Allow-list of 15 ids, some unknown.
        let allow: Vec<u64> = (0..15u64).map(|i| i * 3 + 1).chain([999_999]).collect();
        let p = SearchParams {
            filter: Filter::AllowList(&allow),
            ..SearchParams::new(10)
        };
        let got = idx.search_with(q, &p).unwrap();
        assert_eq!(got, flat.search_with(q, &p).unwrap());
        // Predicate matching nothing.
        let none = |_: u64| false;
        let p = SearchParams {
            filter: Filter::Predicate(&none),
            ..SearchParams::new(10)
        };
        assert!(idx.search_with(q, &p).unwrap().is_empty());
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let mut idx = HnswIndex::new(HnswConfig::new(3, Metric::Cosine)).unwrap();
        assert!(idx.search(&[1.0, 0.0, 0.0], 3).unwrap().is_empty());
        assert!(matches!(
            idx.insert(1, &[1.0, 2.0]),
            Err(IndexError::DimensionMismatch {
                expected: 3,
                got: 2
            })
        ));
        assert!(matches!(
            idx.insert(1, &[1.0, f32::NAN, 0.0]),
            Err(IndexError::NonFinite { .. })
        ));
        assert!(matches!(
            idx.insert(1, &[0.0, 0.0, 0.0]),
            Err(IndexError::ZeroVector)
        ));
        assert!(matches!(
            idx.insert_batch(&[1, 2], &[1.0, 0.0, 0.0]),
            Err(IndexError::InvalidArgument(_))
        ));
        assert!(matches!(
            idx.insert_batch(&[1, 2], &[1.0, 0.0, 0.0, f32::INFINITY, 0.0, 0.0]),
            Err(IndexError::NonFinite { .. })
        ));
        assert!(idx.is_empty(), "failed batch inserts nothing");
        idx.insert(1, &[1.0, 0.0, 0.0]).unwrap();
        assert!(matches!(
            idx.search(&[1.0, 0.0, 0.0], 0),
            Err(IndexError::InvalidArgument(_))
        ));
        assert!(matches!(
            idx.search(&[0.0, 0.0, 0.0], 1),
            Err(IndexError::ZeroVector)
        ));
        assert_eq!(idx.search(&[1.0, 0.0, 0.0], usize::MAX).unwrap().len(), 1);
        let p = SearchParams {
            ef_search: Some(usize::MAX),
            rerank_factor: Some(usize::MAX),
            ..SearchParams::new(usize::MAX)
        };
        assert_eq!(idx.search_with(&[1.0, 0.0, 0.0], &p).unwrap().len(), 1);
        let mut bad = HnswConfig::new(0, Metric::L2);
        assert!(HnswIndex::new(bad.clone()).is_err());
        bad.dim = 10;
        bad.quantization = Quantization::Pq { m: 3 };
        assert!(HnswIndex::new(bad).is_err());
    }

    #[test]
    fn delete_everything_then_reinsert() {
        let mut idx = HnswIndex::new(HnswConfig::new(2, Metric::L2)).unwrap();
        for i in 0..50u64 {
            idx.insert(i, &[i as f32, 1.0]).unwrap();
        }
        for i in 0..50u64 {
            assert!(idx.delete(i));
        }
        assert!(idx.is_empty());
        idx.repair();
        assert!(idx.search(&[0.0, 0.0], 3).unwrap().is_empty());
        idx.insert(7, &[1.0, 1.0]).unwrap();
        assert_eq!(idx.search(&[0.0, 0.0], 3).unwrap()[0].id, 7);
    }
}
