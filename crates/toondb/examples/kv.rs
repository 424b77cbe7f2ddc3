//! Key-value, ranges, paths and transactions.
//!
//! Run: `cargo run -p toondb --example kv`

use std::ops::Bound;

use toondb::{Database, Direction};

fn main() -> toondb::Result<()> {
    let dir = std::env::temp_dir().join(format!("toondb-kv-example-{}", std::process::id()));
    let db = Database::open(&dir)?;

    for (k, v) in [
        ("fruit:apple", "red"),
        ("fruit:banana", "yellow"),
        ("fruit:cherry", "dark red"),
        ("veg:kale", "green"),
    ] {
        db.put(k, v)?;
    }
    println!(
        "get fruit:apple = {:?}",
        db.get("fruit:apple")?.map(String::from_utf8)
    );

    println!("prefix scan fruit:");
    for kv in db.scan_prefix("fruit:")? {
        let (k, v) = kv?;
        println!(
            "  {} = {}",
            String::from_utf8_lossy(&k),
            String::from_utf8_lossy(&v)
        );
    }

    println!("reverse range [fruit:b, ∞):");
    for kv in db.range(
        Bound::Included(&b"fruit:b"[..]),
        Bound::Unbounded,
        Direction::Reverse,
    )? {
        println!("  {}", String::from_utf8_lossy(&kv?.0));
    }

    db.put_path("users/alice/email", "alice@example.com")?;
    db.put_path("users/alice/name", "Alice")?;
    db.put_path("users/bob/email", "bob@example.com")?;
    db.put_path(
        &format!("users/{}/email", toondb::escape_segment("carol/admin")),
        "carol@example.com",
    )?;
    println!("children of users/: {:?}", db.list_path("users/")?);
    println!(
        "children of users/alice: {:?}",
        db.list_path("users/alice")?
    );
    println!(
        "deleted {} values under users/alice",
        db.delete_path("users/alice")?
    );
    println!("children of users/ now: {:?}", db.list_path("users/")?);

    // A read-modify-write transaction, retried automatically on conflict.
    db.put("counter", 0u64.to_le_bytes())?;
    for _ in 0..3 {
        db.transaction(|tx| {
            let cur = tx
                .get("counter")?
                .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
                .map_or(0, u64::from_le_bytes);
            tx.put("counter", (cur + 1).to_le_bytes())
        })?;
    }
    let counter = db
        .get("counter")?
        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
        .map_or(0, u64::from_le_bytes);
    println!("counter = {counter}");
    assert_eq!(counter, 3);

    db.close()?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
