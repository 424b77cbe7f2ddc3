//! Key-value benchmark in the style of db_bench and redb's comparison table: ToonDB's storage
//! engine against peer embedded engines (see [`crate::engines`]), every commit durable.
//!
//! Each engine runs in its own child process (this binary, re-invoked with `--child`), so the
//! peak RSS (`VmHWM`) and bytes written (`/proc/self/io` `write_bytes`) are per engine.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::engines::{self, KvEngine, Op};
use crate::report::Row;

/// Arguments of `toondb-bench kv`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Small sizes (finishes in a few minutes on 2 cores).
    #[arg(long)]
    pub quick: bool,
    /// Comma-separated engines (default: every compiled-in engine).
    #[arg(long, value_delimiter = ',')]
    pub engines: Option<Vec<String>>,
    /// Keys loaded (default 50 000 with --quick, 1 000 000 otherwise).
    #[arg(long)]
    pub keys: Option<u64>,
    /// Key size in bytes (at least 8).
    #[arg(long, default_value_t = 16)]
    pub key_size: usize,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    pub value_size: usize,
    /// Work directory for the databases (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Internal: run one engine in this process and write its results here.
    #[arg(long, hide = true, requires = "child_out")]
    pub child: Option<String>,
    /// Internal: where the child writes its results.
    #[arg(long, hide = true)]
    pub child_out: Option<PathBuf>,
}

/// Sizes derived from the arguments.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    keys: u64,
    key_size: usize,
    value_size: usize,
    batch: usize,
    reads: u64,
    scans: u64,
    scan_len: usize,
    durable_writes: u64,
    txns: u64,
}

fn sizes(a: &Args) -> Sizes {
    let keys = a
        .keys
        .unwrap_or(if a.quick { 50_000 } else { 1_000_000 })
        .max(1000);
    Sizes {
        keys,
        key_size: a.key_size.max(8),
        value_size: a.value_size,
        batch: 1000,
        reads: keys.min(if a.quick { 50_000 } else { 500_000 }),
        scans: if a.quick { 1000 } else { 10_000 },
        scan_len: 100,
        durable_writes: if a.quick { 200 } else { 1000 },
        txns: if a.quick { 300 } else { 2000 },
    }
}

/// The workloads, in run order (name, what it does).
pub const WORKLOADS: [(&str, &str); 14] = [
    (
        "fillseq",
        "bulk load, sequential keys, 1000 per durable batch",
    ),
    (
        "fillrandom",
        "bulk load, random keys, 1000 per durable batch",
    ),
    ("readrandom_hot", "random point reads after load"),
    ("readrandom_cold", "random point reads right after reopen"),
    ("scan100", "range scans of 100 pairs from a random key"),
    ("readers_1", "random reads, 1 thread"),
    ("readers_2", "random reads, 2 threads (aggregate)"),
    ("readers_4", "random reads, 4 threads (aggregate)"),
    ("readers_8", "random reads, 8 threads (aggregate)"),
    (
        "write_durable",
        "single-key writes, one fsynced commit each",
    ),
    ("write_batch100", "new keys, 100 per durable batch"),
    ("overwrite", "random existing keys, 100 per durable batch"),
    (
        "txn10",
        "transactions reading then writing 10 random keys, durable",
    ),
    ("delete", "random existing keys, 100 per durable batch"),
];

fn key(s: &Sizes, i: u64) -> Vec<u8> {
    format!("{i:0w$}", w = s.key_size).into_bytes()
}

/// SplitMix64.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn value(&mut self, len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len + 8);
        while v.len() < len {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(len);
        v
    }
    fn shuffle(&mut self, v: &mut [u64]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

/// One measured workload.
struct Measure {
    name: &'static str,
    ops: u64,
    secs: f64,
}

struct Ctx {
    s: Sizes,
    rng: Rng,
    logical_bytes: u64,
    out: Vec<Measure>,
}

impl Ctx {
    fn timed(
        &mut self,
        name: &'static str,
        ops: u64,
        f: impl FnOnce(&mut Ctx) -> Result<(), String>,
    ) -> Result<(), String> {
        let t = Instant::now();
        f(self)?;
        self.out.push(Measure {
            name,
            ops,
            secs: t.elapsed().as_secs_f64(),
        });
        Ok(())
    }
    fn put_ops(&mut self, ids: &[u64]) -> Vec<Op> {
        let s = self.s;
        ids.iter()
            .map(|&i| {
                self.logical_bytes += (s.key_size + s.value_size) as u64;
                (key(&s, i), Some(self.rng.value(s.value_size)))
            })
            .collect()
    }
}

fn load(e: &mut dyn KvEngine, c: &mut Ctx, ids: &[u64], per: usize) -> Result<(), String> {
    for chunk in ids.chunks(per) {
        let ops = c.put_ops(chunk);
        e.write(&ops)?;
    }
    Ok(())
}

fn random_reads(e: &dyn KvEngine, c: &mut Ctx, n: u64, present: u64) -> Result<(), String> {
    let mut r = e.reader()?;
    let mut found = 0;
    for _ in 0..n {
        let i = c.rng.below(present);
        found += u64::from(r.get(&key(&c.s, i))?.is_some());
    }
    if found != n {
        return Err(format!("read {found} of {n} keys that must exist"));
    }
    Ok(())
}

fn threaded_reads(e: &dyn KvEngine, s: Sizes, threads: u64, per: u64) -> Result<(), String> {
    let mut readers = Vec::new();
    for _ in 0..threads {
        readers.push(e.reader()?);
    }
    std::thread::scope(|sc| {
        let hs: Vec<_> = readers
            .into_iter()
            .enumerate()
            .map(|(t, mut r)| {
                sc.spawn(move || -> Result<(), String> {
                    let mut rng = Rng(t as u64 * 7919 + 1);
                    for _ in 0..per {
                        let k = key(&s, rng.below(s.keys));
                        if r.get(&k)?.is_none() {
                            return Err("missing key".into());
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for h in hs {
            h.join()
                .map_err(|_| "reader thread panicked".to_string())??;
        }
        Ok(())
    })
}

/// Runs every workload on `name` in `dir`; returns the result row fields.
fn run_engine(name: &str, dir: &Path, s: Sizes) -> Result<Map<String, Value>, String> {
    let io0 = proc_io_write_bytes();
    let mut c = Ctx {
        s,
        rng: Rng(42),
        logical_bytes: 0,
        out: Vec::new(),
    };
    let n = s.keys;
    // fillseq on its own database, removed afterwards.
    {
        let seq_dir = dir.join("seq");
        let mut e = engines::open(name, &seq_dir)?;
        let ids: Vec<u64> = (0..n).collect();
        c.timed("fillseq", n, |c| load(e.as_mut(), c, &ids, s.batch))?;
        e.close()?;
        std::fs::remove_dir_all(&seq_dir).map_err(engines::err)?;
    }
    let main_dir = dir.join("main");
    let mut e = engines::open(name, &main_dir)?;
    let durability = e.durability();
    let mut ids: Vec<u64> = (0..n).collect();
    c.rng.shuffle(&mut ids);
    c.timed("fillrandom", n, |c| load(e.as_mut(), c, &ids, s.batch))?;
    c.timed("readrandom_hot", s.reads, |c| {
        random_reads(e.as_ref(), c, s.reads, n)
    })?;
    e.reopen()?;
    c.timed("readrandom_cold", s.reads, |c| {
        random_reads(e.as_ref(), c, s.reads, n)
    })?;
    c.timed("scan100", s.scans, |c| {
        let mut r = e.reader()?;
        for _ in 0..s.scans {
            let start = key(&c.s, c.rng.below(n));
            std::hint::black_box(r.scan(&start, s.scan_len)?);
        }
        Ok(())
    })?;
    for (t, label) in [
        (1, "readers_1"),
        (2, "readers_2"),
        (4, "readers_4"),
        (8, "readers_8"),
    ] {
        let per = s.reads / 2 / t;
        c.timed(label, per * t, |_| threaded_reads(e.as_ref(), s, t, per))?;
    }
    // New keys start at n.
    let mut next = n;
    c.timed("write_durable", s.durable_writes, |c| {
        for i in 0..s.durable_writes {
            let ops = c.put_ops(&[next + i]);
            e.write(&ops)?;
        }
        Ok(())
    })?;
    next += s.durable_writes;
    let nb = n / 10;
    let new_ids: Vec<u64> = (next..next + nb).collect();
    c.timed("write_batch100", nb, |c| load(e.as_mut(), c, &new_ids, 100))?;
    let mut ow: Vec<u64> = (0..nb).map(|_| c.rng.below(n)).collect();
    c.timed("overwrite", nb, |c| load(e.as_mut(), c, &ow, 100))?;
    c.timed("txn10", s.txns, |c| {
        let v = c.rng.value(s.value_size);
        for _ in 0..s.txns {
            let keys: Vec<Vec<u8>> = (0..10).map(|_| key(&c.s, c.rng.below(n))).collect();
            c.logical_bytes += 10 * (s.key_size + s.value_size) as u64;
            e.txn_read_write(&keys, &v)?;
        }
        Ok(())
    })?;
    // Deletes of distinct existing keys.
    ow = (0..n).collect();
    c.rng.shuffle(&mut ow);
    ow.truncate(nb as usize);
    c.timed("delete", nb, |c| {
        for chunk in ow.chunks(100) {
            let ops: Vec<Op> = chunk.iter().map(|&i| (key(&c.s, i), None)).collect();
            c.logical_bytes += (chunk.len() * s.key_size) as u64;
            e.write(&ops)?;
        }
        Ok(())
    })?;
    e.close()?;
    let disk = dir_size(&main_dir);
    // write_batch100 added nb keys and delete removed nb.
    let live = (n + s.durable_writes) * (s.key_size + s.value_size) as u64;
    let written = proc_io_write_bytes().saturating_sub(io0);
    let mut m = Map::new();
    m.insert("engine".into(), json!(name));
    m.insert("durability".into(), json!(durability));
    let mut ops = Map::new();
    for r in &c.out {
        ops.insert(
            r.name.into(),
            json!({"ops": r.ops, "secs": r.secs, "ops_per_sec": r.ops as f64 / r.secs.max(1e-9)}),
        );
    }
    m.insert("workloads".into(), Value::Object(ops));
    m.insert("peak_rss_bytes".into(), json!(peak_rss_bytes()));
    m.insert("disk_bytes".into(), json!(disk));
    m.insert("live_logical_bytes".into(), json!(live));
    m.insert("space_amp".into(), json!(disk as f64 / live as f64));
    m.insert("bytes_written".into(), json!(written));
    m.insert("logical_bytes_written".into(), json!(c.logical_bytes));
    m.insert(
        "write_amp".into(),
        json!(written as f64 / c.logical_bytes.max(1) as f64),
    );
    Ok(m)
}

fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// A numeric field of a `/proc` file (`VmHWM:` of `/proc/self/status`, ...).
pub(crate) fn proc_field(file: &str, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(file).ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

fn proc_io_write_bytes() -> u64 {
    proc_field("/proc/self/io", "write_bytes:").unwrap_or(0)
}

fn peak_rss_bytes() -> u64 {
    proc_field("/proc/self/status", "VmHWM:").unwrap_or(0) * 1024
}

fn fmt_rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn mib(x: u64) -> String {
    format!("{:.1} MiB", x as f64 / (1 << 20) as f64)
}

/// Builds the comparison table: one row per workload, one column per engine, cells "ops/s"
/// for ToonDB and "ops/s (ratio×)" for peers, ratio = peer ops/s ÷ ToonDB ops/s (> 1: the
/// peer is faster). Raw numbers are kept in JSON-only `_` keys.
fn pivot(results: &[Map<String, Value>]) -> Vec<Row> {
    let toon = results.iter().find(|r| r["engine"] == "toondb");
    let rate = |r: &Map<String, Value>, w: &str| r["workloads"][w]["ops_per_sec"].as_f64();
    let mut rows = Vec::new();
    for (w, what) in WORKLOADS {
        let mut row = Row::new();
        row.insert("workload (ops/s)".into(), json!(w));
        let base = toon.and_then(|t| rate(t, w));
        for r in results {
            let name = r["engine"].as_str().unwrap_or("?").to_owned();
            let cell = match (rate(r, w), base) {
                (Some(x), Some(b)) if name != "toondb" => {
                    format!("{} ({:.2}×)", fmt_rate(x), x / b)
                }
                (Some(x), _) => fmt_rate(x),
                (None, _) => "-".into(),
            };
            row.insert(name, json!(cell));
        }
        row.insert("_what".into(), json!(what));
        rows.push(row);
    }
    type Metric = (&'static str, fn(&Map<String, Value>) -> String);
    let metrics: [Metric; 5] = [
        ("peak RSS", |r| {
            mib(r["peak_rss_bytes"].as_u64().unwrap_or(0))
        }),
        ("disk size", |r| mib(r["disk_bytes"].as_u64().unwrap_or(0))),
        ("space amp", |r| {
            format!("{:.2}", r["space_amp"].as_f64().unwrap_or(0.0))
        }),
        ("bytes written", |r| {
            mib(r["bytes_written"].as_u64().unwrap_or(0))
        }),
        ("write amp", |r| {
            format!("{:.2}", r["write_amp"].as_f64().unwrap_or(0.0))
        }),
    ];
    for (label, f) in metrics {
        let mut row = Row::new();
        row.insert("workload (ops/s)".into(), json!(label));
        for r in results {
            row.insert(r["engine"].as_str().unwrap_or("?").into(), json!(f(r)));
        }
        rows.push(row);
    }
    if let Some(first) = rows.first_mut() {
        first.insert(
            "_engines".into(),
            Value::Array(results.iter().cloned().map(Value::Object).collect()),
        );
    }
    rows
}

/// Runs the benchmark (or, with `--child`, one engine of it).
pub fn run(a: &Args) -> Result<Vec<Row>, String> {
    let s = sizes(a);
    let tmp;
    let work = match &a.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().map_err(engines::err)?;
            tmp.path().to_owned()
        }
    };
    if let (Some(name), Some(out)) = (&a.child, &a.child_out) {
        let dir = work.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(engines::err)?;
        }
        let m = run_engine(name, &dir, s)?;
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::write(out, Value::Object(m).to_string()).map_err(engines::err)?;
        return Ok(Vec::new());
    }
    let names: Vec<String> = match &a.engines {
        Some(v) => v.clone(),
        None => engines::available().iter().map(|s| s.to_string()).collect(),
    };
    let exe = std::env::current_exe().map_err(engines::err)?;
    let mut results = Vec::new();
    eprintln!(
        "kv: {} keys, key {} B, value {} B; engines {}",
        s.keys,
        s.key_size,
        s.value_size,
        names.join(",")
    );
    for name in &names {
        let out = work.join(format!("{name}.json"));
        let t = Instant::now();
        let mut cmd = std::process::Command::new(&exe);
        cmd.arg("kv")
            .arg("--child")
            .arg(name)
            .arg("--child-out")
            .arg(&out)
            .arg("--dir")
            .arg(&work)
            .arg("--keys")
            .arg(s.keys.to_string())
            .arg("--key-size")
            .arg(s.key_size.to_string())
            .arg("--value-size")
            .arg(s.value_size.to_string())
            .stdout(std::process::Stdio::null());
        if a.quick {
            cmd.arg("--quick");
        }
        let st = cmd.status().map_err(engines::err)?;
        if !st.success() {
            eprintln!("kv: engine {name} failed ({st}); skipped");
            continue;
        }
        let text = std::fs::read_to_string(&out).map_err(engines::err)?;
        let v: Value = serde_json::from_str(&text).map_err(engines::err)?;
        if let Value::Object(m) = v {
            eprintln!(
                "kv: {name} done in {:.1}s ({})",
                t.elapsed().as_secs_f64(),
                m["durability"]
            );
            results.push(m);
        }
    }
    if results.is_empty() {
        return Err("no engine completed".into());
    }
    let mut dur = String::from("Durability: ");
    for r in &results {
        dur.push_str(&format!(
            "{}: {}; ",
            r["engine"].as_str().unwrap_or("?"),
            r["durability"].as_str().unwrap_or("?")
        ));
    }
    eprintln!("{dur}");
    Ok(pivot(&results))
}
