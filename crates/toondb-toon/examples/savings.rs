//! JSON vs TOON token counts on several shapes of data, plus the error of the fast
//! estimator against exact `o200k_base` counts.
//!
//! Run: `cargo run --release -p toondb-toon --example savings [-- path/to/texts.jsonl]`
//! (defaults to `/work/shared/data/minilm-20k/texts.jsonl` when present; the generated
//! data sets are deterministic).

use serde_json::{json, Value as Json};
use toondb_toon::{count_tokens, encode, estimate_tokens, EncodeOptions, Tokenizer, Value};

/// Small deterministic generator (no dependency on `rand`).
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

const FIRST: &[&str] = &[
    "Ada", "Bob", "Chloé", "Dmitri", "Eve", "Farah", "Grace", "Hiro", "Ines", "Jamal",
];
const LAST: &[&str] = &[
    "Lovelace", "Smith", "Dubois", "Ivanov", "Nakamura", "Okafor", "Hopper", "García",
];
const DEPTS: &[&str] = &["engineering", "sales", "support", "finance", "research"];
const CITIES: &[&str] = &[
    "Berlin",
    "Oslo",
    "Lagos",
    "Tokyo",
    "São Paulo",
    "Toronto",
    "Pune",
];

fn employees(n: usize, rng: &mut Lcg) -> Json {
    let rows: Vec<Json> = (0..n)
        .map(|i| {
            let first = rng.pick(FIRST);
            let last = rng.pick(LAST);
            json!({
                "id": 1000 + i,
                "name": format!("{first} {last}"),
                "email": format!("{}.{}@example.com", first.to_lowercase(), last.to_lowercase()),
                "department": rng.pick(DEPTS),
                "salary": 40_000 + (rng.next() % 90_000),
                "active": !rng.next().is_multiple_of(5),
                "joined": format!("20{:02}-{:02}-{:02}", 10 + rng.next() % 15, 1 + rng.next() % 12, 1 + rng.next() % 28),
            })
        })
        .collect();
    json!({ "employees": rows })
}

fn orders(n: usize, rng: &mut Lcg) -> Json {
    let rows: Vec<Json> = (0..n)
        .map(|i| {
            json!({
                "id": format!("ord-{:05}", i),
                "customer": { "name": rng.pick(FIRST), "address": { "city": rng.pick(CITIES), "zip": format!("{:05}", rng.next() % 99_999) } },
                "total": (rng.next() % 100_000) as f64 / 100.0,
                "status": rng.pick(&["paid", "shipped", "refunded"]),
            })
        })
        .collect();
    let services: serde_json::Map<String, Json> = (0..n / 4)
        .map(|i| {
            (format!("svc-{i}"), json!({"host": format!("10.0.{}.{}", i / 250, i % 250), "port": 8000 + i, "healthy": i % 7 != 0}))
        })
        .collect();
    json!({
        "store": { "name": "Example Shop", "config": { "currency": "EUR", "limits": { "max_items": 50, "max_total": 10_000 } } },
        "orders": rows,
        "services": services,
    })
}

fn mixed(n: usize, rng: &mut Lcg) -> Json {
    let events: Vec<Json> = (0..n)
        .map(|i| match rng.next() % 4 {
            0 => json!({"type": "login", "user": rng.pick(FIRST), "ts": 1_700_000_000 + i * 37, "ok": true}),
            1 => json!({"type": "purchase", "user": rng.pick(FIRST), "items": [rng.pick(DEPTS), rng.pick(CITIES)], "amount": (rng.next() % 10_000) as f64 / 100.0}),
            2 => json!({"type": "error", "code": 500 + rng.next() % 4, "message": "upstream timeout: retrying", "context": {"service": "billing", "attempt": 1 + rng.next() % 3}}),
            _ => json!({"type": "note", "text": "Customer asked about delivery times, replied with the usual, see ticket #42."}),
        })
        .collect();
    json!({ "source": "audit-log", "version": 3, "events": events })
}

fn texts(path: &str, n: usize) -> Option<Json> {
    let data = std::fs::read_to_string(path).ok()?;
    let rows: Vec<Json> = data
        .lines()
        .take(n)
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (!rows.is_empty()).then(|| json!({ "texts": rows }))
}

fn pct(toon: usize, json: usize) -> f64 {
    (json as f64 - toon as f64) * 100.0 / json as f64
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/work/shared/data/minilm-20k/texts.jsonl".to_owned());
    let mut rng = Lcg(42);
    let mut sets: Vec<(&str, Json)> = vec![
        ("tabular: 200 employee records", employees(200, &mut rng)),
        (
            "nested: 100 orders (nested groups) + keyed services",
            orders(100, &mut rng),
        ),
        ("mixed: 200 non-uniform events", mixed(200, &mut rng)),
    ];
    if let Some(t) = texts(&path, 300) {
        sets.push(("tabular text: 300 rows of texts.jsonl", t));
    }
    let opts = EncodeOptions::default();
    println!(
        "{:<52} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}",
        "data set",
        "pretty/o2",
        "compact/o2",
        "toon/o2",
        "pretty/cl",
        "compact/cl",
        "toon/cl",
        "vs pret",
        "vs comp"
    );
    let mut est_errors: Vec<(String, f64)> = Vec::new();
    for (name, j) in &sets {
        let v = Value::from(j);
        let pretty = serde_json::to_string_pretty(j).expect("json");
        let compact = serde_json::to_string(j).expect("json");
        let toon = encode(&v, &opts);
        let c = |t: &str| {
            (
                count_tokens(t, Tokenizer::O200k),
                count_tokens(t, Tokenizer::Cl100k),
            )
        };
        let (p, cp, t) = (c(&pretty), c(&compact), c(&toon));
        println!(
            "{:<52} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7.1}% {:>7.1}%",
            name,
            p.0,
            cp.0,
            t.0,
            p.1,
            cp.1,
            t.1,
            pct(t.0, p.0),
            pct(t.0, cp.0)
        );
        for (form, text, exact) in [
            ("json-pretty", &pretty, p.0),
            ("json-compact", &compact, cp.0),
            ("toon", &toon, t.0),
        ] {
            let est = estimate_tokens(text);
            est_errors.push((
                format!("{name} [{form}]"),
                (est as f64 - exact as f64) * 100.0 / exact as f64,
            ));
        }
    }
    let prose = "TOON is a line-oriented, indentation-based text format that encodes the JSON data model with explicit structure and minimal quoting. Arrays declare their length and an optional field list once.";
    let e = estimate_tokens(prose) as f64;
    let x = count_tokens(prose, Tokenizer::O200k) as f64;
    est_errors.push(("english prose".into(), (e - x) * 100.0 / x));
    println!(
        "\n(o2 = o200k_base, cl = cl100k_base; savings columns are TOON vs JSON for o200k_base)"
    );
    println!("\nestimate_tokens() error vs exact o200k_base:");
    for (name, err) in &est_errors {
        println!("  {err:>+7.1}%  {name}");
    }
    let mean = est_errors.iter().map(|(_, e)| e.abs()).sum::<f64>() / est_errors.len() as f64;
    let max = est_errors.iter().map(|(_, e)| e.abs()).fold(0.0, f64::max);
    println!("  mean |error| {mean:.1}%, max |error| {max:.1}%");
}
