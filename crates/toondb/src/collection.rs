//! Collections: documents with a vector, optional text and JSON metadata; vector (HNSW),
//! keyword (BM25) and hybrid (reciprocal rank fusion) search.
//!
//! # Storage layout
//!
//! ```text
//! 0x12 <name>                          descriptor (JSON: dim, metric, HNSW and BM25 params)
//! 0x13 <name> 0x00 'd' <doc id>        doc record: ver u8=1, iid u64 LE, text_len u32 LE
//!                                      (0xFFFF_FFFF = no text), text, metadata JSON
//! 0x13 <name> 0x00 'v' <iid u64 BE>    vector record: id_len u32 LE, doc id, dim u32 LE, f32 LE..
//! 0x13 <name> 0x00 'p' <term> 0x00 <iid u64 BE>   posting: tf u32 LE, doc_len u32 LE
//! 0x13 <name> 0x00 's'                 text stats: docs_with_text u64 LE, total_len u64 LE
//! 0x13 <name> 0x00 "g/meta"            graph image meta: len u64 LE, chunks u32 LE, crc32c u32 LE
//! 0x13 <name> 0x00 "g/c/" <u32 BE>     graph image chunk (<= 1 MiB), see toondb_index::persist
//! ```
//!
//! Every write of a document (its record, vector, postings and the stats) is one storage
//! transaction, so after a crash either all of it or none of it is there. The HNSW graph is
//! updated in memory after the commit and checkpointed now and then (every
//! [`CHECKPOINT_MIN_OPS`] or a quarter of the collection's size in index changes, whichever is
//! more, and on [`Collection::checkpoint`]) as a graph image, in one atomic batch. The image
//! records a checksum of every node's vector. On open the `'v'` records are the truth: the
//! image is loaded, nodes whose vector is gone or changed are repaired out, vectors the
//! image does not know are inserted (see `docs/architecture/index.md`). A missing, torn or
//! corrupt image falls back to a full rebuild ([`Collection::open_stats`] tells which).
//!
//! Writes made through a user transaction ([`crate::Transaction::collection`]) buffer the
//! same records in the user's storage transaction; their HNSW/metadata updates are kept
//! aside and applied only after that transaction committed, under the collection's writer
//! lock (so index updates happen in storage commit order). A rollback, an error or a lost
//! conflict discards them. A crash between the storage commit and the in-memory update loses
//! nothing: the index is rebuilt from the stored vectors on the next open.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use serde_json::{Map, Value as Json};
use toondb_index::{
    graph_vector_sum, read_graph_image, stage_graph_image, HnswConfig, HnswIndex, Metric,
    SearchParams,
};
use toondb_storage::{Isolation, WriteBatch};

use crate::db::Database;
use crate::embed::{embed_checked, EmbedderRef, TextEmbedder};
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::keys::{COLL_DATA, COLL_META};
use crate::text::{term_freqs, tokenize, Bm25Params};

/// Largest accepted collection name.
const MAX_NAME: usize = 64;
const NO_TEXT: u32 = u32::MAX;
/// Fewest index changes (inserted, updated or deleted vectors) between two automatic graph
/// checkpoints; the threshold also grows with the collection (a quarter of its size), so
/// checkpointing costs amortised O(1) per write.
pub const CHECKPOINT_MIN_OPS: usize = 10_000;

/// How a collection's vector index was made ready when it was loaded in this process.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct IndexOpenStats {
    /// Vectors read from storage.
    pub vectors: usize,
    /// True if a stored graph image was loaded (and patched with the writes after its
    /// checkpoint) instead of rebuilding the graph.
    pub graph_image_used: bool,
    /// Why no image was used (none stored, or corrupt / not matching: the warning of a
    /// fallback rebuild). `None` when the image was used or the collection is new.
    pub fallback: Option<String>,
    /// Time from the start of the vector scan to a ready index.
    pub duration: std::time::Duration,
    /// Graph checkpoints written by this process since the collection was loaded.
    pub checkpoints: u64,
}

/// Tunables of a collection, fixed at creation.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CollectionOptions {
    /// HNSW max neighbours per node (layer 0 allows twice as many). Default 16.
    pub m: usize,
    /// HNSW candidate list size while inserting. Default 200.
    pub ef_construction: usize,
    /// HNSW default candidate list size while searching. Default 64.
    pub ef_search: usize,
    /// BM25 parameters for keyword search.
    pub bm25: Bm25Params,
    /// Turns text into vectors for the `*_text` methods and text-only context searches. Not
    /// stored: a reopened database attaches it again with [`Collection::set_embedder`].
    pub embedder: Option<EmbedderRef>,
}

impl Default for CollectionOptions {
    fn default() -> Self {
        CollectionOptions {
            m: 16,
            ef_construction: 200,
            ef_search: 64,
            bm25: Bm25Params::default(),
            embedder: None,
        }
    }
}

impl CollectionOptions {
    /// Sets HNSW `m`.
    pub fn with_m(mut self, m: usize) -> Self {
        self.m = m;
        self
    }
    /// Sets HNSW `ef_construction`.
    pub fn with_ef_construction(mut self, ef: usize) -> Self {
        self.ef_construction = ef;
        self
    }
    /// Sets HNSW default `ef_search`.
    pub fn with_ef_search(mut self, ef: usize) -> Self {
        self.ef_search = ef;
        self
    }
    /// Sets the BM25 parameters.
    pub fn with_bm25(mut self, bm25: Bm25Params) -> Self {
        self.bm25 = bm25;
        self
    }
    /// Gives the collection a text embedder (see [`crate::embed`]). Its dimension must equal
    /// the collection's; `create_collection` with `dim` 0 takes the embedder's.
    pub fn embedder(mut self, embedder: Arc<dyn TextEmbedder>) -> Self {
        self.embedder = Some(EmbedderRef(embedder));
        self
    }
}

/// A document: an id, a vector, optional text (indexed for keyword search) and JSON metadata
/// (usable in filters).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Document {
    /// Caller-chosen unique id (1..=1024 bytes).
    pub id: String,
    /// The embedding; its length must equal the collection dimension.
    pub vector: Vec<f32>,
    /// Text for keyword search and context assembly.
    pub text: Option<String>,
    /// Arbitrary metadata.
    pub metadata: Map<String, Json>,
}

impl Document {
    /// A document with an id and a vector.
    pub fn new(id: impl Into<String>, vector: Vec<f32>) -> Document {
        Document {
            id: id.into(),
            vector,
            text: None,
            metadata: Map::new(),
        }
    }
    /// Sets the text.
    pub fn with_text(mut self, text: impl Into<String>) -> Document {
        self.text = Some(text.into());
        self
    }
    /// Sets the metadata from a JSON object (`serde_json::json!({...})`); a non-object value
    /// is stored under the key `"value"`.
    pub fn with_metadata(mut self, metadata: Json) -> Document {
        self.metadata = match metadata {
            Json::Object(m) => m,
            Json::Null => Map::new(),
            other => {
                let mut m = Map::new();
                m.insert("value".into(), other);
                m
            }
        };
        self
    }
}

/// One search result.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchHit {
    /// Document id.
    pub id: String,
    /// Higher is better. Vector search: similarity (`1 - distance` for cosine, the dot product
    /// for inner product, `-distance` for L2); keyword search: BM25; hybrid: fused RRF score.
    pub score: f32,
    /// Distance to the query vector, if the vector side found this document.
    pub distance: Option<f32>,
    /// BM25 score, if the keyword side found this document.
    pub keyword_score: Option<f32>,
    /// Document text.
    pub text: Option<String>,
    /// Document metadata.
    pub metadata: Map<String, Json>,
}

/// A search: by vector, by text, or both (hybrid), with an optional metadata filter.
///
/// ```
/// use toondb::{Filter, SearchRequest};
/// let req = SearchRequest::hybrid("rust database", vec![0.1, 0.2, 0.3], 5)
///     .filter(Filter::eq("lang", "en"))
///     .weights(1.0, 0.5);
/// assert_eq!(req.k, 5);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SearchRequest {
    /// Query vector (vector or hybrid search).
    pub vector: Option<Vec<f32>>,
    /// Query text (keyword or hybrid search).
    pub text: Option<String>,
    /// Results wanted.
    pub k: usize,
    /// Metadata filter.
    pub filter: Option<Filter>,
    /// RRF weight of the vector ranking. Default 1.
    pub vector_weight: f32,
    /// RRF weight of the keyword ranking. Default 1.
    pub keyword_weight: f32,
    /// RRF constant. Default 60.
    pub rrf_k: f32,
    /// Candidates taken from each ranking before fusion; default `max(4k, 50)`.
    pub candidates: Option<usize>,
    /// HNSW candidate list size; default the collection's.
    pub ef_search: Option<usize>,
}

impl SearchRequest {
    fn base(k: usize) -> SearchRequest {
        SearchRequest {
            vector: None,
            text: None,
            k,
            filter: None,
            vector_weight: 1.0,
            keyword_weight: 1.0,
            rrf_k: 60.0,
            candidates: None,
            ef_search: None,
        }
    }
    /// Nearest neighbours of `vector`.
    pub fn vector(vector: Vec<f32>, k: usize) -> SearchRequest {
        SearchRequest {
            vector: Some(vector),
            ..SearchRequest::base(k)
        }
    }
    /// BM25 keyword search.
    pub fn text(text: impl Into<String>, k: usize) -> SearchRequest {
        SearchRequest {
            text: Some(text.into()),
            ..SearchRequest::base(k)
        }
    }
    /// Both, fused by reciprocal rank fusion.
    pub fn hybrid(text: impl Into<String>, vector: Vec<f32>, k: usize) -> SearchRequest {
        SearchRequest {
            text: Some(text.into()),
            vector: Some(vector),
            ..SearchRequest::base(k)
        }
    }
    /// Restricts results to documents whose metadata matches.
    pub fn filter(mut self, filter: Filter) -> SearchRequest {
        self.filter = Some(filter);
        self
    }
    /// RRF weights of the vector and keyword rankings.
    pub fn weights(mut self, vector: f32, keyword: f32) -> SearchRequest {
        self.vector_weight = vector;
        self.keyword_weight = keyword;
        self
    }
    /// RRF constant `k` (default 60).
    pub fn rrf_k(mut self, k: f32) -> SearchRequest {
        self.rrf_k = k;
        self
    }
    /// Candidates per ranking before fusion.
    pub fn candidates(mut self, n: usize) -> SearchRequest {
        self.candidates = Some(n);
        self
    }
    /// HNSW `ef_search` for this query.
    pub fn ef_search(mut self, ef: usize) -> SearchRequest {
        self.ef_search = Some(ef);
        self
    }
}

#[derive(Clone, Debug)]
struct Descriptor {
    dim: usize,
    metric: Metric,
    options: CollectionOptions,
}

impl Descriptor {
    fn to_json(&self) -> Vec<u8> {
        let metric = self.metric.name();
        serde_json::json!({
            "version": 1,
            "dim": self.dim,
            "metric": metric,
            "m": self.options.m,
            "ef_construction": self.options.ef_construction,
            "ef_search": self.options.ef_search,
            "bm25_k1": self.options.bm25.k1,
            "bm25_b": self.options.bm25.b,
        })
        .to_string()
        .into_bytes()
    }

    fn from_json(name: &str, b: &[u8]) -> Result<Descriptor> {
        let file = format!("collection {name} descriptor");
        let v: Json = serde_json::from_slice(b)
            .map_err(|e| Error::corrupt(&file, e.column(), e.to_string()))?;
        let num = |k: &str| -> Result<u64> {
            v.get(k)
                .and_then(Json::as_u64)
                .ok_or_else(|| Error::corrupt(&file, 0, format!("missing or bad field {k}")))
        };
        let flt = |k: &str, d: f32| v.get(k).and_then(Json::as_f64).map_or(d, |f| f as f32);
        if num("version")? != 1 {
            return Err(Error::corrupt(&file, 0, "unknown descriptor version"));
        }
        // Only the canonical names are ever written; parsing is shared with every other
        // place that names metrics (`Metric: FromStr`).
        let metric = v
            .get("metric")
            .and_then(Json::as_str)
            .and_then(|m| m.parse::<Metric>().ok())
            .ok_or_else(|| Error::corrupt(&file, 0, "bad metric"))?;
        let to_usize =
            |x: u64| usize::try_from(x).map_err(|_| Error::corrupt(&file, 0, "value out of range"));
        let defaults = Bm25Params::default();
        Ok(Descriptor {
            dim: to_usize(num("dim")?)?,
            metric,
            options: CollectionOptions {
                m: to_usize(num("m")?)?,
                ef_construction: to_usize(num("ef_construction")?)?,
                ef_search: to_usize(num("ef_search")?)?,
                bm25: Bm25Params {
                    k1: flt("bm25_k1", defaults.k1),
                    b: flt("bm25_b", defaults.b),
                },
                embedder: None,
            },
        })
    }

    fn hnsw_config(&self) -> HnswConfig {
        let mut c = HnswConfig::new(self.dim, self.metric);
        c.m = self.options.m;
        c.ef_construction = self.options.ef_construction;
        c.ef_search = self.options.ef_search;
        c
    }
}

struct DocMeta {
    id: String,
    metadata: Map<String, Json>,
}

struct State {
    hnsw: HnswIndex,
    meta: HashMap<u64, Arc<DocMeta>>,
    next_iid: u64,
    /// Index changes applied since the last graph checkpoint (or load).
    since_checkpoint: usize,
}

/// Shared, loaded state of one collection.
pub(crate) struct CollectionInner {
    name: String,
    desc: Descriptor,
    prefix: Vec<u8>,
    state: RwLock<State>,
    write: Mutex<()>,
    /// Set by `drop_collection`; handles still held by callers then fail with NotFound.
    dropped: std::sync::atomic::AtomicBool,
    /// The text embedder attached in this process, if any.
    embedder: RwLock<Option<Arc<dyn TextEmbedder>>>,
    /// How the index was loaded, plus checkpoint count.
    open_stats: Mutex<IndexOpenStats>,
}

/// A handle on a collection. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Collection {
    db: Database,
    inner: Arc<CollectionInner>,
}

impl std::fmt::Debug for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collection")
            .field("name", &self.inner.name)
            .field("dim", &self.inner.desc.dim)
            .field("metric", &self.inner.desc.metric)
            .finish()
    }
}

fn validate_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > MAX_NAME
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    {
        return Err(Error::invalid(format!(
            "collection name {name:?} must be 1-{MAX_NAME} characters of [A-Za-z0-9_.-]"
        )));
    }
    Ok(())
}

fn meta_key(name: &str) -> Vec<u8> {
    let mut k = vec![COLL_META];
    k.extend_from_slice(name.as_bytes());
    k
}

fn data_prefix(name: &str) -> Vec<u8> {
    let mut k = vec![COLL_DATA];
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k
}

pub(crate) fn create(
    db: &Database,
    name: &str,
    dim: usize,
    metric: Metric,
    options: CollectionOptions,
) -> Result<Collection> {
    validate_name(name)?;
    let embedder = options.embedder.as_ref().map(|e| e.0.clone());
    let dim = match &embedder {
        Some(e) if dim == 0 => e.dim(),
        Some(e) if e.dim() != dim => {
            return Err(Error::invalid(format!(
                "collection dimension {dim} differs from the embedder's ({} gives {})",
                e.model_name(),
                e.dim()
            )))
        }
        _ => dim,
    };
    let desc = Descriptor {
        dim,
        metric,
        options,
    };
    // Validates dim, m, ef.
    let hnsw = HnswIndex::new(desc.hnsw_config())?;
    let _g = db.inner.coll_lock.lock();
    let engine = &db.inner.engine;
    let mut t = engine.begin(Isolation::Snapshot)?;
    if t.get(&meta_key(name))?.is_some() {
        return Err(Error::AlreadyExists(format!("collection {name}")));
    }
    t.put(&meta_key(name), &desc.to_json())?;
    t.commit()?;
    let inner = Arc::new(CollectionInner {
        name: name.to_string(),
        prefix: data_prefix(name),
        desc,
        state: RwLock::new(State {
            hnsw,
            meta: HashMap::new(),
            next_iid: 1,
            since_checkpoint: 0,
        }),
        write: Mutex::new(()),
        dropped: Default::default(),
        embedder: RwLock::new(None),
        open_stats: Mutex::new(IndexOpenStats::default()),
    });
    *inner.embedder.write() = embedder;
    db.inner
        .collections
        .write()
        .insert(name.to_string(), inner.clone());
    Ok(Collection {
        db: db.clone(),
        inner,
    })
}

pub(crate) fn open(db: &Database, name: &str) -> Result<Collection> {
    if let Some(c) = db.inner.collections.read().get(name) {
        return Ok(Collection {
            db: db.clone(),
            inner: c.clone(),
        });
    }
    validate_name(name)?;
    let _g = db.inner.coll_lock.lock();
    if let Some(c) = db.inner.collections.read().get(name) {
        return Ok(Collection {
            db: db.clone(),
            inner: c.clone(),
        });
    }
    let inner = Arc::new(load(db, name, true)?);
    db.inner
        .collections
        .write()
        .insert(name.to_string(), inner.clone());
    Ok(Collection {
        db: db.clone(),
        inner,
    })
}

pub(crate) fn list(db: &Database) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for kv in db.inner.engine.scan_prefix(&[COLL_META])? {
        let (k, _) = kv?;
        out.push(String::from_utf8_lossy(&k[1..]).into_owned());
    }
    Ok(out)
}

pub(crate) fn drop(db: &Database, name: &str) -> Result<bool> {
    validate_name(name)?;
    let _g = db.inner.coll_lock.lock();
    let engine = &db.inner.engine;
    if engine.get(&meta_key(name))?.is_none() {
        return Ok(false);
    }
    // Hold the collection's writer lock (if loaded) so no write races the drop.
    let loaded = db.inner.collections.read().get(name).cloned();
    let _w = loaded.as_ref().map(|c| c.write.lock());
    let mut b = WriteBatch::new();
    b.delete(&meta_key(name));
    for kv in engine.scan_prefix(&data_prefix(name))? {
        b.delete(&kv?.0);
    }
    engine.write(b)?;
    if let Some(c) = &loaded {
        c.dropped.store(true, std::sync::atomic::Ordering::Release);
    }
    db.inner.collections.write().remove(name);
    Ok(true)
}

/// Loads a collection; with `use_image`, from its graph image (patched) when one is valid.
fn load(db: &Database, name: &str, use_image: bool) -> Result<CollectionInner> {
    let engine = &db.inner.engine;
    let snap = engine.snapshot();
    let Some(d) = snap.get(&meta_key(name))? else {
        return Err(Error::NotFound(format!("collection {name}")));
    };
    let desc = Descriptor::from_json(name, &d)?;
    let prefix = data_prefix(name);
    // Vectors.
    let mut vkey = prefix.clone();
    vkey.push(b'v');
    let mut ids = Vec::new();
    let mut data = Vec::new();
    let mut names: HashMap<u64, String> = HashMap::new();
    let mut max_iid = 0;
    let start = std::time::Instant::now();
    for kv in snap.scan_prefix(&vkey)? {
        let (k, v) = kv?;
        let iid = iid_from_key(&k, vkey.len(), name)?;
        let (doc_id, vector) = decode_vector(&v, desc.dim, name)?;
        ids.push(iid);
        data.extend_from_slice(&vector);
        names.insert(iid, doc_id);
        max_iid = max_iid.max(iid);
    }
    // Metadata.
    let mut dkey = prefix.clone();
    dkey.push(b'd');
    let mut meta = HashMap::new();
    for kv in snap.scan_prefix(&dkey)? {
        let (k, v) = kv?;
        let id = String::from_utf8(k[dkey.len()..].to_vec()).map_err(|_| {
            Error::corrupt(
                format!("collection {name} doc key"),
                0,
                "doc id is not UTF-8",
            )
        })?;
        let rec = decode_doc(&v, name)?;
        if names.get(&rec.iid) != Some(&id) {
            return Err(Error::corrupt(
                format!("collection {name} doc {id}"),
                0,
                "document record without a matching vector record",
            ));
        }
        meta.insert(
            rec.iid,
            Arc::new(DocMeta {
                id,
                metadata: rec.metadata,
            }),
        );
    }
    if meta.len() != names.len() {
        return Err(Error::corrupt(
            format!("collection {name}"),
            0,
            format!(
                "{} vector records but {} document records",
                names.len(),
                meta.len()
            ),
        ));
    }
    let mut stats = IndexOpenStats {
        vectors: ids.len(),
        ..IndexOpenStats::default()
    };
    let mut hnsw = None;
    if use_image {
        // The image is read at the same snapshot as the vectors; `from_graph_image` checks
        // every node against the vector checksums and patches the difference.
        match read_graph_image(|k| Ok(snap.get(k)?), &prefix) {
            Ok(Some(image)) => {
                let dim = desc.dim;
                let map: HashMap<u64, (Vec<f32>, u32)> = ids
                    .iter()
                    .enumerate()
                    .map(|(i, &id)| {
                        let v = data[i * dim..(i + 1) * dim].to_vec();
                        let sum = graph_vector_sum(desc.metric, &v);
                        (id, (v, sum))
                    })
                    .collect();
                match HnswIndex::from_graph_image(desc.hnsw_config(), &image, &map) {
                    Ok(h) => {
                        hnsw = Some(h);
                        stats.graph_image_used = true;
                    }
                    Err(e) => stats.fallback = Some(format!("graph image rejected: {e}")),
                }
            }
            Ok(None) if ids.is_empty() => {}
            Ok(None) => stats.fallback = Some("no graph image".into()),
            Err(e) => stats.fallback = Some(format!("graph image unreadable: {e}")),
        }
    } else {
        stats.fallback = Some("rebuild requested".into());
    }
    let hnsw = match hnsw {
        Some(h) => h,
        None => {
            let mut h = HnswIndex::new(desc.hnsw_config())?;
            if !ids.is_empty() {
                h.insert_batch(&ids, &data)?;
            }
            h
        }
    };
    stats.duration = start.elapsed();
    Ok(CollectionInner {
        name: name.to_string(),
        prefix,
        desc,
        state: RwLock::new(State {
            hnsw,
            meta,
            next_iid: max_iid + 1,
            since_checkpoint: 0,
        }),
        write: Mutex::new(()),
        dropped: Default::default(),
        embedder: RwLock::new(None),
        open_stats: Mutex::new(stats),
    })
}

// ------------------------------------------------------------------ record codecs

struct DocRecord {
    iid: u64,
    text: Option<String>,
    metadata: Map<String, Json>,
}

fn encode_doc(iid: u64, text: Option<&str>, metadata: &Map<String, Json>) -> Vec<u8> {
    let meta = serde_json::to_vec(metadata).unwrap_or_else(|_| b"{}".to_vec());
    let mut out = Vec::with_capacity(13 + text.map_or(0, str::len) + meta.len());
    out.push(1);
    out.extend_from_slice(&iid.to_le_bytes());
    match text {
        Some(t) => {
            // Text length is checked against u32 by the writer.
            out.extend_from_slice(&(t.len() as u32).to_le_bytes());
            out.extend_from_slice(t.as_bytes());
        }
        None => out.extend_from_slice(&NO_TEXT.to_le_bytes()),
    }
    out.extend_from_slice(&meta);
    out
}

fn take<'a>(b: &'a [u8], at: usize, n: usize, file: &dyn Fn() -> String) -> Result<&'a [u8]> {
    at.checked_add(n)
        .and_then(|end| b.get(at..end))
        .ok_or_else(|| Error::corrupt(file(), at, format!("truncated record (need {n} bytes)")))
}

fn u32_at(b: &[u8], at: usize, file: &dyn Fn() -> String) -> Result<u32> {
    let s = take(b, at, 4, file)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize, file: &dyn Fn() -> String) -> Result<u64> {
    let s = take(b, at, 8, file)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Ok(u64::from_le_bytes(a))
}

fn decode_doc(b: &[u8], coll: &str) -> Result<DocRecord> {
    let file = || format!("collection {coll} document record");
    if b.first() != Some(&1) {
        return Err(Error::corrupt(file(), 0, "unknown document record version"));
    }
    let iid = u64_at(b, 1, &file)?;
    let tl = u32_at(b, 9, &file)?;
    let mut at = 13;
    let text = if tl == NO_TEXT {
        None
    } else {
        let s = take(b, at, tl as usize, &file)?;
        at += tl as usize;
        Some(
            String::from_utf8(s.to_vec())
                .map_err(|_| Error::corrupt(file(), 13, "text is not UTF-8"))?,
        )
    };
    let metadata = serde_json::from_slice::<Map<String, Json>>(&b[at..])
        .map_err(|e| Error::corrupt(file(), at, format!("metadata: {e}")))?;
    Ok(DocRecord {
        iid,
        text,
        metadata,
    })
}

fn encode_vector(doc_id: &str, v: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + doc_id.len() + 4 * v.len());
    out.extend_from_slice(&(doc_id.len() as u32).to_le_bytes());
    out.extend_from_slice(doc_id.as_bytes());
    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

fn decode_vector(b: &[u8], dim: usize, coll: &str) -> Result<(String, Vec<f32>)> {
    let file = || format!("collection {coll} vector record");
    let il = u32_at(b, 0, &file)? as usize;
    let id = take(b, 4, il, &file)?;
    let id = String::from_utf8(id.to_vec())
        .map_err(|_| Error::corrupt(file(), 4, "doc id is not UTF-8"))?;
    let d = u32_at(b, 4 + il, &file)? as usize;
    if d != dim {
        return Err(Error::corrupt(
            file(),
            4 + il,
            format!("vector has {d} dimensions, collection {dim}"),
        ));
    }
    // `take` checks the length before anything is allocated.
    let raw = take(b, 8 + il, d.saturating_mul(4), &file)?;
    let v = raw
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((id, v))
}

fn iid_from_key(k: &[u8], at: usize, coll: &str) -> Result<u64> {
    let s = k
        .get(at..at + 8)
        .filter(|s| s.len() == 8 && k.len() == at + 8)
        .ok_or_else(|| Error::corrupt(format!("collection {coll} key"), at, "bad internal id"))?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Ok(u64::from_be_bytes(a))
}

// ------------------------------------------------------------------ operations

impl CollectionInner {
    fn key(&self, tag: u8, rest: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + 1 + rest.len());
        k.extend_from_slice(&self.prefix);
        k.push(tag);
        k.extend_from_slice(rest);
        k
    }
    fn doc_key(&self, id: &str) -> Vec<u8> {
        self.key(b'd', id.as_bytes())
    }
    fn vec_key(&self, iid: u64) -> Vec<u8> {
        self.key(b'v', &iid.to_be_bytes())
    }
    fn term_prefix(&self, term: &str) -> Vec<u8> {
        let mut k = self.key(b'p', term.as_bytes());
        k.push(0);
        k
    }
    fn posting_key(&self, term: &str, iid: u64) -> Vec<u8> {
        let mut k = self.term_prefix(term);
        k.extend_from_slice(&iid.to_be_bytes());
        k
    }
    fn stats_key(&self) -> Vec<u8> {
        self.key(b's', &[])
    }
}

fn read_stats(t: &mut toondb_storage::Transaction, key: &[u8], coll: &str) -> Result<(u64, u64)> {
    match t.get(key)? {
        None => Ok((0, 0)),
        Some(b) => parse_stats(&b, coll),
    }
}

fn parse_stats(b: &[u8], coll: &str) -> Result<(u64, u64)> {
    let file = || format!("collection {coll} stats");
    Ok((u64_at(b, 0, &file)?, u64_at(b, 8, &file)?))
}

fn stats_bytes(n: u64, total: u64) -> Vec<u8> {
    let mut b = n.to_le_bytes().to_vec();
    b.extend_from_slice(&total.to_le_bytes());
    b
}

/// Documents sampled to estimate a filter's selectivity.
const FILTER_SAMPLE: usize = 512;

/// Whether a metadata filter passes few enough documents that an exact search over them
/// beats (and is more correct than) a filtered graph walk: estimated from a sample of the
/// documents (the map's hash order is effectively random), "few" meaning at most 5 % of the
/// collection or `max(4 * ef, 1000)` documents, the index's own threshold for exhaustive
/// allow-list search.
fn filter_is_selective(meta: &HashMap<u64, Arc<DocMeta>>, f: &Filter, ef: usize) -> bool {
    let n = meta.len();
    if n == 0 {
        return false;
    }
    let sample = n.min(FILTER_SAMPLE);
    let pass = meta
        .values()
        .take(sample)
        .filter(|m| f.matches(&m.metadata))
        .count();
    let est = pass as f64 / sample as f64 * n as f64;
    est <= (n as f64 * 0.05).max(((4 * ef).max(1000)) as f64)
}

/// What a committed write changes in memory.
enum Applied {
    Upsert {
        iid: u64,
        vector: Vec<f32>,
        meta: Arc<DocMeta>,
    },
    Delete {
        iid: u64,
    },
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Insert,
    Upsert,
}

impl CollectionInner {
    /// Hands out a fresh internal id. Ids are never reused, even when the writing
    /// transaction rolls back (a hole is harmless).
    fn reserve_iid(&self) -> u64 {
        let mut s = self.state.write();
        let i = s.next_iid;
        s.next_iid += 1;
        i
    }

    fn validate(&self, docs: &[Document]) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        for d in docs {
            if d.id.is_empty() || d.id.len() > 1024 {
                return Err(Error::invalid(format!(
                    "document id must be 1..=1024 bytes, got {}",
                    d.id.len()
                )));
            }
            if !seen.insert(d.id.as_str()) {
                return Err(Error::invalid(format!(
                    "document id {:?} appears twice in one write",
                    d.id
                )));
            }
            toondb_index::metric::prepare(self.desc.metric, self.desc.dim, &d.vector)?;
            if d.text.as_ref().is_some_and(|t| t.len() >= NO_TEXT as usize) {
                return Err(Error::invalid("document text must be shorter than 4 GiB"));
            }
        }
        Ok(())
    }

    /// Buffers the storage writes of `docs` in `t` and returns what to apply to the
    /// in-memory index once `t` has committed. `docs` must have passed [`Self::validate`].
    fn stage_docs(
        &self,
        t: &mut toondb_storage::Transaction,
        docs: Vec<Document>,
        mode: Mode,
    ) -> Result<Vec<Applied>> {
        let c = self;
        let skey = c.stats_key();
        let (mut n, mut total) = read_stats(t, &skey, &c.name)?;
        let mut applied = Vec::with_capacity(docs.len());
        for d in docs {
            let dkey = c.doc_key(&d.id);
            let iid = match t.get(&dkey)? {
                Some(old) => {
                    if mode == Mode::Insert {
                        return Err(Error::AlreadyExists(format!(
                            "document {:?} in collection {}",
                            d.id, c.name
                        )));
                    }
                    let old = decode_doc(&old, &c.name)?;
                    c.unstage_postings(t, old.text.as_deref(), old.iid, &mut n, &mut total)?;
                    old.iid
                }
                None => c.reserve_iid(),
            };
            if let Some(text) = &d.text {
                let (tf, len) = term_freqs(text);
                for (term, f) in &tf {
                    let mut v = f.to_le_bytes().to_vec();
                    v.extend_from_slice(&len.to_le_bytes());
                    t.put(&c.posting_key(term, iid), &v)?;
                }
                n += 1;
                total += u64::from(len);
            }
            t.put(&dkey, &encode_doc(iid, d.text.as_deref(), &d.metadata))?;
            t.put(&c.vec_key(iid), &encode_vector(&d.id, &d.vector))?;
            applied.push(Applied::Upsert {
                iid,
                vector: d.vector,
                meta: Arc::new(DocMeta {
                    id: d.id,
                    metadata: d.metadata,
                }),
            });
        }
        t.put(&skey, &stats_bytes(n, total))?;
        Ok(applied)
    }

    /// Buffers the deletion of the keyword postings of a stored document's `text` (if any) and
    /// takes it out of the BM25 statistics `n` (documents) and `total` (terms).
    fn unstage_postings(
        &self,
        t: &mut toondb_storage::Transaction,
        text: Option<&str>,
        iid: u64,
        n: &mut u64,
        total: &mut u64,
    ) -> Result<()> {
        if let Some(text) = text {
            let (tf, len) = term_freqs(text);
            for term in tf.keys() {
                t.delete(&self.posting_key(term, iid))?;
            }
            *n = n.saturating_sub(1);
            *total = total.saturating_sub(u64::from(len));
        }
        Ok(())
    }

    /// Buffers the storage writes deleting `id`; `None` if it does not exist (as seen by `t`).
    fn stage_delete(
        &self,
        t: &mut toondb_storage::Transaction,
        id: &str,
    ) -> Result<Option<Applied>> {
        let c = self;
        let Some(old) = t.get(&c.doc_key(id))? else {
            return Ok(None);
        };
        let old = decode_doc(&old, &c.name)?;
        let skey = c.stats_key();
        let (mut n, mut total) = read_stats(t, &skey, &c.name)?;
        t.delete(&c.doc_key(id))?;
        t.delete(&c.vec_key(old.iid))?;
        c.unstage_postings(t, old.text.as_deref(), old.iid, &mut n, &mut total)?;
        t.put(&skey, &stats_bytes(n, total))?;
        Ok(Some(Applied::Delete { iid: old.iid }))
    }

    /// Applies committed writes to the in-memory index. Callers hold `self.write`, so the
    /// order of applications is the order of the storage commits.
    fn apply(&self, ops: Vec<Applied>) {
        let mut s = self.state.write();
        s.since_checkpoint += ops.len();
        for op in ops {
            match op {
                Applied::Upsert { iid, vector, meta } => {
                    // The vector was validated before the commit, so this cannot fail; if it
                    // somehow does, the document stays searchable by keyword and is re-indexed
                    // on the next open.
                    let _ = s.hnsw.insert(iid, &vector);
                    s.meta.insert(iid, meta);
                }
                Applied::Delete { iid } => {
                    s.hnsw.delete(iid);
                    s.meta.remove(&iid);
                }
            }
        }
    }

    /// Writes a graph image of the current index in one atomic batch. The caller holds
    /// `self.write`, so the in-memory graph reflects exactly the committed documents.
    fn checkpoint_locked(&self, engine: &toondb_storage::Engine) -> Result<()> {
        let snap = engine.snapshot();
        let vkey = self.key(b'v', &[]);
        let mut sums = HashMap::new();
        for kv in snap.scan_prefix(&vkey)? {
            let (k, v) = kv?;
            let iid = iid_from_key(&k, vkey.len(), &self.name)?;
            let (_, vector) = decode_vector(&v, self.desc.dim, &self.name)?;
            sums.insert(iid, graph_vector_sum(self.desc.metric, &vector));
        }
        let (image, applied) = {
            let s = self.state.read();
            // A node without a stored vector gets sum 0 and is dropped on the next open.
            let image = s.hnsw.graph_image(|id| sums.get(&id).copied().unwrap_or(0));
            (image, s.since_checkpoint)
        };
        let mut meta_key = self.prefix.clone();
        meta_key.extend_from_slice(b"g/meta");
        let old_meta = snap.get(&meta_key)?;
        let mut b = WriteBatch::new();
        stage_graph_image(&mut b, &self.prefix, &image, old_meta.as_deref());
        engine.write(b)?;
        {
            let mut s = self.state.write();
            s.since_checkpoint = s.since_checkpoint.saturating_sub(applied);
        }
        self.open_stats.lock().checkpoints += 1;
        Ok(())
    }

    /// On close: checkpoints if any index change happened since the last checkpoint, so the
    /// next open loads the graph instead of patching many documents into it. Best effort
    /// like [`maybe_checkpoint`](Self::maybe_checkpoint): the documents are committed either
    /// way.
    pub(crate) fn checkpoint_on_close(&self, engine: &toondb_storage::Engine) {
        let _w = self.write.lock();
        if self.dropped.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        if self.state.read().since_checkpoint > 0 {
            let _ = self.checkpoint_locked(engine);
        }
    }

    /// Checkpoints if enough index changes accumulated. The caller holds `self.write`. A
    /// failed checkpoint loses nothing (the documents are committed; the next open patches
    /// or rebuilds), so its error is not the writer's: the next write tries again.
    fn maybe_checkpoint(&self, engine: &toondb_storage::Engine) {
        let due = {
            let s = self.state.read();
            s.since_checkpoint >= CHECKPOINT_MIN_OPS.max(s.meta.len() / 4)
        };
        if due {
            let _ = self.checkpoint_locked(engine);
        }
    }

    fn read_doc(
        &self,
        id: &str,
        mut get: impl FnMut(&[u8]) -> Result<Option<Vec<u8>>>,
    ) -> Result<Option<Document>> {
        let c = self;
        let Some(b) = get(&c.doc_key(id))? else {
            return Ok(None);
        };
        let rec = decode_doc(&b, &c.name)?;
        let vb = get(&c.vec_key(rec.iid))?.ok_or_else(|| {
            Error::corrupt(
                format!("collection {} doc {id}", c.name),
                0,
                "vector record missing",
            )
        })?;
        let (_, vector) = decode_vector(&vb, c.desc.dim, &c.name)?;
        Ok(Some(Document {
            id: id.to_string(),
            vector,
            text: rec.text,
            metadata: rec.metadata,
        }))
    }
}

impl Collection {
    fn check_live(&self) -> Result<()> {
        if self
            .inner
            .dropped
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return Err(Error::NotFound(format!(
                "collection {} (dropped)",
                self.inner.name
            )));
        }
        Ok(())
    }

    /// The collection name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }
    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.inner.desc.dim
    }
    /// Distance metric.
    pub fn metric(&self) -> Metric {
        self.inner.desc.metric
    }
    /// Creation options.
    pub fn options(&self) -> &CollectionOptions {
        &self.inner.desc.options
    }
    /// Number of documents.
    pub fn len(&self) -> usize {
        self.inner.state.read().meta.len()
    }
    /// True when the collection holds no documents.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inserts a new document; [`Error::AlreadyExists`] if the id is taken.
    pub fn insert(&self, doc: Document) -> Result<()> {
        self.write_docs(vec![doc], Mode::Insert)
    }

    /// Inserts or replaces a document.
    pub fn upsert(&self, doc: Document) -> Result<()> {
        self.write_docs(vec![doc], Mode::Upsert)
    }

    /// Inserts or replaces many documents in one atomic transaction.
    pub fn upsert_many(&self, docs: impl IntoIterator<Item = Document>) -> Result<()> {
        self.write_docs(docs.into_iter().collect(), Mode::Upsert)
    }

    /// Deletes a document; returns whether it existed.
    pub fn delete(&self, id: &str) -> Result<bool> {
        let c = &*self.inner;
        let _w = c.write.lock();
        self.check_live()?;
        let mut t = self.db.inner.engine.begin(Isolation::Snapshot)?;
        let Some(op) = c.stage_delete(&mut t, id)? else {
            return Ok(false);
        };
        t.commit()?;
        c.apply(vec![op]);
        c.maybe_checkpoint(&self.db.inner.engine);
        Ok(true)
    }

    fn write_docs(&self, docs: Vec<Document>, mode: Mode) -> Result<()> {
        let c = &*self.inner;
        c.validate(&docs)?;
        if docs.is_empty() {
            return Ok(());
        }
        let _w = c.write.lock();
        self.check_live()?;
        let mut t = self.db.inner.engine.begin(Isolation::Snapshot)?;
        let applied = c.stage_docs(&mut t, docs, mode)?;
        t.commit()?;
        c.apply(applied);
        c.maybe_checkpoint(&self.db.inner.engine);
        Ok(())
    }

    /// The stored (committed) document with this id.
    pub fn get(&self, id: &str) -> Result<Option<Document>> {
        let snap = self.db.inner.engine.snapshot();
        self.inner.read_doc(id, |k| Ok(snap.get(k)?))
    }

    /// The `k` nearest documents to `vector`.
    pub fn search(&self, vector: &[f32], k: usize) -> Result<Vec<SearchHit>> {
        self.search_with(&SearchRequest::vector(vector.to_vec(), k))
    }

    /// The `k` best BM25 matches for `text`.
    pub fn keyword_search(&self, text: &str, k: usize) -> Result<Vec<SearchHit>> {
        self.search_with(&SearchRequest::text(text, k))
    }

    /// Vector and keyword search fused by reciprocal rank fusion (k = 60, equal weights).
    pub fn hybrid_search(&self, text: &str, vector: &[f32], k: usize) -> Result<Vec<SearchHit>> {
        self.search_with(&SearchRequest::hybrid(text, vector.to_vec(), k))
    }

    /// Attaches (or replaces) the text embedder of this collection for this process; every
    /// handle on the collection sees it. Its dimension must equal the collection's.
    pub fn set_embedder(&self, embedder: Arc<dyn TextEmbedder>) -> Result<()> {
        self.check_live()?;
        if embedder.dim() != self.dim() {
            return Err(Error::invalid(format!(
                "embedder {} gives {}-dimensional vectors, collection {} holds {}",
                embedder.model_name(),
                embedder.dim(),
                self.name(),
                self.dim()
            )));
        }
        *self.inner.embedder.write() = Some(embedder);
        Ok(())
    }

    /// The attached text embedder, if any.
    pub fn embedder(&self) -> Option<Arc<dyn TextEmbedder>> {
        self.inner.embedder.read().clone()
    }

    fn require_embedder(&self) -> Result<Arc<dyn TextEmbedder>> {
        self.embedder().ok_or_else(|| {
            Error::invalid(format!(
                "collection {} has no text embedder: create it with \
                 CollectionOptions::embedder(...) or call set_embedder",
                self.name()
            ))
        })
    }

    /// Embeds texts with the attached embedder.
    pub fn embed_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let e = self.require_embedder()?;
        embed_checked(e.as_ref(), texts)
    }

    /// Embeds `text` and inserts or replaces the document `id` with that vector, the text
    /// (keyword-indexed) and `metadata` (a JSON object, or `Json::Null` for none).
    pub fn upsert_text(&self, id: &str, text: &str, metadata: Json) -> Result<()> {
        self.upsert_texts([(id, text, metadata)])
    }

    /// [`upsert_text`](Self::upsert_text) for many documents: embedded as one batch and
    /// written in one atomic transaction.
    pub fn upsert_texts<I, S, T>(&self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = (S, T, Json)>,
        S: Into<String>,
        T: Into<String>,
    {
        let items: Vec<(String, String, Json)> = items
            .into_iter()
            .map(|(id, text, meta)| (id.into(), text.into(), meta))
            .collect();
        let texts: Vec<&str> = items.iter().map(|(_, t, _)| t.as_str()).collect();
        let vectors = self.embed_texts(&texts)?;
        let docs: Vec<Document> = items
            .into_iter()
            .zip(vectors)
            .map(|((id, text, meta), v)| Document::new(id, v).with_text(text).with_metadata(meta))
            .collect();
        self.upsert_many(docs)
    }

    /// The `k` documents nearest in meaning to `question` (vector search on its embedding).
    pub fn search_text(&self, question: &str, k: usize) -> Result<Vec<SearchHit>> {
        let mut v = self.embed_texts(&[question])?;
        self.search(&v.pop().unwrap_or_default(), k)
    }

    /// Hybrid search from text alone: the embedding of `question` for the vector half, the
    /// words of `question` for the keyword half, fused by reciprocal rank fusion.
    pub fn hybrid_search_text(&self, question: &str, k: usize) -> Result<Vec<SearchHit>> {
        let mut v = self.embed_texts(&[question])?;
        self.hybrid_search(question, &v.pop().unwrap_or_default(), k)
    }

    /// `req` with its vector half filled in from its text when it has text, no vector, and the
    /// collection has an embedder (text-only context searches become hybrid); else `req`.
    pub(crate) fn complete_request<'r>(
        &self,
        req: &'r SearchRequest,
    ) -> Result<std::borrow::Cow<'r, SearchRequest>> {
        match (&req.text, &req.vector, self.embedder()) {
            (Some(text), None, Some(e)) => {
                let mut v = embed_checked(e.as_ref(), &[text.as_str()])?;
                let mut full = req.clone();
                full.vector = v.pop();
                Ok(std::borrow::Cow::Owned(full))
            }
            _ => Ok(std::borrow::Cow::Borrowed(req)),
        }
    }

    /// Runs a [`SearchRequest`].
    pub fn search_with(&self, req: &SearchRequest) -> Result<Vec<SearchHit>> {
        self.check_live()?;
        if req.k == 0 {
            return Err(Error::invalid("k must be at least 1"));
        }
        let hybrid = req.vector.is_some() && req.text.is_some();
        let depth = if hybrid {
            req.candidates.unwrap_or((req.k * 4).max(50)).max(req.k)
        } else {
            req.k
        };
        let vec_hits = match &req.vector {
            Some(v) => self.vector_ranking(v, depth, req)?,
            None => Vec::new(),
        };
        let kw_hits = match &req.text {
            Some(t) => self.keyword_ranking(t, depth, req.filter.as_ref())?,
            None => Vec::new(),
        };
        if req.vector.is_none() && req.text.is_none() {
            return Err(Error::invalid("a search needs a vector, a text, or both"));
        }
        // (iid, score, distance, bm25)
        let mut ranked: Vec<(u64, f32, Option<f32>, Option<f32>)> = if hybrid {
            let mut fused: HashMap<u64, (f32, Option<f32>, Option<f32>)> = HashMap::new();
            for (rank, (iid, d)) in vec_hits.iter().enumerate() {
                let e = fused.entry(*iid).or_insert((0.0, None, None));
                e.0 += req.vector_weight / (req.rrf_k + rank as f32 + 1.0);
                e.1 = Some(*d);
            }
            for (rank, (iid, s)) in kw_hits.iter().enumerate() {
                let e = fused.entry(*iid).or_insert((0.0, None, None));
                e.0 += req.keyword_weight / (req.rrf_k + rank as f32 + 1.0);
                e.2 = Some(*s);
            }
            fused
                .into_iter()
                .map(|(i, (s, d, b))| (i, s, d, b))
                .collect()
        } else if req.vector.is_some() {
            let metric = self.inner.desc.metric;
            vec_hits
                .into_iter()
                .map(|(i, d)| {
                    let s = match metric {
                        Metric::Cosine => 1.0 - d,
                        Metric::InnerProduct | Metric::L2 => -d,
                    };
                    (i, s, Some(d), None)
                })
                .collect()
        } else {
            kw_hits
                .into_iter()
                .map(|(i, s)| (i, s, None, Some(s)))
                .collect()
        };
        let names: HashMap<u64, Arc<DocMeta>> = {
            let s = self.inner.state.read();
            ranked
                .iter()
                .filter_map(|r| s.meta.get(&r.0).map(|m| (r.0, m.clone())))
                .collect()
        };
        ranked.retain(|r| names.contains_key(&r.0));
        ranked.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then_with(|| names[&a.0].id.cmp(&names[&b.0].id))
        });
        ranked.truncate(req.k);
        let snap = self.db.inner.engine.snapshot();
        let mut out = Vec::with_capacity(ranked.len());
        for (iid, score, distance, keyword_score) in ranked {
            let id = &names[&iid].id;
            // A concurrent delete may have removed it since the ranking; skip it then.
            let Some(b) = snap.get(&self.inner.doc_key(id))? else {
                continue;
            };
            let rec = decode_doc(&b, &self.inner.name)?;
            out.push(SearchHit {
                id: id.clone(),
                score,
                distance,
                keyword_score,
                text: rec.text,
                metadata: rec.metadata,
            });
        }
        Ok(out)
    }

    fn vector_ranking(&self, v: &[f32], k: usize, req: &SearchRequest) -> Result<Vec<(u64, f32)>> {
        let s = self.inner.state.read();
        let pred;
        let allow: Vec<u64>;
        let mut params = SearchParams::new(k);
        params.ef_search = req.ef_search;
        if let Some(f) = &req.filter {
            let meta = &s.meta;
            let ef = req
                .ef_search
                .unwrap_or(self.inner.desc.options.ef_search)
                .max(k);
            if filter_is_selective(meta, f, ef) {
                // Few documents pass: an exact search over just those is both correct (k
                // results whenever k pass) and cheaper than a graph walk that skips most
                // nodes. The index searches small allow-lists exhaustively.
                allow = meta
                    .iter()
                    .filter(|(_, m)| f.matches(&m.metadata))
                    .map(|(&iid, _)| iid)
                    .collect();
                params.filter = toondb_index::Filter::AllowList(&allow);
            } else {
                pred = move |iid: u64| meta.get(&iid).is_some_and(|m| f.matches(&m.metadata));
                params.filter = toondb_index::Filter::Predicate(&pred);
            }
        }
        let hits = s.hnsw.search_with(v, &params)?;
        Ok(hits.into_iter().map(|h| (h.id, h.distance)).collect())
    }

    fn keyword_ranking(
        &self,
        text: &str,
        k: usize,
        filter: Option<&Filter>,
    ) -> Result<Vec<(u64, f32)>> {
        let c = &*self.inner;
        let snap = self.db.inner.engine.snapshot();
        let (n, total) = match snap.get(&c.stats_key())? {
            Some(b) => parse_stats(&b, &c.name)?,
            None => (0, 0),
        };
        if n == 0 {
            return Ok(Vec::new());
        }
        let avg = total as f32 / n as f32;
        let mut terms = tokenize(text);
        terms.sort();
        terms.dedup();
        let mut scores: BTreeMap<u64, f32> = BTreeMap::new();
        let file = || format!("collection {} posting", c.name);
        for term in &terms {
            let prefix = c.term_prefix(term);
            let mut postings = Vec::new();
            for kv in snap.scan_prefix(&prefix)? {
                let (k, v) = kv?;
                let iid = iid_from_key(&k, prefix.len(), &c.name)?;
                postings.push((iid, u32_at(&v, 0, &file)?, u32_at(&v, 4, &file)?));
            }
            let df = postings.len() as u64;
            for (iid, tf, dl) in postings {
                *scores.entry(iid).or_insert(0.0) += c.desc.options.bm25.score(tf, dl, avg, df, n);
            }
        }
        let s = c.state.read();
        let mut out: Vec<(u64, f32)> = scores
            .into_iter()
            .filter(|(iid, _)| match filter {
                None => true,
                Some(f) => s.meta.get(iid).is_some_and(|m| f.matches(&m.metadata)),
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(k);
        Ok(out)
    }

    /// Checks the stored collection against itself at one snapshot: every document record
    /// has its vector record and vice versa, the keyword postings are exactly those of the
    /// stored texts, and the text statistics match. Returns the number of documents, or
    /// [`Error::Corruption`] describing the first inconsistency.
    pub fn verify(&self) -> Result<usize> {
        let c = &*self.inner;
        let snap = self.db.inner.engine.snapshot();
        let bad = |detail: String| Error::corrupt(format!("collection {}", c.name), 0, detail);
        let dkey = c.key(b'd', &[]);
        let mut expected: BTreeMap<Vec<u8>, (u32, u32)> = BTreeMap::new();
        let (mut n, mut total) = (0u64, 0u64);
        let mut docs = 0usize;
        let mut iids = HashMap::new();
        for kv in snap.scan_prefix(&dkey)? {
            let (k, v) = kv?;
            let id = String::from_utf8_lossy(&k[dkey.len()..]).into_owned();
            let rec = decode_doc(&v, &c.name)?;
            let vb = snap
                .get(&c.vec_key(rec.iid))?
                .ok_or_else(|| bad(format!("document {id:?} has no vector record")))?;
            let (vid, _) = decode_vector(&vb, c.desc.dim, &c.name)?;
            if vid != id {
                return Err(bad(format!("vector record of {id:?} names {vid:?}")));
            }
            if iids.insert(rec.iid, id.clone()).is_some() {
                return Err(bad(format!("internal id {} used twice", rec.iid)));
            }
            if let Some(text) = &rec.text {
                let (tf, len) = term_freqs(text);
                for (term, f) in tf {
                    expected.insert(c.posting_key(&term, rec.iid), (f, len));
                }
                n += 1;
                total += u64::from(len);
            }
            docs += 1;
        }
        let vkey = c.key(b'v', &[]);
        let vectors = snap.scan_prefix(&vkey)?.count();
        if vectors != docs {
            return Err(bad(format!(
                "{vectors} vector records for {docs} documents"
            )));
        }
        let pkey = c.key(b'p', &[]);
        let file = || format!("collection {} posting", c.name);
        let mut seen = 0usize;
        for kv in snap.scan_prefix(&pkey)? {
            let (k, v) = kv?;
            let got = (u32_at(&v, 0, &file)?, u32_at(&v, 4, &file)?);
            match expected.get(&k) {
                Some(e) if *e == got => seen += 1,
                _ => {
                    return Err(bad(format!(
                        "unexpected or wrong posting {:?}",
                        String::from_utf8_lossy(&k)
                    )))
                }
            }
        }
        if seen != expected.len() {
            return Err(bad(format!("{} postings missing", expected.len() - seen)));
        }
        let stats = match snap.get(&c.stats_key())? {
            Some(b) => parse_stats(&b, &c.name)?,
            None => (0, 0),
        };
        if stats != (n, total) {
            return Err(bad(format!(
                "text stats {stats:?}, documents say {:?}",
                (n, total)
            )));
        }
        Ok(docs)
    }

    /// Writes a checkpoint of the vector index (its graph image) into the database, in one
    /// atomic batch, so that the next open loads it instead of rebuilding the graph. Writes
    /// also checkpoint automatically (see [`CHECKPOINT_MIN_OPS`]); call this after a bulk
    /// load or before closing the database to make the next open fastest. Documents written
    /// after the checkpoint are patched into the loaded graph on open.
    pub fn checkpoint(&self) -> Result<()> {
        let _w = self.inner.write.lock();
        self.check_live()?;
        self.inner.checkpoint_locked(&self.db.inner.engine)
    }

    /// How the vector index was loaded in this process: whether the stored graph image was
    /// used, why not (the fallback rebuild's reason), vectors read, time taken, and
    /// checkpoints written since.
    pub fn open_stats(&self) -> IndexOpenStats {
        self.inner.open_stats.lock().clone()
    }

    /// Rebuilds the in-memory HNSW graph from the stored vectors, ignoring any graph image
    /// (useful after bulk changes to compact the graph; [`checkpoint`](Self::checkpoint)
    /// afterwards to store the new graph).
    pub fn rebuild_index(&self) -> Result<()> {
        let _w = self.inner.write.lock();
        self.check_live()?;
        let fresh = load(&self.db, &self.inner.name, false)?;
        let mut fresh = fresh.state.into_inner();
        let mut s = self.inner.state.write();
        // Internal ids reserved by open user transactions must never be handed out again.
        fresh.next_iid = fresh.next_iid.max(s.next_iid);
        *s = fresh;
        Ok(())
    }
}

// ------------------------------------------------------------------ user transactions

/// In-memory index updates of a user [`Transaction`](crate::Transaction), applied only after
/// its storage commit succeeded (and never on rollback, abort or a lost conflict).
#[derive(Default)]
pub(crate) struct PendingIndex {
    ops: Vec<(Arc<CollectionInner>, Applied)>,
}

impl PendingIndex {
    /// Runs `commit` (the storage commit) while holding the writer lock of every collection
    /// touched, then applies the index updates in order. Holding the locks makes the order of
    /// index applications equal to the order of storage commits across all writers of those
    /// collections. If a touched collection was dropped meanwhile, `commit` is not run.
    pub(crate) fn commit_with(self, commit: impl FnOnce() -> Result<()>) -> Result<()> {
        if self.ops.is_empty() {
            return commit();
        }
        let mut colls: Vec<Arc<CollectionInner>> = Vec::new();
        for (c, _) in &self.ops {
            if !colls.iter().any(|x| Arc::ptr_eq(x, c)) {
                colls.push(c.clone());
            }
        }
        // A global order (name, then address) so two transactions cannot deadlock.
        colls.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then_with(|| Arc::as_ptr(a).cmp(&Arc::as_ptr(b)))
        });
        let _guards: Vec<_> = colls.iter().map(|c| c.write.lock()).collect();
        for c in &colls {
            if c.dropped.load(std::sync::atomic::Ordering::Acquire) {
                return Err(Error::NotFound(format!("collection {} (dropped)", c.name)));
            }
        }
        commit()?;
        for (c, op) in self.ops {
            c.apply(vec![op]);
        }
        Ok(())
    }
}

impl Collection {
    /// Buffers an insert/upsert of `docs` in the user transaction `t`; index updates go to
    /// `pending`. On error nothing was written for an `insert` conflict; other errors
    /// (storage, corruption) may leave partial writes and the transaction should be dropped.
    pub(crate) fn stage_in(
        &self,
        t: &mut toondb_storage::Transaction,
        docs: Vec<Document>,
        insert: bool,
        pending: &mut PendingIndex,
    ) -> Result<()> {
        let c = &self.inner;
        c.validate(&docs)?;
        self.check_live()?;
        if docs.is_empty() {
            return Ok(());
        }
        if insert {
            for d in &docs {
                if t.get(&c.doc_key(&d.id))?.is_some() {
                    return Err(Error::AlreadyExists(format!(
                        "document {:?} in collection {}",
                        d.id, c.name
                    )));
                }
            }
        }
        let mode = if insert { Mode::Insert } else { Mode::Upsert };
        let ops = c.stage_docs(t, docs, mode)?;
        pending
            .ops
            .extend(ops.into_iter().map(|op| (c.clone(), op)));
        Ok(())
    }

    /// Buffers a delete in the user transaction `t`; returns whether the document existed
    /// (as seen by `t`).
    pub(crate) fn stage_delete_in(
        &self,
        t: &mut toondb_storage::Transaction,
        id: &str,
        pending: &mut PendingIndex,
    ) -> Result<bool> {
        self.check_live()?;
        match self.inner.stage_delete(t, id)? {
            Some(op) => {
                pending.ops.push((self.inner.clone(), op));
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Reads a document through the user transaction `t` (its own writes included).
    pub(crate) fn get_in(
        &self,
        t: &mut toondb_storage::Transaction,
        id: &str,
    ) -> Result<Option<Document>> {
        self.check_live()?;
        self.inner.read_doc(id, |k| Ok(t.get(k)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_codecs_roundtrip_and_reject_damage() {
        let mut meta = Map::new();
        meta.insert("k".into(), Json::from(1));
        let doc = encode_doc(7, Some("héllo"), &meta);
        let r = decode_doc(&doc, "c").unwrap();
        assert_eq!(
            (r.iid, r.text.as_deref(), r.metadata),
            (7, Some("héllo"), meta.clone())
        );
        let none = decode_doc(&encode_doc(9, None, &Map::new()), "c").unwrap();
        assert_eq!((none.iid, none.text), (9, None));
        let vec = encode_vector("id", &[1.0, -2.5]);
        assert_eq!(
            decode_vector(&vec, 2, "c").unwrap(),
            ("id".to_string(), vec![1.0, -2.5])
        );
        assert!(decode_vector(&vec, 3, "c").is_err());
        // Every truncation is an error, never a panic.
        for n in 0..doc.len() {
            let _ = decode_doc(&doc[..n], "c");
        }
        for n in 0..vec.len() {
            assert!(decode_vector(&vec[..n], 2, "c").is_err());
        }
        // Huge declared lengths fail without allocating.
        let mut bad = vec.clone();
        bad[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_vector(&bad, 2, "c").is_err());
        let mut bad = doc.clone();
        bad[9..13].copy_from_slice(&(u32::MAX - 1).to_le_bytes());
        let e = decode_doc(&bad, "c").err().unwrap();
        assert_eq!(e.kind(), crate::ErrorKind::Corruption);
        // Pseudo-random garbage never panics.
        let mut s = 99u64;
        for len in 0..200 {
            let g: Vec<u8> = (0..len)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    s as u8
                })
                .collect();
            let _ = decode_doc(&g, "c");
            let _ = decode_vector(&g, 4, "c");
            let _ = parse_stats(&g, "c");
        }
    }

    #[test]
    fn descriptor_roundtrip_and_validation() {
        let d = Descriptor {
            dim: 3,
            metric: Metric::InnerProduct,
            options: CollectionOptions::default().with_m(12),
        };
        let back = Descriptor::from_json("c", &d.to_json()).unwrap();
        assert_eq!(
            (back.dim, back.metric, back.options),
            (3, Metric::InnerProduct, d.options)
        );
        assert!(Descriptor::from_json("c", b"{}").is_err());
        assert!(Descriptor::from_json("c", b"not json").is_err());
        assert!(validate_name("ok_name-1.2").is_ok());
        assert!(
            validate_name("").is_err()
                && validate_name("a/b").is_err()
                && validate_name(&"x".repeat(65)).is_err()
        );
    }
}
