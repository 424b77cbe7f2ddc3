//! `toondb-bench vectors`: recall / throughput / latency / memory of the HNSW index (f32,
//! SQ8, PQ) against hnswlib on one texmex-format data set, measured in the same run.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use toondb_index::texmex::{self, VecSet};
use toondb_index::{
    Hit, HnswConfig, HnswIndex, IndexError, Metric, Quantization, SearchParams, VectorSource,
};

use crate::report::Row;

/// Options of the `vectors` benchmark.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory with base.fvecs, query.fvecs and groundtruth.ivecs (texmex layout).
    #[arg(long)]
    dataset: PathBuf,
    /// Metric: cosine, l2 or ip.
    #[arg(long, default_value = "cosine")]
    metric: String,
    /// HNSW M (max neighbours on upper layers; 2*M on layer 0).
    #[arg(long, default_value_t = 16)]
    m: usize,
    /// HNSW ef_construction.
    #[arg(long, default_value_t = 200)]
    ef_construction: usize,
    /// ef_search values to measure.
    #[arg(long, value_delimiter = ',', default_value = "16,32,64,128,256")]
    ef: Vec<usize>,
    /// k of recall@k.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// PQ subspaces (must divide the dimension).
    #[arg(long, default_value_t = 48)]
    pq_m: usize,
    /// Re-rank factor for the PQ index (exact re-rank of k * factor candidates).
    #[arg(long, default_value_t = 4)]
    pq_rerank: usize,
    /// Index kinds to run: any of f32, sq8, pq, each optionally with its own M as `kind:mN`
    /// (e.g. `sq8:m12`).
    #[arg(long, value_delimiter = ',', default_value = "f32,sq8,sq8:m12,pq")]
    indexes: Vec<String>,
    /// Minimum seconds spent timing each configuration.
    #[arg(long, default_value_t = 1.0)]
    min_time: f64,
    /// Threads for build and all-core queries (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Skip the persistence measurement (store the base vectors in a temporary storage
    /// engine, reopen, time the graph rebuild).
    #[arg(long)]
    no_persist: bool,
    /// Skip the hnswlib comparison.
    #[arg(long)]
    no_hnswlib: bool,
    /// Python interpreter used for hnswlib.
    #[arg(long, default_value = "python3")]
    python: String,
}

struct Data {
    base: VecSet<f32>,
    query: VecSet<f32>,
    truth: Vec<Vec<u64>>,
}

fn load(dir: &Path, k: usize) -> Result<Data, String> {
    let base = texmex::read_fvecs(&dir.join("base.fvecs")).map_err(|e| e.to_string())?;
    let query = texmex::read_fvecs(&dir.join("query.fvecs")).map_err(|e| e.to_string())?;
    let gt = texmex::read_ivecs(&dir.join("groundtruth.ivecs")).map_err(|e| e.to_string())?;
    if base.dim != query.dim {
        return Err(format!(
            "base has {} dims but queries have {}",
            base.dim, query.dim
        ));
    }
    if gt.rows() != query.rows() {
        return Err(format!(
            "{} ground-truth rows for {} queries",
            gt.rows(),
            query.rows()
        ));
    }
    if gt.dim < k {
        return Err(format!(
            "ground truth has {} neighbours per query, need k = {k}",
            gt.dim
        ));
    }
    let n = base.rows();
    let mut truth = Vec::with_capacity(gt.rows());
    for r in 0..gt.rows() {
        let row = gt.row(r);
        let mut ids = Vec::with_capacity(k);
        for &id in &row[..k] {
            if id < 0 || id as usize >= n {
                return Err(format!(
                    "ground truth row {r} names base id {id}, base has {n} rows"
                ));
            }
            ids.push(id as u64);
        }
        truth.push(ids);
    }
    Ok(Data { base, query, truth })
}

fn threads(a: &Args) -> usize {
    if a.threads > 0 {
        a.threads
    } else {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    }
}

/// The `p` quantile (0..=1) of sorted samples (0 when empty).
pub(crate) fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Exact vectors for PQ re-ranking, read from `base.fvecs` with positioned reads (so they
/// are not part of the index's RAM figure; the OS page cache holds them).
struct FileSource {
    file: std::fs::File,
    dim: usize,
    rows: u64,
}

impl VectorSource for FileSource {
    fn fetch(&self, id: u64, out: &mut Vec<f32>) -> Result<bool, IndexError> {
        use std::os::unix::fs::FileExt;
        if id >= self.rows {
            return Ok(false);
        }
        let row = 4 + 4 * self.dim as u64;
        let mut buf = vec![0u8; 4 * self.dim];
        self.file
            .read_exact_at(&mut buf, id * row + 4)
            .map_err(|source| IndexError::Io {
                path: PathBuf::from("base.fvecs"),
                source,
            })?;
        out.extend(
            buf.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        Ok(true)
    }
}

fn search(
    idx: &HnswIndex,
    q: &[f32],
    p: &SearchParams<'_>,
    src: Option<&FileSource>,
) -> Result<Vec<Hit>, String> {
    match src {
        Some(s) => idx.search_reranked(q, p, s),
        None => idx.search_with(q, p),
    }
    .map_err(|e| e.to_string())
}

/// CPU time consumed so far by the calling thread (Linux `/proc/thread-self/schedstat`), so
/// that single-thread figures can be read independently of how loaded the machine is.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

struct Measured {
    recall: f64,
    qps: f64,
    cpu_us: Option<f64>,
    qps_all: f64,
    p50_us: f64,
    p99_us: f64,
}

fn measure(
    idx: &HnswIndex,
    src: Option<&FileSource>,
    d: &Data,
    k: usize,
    ef: usize,
    a: &Args,
) -> Result<Measured, String> {
    let params = SearchParams {
        ef_search: Some(ef),
        ..SearchParams::new(k)
    };
    let nq = d.query.rows();
    // Recall.
    let mut hits = 0usize;
    for (qi, truth) in d.truth.iter().enumerate() {
        let res = search(idx, d.query.row(qi), &params, src)?;
        let t: HashSet<u64> = truth.iter().copied().collect();
        hits += res.iter().filter(|h| t.contains(&h.id)).count();
    }
    let recall = hits as f64 / (nq * k) as f64;
    // Single thread: repeat the query set until min_time; per-query latencies.
    let min = Duration::from_secs_f64(a.min_time);
    let mut lat = Vec::new();
    let start = Instant::now();
    let cpu0 = thread_cpu_ns();
    let mut done = 0usize;
    while start.elapsed() < min || done == 0 {
        for qi in 0..nq {
            let t = Instant::now();
            let r = search(idx, d.query.row(qi), &params, src)?;
            lat.push(t.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(r);
        }
        done += nq;
    }
    let qps = done as f64 / start.elapsed().as_secs_f64();
    let cpu_us = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) => Some((b.saturating_sub(a)) as f64 / 1e3 / done as f64),
        _ => None,
    };
    lat.sort_by(f64::total_cmp);
    // All cores.
    let th = threads(a);
    let start = Instant::now();
    let total: usize = std::thread::scope(|s| {
        let hs: Vec<_> = (0..th)
            .map(|t| {
                let params = &params;
                s.spawn(move || {
                    let mut n = 0usize;
                    let mut qi = t % nq.max(1);
                    while start.elapsed() < min || n == 0 {
                        for _ in 0..nq {
                            let r = search(idx, d.query.row(qi), params, src);
                            std::hint::black_box(r.ok());
                            qi = (qi + 1) % nq;
                        }
                        n += nq;
                    }
                    n
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    let qps_all = total as f64 / start.elapsed().as_secs_f64();
    Ok(Measured {
        recall,
        qps,
        cpu_us,
        qps_all,
        p50_us: pct(&lat, 0.5),
        p99_us: pct(&lat, 0.99),
    })
}

/// One result row of a toondb index (column order matches hnswlib's rows).
fn toondb_row(
    name: &str,
    ef: usize,
    k: usize,
    m: &Measured,
    build_s: f64,
    mem: toondb_index::MemoryUsage,
    n: usize,
) -> Row {
    let mut r = Row::new();
    r.insert("engine".into(), json!("toondb"));
    r.insert("index".into(), json!(name));
    r.insert("ef_search".into(), json!(ef));
    r.insert(format!("recall_at_{k}"), json!(m.recall));
    r.insert("qps".into(), json!(m.qps));
    r.insert("qps_all_cores".into(), json!(m.qps_all));
    r.insert("p50_us".into(), json!(m.p50_us));
    r.insert("p99_us".into(), json!(m.p99_us));
    r.insert("cpu_us_per_query".into(), json!(m.cpu_us));
    r.insert("build_s".into(), json!(build_s));
    r.insert("memory_bytes".into(), json!(mem.total()));
    r.insert(
        "bytes_per_vector".into(),
        json!(mem.total() as f64 / n.max(1) as f64),
    );
    r.insert(
        "_memory_parts".into(),
        json!({"vectors": mem.vectors, "codes": mem.codes, "graph": mem.graph, "ids": mem.ids}),
    );
    r
}

fn parse_metric(s: &str) -> Result<(Metric, &'static str), String> {
    let m: Metric = s
        .parse()
        .map_err(|_| format!("unknown metric {s:?} (cosine, l2, ip)"))?;
    // hnswlib's space names are the metric's canonical names.
    Ok((m, m.name()))
}

/// Runs the benchmark.
pub fn run(a: &Args) -> Result<Vec<Row>, String> {
    let (metric, space) = parse_metric(&a.metric)?;
    if a.k == 0 {
        return Err("k must be >= 1".into());
    }
    let d = load(&a.dataset, a.k)?;
    let n = d.base.rows();
    let dim = d.base.dim;
    eprintln!(
        "dataset {}: {n} x {dim} base, {} queries, kernels {:?}, {} threads",
        a.dataset.display(),
        d.query.rows(),
        toondb_index::simd::kernel_level(),
        threads(a)
    );
    let ids: Vec<u64> = (0..n as u64).collect();
    let mut rows = Vec::new();
    for spec in &a.indexes {
        let (kind, m) = match spec.split_once(":m") {
            Some((k, m)) => (
                k,
                m.parse::<usize>()
                    .map_err(|_| format!("bad index spec {spec:?}"))?,
            ),
            None => (spec.as_str(), a.m),
        };
        let mut cfg = HnswConfig::new(dim, metric);
        cfg.m = m;
        let mut src = None;
        cfg.ef_construction = a.ef_construction;
        cfg.threads = threads(a);
        let (name, note) = match kind {
            "f32" => (
                "hnsw-f32".to_string(),
                "f32 vectors + graph in RAM".to_string(),
            ),
            "sq8" => {
                cfg.quantization = Quantization::Sq8;
                cfg.keep_full_vectors = false;
                cfg.rerank_factor = 0;
                (
                    "hnsw-sq8".into(),
                    "SQ8 codes + graph in RAM; f32 dropped, no rerank".into(),
                )
            }
            "pq" => {
                cfg.quantization = Quantization::Pq { m: a.pq_m };
                cfg.keep_full_vectors = false;
                cfg.rerank_factor = a.pq_rerank;
                let path = a.dataset.join("base.fvecs");
                let file = std::fs::File::open(&path)
                    .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
                src = Some(FileSource {
                    file,
                    dim,
                    rows: n as u64,
                });
                (
                    format!("hnsw-pq{}", a.pq_m),
                    format!(
                        "PQ codes + graph in RAM; exact rerank x{} of f32 read from base.fvecs by pread (not counted)",
                        a.pq_rerank
                    ),
                )
            }
            other => return Err(format!("unknown index kind {other:?} (f32, sq8, pq)")),
        };
        let note = if m == a.m {
            note
        } else {
            format!("{note}; M={m}")
        };
        cfg.train_after = n.max(1);
        let mut idx = HnswIndex::new(cfg).map_err(|e| e.to_string())?;
        let t = Instant::now();
        idx.insert_batch(&ids, &d.base.data)
            .map_err(|e| e.to_string())?;
        let build_s = t.elapsed().as_secs_f64();
        let mem = idx.memory_usage();
        eprintln!("built {name} in {build_s:.2}s, memory {mem:?}");
        let name = if m == a.m {
            name
        } else {
            format!("{name}-m{m}")
        };
        for &ef in &a.ef {
            let m = measure(&idx, src.as_ref(), &d, a.k, ef, a)?;
            eprintln!(
                "  {name} ef={ef}: recall {:.4} qps {:.0} p50 {:.1}us",
                m.recall, m.qps, m.p50_us
            );
            let mut r = toondb_row(&name, ef, a.k, &m, build_s, mem, n);
            r.insert("_note".into(), json!(note));
            rows.push(r);
        }
    }
    if a.no_persist {
        eprintln!("note: persistence measurement skipped (--no-persist)");
    } else {
        rows.append(&mut persist(a, &d, metric)?);
    }
    if a.no_hnswlib {
        eprintln!("note: hnswlib comparison skipped (--no-hnswlib)");
    } else {
        match hnswlib(a, space, threads(a)) {
            Ok(mut r) => rows.append(&mut r),
            Err(e) => eprintln!("note: hnswlib comparison unavailable: {e}"),
        }
    }
    Ok(rows)
}

/// Writes the base set through `PersistentIndex` into a fresh on-disk engine, reopens it
/// twice (first without a graph image: full rebuild; then after `close()` wrote one) and
/// reports each open time (`build_s`) and the search figures of the reopened index.
fn persist(a: &Args, d: &Data, metric: Metric) -> Result<Vec<Row>, String> {
    use toondb_index::PersistentIndex;
    use toondb_storage::{Engine, Options};
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let dir = tempfile::tempdir().map_err(|e| err(&e))?;
    let n = d.base.rows();
    let mut cfg = HnswConfig::new(d.base.dim, metric);
    cfg.m = a.m;
    cfg.ef_construction = a.ef_construction;
    cfg.threads = threads(a);
    let t = Instant::now();
    {
        let engine = Engine::open(dir.path(), Options::default()).map_err(|e| err(&e))?;
        // Write in an empty index (no graph work) so only storage time is measured here.
        let idx = PersistentIndex::open(&engine, "bench", cfg.clone()).map_err(|e| err(&e))?;
        let ids: Vec<u64> = (0..n as u64).collect();
        for (chunk_ids, chunk) in ids.chunks(1000).zip(d.base.data.chunks(1000 * d.base.dim)) {
            let mut batch = toondb_storage::WriteBatch::new();
            for (i, &id) in chunk_ids.iter().enumerate() {
                idx.stage_insert_in_batch(
                    &mut batch,
                    id,
                    &chunk[i * d.base.dim..(i + 1) * d.base.dim],
                )
                .map_err(|e| err(&e))?;
            }
            engine.write(batch).map_err(|e| err(&e))?;
        }
        drop(idx);
        engine.close().map_err(|e| err(&e))?;
    }
    let write_s = t.elapsed().as_secs_f64();
    let mut rows = Vec::new();
    for (label, note) in [
        (
            "persistent-f32 (rebuild on open)",
            "build_s = PersistentIndex::open without a graph image: prefix scan + parallel rebuild",
        ),
        (
            "persistent-f32 (graph image)",
            "build_s = PersistentIndex::open after close(): prefix scan + image load + check",
        ),
    ] {
        let engine = Engine::open(dir.path(), Options::default()).map_err(|e| err(&e))?;
        let t = Instant::now();
        let idx = PersistentIndex::open(&engine, "bench", cfg.clone()).map_err(|e| err(&e))?;
        let open_s = t.elapsed().as_secs_f64();
        eprintln!(
            "persistent: {label}: open {open_s:.2}s ({:?})",
            idx.open_report()
        );
        let ef = 64;
        let (m, mem) = idx.with_index(|g| (measure(g, None, d, a.k, ef, a), g.memory_usage()));
        let m = m?;
        let mut r = toondb_row(label, ef, a.k, &m, open_s, mem, n);
        r.insert("_write_s".into(), json!(write_s));
        r.insert(
            "_graph_loaded".into(),
            json!(idx.open_report().graph_loaded),
        );
        r.insert("_note".into(), json!(note));
        rows.push(r);
        let t = Instant::now();
        idx.close().map_err(|e| err(&e))?;
        eprintln!("persistent: checkpoint {:.2}s", t.elapsed().as_secs_f64());
        engine.close().map_err(|e| err(&e))?;
    }
    eprintln!("persistent: wrote {n} vectors in {write_s:.2}s");
    Ok(rows)
}

const HNSWLIB_SCRIPT: &str = r#"
import sys, json, time, os, tempfile
try:
    import numpy as np, hnswlib
except Exception as e:
    print(json.dumps({"error": "cannot import hnswlib/numpy (pip install hnswlib numpy): %s" % e}))
    sys.exit(0)
d, space, M, efc, efs, k, min_time, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), [int(x) for x in sys.argv[5].split(",")], int(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8])
def rd(p, dt):
    a = np.fromfile(p, dtype=np.int32)
    dim = int(a[0])
    return a.reshape(-1, dim + 1)[:, 1:].copy().view(dt)
base = rd(os.path.join(d, "base.fvecs"), np.float32)
q = rd(os.path.join(d, "query.fvecs"), np.float32)
gt = rd(os.path.join(d, "groundtruth.ivecs"), np.int32)[:, :k]
n, dim = base.shape
idx = hnswlib.Index(space=space, dim=dim)
idx.init_index(max_elements=n, M=M, ef_construction=efc, random_seed=42)
idx.set_num_threads(threads)
t = time.perf_counter(); idx.add_items(base, np.arange(n)); build = time.perf_counter() - t
mem = int(idx.index_file_size())
for ef in efs:
    idx.set_ef(max(ef, k))
    idx.set_num_threads(1)
    labels, _ = idx.knn_query(q, k=k)
    rec = sum(len(set(labels[i].tolist()) & set(gt[i].tolist())) for i in range(len(q))) / (len(q) * k)
    done = 0; t = time.perf_counter(); c0 = time.thread_time()
    while time.perf_counter() - t < min_time or done == 0:
        idx.knn_query(q, k=k); done += len(q)
    qps = done / (time.perf_counter() - t)
    cpu_us = (time.thread_time() - c0) * 1e6 / done
    lat = []
    for i in range(len(q)):
        t1 = time.perf_counter(); idx.knn_query(q[i:i+1], k=k); lat.append((time.perf_counter() - t1) * 1e6)
    lat.sort()
    idx.set_num_threads(threads)
    done = 0; t = time.perf_counter()
    while time.perf_counter() - t < min_time or done == 0:
        idx.knn_query(q, k=k); done += len(q)
    qps_all = done / (time.perf_counter() - t)
    print(json.dumps({"ef_search": ef, "recall": rec, "qps": qps, "qps_all_cores": qps_all,
        "cpu_us_per_query": cpu_us, "p50_us": lat[len(lat)//2], "p99_us": lat[min(len(lat)-1, int(round((len(lat)-1)*0.99)))],
        "build_s": build, "memory_bytes": mem}), flush=True)
"#;

fn hnswlib(a: &Args, space: &str, th: usize) -> Result<Vec<Row>, String> {
    let efs: Vec<String> = a.ef.iter().map(|e| e.to_string()).collect();
    let out = std::process::Command::new(&a.python)
        .arg("-c")
        .arg(HNSWLIB_SCRIPT)
        .arg(&a.dataset)
        .arg(space)
        .arg(a.m.to_string())
        .arg(a.ef_construction.to_string())
        .arg(efs.join(","))
        .arg(a.k.to_string())
        .arg(a.min_time.to_string())
        .arg(th.to_string())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", a.python))?;
    if !out.status.success() {
        return Err(format!(
            "{} exited with {}: {}",
            a.python,
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ));
    }
    let n = texmex::read_fvecs(&a.dataset.join("base.fvecs"))
        .map(|b| b.rows())
        .unwrap_or(1);
    let mut rows = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line).map_err(|e| format!("bad line {line:?}: {e}"))?;
        if let Some(e) = v.get("error") {
            return Err(e.as_str().unwrap_or("unknown error").to_string());
        }
        let g = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
        let mut r = Row::new();
        r.insert("engine".into(), json!("hnswlib"));
        r.insert("index".into(), json!("hnsw-f32"));
        r.insert("ef_search".into(), g("ef_search"));
        r.insert(format!("recall_at_{}", a.k), g("recall"));
        r.insert("qps".into(), g("qps"));
        r.insert("qps_all_cores".into(), g("qps_all_cores"));
        r.insert("p50_us".into(), g("p50_us"));
        r.insert("p99_us".into(), g("p99_us"));
        r.insert("cpu_us_per_query".into(), g("cpu_us_per_query"));
        r.insert("build_s".into(), g("build_s"));
        r.insert("memory_bytes".into(), g("memory_bytes"));
        let mem = v.get("memory_bytes").and_then(Value::as_f64).unwrap_or(0.0);
        r.insert("bytes_per_vector".into(), json!(mem / n.max(1) as f64));
        r.insert(
            "_note".into(),
            json!("qps: batched knn_query with 1 thread (no per-call Python overhead); p50/p99: one Python call per query (includes ~µs of binding overhead); memory: index_file_size (excludes label map and per-node mutexes)"),
        );
        rows.push(r);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use toondb_index::rng::Rng;
    use toondb_index::FlatIndex;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn write_dataset(dir: &Path, n: usize, nq: usize, dim: usize, bad_gt: bool) {
        let mut r = Rng::new(5);
        let base: Vec<f32> = (0..n * dim).map(|_| r.gauss()).collect();
        let query: Vec<f32> = (0..nq * dim).map(|_| r.gauss()).collect();
        let mut flat = FlatIndex::new(dim, Metric::Cosine).unwrap();
        for i in 0..n {
            flat.insert(i as u64, &base[i * dim..(i + 1) * dim])
                .unwrap();
        }
        let mut gt = Vec::new();
        for q in query.chunks_exact(dim) {
            gt.extend_from_slice(&10i32.to_le_bytes());
            for h in flat.search(q, 10).unwrap() {
                let id = if bad_gt { n as i32 + 5 } else { h.id as i32 };
                gt.extend_from_slice(&id.to_le_bytes());
            }
        }
        std::fs::write(dir.join("base.fvecs"), texmex::encode_fvecs(dim, &base)).unwrap();
        std::fs::write(dir.join("query.fvecs"), texmex::encode_fvecs(dim, &query)).unwrap();
        std::fs::write(dir.join("groundtruth.ivecs"), gt).unwrap();
    }

    fn args(dir: &Path) -> Args {
        let d = dir.to_str().unwrap();
        Cli::parse_from([
            "x",
            "--dataset",
            d,
            "--ef",
            "32",
            "--min-time",
            "0",
            "--no-hnswlib",
            "--pq-m",
            "4",
            "--indexes",
            "f32,sq8,pq",
        ])
        .args
    }

    #[test]
    fn runs_on_a_small_generated_dataset() {
        let dir = tempfile::tempdir().unwrap();
        write_dataset(dir.path(), 400, 10, 8, false);
        let rows = run(&args(dir.path())).unwrap();
        // f32, sq8, pq, persistent (rebuilt), persistent (image).
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[4]["_graph_loaded"], serde_json::json!(true));
        for r in &rows {
            for key in [
                "engine",
                "index",
                "ef_search",
                "recall_at_10",
                "qps",
                "build_s",
                "memory_bytes",
            ] {
                assert!(r.contains_key(key), "missing {key}");
            }
        }
        let f32_recall = rows[0]["recall_at_10"].as_f64().unwrap();
        assert!(f32_recall >= 0.9, "recall {f32_recall}");
        let md = crate::report::markdown(&rows);
        assert_eq!(md.lines().count(), 2 + rows.len());
    }

    #[test]
    fn malformed_datasets_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        write_dataset(dir.path(), 50, 3, 4, true);
        let e = run(&args(dir.path())).unwrap_err();
        assert!(e.contains("ground truth row 0"), "{e}");
        std::fs::write(dir.path().join("query.fvecs"), [1u8, 0, 0]).unwrap();
        let e = run(&args(dir.path())).unwrap_err();
        assert!(e.contains("query.fvecs") && e.contains("truncated"), "{e}");
        std::fs::remove_file(dir.path().join("base.fvecs")).unwrap();
        let e = run(&args(dir.path())).unwrap_err();
        assert!(e.contains("base.fvecs"), "{e}");
    }
}
