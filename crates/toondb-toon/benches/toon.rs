//! Encode/decode throughput of toondb-toon beside serde_json (same values) and the
//! `toon-format` crate (spec 3.0; it encodes these shapes too, with its own layout).
//! Throughput is reported over each library's own text (bytes written or parsed).
//!
//! Run: `cargo bench -p toondb-toon --bench toon`
#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde_json::{json, Value as Json};
use std::time::Duration;
use toondb_toon::{decode, encode, DecodeOptions, EncodeOptions, Value};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() as usize) % xs.len()]
    }
}

const NAMES: &[&str] = &[
    "Ada",
    "Bob",
    "Chloé",
    "Dmitri",
    "Eve",
    "Farah",
    "Grace Hopper",
    "Hiro",
];
const CITIES: &[&str] = &["Berlin", "Oslo", "Lagos", "Tokyo", "São Paulo", "Toronto"];

fn tabular(rng: &mut Lcg) -> Json {
    let rows: Vec<Json> = (0..2000)
        .map(|i| {
            json!({"id": i, "name": rng.pick(NAMES), "email": format!("user{i}@example.com"),
                   "score": (rng.next() % 100_000) as f64 / 100.0, "active": i % 3 != 0, "city": rng.pick(CITIES)})
        })
        .collect();
    json!({ "users": rows })
}

fn nested(rng: &mut Lcg) -> Json {
    let orders: Vec<Json> = (0..1000)
        .map(|i| {
            json!({"id": i, "customer": {"name": rng.pick(NAMES), "address": {"city": rng.pick(CITIES), "zip": format!("{:05}", rng.next() % 99_999)}},
                   "total": (rng.next() % 100_000) as f64 / 100.0, "status": "paid, shipped"})
        })
        .collect();
    let tree: Vec<Json> = (0..200)
        .map(|i| json!({"node": i, "meta": {"owner": rng.pick(NAMES), "tags": ["a", "b", i.to_string()]}, "children": {"left": {"w": 1}, "right": {"w": i}}}))
        .collect();
    json!({ "orders": orders, "tree": tree })
}

fn mixed(rng: &mut Lcg) -> Json {
    let events: Vec<Json> = (0..2000)
        .map(|i| match rng.next() % 4 {
            0 => json!({"type": "login", "user": rng.pick(NAMES), "ts": 1_700_000_000 + i, "ok": true}),
            1 => json!({"type": "buy", "items": [rng.pick(CITIES), 3, null], "amount": (rng.next() % 10_000) as f64 / 100.0}),
            2 => json!({"type": "error", "message": "upstream timeout: retrying", "ctx": {"svc": "billing", "try": 2}}),
            _ => json!(["note", i, "free text with spaces"]),
        })
        .collect();
    json!({ "source": "audit", "events": events })
}

fn bench(c: &mut Criterion) {
    let mut rng = Lcg(7);
    let sets = [
        ("tabular", tabular(&mut rng)),
        ("nested", nested(&mut rng)),
        ("mixed", mixed(&mut rng)),
    ];
    for (name, j) in &sets {
        let v = Value::from(j);
        let ours = encode(&v, &EncodeOptions::default());
        let json_text = serde_json::to_string(j).expect("json");
        let theirs = toon_format::encode_default(j).expect("toon-format encodes");
        assert_eq!(decode(&ours, &DecodeOptions::default()).expect("decode"), v);

        let mut g = c.benchmark_group(format!("encode/{name}"));
        g.throughput(Throughput::Bytes(ours.len() as u64));
        g.bench_function(BenchmarkId::new("toondb-toon", ours.len()), |b| {
            b.iter(|| encode(black_box(&v), &EncodeOptions::default()))
        });
        g.throughput(Throughput::Bytes(json_text.len() as u64));
        g.bench_function(BenchmarkId::new("serde_json", json_text.len()), |b| {
            b.iter(|| serde_json::to_string(black_box(j)).expect("json"))
        });
        g.throughput(Throughput::Bytes(theirs.len() as u64));
        g.bench_function(BenchmarkId::new("toon-format", theirs.len()), |b| {
            b.iter(|| toon_format::encode_default(black_box(j)).expect("toon-format"))
        });
        g.finish();

        let mut g = c.benchmark_group(format!("decode/{name}"));
        g.throughput(Throughput::Bytes(ours.len() as u64));
        g.bench_function(BenchmarkId::new("toondb-toon", ours.len()), |b| {
            b.iter(|| decode(black_box(&ours), &DecodeOptions::default()).expect("decode"))
        });
        g.throughput(Throughput::Bytes(json_text.len() as u64));
        g.bench_function(BenchmarkId::new("serde_json", json_text.len()), |b| {
            b.iter(|| serde_json::from_str::<Json>(black_box(&json_text)).expect("json"))
        });
        g.throughput(Throughput::Bytes(theirs.len() as u64));
        g.bench_function(BenchmarkId::new("toon-format", theirs.len()), |b| {
            b.iter(|| toon_format::decode_default::<Json>(black_box(&theirs)).expect("toon-format"))
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
