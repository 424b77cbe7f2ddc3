//! Behaviour beyond the shared fixtures: host-type normalisation (§3), numeric domain,
//! byte input, limits on untrusted input, error positions, non-strict policies.

use toondb_toon::{
    decode, decode_bytes, encode, DecodeOptions, Delimiter, EncodeOptions, Error, SyntaxError,
    Value,
};

fn enc(v: &Value) -> String {
    encode(v, &EncodeOptions::default())
}

fn dec(s: &str) -> Result<Value, Error> {
    decode(s, &DecodeOptions::default())
}

fn json(v: Value) -> serde_json::Value {
    v.into()
}

#[test]
fn non_finite_floats_become_null() {
    let v = Value::Array(vec![
        Value::from(f64::NAN),
        Value::from(1.5),
        Value::from(f64::NEG_INFINITY),
    ]);
    assert_eq!(enc(&v), "[3]: null,1.5,null");
}

#[test]
fn numbers_outside_canonical_range_use_exponent_form_and_round_trip() {
    for (f, text) in [
        (1e-7, "1e-7"),
        (1e21, "1e+21"),
        (-2.5e-300, "-2.5e-300"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
    ] {
        let v = Value::from(f);
        assert_eq!(enc(&v), text);
        assert_eq!(dec(text).unwrap(), v);
    }
}

#[test]
fn integers_are_exact_across_i64_and_u64() {
    for v in [
        Value::from(i64::MIN),
        Value::from(i64::MAX),
        Value::from(u64::MAX),
        Value::from(9_007_199_254_740_993_i64),
    ] {
        let t = enc(&v);
        assert_eq!(dec(&t).unwrap(), v, "{t}");
    }
    assert_eq!(enc(&Value::from(u64::MAX)), "18446744073709551615");
}

#[test]
fn out_of_domain_numeric_tokens() {
    // Beyond u64: nearest f64. Overflowing f64: kept as the literal string.
    assert_eq!(
        json(dec("a: 123456789012345678901234567890").unwrap()),
        serde_json::json!({"a": 1.2345678901234568e29})
    );
    assert_eq!(
        json(dec("a: 1e999").unwrap()),
        serde_json::json!({"a": "1e999"})
    );
    // ...and such a string re-encodes quoted, so it stays a string.
    assert_eq!(enc(&dec("a: 1e999").unwrap()), "a: \"1e999\"");
}

#[test]
fn prototype_keys_are_ordinary() {
    let t = "__proto__:\n  admin: true\nconstructor: 1";
    let v = dec(t).unwrap();
    assert_eq!(enc(&v), t);
    assert_eq!(
        json(v),
        serde_json::json!({"__proto__": {"admin": true}, "constructor": 1})
    );
}

#[test]
fn byte_input_utf8_policy() {
    let e = decode_bytes(b"a: 1\nb: x\xffy", &DecodeOptions::default()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Syntax {
                line: 2,
                column: 5,
                kind: SyntaxError::InvalidUtf8
            }
        ),
        "{e}"
    );
    let v = decode_bytes(b"b: x\xffy", &DecodeOptions::default().with_strict(false)).unwrap();
    assert_eq!(json(v), serde_json::json!({"b": "x\u{fffd}y"}));
}

#[test]
fn strict_errors_carry_line_and_column() {
    type Case = (&'static str, usize, usize, fn(&SyntaxError) -> bool);
    let cases: &[Case] = &[
        ("a: 1\nb[2]: x", 2, 1, |k| {
            matches!(
                k,
                SyntaxError::CountMismatch {
                    declared: 2,
                    found: 1
                }
            )
        }),
        ("t[1]{a,b}:\n  1", 2, 3, |k| {
            matches!(
                k,
                SyntaxError::WidthMismatch {
                    expected: 2,
                    found: 1
                }
            )
        }),
        ("a:\n  b", 2, 4, |k| matches!(k, SyntaxError::MissingColon)),
        ("x: \"a\\qb\"", 1, 6, |k| {
            matches!(k, SyntaxError::InvalidEscape)
        }),
        ("x: \"abc", 1, 4, |k| {
            matches!(k, SyntaxError::UnterminatedString)
        }),
        ("x[03]: a", 1, 3, |k| {
            matches!(k, SyntaxError::InvalidHeader(_))
        }),
        ("x[2\t]{a,b}:\n  1\t2", 1, 7, |k| {
            matches!(k, SyntaxError::DelimiterMismatch)
        }),
        ("a:\n\tb: 1", 2, 1, |k| {
            matches!(k, SyntaxError::TabIndentation)
        }),
        ("a:\n   b: 1", 2, 1, |k| {
            matches!(
                k,
                SyntaxError::InvalidIndentation {
                    spaces: 3,
                    indent: 2
                }
            )
        }),
        ("a: 1\n  b: 2", 2, 3, |k| {
            matches!(k, SyntaxError::UnexpectedIndentation)
        }),
        ("l[2]:\n  - a\n\n  - b", 3, 1, |k| {
            matches!(k, SyntaxError::BlankLineInArray)
        }),
        ("[1]: a\nb: 1", 2, 1, |k| {
            matches!(k, SyntaxError::TrailingContent)
        }),
        (
            "a: 1\na: 2",
            2,
            1,
            |k| matches!(k, SyntaxError::DuplicateKey(s) if s == "a"),
        ),
        ("a: 1\n[2]: x,y", 2, 1, |k| {
            matches!(k, SyntaxError::MisplacedKeylessHeader)
        }),
        ("t[1]{a}: 5", 1, 10, |k| {
            matches!(k, SyntaxError::ContentAfterHeader)
        }),
    ];
    for (input, line, column, kind_ok) in cases {
        match dec(input) {
            Err(Error::Syntax {
                line: l,
                column: c,
                kind,
            }) => {
                assert!(kind_ok(&kind), "{input:?}: wrong kind {kind:?}");
                assert_eq!((l, c), (*line, *column), "{input:?}: {kind}");
            }
            other => panic!("{input:?}: expected a syntax error, got {other:?}"),
        }
    }
}

#[test]
fn deep_nesting_is_bounded_without_stack_overflow() {
    // Nested list items, nested objects, and nested field groups on one line.
    let mut lists = String::from("x[1]:\n");
    for d in 1..2000 {
        lists.push_str(&"  ".repeat(d));
        lists.push_str("- [1]:\n");
    }
    let fields = format!("t[1]{}:\n  1", "{a".repeat(100_000) + &"}".repeat(100_000));
    let mut objects = String::new();
    for d in 0..5000 {
        objects.push_str(&"  ".repeat(d));
        objects.push_str("k:\n");
    }
    for input in [lists, fields, objects] {
        for strict in [true, false] {
            let e = decode(&input, &DecodeOptions::default().with_strict(strict)).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Syntax {
                        kind: SyntaxError::TooDeep { .. },
                        ..
                    } | Error::Syntax { .. }
                ),
                "{e}"
            );
        }
        let e = dec(&input).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Syntax {
                    kind: SyntaxError::TooDeep { max_depth: 256 },
                    ..
                } | Error::Syntax {
                    kind: SyntaxError::InvalidHeader(_),
                    ..
                }
            ),
            "{e}"
        );
    }
}

#[test]
fn non_strict_tab_policy_counts_a_tab_as_one_level() {
    let v = decode("a:\n\tb: 1", &DecodeOptions::default().with_strict(false)).unwrap();
    assert_eq!(json(v), serde_json::json!({"a": {"b": 1}}));
}

#[test]
fn invalid_options_are_rejected() {
    assert!(matches!(
        decode("a: 1", &DecodeOptions::default().with_indent(0)),
        Err(Error::InvalidArgument(_))
    ));
    assert!("semicolon".parse::<Delimiter>().is_err());
    assert_eq!("pipe".parse::<Delimiter>().unwrap(), Delimiter::Pipe);
}

#[test]
fn keyed_root_and_delimiter_scoping() {
    let v: Value = serde_json::json!({"a": {"x": "p|q", "y": "r,s"}, "b": {"x": 1, "y": 2}}).into();
    let t = encode(
        &v,
        &EncodeOptions::default().with_delimiter(Delimiter::Pipe),
    );
    assert_eq!(t, "[2:|]{x|y}:\n  a: \"p|q\"|r,s\n  b: 1|2");
    assert_eq!(dec(&t).unwrap(), v);
}

#[test]
fn ordered_equality_sees_key_order() {
    let a: Value = serde_json::json!({"x": 1, "y": 2}).into();
    let b: Value = serde_json::json!({"y": 2, "x": 1}).into();
    assert_eq!(a, b);
    assert!(!a.ordered_eq(&b));
    assert!(a.ordered_eq(&a.clone()));
}
