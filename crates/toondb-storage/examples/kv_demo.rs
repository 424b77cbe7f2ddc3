//! A tiny tour of the storage engine: open a directory (or a temporary one), write, read,
//! scan, run a transaction and print statistics.
//!
//! `cargo run -p toondb-storage --example kv_demo [DIR]`

use std::ops::Bound;
use toondb_storage::{Direction, Engine, Isolation, Options, WriteBatch};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let given = std::env::args_os().nth(1).map(std::path::PathBuf::from);
    let dir = given.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("toondb-kv-demo-{}", std::process::id()))
    });
    let db = Engine::open(&dir, Options::default())?;
    println!("opened {}", dir.display());

    for i in 0..1000u32 {
        db.put(
            format!("user:{i:04}").as_bytes(),
            format!("name-{i}").as_bytes(),
        )?;
    }
    let mut batch = WriteBatch::new();
    batch.put(b"config:mode", b"demo").delete(b"user:0000");
    db.write(batch)?;
    println!(
        "get user:0042 = {:?}",
        db.get(b"user:0042")?.map(String::from_utf8)
    );

    let first: Vec<String> = db
        .scan_prefix(b"user:")?
        .take(3)
        .map(|kv| kv.map(|(k, _)| String::from_utf8_lossy(&k).into_owned()))
        .collect::<Result<_, _>>()?;
    println!("first users: {first:?}");
    let last: Vec<String> = db
        .scan(
            Bound::Included(b"user:"),
            Bound::Excluded(b"user;"),
            Direction::Reverse,
        )?
        .take(3)
        .map(|kv| kv.map(|(k, _)| String::from_utf8_lossy(&k).into_owned()))
        .collect::<Result<_, _>>()?;
    println!("last users: {last:?}");

    let mut t = db.begin(Isolation::Serializable)?;
    let n = t.scan_prefix(b"user:")?.count();
    t.put(b"stats:users", n.to_string().as_bytes())?;
    t.commit()?;
    println!("users counted in a transaction: {n}");

    db.flush()?;
    let st = db.stats();
    println!(
        "stats: last_seq={} sst_bytes={} files/level={:?} wal_bytes={} flushes={} compactions={}",
        st.last_seq,
        st.total_sst_bytes,
        st.levels.iter().map(|l| l.files).collect::<Vec<_>>(),
        st.wal_bytes,
        st.flushes,
        st.compactions
    );
    let report = db.verify()?;
    println!(
        "verify: {} tables, {} WAL records, ok={}",
        report.tables_checked,
        report.wal_records,
        report.is_ok()
    );
    db.close()?;
    if given.is_none() {
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}
