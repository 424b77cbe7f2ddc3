//! json_each / json_tree rows stream to their consumer (nothing is kept, no row carries a
//! copy of the document), so operators that keep them are what the statement memory budget
//! sees; a lateral json_each in an endless query ends at the statement timeout.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use toondb_query::{Database, Error, Value};

#[test]
fn json_each_streams_within_the_memory_budget() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    let big: Vec<String> = (0..50_000).map(|i| format!("\"item{i}\"")).collect();
    let doc = Value::Text(format!("[{}]", big.join(",")));
    s.set_memory_budget(64 * 1024);
    // The rows stream: nothing is kept, so a small budget is enough to count them...
    let r = s
        .execute_with(
            "SELECT count(*) FROM json_tree(?) WHERE type = 'text'",
            std::slice::from_ref(&doc),
        )
        .unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(50_000)]]);
    // ...while an operator that keeps them (a sort without a spill directory) hits it.
    let e = s
        .execute_with("SELECT value FROM json_each(?) ORDER BY value", &[doc])
        .unwrap_err();
    assert!(matches!(e, Error::ResourceExhausted { .. }), "{e:?}");
}

#[test]
fn lateral_json_each_obeys_the_statement_timeout() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, meta TEXT)")
        .unwrap();
    s.execute("INSERT INTO t VALUES (1, '[1,2,3]'), (2, '[4]')")
        .unwrap();
    let r = s
        .execute("SELECT sum(j.value), max(j.json), min(j.root) FROM t, json_each(t.meta) j")
        .unwrap();
    assert_eq!(
        r.rows,
        vec![vec![
            Value::Integer(10),
            Value::from("[4]"),
            Value::from("$")
        ]]
    );
    s.set_timeout(Some(std::time::Duration::from_millis(200)));
    let e = s
        .execute(
            "WITH RECURSIVE n(x) AS (SELECT '[1,2]' UNION ALL SELECT x FROM n) \
             SELECT count(*) FROM n, json_each(n.x)",
        )
        .unwrap_err();
    assert!(matches!(e, Error::Interrupted(_)), "{e:?}");
}
