//! Graph traversal speed on a synthetic graph (default: 100,000 nodes x 10 out-edges =
//! 1,000,000 edges, two edge types), stored on disk.
//!
//! ```text
//! cargo run --release -p toondb --example graph_bench            # 1M edges
//! cargo run --release -p toondb --example graph_bench -- 20000 5 # 20k nodes x 5 edges
//! ```
//!
//! Prints load throughput, compacts (the steady state of a long-lived database), then latency of neighbour queries (all edges, one type), BFS at
//! depth 2 and 3, DFS at depth 3 and shortest paths, each over random start nodes.

use std::time::{Duration, Instant};

use serde_json::json;
use toondb::graph::{Order, Valid, Walk};
use toondb::{Database, Options, SyncMode};

fn rng(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn node(i: u64) -> String {
    format!("n{i:07}")
}

fn report(what: &str, n: usize, total: Duration, work: usize) {
    let per = total / n as u32;
    println!(
        "{what:<34} {n:>6} runs  mean {:>9.1} us  ({:.0} nodes-or-edges/s)",
        per.as_secs_f64() * 1e6,
        work as f64 / total.as_secs_f64()
    );
}

fn main() -> toondb::Result<()> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let nodes = args.first().copied().unwrap_or(100_000);
    let degree = args.get(1).copied().unwrap_or(10);
    let dir = tempfile::tempdir().map_err(|e| toondb::Error::Internal(e.to_string()))?;
    let db = Database::open_with(dir.path(), Options::default().with_sync(SyncMode::Off))?;
    let g = db.graph("bench")?;
    let mut seed = 0x2545_F491_4F6C_DD1D_u64;

    // Load: nodes first, then edges, 10,000 writes per transaction.
    let t0 = Instant::now();
    let batch = 10_000u64;
    let mut i = 0;
    while i < nodes {
        let end = (i + batch).min(nodes);
        db.transaction(|tx| {
            let tg = tx.graph("bench")?;
            for j in i..end {
                tg.add_node(&node(j), "n", json!({"i": j}), Valid::now())?;
            }
            Ok(())
        })?;
        i = end;
    }
    let node_time = t0.elapsed();
    let t1 = Instant::now();
    let total_edges = nodes * degree;
    let mut e = 0;
    let mut edges = Vec::with_capacity(batch as usize);
    while e < total_edges {
        edges.clear();
        let end = (e + batch).min(total_edges);
        for k in e..end {
            let src = k / degree;
            let mut dst = rng(&mut seed) % nodes;
            if dst == src {
                dst = (dst + 1) % nodes;
            }
            let ty = if k % 2 == 0 { "knows" } else { "likes" };
            edges.push((src, ty, dst, k));
        }
        db.transaction(|tx| {
            let tg = tx.graph("bench")?;
            for &(src, ty, dst, k) in &edges {
                match tg.add_edge(
                    &node(src),
                    ty,
                    &node(dst),
                    json!({"w": k % 100}),
                    Valid::now(),
                ) {
                    Ok(_) => {}
                    // A random duplicate (same src, type, dst): skip it.
                    Err(err) if err.kind() == toondb::ErrorKind::AlreadyExists => {}
                    Err(err) => return Err(err),
                }
            }
            Ok(())
        })?;
        e = end;
    }
    let edge_time = t1.elapsed();
    println!(
        "loaded {nodes} nodes in {:.1} s ({:.0}/s), {total_edges} edges in {:.1} s ({:.0}/s)",
        node_time.as_secs_f64(),
        nodes as f64 / node_time.as_secs_f64(),
        edge_time.as_secs_f64(),
        total_edges as f64 / edge_time.as_secs_f64()
    );
    let t2 = Instant::now();
    db.engine().flush()?;
    db.engine().compact_range(None, None)?;
    println!(
        "flush + full compaction: {:.1} s",
        t2.elapsed().as_secs_f64()
    );

    let starts: Vec<String> = (0..2000).map(|_| node(rng(&mut seed) % nodes)).collect();
    let run =
        |what: &str, n: usize, f: &dyn Fn(&str) -> toondb::Result<usize>| -> toondb::Result<()> {
            let t = Instant::now();
            let mut work = 0;
            for s in starts.iter().take(n) {
                work += f(s)?;
            }
            report(what, n, t.elapsed(), work);
            Ok(())
        };
    let all = Walk::default().limit(100_000);
    run("neighbors (out, all types)", 2000, &|s| {
        Ok(g.neighbors(s, &all)?.len())
    })?;
    let typed = all.clone().edge_types(["knows"]);
    run("neighbors (out, type=knows)", 2000, &|s| {
        Ok(g.neighbors(s, &typed)?.len())
    })?;
    let d2 = all.clone().max_depth(2).max_nodes(1_000_000);
    run("BFS depth 2", 500, &|s| Ok(g.traverse(s, &d2)?.len()))?;
    let d3 = all.clone().max_depth(3).max_nodes(1_000_000);
    run("BFS depth 3", 100, &|s| Ok(g.traverse(s, &d3)?.len()))?;
    let dfs3 = d3.clone().order(Order::Dfs);
    run("DFS depth 3", 100, &|s| Ok(g.traverse(s, &dfs3)?.len()))?;
    let sp = all.clone().max_depth(6).max_nodes(1_000_000);
    let targets: Vec<String> = (0..100).map(|_| node(rng(&mut seed) % nodes)).collect();
    let t = Instant::now();
    let mut found = 0;
    let mut hops = 0;
    for (s, d) in starts.iter().zip(&targets) {
        if let Some(p) = g.shortest_path(s, d, &sp)? {
            found += 1;
            hops += p.edges.len();
        }
    }
    let el = t.elapsed();
    println!(
        "shortest path (max 6 hops)         {:>6} runs  mean {:>9.1} us  ({found} found, {:.1} hops on average)",
        targets.len(),
        (el / targets.len() as u32).as_secs_f64() * 1e6,
        hops as f64 / found.max(1) as f64
    );
    db.close()?;
    Ok(())
}
