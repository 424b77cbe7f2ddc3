//! `toondb demo`: runs end to end on the shipped data set, prints every section and the
//! TOON-vs-JSON token comparison, respects the budget, and never clobbers foreign
//! directories. (Debug builds are slow at HNSW construction, so most runs load a subset.)

mod common;
use common::{fails, ok, run_in};

/// The numbers in "TOON context: T tokens vs JSON C tokens (compact) / P (pretty)".
fn token_line(out: &str) -> (usize, usize, usize) {
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("TOON context:"))
        .expect("token comparison line");
    let nums: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    (nums[0], nums[1], nums[2])
}

#[test]
fn demo_runs_and_compares_toon_with_json_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo-db");
    let out = ok(&run_in(
        dir.path(),
        &[
            "demo",
            db.to_str().unwrap(),
            "--passages",
            "300",
            "--budget",
            "500",
        ],
        "",
    ));
    for n in 1..=6 {
        assert!(
            out.contains(&format!("[{n}/6]")),
            "section {n} missing:\n{out}"
        );
    }
    assert!(out.contains("300 rows"), "{out}");
    assert!(out.contains("300 documents"), "{out}");
    assert!(out.contains("vector recall@10"), "{out}");
    assert!(out.contains("----- TOON context -----"), "{out}");
    let (toon, compact, pretty) = token_line(&out);
    assert!(
        toon > 0 && toon <= 500,
        "TOON context must respect the budget: {toon}"
    );
    assert!(
        toon < compact && compact < pretty,
        "TOON {toon}, JSON {compact} / {pretty}"
    );
    // The context's token count printed in section 5 matches the comparison.
    assert!(
        out.contains(&format!("{toon} of 500 budget tokens used")),
        "{out}"
    );

    // The database it leaves behind is a real one.
    let rows = ok(&common::sql(
        &db,
        "SELECT count(*) AS n FROM passages",
        "json",
    ));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&rows).unwrap(),
        serde_json::json!([{"n": 300}])
    );
    let check = ok(&run_in(dir.path(), &["check", db.to_str().unwrap()], ""));
    assert!(check.contains("ok: no corruption found"), "{check}");
    assert!(check.contains("collections: 1 (300 documents)"), "{check}");

    // A second run on the same path reuses the loaded data.
    let again = ok(&run_in(
        dir.path(),
        &[
            "demo",
            db.to_str().unwrap(),
            "--passages",
            "300",
            "--budget",
            "500",
        ],
        "",
    ));
    assert!(again.contains("reusing them"), "{again}");
    assert_eq!(token_line(&again), (toon, compact, pretty));
}

#[test]
fn demo_defaults_to_a_fresh_named_temp_dir() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(&run_in(
        dir.path(),
        &["demo", "--passages", "40", "--budget", "300"],
        "",
    ));
    let path = out
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("path: "))
        .map(|p| p.split("  (").next().unwrap().to_string())
        .expect("path line");
    assert!(
        path.starts_with(dir.path().to_str().unwrap()),
        "temp dir must come from TMPDIR: {path}"
    );
    assert!(
        std::path::Path::new(&path).join("CURRENT").is_file(),
        "{path}"
    );
    assert!(out.contains(&format!("toondb shell {path}")), "{out}");
}

#[test]
fn demo_refuses_to_clobber_a_foreign_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("thesis.tex"), "precious").unwrap();
    let e = fails(&run_in(
        dir.path(),
        &["demo", dir.path().to_str().unwrap()],
        "",
    ));
    assert!(e.contains("refusing"), "{e}");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("thesis.tex")]);

    // A database holding a different `passages` table is not touched either.
    let db = dir.path().join("other");
    ok(&common::sql(
        &db,
        "CREATE TABLE passages(x); INSERT INTO passages VALUES (1)",
        "table",
    ));
    let e = fails(&run_in(
        dir.path(),
        &["demo", db.to_str().unwrap(), "--passages", "20"],
        "",
    ));
    assert!(e.contains("fresh PATH"), "{e}");
    let rows = ok(&common::sql(&db, "SELECT x FROM passages", "json"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&rows).unwrap(),
        serde_json::json!([{"x": 1}])
    );
}

#[test]
fn demo_refuses_a_database_it_did_not_make() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mine");
    ok(&common::sql(
        &db,
        "CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices(total) VALUES (9.5)",
        "table",
    ));
    let o = run_in(
        dir.path(),
        &["demo", db.to_str().unwrap(), "--passages", "20"],
        "",
    );
    let e = fails(&o);
    assert_eq!(
        e,
        format!(
            "error: {} is a database that `toondb demo` did not make (it has table `invoices`); \
             refusing to write the demo tables into it. Use a new PATH",
            db.display()
        )
    );
    // Nothing was added.
    let tables = ok(&run_in(
        dir.path(),
        &["shell", db.to_str().unwrap(), "-c", ".tables"],
        "",
    ));
    assert_eq!(tables, "invoices\n");
}
