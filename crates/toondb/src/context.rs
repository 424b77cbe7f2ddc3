//! Token-budgeted context assembly: named sections from text, chat history, collection
//! search, SQL and key-value data, encoded as one TOON document that never exceeds a token
//! budget.
//!
//! # Algorithm
//!
//! 1. Every section is materialised into a list of items (rows, messages, hits, pairs, or one
//!    text).
//! 2. Deduplication: sections are visited from the highest priority down; an item whose
//!    document id (search hits) or normalised text was already taken by a higher-priority
//!    section is dropped (reported in [`SectionReport::duplicates`]).
//! 3. Per-section caps: a section with `max_tokens` keeps as many items as fit (from the
//!    start, or from the end for [`Keep::Last`], e.g. chat history keeps the latest
//!    messages); a single-text section is cut at the largest character prefix that fits.
//! 4. Global budget: while the whole document is over budget, the lowest-priority section
//!    that still has items gives them up (binary search for the largest count that fits),
//!    down to zero, before the next-lowest is touched. Ties: the section added later is
//!    lower.
//!
//! Token counts are exact for the chosen tokenizer, and the budget is checked against the
//! final text, so `total_tokens <= budget` always holds.

use std::collections::HashSet;

use serde_json::Value as Json;
use toondb_toon::{Map as TMap, Tokenizer, Value as TValue};

use crate::collection::SearchRequest;
use crate::db::Database;
use crate::error::{Error, Result};
use crate::sql::Rows;

/// A chat message for the history section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// `system`, `user`, `assistant`, `tool`, ...
    pub role: String,
    /// The message text.
    pub content: String,
}

impl Message {
    /// A message.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Message {
        Message {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// Which items a section keeps when it must shrink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Keep the first items, drop from the end (rows, search hits).
    First,
    /// Keep the last items, drop from the start (chat history).
    Last,
}

/// Where a section's items come from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Source {
    /// A fixed text (one item).
    Text(String),
    /// Chat messages (one item each).
    History(Vec<Message>),
    /// A collection search (one item per hit).
    Search {
        /// Collection name.
        collection: String,
        /// The search.
        request: Box<SearchRequest>,
        /// Include each hit's metadata object.
        with_metadata: bool,
    },
    /// A SQL query (one item per row).
    Sql {
        /// The query.
        sql: String,
        /// Its parameters.
        params: Vec<toondb_query::Value>,
    },
    /// Key-value pairs under a prefix (one item per pair), at most `limit`.
    KvPrefix {
        /// The key prefix.
        prefix: Vec<u8>,
        /// Maximum pairs read.
        limit: usize,
    },
    /// Specific keys (missing ones are skipped).
    KvKeys(Vec<Vec<u8>>),
    /// The neighbourhood of a graph node (one item per node reached, nearest first).
    Graph {
        /// Graph namespace.
        namespace: String,
        /// The start node.
        start: String,
        /// Direction, edge types, depth, node limit and time of the walk.
        walk: Box<crate::graph::Walk>,
    },
}

/// One named part of a context.
#[derive(Clone, Debug)]
pub struct Section {
    /// Name (the key in the TOON output). Must be unique within a context.
    pub name: String,
    /// Higher survives longer when the budget is tight. Defaults: system 100, history 50,
    /// everything else 10.
    pub priority: i32,
    /// Optional cap on this section's own tokens.
    pub max_tokens: Option<usize>,
    /// Which items survive truncation.
    pub keep: Keep,
    /// Where the items come from.
    pub source: Source,
}

impl Section {
    fn with(name: &str, priority: i32, keep: Keep, source: Source) -> Section {
        Section {
            name: name.to_string(),
            priority,
            max_tokens: None,
            keep,
            source,
        }
    }
    /// A system prompt section named `system` (priority 100).
    pub fn system(text: impl Into<String>) -> Section {
        Section::with("system", 100, Keep::First, Source::Text(text.into()))
    }
    /// A fixed text section.
    pub fn text(name: &str, text: impl Into<String>) -> Section {
        Section::with(name, 10, Keep::First, Source::Text(text.into()))
    }
    /// A chat history section named `history` (priority 50, keeps the latest messages).
    pub fn history(messages: impl IntoIterator<Item = Message>) -> Section {
        Section::with(
            "history",
            50,
            Keep::Last,
            Source::History(messages.into_iter().collect()),
        )
    }
    /// Search results from a collection, section named `retrieval`. A text-only request is
    /// a BM25 search, vector-only a vector search, both a hybrid search.
    pub fn search(collection: &str, request: SearchRequest) -> Section {
        Section::with(
            "retrieval",
            10,
            Keep::First,
            Source::Search {
                collection: collection.to_string(),
                request: Box::new(request),
                with_metadata: false,
            },
        )
    }
    /// Rows of a SQL query, section named `rows`.
    pub fn sql(sql: impl Into<String>, params: &[toondb_query::Value]) -> Section {
        Section::with(
            "rows",
            10,
            Keep::First,
            Source::Sql {
                sql: sql.into(),
                params: params.to_vec(),
            },
        )
    }
    /// Key-value pairs under a prefix (at most 1000), section named `kv`.
    pub fn kv_prefix(prefix: impl AsRef<[u8]>) -> Section {
        Section::with(
            "kv",
            10,
            Keep::First,
            Source::KvPrefix {
                prefix: prefix.as_ref().to_vec(),
                limit: 1000,
            },
        )
    }
    /// Specific keys, section named `kv`.
    pub fn kv_keys<K: AsRef<[u8]>>(keys: impl IntoIterator<Item = K>) -> Section {
        Section::with(
            "kv",
            10,
            Keep::First,
            Source::KvKeys(keys.into_iter().map(|k| k.as_ref().to_vec()).collect()),
        )
    }
    /// The neighbourhood of node `start` in graph namespace `namespace` (walked per `walk`,
    /// breadth-first so the nearest nodes survive truncation), section named `graph`. Each
    /// item is one node: `id`, `label`, `depth`, the `edge` type and the node it was reached
    /// `from` (null for the start), and its `props`.
    pub fn graph(namespace: &str, start: &str, walk: crate::graph::Walk) -> Section {
        Section::with(
            "graph",
            10,
            Keep::First,
            Source::Graph {
                namespace: namespace.to_string(),
                start: start.to_string(),
                walk: Box::new(walk),
            },
        )
    }
    /// Renames the section.
    pub fn named(mut self, name: impl Into<String>) -> Section {
        self.name = name.into();
        self
    }
    /// Sets the priority.
    pub fn priority(mut self, priority: i32) -> Section {
        self.priority = priority;
        self
    }
    /// Caps the section's own tokens.
    pub fn max_tokens(mut self, tokens: usize) -> Section {
        self.max_tokens = Some(tokens);
        self
    }
    /// Sets which items survive truncation.
    pub fn keep(mut self, keep: Keep) -> Section {
        self.keep = keep;
        self
    }
    /// For search sections: include each hit's metadata.
    pub fn with_metadata(mut self, yes: bool) -> Section {
        if let Source::Search { with_metadata, .. } = &mut self.source {
            *with_metadata = yes;
        }
        self
    }
}

/// What happened to one section.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SectionReport {
    /// Section name.
    pub name: String,
    /// Priority.
    pub priority: i32,
    /// Tokens of this section's text on its own (0 if omitted).
    pub tokens: usize,
    /// Items in the output.
    pub items_included: usize,
    /// Items removed to respect `max_tokens` or the budget (duplicates not counted).
    pub items_dropped: usize,
    /// Items removed as duplicates of a higher-priority section's items.
    pub duplicates: usize,
    /// Whether anything was removed or cut for size.
    pub truncated: bool,
}

/// The assembled context.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ContextResult {
    /// The context as a TOON document (one top-level key per non-empty section, in the order
    /// the sections were added).
    pub text: String,
    /// One report per section, in the order added.
    pub sections: Vec<SectionReport>,
    /// Exact tokens of `text`.
    pub total_tokens: usize,
    /// The budget asked for.
    pub budget: usize,
    /// The tokenizer used for counting.
    pub tokenizer: Tokenizer,
}

impl SectionReport {
    /// A report for section `name` with all counts 0 and nothing truncated (for results
    /// assembled outside this crate, such as a remote client's; set the fields after).
    pub fn new(name: impl Into<String>, priority: i32) -> SectionReport {
        SectionReport {
            name: name.into(),
            priority,
            tokens: 0,
            items_included: 0,
            items_dropped: 0,
            duplicates: 0,
            truncated: false,
        }
    }
}

impl ContextResult {
    /// A result with `text`, no section reports and all counts 0 (for results assembled
    /// outside this crate, such as a remote client's; set the fields after).
    pub fn new(text: impl Into<String>, tokenizer: Tokenizer) -> ContextResult {
        ContextResult {
            text: text.into(),
            sections: Vec::new(),
            total_tokens: 0,
            budget: 0,
            tokenizer,
        }
    }

    /// The result as a one-row table (`context`, `tokens`, `budget`), as `CONTEXT` statements
    /// return it through [`Database::query`].
    pub fn into_rows(self) -> Rows {
        Rows::from_parts(
            vec!["context".into(), "tokens".into(), "budget".into()],
            vec![vec![
                toondb_query::Value::Text(self.text),
                toondb_query::Value::Integer(i64::try_from(self.total_tokens).unwrap_or(i64::MAX)),
                toondb_query::Value::Integer(i64::try_from(self.budget).unwrap_or(i64::MAX)),
            ]],
        )
    }
}

/// Builds a context under a token budget. Obtain one with [`Database::context`].
///
/// ```
/// use toondb::{Database, Message, Section};
/// let db = Database::open_in_memory().unwrap();
/// db.put("user:prefs", "likes short answers").unwrap();
/// let ctx = db
///     .context()
///     .budget(200)
///     .system("You are a helpful assistant.")
///     .history([Message::new("user", "hi"), Message::new("assistant", "hello!")])
///     .section(Section::kv_prefix("user:").named("profile"))
///     .build()
///     .unwrap();
/// assert!(ctx.total_tokens <= 200);
/// assert!(ctx.text.starts_with("system: You are a helpful assistant."));
/// assert!(ctx.text.contains("history[2]{role,content}:"));
/// ```
#[derive(Debug)]
pub struct ContextBuilder {
    db: Database,
    budget: usize,
    tokenizer: Tokenizer,
    sections: Vec<Section>,
}

/// Default budget when none is given.
pub const DEFAULT_BUDGET: usize = 4096;

struct Item {
    value: TValue,
    dedup: Vec<String>,
}

struct Work {
    name: String,
    priority: i32,
    keep: Keep,
    max_tokens: Option<usize>,
    items: Vec<Item>,
    /// For single-text sections: character count kept (None = whole text).
    text_chars: Option<usize>,
    /// Items kept: a window of `items` (from the start or the end per `keep`).
    n: usize,
    duplicates: usize,
    is_text: bool,
}

impl Work {
    fn window(&self) -> &[Item] {
        match self.keep {
            Keep::First => &self.items[..self.n],
            Keep::Last => &self.items[self.items.len() - self.n..],
        }
    }

    /// The section's TOON text with its current window, or None when empty.
    fn render(&self) -> Option<String> {
        if self.n == 0 {
            return None;
        }
        let value = if self.is_text {
            let TValue::String(s) = &self.items[0].value else {
                return None;
            };
            let s = match self.text_chars {
                Some(c) => s.chars().take(c).collect(),
                None => s.clone(),
            };
            if s.is_empty() {
                return None;
            }
            TValue::String(s)
        } else {
            TValue::Array(self.window().iter().map(|i| i.value.clone()).collect())
        };
        let mut m = TMap::new();
        m.insert(self.name.clone(), value);
        Some(toondb_toon::encode(
            &TValue::Object(m),
            &toondb_toon::EncodeOptions::default(),
        ))
    }
}

fn sql_to_toon(v: &toondb_query::Value) -> TValue {
    use toondb_query::Value as V;
    match v {
        V::Null => TValue::Null,
        V::Integer(i) => TValue::from(*i),
        V::Real(r) => TValue::from_f64(*r),
        V::Text(s) => TValue::String(s.clone()),
        V::Blob(b) => TValue::String(hex(b)),
    }
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * b.len());
    s.push_str("0x");
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

fn bytes_to_toon(b: &[u8]) -> TValue {
    match std::str::from_utf8(b) {
        Ok(s) => TValue::String(s.to_string()),
        Err(_) => TValue::String(hex(b)),
    }
}

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn round4(x: f32) -> TValue {
    TValue::from_f64((f64::from(x) * 10_000.0).round() / 10_000.0)
}

impl ContextBuilder {
    pub(crate) fn new(db: Database) -> ContextBuilder {
        let tokenizer = db.inner.opts.tokenizer;
        ContextBuilder {
            db,
            budget: DEFAULT_BUDGET,
            tokenizer,
            sections: Vec::new(),
        }
    }

    /// The token budget (default [`DEFAULT_BUDGET`]).
    pub fn budget(mut self, tokens: usize) -> Self {
        self.budget = tokens;
        self
    }
    /// The tokenizer used for counting (default from [`Options`](crate::Options), o200k).
    pub fn tokenizer(mut self, tokenizer: Tokenizer) -> Self {
        self.tokenizer = tokenizer;
        self
    }
    /// Adds any section.
    pub fn section(mut self, section: Section) -> Self {
        self.sections.push(section);
        self
    }
    /// Adds [`Section::system`].
    pub fn system(self, text: impl Into<String>) -> Self {
        self.section(Section::system(text))
    }
    /// Adds [`Section::history`].
    pub fn history(self, messages: impl IntoIterator<Item = Message>) -> Self {
        self.section(Section::history(messages))
    }
    /// Adds [`Section::search`].
    pub fn search(self, collection: &str, request: SearchRequest) -> Self {
        self.section(Section::search(collection, request))
    }
    /// Adds [`Section::sql`] under `name`.
    pub fn sql(self, name: &str, sql: impl Into<String>, params: &[toondb_query::Value]) -> Self {
        self.section(Section::sql(sql, params).named(name))
    }
    /// Adds [`Section::kv_prefix`] under `name`.
    pub fn kv_prefix(self, name: &str, prefix: impl AsRef<[u8]>) -> Self {
        self.section(Section::kv_prefix(prefix).named(name))
    }

    fn materialise(&self, s: &Section) -> Result<(Vec<Item>, bool)> {
        let db = &self.db;
        Ok(match &s.source {
            Source::Text(t) => (
                vec![Item {
                    value: TValue::String(t.clone()),
                    dedup: vec![format!("t:{}", norm(t))],
                }],
                true,
            ),
            Source::History(msgs) => (
                msgs.iter()
                    .map(|m| {
                        let mut o = TMap::new();
                        o.insert("role".into(), TValue::String(m.role.clone()));
                        o.insert("content".into(), TValue::String(m.content.clone()));
                        Item {
                            value: TValue::Object(o),
                            dedup: vec![format!("t:{}", norm(&m.content))],
                        }
                    })
                    .collect(),
                false,
            ),
            Source::Search {
                collection,
                request,
                with_metadata,
            } => {
                let c = db.collection(collection)?;
                // Text-only searches on a collection with an embedder use the vector half too.
                let hits = c.search_with(&*c.complete_request(request)?)?;
                (
                    hits.into_iter()
                        .map(|h| {
                            let mut o = TMap::new();
                            o.insert("id".into(), TValue::String(h.id.clone()));
                            o.insert("score".into(), round4(h.score));
                            o.insert(
                                "text".into(),
                                h.text.clone().map_or(TValue::Null, TValue::String),
                            );
                            if *with_metadata {
                                o.insert("metadata".into(), TValue::from(Json::Object(h.metadata)));
                            }
                            let mut dedup = vec![format!("d:{collection}/{}", h.id)];
                            if let Some(t) = &h.text {
                                dedup.push(format!("t:{}", norm(t)));
                            }
                            Item {
                                value: TValue::Object(o),
                                dedup,
                            }
                        })
                        .collect(),
                    false,
                )
            }
            Source::Sql { sql, params } => {
                let rows = db.query(sql, params)?;
                let cols = rows.columns().to_vec();
                (
                    rows.iter()
                        .map(|r| {
                            let mut o = TMap::new();
                            for (c, v) in cols.iter().zip(r.values()) {
                                o.insert(c.clone(), sql_to_toon(v));
                            }
                            Item {
                                value: TValue::Object(o),
                                dedup: Vec::new(),
                            }
                        })
                        .collect(),
                    false,
                )
            }
            Source::KvPrefix { prefix, limit } => {
                let mut items = Vec::new();
                for kv in db.scan_prefix(prefix)?.take(*limit) {
                    let (k, v) = kv?;
                    items.push(kv_item(&k, &v));
                }
                (items, false)
            }
            Source::KvKeys(keys) => {
                let mut items = Vec::new();
                for k in keys {
                    if let Some(v) = db.get(k)? {
                        items.push(kv_item(k, &v));
                    }
                }
                (items, false)
            }
            Source::Graph {
                namespace,
                start,
                walk,
            } => (graph_items(db, namespace, start, walk)?, false),
        })
    }

    /// Assembles the context.
    pub fn build(self) -> Result<ContextResult> {
        let tok = self.tokenizer;
        let count = |s: &str| toondb_toon::count_tokens(s, tok);
        let mut names = HashSet::new();
        for s in &self.sections {
            if s.name.is_empty() {
                return Err(Error::invalid("section names must not be empty"));
            }
            if !names.insert(s.name.as_str()) {
                return Err(Error::invalid(format!(
                    "duplicate section name {:?}",
                    s.name
                )));
            }
        }
        let mut work = Vec::with_capacity(self.sections.len());
        for s in &self.sections {
            let (items, is_text) = self.materialise(s)?;
            let n = items.len();
            work.push(Work {
                name: s.name.clone(),
                priority: s.priority,
                keep: s.keep,
                max_tokens: s.max_tokens,
                items,
                text_chars: None,
                n,
                duplicates: 0,
                is_text,
            });
        }
        // Priority order: highest first; later-added first among equals is lower, so it comes
        // after.
        let mut order: Vec<usize> = (0..work.len()).collect();
        order.sort_by(|&a, &b| work[b].priority.cmp(&work[a].priority).then(a.cmp(&b)));

        // 2. Deduplicate.
        let mut seen: HashSet<String> = HashSet::new();
        for &i in &order {
            let w = &mut work[i];
            let before = w.items.len();
            w.items.retain(|it| {
                let dup = it.dedup.iter().any(|k| seen.contains(k));
                if !dup {
                    seen.extend(it.dedup.iter().cloned());
                }
                !dup
            });
            w.duplicates = before - w.items.len();
            w.n = w.items.len();
        }
        let originals: Vec<usize> = work.iter().map(|w| w.items.len()).collect();

        // 3. Per-section caps.
        for w in &mut work {
            if let Some(cap) = w.max_tokens {
                shrink(w, &|w: &Work| w.render().map_or(0, |t| count(&t)) <= cap);
            }
        }

        // 4. Global budget, lowest priority first.
        let budget = self.budget;
        let total = |work: &[Work]| -> usize {
            let text = join(work);
            count(&text)
        };
        for &i in order.iter().rev() {
            if total(&work) <= budget {
                break;
            }
            // Shrink section i to the largest size for which the whole document fits.
            let (before, rest) = work.split_at_mut(i);
            let (cur, after) = rest.split_at_mut(1);
            let cur = &mut cur[0];
            let others_text = |w: &Work| {
                let mut texts: Vec<String> = before.iter().filter_map(Work::render).collect();
                if let Some(t) = w.render() {
                    texts.push(t);
                }
                texts.extend(after.iter().filter_map(Work::render));
                texts.join("\n")
            };
            shrink(cur, &|w: &Work| count(&others_text(w)) <= budget);
        }

        let text = join(&work);
        let total_tokens = count(&text);
        let sections = work
            .iter()
            .zip(&originals)
            .map(|(w, &orig)| {
                let rendered = w.render();
                let cut_text = w.is_text && w.text_chars.is_some();
                SectionReport {
                    name: w.name.clone(),
                    priority: w.priority,
                    tokens: rendered.as_deref().map_or(0, count),
                    items_included: if rendered.is_some() { w.n } else { 0 },
                    items_dropped: orig - if rendered.is_some() { w.n } else { 0 },
                    duplicates: w.duplicates,
                    truncated: cut_text || w.n < orig || (orig > 0 && rendered.is_none()),
                }
            })
            .collect();
        Ok(ContextResult {
            text,
            sections,
            total_tokens,
            budget,
            tokenizer: tok,
        })
    }
}

fn graph_items(
    db: &Database,
    namespace: &str,
    start: &str,
    walk: &crate::graph::Walk,
) -> Result<Vec<Item>> {
    let tx = db.begin()?;
    let r = (|| {
        let g = tx.graph(namespace)?;
        let mut items = Vec::new();
        for v in g.traverse(start, walk)? {
            let Some(node) = g.get_node(&v.id, walk.as_of)? else {
                continue;
            };
            let mut o = TMap::new();
            o.insert("id".into(), TValue::String(v.id.clone()));
            o.insert("label".into(), TValue::String(node.label));
            o.insert("depth".into(), TValue::from(v.depth as i64));
            let (edge, from) = match &v.via {
                Some(e) => {
                    let from = if e.dst == v.id { &e.src } else { &e.dst };
                    (
                        TValue::String(e.edge_type.clone()),
                        TValue::String(from.clone()),
                    )
                }
                None => (TValue::Null, TValue::Null),
            };
            o.insert("edge".into(), edge);
            o.insert("from".into(), from);
            o.insert("props".into(), TValue::from(Json::Object(node.props)));
            items.push(Item {
                value: TValue::Object(o),
                dedup: vec![format!("g:{namespace}/{}", v.id)],
            });
        }
        Ok(items)
    })();
    tx.rollback();
    r
}

fn kv_item(k: &[u8], v: &[u8]) -> Item {
    let mut o = TMap::new();
    o.insert("key".into(), bytes_to_toon(k));
    o.insert("value".into(), bytes_to_toon(v));
    Item {
        value: TValue::Object(o),
        dedup: Vec::new(),
    }
}

fn join(work: &[Work]) -> String {
    work.iter()
        .filter_map(Work::render)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Shrinks `w` to the largest window (or text prefix) for which `fits` holds; empties it if
/// nothing fits. `fits` must be monotone in the size.
fn shrink(w: &mut Work, fits: &dyn Fn(&Work) -> bool) {
    if fits(w) {
        return;
    }
    if w.is_text {
        let TValue::String(s) = &w.items[0].value else {
            return;
        };
        let len = s.chars().count();
        // Largest prefix length in [0, len) that fits.
        let (mut lo, mut hi) = (0usize, len);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            w.text_chars = Some(mid);
            if fits(w) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        w.text_chars = Some(lo);
        if lo == 0 {
            w.n = 0;
        }
        return;
    }
    let (mut lo, mut hi) = (0usize, w.n);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        w.n = mid;
        if fits(w) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    w.n = lo;
}
