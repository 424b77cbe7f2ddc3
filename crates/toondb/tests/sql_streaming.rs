//! Streaming query results: `Database::query_each`, `Transaction::query_each` and the lazy
//! `Database::query_stream` iterator deliver rows as they are produced, stop early, and
//! report errors (the engine's and the callback's) with their own types.
#![allow(clippy::unwrap_used)] // test code

use std::ops::ControlFlow;
use toondb::{params, Database, Error, ErrorKind};

fn db_with(n: i64) -> Database {
    let db = Database::open_in_memory().unwrap();
    db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", params![])
        .unwrap();
    let ids: Vec<i64> = (1..=n).collect();
    for chunk in ids.chunks(1000) {
        let values: Vec<String> = chunk.iter().map(|i| format!("({i}, 'v{i}')")).collect();
        db.execute(
            &format!("INSERT INTO t VALUES {}", values.join(",")),
            params![],
        )
        .unwrap();
    }
    db
}

#[test]
fn query_each_streams_and_stops_early() {
    let db = db_with(5000);
    let mut seen = 0;
    db.query_each("SELECT id, v FROM t", params![], |row| {
        seen += 1;
        assert_eq!(
            row.get::<String>("v").unwrap(),
            format!("v{}", row.get::<i64>(0).unwrap())
        );
        Ok(if seen == 10 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        })
    })
    .unwrap();
    assert_eq!(seen, 10);
    let mut all = 0;
    db.query_each("SELECT id FROM t ORDER BY id DESC", params![], |_| {
        all += 1;
        Ok(ControlFlow::Continue(()))
    })
    .unwrap();
    assert_eq!(all, 5000);
}

#[test]
fn query_each_reports_callback_and_engine_errors() {
    let db = db_with(100);
    let mut calls = 0;
    let e = db
        .query_each("SELECT id FROM t", params![], |_| {
            calls += 1;
            Err(Error::InvalidArgument("stop right there".into()))
        })
        .unwrap_err();
    assert_eq!(calls, 1, "the statement stops at the callback's error");
    assert!(e.to_string().contains("stop right there"), "{e}");
    let e = db
        .query_each("SELECT nope FROM t", params![], |_| {
            Ok(ControlFlow::Continue(()))
        })
        .unwrap_err();
    assert!(e.to_string().contains("no such column"), "{e}");
    // A runtime error after some rows: the rows before it were delivered.
    let mut got = 0;
    let e = db
        .query_each(
            "SELECT CASE WHEN id < 50 THEN id ELSE abs(-9223372036854775807 - 1) END FROM t ORDER BY id",
            params![],
            |_| {
                got += 1;
                Ok(ControlFlow::Continue(()))
            },
        )
        .unwrap_err();
    assert_eq!(got, 49);
    assert_ne!(e.kind(), ErrorKind::Internal, "{e}");
}

#[test]
fn transaction_query_each_sees_own_writes() {
    let db = db_with(10);
    let mut tx = db.begin().unwrap();
    tx.execute("DELETE FROM t WHERE id % 2 = 0", params![])
        .unwrap();
    tx.execute("INSERT INTO t VALUES (100, 'new')", params![])
        .unwrap();
    let mut ids = Vec::new();
    tx.query_each("SELECT id FROM t ORDER BY id", params![], |r| {
        ids.push(r.get::<i64>(0)?);
        Ok(ControlFlow::Continue(()))
    })
    .unwrap();
    assert_eq!(ids, [1, 3, 5, 7, 9, 100]);
    tx.rollback();
}

#[test]
fn query_stream_is_lazy_and_dropping_it_stops_the_statement() {
    let db = db_with(20_000);
    let mut rows = db
        .query_stream("SELECT id, v FROM t ORDER BY id", params![])
        .unwrap();
    assert_eq!(rows.columns(), ["id", "v"]);
    let first: Vec<i64> = rows
        .by_ref()
        .take(3)
        .map(|r| r.unwrap().get::<i64>("id").unwrap())
        .collect();
    assert_eq!(first, [1, 2, 3]);
    drop(rows);
    // Everything, in order, through the iterator.
    let n = db
        .query_stream("SELECT id FROM t WHERE id % 7 = 0", params![])
        .unwrap()
        .map(|r| r.unwrap().get::<i64>(0).unwrap())
        .fold((0, 0), |(n, last), id| {
            assert!(id > last);
            (n + 1, id)
        });
    assert_eq!(n.0, 20_000 / 7);
    // Empty result: columns still known.
    let empty = db
        .query_stream("SELECT id, v AS value FROM t WHERE id < 0", params![])
        .unwrap();
    assert_eq!(empty.columns(), ["id", "value"]);
    assert_eq!(empty.count(), 0);
    // Errors at once come from query_stream itself; later ones from the iterator.
    assert!(db.query_stream("SELEC 1", params![]).is_err());
    let results: Vec<_> = db
        .query_stream(
            "SELECT CASE WHEN id < 5 THEN id ELSE abs(-9223372036854775807 - 1) END FROM t ORDER BY id",
            params![],
        )
        .unwrap()
        .collect();
    assert_eq!(results.len(), 5);
    assert!(results[..4].iter().all(|r| r.is_ok()));
    assert!(results[4].is_err());
}
