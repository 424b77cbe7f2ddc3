//! Benchmark + full correctness check on the shared minilm-20k set:
//! `cargo run --release -p toondb-embed --example minilm20k -- DATA_DIR [MODEL_DIR]`
//! (DATA_DIR holds texts.jsonl, base.fvecs, queries.jsonl, query.fvecs). Prints texts/s and the
//! min/mean cosine against the sentence-transformers vectors.

use std::path::Path;
use std::time::Instant;

fn read_fvecs(path: &Path) -> Result<Vec<Vec<f32>>, Box<dyn std::error::Error>> {
    let raw = std::fs::read(path)?;
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= raw.len() {
        let d = i32::from_le_bytes(raw[at..at + 4].try_into()?) as usize;
        at += 4;
        out.push(
            raw[at..at + 4 * d]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        );
        at += 4 * d;
    }
    Ok(out)
}

fn read_texts(path: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    for line in std::fs::read_to_string(path)?.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        out.push(v["text"].as_str().ok_or("text field")?.to_string());
    }
    Ok(out)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let data = Path::new(args.get(1).ok_or("usage: minilm20k DATA_DIR [MODEL_DIR]")?);
    let model = toondb_embed::resolve_model_dir(args.get(2).map(Path::new))?;
    let mut texts = read_texts(&data.join("texts.jsonl"))?;
    let mut want = read_fvecs(&data.join("base.fvecs"))?;
    texts.extend(read_texts(&data.join("queries.jsonl"))?);
    want.extend(read_fvecs(&data.join("query.fvecs"))?);
    let limit = std::env::var("LIMIT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(texts.len());
    texts.truncate(limit);
    want.truncate(limit);
    let t = Instant::now();
    let e = toondb_embed::Embedder::load(&model)?;
    let load = t.elapsed();
    let t = Instant::now();
    let got = e.embed_batch(&texts)?;
    let el = t.elapsed().as_secs_f64();
    let mut min = f64::MAX;
    let mut sum = 0.0;
    for (g, w) in got.iter().zip(&want) {
        let c: f64 = g.iter().zip(w).map(|(a, b)| *a as f64 * *b as f64).sum();
        min = min.min(c);
        sum += c;
    }
    println!(
        "texts {} load {:.2}s embed {:.2}s = {:.1} texts/s threads {} | cosine min {:.6} mean {:.6}",
        texts.len(),
        load.as_secs_f64(),
        el,
        texts.len() as f64 / el,
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into()),
        min,
        sum / got.len() as f64
    );
    Ok(())
}
