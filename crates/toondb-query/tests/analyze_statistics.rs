//! ANALYZE stores row counts and distinct estimates in the catalog; EXPLAIN shows estimated
//! rows, and the optimizer uses them (hash join builds on the smaller input).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use toondb_query::{Database, Session, Value};

fn explain(s: &mut Session, sql: &str) -> String {
    let r = s.execute(&format!("EXPLAIN {sql}")).unwrap();
    r.rows
        .iter()
        .map(|r| r[0].to_text_lossy())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn analyze_feeds_estimates_and_the_build_side() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("CREATE TABLE big(id INTEGER PRIMARY KEY, k INTEGER, g INTEGER)")
        .unwrap();
    s.execute("CREATE INDEX big_g ON big(g)").unwrap();
    s.execute("CREATE TABLE small(id INTEGER PRIMARY KEY, k INTEGER)")
        .unwrap();
    let values: Vec<String> = (0..5000)
        .map(|i| format!("({}, {})", i % 50, i % 10))
        .collect();
    s.execute(&format!(
        "INSERT INTO big(k, g) VALUES {}",
        values.join(",")
    ))
    .unwrap();
    s.execute("INSERT INTO small(k) VALUES (1), (2), (3)")
        .unwrap();
    let q = "SELECT count(*) FROM small JOIN big ON big.k = small.k";
    let before = explain(&mut s, q);
    s.execute("ANALYZE").unwrap();
    let after = explain(&mut s, q);
    assert!(after.contains("SeqScan big (rows=5000)"), "{after}");
    assert!(after.contains("SeqScan small (rows=3)"), "{after}");
    // The hash table is built on the 3-row side.
    let join = after.lines().find(|l| l.contains("HashJoin")).unwrap();
    let small_is_left = after.find("small").unwrap() < after.find("SeqScan big").unwrap();
    assert_eq!(join.contains("build=left"), small_is_left, "{after}");
    assert_ne!(before, after);
    // Index selectivity from distinct counts: g has 10 values -> 500 rows per value.
    let p = explain(&mut s, "SELECT * FROM big WHERE g = 3");
    assert!(
        p.contains("IndexScan big USING INDEX big_g") && p.contains("rows=500"),
        "{p}"
    );
    // Results are unchanged.
    let r = s.execute(q).unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(300)]]);
    // ANALYZE of one table, and of a missing one.
    s.execute("ANALYZE small").unwrap();
    assert!(s.execute("ANALYZE nope").is_err());
}
