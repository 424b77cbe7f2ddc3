//! `toondb-bench seed`: the seed's performance case (three tables: latency sync vs async,
//! throughput by threads and async tasks, RSS), measured through ToonDB's public API in one
//! run, each line beside the seed's figure with the ratio and whether the goal is met.
//!
//! Workload, stated in the output too: `--keys` keys (default 1M, 16-byte keys, 100-byte
//! values) are loaded first; reads are `get`s of random loaded keys; writes are `put`s of
//! random keys in the same key space (overwrites); the mixed throughput workload is 80 % reads
//! and 20 % writes; the k=10 search runs over the minilm-20k sentence embeddings (20,000 x 384,
//! cosine) with its 200 queries (recall@10 against the exact ground truth is reported beside
//! it). Commits use `--sync` (default `normal`: acknowledged after the OS has the WAL bytes,
//! fsynced at least every few milliseconds; `full` fsyncs every commit).
//!
//! Each throughput configuration runs in its own child process (this binary, re-invoked with
//! `--child`) on the database loaded by the parent, so its peak RSS is its own.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use toondb::{CollectionOptions, Database, Document, Metric, Options, SearchRequest, SyncMode};
use toondb_index::texmex;

use crate::kv::proc_field;
use crate::report::Row;
use crate::vectors::pct;

/// Arguments of `toondb-bench seed`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Small sizes (100k keys, 1 s per throughput line; a few minutes on 2 cores).
    #[arg(long)]
    pub quick: bool,
    /// Keys loaded (default 1,000,000; 100,000 with --quick).
    #[arg(long)]
    pub keys: Option<u64>,
    /// Seconds per throughput configuration (default 3; 1 with --quick).
    #[arg(long)]
    pub secs: Option<f64>,
    /// Timed operations per latency line.
    #[arg(long, default_value_t = 20_000)]
    pub ops: usize,
    /// Commit durability: full, normal or off.
    #[arg(long, default_value = "normal")]
    pub sync: String,
    /// The minilm-20k data set (texmex layout: base.fvecs, query.fvecs, groundtruth.ivecs).
    /// Default: $TOONDB_MINILM_DIR, else ../shared/data/minilm-20k, else data/minilm-20k.
    #[arg(long)]
    pub minilm: Option<PathBuf>,
    /// Work directory (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Internal: run one configuration in this process.
    #[arg(long, hide = true, requires = "child_out")]
    pub child: Option<String>,
    /// Internal: where the child writes its result.
    #[arg(long, hide = true)]
    pub child_out: Option<PathBuf>,
}

const KEY_SIZE: usize = 16;
const VALUE_SIZE: usize = 100;

/// The seed's figures: (table, line, seed value, unit, lower is better).
const SEED: [(&str, &str, f64, &str, bool); 16] = [
    ("latency", "write p50", 8.0, "µs", true),
    ("latency", "read p50", 2.0, "µs", true),
    ("latency", "10-write transaction p50", 45.0, "µs", true),
    ("latency", "k=10 search p50", 15.0, "µs", true),
    (
        "latency",
        "async overhead (mean of the four)",
        15.0,
        "%",
        true,
    ),
    (
        "throughput",
        "1 sequential client",
        125_000.0,
        "ops/s",
        false,
    ),
    ("throughput", "10 threads", 240_000.0, "ops/s", false),
    ("throughput", "100 threads", 200_000.0, "ops/s", false),
    ("throughput", "async 10 tasks", 280_000.0, "ops/s", false),
    ("throughput", "async 100 tasks", 450_000.0, "ops/s", false),
    ("throughput", "async 1000 tasks", 580_000.0, "ops/s", false),
    ("rss", "1 sequential client", 12.0, "MB", true),
    ("rss", "10 threads", 45.0, "MB", true),
    ("rss", "100 threads", 28.0, "MB", true),
    ("rss", "async 1000 tasks", 35.0, "MB", true),
    ("size", "storage-only binary", f64::NAN, "MB", true),
];

/// Throughput configurations: (name, sync threads, async tasks).
const THROUGHPUT: [(&str, usize, usize); 6] = [
    ("1 sequential client", 1, 0),
    ("10 threads", 10, 0),
    ("100 threads", 100, 0),
    ("async 10 tasks", 0, 10),
    ("async 100 tasks", 0, 100),
    ("async 1000 tasks", 0, 1000),
];

struct Plan {
    keys: u64,
    secs: f64,
    ops: usize,
    sync: SyncMode,
    sync_name: String,
    minilm: Option<PathBuf>,
}

fn plan(a: &Args) -> Result<Plan, String> {
    let sync = match a.sync.to_ascii_lowercase().as_str() {
        "full" => SyncMode::Full,
        "normal" => SyncMode::Normal,
        "off" => SyncMode::Off,
        other => return Err(format!("--sync {other}: use full, normal or off")),
    };
    let minilm = a.minilm.clone().or_else(|| {
        std::env::var_os("TOONDB_MINILM_DIR")
            .map(PathBuf::from)
            .into_iter()
            .chain([
                PathBuf::from("../shared/data/minilm-20k"),
                PathBuf::from("data/minilm-20k"),
            ])
            .find(|p| p.join("base.fvecs").is_file())
    });
    Ok(Plan {
        keys: a
            .keys
            .unwrap_or(if a.quick { 100_000 } else { 1_000_000 })
            .max(1000),
        secs: a.secs.unwrap_or(if a.quick { 1.0 } else { 3.0 }).max(0.1),
        ops: a.ops.max(100),
        sync,
        sync_name: a.sync.to_ascii_lowercase(),
        minilm,
    })
}

fn key(i: u64) -> [u8; KEY_SIZE] {
    let mut k = [0u8; KEY_SIZE];
    k[..4].copy_from_slice(b"seed");
    k[4..12].copy_from_slice(&i.to_be_bytes());
    k
}

fn value(i: u64) -> Vec<u8> {
    let mut v = vec![b'v'; VALUE_SIZE];
    v[..8].copy_from_slice(&i.to_le_bytes());
    v
}

/// xorshift64*: cheap per-thread randomness (no shared state between workers).
struct Rng(u64);
impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn open(dir: &Path, p: &Plan) -> Result<Database, String> {
    Database::open_with(dir, Options::default().with_sync(p.sync)).map_err(|e| e.to_string())
}

fn load(dir: &Path, p: &Plan) -> Result<f64, String> {
    let db = open(dir, p)?;
    let t = Instant::now();
    let mut i = 0;
    while i < p.keys {
        let end = (i + 1000).min(p.keys);
        db.write_batch((i..end).map(|j| (key(j).to_vec(), Some(value(j)))))
            .map_err(|e| e.to_string())?;
        i = end;
    }
    let secs = t.elapsed().as_secs_f64();
    db.close().map_err(|e| e.to_string())?;
    Ok(p.keys as f64 / secs)
}

fn peak_rss_mb() -> f64 {
    proc_field("/proc/self/status", "VmHWM:").unwrap_or(0) as f64 / 1024.0
}

/// p50 and p99 in microseconds of `ns` samples.
fn p50_p99(mut ns: Vec<f64>) -> (f64, f64) {
    ns.sort_by(f64::total_cmp);
    (pct(&ns, 0.5) / 1e3, pct(&ns, 0.99) / 1e3)
}

fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Latency lines, sync and async, in this process: write, read, 10-write transaction, search.
fn latency(dir: &Path, p: &Plan) -> Result<Map<String, Value>, String> {
    let db = open(dir, p)?;
    let rt = runtime(cores())?;
    let mut out = Map::new();
    let mut rng = Rng::new(7);
    let n = p.ops;
    let err = |e: toondb::Error| e.to_string();

    // Warm the block cache and code paths a little (not timed).
    for _ in 0..n.min(5000) {
        db.get(key(rng.next() % p.keys)).map_err(err)?;
    }
    let mut put_ns = Vec::with_capacity(n);
    for i in 0..n {
        let k = key(rng.next() % p.keys);
        let t = Instant::now();
        db.put(k, value(i as u64)).map_err(err)?;
        put_ns.push(t.elapsed().as_nanos() as f64);
    }
    let mut get_ns = Vec::with_capacity(n);
    for _ in 0..n {
        let k = key(rng.next() % p.keys);
        let t = Instant::now();
        let v = db.get(k).map_err(err)?;
        get_ns.push(t.elapsed().as_nanos() as f64);
        if v.is_none() {
            return Err("a loaded key was not found".into());
        }
    }
    let txns = (n / 10).max(100);
    let mut txn_ns = Vec::with_capacity(txns);
    for _ in 0..txns {
        let ks: Vec<_> = (0..10).map(|_| key(rng.next() % p.keys)).collect();
        let t = Instant::now();
        db.transaction(|tx| {
            for k in &ks {
                tx.put(*k, value(1))?;
            }
            Ok(())
        })
        .map_err(err)?;
        txn_ns.push(t.elapsed().as_nanos() as f64);
    }
    let (async_put, async_get, async_txn) = rt
        .block_on(async {
            let mut rng = Rng::new(11);
            let mut put_ns = Vec::with_capacity(n);
            for i in 0..n {
                let k = key(rng.next() % p.keys);
                let t = Instant::now();
                db.put_async(k.to_vec(), value(i as u64)).await?;
                put_ns.push(t.elapsed().as_nanos() as f64);
            }
            let mut get_ns = Vec::with_capacity(n);
            for _ in 0..n {
                let k = key(rng.next() % p.keys);
                let t = Instant::now();
                db.get_async(k.to_vec()).await?;
                get_ns.push(t.elapsed().as_nanos() as f64);
            }
            let mut txn_ns = Vec::with_capacity(txns);
            for _ in 0..txns {
                let ks: Vec<_> = (0..10).map(|_| key(rng.next() % p.keys)).collect();
                let t = Instant::now();
                db.transaction_async(move |tx| {
                    for k in &ks {
                        tx.put(*k, value(1))?;
                    }
                    Ok(())
                })
                .await?;
                txn_ns.push(t.elapsed().as_nanos() as f64);
            }
            Ok::<_, toondb::Error>((put_ns, get_ns, txn_ns))
        })
        .map_err(err)?;

    type Line<'a> = (&'a str, (f64, f64), (f64, f64));
    let mut lines: Vec<Line> = vec![
        ("write", p50_p99(put_ns), p50_p99(async_put)),
        ("read", p50_p99(get_ns), p50_p99(async_get)),
        ("10-write transaction", p50_p99(txn_ns), p50_p99(async_txn)),
    ];
    let search = search_latency(&db, p, &rt)?;
    if let Some((s, a, recall)) = search {
        out.insert("search_recall_at_10".into(), json!(recall));
        lines.push(("k=10 search", s, a));
    }
    for (name, s, a) in lines {
        out.insert(
            name.into(),
            json!({"p50": s.0, "p99": s.1, "async_p50": a.0, "async_p99": a.1}),
        );
    }
    out.insert("peak_rss_mb".into(), json!(peak_rss_mb()));
    db.close().map_err(err)?;
    Ok(out)
}

type SearchLatency = Option<((f64, f64), (f64, f64), f64)>;

fn search_latency(
    db: &Database,
    p: &Plan,
    rt: &tokio::runtime::Runtime,
) -> Result<SearchLatency, String> {
    let Some(dir) = &p.minilm else {
        eprintln!(
            "seed: minilm-20k not found (--minilm DIR or TOONDB_MINILM_DIR): search line skipped"
        );
        return Ok(None);
    };
    let rd = |f: &str| texmex::read_fvecs(&dir.join(f)).map_err(|e| format!("{f}: {e}"));
    let base = rd("base.fvecs")?;
    let query = rd("query.fvecs")?;
    let gt = texmex::read_ivecs(&dir.join("groundtruth.ivecs")).map_err(|e| e.to_string())?;
    let coll = db
        .create_collection(
            "minilm",
            base.dim,
            Metric::Cosine,
            CollectionOptions::default(),
        )
        .map_err(|e| e.to_string())?;
    let t = Instant::now();
    coll.upsert_many((0..base.rows()).map(|i| Document::new(i.to_string(), base.row(i).to_vec())))
        .map_err(|e| e.to_string())?;
    eprintln!(
        "seed: minilm-20k collection ({} x {}) built in {:.1} s",
        base.rows(),
        base.dim,
        t.elapsed().as_secs_f64()
    );
    let q = query.rows();
    let mut hits_total = 0usize;
    for i in 0..q {
        let hits = coll.search(query.row(i), 10).map_err(|e| e.to_string())?;
        let truth: Vec<i32> = gt.row(i)[..10].to_vec();
        hits_total += hits
            .iter()
            .filter(|h| h.id.parse::<i32>().is_ok_and(|id| truth.contains(&id)))
            .count();
    }
    let recall = hits_total as f64 / (q * 10) as f64;
    let rounds = (p.ops / q).max(1);
    let mut sync_ns = Vec::with_capacity(rounds * q);
    for _ in 0..rounds {
        for i in 0..q {
            let t = Instant::now();
            coll.search(query.row(i), 10).map_err(|e| e.to_string())?;
            sync_ns.push(t.elapsed().as_nanos() as f64);
        }
    }
    let async_ns = rt
        .block_on(async {
            let mut v = Vec::with_capacity(rounds * q);
            for _ in 0..rounds {
                for i in 0..q {
                    let req = SearchRequest::vector(query.row(i).to_vec(), 10);
                    let t = Instant::now();
                    coll.search_async(req).await?;
                    v.push(t.elapsed().as_nanos() as f64);
                }
            }
            Ok::<_, toondb::Error>(v)
        })
        .map_err(|e| e.to_string())?;
    Ok(Some((p50_p99(sync_ns), p50_p99(async_ns), recall)))
}

/// One throughput configuration (child process): 80 % get / 20 % put for `secs`.
fn throughput(
    dir: &Path,
    p: &Plan,
    threads: usize,
    tasks: usize,
) -> Result<Map<String, Value>, String> {
    let db = open(dir, p)?;
    let stop = Arc::new(AtomicBool::new(false));
    let dur = Duration::from_secs_f64(p.secs);
    let keys = p.keys;
    let total: u64 = if tasks == 0 {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let db = db.clone();
                let stop = stop.clone();
                std::thread::spawn(move || -> Result<u64, toondb::Error> {
                    let mut rng = Rng::new(t as u64 + 101);
                    let mut ops = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let r = rng.next();
                        let k = key(r % keys);
                        if r.is_multiple_of(5) {
                            db.put(k, value(r))?;
                        } else {
                            db.get(k)?;
                        }
                        ops += 1;
                    }
                    Ok(ops)
                })
            })
            .collect();
        let t = Instant::now();
        std::thread::sleep(dur);
        stop.store(true, Ordering::Relaxed);
        let mut sum = 0;
        for h in handles {
            sum += h
                .join()
                .map_err(|_| "worker panicked".to_string())?
                .map_err(|e| e.to_string())?;
        }
        (sum as f64 / t.elapsed().as_secs_f64()) as u64
    } else {
        let rt = runtime(cores())?;
        rt.block_on(async {
            let t = Instant::now();
            let handles: Vec<_> = (0..tasks)
                .map(|t| {
                    let db = db.clone();
                    let stop = stop.clone();
                    tokio::spawn(async move {
                        let mut rng = Rng::new(t as u64 + 1001);
                        let mut ops = 0u64;
                        while !stop.load(Ordering::Relaxed) {
                            let r = rng.next();
                            let k = key(r % keys).to_vec();
                            if r.is_multiple_of(5) {
                                db.put_async(k, value(r)).await?;
                            } else {
                                db.get_async(k).await?;
                            }
                            ops += 1;
                        }
                        Ok::<u64, toondb::Error>(ops)
                    })
                })
                .collect();
            tokio::time::sleep(dur).await;
            stop.store(true, Ordering::Relaxed);
            let mut sum = 0;
            for h in handles {
                sum += h
                    .await
                    .map_err(|e| format!("task: {e}"))?
                    .map_err(|e| e.to_string())?;
            }
            Ok::<u64, String>((sum as f64 / t.elapsed().as_secs_f64()) as u64)
        })?
    };
    let mut m = Map::new();
    m.insert("ops_per_sec".into(), json!(total));
    m.insert("peak_rss_mb".into(), json!(peak_rss_mb()));
    db.close().map_err(|e| e.to_string())?;
    Ok(m)
}

fn run_child(a: &Args, name: &str) -> Result<Vec<Row>, String> {
    let p = plan(a)?;
    let dir = a.dir.clone().ok_or("--child needs --dir")?;
    let out = a.child_out.clone().ok_or("--child needs --child-out")?;
    let m = if name == "latency" {
        latency(&dir, &p)?
    } else {
        let (_, threads, tasks) = THROUGHPUT
            .iter()
            .find(|c| c.0 == name)
            .ok_or_else(|| format!("unknown configuration {name}"))?;
        throughput(&dir, &p, *threads, *tasks)?
    };
    std::fs::write(&out, Value::Object(m).to_string()).map_err(|e| e.to_string())?;
    Ok(Vec::new())
}

fn spawn_child(a: &Args, p: &Plan, dir: &Path, name: &str) -> Result<Map<String, Value>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = dir.with_extension(format!("{}.json", name.replace(' ', "-")));
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["seed", "--child", name, "--child-out"])
        .arg(&out)
        .arg("--dir")
        .arg(dir)
        .args(["--keys", &p.keys.to_string(), "--secs", &p.secs.to_string()])
        .args(["--ops", &p.ops.to_string(), "--sync", &p.sync_name]);
    if let Some(m) = &p.minilm {
        cmd.arg("--minilm").arg(m);
    }
    if a.quick {
        cmd.arg("--quick");
    }
    let status = cmd.status().map_err(|e| format!("cannot run child: {e}"))?;
    if !status.success() {
        return Err(format!("configuration {name} failed ({status})"));
    }
    let text = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&out);
    match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(format!("configuration {name}: unreadable result")),
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{} x {cpu}", cores())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Size of the storage engine's stand-alone example binary (`get_loop`: open, put, get) when
/// it was built in release mode next to this binary.
fn storage_binary_mb() -> Option<f64> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    let p = dir.join("examples").join("get_loop");
    std::fs::metadata(p).ok().map(|m| m.len() as f64 / 1e6)
}

fn row(
    table: &str,
    line: &str,
    seed: f64,
    ours: Option<f64>,
    unit: &str,
    lower_better: bool,
    extra: &str,
) -> Row {
    let mut r = Row::new();
    r.insert("table".into(), json!(table));
    r.insert("line".into(), json!(line));
    r.insert(
        "seed".into(),
        if seed.is_nan() {
            Value::Null
        } else {
            json!(seed)
        },
    );
    r.insert("toondb".into(), ours.map_or(Value::Null, |v| json!(v)));
    r.insert("unit".into(), json!(unit));
    let (ratio, met) = match ours {
        Some(v) if !seed.is_nan() && seed > 0.0 && v > 0.0 => {
            let ratio = if lower_better { seed / v } else { v / seed };
            (json!(ratio), json!(if ratio >= 1.0 { "yes" } else { "no" }))
        }
        _ => (Value::Null, json!("-")),
    };
    r.insert("vs seed (>1 better)".into(), ratio);
    r.insert("goal met".into(), met);
    r.insert("note".into(), json!(extra));
    r
}

/// Runs the whole comparison.
pub fn run(a: &Args) -> Result<Vec<Row>, String> {
    if let Some(name) = &a.child {
        return run_child(a, name);
    }
    let p = plan(a)?;
    let tmp;
    let root = match &a.dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
            tmp.path().to_path_buf()
        }
    };
    let dir = root.join("seed-db");
    let _ = std::fs::remove_dir_all(&dir);
    let load_before = loadavg();
    eprintln!(
        "seed: machine {}; load average {load_before}; {} keys ({KEY_SIZE} B keys, {VALUE_SIZE} B values), sync={}, {} s per throughput line",
        machine(),
        p.keys,
        p.sync_name,
        p.secs
    );
    let load_rate = load(&dir, &p)?;
    eprintln!("seed: loaded at {load_rate:.0} keys/s");
    let lat = spawn_child(a, &p, &dir, "latency")?;
    let mut tp = Vec::new();
    for (name, _, _) in THROUGHPUT {
        let m = spawn_child(a, &p, &dir, name)?;
        eprintln!(
            "seed: {name}: {} ops/s, peak RSS {:.1} MB",
            m["ops_per_sec"], m["peak_rss_mb"]
        );
        tp.push((name, m));
    }
    let load_after = loadavg();

    let lat_line = |name: &str| -> Option<(f64, f64, f64, f64)> {
        let v = lat.get(name)?;
        Some((
            v["p50"].as_f64()?,
            v["p99"].as_f64()?,
            v["async_p50"].as_f64()?,
            v["async_p99"].as_f64()?,
        ))
    };
    let mut rows = Vec::new();
    let mut overheads = Vec::new();
    for (name, seed_key) in [
        ("write", "write p50"),
        ("read", "read p50"),
        ("10-write transaction", "10-write transaction p50"),
        ("k=10 search", "k=10 search p50"),
    ] {
        let seed = SEED
            .iter()
            .find(|s| s.1 == seed_key)
            .map_or(f64::NAN, |s| s.2);
        match lat_line(name) {
            Some((p50, p99, ap50, ap99)) => {
                let ovh = (ap50 / p50 - 1.0) * 100.0;
                overheads.push(ovh);
                let mut note = format!(
                    "p99 {p99:.1} µs; async p50 {ap50:.1} µs, p99 {ap99:.1} µs (+{ovh:.0} %)"
                );
                if name == "k=10 search" {
                    if let Some(r) = lat.get("search_recall_at_10").and_then(Value::as_f64) {
                        note.push_str(&format!("; recall@10 {r:.3} (minilm-20k, 200 queries)"));
                    }
                }
                if name == "write" || name == "10-write transaction" {
                    note.push_str(&format!("; sync={}", p.sync_name));
                }
                rows.push(row("latency", seed_key, seed, Some(p50), "µs", true, &note));
            }
            None => rows.push(row(
                "latency",
                seed_key,
                seed,
                None,
                "µs",
                true,
                "not measured (no minilm-20k)",
            )),
        }
    }
    let mean_ovh = if overheads.is_empty() {
        None
    } else {
        Some(overheads.iter().sum::<f64>() / overheads.len() as f64)
    };
    rows.push(row(
        "latency",
        "async overhead (mean of the four)",
        15.0,
        mean_ovh.map(|o| o.max(0.01)),
        "%",
        true,
        "goal: under 15 % (the seed reports +20-50 %); async p50 over sync p50",
    ));
    for (name, m) in &tp {
        let seed = SEED
            .iter()
            .find(|s| s.0 == "throughput" && s.1 == *name)
            .map_or(f64::NAN, |s| s.2);
        rows.push(row(
            "throughput",
            name,
            seed,
            m["ops_per_sec"].as_f64(),
            "ops/s",
            false,
            "80 % get / 20 % put, random keys",
        ));
    }
    for (name, m) in &tp {
        if let Some(s) = SEED.iter().find(|s| s.0 == "rss" && s.1 == *name) {
            rows.push(row(
                "rss",
                name,
                s.2,
                m["peak_rss_mb"].as_f64(),
                "MB",
                true,
                "peak RSS (VmHWM) of that configuration's process",
            ));
        }
    }
    rows.push(row(
        "rss",
        "latency run (keys + minilm-20k collection)",
        f64::NAN,
        lat["peak_rss_mb"].as_f64(),
        "MB",
        true,
        "no seed figure",
    ));
    rows.push(row(
        "size",
        "storage-only binary",
        f64::NAN,
        storage_binary_mb(),
        "MB",
        true,
        "target/release/examples/get_loop (cargo build --release -p toondb-storage --example get_loop); `cargo tree -p toondb-storage -e normal` counts the crates",
    ));
    let mut meta = Row::new();
    meta.insert("table".into(), json!("machine"));
    meta.insert(
        "line".into(),
        json!(format!(
            "{}; load average {load_before} before, {load_after} after; {} keys; sync={}; {} s per throughput line",
            machine(),
            p.keys,
            p.sync_name,
            p.secs
        )),
    );
    rows.push(meta);
    Ok(rows)
}
