//! `include/toondb.h` must be exactly what cbindgen generates from the current source.
//! Regenerate with `TOONDB_BLESS=1 cargo test -p toondb-ffi --test header`.

#[test]
fn committed_header_matches_cbindgen_output() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let config =
        cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    let generated = String::from_utf8(out).expect("header is UTF-8");
    let path = format!("{dir}/include/toondb.h");
    if std::env::var_os("TOONDB_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write header");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/toondb.h is stale; run TOONDB_BLESS=1 cargo test -p toondb-ffi --test header"
    );
    for f in [
        "toondb_open",
        "toondb_free_bytes",
        "toondb_free_string",
        "toondb_last_error",
        "toondb_search",
        "TOONDB_ERR_CONFLICT",
    ] {
        assert!(generated.contains(f), "{f} missing from the header");
    }
}
