//! Exact brute-force search: the right index for small collections and the ground truth for
//! recall measurements.

use std::collections::HashMap;

use crate::error::{IndexError, Result};
use crate::metric::{self, Metric};
use crate::search::{Cand, Filter, Hit, SearchParams, TopK};

/// Brute-force index: stores prepared vectors contiguously and scans them all.
///
/// ```
/// use toondb_index::{FlatIndex, Metric};
/// let mut idx = FlatIndex::new(2, Metric::L2)?;
/// idx.insert(7, &[0.0, 0.0])?;
/// idx.insert(9, &[3.0, 4.0])?;
/// let hits = idx.search(&[2.9, 4.0], 1)?;
/// assert_eq!(hits[0].id, 9);
/// # Ok::<(), toondb_index::IndexError>(())
/// ```
#[derive(Clone, Debug)]
pub struct FlatIndex {
    dim: usize,
    metric: Metric,
    ids: Vec<u64>,
    data: Vec<f32>,
    pos: HashMap<u64, usize>,
}

impl FlatIndex {
    /// An empty index of `dim` dimensions (`dim` must be >= 1).
    pub fn new(dim: usize, metric: Metric) -> Result<Self> {
        if dim == 0 {
            return Err(IndexError::InvalidArgument(
                "dimension must be at least 1".into(),
            ));
        }
        Ok(FlatIndex {
            dim,
            metric,
            ids: Vec::new(),
            data: Vec::new(),
            pos: HashMap::new(),
        })
    }

    /// Dimension of the vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The metric.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Whether `id` is present.
    pub fn contains(&self, id: u64) -> bool {
        self.pos.contains_key(&id)
    }

    /// Inserts or replaces (upserts) the vector of `id`.
    pub fn insert(&mut self, id: u64, v: &[f32]) -> Result<()> {
        let p = metric::prepare(self.metric, self.dim, v)?;
        if let Some(&i) = self.pos.get(&id) {
            self.data[i * self.dim..(i + 1) * self.dim].copy_from_slice(&p);
        } else {
            self.pos.insert(id, self.ids.len());
            self.ids.push(id);
            self.data.extend_from_slice(&p);
        }
        Ok(())
    }

    /// Removes `id`; returns whether it was present.
    pub fn delete(&mut self, id: u64) -> bool {
        let Some(i) = self.pos.remove(&id) else {
            return false;
        };
        let last = self.ids.len() - 1;
        if i != last {
            let moved = self.ids[last];
            self.ids[i] = moved;
            self.data
                .copy_within(last * self.dim..(last + 1) * self.dim, i * self.dim);
            self.pos.insert(moved, i);
        }
        self.ids.pop();
        self.data.truncate(last * self.dim);
        true
    }

    /// The `k` nearest ids (all of them, sorted, if `k > len`). `k = 0` is an error.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<Hit>> {
        self.search_with(query, &SearchParams::new(k))
    }

    /// Search with a filter (`ef_search` and `rerank_factor` are ignored: the scan is exact).
    pub fn search_with(&self, query: &[f32], params: &SearchParams<'_>) -> Result<Vec<Hit>> {
        if params.k == 0 {
            return Err(IndexError::InvalidArgument("k must be at least 1".into()));
        }
        let q = metric::prepare(self.metric, self.dim, query)?;
        let mut top = TopK::new(params.k.min(self.ids.len()));
        match params.filter {
            Filter::AllowList(list) => {
                let mut seen = std::collections::HashSet::new();
                for id in list {
                    if let Some(&i) = self.pos.get(id) {
                        if seen.insert(*id) {
                            top.push(Cand {
                                d: self.dist(&q, i),
                                id: i as u32,
                            });
                        }
                    }
                }
            }
            ref f => {
                let r = f.resolve();
                for (i, &id) in self.ids.iter().enumerate() {
                    if r.allows(id) {
                        top.push(Cand {
                            d: self.dist(&q, i),
                            id: i as u32,
                        });
                    }
                }
            }
        }
        Ok(top
            .into_sorted()
            .into_iter()
            .map(|c| Hit {
                id: self.ids[c.id as usize],
                distance: c.d,
            })
            .collect())
    }

    fn dist(&self, q: &[f32], i: usize) -> f32 {
        self.metric
            .distance(q, &self.data[i * self.dim..(i + 1) * self.dim])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsert_delete_and_k_bounds() {
        let mut f = FlatIndex::new(2, Metric::L2).unwrap();
        for i in 0..10u64 {
            f.insert(i, &[i as f32, 0.0]).unwrap();
        }
        f.insert(3, &[100.0, 0.0]).unwrap();
        assert_eq!(f.len(), 10);
        let h = f.search(&[3.0, 0.0], 3).unwrap();
        let ids: Vec<u64> = h.iter().map(|h| h.id).collect();
        assert_eq!(ids[..2], [2, 4]); // tie at distance 1, broken by insertion order
        assert!(!ids.contains(&3));
        assert!(f.delete(2));
        assert!(!f.delete(2));
        assert_eq!(f.search(&[0.0, 0.0], 1000).unwrap().len(), 9);
        assert!(matches!(
            f.search(&[0.0, 0.0], 0),
            Err(IndexError::InvalidArgument(_))
        ));
        let allow = [7u64, 8, 12345];
        let p = SearchParams {
            filter: Filter::AllowList(&allow),
            ..SearchParams::new(5)
        };
        let h = f.search_with(&[0.0, 0.0], &p).unwrap();
        assert_eq!(h.iter().map(|h| h.id).collect::<Vec<_>>(), vec![7, 8]);
    }
}
