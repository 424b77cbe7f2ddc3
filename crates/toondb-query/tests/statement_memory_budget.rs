//! Operators that keep rows account for them in the statement's memory budget: past it a
//! sort spills to temporary files in the database directory; the others fail with a typed
//! `ResourceExhausted` error naming the operator. Streaming operators need no budget.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use toondb_query::{Database, Error, Session, Value};

fn fill(s: &mut Session, n: usize) {
    s.execute("CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, age INTEGER)")
        .unwrap();
    let values: Vec<String> = (0..n)
        .map(|i| format!("('person number {i}', {})", (i * 7919) % 97))
        .collect();
    for chunk in values.chunks(1000) {
        s.execute(&format!(
            "INSERT INTO people(name, age) VALUES {}",
            chunk.join(",")
        ))
        .unwrap();
    }
}

#[test]
fn cross_join_count_streams_within_a_small_budget() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    fill(&mut s, 5_000);
    s.set_memory_budget(512 * 1024);
    let r = s
        .execute("SELECT count(*) FROM people a, (SELECT id FROM people LIMIT 100) b")
        .unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(500_000)]]);
}

#[test]
fn operators_over_budget_fail_with_their_name() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    fill(&mut s, 5_000);
    s.set_memory_budget(64 * 1024);
    for (sql, op) in [
        (
            "SELECT name, count(*) FROM people GROUP BY name",
            "hash aggregate",
        ),
        ("SELECT DISTINCT name FROM people", "distinct"),
        (
            "SELECT count(*) FROM people a JOIN people b ON a.name = b.name",
            "hash join",
        ),
        ("SELECT count(DISTINCT name) FROM people", "hash aggregate"),
        // In-memory database: no directory to spill to.
        ("SELECT name FROM people ORDER BY name", "sort"),
    ] {
        match s.execute(sql) {
            Err(Error::ResourceExhausted { operator, budget }) => {
                assert_eq!(operator, op, "{sql}");
                assert_eq!(budget, 64 * 1024);
            }
            other => panic!("{sql}: expected ResourceExhausted, got {other:?}"),
        }
    }
    // Streaming aggregates need no budget.
    let r = s.execute("SELECT count(*), sum(age) FROM people").unwrap();
    assert_eq!(r.rows[0][0], Value::Integer(5_000));
}

#[test]
fn sort_over_budget_spills_to_the_database_directory() {
    let dir = tempfile::tempdir().unwrap();
    let engine =
        toondb_storage::Engine::open(dir.path(), toondb_storage::Options::default()).unwrap();
    let db = Database::from_engine(engine);
    let mut s = db.session();
    fill(&mut s, 6_000);
    s.set_memory_budget(128 * 1024);
    let r = s
        .execute("SELECT age, id FROM people ORDER BY age DESC, name")
        .unwrap();
    assert_eq!(r.rows.len(), 6_000);
    s.set_memory_budget(toondb_query::DEFAULT_MEMORY_BUDGET);
    let want = s
        .execute("SELECT age, id FROM people ORDER BY age DESC, name")
        .unwrap();
    assert_eq!(r.rows, want.rows);
    // The runs are gone once the statement ends.
    let tmp = dir.path().join("sql-tmp");
    let left = std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0);
}
