//! SQL `embed(text)`: registered on every database when the `embed` feature is on, backed by
//! the default model (loaded on first use).
#![cfg(feature = "embed")]

use toondb::{params, Database, ErrorKind};

/// Whether the default model is installed. Without it the tests check the error instead,
/// unless `TOONDB_REQUIRE_MODEL=1` (scripts/test-all.sh fetches the model first).
fn model_installed() -> bool {
    match toondb::embed::default_embedder() {
        Ok(_) => true,
        Err(e) => {
            assert!(
                !std::env::var("TOONDB_REQUIRE_MODEL").is_ok_and(|v| v == "1"),
                "TOONDB_REQUIRE_MODEL=1 but {e}"
            );
            eprintln!("model not installed: checking the not-found error only ({e})");
            false
        }
    }
}

#[test]
fn embed_returns_a_json_vector_of_the_model_dimension() {
    let db = Database::open_in_memory().unwrap();
    let r = db.query_row("SELECT embed('the cat sat on the mat')", params![]);
    if !model_installed() {
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert!(e.to_string().contains("embedding model"), "{e}");
        return;
    }
    let text: String = r.unwrap().get(0).unwrap();
    let v: Vec<f32> = serde_json::from_str(&text).unwrap();
    assert_eq!(v.len(), 384);
    let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-3, "normalised, got {norm}");
    // Deterministic: the same text gives the same vector, another text another one.
    let again = db
        .query_row(
            "SELECT embed('the cat sat on the mat') = ?",
            params![text.clone()],
        )
        .unwrap();
    assert_eq!(again.get::<i64>(0).unwrap(), 1);
    let other = db
        .query_row("SELECT embed('stock markets fell') = ?", params![text])
        .unwrap();
    assert_eq!(other.get::<i64>(0).unwrap(), 0);
}

#[test]
fn embed_passes_null_and_refuses_non_text() {
    let db = Database::open_in_memory().unwrap();
    let r = db
        .query_row("SELECT embed(NULL) IS NULL", params![])
        .unwrap();
    assert_eq!(r.get::<i64>(0).unwrap(), 1);
    let e = db.query("SELECT embed(1, 2)", params![]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    if model_installed() {
        let e = db.query("SELECT embed(42)", params![]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        assert!(e.to_string().contains("TEXT"), "{e}");
    }
}
