//! The smallest useful program (for binary-size measurements): open, put, get.
//!
//! Run: `cargo run --release -p toondb --example minimal`

fn main() -> toondb::Result<()> {
    let db = toondb::Database::open_in_memory()?;
    db.put("k", "v")?;
    #[cfg(feature = "async")]
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| toondb::Error::Internal(e.to_string()))?;
        rt.block_on(db.put_async("a", "b"))?;
    }
    println!("{:?}", db.get("k")?.map(String::from_utf8));
    Ok(())
}
