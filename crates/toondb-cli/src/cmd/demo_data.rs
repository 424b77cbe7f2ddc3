//! The demo data set (`data/demo`), embedded in the binary so `toondb demo` works from any
//! directory on a machine without network access.

use serde::Deserialize;

use crate::error::{Error, Result};

const PASSAGES_JSONL: &str = include_str!("../../../../data/demo/passages.jsonl");
const PASSAGES_FVECS: &[u8] = include_bytes!("../../../../data/demo/passages.fvecs");
const QUERIES_JSONL: &str = include_str!("../../../../data/demo/queries.jsonl");
const QUERIES_FVECS: &[u8] = include_bytes!("../../../../data/demo/queries.fvecs");

/// Embedding dimension of the demo vectors (all-MiniLM-L6-v2).
pub const DIM: usize = 384;

/// One passage of the Python documentation.
#[derive(Debug, Clone, Deserialize)]
pub struct Passage {
    /// Row number (0-based), also the vector's row.
    pub id: i64,
    /// The paragraph text.
    pub text: String,
    /// Documentation page, e.g. `library/stdtypes.html`.
    pub source: String,
    /// First path component of `source`.
    pub section: String,
    /// Whitespace word count.
    pub words: i64,
    /// Unit-length embedding (filled from the `.fvecs` file).
    #[serde(skip)]
    pub vector: Vec<f32>,
}

/// One demo query: a documentation passage that is not in the passage set.
#[derive(Debug, Clone, Deserialize)]
pub struct Query {
    /// Query text.
    pub text: String,
    /// Documentation page it came from.
    pub source: String,
    /// Unit-length embedding.
    #[serde(skip)]
    pub vector: Vec<f32>,
}

fn parse_jsonl<T: for<'de> Deserialize<'de>>(text: &str, file: &str) -> Result<Vec<T>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| Error::Input {
                path: file.into(),
                line: i as u64 + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

fn vectors(bytes: &[u8], file: &str, rows: usize) -> Result<Vec<Vec<f32>>> {
    let set = toondb_index::texmex::parse_fvecs(bytes, file).map_err(|e| Error::Input {
        path: file.into(),
        line: 0,
        message: e.to_string(),
    })?;
    if set.rows() != rows || (rows > 0 && set.row(0).len() != DIM) {
        return Err(Error::Input {
            path: file.into(),
            line: 0,
            message: format!("expected {rows} vectors of {DIM} dimensions"),
        });
    }
    Ok((0..rows).map(|i| set.row(i).to_vec()).collect())
}

/// The first `limit` passages (at most all 2,000) with their vectors, and the queries.
pub fn load(limit: usize) -> Result<(Vec<Passage>, Vec<Query>)> {
    let mut passages: Vec<Passage> = parse_jsonl(PASSAGES_JSONL, "data/demo/passages.jsonl")?;
    let pv = vectors(PASSAGES_FVECS, "data/demo/passages.fvecs", passages.len())?;
    for (p, v) in passages.iter_mut().zip(pv) {
        p.vector = v;
    }
    passages.truncate(limit);
    let mut queries: Vec<Query> = parse_jsonl(QUERIES_JSONL, "data/demo/queries.jsonl")?;
    let qv = vectors(QUERIES_FVECS, "data/demo/queries.fvecs", queries.len())?;
    for (q, v) in queries.iter_mut().zip(qv) {
        q.vector = v;
    }
    Ok((passages, queries))
}

/// Ids of the exact top-`k` passages by cosine (dot product of unit vectors), ties by id.
pub fn exact_top(passages: &[Passage], query: &[f32], k: usize) -> Vec<i64> {
    let mut scored: Vec<(f32, i64)> = passages
        .iter()
        .map(|p| {
            (
                p.vector.iter().zip(query).map(|(a, b)| a * b).sum::<f32>(),
                p.id,
            )
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(k).map(|(_, id)| id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_parses_and_matches_the_recorded_neighbours() {
        let (p, q) = load(usize::MAX).unwrap();
        assert_eq!(p.len(), 2000);
        assert_eq!(q.len(), 10);
        assert!(p.iter().enumerate().all(|(i, p)| p.id == i as i64));
        // queries.jsonl records the exact top-10 computed in float64 by make_demo.py.
        let recorded: Vec<Vec<i64>> = QUERIES_JSONL
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["nearest"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_i64().unwrap())
                    .collect()
            })
            .collect();
        for (query, rec) in q.iter().zip(&recorded) {
            assert_eq!(exact_top(&p, &query.vector, 1), rec[..1].to_vec());
        }
    }
}
