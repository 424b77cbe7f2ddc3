//! Types shared by every index: search hits, filters, search parameters, and the small
//! ordered-candidate helper used by the heaps.

use std::cmp::Ordering;
use std::collections::HashSet;

/// One search result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    /// The caller's id of the vector.
    pub id: u64,
    /// Distance to the query under the index metric (smaller is closer). For quantized
    /// indexes searched without re-ranking this is the approximate (quantized) distance.
    pub distance: f32,
}

/// Restricts which ids a search may return.
#[derive(Clone, Copy, Default)]
pub enum Filter<'a> {
    /// Every live id qualifies.
    #[default]
    None,
    /// Only ids for which the predicate returns true. The predicate may be called from
    /// several threads and more than once per id.
    Predicate(&'a (dyn Fn(u64) -> bool + Sync)),
    /// Only ids in this list (duplicates and unknown ids are ignored). Small lists are
    /// searched exhaustively, which is both exact and faster than walking the graph.
    AllowList(&'a [u64]),
}

impl std::fmt::Debug for Filter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Filter::None => f.write_str("Filter::None"),
            Filter::Predicate(_) => f.write_str("Filter::Predicate(..)"),
            Filter::AllowList(l) => write!(f, "Filter::AllowList({} ids)", l.len()),
        }
    }
}

/// A filter resolved for repeated checks.
pub(crate) enum Resolved<'a> {
    All,
    Pred(&'a (dyn Fn(u64) -> bool + Sync)),
    Set(HashSet<u64>),
}

impl Resolved<'_> {
    #[inline]
    pub(crate) fn allows(&self, id: u64) -> bool {
        match self {
            Resolved::All => true,
            Resolved::Pred(p) => p(id),
            Resolved::Set(s) => s.contains(&id),
        }
    }

    pub(crate) fn is_all(&self) -> bool {
        matches!(self, Resolved::All)
    }
}

impl<'a> Filter<'a> {
    pub(crate) fn resolve(&self) -> Resolved<'a> {
        match *self {
            Filter::None => Resolved::All,
            Filter::Predicate(p) => Resolved::Pred(p),
            Filter::AllowList(l) => Resolved::Set(l.iter().copied().collect()),
        }
    }
}

/// Parameters of one search.
#[derive(Clone, Copy, Debug)]
pub struct SearchParams<'a> {
    /// Number of results wanted (must be >= 1; fewer are returned if fewer qualify).
    pub k: usize,
    /// Size of the dynamic candidate list; `None` uses the index default. Raised to `k` when
    /// smaller.
    pub ef_search: Option<usize>,
    /// For quantized indexes that keep full vectors: re-rank the best `k * rerank_factor`
    /// approximate candidates by exact distance. `None` uses the index default; `Some(0)`
    /// disables re-ranking.
    pub rerank_factor: Option<usize>,
    /// Which ids may be returned.
    pub filter: Filter<'a>,
}

impl SearchParams<'_> {
    /// `k` nearest neighbours with index defaults and no filter.
    pub fn new(k: usize) -> Self {
        SearchParams {
            k,
            ef_search: None,
            rerank_factor: None,
            filter: Filter::None,
        }
    }
}

/// (distance, internal id) ordered by distance then id; used in binary heaps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Cand {
    pub(crate) d: f32,
    pub(crate) id: u32,
}

impl Eq for Cand {}

impl PartialOrd for Cand {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Cand {
    fn cmp(&self, other: &Self) -> Ordering {
        self.d.total_cmp(&other.d).then(self.id.cmp(&other.id))
    }
}

/// Keeps the `k` smallest candidates seen (a bounded max-heap).
pub(crate) struct TopK {
    k: usize,
    heap: std::collections::BinaryHeap<Cand>,
}

impl TopK {
    pub(crate) fn new(k: usize) -> Self {
        TopK {
            k,
            heap: std::collections::BinaryHeap::with_capacity(k.min(4096) + 1),
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, c: Cand) {
        if self.heap.len() < self.k {
            self.heap.push(c);
        } else if let Some(top) = self.heap.peek() {
            if c < *top {
                self.heap.pop();
                self.heap.push(c);
            }
        }
    }

    pub(crate) fn into_sorted(self) -> Vec<Cand> {
        self.heap.into_sorted_vec()
    }
}
