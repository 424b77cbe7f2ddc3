//! Shared by the integration tests: finding the model.

use std::path::PathBuf;

/// The model directory (`TOONDB_MODEL_DIR`, else the `toondb model fetch` cache). Without one the
/// model tests are skipped with a note, unless `TOONDB_REQUIRE_MODEL=1` (set by
/// scripts/test-all.sh after it fetched the model), which turns a missing model into a failure.
pub fn model_dir() -> Option<PathBuf> {
    match toondb_embed::resolve_model_dir(None) {
        Ok(d) => Some(d),
        Err(e) => {
            if std::env::var("TOONDB_REQUIRE_MODEL").is_ok_and(|v| v == "1") {
                panic!("TOONDB_REQUIRE_MODEL=1 but {e}");
            }
            eprintln!("SKIPPED (no model; run `toondb model fetch`): {e}");
            None
        }
    }
}
