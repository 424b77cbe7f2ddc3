//! Rust baseline for the SDK benchmarks: put/get calls per second through the `toondb` crate
//! directly (in-memory database, same keys and values as the Python/Node/Go benchmarks).
//!
//! `cargo run --release -p toondb-ffi --example kv_baseline -- 200000`
use std::time::Instant;

fn main() -> toondb::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let db = toondb::Database::open_in_memory()?;
    let keys: Vec<Vec<u8>> = (0..n).map(|i| format!("key{i:08}").into_bytes()).collect();
    let value = b"value-0123456789";
    let t = Instant::now();
    for k in &keys {
        db.put(k, value)?;
    }
    let put = n as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for k in &keys {
        std::hint::black_box(db.get(k)?);
    }
    let get = n as f64 / t.elapsed().as_secs_f64();
    println!("rust (toondb crate)   put {put:>10.0}/s   get {get:>10.0}/s   (n={n}, in-memory)");
    Ok(())
}
