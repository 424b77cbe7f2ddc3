//! `sqlite_schema` / `sqlite_master`: its `sql` column recreates every object, so a copy made
//! from it alone has the same schema (columns, keys, defaults, indexes, views, triggers).
#![allow(clippy::unwrap_used)] // test code

use toondb_query::{Database, Session, Value};

fn rows(s: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    s.execute(sql).unwrap().rows
}

#[test]
fn schema_sql_recreates_the_schema() {
    let src = Database::open_in_memory().unwrap();
    let mut s = src.session();
    s.execute(
        "CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT NOT NULL DEFAULT 'x', b REAL UNIQUE);
         CREATE TABLE \"odd \"\"name\"(k TEXT, v BLOB, PRIMARY KEY (k, v));
         CREATE INDEX t_a ON t(a);
         CREATE UNIQUE INDEX t_ab ON t(a, b);
         CREATE VIEW v AS SELECT a, count(*) AS n FROM t GROUP BY a;
         CREATE TRIGGER t_ins AFTER INSERT ON t WHEN new.a <> 'x' BEGIN
           INSERT INTO \"odd \"\"name\" VALUES (new.a, NULL);
         END;",
    )
    .unwrap();
    let schema = rows(
        &mut s,
        // Tables first (in creation order), then indexes, views and triggers as listed.
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rootpage = 0, rootpage",
    );
    assert!(schema.len() >= 6, "{schema:?}");
    let copy = Database::open_in_memory().unwrap();
    let mut c = copy.session();
    for r in &schema {
        let Value::Text(sql) = &r[2] else {
            panic!("{r:?}")
        };
        c.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let q = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name";
    assert_eq!(rows(&mut s, q), rows(&mut c, q));
    for t in ["t", "\"odd \"\"name\""] {
        for p in [
            format!("PRAGMA table_xinfo({t})"),
            format!("PRAGMA index_list({t})"),
        ] {
            assert_eq!(rows(&mut s, &p), rows(&mut c, &p), "{p}");
        }
    }
    // The copied trigger and AUTOINCREMENT work.
    c.execute("INSERT INTO t(a) VALUES ('fires'); INSERT INTO t(a) VALUES ('x')")
        .unwrap();
    assert_eq!(
        rows(&mut c, "SELECT count(*) FROM \"odd \"\"name\""),
        vec![vec![Value::Integer(1)]]
    );
    // Names starting with sqlite_ are reserved, as in SQLite.
    for ddl in [
        "CREATE TABLE sqlite_master(x)",
        "CREATE TABLE SQLITE_foo(x)",
        "CREATE VIEW sqlite_v AS SELECT 1",
        "CREATE INDEX sqlite_i ON t(a)",
        "CREATE TRIGGER sqlite_t AFTER DELETE ON t BEGIN SELECT 1; END",
    ] {
        let e = c.execute(ddl).unwrap_err();
        assert!(
            e.to_string().contains("reserved for internal use"),
            "{ddl}: {e}"
        );
    }
}
