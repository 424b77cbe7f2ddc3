//! SQL benchmarks: ToonDB (on toondb-storage, in memory) beside SQLite (rusqlite, in memory)
//! on the same data in the same run.
//!
//! Rows: 100k by default; set TOONDB_BENCH_ROWS (e.g. 1000000) for more.
//! Run: `cargo bench -p toondb-query --bench sql`

#![allow(missing_docs)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use toondb_query::{Database, Session, Value};

fn rows() -> i64 {
    std::env::var("TOONDB_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000)
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

fn bench(cr: &mut Criterion) {
    let n = rows();
    let stmts = load_statements(n);
    let t0 = std::time::Instant::now();
    let mut tdb = toondb_setup(&stmts);
    eprintln!(
        "toondb load of {n} rows (+ join tables): {:?}",
        t0.elapsed()
    );
    let t0 = std::time::Instant::now();
    let lite = sqlite_setup(&stmts);
    eprintln!(
        "sqlite load of {n} rows (+ join tables): {:?}",
        t0.elapsed()
    );

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
