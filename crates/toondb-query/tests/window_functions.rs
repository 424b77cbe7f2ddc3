//! Window functions beyond what the SQLite-generated window.test checks: the exact errors
//! (typed, with SQLite's messages), memory accounting of the Window operator, interrupts in
//! its loops, EXPLAIN, and long partitions with sliding frames.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use toondb_query::{Arity, Database, Error, Session, Value};

fn session_with(n: usize) -> (Database, Session) {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, g INTEGER, x INTEGER, name TEXT)")
        .unwrap();
    let values: Vec<String> = (0..n)
        .map(|i| format!("({}, {}, 'row number {i}')", i % 7, (i * 31) % 101))
        .collect();
    for chunk in values.chunks(1000) {
        s.execute(&format!(
            "INSERT INTO t(g, x, name) VALUES {}",
            chunk.join(",")
        ))
        .unwrap();
    }
    (db, s)
}

#[test]
fn misuse_is_refused_with_sqlite_messages() {
    let (_db, mut s) = session_with(10);
    for (sql, msg) in [
        (
            "SELECT id FROM t WHERE row_number() OVER () > 1",
            "misuse of window function row_number()",
        ),
        (
            "SELECT g FROM t GROUP BY rank() OVER ()",
            "misuse of window function rank()",
        ),
        (
            "SELECT g FROM t GROUP BY g HAVING sum(x) OVER () > 1",
            "misuse of window function sum()",
        ),
        (
            "SELECT sum(row_number() OVER ()) FROM t",
            "misuse of window function row_number()",
        ),
        (
            "SELECT sum(lag(x) OVER ()) OVER () FROM t",
            "misuse of window function lag()",
        ),
        (
            "SELECT dense_rank() FROM t",
            "misuse of window function dense_rank()",
        ),
        (
            "SELECT count(DISTINCT x) OVER () FROM t",
            "DISTINCT is not supported for window functions",
        ),
        (
            "SELECT sum(x) OVER (RANGE 1 PRECEDING) FROM t",
            "RANGE with offset PRECEDING/FOLLOWING requires one ORDER BY expression",
        ),
        (
            "SELECT sum(x) OVER (ORDER BY id ROWS BETWEEN 1 FOLLOWING AND CURRENT ROW) FROM t",
            "unsupported frame specification",
        ),
        (
            "SELECT rank() FILTER (WHERE x > 1) OVER () FROM t",
            "FILTER clause may only be used with aggregate window functions",
        ),
        ("SELECT sum(x) OVER w FROM t", "no such window: w"),
        (
            "SELECT sum(x) OVER (w ORDER BY id) FROM t WINDOW w AS (ORDER BY x)",
            "cannot override ORDER BY clause of window: w",
        ),
        (
            "SELECT sum(x) OVER (w PARTITION BY g) FROM t WINDOW w AS (ORDER BY x)",
            "cannot override PARTITION BY clause of window: w",
        ),
        (
            "SELECT sum(x) OVER (w) FROM t WINDOW w AS (ORDER BY x ROWS CURRENT ROW)",
            "cannot override frame specification of window: w",
        ),
        (
            "SELECT ntile() OVER () FROM t",
            "wrong number of arguments to function ntile()",
        ),
        (
            "SELECT abs(x) OVER () FROM t",
            "abs() may not be used as a window function",
        ),
        (
            "SELECT abs(x) FILTER (WHERE x > 1) FROM t",
            "FILTER may not be used with non-aggregate abs()",
        ),
        (
            "UPDATE t SET x = row_number() OVER ()",
            "misuse of window function row_number()",
        ),
        (
            "DELETE FROM t WHERE rank() OVER (ORDER BY x) > 1",
            "misuse of window function rank()",
        ),
        (
            "INSERT INTO t(x) VALUES (ntile(2) OVER ())",
            "misuse of window function ntile()",
        ),
        (
            "DELETE FROM t RETURNING sum(x) OVER ()",
            "misuse of window function sum()",
        ),
    ] {
        match s.execute(sql) {
            Err(e @ Error::Semantic(_)) => assert_eq!(e.to_string(), msg, "{sql}"),
            other => panic!("{sql}: expected a semantic error, got {other:?}"),
        }
    }
}

#[test]
fn bad_run_time_arguments_are_runtime_errors() {
    let (_db, mut s) = session_with(10);
    for (sql, msg) in [
        (
            "SELECT sum(x) OVER (ORDER BY id ROWS -1 PRECEDING) FROM t",
            "frame starting offset must be a non-negative integer",
        ),
        (
            "SELECT sum(x) OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND 0.5 FOLLOWING) FROM t",
            "frame ending offset must be a non-negative integer",
        ),
        (
            "SELECT sum(x) OVER (ORDER BY x RANGE 'abc' PRECEDING) FROM t",
            "frame starting offset must be a non-negative number",
        ),
        (
            "SELECT sum(x) OVER (ORDER BY x RANGE BETWEEN CURRENT ROW AND ? FOLLOWING) FROM t",
            "frame ending offset must be a non-negative number",
        ),
        (
            "SELECT ntile(0) OVER () FROM t",
            "argument of ntile must be a positive integer",
        ),
        (
            "SELECT nth_value(x, 2.5) OVER () FROM t",
            "second argument to nth_value must be a positive integer",
        ),
    ] {
        let r = if sql.contains('?') {
            s.execute_with(sql, &[Value::Integer(-3)])
        } else {
            s.execute(sql)
        };
        match r {
            Err(e @ Error::Runtime(_)) => assert_eq!(e.to_string(), msg, "{sql}"),
            other => panic!("{sql}: expected a runtime error, got {other:?}"),
        }
    }
    // No rows: nothing is evaluated, as in SQLite.
    let r = s
        .execute("SELECT ntile(0) OVER () FROM t WHERE x > 1000")
        .unwrap();
    assert!(r.rows.is_empty());
}

#[test]
fn explain_shows_one_window_node_per_partitioning() {
    let (_db, mut s) = session_with(10);
    let r = s
        .execute(
            "EXPLAIN SELECT row_number() OVER (PARTITION BY g ORDER BY id), \
             sum(x) OVER (PARTITION BY g ORDER BY id ROWS 2 PRECEDING), \
             count(*) OVER () FROM t",
        )
        .unwrap();
    let text: Vec<String> = r.rows.iter().map(|r| r[0].to_text_lossy()).collect();
    let windows: Vec<&String> = text.iter().filter(|l| l.contains("Window ")).collect();
    assert_eq!(windows.len(), 2, "{text:#?}");
    assert!(
        text.iter()
            .any(|l| l.contains("sum(#2) ROWS BETWEEN 2 PRECEDING AND CURRENT ROW")),
        "{text:#?}"
    );
    assert!(text.iter().any(|l| l.contains("Sort #1, #0")), "{text:#?}");
}

#[test]
fn window_partitions_are_charged_to_the_memory_budget() {
    let (_db, mut s) = session_with(5_000);
    s.set_memory_budget(64 * 1024);
    match s.execute("SELECT name, count(*) OVER () FROM t") {
        Err(Error::ResourceExhausted { operator, .. }) => assert_eq!(operator, "window"),
        other => panic!("expected ResourceExhausted, got {other:?}"),
    }
    // Small partitions fit: only one partition is held at a time.
    s.set_memory_budget(4 * 1024 * 1024);
    let r = s
        .execute("SELECT count(*) FROM (SELECT sum(x) OVER (PARTITION BY id % 2500) FROM t)")
        .unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(5_000)]]);
}

#[test]
fn interrupt_stops_a_window_computation() {
    let db = Database::open_in_memory().unwrap();
    let h = db.interrupt_handle();
    let fired = Arc::new(AtomicUsize::new(0));
    db.register_scalar_function("trip", Arity::Exact(1), false, move |a| {
        if fired.fetch_add(1, Ordering::SeqCst) == 0 {
            h.interrupt();
        }
        Ok(a[0].clone())
    })
    .unwrap();
    let mut s = db.session();
    s.execute("CREATE TABLE t(x INTEGER)").unwrap();
    let values: Vec<String> = (0..3000).map(|i| format!("({i})")).collect();
    s.execute(&format!("INSERT INTO t(x) VALUES {}", values.join(",")))
        .unwrap();
    // EXCLUDE recomputes every frame: 9M steps without the interrupt.
    let r = s.execute(
        "SELECT sum(trip(x)) OVER (ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING \
         AND UNBOUNDED FOLLOWING EXCLUDE CURRENT ROW) FROM t",
    );
    assert!(matches!(r, Err(Error::Interrupted(_))), "{r:?}");
    let r = s.execute("SELECT count(*) FROM t").unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(3000)]]);
}

#[test]
fn sliding_frames_over_a_long_partition_match_a_direct_computation() {
    let (_db, mut s) = session_with(20_000);
    let r = s
        .execute(
            "SELECT id, x, sum(x) OVER (ORDER BY id ROWS BETWEEN 3 PRECEDING AND 2 FOLLOWING), \
             min(x) OVER (ORDER BY id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), \
             count(*) OVER (ORDER BY id), avg(x) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING) \
             FROM t ORDER BY id",
        )
        .unwrap();
    let xs: Vec<i64> = r.rows.iter().map(|r| r[1].to_i64().unwrap()).collect();
    let mut running = 0i64;
    for (i, row) in r.rows.iter().enumerate() {
        let lo = i.saturating_sub(3);
        let hi = (i + 3).min(xs.len());
        let sum: i64 = xs[lo..hi].iter().sum();
        let min = *xs[i.saturating_sub(2)..=i].iter().min().unwrap();
        running += xs[i];
        assert_eq!(row[2], Value::Integer(sum), "row {i}");
        assert_eq!(row[3], Value::Integer(min), "row {i}");
        assert_eq!(row[4], Value::Integer(i as i64 + 1), "row {i}");
        assert_eq!(
            row[5],
            Value::Real(running as f64 / (i + 1) as f64),
            "row {i}"
        );
    }
}

#[test]
fn group_concat_frames_cut_the_oldest_value() {
    let (_db, mut s) = session_with(0);
    s.execute("INSERT INTO t(id, x, name) VALUES (1, 1, 'a'), (2, 2, 'bb'), (3, 3, NULL), (4, 4, 'ccc'), (5, 5, 'd')")
        .unwrap();
    let r = s
        .execute(
            "SELECT group_concat(name, '-') OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING), \
             json_group_array(name) OVER (ORDER BY id ROWS 1 PRECEDING) FROM t ORDER BY id",
        )
        .unwrap();
    let got: Vec<(String, String)> = r
        .rows
        .iter()
        .map(|r| (r[0].to_text_lossy(), r[1].to_text_lossy()))
        .collect();
    let want = [
        ("a-bb", r#"["a"]"#),
        ("a-bb", r#"["a","bb"]"#),
        ("bb-ccc", r#"["bb",null]"#),
        ("ccc-d", r#"[null,"ccc"]"#),
        ("ccc-d", r#"["ccc","d"]"#),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, want);
}

/// Not a test: prints how long window queries take over one large partition, for the report
/// (`cargo test -p toondb-query --test window_functions -- --ignored --nocapture`).
#[test]
#[ignore]
fn print_window_timings() {
    let n: usize = std::env::var("TOONDB_WINDOW_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let (_db, mut s) = session_with(n);
    for sql in [
        "SELECT count(*) FROM t",
        "SELECT count(*) FROM (SELECT row_number() OVER (ORDER BY x, id) FROM t)",
        "SELECT count(*) FROM (SELECT sum(x) OVER (ORDER BY id) FROM t)",
        "SELECT count(*) FROM (SELECT sum(x) OVER (ORDER BY id ROWS BETWEEN 1000 PRECEDING AND 1000 FOLLOWING) FROM t)",
        "SELECT count(*) FROM (SELECT avg(x) OVER (PARTITION BY g ORDER BY x RANGE BETWEEN 10 PRECEDING AND 10 FOLLOWING) FROM t)",
        "SELECT count(*) FROM (SELECT max(x) OVER (ORDER BY id ROWS 100 PRECEDING) FROM t)",
    ] {
        let t = std::time::Instant::now();
        s.execute(sql).unwrap();
        println!("{:>8.1} ms  {sql}", t.elapsed().as_secs_f64() * 1e3);
    }
}

/// Views, CTEs, compound SELECTs, INSERT ... SELECT and correlated subqueries around window
/// calls give SQLite's rows.
#[test]
fn windows_inside_views_ctes_and_subqueries_match_sqlite() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    let c = rusqlite::Connection::open_in_memory().unwrap();
    let setup = [
        "CREATE TABLE t(id INTEGER PRIMARY KEY, g INTEGER, x INTEGER)",
        "INSERT INTO t(g, x) VALUES (1, 5), (1, 3), (2, 8), (2, 8), (2, 1), (3, NULL), (1, 9)",
        "CREATE VIEW v AS SELECT id, g, sum(x) OVER (PARTITION BY g ORDER BY x ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING EXCLUDE CURRENT ROW) AS s FROM t",
        "CREATE TABLE out(id INTEGER, r INTEGER)",
        "INSERT INTO out SELECT id, rank() OVER (ORDER BY x DESC) FROM t",
    ];
    for q in setup {
        s.execute(q).unwrap();
        c.execute(q, []).unwrap();
    }
    for sql in [
        "SELECT * FROM v ORDER BY id",
        "SELECT * FROM out ORDER BY id",
        "WITH w AS (SELECT g, x, dense_rank() OVER (ORDER BY x) AS d FROM t) SELECT g, max(d) FROM w GROUP BY g ORDER BY g",
        "SELECT id, row_number() OVER (ORDER BY id) FROM t WHERE g = 1 UNION ALL SELECT id, -row_number() OVER (ORDER BY id DESC) FROM t WHERE g = 2 ORDER BY 1, 2",
        "SELECT id, (SELECT sum(x) OVER (ORDER BY t2.id ROWS 1 PRECEDING) FROM t AS t2 WHERE t2.id = t.id) FROM t ORDER BY id",
        "SELECT id, x, lag(x, 1, 0) OVER (PARTITION BY g ORDER BY id) + lead(x, 1, 0) OVER (PARTITION BY g ORDER BY id) FROM t ORDER BY id",
    ] {
        let ours = s.execute(sql).unwrap().rows;
        let mut st = c.prepare(sql).unwrap();
        let n = st.column_count();
        let theirs: Vec<Vec<Value>> = st
            .query_map([], |r| {
                (0..n)
                    .map(|i| {
                        Ok(match r.get::<_, rusqlite::types::Value>(i)? {
                            rusqlite::types::Value::Null => Value::Null,
                            rusqlite::types::Value::Integer(v) => Value::Integer(v),
                            rusqlite::types::Value::Real(v) => Value::Real(v),
                            rusqlite::types::Value::Text(v) => Value::Text(v),
                            rusqlite::types::Value::Blob(v) => Value::Blob(v),
                        })
                    })
                    .collect()
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(ours, theirs, "{sql}");
    }
}
