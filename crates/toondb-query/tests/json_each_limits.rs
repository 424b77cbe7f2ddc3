//! json_each / json_tree rows count against the statement memory budget (and do not carry a
//! copy of the document each), and a lateral json_each in an endless query ends at the
//! statement timeout like any other loop.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use toondb_query::{Database, Error, Value};

#[test]
fn json_each_rows_are_charged_to_the_memory_budget() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    let big: Vec<String> = (0..50_000).map(|i| format!("\"item{i}\"")).collect();
    let doc = Value::Text(format!("[{}]", big.join(",")));
    let r = s
        .execute_with(
            "SELECT count(*) FROM json_each(?)",
            std::slice::from_ref(&doc),
        )
        .unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(50_000)]]);
    s.set_memory_budget(64 * 1024);
    let e = s
        .execute_with("SELECT count(*) FROM json_tree(?)", &[doc])
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
