//! Property tests: decode(encode(v)) == v for generated values under every delimiter and
//! indent size; the decoder never panics on arbitrary text; the streaming encoder matches
//! the batch encoder.

use proptest::prelude::*;
use toondb_toon::{
    decode, encode, DecodeOptions, Delimiter, EncodeOptions, Map, TabularStreamEncoder, Value,
};

/// Strings biased towards everything that needs quoting or escaping.
fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}",
        "[a-zA-Z0-9 _.]{0,10}",
        Just(String::new()),
        prop::sample::select(vec![
            "true",
            "false",
            "null",
            "42",
            "-3.14",
            "1e-6",
            "05",
            "+1",
            "-",
            "- x",
            "#",
            "#x",
            " lead",
            "trail ",
            "a,b",
            "a|b",
            "a\tb",
            "a:b",
            "[1]",
            "{k}",
            "q\"t",
            "back\\",
            "line\nbreak",
            "cr\r",
            "\u{1}",
            "café",
            "你好",
            "🚀 go",
            "[]",
            "-1",
            "0",
            "1.0",
        ])
        .prop_map(str::to_owned),
        "[ -~\\t\\n\u{e9}\u{1F600}]{0,12}",
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from_f64),
        (-1000i64..1000, 0u32..6)
            .prop_map(|(m, e)| Value::from_f64(m as f64 / 10f64.powi(e as i32))),
        prop::sample::select(vec![
            1e-7,
            1e21,
            1.5e300,
            5e-324,
            0.1,
            1e-6,
            999_999.999_999
        ])
        .prop_map(Value::from_f64),
    ]
}

fn primitive() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        string().prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    primitive().prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((string(), inner.clone()), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map>())),
            table(inner),
        ]
    })
}

/// Arrays of uniform objects (tabular candidates), with an optional nested group, and
/// keyed-tabular candidates (objects of uniform objects).
fn table(inner: impl Strategy<Value = Value> + Clone) -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(string(), 1..4),
        1usize..5,
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(primitive(), 40),
        inner,
    )
        .prop_map(|(mut fields, rows, nested, keyed, cells, extra)| {
            fields.sort();
            fields.dedup();
            let mut it = cells.into_iter().cycle();
            let mut make_row = |r: usize| {
                let mut m = Map::new();
                for f in &fields {
                    m.insert(f.clone(), it.next().unwrap_or(Value::Null));
                }
                if nested {
                    let mut sub = Map::new();
                    sub.insert("x".into(), Value::from(r as i64));
                    sub.insert("y z".into(), it.next().unwrap_or(Value::Null));
                    m.insert("nested.g".into(), Value::Object(sub));
                }
                // Occasionally break uniformity with a non-primitive cell.
                if r == 3 {
                    m.insert(fields[0].clone(), extra.clone());
                }
                Value::Object(m)
            };
            if keyed {
                Value::Object((0..rows).map(|r| (format!("k{r}"), make_row(r))).collect())
            } else {
                Value::Array((0..rows).map(&mut make_row).collect())
            }
        })
}

fn options() -> impl Strategy<Value = (Delimiter, usize)> {
    (
        prop::sample::select(Delimiter::ALL.to_vec()),
        prop::sample::select(vec![1usize, 2, 3, 4, 8]),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_encode_round_trips(v in value(), (delim, indent) in options()) {
        let text = encode(&v, &EncodeOptions::default().with_delimiter(delim).with_indent(indent));
        let back = decode(&text, &DecodeOptions::default().with_indent(indent));
        prop_assert!(back.is_ok(), "strict decode failed: {:?}\n{}", back, text);
        prop_assert_eq!(back.unwrap(), v.clone(), "text:\n{}", text);
        // Output invariants (§12): no trailing spaces, no trailing newline, no CR, no tabs
        // in indentation.
        prop_assert!(!text.ends_with('\n'));
        for line in text.split('\n') {
            prop_assert!(!line.ends_with(' '), "trailing space in {:?}", line);
            prop_assert!(!line.trim_start_matches(' ').starts_with('\t') || line.trim().is_empty());
            prop_assert!(!line.contains('\r'));
        }
        // Non-strict decoding agrees on valid documents.
        let lenient = decode(&text, &DecodeOptions::default().with_indent(indent).with_strict(false));
        prop_assert_eq!(lenient.ok(), Some(v));
    }

    #[test]
    fn encode_is_deterministic_and_json_round_trips(v in value()) {
        let j = serde_json::Value::from(&v);
        prop_assert_eq!(Value::from(&j), v.clone());
        prop_assert_eq!(encode(&v, &EncodeOptions::default()), encode(&v.clone(), &EncodeOptions::default()));
    }

    #[test]
    fn decoder_never_panics(s in "[ -~\\t\\n\u{e9}]{0,200}", strict in any::<bool>(), indent in 1usize..4) {
        let _ = decode(&s, &DecodeOptions::default().with_strict(strict).with_indent(indent));
    }

    #[test]
    fn decoder_never_panics_on_mutated_documents(v in value(), cut in any::<prop::sample::Index>(), ins in "[\\-:,|\\t\\[\\]{}\" \\n#a0]{1,3}") {
        let text = encode(&v, &EncodeOptions::default());
        let mut at = cut.index(text.len() + 1);
        while !text.is_char_boundary(at) { at -= 1; }
        let mutated = format!("{}{}{}", &text[..at], ins, &text[at..]);
        let _ = decode(&mutated, &DecodeOptions::default());
        let _ = decode(&mutated, &DecodeOptions::default().with_strict(false));
    }

    #[test]
    fn stream_encoder_matches_batch(
        rows in prop::collection::vec(prop::collection::vec(primitive(), 3), 1..20),
        delim in prop::sample::select(Delimiter::ALL.to_vec()),
        indent in 1usize..5,
        keyed_root in any::<bool>(),
    ) {
        let fields = ["id", "full name", "v"];
        let opts = EncodeOptions::default().with_delimiter(delim).with_indent(indent);
        let key = if keyed_root { None } else { Some("rows") };
        let mut enc = TabularStreamEncoder::new(Vec::new(), key, &fields, rows.len(), &opts).unwrap();
        let objects: Vec<Value> = rows
            .iter()
            .map(|r| Value::Object(fields.iter().map(|f| (f.to_string(), Value::Null)).zip(r).map(|((k, _), v)| (k, v.clone())).collect()))
            .collect();
        for (i, r) in rows.iter().enumerate() {
            if i % 2 == 0 {
                enc.write_row(r).unwrap();
            } else if let Value::Object(m) = &objects[i] {
                enc.write_object(m).unwrap();
            }
        }
        let streamed = String::from_utf8(enc.finish().unwrap()).unwrap();
        let batch_value = match key {
            Some(k) => Value::Object([(k.to_string(), Value::Array(objects.clone()))].into_iter().collect()),
            None => Value::Array(objects),
        };
        prop_assert_eq!(streamed, encode(&batch_value, &opts));
    }
}

#[test]
fn stream_encoder_enforces_row_count() {
    let opts = EncodeOptions::default();
    let mut enc = TabularStreamEncoder::new(Vec::new(), Some("t"), &["a"], 1, &opts).unwrap();
    enc.write_row(&[Value::from(1_i64)]).unwrap();
    assert!(matches!(
        enc.write_row(&[Value::from(2_i64)]),
        Err(toondb_toon::Error::RowCountMismatch {
            declared: 1,
            written: 2
        })
    ));
    let enc = TabularStreamEncoder::new(Vec::new(), Some("t"), &["a"], 2, &opts).unwrap();
    assert!(matches!(
        enc.finish(),
        Err(toondb_toon::Error::RowCountMismatch {
            declared: 2,
            written: 0
        })
    ));
    let mut enc = TabularStreamEncoder::new(Vec::new(), None, &["a", "b"], 1, &opts).unwrap();
    assert!(enc.write_row(&[Value::from(1_i64)]).is_err());
    assert!(enc
        .write_row(&[Value::from(1_i64), Value::Array(vec![])])
        .is_err());
    assert!(TabularStreamEncoder::new(Vec::new(), None, &[], 1, &opts).is_err());
    assert!(TabularStreamEncoder::new(Vec::new(), None, &["a", "a"], 1, &opts).is_err());
}
