//! Peak memory (VmHWM from /proc/self/status) of a small mixed workload: KV writes/reads, a
//! SQL insert/query and a collection search per operation round, run by 1 client, 10
//! threads, or (feature `async`) 10 / 100 async tasks.
//!
//! Run: `cargo run --release -p toondb --features async --example rss -- <clients|threads10|tasks10|tasks100>`

use toondb::{params, Database, Document, Metric, Options, SyncMode};

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

fn setup(dir: &std::path::Path) -> toondb::Result<Database> {
    let db = Database::open_with(dir, Options::default().with_sync(SyncMode::Normal))?;
    db.execute(
        "CREATE TABLE log(id INTEGER PRIMARY KEY, client INTEGER, msg TEXT)",
        params![],
    )?;
    let c = db.create_collection("docs", 32, Metric::Cosine, Default::default())?;
    c.upsert_many((0..1000).map(|i| {
        let v: Vec<f32> = (0..32)
            .map(|d| ((i * 31 + d * 7) % 97) as f32 + 1.0)
            .collect();
        Document::new(format!("d{i}"), v).with_text(format!("document {i}"))
    }))?;
    Ok(db)
}

fn round(db: &Database, client: usize, i: usize) -> toondb::Result<()> {
    db.put(format!("c{client}:{i}"), vec![7u8; 200])?;
    let _ = db.get(format!("c{client}:{}", i / 2))?;
    db.execute(
        "INSERT INTO log(client, msg) VALUES (?, ?)",
        params![client, format!("round {i}")],
    )?;
    let _ = db.query("SELECT count(*) FROM log WHERE client = ?", params![client])?;
    let q: Vec<f32> = (0..32)
        .map(|d| ((client + i + d) % 13) as f32 + 1.0)
        .collect();
    let _ = db.collection("docs")?.search(&q, 10)?;
    Ok(())
}

const ROUNDS: usize = 200;

fn main() -> toondb::Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "clients".into());
    let dir = std::env::temp_dir().join(format!("toondb-rss-{}", std::process::id()));
    let db = setup(&dir)?;
    let base = vm_hwm_kib();
    match mode.as_str() {
        "clients" => {
            for i in 0..ROUNDS {
                round(&db, 0, i)?;
            }
        }
        "threads10" => std::thread::scope(|s| {
            let hs: Vec<_> = (0..10)
                .map(|c| {
                    let db = db.clone();
                    s.spawn(move || (0..ROUNDS / 10).try_for_each(|i| round(&db, c, i)))
                })
                .collect();
            hs.into_iter().try_for_each(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(toondb::Error::Internal("panic".into())))
            })
        })?,
        #[cfg(feature = "async")]
        m @ ("tasks10" | "tasks100") => {
            let n: usize = if m == "tasks10" { 10 } else { 100 };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| toondb::Error::Internal(e.to_string()))?;
            rt.block_on(async {
                let mut hs = Vec::new();
                for c in 0..n {
                    let db = db.clone();
                    hs.push(tokio::spawn(async move {
                        for i in 0..(ROUNDS / n).max(2) {
                            db.put_async(format!("c{c}:{i}"), vec![7u8; 200]).await?;
                            let _ = db.get_async(format!("c{c}:{}", i / 2)).await?;
                            db.execute_async(
                                "INSERT INTO log(client, msg) VALUES (?, ?)",
                                vec![toondb::Value::from(c as i64), toondb::Value::from("r")],
                            )
                            .await?;
                            let q: Vec<f32> =
                                (0..32).map(|d| ((c + i + d) % 13) as f32 + 1.0).collect();
                            let _ = db
                                .collection("docs")?
                                .search_async(toondb::SearchRequest::vector(q, 10))
                                .await?;
                        }
                        Ok::<_, toondb::Error>(())
                    }));
                }
                for h in hs {
                    h.await
                        .map_err(|e| toondb::Error::Internal(e.to_string()))??;
                }
                Ok::<_, toondb::Error>(())
            })?;
        }
        other => {
            eprintln!("unknown mode {other} (clients, threads10, tasks10, tasks100; tasks need --features async)");
            std::process::exit(2);
        }
    }
    println!(
        "mode={mode} VmHWM after setup={base} KiB, after workload={} KiB",
        vm_hwm_kib()
    );
    db.close()?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
