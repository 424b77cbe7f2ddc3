//! Our vectors agree with sentence-transformers' (cosine >= 0.999) on 256 reference texts,
//! including texts longer than the model's 256-token window.

mod common;

use std::path::Path;

fn read_fvecs(path: &Path) -> Vec<Vec<f32>> {
    let raw = std::fs::read(path).expect("read fvecs");
    let mut out = Vec::new();
    let mut at = 0;
    while at < raw.len() {
        let d = i32::from_le_bytes(raw[at..at + 4].try_into().expect("4 bytes")) as usize;
        at += 4;
        out.push(
            raw[at..at + 4 * d]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect(),
        );
        at += 4 * d;
    }
    out
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn vectors_match_sentence_transformers_including_truncated_long_texts() {
    let Some(dir) = common::model_dir() else {
        return;
    };
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let texts: Vec<(i64, String)> = std::fs::read_to_string(data.join("minilm_sample.jsonl"))
        .expect("read jsonl")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            (
                v["id"].as_i64().expect("id"),
                v["text"].as_str().expect("text").to_string(),
            )
        })
        .collect();
    let want = read_fvecs(&data.join("minilm_sample.fvecs"));
    assert_eq!(texts.len(), 256);
    assert_eq!(want.len(), texts.len());

    let e = toondb_embed::Embedder::load(&dir).expect("load model");
    assert_eq!(e.dim(), 384);
    assert_eq!(e.max_seq_len(), 256);
    let refs: Vec<&str> = texts.iter().map(|(_, t)| t.as_str()).collect();
    let got = e.embed_batch(&refs).expect("embed");

    let mut long = 0;
    let mut worst = (1.0f64, 0i64);
    for (((id, text), g), w) in texts.iter().zip(&got).zip(&want) {
        let norm: f32 = g.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "text {id}: norm {norm}");
        let c = cosine(g, w);
        if c < worst.0 {
            worst = (c, *id);
        }
        assert!(c >= 0.999, "text {id}: cosine {c} < 0.999");
        if e.token_count(text).expect("count") == 256 {
            long += 1;
        }
    }
    // Texts at the window are really there (the 261-token passage and the long synthetic ones).
    assert!(long >= 10, "only {long} texts reach the 256-token window");
    eprintln!(
        "min cosine {:.6} (text {}), {long} truncated texts",
        worst.0, worst.1
    );

    // Batching does not change results: one text alone equals the same text in a batch.
    let single = e.embed(refs[0]).expect("single");
    assert!(cosine(&single, &got[0]) > 0.99999);
}
