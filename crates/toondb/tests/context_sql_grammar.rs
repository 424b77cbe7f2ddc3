//! `CONTEXT SELECT` statements: parsing into sections, execution through `Database::query`,
//! and syntax errors with positions.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use serde_json::json;
use toondb::context::Source;
use toondb::context_sql::parse;
use toondb::{params, CollectionOptions, Database, Document, Error, Keep, Metric, Tokenizer};

fn syntax(text: &str) -> (usize, usize, String) {
    match parse(text) {
        Err(Error::Syntax {
            line,
            column,
            message,
        }) => (line, column, message),
        other => panic!("expected a syntax error for {text:?}, got {other:?}"),
    }
}

#[test]
fn parses_every_section_kind_and_modifier() {
    let s = parse(
        "context select
           SYSTEM 'You are ''helpful''.' PRIORITY 90,
           HISTORY (user 'hi', \"assistant\" 'hello', 'tool' 'ok') MAX TOKENS 50 KEEP LAST,
           SEARCH kb 'refund policy' VECTOR [0.5, -1, 2e-1] K 7 WHERE lang = 'en' AND year >= 2020 AND tag IN ('a', 'b') AS docs WITH METADATA,
           SEARCH kb VECTOR [1, 0] AS near,
           SQL 'SELECT 1' AS one,
           (SELECT id, (1 + 2) AS three FROM t WHERE name = ')' ORDER BY id) AS rows PRIORITY -3,
           KV PREFIX 'user:' LIMIT 10 AS profile,
           KV KEYS ('a', 'b'),
           TEXT 'note' AS note
         BUDGET 1500 TOKENIZER cl100k;",
    )
    .unwrap();
    assert_eq!(s.budget, Some(1500));
    assert_eq!(s.tokenizer, Some(Tokenizer::Cl100k));
    let names: Vec<&str> = s.sections.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(
        names,
        ["system", "history", "docs", "near", "one", "rows", "profile", "kv", "note"]
    );
    assert_eq!(s.sections[0].priority, 90);
    assert!(matches!(&s.sections[0].source, Source::Text(t) if t == "You are 'helpful'."));
    assert_eq!(s.sections[1].max_tokens, Some(50));
    assert_eq!(s.sections[1].keep, Keep::Last);
    match &s.sections[1].source {
        Source::History(m) => {
            assert_eq!(m.len(), 3);
            assert_eq!(
                (m[1].role.as_str(), m[1].content.as_str()),
                ("assistant", "hello")
            );
        }
        other => panic!("{other:?}"),
    }
    match &s.sections[2].source {
        Source::Search {
            collection,
            request,
            with_metadata,
        } => {
            assert_eq!(collection, "kb");
            assert_eq!(request.k, 7);
            assert_eq!(request.text.as_deref(), Some("refund policy"));
            assert_eq!(request.vector.as_deref(), Some(&[0.5, -1.0, 0.2][..]));
            assert!(*with_metadata);
            let f = request.filter.as_ref().unwrap();
            assert!(f.matches(
                json!({"lang": "en", "year": 2021, "tag": "b"})
                    .as_object()
                    .unwrap()
            ));
            assert!(!f.matches(
                json!({"lang": "en", "year": 2019, "tag": "b"})
                    .as_object()
                    .unwrap()
            ));
            assert!(!f.matches(
                json!({"lang": "en", "year": 2021, "tag": "z"})
                    .as_object()
                    .unwrap()
            ));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&s.sections[3].source, Source::Search { request, .. } if request.text.is_none() && request.k == 5)
    );
    match &s.sections[5].source {
        Source::Sql { sql, .. } => assert_eq!(
            sql,
            "SELECT id, (1 + 2) AS three FROM t WHERE name = ')' ORDER BY id"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.sections[5].priority, -3);
    assert!(
        matches!(&s.sections[6].source, Source::KvPrefix { prefix, limit: 10 } if prefix == b"user:")
    );
    assert!(matches!(&s.sections[7].source, Source::KvKeys(k) if k.len() == 2));
    // Minimal form: no SELECT, no options.
    let s = parse("CONTEXT TEXT 'x'").unwrap();
    assert_eq!((s.budget, s.tokenizer, s.sections.len()), (None, None, 1));
}

#[test]
fn syntax_errors_carry_positions() {
    assert_eq!(
        syntax("CONTEXT SELECT FOO 'x'"),
        (
            1,
            16,
            "expected a section (SYSTEM, TEXT, HISTORY, SEARCH, SQL, ( query ), KV, GRAPH), found `FOO`"
                .into()
        )
    );
    assert_eq!(syntax("SELECT 1").0, 1);
    assert_eq!(
        syntax("CONTEXT SYSTEM 'unterminated"),
        (1, 16, "unterminated quoted text".into())
    );
    assert_eq!(syntax("CONTEXT SYSTEM 'a' BUDGET lots").1, 27);
    assert_eq!(
        syntax("CONTEXT SYSTEM 'a' BUDGET 99999999999").2,
        "expected an integer in 0..=4294967295, found `99999999999`"
    );
    let (l, c, m) = syntax("CONTEXT\n  SYSTEM 'a',\n  (SELECT (1 FROM t");
    assert_eq!((l, c), (3, 3));
    assert!(m.contains("unbalanced"), "{m}");
    // The inner SQL is parsed up front; the error points at its start.
    let (l, c, m) = syntax("CONTEXT SYSTEM 'a',\n (SELEC 1)");
    assert_eq!((l, c), (2, 3));
    assert!(m.starts_with("in SQL: syntax error"), "{m}");
    assert_eq!(
        syntax("CONTEXT SQL 'SELECT FROM WHERE'").1,
        14,
        "just after the quote"
    );
    assert_eq!(
        syntax("CONTEXT SEARCH kb K 0 'x'").2,
        "K must be at least 1"
    );
    assert!(syntax("CONTEXT SEARCH kb K 3")
        .2
        .starts_with("SEARCH needs"));
    assert_eq!(
        syntax("CONTEXT TEXT 'a' garbage").2,
        "expected `,`, a section modifier, BUDGET, TOKENIZER or the end, found `garbage`"
    );
    assert_eq!(
        syntax("CONTEXT TEXT 'a' TOKENIZER gpt2").2,
        "unknown tokenizer `gpt2` (o200k or cl100k)"
    );
    assert_eq!(
        syntax("CONTEXT KV 'x'").2,
        "expected PREFIX or KEYS after KV, found string 'x'"
    );
    assert_eq!(
        syntax("CONTEXT SEARCH kb 'q' WHERE a ~ 1").2,
        "unexpected character '~'"
    );
    assert_eq!(
        syntax("CONTEXT TEXT 'a' PRIORITY high").2,
        "expected a priority (a 32-bit integer)"
    );
    assert_eq!(
        syntax("CONTEXT TEXT 'é' AS").1,
        20,
        "columns count characters"
    );
    assert_eq!(syntax("CONTEXT").2, "expected a section (SYSTEM, TEXT, HISTORY, SEARCH, SQL, ( query ), KV, GRAPH), found end of input");
    // Never panics on arbitrary prefixes of a valid statement.
    let good = "CONTEXT SELECT SYSTEM 'x', HISTORY (user 'a'), SEARCH kb 'q' VECTOR [1, 2] K 2 WHERE a IN (1, 'b') AS s, (SELECT ')') BUDGET 10";
    for (i, _) in good.char_indices() {
        let _ = parse(&good[..i]);
    }
    // Nor on random token soup.
    let atoms = [
        "CONTEXT",
        "SELECT",
        "SYSTEM",
        "SEARCH",
        "K",
        "VECTOR",
        "[",
        "]",
        "(",
        ")",
        ",",
        "'x'",
        "'",
        "\"",
        "1",
        "-2.5e3",
        "AS",
        "WHERE",
        "=",
        "<=",
        "IN",
        "AND",
        "KV",
        "PREFIX",
        "KEYS",
        "HISTORY",
        "BUDGET",
        "TOKENIZER",
        "o200k",
        "MAX",
        "TOKENS",
        "é",
        "--",
        "\n",
        ";",
        "SQL",
        "TEXT",
        "KEEP",
        "LAST",
    ];
    let mut s = 12345u64;
    for _ in 0..3000 {
        let mut text = String::from("CONTEXT ");
        for _ in 0..(s % 12) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            text.push_str(atoms[(s % atoms.len() as u64) as usize]);
            text.push(' ');
        }
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        if let Err(e) = parse(&text) {
            assert!(
                matches!(e, Error::Syntax { .. } | Error::InvalidArgument(_)),
                "{e:?}"
            );
        }
    }
}

#[test]
fn context_statements_run_through_query() {
    let db = Database::open_in_memory().unwrap();
    db.execute(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)",
        params![],
    )
    .unwrap();
    db.execute("INSERT INTO t(name) VALUES ('ada'), ('bob')", params![])
        .unwrap();
    db.put("cfg:mode", "fast").unwrap();
    let c = db
        .create_collection("kb", 2, Metric::L2, CollectionOptions::default())
        .unwrap();
    c.upsert(
        Document::new("x", vec![0.0, 1.0])
            .with_text("shipping takes two days")
            .with_metadata(json!({"lang": "en"})),
    )
    .unwrap();
    c.upsert(
        Document::new("y", vec![1.0, 0.0])
            .with_text("versand dauert zwei tage")
            .with_metadata(json!({"lang": "de"})),
    )
    .unwrap();

    let rows = db
        .query(
            "CONTEXT SELECT SYSTEM 'Be brief.', (SELECT id, name FROM t ORDER BY id) AS people,
                    SEARCH kb VECTOR [1, 0] K 1 WHERE lang = 'en' AS docs, KV PREFIX 'cfg:' AS cfg BUDGET 500",
            params![],
        )
        .unwrap();
    assert_eq!(rows.columns(), ["context", "tokens", "budget"]);
    let text: String = rows[0].get("context").unwrap();
    assert_eq!(
        text,
        "system: Be brief.\npeople[2]{id,name}:\n  1,ada\n  2,bob\ndocs[1]{id,score,text}:\n  x,-2,shipping takes two days\ncfg[1]{key,value}:\n  \"cfg:mode\",fast"
    );
    assert_eq!(
        rows[0].get::<i64>("tokens").unwrap() as usize,
        toondb_toon::count_tokens(&text, Tokenizer::O200k)
    );
    assert_eq!(rows[0].get::<i64>("budget").unwrap(), 500);

    let r = db
        .execute_context("CONTEXT SELECT (SELECT name FROM t) AS n BUDGET 3")
        .unwrap();
    assert!(r.total_tokens <= 3);
    assert_eq!(db.execute("context text 'x'", params![]).unwrap(), 0);
    assert_eq!(
        db.query("CONTEXT TEXT 'x'", params![1]).unwrap_err().kind(),
        toondb::ErrorKind::InvalidArgument
    );
    assert_eq!(
        db.query("CONTEXT SELECT (SELECT * FROM missing)", params![])
            .unwrap_err()
            .kind(),
        toondb::ErrorKind::NotFound
    );
}
