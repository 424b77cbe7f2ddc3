//! `Collection` (vectors + text + metadata) and `SearchHit`.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use pyo3::IntoPyObjectExt;

use crate::convert::{from_map, metadata, to_json, vector};
use crate::db::{handle, Shared};
use crate::errors::{invalid, MapPy};

/// Parses a metric name.
pub(crate) fn parse_metric(s: &str) -> PyResult<toondb::Metric> {
    s.parse::<toondb::Metric>()
        .map_err(|_| invalid(format!("unknown metric {s:?} (expected cosine, l2 or ip)")))
}

/// Parses an optional filter dict.
pub(crate) fn parse_filter(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<toondb::Filter>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) if o.is_instance_of::<PyDict>() => {
            let j = to_json(o)?;
            toondb::json::filter(&j)
                .map(Some)
                .map_err(|e| invalid(e.to_string()))
        }
        Some(_) => Err(PyTypeError::new_err("filter must be a dict")),
    }
}

/// A named set of documents searchable by vector, keyword or both.
#[pyclass(module = "toondb", frozen)]
pub(crate) struct Collection {
    c: toondb::Collection,
    db: Shared,
}

impl Collection {
    pub(crate) fn new(c: toondb::Collection, db: Shared) -> Collection {
        Collection { c, db }
    }

    fn live(&self) -> PyResult<toondb::Collection> {
        handle(&self.db)?;
        Ok(self.c.clone())
    }

    fn run_search(&self, py: Python<'_>, req: toondb::SearchRequest) -> PyResult<Vec<SearchHit>> {
        let c = self.live()?;
        let hits = py.allow_threads(move || c.search_with(&req)).py_err()?;
        hits.into_iter()
            .map(|h| SearchHit::from_hit(py, h))
            .collect()
    }
}

/// A stored vector for Python: a float32 `numpy.ndarray` made from one buffer (no Python
/// object per element) when numpy is installed, else a list of floats.
fn vector_out(py: Python<'_>, v: &[f32]) -> PyResult<PyObject> {
    match py.import("numpy") {
        Ok(np) => {
            // Written once, straight into the bytearray numpy then views.
            let buf = pyo3::types::PyByteArray::new_with(py, v.len() * 4, |b| {
                for (dst, x) in b.chunks_exact_mut(4).zip(v) {
                    dst.copy_from_slice(&x.to_le_bytes());
                }
                Ok(())
            })?;
            Ok(np.call_method1("frombuffer", (buf, "<f4"))?.unbind())
        }
        Err(_) => Ok(PyList::new(py, v)?.into_any().unbind()),
    }
}

fn document(
    id: String,
    vec: &Bound<'_, PyAny>,
    text: Option<String>,
    meta: Option<&Bound<'_, PyAny>>,
) -> PyResult<toondb::Document> {
    let mut d = toondb::Document::new(id, vector(vec)?).with_metadata(metadata(meta)?);
    if let Some(t) = text {
        d = d.with_text(t);
    }
    Ok(d)
}

fn document_from_item(item: &Bound<'_, PyAny>) -> PyResult<toondb::Document> {
    if let Ok(d) = item.downcast::<PyDict>() {
        let id: String = d
            .get_item("id")?
            .ok_or_else(|| invalid("document dict needs an 'id'"))?
            .extract()?;
        let v = d
            .get_item("vector")?
            .ok_or_else(|| invalid("document dict needs a 'vector'"))?;
        let text: Option<String> = match d.get_item("text")? {
            Some(t) if !t.is_none() => Some(t.extract()?),
            _ => None,
        };
        let meta = d.get_item("metadata")?;
        return document(id, &v, text, meta.as_ref());
    }
    if let Ok(t) = item.downcast::<PyTuple>() {
        if (2..=4).contains(&t.len()) {
            let id: String = t.get_item(0)?.extract()?;
            let v = t.get_item(1)?;
            let text: Option<String> = if t.len() > 2 {
                t.get_item(2)?.extract()?
            } else {
                None
            };
            let meta = if t.len() > 3 {
                Some(t.get_item(3)?)
            } else {
                None
            };
            return document(id, &v, text, meta.as_ref());
        }
    }
    Err(PyTypeError::new_err(
        "documents must be dicts {id, vector, text?, metadata?} or tuples (id, vector[, text[, metadata]])",
    ))
}

#[pymethods]
impl Collection {
    /// The collection name.
    #[getter]
    fn name(&self) -> String {
        self.c.name().to_string()
    }

    /// The vector dimension.
    #[getter]
    fn dim(&self) -> usize {
        self.c.dim()
    }

    fn __len__(&self) -> PyResult<usize> {
        Ok(self.live()?.len())
    }

    fn __repr__(&self) -> String {
        format!(
            "<toondb.Collection {:?} dim={}>",
            self.c.name(),
            self.c.dim()
        )
    }

    /// Inserts or replaces a document.
    #[pyo3(signature = (id, vector, text=None, metadata=None))]
    fn upsert(
        &self,
        py: Python<'_>,
        id: String,
        vector: &Bound<'_, PyAny>,
        text: Option<String>,
        metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let d = document(id, vector, text, metadata)?;
        let c = self.live()?;
        py.allow_threads(move || c.upsert(d)).py_err()
    }

    /// Inserts or replaces many documents (dicts or tuples) in one call.
    fn upsert_many(&self, py: Python<'_>, docs: &Bound<'_, PyAny>) -> PyResult<usize> {
        let mut ds = Vec::new();
        for item in docs.try_iter()? {
            ds.push(document_from_item(&item?)?);
        }
        let n = ds.len();
        let c = self.live()?;
        py.allow_threads(move || c.upsert_many(ds)).py_err()?;
        Ok(n)
    }

    /// The document as a dict `{id, vector, text, metadata}`, or `None`.
    fn get(&self, py: Python<'_>, id: String) -> PyResult<Option<PyObject>> {
        let c = self.live()?;
        let d = py.allow_threads(move || c.get(&id)).py_err()?;
        let Some(d) = d else { return Ok(None) };
        let out = PyDict::new(py);
        out.set_item("id", d.id)?;
        out.set_item("vector", vector_out(py, &d.vector)?)?;
        out.set_item("text", d.text)?;
        out.set_item("metadata", from_map(py, &d.metadata)?)?;
        Ok(Some(out.into_py_any(py)?))
    }

    /// Deletes a document; returns whether it existed.
    fn delete(&self, py: Python<'_>, id: String) -> PyResult<bool> {
        let c = self.live()?;
        py.allow_threads(move || c.delete(&id)).py_err()
    }

    /// Nearest neighbours of `vector`.
    #[pyo3(signature = (vector, k=10, *, filter=None, ef_search=None))]
    fn search(
        &self,
        py: Python<'_>,
        vector: &Bound<'_, PyAny>,
        k: usize,
        filter: Option<&Bound<'_, PyAny>>,
        ef_search: Option<usize>,
    ) -> PyResult<Vec<SearchHit>> {
        let mut req = toondb::SearchRequest::vector(crate::convert::vector(vector)?, k);
        if let Some(f) = parse_filter(filter)? {
            req = req.filter(f);
        }
        if let Some(ef) = ef_search {
            req = req.ef_search(ef);
        }
        self.run_search(py, req)
    }

    /// BM25 keyword search over document text.
    #[pyo3(signature = (text, k=10, *, filter=None))]
    fn keyword_search(
        &self,
        py: Python<'_>,
        text: String,
        k: usize,
        filter: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<SearchHit>> {
        let mut req = toondb::SearchRequest::text(text, k);
        if let Some(f) = parse_filter(filter)? {
            req = req.filter(f);
        }
        self.run_search(py, req)
    }

    /// Attaches the text embedder (`model`: `None`/`"default"` for the built-in model, or a
    /// sentence-transformers directory) for this process.
    #[pyo3(signature = (model=None))]
    fn set_embedder(&self, py: Python<'_>, model: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let c = self.live()?;
        let e = crate::embed::load(py, crate::embed::model_arg(model)?)?;
        py.allow_threads(move || c.set_embedder(e)).py_err()
    }

    /// Chroma-style insert: embeds `documents` with the collection's embedder and upserts them
    /// under `ids` with `metadatas` (one dict or `None` each), in one transaction.
    #[pyo3(signature = (ids, documents, metadatas=None))]
    fn add(
        &self,
        py: Python<'_>,
        ids: Vec<String>,
        documents: Vec<String>,
        metadatas: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        if ids.len() != documents.len() {
            return Err(invalid(format!(
                "{} ids but {} documents",
                ids.len(),
                documents.len()
            )));
        }
        let metas: Vec<serde_json::Value> = match metadatas {
            Some(m) if !m.is_none() => {
                let list: Vec<Bound<'_, PyAny>> = m.extract()?;
                if list.len() != ids.len() {
                    return Err(invalid(format!(
                        "{} ids but {} metadatas",
                        ids.len(),
                        list.len()
                    )));
                }
                list.iter()
                    .map(|o| metadata(Some(o)))
                    .collect::<PyResult<_>>()?
            }
            _ => vec![serde_json::Value::Null; ids.len()],
        };
        let n = ids.len();
        let c = self.live()?;
        py.allow_threads(move || {
            c.upsert_texts(
                ids.into_iter()
                    .zip(documents)
                    .zip(metas)
                    .map(|((i, d), m)| (i, d, m)),
            )
        })
        .py_err()?;
        Ok(n)
    }

    /// Chroma-style query: for each of `query_texts`, the `n_results` nearest documents
    /// (`hybrid=True` adds BM25 keyword ranking of the same text, fused by RRF). Returns
    /// `{"ids": [[...]], "documents": [[...]], "metadatas": [[...]], "distances": [[...]]}`,
    /// one inner list per query text.
    #[pyo3(signature = (query_texts, n_results=10, *, r#where=None, hybrid=false))]
    fn query(
        &self,
        py: Python<'_>,
        query_texts: Vec<String>,
        n_results: usize,
        r#where: Option<&Bound<'_, PyAny>>,
        hybrid: bool,
    ) -> PyResult<PyObject> {
        let filter = parse_filter(r#where)?;
        let c = self.live()?;
        let results = py
            .allow_threads(move || {
                let refs: Vec<&str> = query_texts.iter().map(String::as_str).collect();
                let vectors = c.embed_texts(&refs)?;
                let mut all = Vec::with_capacity(vectors.len());
                for (text, v) in query_texts.iter().zip(vectors) {
                    let mut req = if hybrid {
                        toondb::SearchRequest::hybrid(text.clone(), v, n_results)
                    } else {
                        toondb::SearchRequest::vector(v, n_results)
                    };
                    if let Some(f) = &filter {
                        req = req.filter(f.clone());
                    }
                    all.push(c.search_with(&req)?);
                }
                Ok::<_, toondb::Error>(all)
            })
            .py_err()?;
        let out = PyDict::new(py);
        let ids = PyList::empty(py);
        let docs = PyList::empty(py);
        let metas = PyList::empty(py);
        let dists = PyList::empty(py);
        for hits in results {
            let (i, d, m, s) = (
                PyList::empty(py),
                PyList::empty(py),
                PyList::empty(py),
                PyList::empty(py),
            );
            for h in hits {
                i.append(&h.id)?;
                d.append(&h.text)?;
                m.append(from_map(py, &h.metadata)?)?;
                s.append(h.distance)?;
            }
            ids.append(i)?;
            docs.append(d)?;
            metas.append(m)?;
            dists.append(s)?;
        }
        out.set_item("ids", ids)?;
        out.set_item("documents", docs)?;
        out.set_item("metadatas", metas)?;
        out.set_item("distances", dists)?;
        Ok(out.into_any().unbind())
    }

    /// The `k` documents nearest in meaning to `text` (embedded with the collection's embedder).
    #[pyo3(signature = (text, k=10))]
    fn search_text(&self, py: Python<'_>, text: String, k: usize) -> PyResult<Vec<SearchHit>> {
        let c = self.live()?;
        let hits = py.allow_threads(move || c.search_text(&text, k)).py_err()?;
        hits.into_iter()
            .map(|h| SearchHit::from_hit(py, h))
            .collect()
    }

    /// Hybrid search from text alone: its embedding plus its keywords, fused by RRF.
    #[pyo3(signature = (text, k=10))]
    fn hybrid_search_text(
        &self,
        py: Python<'_>,
        text: String,
        k: usize,
    ) -> PyResult<Vec<SearchHit>> {
        let c = self.live()?;
        let hits = py
            .allow_threads(move || c.hybrid_search_text(&text, k))
            .py_err()?;
        hits.into_iter()
            .map(|h| SearchHit::from_hit(py, h))
            .collect()
    }

    /// Vector + keyword search fused by reciprocal rank fusion.
    #[pyo3(signature = (text, vector, k=10, *, filter=None, vector_weight=1.0, keyword_weight=1.0))]
    #[allow(clippy::too_many_arguments)]
    fn hybrid_search(
        &self,
        py: Python<'_>,
        text: String,
        vector: &Bound<'_, PyAny>,
        k: usize,
        filter: Option<&Bound<'_, PyAny>>,
        vector_weight: f32,
        keyword_weight: f32,
    ) -> PyResult<Vec<SearchHit>> {
        let mut req = toondb::SearchRequest::hybrid(text, crate::convert::vector(vector)?, k)
            .weights(vector_weight, keyword_weight);
        if let Some(f) = parse_filter(filter)? {
            req = req.filter(f);
        }
        self.run_search(py, req)
    }
}

/// One search result.
#[pyclass(module = "toondb", frozen, get_all)]
pub(crate) struct SearchHit {
    id: String,
    score: f32,
    distance: Option<f32>,
    keyword_score: Option<f32>,
    text: Option<String>,
    metadata: PyObject,
}

impl SearchHit {
    fn from_hit(py: Python<'_>, h: toondb::SearchHit) -> PyResult<SearchHit> {
        Ok(SearchHit {
            metadata: from_map(py, &h.metadata)?,
            id: h.id,
            score: h.score,
            distance: h.distance,
            keyword_score: h.keyword_score,
            text: h.text,
        })
    }
}

#[pymethods]
impl SearchHit {
    fn __repr__(&self) -> String {
        format!("<SearchHit id={:?} score={:.4}>", self.id, self.score)
    }
}
