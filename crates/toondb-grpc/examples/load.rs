//! Bounded load benchmark: point reads and writes over loopback gRPC against a separate
//! `toondb-server` process, beside the same operations on an embedded `toondb::Database`, at
//! several concurrency levels. Reports throughput, p50/p99 latency and the server's RSS.
//!
//! ```text
//! cargo build --release -p toondb-grpc --bin toondb-server --example load
//! /path/to/target/release/examples/load [--secs 2] [--levels 1,10,100,1000] [--keys 100000]
//!                                       [--sync normal] [--conns-max 1000]
//!                                       [--server-args "--db-threads 4 --worker-threads 2"]
//! ```
//! Each client is a task issuing one call at a time; clients get their own HTTP/2 connection
//! up to `--conns-max`, after which they share connections round-robin. Every phase runs for
//! a fixed time, so the whole run is bounded (about `levels x 4 x secs` plus loading).
//!
//! Beside throughput, each gRPC row shows the server's CPU time per operation (user + system,
//! all threads, from `/proc/<pid>/stat`, 10 ms resolution) and context switches per operation
//! (live threads only), and the load generator's own CPU time per operation: on a shared
//! machine these move much less with other load than ops/s.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use toondb_grpc::{Client, ClientOptions};

struct Args {
    secs: f64,
    levels: Vec<usize>,
    keys: u64,
    sync: String,
    conns_max: usize,
    server_args: Vec<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        secs: 2.0,
        levels: vec![1, 10, 100, 1000],
        keys: 100_000,
        sync: "normal".into(),
        conns_max: 1000,
        server_args: Vec::new(),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let v = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--secs" => a.secs = v.parse().unwrap_or(a.secs),
            "--levels" => a.levels = v.split(',').filter_map(|x| x.parse().ok()).collect(),
            "--keys" => a.keys = v.parse().unwrap_or(a.keys),
            "--sync" => a.sync = v,
            "--conns-max" => a.conns_max = v.parse().unwrap_or(a.conns_max),
            "--server-args" => {
                a.server_args = v.split_whitespace().map(str::to_string).collect();
            }
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    a
}

/// xorshift64*: a fast, dependency-free generator for key choice.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn key(i: u64) -> [u8; 16] {
    let mut k = *b"key-000000000000";
    let s = format!("{i:012}");
    k[4..].copy_from_slice(s.as_bytes());
    k
}

const VALUE: [u8; 100] = [b'v'; 100];

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Read,
    Write,
}

struct Stats {
    ops: u64,
    secs: f64,
    p50_us: f64,
    p99_us: f64,
    errors: u64,
}

fn summarize(mut lat_ns: Vec<u64>, secs: f64, errors: u64) -> Stats {
    lat_ns.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat_ns.is_empty() {
            return 0.0;
        }
        let idx = ((lat_ns.len() as f64 - 1.0) * p).round() as usize;
        lat_ns[idx] as f64 / 1000.0
    };
    Stats {
        ops: lat_ns.len() as u64,
        secs,
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        errors,
    }
}

/// CPU time (user + system, all threads including exited ones) the process has used, in
/// seconds, from `/proc/<pid>/stat` (clock ticks, 100 per second on Linux).
fn cpu_secs(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Voluntary + involuntary context switches of the live threads of `pid`.
fn ctx_switches(pid: u32) -> Option<u64> {
    let mut total = 0;
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(t) = t else { continue };
        let Ok(s) = std::fs::read_to_string(t.path().join("status")) else {
            continue;
        };
        for l in s.lines() {
            if l.starts_with("voluntary_ctxt_switches:")
                || l.starts_with("nonvoluntary_ctxt_switches:")
            {
                total += l
                    .split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    Some(total)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn remote_phase(clients: &[Client], n: usize, op: Op, keys: u64, dur: Duration) -> Stats {
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::with_capacity(n);
    let start = Instant::now();
    for t in 0..n {
        let c = clients[t % clients.len()].clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng =
                Rng(0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1).wrapping_mul(0x1234_5678_9ABC_DEF1));
            let mut lat = Vec::with_capacity(4096);
            let mut errors = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let k = key(rng.next() % keys);
                let t0 = Instant::now();
                let r = match op {
                    Op::Read => c.get(k).await.map(|_| ()),
                    Op::Write => c.put(k, VALUE).await,
                };
                match r {
                    Ok(()) => lat.push(t0.elapsed().as_nanos() as u64),
                    Err(_) => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    tokio::time::sleep(dur).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            all.extend(l);
            errors += e;
        }
    }
    summarize(all, start.elapsed().as_secs_f64(), errors)
}

fn embedded_phase(db: &toondb::Database, n: usize, op: Op, keys: u64, dur: Duration) -> Stats {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|t| {
            let db = db.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut rng =
                    Rng(0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1).wrapping_mul(0x1234_5678_9ABC_DEF1));
                let mut lat = Vec::with_capacity(4096);
                let mut errors = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let k = key(rng.next() % keys);
                    let t0 = Instant::now();
                    let r = match op {
                        Op::Read => db.get(k).map(|_| ()),
                        Op::Write => db.put(k, VALUE),
                    };
                    match r {
                        Ok(()) => lat.push(t0.elapsed().as_nanos() as u64),
                        Err(_) => errors += 1,
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    std::thread::sleep(dur);
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for h in handles {
        if let Ok((l, e)) = h.join() {
            all.extend(l);
            errors += e;
        }
    }
    summarize(all, start.elapsed().as_secs_f64(), errors)
}

fn start_server(
    bin: &PathBuf,
    data: &std::path::Path,
    sync: &str,
    extra: &[String],
) -> (Child, String) {
    let mut child = Command::new(bin)
        .args([
            "--data",
            data.to_str().unwrap_or("."),
            "--listen",
            "127.0.0.1:0",
            "--sync",
            sync,
        ])
        .args(["--max-in-flight", "256", "--shutdown-grace-secs", "5"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
    let out = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(out)
        .read_line(&mut line)
        .expect("server stdout");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected server output {line:?}"))
        .to_string();
    (child, addr)
}

/// Cost of a phase: server CPU seconds, context switches of the server's live threads, and
/// the load generator's own CPU seconds.
#[derive(Default)]
struct Cost {
    cpu_secs: Option<f64>,
    switches: Option<u64>,
    client_cpu_secs: Option<f64>,
}

fn cost_now(pid: u32) -> Cost {
    Cost {
        cpu_secs: cpu_secs(pid),
        switches: ctx_switches(pid),
        client_cpu_secs: cpu_secs(std::process::id()),
    }
}

fn cost_since(pid: u32, before: &Cost) -> Cost {
    let now = cost_now(pid);
    let diff = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a - b);
    Cost {
        cpu_secs: diff(now.cpu_secs, before.cpu_secs),
        switches: now
            .switches
            .zip(before.switches)
            .map(|(a, b)| a.saturating_sub(b)),
        client_cpu_secs: diff(now.client_cpu_secs, before.client_cpu_secs),
    }
}

fn row(mode: &str, n: usize, op: &str, s: &Stats, rss: Option<u64>, cost: &Cost) {
    let per_op = |x: f64| if s.ops == 0 { 0.0 } else { x / s.ops as f64 };
    println!(
        "| {mode:8} | {n:5} | {op:5} | {:>10.0} | {:>8.1} | {:>8.1} | {:>9} | {:>9} | {:>8} | {:>9} | {:>6} |",
        s.ops as f64 / s.secs,
        s.p50_us,
        s.p99_us,
        rss.map_or("-".to_string(), |r| format!("{:.1}", r as f64 / 1024.0)),
        cost.cpu_secs
            .map_or("-".to_string(), |c| format!("{:.1}", per_op(c * 1e6))),
        cost.switches
            .map_or("-".to_string(), |c| format!("{:.2}", per_op(c as f64))),
        cost.client_cpu_secs
            .map_or("-".to_string(), |c| format!("{:.1}", per_op(c * 1e6))),
        s.errors
    );
}

fn main() {
    let args = parse_args();
    let dur = Duration::from_secs_f64(args.secs);
    let exe = std::env::current_exe().expect("current exe");
    let bin = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("toondb-server"))
        .expect("target dir");
    let tmp = tempfile::tempdir().expect("temp dir");
    let (mut child, addr) = start_server(
        &bin,
        &tmp.path().join("server-db"),
        &args.sync,
        &args.server_args,
    );
    let pid = child.id();
    let sync = match args.sync.as_str() {
        "full" => toondb::SyncMode::Full,
        "off" => toondb::SyncMode::Off,
        _ => toondb::SyncMode::Normal,
    };
    let db = toondb::Database::open_with(
        tmp.path().join("embedded-db"),
        toondb::Options::default().with_sync(sync),
    )
    .expect("open embedded db");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "# toondb-grpc load: {} s per phase, {} keys (16 B keys, 100 B values), sync={}, server pid {pid} at {addr}",
        args.secs, args.keys, args.sync
    );
    println!(
        "| mode     | conc  | op    |      ops/s |  p50 us  |  p99 us  | srv RSS MiB | srv CPU us/op | srv cs/op | cli CPU us/op | errors |"
    );
    println!(
        "|----------|-------|-------|------------|----------|----------|-----------|-----------|----------|-----------|--------|"
    );
    rt.block_on(async {
        let uri = format!("http://{addr}");
        // Load the key space over one connection, in batches.
        let loader = Client::connect(&uri).await.expect("connect");
        let mut i = 0;
        while i < args.keys {
            let end = (i + 1000).min(args.keys);
            loader
                .write_batch((i..end).map(|j| (key(j), Some(VALUE))))
                .await
                .expect("load");
            db.write_batch((i..end).map(|j| (key(j), Some(VALUE))))
                .expect("load embedded");
            i = end;
        }
        println!(
            "|          |       | load  |            |          |          | {:>9} |           |          |           |        |",
            rss_kib(pid).map_or("-".into(), |r| format!("{:.1}", r as f64 / 1024.0))
        );
        let mut clients: Vec<Client> = Vec::new();
        for &n in &args.levels {
            let want = n.min(args.conns_max).max(1);
            while clients.len() < want {
                clients.push(
                    Client::connect_with(&uri, ClientOptions::default())
                        .await
                        .expect("connect"),
                );
            }
            for (op, name) in [(Op::Read, "read"), (Op::Write, "write")] {
                let before = cost_now(pid);
                let s = remote_phase(&clients[..want], n, op, args.keys, dur).await;
                let cost = cost_since(pid, &before);
                row("grpc", n, name, &s, rss_kib(pid), &cost);
                let d = db.clone();
                let keys = args.keys;
                let s = tokio::task::spawn_blocking(move || embedded_phase(&d, n, op, keys, dur))
                    .await
                    .expect("embedded phase");
                row("embedded", n, name, &s, None, &Cost::default());
            }
        }
    });
    drop(rt);
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let status = child.wait().expect("wait server");
    println!("# server exit: {status}");
    let _ = db.close();
}
