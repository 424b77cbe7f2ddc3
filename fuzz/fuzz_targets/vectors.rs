//! Fuzzes the texmex (`.fvecs` / `.ivecs`) parsers of `toondb-index` and feeds whatever parses
//! into an index: no input may panic, and parsed sizes must be consistent with the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toondb_index::texmex::{parse_fvecs, parse_ivecs};
use toondb_index::{FlatIndex, HnswConfig, HnswIndex, Metric};

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = parse_ivecs(data, "fuzz.ivecs") {
        assert_eq!(v.rows() * (v.dim + 1) * 4, data.len());
    }
    let Ok(v) = parse_fvecs(data, "fuzz.fvecs") else { return };
    assert_eq!(v.rows() * (v.dim + 1) * 4, data.len());
    if v.dim > 64 || v.rows() > 64 {
        return;
    }
    // Parsed vectors may hold NaN/inf/zero: the index must answer with errors, not panics.
    let mut cfg = HnswConfig::new(v.dim, Metric::Cosine);
    cfg.threads = 1;
    let Ok(mut idx) = HnswIndex::new(cfg) else { return };
    let mut flat = FlatIndex::new(v.dim, Metric::L2).expect("dim >= 1");
    for i in 0..v.rows() {
        let _ = idx.insert(i as u64 % 7, v.row(i));
        let _ = flat.insert(i as u64, v.row(i));
    }
    let _ = idx.search(v.row(0), 3);
    let _ = flat.search(v.row(0), 3);
    let ids: Vec<u64> = (0..v.rows() as u64).collect();
    let _ = idx.insert_batch(&ids, &v.data);
    let _ = idx.delete(1);
    idx.repair();
});
