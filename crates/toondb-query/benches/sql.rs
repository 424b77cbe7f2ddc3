//! SQL benchmarks: ToonDB (on toondb-storage, in memory) beside SQLite (rusqlite, in memory)
//! on the same data in the same run.
//!
//! Rows: 100k by default; `TOONDB_BENCH_FULL=1` uses 1M rows, TOONDB_BENCH_ROWS any number.
//! Run: `cargo bench -p toondb-query --bench sql`
//!
//! Before the criterion groups, a ratio table (median of several runs of each query on both
//! engines, same data, same process) is printed as Markdown. `TOONDB_BENCH_MEMORY=1` instead
//! measures peak memory (VmRSS sampled every 2 ms during each query) of the cross-join count over 200k
//! rows and of a 1M-row ORDER BY without LIMIT under a 64 MiB statement budget.

#![allow(missing_docs)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use toondb_query::{Database, Session, Value};

fn rows() -> i64 {
    let full = std::env::var_os("TOONDB_BENCH_FULL").is_some();
    std::env::var("TOONDB_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if full { 1_000_000 } else { 100_000 })
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT, grp INTEGER)",
    "CREATE INDEX t_k ON t(k)",
    "CREATE TABLE a(id INTEGER PRIMARY KEY, b_id INTEGER, x INTEGER)",
    "CREATE TABLE b(id INTEGER PRIMARY KEY, c_id INTEGER)",
    "CREATE TABLE c(id INTEGER PRIMARY KEY, name TEXT)",
];

/// Deterministic pseudo-random sequence (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Batched INSERT statements producing the same data for both engines.
fn load_statements(n: i64) -> Vec<String> {
    let mut out = Vec::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let batch = 1000;
    let mut push_rows = |table: &str, count: i64, f: &mut dyn FnMut(i64) -> String| {
        let mut i = 1;
        while i <= count {
            let end = (i + batch - 1).min(count);
            let vals: Vec<String> = (i..=end).map(&mut *f).collect();
            out.push(format!("INSERT INTO {table} VALUES {}", vals.join(",")));
            i = end + 1;
        }
    };
    push_rows("t", n, &mut |i| {
        let k = (rng.next() % (n as u64 * 10)) as i64;
        format!("({i},{k},'value-{i}',{})", i % 100)
    });
    let na = (n / 10).max(10);
    push_rows("a", na, &mut |i| {
        format!("({i},{},{})", i % 1000 + 1, i % 7)
    });
    push_rows("b", 1000, &mut |i| format!("({i},{})", i % 100 + 1));
    push_rows("c", 100, &mut |i| format!("({i},'n{i}')"));
    out
}

fn toondb_setup(stmts: &[String]) -> Session {
    let db = Database::open_in_memory().expect("open");
    let mut s = db.session();
    for q in SCHEMA {
        s.execute(q).expect("schema");
    }
    s.execute("BEGIN").expect("begin");
    for q in stmts {
        s.execute(q).expect("load");
    }
    s.execute("COMMIT").expect("commit");
    s
}

fn sqlite_setup(stmts: &[String]) -> rusqlite::Connection {
    let c = rusqlite::Connection::open_in_memory().expect("sqlite");
    for q in SCHEMA {
        c.execute(q, []).expect("schema");
    }
    c.execute("BEGIN", []).expect("begin");
    for q in stmts {
        c.execute(q, []).expect("load");
    }
    c.execute("COMMIT", []).expect("commit");
    c
}

const POINT: &str = "SELECT v FROM t WHERE id = ?1";
const RANGE: &str = "SELECT id, v FROM t WHERE k >= ?1 AND k < ?2";
const JOIN3: &str = "SELECT count(*), sum(a.x) FROM a JOIN b ON a.b_id = b.id JOIN c ON b.c_id = c.id WHERE c.name = ?1";
const GROUP: &str = "SELECT grp, count(*), sum(k), avg(k) FROM t GROUP BY grp";
const TOPK: &str = "SELECT id, k FROM t ORDER BY k DESC LIMIT 10";
const COUNT_DISTINCT: &str = "SELECT count(DISTINCT k) FROM t";
const IN_SUB: &str =
    "SELECT count(*), sum(x) FROM a WHERE b_id IN (SELECT id FROM b WHERE c_id < 20)";
const LEFT_JOIN: &str =
    "SELECT count(*), count(b.id) FROM a LEFT JOIN b ON a.b_id = b.id AND b.c_id < 50";
const FULL_SCAN_FILTER: &str = "SELECT count(*) FROM t WHERE v LIKE '%7%'";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Seconds per run (median) of `f`, run enough times to take ~1 s.
fn time_it(mut f: impl FnMut()) -> f64 {
    let t0 = std::time::Instant::now();
    f();
    let once = t0.elapsed().as_secs_f64().max(1e-7);
    let reps = ((1.0 / once) as usize).clamp(3, 2000);
    let per_sample = reps.div_ceil(5).max(1);
    let mut samples = Vec::new();
    for _ in 0..5 {
        let t0 = std::time::Instant::now();
        for _ in 0..per_sample {
            f();
        }
        samples.push(t0.elapsed().as_secs_f64() / per_sample as f64);
    }
    median(samples)
}

fn fmt_secs(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

/// Prints the Markdown ratio table: every query, both engines, same data, same run.
fn ratio_table(n: i64, tdb: &mut Session, lite: &rusqlite::Connection, load: (f64, f64)) {
    let mut lines = vec![
        format!("| query ({n} rows) | toondb | sqlite | ratio |"),
        "|---|---|---|---|".to_string(),
        format!(
            "| bulk load | {} | {} | {:.2}x |",
            fmt_secs(load.0),
            fmt_secs(load.1),
            load.0 / load.1
        ),
    ];
    let mut rng = Rng(7);
    let mut row = |name: &str, t: f64, l: f64| {
        lines.push(format!(
            "| {name} | {} | {} | {:.2}x |",
            fmt_secs(t),
            fmt_secs(l),
            t / l
        ));
    };
    // Point and range selects with parameters (prepared on both sides).
    let p = tdb.prepare(POINT).expect("prepare");
    let mut st = lite.prepare(POINT).expect("prepare");
    let t = time_it(|| {
        let id = (rng.next() % n as u64) as i64 + 1;
        tdb.execute_prepared(&p, &[Value::Integer(id)]).expect("q");
    });
    let l = time_it(|| {
        let id = (rng.next() % n as u64) as i64 + 1;
        let _: String = st.query_row([id], |r| r.get(0)).expect("q");
    });
    row("point select by pk", t, l);
    let p = tdb.prepare(RANGE).expect("prepare");
    let mut st = lite.prepare(RANGE).expect("prepare");
    let t = time_it(|| {
        let lo = (rng.next() % (n as u64 * 10)) as i64;
        tdb.execute_prepared(&p, &[Value::Integer(lo), Value::Integer(lo + 1000)])
            .expect("q");
    });
    let l = time_it(|| {
        let lo = (rng.next() % (n as u64 * 10)) as i64;
        let mut q = st.query([lo, lo + 1000]).expect("q");
        while let Some(r) = q.next().expect("row") {
            let _: String = r.get(1).expect("col");
        }
    });
    row("indexed range (~100 rows)", t, l);
    for (name, sql) in [
        ("3-table join + count", JOIN3.replace("?1", "'n5'")),
        ("GROUP BY 100 groups", GROUP.to_string()),
        ("ORDER BY .. LIMIT 10 (top-k)", TOPK.to_string()),
        ("count(DISTINCT k)", COUNT_DISTINCT.to_string()),
        ("IN (subquery)", IN_SUB.to_string()),
        ("LEFT JOIN + count", LEFT_JOIN.to_string()),
        ("full scan + LIKE filter", FULL_SCAN_FILTER.to_string()),
    ] {
        // Same answer first.
        let mine = tdb.execute(&sql).expect("toondb").rows;
        let mut st = lite.prepare(&sql).expect("sqlite prepare");
        let ncol = st.column_count();
        let theirs: Vec<Vec<Value>> = st
            .query_map([], |r| {
                (0..ncol)
                    .map(|i| {
                        Ok(match r.get_ref(i)? {
                            rusqlite::types::ValueRef::Null => Value::Null,
                            rusqlite::types::ValueRef::Integer(i) => Value::Integer(i),
                            rusqlite::types::ValueRef::Real(f) => Value::real(f),
                            rusqlite::types::ValueRef::Text(t) => {
                                Value::Text(String::from_utf8_lossy(t).into_owned())
                            }
                            rusqlite::types::ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                        })
                    })
                    .collect()
            })
            .expect("q")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(mine, theirs, "{name}: engines disagree");
        let t = time_it(|| {
            tdb.execute(&sql).expect("q");
        });
        let l = time_it(|| {
            let mut q = st.query([]).expect("q");
            while q.next().expect("row").is_some() {}
        });
        row(name, t, l);
    }
    println!("\n{}\n", lines.join("\n"));
}

/// Current resident set (VmRSS) in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Runs `f` while a sampler thread records the highest VmRSS (every 2 ms); returns
/// `(result, rss before, peak rss during)`. Works where `clear_refs` cannot reset VmHWM.
fn with_rss_peak<T>(f: impl FnOnce() -> T) -> (T, u64, u64) {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let before = rss();
    let stop = AtomicBool::new(false);
    let peak = AtomicU64::new(before);
    let out = std::thread::scope(|sc| {
        sc.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        let out = f();
        stop.store(true, Ordering::Relaxed);
        out
    });
    (out, before, peak.load(Ordering::Relaxed))
}

fn memory_mode() {
    // With TOONDB_BENCH_MEMORY_DIR the first run only loads the data and a second run (a
    // fresh process, so the load's heap does not hide the query's) measures the queries.
    let keep = std::env::var_os("TOONDB_BENCH_MEMORY_DIR").map(std::path::PathBuf::from);
    let dir = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("toondb-sql-bench-{}", std::process::id()))
    });
    let loaded = keep.is_some() && dir.join("CURRENT").exists();
    if !loaded {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    {
        let engine =
            toondb_storage::Engine::open(&dir, toondb_storage::Options::default()).expect("open");
        let db = Database::from_engine(engine);
        let mut s = db.session();
        let n = 1_000_000;
        if !loaded {
            for q in SCHEMA {
                s.execute(q).expect("schema");
            }
            s.execute("BEGIN").expect("begin");
            for q in load_statements(n)
                .iter()
                .filter(|q| q.starts_with("INSERT INTO t "))
            {
                s.execute(q).expect("load");
            }
            s.execute("COMMIT").expect("commit");
            if keep.is_some() {
                println!(
                    "loaded {n} rows into {}; run again to measure",
                    dir.display()
                );
                return;
            }
        }
        let t0 = std::time::Instant::now();
        let (r, before, peak) = with_rss_peak(|| {
            s.execute("SELECT count(*) FROM (SELECT id FROM t LIMIT 200000) a, (SELECT id FROM t LIMIT 100) b")
                .expect("cross join")
        });
        println!(
            "cross-join count over 200k rows: {:?} in {:?}, RSS {:.1} MiB before, peak {:.1} MiB during (+{:.1} MiB)",
            r.rows[0][0],
            t0.elapsed(),
            mib(before),
            mib(peak),
            mib(peak.saturating_sub(before))
        );
        s.set_memory_budget(64 * 1024 * 1024);
        let t0 = std::time::Instant::now();
        // Counted above the sort, so the measurement is the sort's, not a result buffer's.
        let (r, before, peak) = with_rss_peak(|| {
            s.execute("SELECT count(*), max(x) FROM (SELECT v AS x FROM t ORDER BY v)")
                .expect("sort")
        });
        println!(
            "1M-row ORDER BY (no LIMIT) under a 64 MiB budget: {:?} in {:?}, RSS {:.1} MiB before, peak {:.1} MiB during (+{:.1} MiB)",
            r.rows[0],
            t0.elapsed(),
            mib(before),
            mib(peak),
            mib(peak.saturating_sub(before))
        );
        s.set_memory_budget(toondb_query::DEFAULT_MEMORY_BUDGET);
        let t0 = std::time::Instant::now();
        let (r, before, peak) = with_rss_peak(|| {
            s.execute("SELECT count(*), max(x) FROM (SELECT v AS x FROM t ORDER BY v)")
                .expect("sort")
        });
        println!(
            "same ORDER BY under the default 256 MiB budget: {:?} in {:?}, RSS {:.1} MiB before, peak {:.1} MiB during (+{:.1} MiB)",
            r.rows[0],
            t0.elapsed(),
            mib(before),
            mib(peak),
            mib(peak.saturating_sub(before))
        );
    }
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn bench(cr: &mut Criterion) {
    if std::env::var_os("TOONDB_BENCH_MEMORY").is_some() {
        memory_mode();
        return;
    }
    let n = rows();
    let stmts = load_statements(n);
    let t0 = std::time::Instant::now();
    let mut tdb = toondb_setup(&stmts);
    let tload = t0.elapsed();
    eprintln!("toondb load of {n} rows (+ join tables): {tload:?}");
    let t0 = std::time::Instant::now();
    let lite = sqlite_setup(&stmts);
    let lload = t0.elapsed();
    eprintln!("sqlite load of {n} rows (+ join tables): {lload:?}");
    ratio_table(
        n,
        &mut tdb,
        &lite,
        (tload.as_secs_f64(), lload.as_secs_f64()),
    );
    if std::env::var_os("TOONDB_BENCH_RATIOS_ONLY").is_some() {
        return;
    }

    // Sanity: both engines agree on every benchmarked query.
    let check = |tdb: &mut Session, sql: &str, params: &[Value]| -> usize {
        tdb.execute_with(sql, params).expect("query").rows.len()
    };
    assert_eq!(check(&mut tdb, GROUP, &[]), 100);

    let mut g = cr.benchmark_group(format!("sql_{n}"));
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));

    // Point select by primary key.
    let p_point = tdb.prepare(POINT).expect("prepare");
    let mut rng = Rng(42);
    g.bench_function(BenchmarkId::new("point_pk", "toondb"), |b| {
        b.iter(|| {
            let id = (rng.next() % n as u64) as i64 + 1;
            let r = tdb
                .execute_prepared(&p_point, &[Value::Integer(id)])
                .expect("q");
            assert_eq!(r.rows.len(), 1);
        })
    });
    let mut st = lite.prepare(POINT).expect("prepare");
    g.bench_function(BenchmarkId::new("point_pk", "sqlite"), |b| {
        b.iter(|| {
            let id = (rng.next() % n as u64) as i64 + 1;
            let v: String = st.query_row([id], |r| r.get(0)).expect("q");
            assert!(!v.is_empty());
        })
    });
    drop(st);

    // Indexed range select (~100 rows: keys are spread over 10n values).
    let width = 1000i64;
    let p_range = tdb.prepare(RANGE).expect("prepare");
    g.bench_function(BenchmarkId::new("index_range_100", "toondb"), |b| {
        b.iter(|| {
            let lo = (rng.next() % (n as u64 * 10)) as i64;
            tdb.execute_prepared(&p_range, &[Value::Integer(lo), Value::Integer(lo + width)])
                .expect("q")
                .rows
                .len()
        })
    });
    let mut st = lite.prepare(RANGE).expect("prepare");
    g.bench_function(BenchmarkId::new("index_range_100", "sqlite"), |b| {
        b.iter(|| {
            let lo = (rng.next() % (n as u64 * 10)) as i64;
            let mut q = st.query([lo, lo + width]).expect("q");
            let mut c = 0;
            while let Some(r) = q.next().expect("row") {
                let _: i64 = r.get(0).expect("col");
                c += 1;
            }
            c
        })
    });
    drop(st);

    // Three-table join.
    let p_join = tdb.prepare(JOIN3).expect("prepare");
    let tj = tdb
        .execute_prepared(&p_join, &[Value::from("n5")])
        .expect("q")
        .rows;
    let sj: (i64, i64) = lite
        .query_row(JOIN3, ["n5"], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("q");
    assert_eq!(tj, vec![vec![Value::Integer(sj.0), Value::Integer(sj.1)]]);
    g.bench_function(BenchmarkId::new("join_3_tables", "toondb"), |b| {
        b.iter(|| {
            tdb.execute_prepared(&p_join, &[Value::from("n5")])
                .expect("q")
        })
    });
    let mut st = lite.prepare(JOIN3).expect("prepare");
    g.bench_function(BenchmarkId::new("join_3_tables", "sqlite"), |b| {
        b.iter(|| st.query_row(["n5"], |r| r.get::<_, i64>(0)).expect("q"))
    });
    drop(st);

    // GROUP BY over every row of t.
    g.bench_function(BenchmarkId::new("group_by_all_rows", "toondb"), |b| {
        b.iter(|| tdb.execute(GROUP).expect("q"))
    });
    let mut st = lite.prepare(GROUP).expect("prepare");
    g.bench_function(BenchmarkId::new("group_by_all_rows", "sqlite"), |b| {
        b.iter(|| {
            let mut q = st.query([]).expect("q");
            let mut c = 0;
            while q.next().expect("row").is_some() {
                c += 1;
            }
            c
        })
    });
    drop(st);
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
