//! SQL text of any length must either evaluate or fail with a clear limit error: never a
//! stack overflow (which kills the whole process, e.g. a server with all its clients).
//! The tests run on threads with a small (1 MiB) stack on purpose: the engine must choose
//! its own stack size for SQL work, whatever thread the caller uses.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use toondb_query::{Database, Error, Value};

fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn run(sql: String) -> Result<Vec<Vec<Value>>, Error> {
    on_small_stack(move || {
        let db = Database::open_mem();
        let mut s = db.session();
        s.execute("CREATE TABLE t(a INTEGER)").unwrap();
        s.execute("INSERT INTO t VALUES (1)").unwrap();
        s.execute(&sql).map(|r| r.rows)
    })
}

fn assert_evaluates_or_limit(sql: String, want: Value) {
    match run(sql) {
        Ok(rows) => assert_eq!(rows, vec![vec![want]]),
        Err(Error::TooBig(m)) => {
            assert!(m.contains("too large") || m.contains("too deep"), "{m}");
            assert!(!m.contains("Column: 256"), "{m}");
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn chain(n: usize, op: &str, term: &str) -> String {
    let mut s = String::with_capacity(n * (op.len() + term.len()));
    for i in 0..n {
        if i > 0 {
            s.push_str(op);
        }
        s.push_str(term);
    }
    s
}

#[test]
fn long_plus_chains_evaluate_or_hit_the_limit() {
    for n in [1_000, 30_000, 50_000] {
        let sql = format!("SELECT {}", chain(n, "+", "1"));
        assert_evaluates_or_limit(sql, Value::Integer(n as i64));
    }
}

#[test]
fn short_plus_chain_evaluates() {
    let sql = format!("SELECT {}", chain(500, "+", "1"));
    assert_eq!(run(sql).unwrap(), vec![vec![Value::Integer(500)]]);
}

#[test]
fn many_nots_evaluate_or_hit_the_limit() {
    for n in [64, 1_000, 20_000] {
        let sql = format!("SELECT {}1", "NOT ".repeat(n));
        assert_evaluates_or_limit(sql, Value::Integer(i64::from(n % 2 == 1) ^ 1));
    }
}

#[test]
fn long_and_or_chains_in_where_evaluate_or_hit_the_limit() {
    for n in [1_000, 30_000] {
        let sql = format!("SELECT count(*) FROM t WHERE {}", chain(n, " OR ", "a = 1"));
        assert_evaluates_or_limit(sql, Value::Integer(1));
        let sql = format!(
            "SELECT count(*) FROM t WHERE {}",
            chain(n, " AND ", "a = 1")
        );
        assert_evaluates_or_limit(sql, Value::Integer(1));
    }
}

#[test]
fn deep_parentheses_and_subqueries_hit_the_limit() {
    let n = 20_000;
    let sql = format!("SELECT {}1{}", "(".repeat(n), ")".repeat(n));
    assert_evaluates_or_limit(sql, Value::Integer(1));
    let sql = format!("SELECT {}1{}", "(SELECT ".repeat(n), ")".repeat(n));
    assert_evaluates_or_limit(sql, Value::Integer(1));
    let sql = format!("SELECT {}1", "- ".repeat(n));
    assert_evaluates_or_limit(sql, Value::Integer(1));
}

#[test]
fn long_in_list_evaluates() {
    let list = chain(30_000, ",", "2");
    let sql = format!("SELECT count(*) FROM t WHERE a IN ({list}, 1)");
    assert_eq!(run(sql).unwrap(), vec![vec![Value::Integer(1)]]);
}
