//! `toondb import` / `toondb export`: CSV and JSONL round trips, type inference, existing
//! tables, batching, and precise errors for malformed input.

mod common;
use common::{fails, ok, run_in, sql};
use std::path::Path;

fn import(dir: &Path, db: &Path, file: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "import",
        db.to_str().expect("test setup"),
        file.to_str().expect("test setup"),
    ];
    args.extend_from_slice(extra);
    run_in(dir, &args, "")
}

fn export(dir: &Path, db: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["export", db.to_str().expect("test setup")];
    args.extend_from_slice(extra);
    run_in(dir, &args, "")
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).expect("test setup")
}

const CSV: &str = "id,name,zip,score,note\n\
1,Ada,007,2.5,\"hello, world\"\n\
2,Bob,12345,3,\"says \"\"hi\"\"\"\n\
3,Cy,,0.30000000000000004,\n\
4,Di,99,1e20,\"two\nlines\"\n";

#[test]
fn csv_roundtrip_with_inferred_types() {
    let dir = tempfile::tempdir().unwrap();
    let (db, src, dst) = (
        dir.path().join("db"),
        dir.path().join("in.csv"),
        dir.path().join("out.csv"),
    );
    std::fs::write(&src, CSV).unwrap();
    let out = ok(&import(
        dir.path(),
        &db,
        &src,
        &["--table", "people", "--batch", "3"],
    ));
    assert!(
        out.starts_with("imported 4 rows into people (new table)"),
        "{out}"
    );

    // Types: id INTEGER, zip TEXT (leading zero kept), score REAL, empty fields NULL.
    let rows = json(&ok(&sql(&db, "SELECT id, zip, score, note, typeof(id) AS ti, typeof(zip) AS tz, typeof(score) AS ts FROM people ORDER BY id", "json")));
    assert_eq!(
        rows[0],
        serde_json::json!({"id": 1, "zip": "007", "score": 2.5, "note": "hello, world", "ti": "integer", "tz": "text", "ts": "real"})
    );
    assert_eq!(rows[1]["score"], serde_json::json!(3.0));
    assert_eq!(rows[2]["zip"], serde_json::Value::Null);
    assert_eq!(rows[2]["note"], serde_json::Value::Null);

    ok(&export(
        dir.path(),
        &db,
        &["--table", "people", "--out", dst.to_str().unwrap()],
    ));
    let back = std::fs::read_to_string(&dst).unwrap();
    // Identical except that the REAL column prints 3 as 3.0.
    assert_eq!(back, CSV.replace(",3,", ",3.0,"));
    assert!(!dir.path().join("out.csv.tmp").exists());
}

#[test]
fn jsonl_roundtrip_and_nested_values() {
    let dir = tempfile::tempdir().unwrap();
    let (db, src) = (dir.path().join("db"), dir.path().join("in.jsonl"));
    let lines = [
        r#"{"id":1,"title":"a \"quoted\" title","price":9.99,"tags":null,"ok":true}"#,
        r#"{"id":2,"title":"ünïcödé ✓","price":10,"tags":"x","ok":false}"#,
        "",
        r#"{"id":3,"title":"no price","price":null,"tags":"y","ok":true}"#,
    ];
    std::fs::write(&src, lines.join("\n") + "\n").unwrap();
    let out = ok(&import(dir.path(), &db, &src, &["--table", "items"]));
    assert!(out.starts_with("imported 3 rows into items"), "{out}");
    let exported = ok(&export(dir.path(), &db, &["--table", "items"]));
    let got: Vec<serde_json::Value> = exported.lines().map(json).collect();
    let want = vec![
        serde_json::json!({"id":1,"title":"a \"quoted\" title","price":9.99,"tags":null,"ok":1}),
        serde_json::json!({"id":2,"title":"ünïcödé ✓","price":10.0,"tags":"x","ok":0}),
        serde_json::json!({"id":3,"title":"no price","price":null,"tags":"y","ok":1}),
    ];
    assert_eq!(got, want);

    // Re-importing the export into a new table gives the same export.
    let again = dir.path().join("again.jsonl");
    std::fs::write(&again, &exported).unwrap();
    ok(&import(dir.path(), &db, &again, &["--table", "items2"]));
    assert_eq!(
        ok(&export(
            dir.path(),
            &db,
            &["--table", "items2", "--format", "jsonl"]
        )),
        exported
    );

    // Nested arrays/objects are stored as JSON text.
    let nested = dir.path().join("nested.ndjson");
    std::fs::write(&nested, "{\"k\":1,\"v\":{\"a\":[1,2]}}\n").unwrap();
    ok(&import(dir.path(), &db, &nested, &["--table", "n"]));
    assert_eq!(
        json(&ok(&sql(&db, "SELECT v FROM n", "json"))),
        serde_json::json!([{"v": "{\"a\":[1,2]}"}])
    );
}

#[test]
fn import_into_an_existing_table_uses_its_columns() {
    let dir = tempfile::tempdir().unwrap();
    let (db, src) = (dir.path().join("db"), dir.path().join("rows.csv"));
    ok(&sql(
        &db,
        "CREATE TABLE t(id INTEGER PRIMARY KEY, code TEXT NOT NULL, n INTEGER)",
        "table",
    ));
    std::fs::write(&src, "code,n\n0042,1\n17,2\n").unwrap();
    let out = ok(&import(dir.path(), &db, &src, &["--table", "T"]));
    assert!(out.starts_with("imported 2 rows into T in"), "{out}");
    assert_eq!(
        json(&ok(&sql(
            &db,
            "SELECT id, code, n FROM t ORDER BY id",
            "json"
        ))),
        serde_json::json!([{"id": 1, "code": "0042", "n": 1}, {"id": 2, "code": "17", "n": 2}])
    );
    // A column the table lacks is an error, and nothing is inserted.
    std::fs::write(&src, "code,extra\nx,1\n").unwrap();
    let e = fails(&import(dir.path(), &db, &src, &["--table", "t"]));
    assert!(e.contains("no column `extra`"), "{e}");
    // A constraint violation names the line of the offending record.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"code\":\"a\"}\n{\"code\":null}\n").unwrap();
    let e = fails(&import(dir.path(), &db, &bad, &["--table", "t"]));
    assert!(e.contains("bad.jsonl:2:"), "{e}");
    assert_eq!(
        json(&ok(&sql(&db, "SELECT count(*) AS n FROM t", "json"))),
        serde_json::json!([{"n": 2}])
    );
}

#[test]
fn malformed_input_fails_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"a\":1}\n{\"a\":2}\n{\"a\":\n").unwrap();
    let e = fails(&import(dir.path(), &db, &bad, &["--table", "t"]));
    assert!(
        e.contains("bad.jsonl:3:") && e.contains("invalid JSON"),
        "{e}"
    );
    assert!(
        !db.exists(),
        "the database must not be created for a bad file"
    );

    let arr = dir.path().join("arr.jsonl");
    std::fs::write(&arr, "[1,2]\n").unwrap();
    let e = fails(&import(dir.path(), &db, &arr, &["--table", "t"]));
    assert!(e.contains("arr.jsonl:1: expected a JSON object"), "{e}");

    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "a,b\n1,2\n3\n").unwrap();
    let e = fails(&import(dir.path(), &db, &ragged, &["--table", "t"]));
    assert!(
        e.contains("ragged.csv:3:") && e.contains("expected 2 fields"),
        "{e}"
    );

    let unknown = dir.path().join("data.txt");
    std::fs::write(&unknown, "a\n1\n").unwrap();
    let e = fails(&import(dir.path(), &db, &unknown, &["--table", "t"]));
    assert!(e.contains("--format"), "{e}");
    ok(&import(
        dir.path(),
        &db,
        &unknown,
        &["--table", "t", "--format", "csv"],
    ));

    let e = fails(&import(
        dir.path(),
        &db,
        &dir.path().join("missing.csv"),
        &["--table", "t"],
    ));
    assert!(e.contains("missing.csv"), "{e}");
}

#[test]
fn export_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let e = fails(&export(dir.path(), &db, &["--table", "t"]));
    assert!(e.contains("not a ToonDB database"), "{e}");
    assert!(!db.exists());
    ok(&sql(&db, "CREATE TABLE t(x)", "table"));
    let e = fails(&export(dir.path(), &db, &["--table", "nope"]));
    assert!(e.contains("nope"), "{e}");
    // An empty table exports a header-only CSV.
    assert_eq!(
        ok(&export(
            dir.path(),
            &db,
            &["--table", "t", "--format", "csv"]
        )),
        "x\n"
    );
}

#[test]
fn spreadsheet_csv_with_bom_and_crlf() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, src) = (dir.path().join("db"), dir.path().join("excel.csv"));
    std::fs::write(&src, "\u{feff}Name,Amount\r\nAda,1.5\r\nBob,2\r\n").expect("write");
    ok(&import(dir.path(), &db, &src, &["--table", "sheet"]));
    assert_eq!(
        json(&ok(&sql(
            &db,
            "SELECT Name, Amount FROM sheet ORDER BY Name",
            "json"
        ))),
        serde_json::json!([{"Name": "Ada", "Amount": 1.5}, {"Name": "Bob", "Amount": 2.0}])
    );
}

#[test]
fn header_only_csv_creates_the_table_and_says_zero_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (db, src) = (dir.path().join("db"), dir.path().join("h.csv"));
    std::fs::write(&src, "id,name\n").unwrap();
    let out = ok(&import(dir.path(), &db, &src, &["--table", "h"]));
    assert!(
        out.starts_with(
            "imported 0 rows into h (new table with TEXT columns: the file has a header row \
             but no data rows) in "
        ),
        "{out}"
    );
    let schema = ok(&run_in(
        dir.path(),
        &["shell", db.to_str().unwrap(), "-c", ".schema h"],
        "",
    ));
    assert_eq!(
        schema,
        "CREATE TABLE \"h\" (\n  \"id\" TEXT,\n  \"name\" TEXT\n);\n"
    );
    // Into an existing table it is a clear no-op; an empty file is an error.
    let out = ok(&import(dir.path(), &db, &src, &["--table", "h"]));
    assert!(
        out.starts_with("imported 0 rows into h (the file has a header row but no data rows)"),
        "{out}"
    );
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let e = fails(&import(dir.path(), &db, &empty, &["--table", "h"]));
    assert!(e.contains("missing CSV header row"), "{e}");
}

#[test]
fn import_into_an_existing_table_checks_types() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    ok(&sql(
        &db,
        "CREATE TABLE p(id INTEGER, name TEXT, score REAL); INSERT INTO p VALUES (1, 'Ada', 2.5)",
        "table",
    ));
    let src = dir.path().join("p.csv");
    std::fs::write(&src, "id,name,score\n2,Bob,3\n3,Cy,x\nabc,Di,1\n").unwrap();
    let e = fails(&import(dir.path(), &db, &src, &["--table", "p"]));
    assert_eq!(
        e,
        format!(
            "error: {}:3: column 3 (`score`): `x` does not fit p.score, declared REAL; nothing \
             was imported (pass --coerce to store such values as SQLite would)",
            src.display()
        )
    );
    let jsonl = dir.path().join("p.jsonl");
    std::fs::write(&jsonl, "{\"id\": 4}\n{\"id\": 5, \"name\": 7}\n").unwrap();
    let e = fails(&import(dir.path(), &db, &jsonl, &["--table", "p"]));
    assert!(
        e.contains("p.jsonl:2: column 2 (`name`): the number 7 does not fit p.name, declared TEXT"),
        "{e}"
    );
    // Nothing was written by either.
    let rows = ok(&sql(
        &db,
        "SELECT count(*) AS n, max(id) AS m FROM p",
        "json",
    ));
    assert_eq!(json(&rows), serde_json::json!([{"n": 1, "m": 1}]));
    // --coerce stores them as SQLite would (by column affinity).
    ok(&import(
        dir.path(),
        &db,
        &src,
        &["--table", "p", "--coerce"],
    ));
    ok(&import(
        dir.path(),
        &db,
        &jsonl,
        &["--table", "p", "--coerce"],
    ));
    let rows = ok(&sql(
        &db,
        "SELECT id, typeof(id) AS ti, name, score, typeof(score) AS ts FROM p ORDER BY name, id",
        "json",
    ));
    assert_eq!(
        json(&rows),
        serde_json::json!([
            {"id": 4, "ti": "integer", "name": null, "score": null, "ts": "null"},
            {"id": 5, "ti": "integer", "name": "7", "score": null, "ts": "null"},
            {"id": 1, "ti": "integer", "name": "Ada", "score": 2.5, "ts": "real"},
            {"id": 2, "ti": "integer", "name": "Bob", "score": 3.0, "ts": "real"},
            {"id": 3, "ti": "integer", "name": "Cy", "score": "x", "ts": "text"},
            {"id": "abc", "ti": "text", "name": "Di", "score": 1.0, "ts": "real"}
        ])
    );
}

#[test]
fn a_failed_import_leaves_no_database_behind() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new-db");
    // One field larger than the storage engine's 64 MiB value limit: the file is valid, the
    // insert fails after the database was created.
    let src = dir.path().join("huge.csv");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&src).unwrap());
        f.write_all(b"big\n").unwrap();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..65 {
            f.write_all(&chunk).unwrap();
        }
        f.write_all(b"\n").unwrap();
    }
    let e = fails(&import(dir.path(), &db, &src, &["--table", "t"]));
    assert!(e.contains("huge.csv:2:"), "{e}");
    assert!(
        !db.exists(),
        "the database directory the import created is removed"
    );
    // An empty directory given by the user stays, and stays empty.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    fails(&import(dir.path(), &empty, &src, &["--table", "t"]));
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    std::fs::remove_file(&src).unwrap();
}
