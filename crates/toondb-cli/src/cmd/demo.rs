//! `toondb demo [PATH]`: the 30-second tour. Creates a database, loads 2,000 real passages
//! of the Python documentation with their MiniLM embeddings (shipped in `data/demo`, no
//! network or model needed), runs SQL, a hybrid search and a token-budgeted context query,
//! and compares the TOON context's token count with the JSON equivalent's.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;
use toondb::{CollectionOptions, Database, Document, Metric, SearchRequest, Section};
use toondb_query::Value;
use toondb_toon::{count_tokens, Tokenizer};

use super::demo_data::{self, Passage, Query, DIM};
use crate::db::{self, Mode};
use crate::error::{Error, Result};
use crate::interrupt;
use crate::output::{self, out, outln, ResultSet};

/// Arguments of `toondb demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Database directory to create (default: a fresh temporary directory, kept afterwards
    /// so you can explore it with `toondb shell`). Must be missing, empty, or a database
    /// from an earlier demo run.
    pub path: Option<PathBuf>,
    /// Token budget of the context query.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u32).range(50..=100_000))]
    pub budget: u32,
    /// Load only the first N passages (2,000 max).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(20..=2000))]
    pub passages: u32,
    /// Which demo query (0-9) to use for the search and context sections.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=9))]
    pub query: u32,
    /// A free-text question (not in the data set) embedded in-process with the built-in model
    /// and answered by vector + keyword search (needs `toondb model fetch`; skipped without).
    #[cfg(feature = "embed")]
    #[arg(
        long,
        default_value = "How can I run several network requests at the same time without threads?"
    )]
    pub ask: String,
}

const TABLE: &str = "passages";
const COLLECTION: &str = "docs";

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1e3)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// `2000` as `2,000`.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn section(n: usize, title: &str) {
    outln!("\n[{n}/6] {title}");
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

fn check_interrupt() -> Result<()> {
    if output::stdout_closed() {
        // `toondb demo | head -3`: the reader has gone; stop quietly.
        return Err(Error::StdoutClosed);
    }
    if interrupt::interrupted() {
        return Err(Error::Interrupted(
            "demo stopped; the database was closed cleanly".into(),
        ));
    }
    Ok(())
}

/// Runs `toondb demo`.
pub fn run(args: DemoArgs) -> Result<()> {
    let total = Instant::now();
    outln!("ToonDB demo: an embedded database for LLM apps (SQL + vectors + BM25 + TOON context)");
    outln!("data: Python 3.11 docs passages with all-MiniLM-L6-v2 embeddings (data/demo, PSF-2.0)");

    // ------------------------------------------------------------------ 1. create
    section(1, "Create the database");
    let (path, fresh_temp) = match args.path.clone() {
        Some(p) => {
            if !db::is_database(&p) {
                db::check_path(&p, Mode::Create)?;
            }
            (p, false)
        }
        None => {
            let dir = tempfile::Builder::new()
                .prefix("toondb-demo-")
                .tempdir()
                .map_err(|e| Error::io(&std::env::temp_dir(), e))?;
            (dir.keep(), true)
        }
    };
    let t = Instant::now();
    let db = db::open(&path, Mode::Create)?;
    if let Err(e) = check_demo_database(&db) {
        let _ = db.close();
        return Err(e);
    }
    outln!(
        "  path: {}{}",
        path.display(),
        if fresh_temp {
            "  (fresh temporary directory)"
        } else {
            ""
        }
    );
    outln!("  opened in {}", ms(t.elapsed()));

    let r = tour(&db, &args);
    let closed = db.close();
    r?;
    closed?;
    outln!(
        "\nDone in {}. The database stays at {}",
        ms(total.elapsed()),
        path.display()
    );
    outln!("  explore it:  toondb shell {}", path.display());
    outln!("  then try:    SELECT source, text FROM passages WHERE text LIKE '%asyncio%' LIMIT 3;");
    outln!(
        "               CONTEXT SELECT SEARCH docs 'mutable bytes' K 3 WITH METADATA BUDGET 300;"
    );
    if fresh_temp {
        outln!("  remove it:   rm -r {}", path.display());
    }
    Ok(())
}

fn tour(db: &Database, args: &DemoArgs) -> Result<()> {
    // ------------------------------------------------------------------ 2. load
    let t = Instant::now();
    let (mut passages, queries) = demo_data::load(usize::MAX)?;
    passages.truncate(args.passages as usize);
    section(
        2,
        &format!(
            "Load {} passages into a SQL table and a vector + keyword collection",
            thousands(passages.len())
        ),
    );
    outln!(
        "  parsed {} passages and {} queries ({DIM}-dim vectors) in {}",
        thousands(passages.len()),
        queries.len(),
        ms(t.elapsed())
    );
    load(db, &passages)?;
    check_interrupt()?;

    // ------------------------------------------------------------------ 3. SQL
    section(3, "SQL");
    let sql = "SELECT section, count(*) AS passages, round(avg(words), 1) AS avg_words \
               FROM passages GROUP BY section ORDER BY passages DESC, section LIMIT 5";
    outln!("  > {sql};");
    let t = Instant::now();
    let rs: ResultSet = db.query(sql, &[])?.into();
    let el = t.elapsed();
    out!("{}", indent(&output::render_table(&rs, None)));
    outln!("  ({})", ms(el));
    check_interrupt()?;

    // ------------------------------------------------------------------ 4. search
    let q = queries
        .get(args.query as usize)
        .ok_or_else(|| Error::Usage(format!("no demo query {}", args.query)))?;
    section(
        4,
        "Hybrid search: HNSW vector search + BM25 keywords, fused by reciprocal rank",
    );
    outln!("  query ({}): {:?}", q.source, q.text);
    let coll = db.collection(COLLECTION)?;
    let t = Instant::now();
    let hits = coll.search_with(&SearchRequest::hybrid(q.text.clone(), q.vector.clone(), 5))?;
    let el = t.elapsed();
    let mut rs = ResultSet {
        columns: ["rank", "id", "rrf", "cosine", "bm25", "section", "text"]
            .map(String::from)
            .to_vec(),
        ..ResultSet::default()
    };
    for (i, h) in hits.iter().enumerate() {
        let num = |x: Option<f32>| {
            x.map_or(Value::Null, |v| {
                Value::Real((f64::from(v) * 1e3).round() / 1e3)
            })
        };
        rs.rows.push(vec![
            Value::Integer(i as i64 + 1),
            Value::Text(h.id.clone()),
            Value::Real((f64::from(h.score) * 1e4).round() / 1e4),
            num(h.distance.map(|d| 1.0 - d)),
            num(h.keyword_score),
            h.metadata
                .get("section")
                .and_then(|v| v.as_str())
                .map_or(Value::Null, |s| Value::Text(s.into())),
            h.text.clone().map_or(Value::Null, Value::Text),
        ]);
    }
    out!("{}", indent(&output::render_table(&rs, Some(60))));
    outln!("  ({} for one hybrid query)", ms(el));
    #[cfg(feature = "embed")]
    super::embed::demo_question(db, COLLECTION, &args.ask)?;
    recall(db, &passages, &queries)?;
    check_interrupt()?;

    // ------------------------------------------------------------------ 5 + 6. context
    context(db, q, args.budget as usize)?;
    Ok(())
}

/// Refuses a database that holds anything besides an earlier demo run's `passages` table
/// and `docs` collection: the demo must not write its tables into someone's data.
fn check_demo_database(db: &Database) -> Result<()> {
    let cat = db::load_catalog(db)?;
    let foreign = cat
        .tables
        .values()
        .map(|t| format!("table `{}`", t.name))
        .filter(|t| *t != format!("table `{TABLE}`"))
        .chain(cat.views.values().map(|v| format!("view `{}`", v.name)))
        .chain(
            db.list_collections()?
                .into_iter()
                .filter(|c| c != COLLECTION)
                .map(|c| format!("collection `{c}`")),
        )
        .next();
    match foreign {
        Some(what) => Err(Error::Usage(format!(
            "{} is a database that `toondb demo` did not make (it has {what}); refusing to \
             write the demo tables into it. Use a new PATH",
            db.path().display()
        ))),
        None => Ok(()),
    }
}

/// Loads the passages into the SQL table and the collection (or reuses an earlier run's).
fn load(db: &Database, passages: &[Passage]) -> Result<()> {
    let cat = db::load_catalog(db)?;
    let has_table = cat.table(TABLE).is_some();
    let has_coll = db.list_collections()?.iter().any(|c| c == COLLECTION);
    if has_table || has_coll {
        let rows = db
            .query_row(&format!("SELECT count(*) FROM {TABLE}"), &[])
            .and_then(|r| r.get::<i64>(0));
        let docs = if has_coll {
            db.collection(COLLECTION)?.len()
        } else {
            0
        };
        if has_table
            && has_coll
            && rows.as_ref().is_ok_and(|&n| n == passages.len() as i64)
            && docs == passages.len()
        {
            outln!("  found table `{TABLE}` and collection `{COLLECTION}` from an earlier demo run: reusing them");
            return Ok(());
        }
        return Err(Error::Usage(format!(
            "{} already has a `{TABLE}` table or `{COLLECTION}` collection that this run would not \
             reuse (another program's, or a demo run with a different --passages); use a fresh PATH",
            db.path().display()
        )));
    }

    let t = Instant::now();
    db.transaction(|tx| {
        tx.execute(
            "CREATE TABLE passages (id INTEGER PRIMARY KEY, section TEXT NOT NULL, source TEXT NOT NULL, \
             words INTEGER NOT NULL, text TEXT NOT NULL)",
            &[],
        )?;
        tx.execute("CREATE INDEX passages_section ON passages (section)", &[])?;
        for chunk in passages.chunks(250) {
            let one = "(?, ?, ?, ?, ?)";
            let sql = format!("INSERT INTO passages (id, section, source, words, text) VALUES {}", vec![one; chunk.len()].join(", "));
            let params: Vec<Value> = chunk
                .iter()
                .flat_map(|p| {
                    [
                        Value::Integer(p.id),
                        Value::Text(p.section.clone()),
                        Value::Text(p.source.clone()),
                        Value::Integer(p.words),
                        Value::Text(p.text.clone()),
                    ]
                })
                .collect();
            tx.execute(&sql, &params)?;
        }
        Ok(())
    })?;
    outln!("  SQL table `{TABLE}` (id, section, source, words, text) + index on section: {} rows, 1 transaction, {}", passages.len(), ms(t.elapsed()));

    let t = Instant::now();
    let coll = db.create_collection(
        COLLECTION,
        DIM,
        Metric::Cosine,
        CollectionOptions::default(),
    )?;
    let docs = passages.iter().map(|p| {
        Document::new(p.id.to_string(), p.vector.clone())
            .with_text(p.text.clone())
            .with_metadata(json!({"section": p.section, "source": p.source, "words": p.words}))
    });
    coll.upsert_many(docs)?;
    outln!(
        "  collection `{COLLECTION}` ({DIM}-dim cosine HNSW + BM25 text index): {} documents, {}",
        coll.len(),
        ms(t.elapsed())
    );
    Ok(())
}

/// Vector recall@10 of the HNSW index against exact brute force over the demo queries.
fn recall(db: &Database, passages: &[Passage], queries: &[Query]) -> Result<()> {
    let coll = db.collection(COLLECTION)?;
    let mut found = 0usize;
    let mut wanted = 0usize;
    let t = Instant::now();
    for q in queries {
        let exact = demo_data::exact_top(passages, &q.vector, 10);
        let hits = coll.search(&q.vector, 10)?;
        wanted += exact.len();
        found += hits
            .iter()
            .filter(|h| h.id.parse::<i64>().is_ok_and(|id| exact.contains(&id)))
            .count();
    }
    outln!(
        "  vector recall@10 vs exact brute force over {} queries: {:.0}% ({found}/{wanted}); {} for {} searches",
        queries.len(),
        100.0 * found as f64 / wanted.max(1) as f64,
        ms(t.elapsed()),
        queries.len()
    );
    Ok(())
}

/// Sections 5 and 6: the context query and the token comparison.
fn context(db: &Database, q: &Query, budget: usize) -> Result<()> {
    section(
        5,
        &format!("Context query: a prompt context for the question, packed into {budget} tokens"),
    );
    outln!("  sections (priority): system (100), question (90), corpus = a SQL query (20),");
    outln!("  retrieval = hybrid search top-20 with metadata (10); when the budget is tight the");
    outln!("  lowest priority gives up items first");
    let t = Instant::now();
    let ctx = db
        .context()
        .budget(budget)
        .system("Answer the question from the retrieved Python documentation passages; cite their ids.")
        .section(Section::text("question", q.text.clone()).priority(90))
        .section(
            Section::sql(
                "SELECT section, count(*) AS passages FROM passages GROUP BY section ORDER BY passages DESC, section LIMIT 4",
                &[],
            )
            .named("corpus")
            .priority(20),
        )
        .section(
            Section::search(COLLECTION, SearchRequest::hybrid(q.text.clone(), q.vector.clone(), 20))
                .with_metadata(true),
        )
        .build()?;
    let el = t.elapsed();
    outln!("  ----- TOON context -----");
    out!("{}", indent(&ctx.text));
    outln!("  ------------------------");
    let mut rs = ResultSet {
        columns: ["section", "priority", "items", "dropped", "tokens"]
            .map(String::from)
            .to_vec(),
        ..ResultSet::default()
    };
    for s in &ctx.sections {
        let n = |x: usize| Value::Integer(i64::try_from(x).unwrap_or(i64::MAX));
        rs.rows.push(vec![
            Value::Text(s.name.clone()),
            Value::Integer(s.priority.into()),
            n(s.items_included),
            n(s.items_dropped),
            n(s.tokens),
        ]);
    }
    out!("{}", indent(&output::render_table(&rs, None)));
    outln!(
        "  {} of {} budget tokens used ({}), built in {}",
        ctx.total_tokens,
        ctx.budget,
        ctx.tokenizer.name(),
        ms(el)
    );

    section(6, "TOON vs JSON: tokens for the same context");
    let json = toondb_toon::decode_to_json(&ctx.text, &toondb_toon::DecodeOptions::default())?;
    let compact = serde_json::to_string(&json).unwrap_or_default();
    let pretty = serde_json::to_string_pretty(&json).unwrap_or_default();
    let mut rs = ResultSet {
        columns: ["format", "o200k_base", "cl100k_base", "bytes"]
            .map(String::from)
            .to_vec(),
        ..ResultSet::default()
    };
    let mut counts = Vec::new();
    for (name, text) in [
        ("TOON (the context above)", &ctx.text),
        ("JSON, compact", &compact),
        ("JSON, pretty", &pretty),
    ] {
        let o = count_tokens(text, Tokenizer::O200k);
        let c = count_tokens(text, Tokenizer::Cl100k);
        counts.push(o);
        let n = |x: usize| Value::Integer(i64::try_from(x).unwrap_or(i64::MAX));
        rs.rows
            .push(vec![Value::Text(name.into()), n(o), n(c), n(text.len())]);
    }
    out!("{}", indent(&output::render_table(&rs, None)));
    if let [toon, compact, pretty] = counts[..] {
        let saved = |json: usize| 100.0 * (json as f64 - toon as f64) / (json.max(1)) as f64;
        outln!(
            "  TOON context: {toon} tokens vs JSON {compact} tokens (compact) / {pretty} (pretty): \
             {:.0}% / {:.0}% fewer tokens for the same data",
            saved(compact),
            saved(pretty)
        );
    }
    Ok(())
}
