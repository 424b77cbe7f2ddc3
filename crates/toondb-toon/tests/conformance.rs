//! Runs every TOON spec 4.0 conformance fixture (tests/fixtures, copied from spec commit
//! c770bbe) through the encoder or decoder with the fixture's options, and prints passed and
//! failed counts per file and in total. Exits non-zero if any case fails.

use std::path::Path;

use serde_json::Value as Json;
use toondb_toon::{decode, encode, DecodeOptions, Delimiter, EncodeOptions, Value};

struct Outcome {
    passed: usize,
    failed: Vec<String>,
}

fn encode_opts(o: Option<&Json>) -> EncodeOptions {
    let mut opts = EncodeOptions::default();
    if let Some(o) = o {
        if let Some(d) = o.get("delimiter").and_then(Json::as_str) {
            opts = opts.with_delimiter(d.parse::<Delimiter>().expect("fixture delimiter"));
        }
        if let Some(i) = o.get("indentSize").and_then(Json::as_u64) {
            opts = opts.with_indent(i as usize);
        }
    }
    opts
}

fn decode_opts(o: Option<&Json>) -> DecodeOptions {
    let mut opts = DecodeOptions::default();
    if let Some(o) = o {
        if let Some(s) = o.get("strict").and_then(Json::as_bool) {
            opts = opts.with_strict(s);
        }
        if let Some(i) = o.get("indentSize").and_then(Json::as_u64) {
            opts = opts.with_indent(i as usize);
        }
    }
    opts
}

/// JSON text of a value after §2 number normalisation, keeping key order.
fn canonical_json(v: &Value) -> String {
    serde_json::to_string(&Json::from(v)).expect("serialize")
}

fn run_case(category: &str, case: &Json) -> Result<(), String> {
    let input = &case["input"];
    let expected = &case["expected"];
    let should_error = case
        .get("shouldError")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let options = case.get("options");
    match category {
        "encode" => {
            let out = encode(&Value::from(input), &encode_opts(options));
            let want = expected
                .as_str()
                .ok_or("encode fixture expected is not a string")?;
            if out == want {
                Ok(())
            } else {
                Err(format!("encoded\n{out}\n--- expected\n{want}"))
            }
        }
        "decode" => {
            let text = input
                .as_str()
                .ok_or("decode fixture input is not a string")?;
            match (decode(text, &decode_opts(options)), should_error) {
                (Err(_), true) => Ok(()),
                (Ok(v), true) => Err(format!("expected an error, decoded {}", canonical_json(&v))),
                (Err(e), false) => Err(format!("unexpected error: {e}")),
                (Ok(v), false) => {
                    let got = canonical_json(&v);
                    let want = canonical_json(&Value::from(expected));
                    if got == want {
                        Ok(())
                    } else {
                        Err(format!("decoded {got}\n--- expected {want}"))
                    }
                }
            }
        }
        other => Err(format!("unknown category {other}")),
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut total_pass = 0;
    let mut total_fail = 0;
    let mut files = 0;
    for category in ["encode", "decode"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(category))
            .expect("fixture dir")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        for path in paths {
            files += 1;
            let doc: Json = serde_json::from_str(&std::fs::read_to_string(&path).expect("read"))
                .expect("fixture JSON");
            assert_eq!(
                doc["category"].as_str(),
                Some(category),
                "{}",
                path.display()
            );
            let mut outcome = Outcome {
                passed: 0,
                failed: Vec::new(),
            };
            for case in doc["tests"].as_array().expect("tests array") {
                match run_case(category, case) {
                    Ok(()) => outcome.passed += 1,
                    Err(why) => outcome.failed.push(format!(
                        "  FAIL {:?}\n    input: {}\n    {}",
                        case["name"].as_str().unwrap_or("?"),
                        case["input"],
                        why.replace('\n', "\n    ")
                    )),
                }
            }
            println!(
                "{category}/{}: {} passed, {} failed",
                path.file_name().expect("name").to_string_lossy(),
                outcome.passed,
                outcome.failed.len()
            );
            for f in &outcome.failed {
                println!("{f}");
            }
            total_pass += outcome.passed;
            total_fail += outcome.failed.len();
        }
    }
    println!("conformance ({files} files, toon-spec 4.0):");
    println!("{total_pass} passed, {total_fail} failed");
    if total_fail > 0 || total_pass == 0 {
        std::process::exit(1);
    }
}
