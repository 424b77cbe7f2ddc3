//! Tool definitions: argument types (their JSON schemas are derived from these structs, and
//! arguments are decoded with the same definitions, so what the schema says is what is
//! enforced), and the blocking implementations.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};
use toondb::graph::{AsOf, EdgeDirection, Order, Valid, Walk};
use toondb::{Database, Filter, SearchRequest, Section};

use crate::ToolError;

/// Largest `k`, `limit` or node count a tool accepts.
pub const MAX_ITEMS: u32 = 10_000;
/// Deepest graph walk a tool accepts.
pub const MAX_TOOL_DEPTH: u32 = 8;
/// Largest token budget of `build_context`.
pub const MAX_BUDGET: u32 = 200_000;

/// Output encoding of a tool result.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// TOON (compact, token-efficient). The default.
    #[default]
    Toon,
    /// Pretty-printed JSON.
    Json,
}

/// `sql`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlArgs {
    /// SQL text (one or more statements separated by `;`), or a `CONTEXT SELECT ...`
    /// statement. Without --allow-writes only SELECT / WITH / VALUES / EXPLAIN / CONTEXT run.
    pub sql: String,
    /// Values for `?` placeholders (null, boolean, number or string).
    #[serde(default)]
    pub params: Vec<Json>,
    /// Result encoding (default toon).
    #[serde(default)]
    pub format: Format,
}

/// `list_tables`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    /// Result encoding (default toon).
    #[serde(default)]
    pub format: Format,
}

/// `describe_table`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeArgs {
    /// Table name.
    pub table: String,
    /// Result encoding (default toon).
    #[serde(default)]
    pub format: Format,
}

/// Search mode.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Nearest neighbours of `vector`.
    Vector,
    /// BM25 over `text`.
    Keyword,
    /// Both, fused with reciprocal rank fusion.
    Hybrid,
}

fn default_k() -> u32 {
    5
}

/// `search`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// Collection name.
    pub collection: String,
    /// Query text (keyword or hybrid search; on a collection with an embedder also the source
    /// of the query vector when `vector` is absent).
    pub text: Option<String>,
    /// Query vector (vector or hybrid search); its length must be the collection's dimension.
    pub vector: Option<Vec<f32>>,
    /// Search mode; default: hybrid when both text and vector are given (or text on a
    /// collection with an embedder), else whichever is.
    pub mode: Option<Mode>,
    /// Results wanted (1..=10000, default 5).
    #[serde(default = "default_k")]
    pub k: u32,
    /// Metadata filter, e.g. {"lang": "en"} or {"year": {"$gte": 2020}}.
    pub filter: Option<Json>,
    /// Include each hit's metadata.
    #[serde(default)]
    pub with_metadata: bool,
    /// Result encoding (default toon).
    #[serde(default)]
    pub format: Format,
}

/// A search section of `build_context`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextSearch {
    /// Collection name.
    pub collection: String,
    /// Query text.
    pub text: Option<String>,
    /// Query vector.
    pub vector: Option<Vec<f32>>,
    /// Results wanted (default 5).
    #[serde(default = "default_k")]
    pub k: u32,
    /// Section name (default `retrieval`).
    pub name: Option<String>,
}

/// A SQL section of `build_context`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextSql {
    /// Section name.
    pub name: String,
    /// A read-only query.
    pub query: String,
}

/// A key-value section of `build_context`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextKv {
    /// Section name.
    pub name: String,
    /// Key prefix.
    pub prefix: String,
}

/// A graph section of `build_context`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextGraph {
    /// Graph namespace.
    pub namespace: String,
    /// Start node id.
    pub start: String,
    /// Hops (default 2, at most 8).
    pub depth: Option<u32>,
    /// out, in or both (default out).
    pub direction: Option<String>,
    /// Only these edge types.
    #[serde(default)]
    pub edge_types: Vec<String>,
    /// Section name (default `graph`).
    pub name: Option<String>,
}

/// `build_context`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextArgs {
    /// A complete `CONTEXT SELECT ...` statement; if given, no other section field may be.
    pub statement: Option<String>,
    /// Token budget (default 4096).
    pub budget: Option<u32>,
    /// System prompt section.
    pub system: Option<String>,
    /// Search sections.
    #[serde(default)]
    pub searches: Vec<ContextSearch>,
    /// SQL sections.
    #[serde(default)]
    pub sql: Vec<ContextSql>,
    /// Key-value prefix sections.
    #[serde(default)]
    pub kv: Vec<ContextKv>,
    /// Graph neighbourhood sections.
    #[serde(default)]
    pub graph: Vec<ContextGraph>,
    /// Result encoding: toon returns the context text itself; json adds a per-section report.
    #[serde(default)]
    pub format: Format,
}

/// `kv_get`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KvGetArgs {
    /// Key (UTF-8).
    pub key: String,
    /// Result encoding (default toon).
    #[serde(default)]
    pub format: Format,
}

/// `kv_put`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KvPutArgs {
    /// Key (UTF-8).
    pub key: String,
    /// Value (UTF-8).
    pub value: String,
    /// Result encoding (default toon).
    #[serde(default)]
    pub format: Format,
}

fn default_limit() -> u32 {
    100
}

/// `kv_scan`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KvScanArgs {
    /// Key prefix ("" scans everything).
    #[serde(default)]
    pub prefix: String,
    /// Most pairs returned (1..=10000, default 100).
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// Result encoding (default toon).
    #[serde(default)]
    pub format: Format,
}

/// `graph_neighbors`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NeighborsArgs {
    /// Graph namespace.
    pub namespace: String,
    /// Node id.
    pub node: String,
    /// out, in or both (default out).
    pub direction: Option<String>,
    /// Only these edge types.
    #[serde(default)]
    pub edge_types: Vec<String>,
    /// Only edges whose properties match this filter (same syntax as search filters).
    pub filter: Option<Json>,
    /// Most neighbours (1..=10000, default 100).
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// Valid time looked at (microseconds since the epoch; default now).
    pub as_of_valid: Option<i64>,
    /// Transaction time looked at (microseconds since the epoch; default now).
    pub as_of_tx: Option<i64>,
    /// Result encoding (default toon).
    #[serde(default)]
    pub format: Format,
}

/// `graph_traverse`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraverseArgs {
    /// Graph namespace.
    pub namespace: String,
    /// Start node id.
    pub start: String,
    /// Hops (0..=8, default 2).
    pub depth: Option<u32>,
    /// bfs (default) or dfs.
    pub order: Option<String>,
    /// Shortest path to this node instead of a walk.
    pub target: Option<String>,
    /// out, in or both (default out).
    pub direction: Option<String>,
    /// Only these edge types.
    #[serde(default)]
    pub edge_types: Vec<String>,
    /// Most nodes visited (1..=10000, default 100).
    #[serde(default = "default_limit")]
    pub max_nodes: u32,
    /// Valid time looked at (microseconds since the epoch; default now).
    pub as_of_valid: Option<i64>,
    /// Transaction time looked at (microseconds since the epoch; default now).
    pub as_of_tx: Option<i64>,
    /// Result encoding (default toon).
    #[serde(default)]
    pub format: Format,
}

/// A node to add.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeIn {
    /// Node id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Properties (a JSON object).
    #[serde(default)]
    pub props: Map<String, Json>,
    /// Valid from (microseconds since the epoch; default now).
    pub valid_from: Option<i64>,
    /// Valid until (exclusive; default open).
    pub valid_to: Option<i64>,
}

/// An edge to add.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EdgeIn {
    /// Source node id.
    pub src: String,
    /// Edge type.
    #[serde(rename = "type")]
    pub edge_type: String,
    /// Destination node id.
    pub dst: String,
    /// Properties (a JSON object).
    #[serde(default)]
    pub props: Map<String, Json>,
    /// Valid from (microseconds since the epoch; default now).
    pub valid_from: Option<i64>,
    /// Valid until (exclusive; default open).
    pub valid_to: Option<i64>,
}

/// `graph_add`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GraphAddArgs {
    /// Graph namespace.
    pub namespace: String,
    /// Nodes to add (or, with upsert, to replace).
    #[serde(default)]
    pub nodes: Vec<NodeIn>,
    /// Edges to add (or, with upsert, to replace).
    #[serde(default)]
    pub edges: Vec<EdgeIn>,
    /// Replace existing nodes/edges instead of failing.
    #[serde(default)]
    pub upsert: bool,
    /// Result encoding (default toon).
    #[serde(default)]
    pub format: Format,
}

/// Static description of one tool.
pub struct ToolSpec {
    /// Name.
    pub name: &'static str,
    /// Description shown to the agent.
    pub description: &'static str,
    /// Whether it changes the database (refused without --allow-writes).
    pub writes: bool,
    /// Its input schema.
    pub schema: fn() -> Json,
}

fn schema<T: JsonSchema>() -> Json {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or_else(|_| json!({"type": "object"}))
}

/// Every tool, in listing order.
pub const TOOLS: &[ToolSpec] = &[
    ToolSpec { name: "sql", description: "Run SQL against the database and return the rows (TOON by default). Read-only (SELECT/WITH/VALUES/EXPLAIN/CONTEXT) unless the server runs with --allow-writes.", writes: false, schema: schema::<SqlArgs> },
    ToolSpec { name: "list_tables", description: "List SQL tables (with column counts) and vector/text collections.", writes: false, schema: schema::<ListArgs> },
    ToolSpec { name: "describe_table", description: "Columns, types, constraints and indexes of one SQL table.", writes: false, schema: schema::<DescribeArgs> },
    ToolSpec { name: "search", description: "Search a collection: keyword (BM25) with text, vector with a vector, hybrid with both.", writes: false, schema: schema::<SearchArgs> },
    ToolSpec { name: "build_context", description: "Assemble a token-budgeted context (system prompt, search hits, SQL rows, key-value pairs, graph neighbourhoods) as TOON that never exceeds the budget.", writes: false, schema: schema::<ContextArgs> },
    ToolSpec { name: "kv_get", description: "Read one key of the key-value store.", writes: false, schema: schema::<KvGetArgs> },
    ToolSpec { name: "kv_put", description: "Write one key of the key-value store (needs --allow-writes).", writes: true, schema: schema::<KvPutArgs> },
    ToolSpec { name: "kv_scan", description: "List key-value pairs whose key starts with a prefix, in key order.", writes: false, schema: schema::<KvScanArgs> },
    ToolSpec { name: "graph_neighbors", description: "Neighbours of a node in a graph namespace, with the connecting edges (direction, edge-type and property filters; bi-temporal as_of_valid/as_of_tx).", writes: false, schema: schema::<NeighborsArgs> },
    ToolSpec { name: "graph_traverse", description: "Breadth- or depth-first walk from a node up to a depth, or the shortest path to a target node.", writes: false, schema: schema::<TraverseArgs> },
    ToolSpec { name: "graph_add", description: "Add nodes and edges to a graph namespace in one transaction (needs --allow-writes).", writes: true, schema: schema::<GraphAddArgs> },
];

/// Decodes `args` into `T`, as an invalid-params error naming the tool on failure.
pub fn decode<T: serde::de::DeserializeOwned>(tool: &str, args: Json) -> Result<T, ToolError> {
    serde_json::from_value(args)
        .map_err(|e| ToolError::InvalidParams(format!("invalid arguments for {tool}: {e}")))
}

fn bad(msg: impl Into<String>) -> ToolError {
    ToolError::InvalidParams(msg.into())
}

fn check_range(what: &str, v: u32, lo: u32, hi: u32) -> Result<usize, ToolError> {
    if v < lo || v > hi {
        return Err(bad(format!("{what} must be in {lo}..={hi}, got {v}")));
    }
    Ok(v as usize)
}

/// A tool's output before encoding.
pub struct Output {
    /// The value (encoded as TOON or JSON).
    pub value: Json,
    /// The requested format.
    pub format: Format,
    /// Pre-rendered text that replaces the TOON encoding (build_context).
    pub text: Option<String>,
}

fn out(value: Json, format: Format) -> Output {
    Output {
        value,
        format,
        text: None,
    }
}

fn sql_value(v: &toondb::Value) -> Json {
    match v {
        toondb::Value::Null => Json::Null,
        toondb::Value::Integer(i) => json!(i),
        toondb::Value::Real(r) => serde_json::Number::from_f64(*r).map_or(Json::Null, Json::Number),
        toondb::Value::Text(s) => json!(s),
        toondb::Value::Blob(b) => json!(hex(b)),
    }
}

fn hex(b: &[u8]) -> String {
    let mut s = String::from("0x");
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

fn text_or_hex(b: &[u8]) -> Json {
    match std::str::from_utf8(b) {
        Ok(s) => json!(s),
        Err(_) => json!(hex(b)),
    }
}

fn to_param(v: &Json) -> Result<toondb::Value, ToolError> {
    Ok(match v {
        Json::Null => toondb::Value::Null,
        Json::Bool(b) => toondb::Value::Integer(i64::from(*b)),
        Json::Number(n) => match n.as_i64() {
            Some(i) => toondb::Value::Integer(i),
            None => toondb::Value::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => toondb::Value::Text(s.clone()),
        _ => {
            return Err(bad(
                "SQL parameters must be null, booleans, numbers or strings",
            ))
        }
    })
}

/// The first keyword of each statement in `sql` (comments and string literals skipped),
/// upper-cased, plus whether any write keyword appears anywhere outside literals.
fn statement_keywords(sql: &str) -> (Vec<String>, bool) {
    const WRITES: &[&str] = &[
        "INSERT",
        "UPDATE",
        "DELETE",
        "REPLACE",
        "CREATE",
        "DROP",
        "ALTER",
        "UPSERT",
        "MERGE",
        "TRUNCATE",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "VACUUM",
        "ATTACH",
        "DETACH",
        "PRAGMA",
        "REINDEX",
        "ANALYZE",
        "GRANT",
        "REVOKE",
    ];
    let b = sql.as_bytes();
    let mut firsts = Vec::new();
    let mut any_write = false;
    let mut at_start = true;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if matches!(c, b'\'' | b'"' | b'`' | b'[') {
            let close = if c == b'[' { b']' } else { c };
            i += 1;
            while i < b.len() && b[i] != close {
                i += 1;
            }
            i += 1;
            at_start = false;
        } else if c == b';' {
            at_start = true;
            i += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let w = sql[s..i].to_ascii_uppercase();
            if WRITES.contains(&w.as_str()) {
                any_write = true;
            }
            if at_start {
                firsts.push(w);
                at_start = false;
            }
        } else {
            if !c.is_ascii_whitespace() {
                at_start = false;
            }
            i += 1;
        }
    }
    (firsts, any_write)
}

/// Why `sql` is refused in read-only mode, if it is.
pub fn read_only_refusal(sql: &str) -> Option<String> {
    let (firsts, any_write) = statement_keywords(sql);
    if firsts.is_empty() {
        return None;
    }
    let ok = ["SELECT", "WITH", "VALUES", "EXPLAIN", "CONTEXT"];
    if let Some(w) = firsts.iter().find(|w| !ok.contains(&w.as_str())) {
        return Some(format!(
            "the server is read-only: {w} statements need `toondb mcp --allow-writes`"
        ));
    }
    if any_write && firsts.iter().any(|w| w != "CONTEXT") {
        return Some(
            "the server is read-only: the statement contains a write keyword (INSERT, UPDATE, DELETE, ...); start it with `toondb mcp --allow-writes`".into(),
        );
    }
    None
}

fn rows_json(rows: &toondb::Rows) -> Json {
    let cols = rows.columns().to_vec();
    Json::Array(
        rows.iter()
            .map(|r| {
                let mut o = Map::new();
                for (c, v) in cols.iter().zip(r.values()) {
                    o.insert(c.clone(), sql_value(v));
                }
                Json::Object(o)
            })
            .collect(),
    )
}

/// `sql`.
pub fn sql(db: &Database, a: SqlArgs, allow_writes: bool) -> Result<Output, ToolError> {
    if a.sql.trim().is_empty() {
        return Err(bad("sql must not be empty"));
    }
    let params = a
        .params
        .iter()
        .map(to_param)
        .collect::<Result<Vec<_>, _>>()?;
    let is_context = a
        .sql
        .trim_start()
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("CONTEXT"));
    if !allow_writes {
        if let Some(why) = read_only_refusal(&a.sql) {
            return Err(ToolError::Refused(why));
        }
    }
    let rows = if is_context || allow_writes {
        if allow_writes && !is_context {
            let (firsts, _) = statement_keywords(&a.sql);
            if firsts
                .iter()
                .all(|w| ["SELECT", "WITH", "VALUES", "EXPLAIN"].contains(&w.as_str()))
            {
                db.query(&a.sql, &params)?
            } else {
                let n = db.execute(&a.sql, &params)?;
                return Ok(out(json!({ "rows_affected": n }), a.format));
            }
        } else {
            db.query(&a.sql, &params)?
        }
    } else {
        // Read-only: run inside a transaction that is always rolled back, so nothing the
        // statement might write can persist even if the keyword check missed it.
        let mut tx = db.begin()?;
        let r = tx.query(&a.sql, &params);
        tx.rollback();
        r?
    };
    let mut o = Map::new();
    o.insert("rows".into(), rows_json(&rows));
    o.insert("row_count".into(), json!(rows.len()));
    Ok(out(Json::Object(o), a.format))
}

/// The SQL tables of `db`.
pub fn catalog(db: &Database) -> Result<toondb_query::catalog::Catalog, ToolError> {
    use toondb_query::KvBackend;
    let backend = toondb_query::StorageBackend::new(db.engine().clone());
    let mut txn = backend.begin().map_err(toondb::Error::from)?;
    let cat = toondb_query::catalog::load(&mut *txn);
    txn.rollback();
    Ok(cat.map_err(toondb::Error::from)?)
}

/// `list_tables`.
pub fn list_tables(db: &Database, a: ListArgs) -> Result<Output, ToolError> {
    let cat = catalog(db)?;
    let tables: Vec<Json> = cat
        .tables
        .values()
        .map(|t| json!({"name": t.name, "columns": t.columns.len()}))
        .collect();
    let mut colls = Vec::new();
    for name in db.list_collections()? {
        let c = db.collection(&name)?;
        colls.push(json!({"name": name, "dim": c.dim(), "documents": c.len()}));
    }
    Ok(out(
        json!({"tables": tables, "collections": colls}),
        a.format,
    ))
}

/// The schema of one table as JSON, or None if it does not exist.
pub fn table_schema(cat: &toondb_query::catalog::Catalog, name: &str) -> Option<Json> {
    let t = cat
        .tables
        .values()
        .find(|t| t.name.eq_ignore_ascii_case(name))?;
    let cols: Vec<Json> = t
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({
                "name": c.name,
                "type": c.decl_type,
                "not_null": c.not_null,
                "primary_key": t.rowid_column == Some(i),
                "default": c.default,
            })
        })
        .collect();
    let idx: Vec<Json> = t
        .indexes
        .iter()
        .map(|ix| {
            let names: Vec<&str> = ix
                .columns
                .iter()
                .filter_map(|&i| t.columns.get(i).map(|c| c.name.as_str()))
                .collect();
            json!({"name": ix.name, "columns": names.join(","), "unique": ix.unique})
        })
        .collect();
    Some(json!({"table": t.name, "columns": cols, "indexes": idx}))
}

/// The schema of one collection as JSON.
pub fn collection_schema(db: &Database, name: &str) -> Result<Json, ToolError> {
    let c = db.collection(name)?;
    Ok(json!({
        "collection": name,
        "dim": c.dim(),
        "metric": format!("{:?}", c.metric()).to_ascii_lowercase(),
        "documents": c.len(),
        "fields": "id (string), vector (f32 x dim), text (optional, BM25-indexed), metadata (JSON object, filterable)",
    }))
}

/// `describe_table`.
pub fn describe_table(db: &Database, a: DescribeArgs) -> Result<Output, ToolError> {
    let cat = catalog(db)?;
    match table_schema(&cat, &a.table) {
        Some(s) => Ok(out(s, a.format)),
        None => Err(toondb::Error::NotFound(format!("no such table: {}", a.table)).into()),
    }
}

/// `search`.
pub fn search(db: &Database, a: SearchArgs) -> Result<Output, ToolError> {
    let k = check_range("k", a.k, 1, MAX_ITEMS)?;
    let coll = db.collection(&a.collection)?;
    let embedder = coll.embedder();
    let mode = match (a.mode, &a.text, &a.vector) {
        (Some(m), _, _) => m,
        (None, Some(_), Some(_)) => Mode::Hybrid,
        // With an embedder attached, text alone searches by meaning and by keywords.
        (None, Some(_), None) if embedder.is_some() => Mode::Hybrid,
        (None, Some(_), None) => Mode::Keyword,
        (None, None, Some(_)) => Mode::Vector,
        (None, None, None) => return Err(bad("search needs `text`, `vector` or both")),
    };
    let need_text = || {
        a.text
            .clone()
            .ok_or_else(|| bad("this search mode needs `text`"))
    };
    // The caller's vector, else the embedding of `text` by the collection's embedder.
    let need_vec = || -> Result<Vec<f32>, ToolError> {
        if let Some(v) = &a.vector {
            return Ok(v.clone());
        }
        match (&a.text, &embedder) {
            (Some(t), Some(_)) => Ok(coll.embed_texts(&[t.as_str()])?.pop().unwrap_or_default()),
            _ => Err(bad(
                "this search mode needs `vector`, or `text` on a collection with an embedder \
                 (`toondb mcp --embed-model`)",
            )),
        }
    };
    let mut req = match mode {
        Mode::Keyword => SearchRequest::text(need_text()?, k),
        Mode::Vector => SearchRequest::vector(need_vec()?, k),
        Mode::Hybrid => SearchRequest::hybrid(need_text()?, need_vec()?, k),
    };
    if let Some(f) = &a.filter {
        req = req.filter(Filter::from_json(f).map_err(|e| bad(format!("filter: {e}")))?);
    }
    let hits = coll.search_with(&req)?;
    let hits: Vec<Json> = hits
        .into_iter()
        .map(|h| {
            let mut o = Map::new();
            o.insert("id".into(), json!(h.id));
            o.insert(
                "score".into(),
                json!((f64::from(h.score) * 1e4).round() / 1e4),
            );
            o.insert("text".into(), h.text.map_or(Json::Null, Json::String));
            if a.with_metadata {
                o.insert("metadata".into(), Json::Object(h.metadata));
            }
            Json::Object(o)
        })
        .collect();
    Ok(out(json!({ "hits": hits }), a.format))
}

fn walk_of(
    direction: Option<&str>,
    edge_types: Vec<String>,
    as_of_valid: Option<i64>,
    as_of_tx: Option<i64>,
) -> Result<Walk, ToolError> {
    let mut w = Walk::default().as_of(AsOf::at(as_of_valid, as_of_tx));
    if let Some(d) = direction {
        w = w.direction(d.parse::<EdgeDirection>()?);
    }
    if !edge_types.is_empty() {
        w = w.edge_types(edge_types);
    }
    Ok(w)
}

/// `build_context`.
pub fn build_context(db: &Database, a: ContextArgs) -> Result<Output, ToolError> {
    let result = if let Some(stmt) = &a.statement {
        if a.system.is_some()
            || a.budget.is_some()
            || !a.searches.is_empty()
            || !a.sql.is_empty()
            || !a.kv.is_empty()
            || !a.graph.is_empty()
        {
            return Err(bad("give either `statement` or section fields, not both"));
        }
        db.execute_context(stmt)?
    } else {
        let mut b = db.context();
        if let Some(n) = a.budget {
            b = b.budget(check_range("budget", n, 1, MAX_BUDGET)?);
        }
        if let Some(s) = a.system {
            b = b.system(s);
        }
        for s in a.searches {
            let k = check_range("k", s.k, 1, MAX_ITEMS)?;
            let req = match (s.text, s.vector) {
                (Some(t), Some(v)) => SearchRequest::hybrid(t, v, k),
                (Some(t), None) => SearchRequest::text(t, k),
                (None, Some(v)) => SearchRequest::vector(v, k),
                (None, None) => return Err(bad("a search section needs `text` or `vector`")),
            };
            let mut sec = Section::search(&s.collection, req);
            if let Some(n) = s.name {
                sec = sec.named(n);
            }
            b = b.section(sec);
        }
        for s in a.sql {
            if let Some(why) = read_only_refusal(&s.query) {
                return Err(ToolError::Refused(why));
            }
            b = b.section(Section::sql(s.query, &[]).named(s.name));
        }
        for s in a.kv {
            b = b.section(Section::kv_prefix(s.prefix.as_bytes()).named(s.name));
        }
        for g in a.graph {
            let depth = check_range("depth", g.depth.unwrap_or(2), 0, MAX_TOOL_DEPTH)?;
            let w = walk_of(g.direction.as_deref(), g.edge_types, None, None)?.max_depth(depth);
            let mut sec = Section::graph(&g.namespace, &g.start, w);
            if let Some(n) = g.name {
                sec = sec.named(n);
            }
            b = b.section(sec);
        }
        b.build()?
    };
    let sections: Vec<Json> = result
        .sections
        .iter()
        .map(|s| {
            json!({"name": s.name, "tokens": s.tokens, "items": s.items_included,
                   "dropped": s.items_dropped, "truncated": s.truncated})
        })
        .collect();
    let value = json!({"context": result.text, "tokens": result.total_tokens,
                       "budget": result.budget, "sections": sections});
    Ok(Output {
        value,
        format: a.format,
        text: (a.format == Format::Toon).then_some(result.text),
    })
}

/// `kv_get`.
pub fn kv_get(db: &Database, a: KvGetArgs) -> Result<Output, ToolError> {
    let v = db.get(a.key.as_bytes())?;
    Ok(out(
        json!({"key": a.key, "found": v.is_some(), "value": v.as_deref().map_or(Json::Null, text_or_hex)}),
        a.format,
    ))
}

/// `kv_put`.
pub fn kv_put(db: &Database, a: KvPutArgs) -> Result<Output, ToolError> {
    if a.key.is_empty() {
        return Err(bad("key must not be empty"));
    }
    db.put(a.key.as_bytes(), a.value.as_bytes())?;
    Ok(out(json!({"key": a.key, "stored": true}), a.format))
}

/// `kv_scan`.
pub fn kv_scan(db: &Database, a: KvScanArgs) -> Result<Output, ToolError> {
    let limit = check_range("limit", a.limit, 1, MAX_ITEMS)?;
    let mut pairs = Vec::new();
    let mut more = false;
    for kv in db.scan_prefix(a.prefix.as_bytes())? {
        let (k, v) = kv?;
        if pairs.len() == limit {
            more = true;
            break;
        }
        pairs.push(json!({"key": text_or_hex(&k), "value": text_or_hex(&v)}));
    }
    Ok(out(json!({"pairs": pairs, "more": more}), a.format))
}

/// `graph_neighbors`.
pub fn graph_neighbors(db: &Database, a: NeighborsArgs) -> Result<Output, ToolError> {
    let limit = check_range("limit", a.limit, 1, MAX_ITEMS)?;
    let mut w = walk_of(
        a.direction.as_deref(),
        a.edge_types,
        a.as_of_valid,
        a.as_of_tx,
    )?
    .limit(limit);
    if let Some(f) = &a.filter {
        w = w.filter(Filter::from_json(f).map_err(|e| bad(format!("filter: {e}")))?);
    }
    let g = db.graph(&a.namespace)?;
    let n = g.neighbors(&a.node, &w)?;
    let items: Vec<Json> = n
        .iter()
        .map(|x| {
            json!({"id": x.id, "type": x.edge.edge_type, "src": x.edge.src, "dst": x.edge.dst,
                   "props": x.edge.props, "valid_from": x.edge.valid_from, "valid_to": x.edge.valid_to})
        })
        .collect();
    Ok(out(json!({"node": a.node, "neighbors": items}), a.format))
}

/// `graph_traverse`.
pub fn graph_traverse(db: &Database, a: TraverseArgs) -> Result<Output, ToolError> {
    let depth = check_range("depth", a.depth.unwrap_or(2), 0, MAX_TOOL_DEPTH)?;
    let max_nodes = check_range("max_nodes", a.max_nodes, 1, MAX_ITEMS)?;
    let order = match a.order.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("bfs") => Order::Bfs,
        Some("dfs") => Order::Dfs,
        Some(o) => return Err(bad(format!("order {o:?}: expected bfs or dfs"))),
    };
    let w = walk_of(
        a.direction.as_deref(),
        a.edge_types,
        a.as_of_valid,
        a.as_of_tx,
    )?
    .max_depth(depth)
    .max_nodes(max_nodes)
    .order(order);
    let g = db.graph(&a.namespace)?;
    if let Some(target) = &a.target {
        let p = g.shortest_path(&a.start, target, &w)?;
        let v = match p {
            Some(p) => json!({"found": true, "nodes": p.nodes,
                "edges": p.edges.iter().map(|e| json!({"src": e.src, "type": e.edge_type, "dst": e.dst})).collect::<Vec<_>>()}),
            None => json!({"found": false}),
        };
        return Ok(out(v, a.format));
    }
    let visits = g.traverse(&a.start, &w)?;
    let mut items = Vec::with_capacity(visits.len());
    for v in &visits {
        let label = g.get_node(&v.id, w.as_of)?.map(|n| n.label);
        items.push(json!({"id": v.id, "label": label, "depth": v.depth,
               "edge": v.via.as_ref().map(|e| e.edge_type.clone()),
               "from": v.via.as_ref().map(|e| if e.dst == v.id { e.src.clone() } else { e.dst.clone() })}));
    }
    Ok(out(json!({"start": a.start, "visited": items}), a.format))
}

/// `graph_add`.
pub fn graph_add(db: &Database, a: GraphAddArgs) -> Result<Output, ToolError> {
    if a.nodes.is_empty() && a.edges.is_empty() {
        return Err(bad("graph_add needs at least one node or edge"));
    }
    if a.nodes.len() + a.edges.len() > MAX_ITEMS as usize {
        return Err(bad(format!("at most {MAX_ITEMS} nodes and edges per call")));
    }
    let (n, e) = db.transaction(|tx| {
        let g = tx.graph(&a.namespace)?;
        for n in &a.nodes {
            let valid = Valid {
                from: n.valid_from,
                to: n.valid_to,
            };
            let props = Json::Object(n.props.clone());
            let exists = a.upsert && g.get_node(&n.id, AsOf::now())?.is_some();
            if exists {
                g.update_node(&n.id, Some(&n.label), props, valid)?;
            } else {
                g.add_node(&n.id, &n.label, props, valid)?;
            }
        }
        for e in &a.edges {
            let valid = Valid {
                from: e.valid_from,
                to: e.valid_to,
            };
            let props = Json::Object(e.props.clone());
            let exists = a.upsert
                && g.get_edge(&e.src, &e.edge_type, &e.dst, AsOf::now())?
                    .is_some();
            if exists {
                g.update_edge(&e.src, &e.edge_type, &e.dst, props, valid)?;
            } else {
                g.add_edge(&e.src, &e.edge_type, &e.dst, props, valid)?;
            }
        }
        Ok((a.nodes.len(), a.edges.len()))
    })?;
    Ok(out(
        json!({"namespace": a.namespace, "nodes_written": n, "edges_written": e}),
        a.format,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_classification() {
        assert!(read_only_refusal("SELECT * FROM t").is_none());
        assert!(read_only_refusal(" -- c\n select 1; values (1)").is_none());
        assert!(read_only_refusal("SELECT 'DROP TABLE t'").is_none());
        assert!(read_only_refusal("CONTEXT SELECT SYSTEM 'delete me'").is_none());
        assert!(read_only_refusal("INSERT INTO t VALUES (1)").is_some());
        assert!(read_only_refusal("select 1; drop table t").is_some());
        assert!(read_only_refusal("WITH x AS (SELECT 1) DELETE FROM t").is_some());
        assert!(read_only_refusal("/* hi */ UPDATE t SET a = 1").is_some());
    }

    /// Two topics: "cat" words and "finance" words.
    struct Topics;
    impl toondb::TextEmbedder for Topics {
        fn dim(&self) -> usize {
            2
        }
        fn embed_texts(&self, texts: &[&str]) -> toondb::Result<Vec<Vec<f32>>> {
            Ok(texts
                .iter()
                .map(|t| {
                    let has = |w: &str| f32::from(u8::from(t.contains(w))) + 0.01;
                    vec![has("kitten") + has("cat"), has("stock") + has("market")]
                })
                .collect())
        }
    }

    fn search_args(v: Json) -> SearchArgs {
        serde_json::from_value(v).expect("search args")
    }

    #[test]
    fn text_search_uses_the_collection_embedder_when_there_is_one() {
        let db = Database::open_in_memory().unwrap();
        let c = db
            .create_collection("docs", 2, toondb::Metric::Cosine, Default::default())
            .unwrap();
        for (id, v, text) in [
            ("a", vec![1.0, 0.0], "a small kitten sleeps"),
            ("b", vec![0.0, 1.0], "stock prices fell"),
        ] {
            c.upsert(toondb::Document::new(id, v).with_text(text))
                .unwrap();
        }
        // Without an embedder: text alone is a keyword search, vector mode is refused.
        let Err(e) = search(
            &db,
            search_args(json!({"collection": "docs", "text": "cat", "mode": "vector"})),
        ) else {
            panic!("vector mode without a vector or an embedder must fail");
        };
        assert!(e.to_string().contains("embed-model"), "{e}");
        let o = search(
            &db,
            search_args(json!({"collection": "docs", "text": "cat"})),
        )
        .unwrap();
        assert_eq!(
            o.value["hits"].as_array().unwrap().len(),
            0,
            "{:?}",
            o.value
        );
        // With one: "cat" matches no keyword but is near document a by meaning.
        c.set_embedder(std::sync::Arc::new(Topics)).unwrap();
        for mode in [json!(null), json!("vector"), json!("hybrid")] {
            let o = search(
                &db,
                search_args(json!({"collection": "docs", "text": "cat", "mode": mode, "k": 1})),
            )
            .unwrap();
            assert_eq!(o.value["hits"][0]["id"], "a", "{mode}: {:?}", o.value);
        }
    }
}
