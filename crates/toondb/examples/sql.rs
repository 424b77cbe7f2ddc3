//! SQL through the `Database` handle: DDL, parameters, typed rows, SQL in a transaction.
//!
//! Run: `cargo run -p toondb --example sql`

use toondb::{params, Database};

fn main() -> toondb::Result<()> {
    let db = Database::open_in_memory()?;
    db.execute(
        "CREATE TABLE products(id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, stock INTEGER)",
        params![],
    )?;
    let n = db.execute(
        "INSERT INTO products(name, price, stock) VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?)",
        params!["keyboard", 49.5, 10, "mouse", 19.0, 0, "monitor", 199.99, 3],
    )?;
    println!("inserted {n} rows");

    let rows = db.query(
        "SELECT id, name, price FROM products WHERE stock > ? ORDER BY price DESC",
        params![0],
    )?;
    println!("columns: {:?}", rows.columns());
    for row in &rows {
        let id: i64 = row.get("id")?;
        let name: String = row.get(1)?;
        let price: f64 = row.get("price")?;
        println!("  #{id} {name:<10} {price:>8.2}");
    }

    // SQL and key-value writes commit together.
    db.transaction(|tx| {
        tx.execute(
            "UPDATE products SET stock = stock - 1 WHERE name = ?",
            params!["monitor"],
        )?;
        tx.put("last_sale", "monitor")?;
        Ok(())
    })?;
    let stock: i64 = db
        .query_row(
            "SELECT stock FROM products WHERE name = 'monitor'",
            params![],
        )?
        .get(0)?;
    println!("monitor stock after sale: {stock}");
    assert_eq!(stock, 2);

    if let Err(e) = db.query("SELECT nope FROM products", params![]) {
        println!("error kind for a bad column: {} ({e})", e.kind());
    }
    Ok(())
}
