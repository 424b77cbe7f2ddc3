//! A fixed point-read workload for instruction counting (callgrind) and quick timing.
//!
//! `cargo run --release -p toondb-storage --example get_loop -- KEYS GETS [mem|sst|scan] [THREADS]`
//!
//! Fills `KEYS` keys (100-byte values), optionally compacts them into tables (`sst`, the
//! default, and `scan`) or leaves them in the memtable (`mem`), then runs `GETS` random point
//! reads per thread (`scan`: `GETS` scans of 10 keys from a random start).
//! Running with `GETS = 0` gives the setup cost to subtract under callgrind.

use std::ops::Bound;
use std::time::Instant;
use toondb_storage::{Direction, Engine, Options, SyncMode, WriteBatch};

fn key(i: u64) -> Vec<u8> {
    format!("key{i:012}").into_bytes()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let keys: u64 = args.first().map_or(Ok(100_000), |s| s.parse())?;
    let gets: u64 = args.get(1).map_or(Ok(100_000), |s| s.parse())?;
    let mode = args.get(2).map_or("sst", String::as_str);
    let threads: u64 = args.get(3).map_or(Ok(1), |s| s.parse())?;
    let dir = tempdir();
    let db = Engine::open(
        &dir,
        Options {
            sync: SyncMode::Normal,
            ..Options::default()
        },
    )?;
    let mut b = WriteBatch::new();
    for i in 0..keys {
        b.put(&key(i), &[7u8; 100]);
        if b.len() == 1000 {
            db.write(std::mem::take(&mut b))?;
        }
    }
    db.write(b)?;
    if mode != "mem" {
        db.compact_range(None, None)?;
    }
    let files: Vec<usize> = db.stats().levels.iter().map(|l| l.files).collect();
    eprintln!("table files per level: {files:?}");
    let t = Instant::now();
    let scan = mode == "scan";
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || -> u64 {
                let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ t;
                let mut found = 0;
                for _ in 0..gets {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let k = key(x % keys.max(1));
                    if scan {
                        let it = db.scan(Bound::Included(&k), Bound::Unbounded, Direction::Forward);
                        if let Ok(it) = it {
                            found += it.take(10).filter(Result::is_ok).count() as u64;
                        }
                    } else if matches!(db.get(&k), Ok(Some(_))) {
                        found += 1;
                    }
                }
                found
            })
        })
        .collect();
    let mut found = 0;
    for h in hs {
        found += h.join().map_err(|_| "reader panicked")?;
    }
    let el = t.elapsed();
    let total = gets * threads;
    println!(
        "{total} gets ({threads} threads, {mode}) found {found} in {el:.2?}: {:.0} ns/get, {:.0} gets/s",
        el.as_nanos() as f64 / total.max(1) as f64,
        total as f64 / el.as_secs_f64()
    );
    db.close()?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("toondb-get-loop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}
