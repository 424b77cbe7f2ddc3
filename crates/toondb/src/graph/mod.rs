//! A bi-temporal property graph stored in the same engine as rows, documents and key-value
//! pairs, and changed in the same ACID transactions.
//!
//! - **Nodes** have an id, a label and a JSON object of properties; **edges** are directed,
//!   typed (`src -[type]-> dst`, at most one live edge per triple) and carry properties too.
//!   Both live in a *namespace* (any non-empty string), so one database can hold several
//!   independent graphs (for example one agent memory per user).
//! - **Bi-temporal**: every stored version has a *valid-time* interval (when the fact held in
//!   the world; given by the caller, default "from now on") and a *transaction-time*
//!   interval (when the database knew it; stamped by the database). Updates and deletes never
//!   erase: they close versions in transaction time and re-record what still holds. Reads
//!   default to "valid now, as currently known" and accept [`AsOf`] to recall what was true
//!   (`valid`) or what was known (`tx`) at a time. Times are microseconds since the Unix epoch.
//! - **Adjacency index**: out-edges of a node are stored under the node's key prefix and
//!   in-edges under a mirror prefix, so [`Graph::neighbors`] is a prefix scan (narrowed to one
//!   edge type when filtered by type), not a full scan.
//! - **Bounded walks**: [`Walk`] limits depth ([`MAX_DEPTH`]), visited nodes
//!   ([`MAX_NODES`]) and edges read per node; all traversals are iterative (no recursion), so
//!   untrusted input cannot exhaust the stack or the memory.
//!
//! ```
//! use serde_json::json;
//! use toondb::graph::{AsOf, Valid, Walk};
//! use toondb::Database;
//!
//! let db = Database::open_in_memory().unwrap();
//! let g = db.graph("memory").unwrap();
//! g.add_node("alice", "person", json!({"name": "Alice"}), Valid::now()).unwrap();
//! g.add_node("acme", "company", json!({}), Valid::now()).unwrap();
//! g.add_edge("alice", "works_at", "acme", json!({"role": "engineer"}), Valid::now()).unwrap();
//! let n = g.neighbors("alice", &Walk::default()).unwrap();
//! assert_eq!(n[0].id, "acme");
//! assert_eq!(n[0].edge.props["role"], "engineer");
//!
//! // The same transaction can write a row, a key and an edge.
//! db.execute("CREATE TABLE log(msg TEXT)", &[]).unwrap();
//! db.transaction(|tx| {
//!     tx.put("last", "bob")?;
//!     tx.execute("INSERT INTO log VALUES ('bob joined')", &[])?;
//!     let g = tx.graph("memory")?;
//!     g.add_node("bob", "person", json!({}), Valid::now())?;
//!     g.add_edge("bob", "knows", "alice", json!({}), Valid::now())?;
//!     Ok(())
//! })
//! .unwrap();
//! let path = g.shortest_path("bob", "acme", &Walk::default()).unwrap().unwrap();
//! assert_eq!(path.nodes, ["bob", "alice", "acme"]);
//!
//! // What was known before bob joined.
//! let before = path.edges[0].tx_from - 1;
//! assert!(g.get_node("bob", AsOf::tx(before)).unwrap().is_none());
//! ```

pub mod json;
mod store;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};

use serde_json::{Map, Value as Json};

use crate::db::Database;
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::txn::Transaction;
use store::{Header, OPEN, TAG_IN, TAG_NODE, TAG_OUT};

type St = toondb_storage::Transaction;
/// Nodes reached by one side of a bidirectional search: depth and the link toward its root.
type Reached = HashMap<String, (usize, Option<(String, Edge)>)>;
/// A stored version: key, decoded header, encoded value.
type Version = (Vec<u8>, Header, Vec<u8>);

/// Deepest walk accepted ([`Walk::max_depth`]).
pub const MAX_DEPTH: usize = 64;
/// Most nodes a walk may visit ([`Walk::max_nodes`]).
pub const MAX_NODES: usize = 1_000_000;
/// Most edges read per node ([`Walk::limit`]).
pub const MAX_DEGREE: usize = 1_000_000;
/// Longest namespace, node id or edge type (bytes).
pub const MAX_NAME_BYTES: usize = 1024;

static LAST_TICK: AtomicI64 = AtomicI64::new(i64::MIN);

/// Wall-clock microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX - 1))
}

/// A strictly increasing transaction time (process-wide).
pub(crate) fn tick() -> i64 {
    let sys = now_micros();
    let prev = LAST_TICK
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| {
            Some(sys.max(l.saturating_add(1)))
        })
        .unwrap_or(sys);
    sys.max(prev.saturating_add(1))
}

/// "Now" for reads: never earlier than a transaction time already handed out.
fn now_read() -> i64 {
    now_micros().max(LAST_TICK.load(Ordering::SeqCst))
}

// ------------------------------------------------------------------ public types

/// The valid-time interval of a write: `[from, to)`, microseconds since the epoch. `None`
/// for `from` means "the transaction time of the write" (now); `None` for `to` means open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Valid {
    /// Start (inclusive).
    pub from: Option<i64>,
    /// End (exclusive).
    pub to: Option<i64>,
}

impl Valid {
    /// From now on.
    pub fn now() -> Valid {
        Valid::default()
    }
    /// From `from` on.
    pub fn from(from: i64) -> Valid {
        Valid {
            from: Some(from),
            to: None,
        }
    }
    /// `[from, to)`.
    pub fn between(from: i64, to: i64) -> Valid {
        Valid {
            from: Some(from),
            to: Some(to),
        }
    }
}

/// The time a read looks at. Default: valid now, as currently known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AsOf {
    /// Valid time (what was true then). `None` = now.
    pub valid: Option<i64>,
    /// Transaction time (what the database knew then). `None` = now.
    pub tx: Option<i64>,
}

impl AsOf {
    /// Valid now, as currently known.
    pub fn now() -> AsOf {
        AsOf::default()
    }
    /// What was true at `valid`, as currently known.
    pub fn valid(valid: i64) -> AsOf {
        AsOf {
            valid: Some(valid),
            tx: None,
        }
    }
    /// What the database knew at transaction time `tx` (about "now").
    pub fn tx(tx: i64) -> AsOf {
        AsOf {
            valid: None,
            tx: Some(tx),
        }
    }
    /// Both coordinates.
    pub fn at(valid: Option<i64>, tx: Option<i64>) -> AsOf {
        AsOf { valid, tx }
    }
    fn resolve(self) -> At {
        At {
            valid: self.valid.unwrap_or_else(now_read),
            tx: self.tx,
        }
    }
}

#[derive(Clone, Copy)]
struct At {
    valid: i64,
    tx: Option<i64>,
}

impl At {
    fn sees(&self, h: &Header) -> bool {
        let known = match self.tx {
            None => h.tt == OPEN,
            Some(t) => h.tf <= t && t < h.tt,
        };
        known && h.vf <= self.valid && self.valid < h.vt
    }
}

fn open_end(t: i64) -> Option<i64> {
    (t != OPEN).then_some(t)
}

/// One version of a node.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Node {
    /// Node id (unique within the namespace).
    pub id: String,
    /// Label (for example `person`).
    pub label: String,
    /// Properties.
    pub props: Map<String, Json>,
    /// Valid time start (inclusive).
    pub valid_from: i64,
    /// Valid time end (exclusive); `None` = still valid.
    pub valid_to: Option<i64>,
    /// Transaction time this version was recorded.
    pub tx_from: i64,
    /// Transaction time this version was superseded; `None` = current knowledge.
    pub tx_to: Option<i64>,
}

impl Node {
    /// As a JSON object (`id`, `label`, `props`, `valid_from`, `valid_to`, `tx_from`, `tx_to`).
    pub fn to_json(&self) -> Json {
        let mut m = Map::new();
        m.insert("id".into(), Json::from(self.id.clone()));
        m.insert("label".into(), Json::from(self.label.clone()));
        m.insert("props".into(), Json::Object(self.props.clone()));
        times(
            &mut m,
            self.valid_from,
            self.valid_to,
            self.tx_from,
            self.tx_to,
        );
        Json::Object(m)
    }
}

fn times(m: &mut Map<String, Json>, vf: i64, vt: Option<i64>, tf: i64, tt: Option<i64>) {
    m.insert("valid_from".into(), Json::from(vf));
    m.insert("valid_to".into(), vt.map_or(Json::Null, Json::from));
    m.insert("tx_from".into(), Json::from(tf));
    m.insert("tx_to".into(), tt.map_or(Json::Null, Json::from));
}

/// One version of a directed, typed edge.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Edge {
    /// Source node id.
    pub src: String,
    /// Edge type (for example `knows`).
    pub edge_type: String,
    /// Destination node id.
    pub dst: String,
    /// Properties.
    pub props: Map<String, Json>,
    /// Valid time start (inclusive).
    pub valid_from: i64,
    /// Valid time end (exclusive); `None` = still valid.
    pub valid_to: Option<i64>,
    /// Transaction time this version was recorded.
    pub tx_from: i64,
    /// Transaction time this version was superseded; `None` = current knowledge.
    pub tx_to: Option<i64>,
}

impl Edge {
    /// As a JSON object (`src`, `type`, `dst`, `props`, `valid_from`, `valid_to`, `tx_from`,
    /// `tx_to`).
    pub fn to_json(&self) -> Json {
        let mut m = Map::new();
        m.insert("src".into(), Json::from(self.src.clone()));
        m.insert("type".into(), Json::from(self.edge_type.clone()));
        m.insert("dst".into(), Json::from(self.dst.clone()));
        m.insert("props".into(), Json::Object(self.props.clone()));
        times(
            &mut m,
            self.valid_from,
            self.valid_to,
            self.tx_from,
            self.tx_to,
        );
        Json::Object(m)
    }
}

/// Which edges of a node a walk follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EdgeDirection {
    /// Edges leaving the node.
    #[default]
    Out,
    /// Edges arriving at the node.
    In,
    /// Both.
    Both,
}

impl std::str::FromStr for EdgeDirection {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "out" | "outgoing" => Ok(EdgeDirection::Out),
            "in" | "incoming" => Ok(EdgeDirection::In),
            "both" | "any" => Ok(EdgeDirection::Both),
            _ => Err(Error::invalid(format!(
                "direction {s:?}: expected out, in or both"
            ))),
        }
    }
}

/// Traversal order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// Breadth-first.
    #[default]
    Bfs,
    /// Depth-first.
    Dfs,
}

/// Options shared by neighbour queries and walks. Start from `Walk::default()`: out-edges of
/// any type, depth 2, at most 1000 nodes and 1000 edges per node, as of now.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Walk {
    /// Which edges to follow.
    pub direction: EdgeDirection,
    /// Only these edge types (empty = all).
    pub edge_types: Vec<String>,
    /// Only edges whose properties match.
    pub filter: Option<Filter>,
    /// Depth limit of traversals (1 = direct neighbours). At most [`MAX_DEPTH`].
    pub max_depth: usize,
    /// Most nodes a traversal visits (the start included). At most [`MAX_NODES`].
    pub max_nodes: usize,
    /// Most edges read per node. At most [`MAX_DEGREE`].
    pub limit: usize,
    /// Traversal order for [`Graph::traverse`].
    pub order: Order,
    /// The time looked at.
    pub as_of: AsOf,
}

impl Default for Walk {
    fn default() -> Self {
        Walk {
            direction: EdgeDirection::Out,
            edge_types: Vec::new(),
            filter: None,
            max_depth: 2,
            max_nodes: 1000,
            limit: 1000,
            order: Order::Bfs,
            as_of: AsOf::now(),
        }
    }
}

impl Walk {
    /// Sets the direction.
    pub fn direction(mut self, d: EdgeDirection) -> Self {
        self.direction = d;
        self
    }
    /// Follows only edges of these types.
    pub fn edge_types<S: Into<String>>(mut self, types: impl IntoIterator<Item = S>) -> Self {
        self.edge_types = types.into_iter().map(Into::into).collect();
        self
    }
    /// Follows only edges whose properties match `f`.
    pub fn filter(mut self, f: Filter) -> Self {
        self.filter = Some(f);
        self
    }
    /// Sets the depth limit.
    pub fn max_depth(mut self, d: usize) -> Self {
        self.max_depth = d;
        self
    }
    /// Sets the visited-node limit.
    pub fn max_nodes(mut self, n: usize) -> Self {
        self.max_nodes = n;
        self
    }
    /// Sets the per-node edge limit.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = n;
        self
    }
    /// Sets the traversal order.
    pub fn order(mut self, o: Order) -> Self {
        self.order = o;
        self
    }
    /// Sets the time looked at.
    pub fn as_of(mut self, a: AsOf) -> Self {
        self.as_of = a;
        self
    }

    fn check(&self) -> Result<()> {
        if self.max_depth > MAX_DEPTH {
            return Err(Error::invalid(format!(
                "max_depth {} exceeds the limit {MAX_DEPTH}",
                self.max_depth
            )));
        }
        if self.max_nodes == 0 || self.max_nodes > MAX_NODES {
            return Err(Error::invalid(format!(
                "max_nodes must be in 1..={MAX_NODES}, got {}",
                self.max_nodes
            )));
        }
        if self.limit == 0 || self.limit > MAX_DEGREE {
            return Err(Error::invalid(format!(
                "limit must be in 1..={MAX_DEGREE}, got {}",
                self.limit
            )));
        }
        for t in &self.edge_types {
            check_name("edge type", t)?;
        }
        Ok(())
    }
}

/// A neighbour of a node and the edge leading to it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Neighbor {
    /// The neighbour's id.
    pub id: String,
    /// The edge (as stored: `src -> dst`, whichever end the neighbour is).
    pub edge: Edge,
}

/// A node reached by a traversal.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Visit {
    /// Node id.
    pub id: String,
    /// Hops from the start (0 for the start).
    pub depth: usize,
    /// The edge it was reached through (`None` for the start).
    pub via: Option<Edge>,
}

/// A path between two nodes.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct GraphPath {
    /// Node ids from the start to the end.
    pub nodes: Vec<String>,
    /// The edges between consecutive nodes.
    pub edges: Vec<Edge>,
}

/// Nodes around a centre and the edges among them.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Subgraph {
    /// Nodes (the centre first, then in traversal order).
    pub nodes: Vec<Node>,
    /// Edges whose both ends are in `nodes`.
    pub edges: Vec<Edge>,
    /// Whether `max_nodes` cut the walk short.
    pub truncated: bool,
}

impl Subgraph {
    /// As a JSON object `{nodes: [...], edges: [...], truncated}`.
    pub fn to_json(&self) -> Json {
        let mut m = Map::new();
        m.insert(
            "nodes".into(),
            Json::Array(self.nodes.iter().map(Node::to_json).collect()),
        );
        m.insert(
            "edges".into(),
            Json::Array(self.edges.iter().map(Edge::to_json).collect()),
        );
        m.insert("truncated".into(), Json::Bool(self.truncated));
        Json::Object(m)
    }
}

// ------------------------------------------------------------------ validation

fn check_name(what: &str, s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Error::invalid(format!("{what} must not be empty")));
    }
    if s.len() > MAX_NAME_BYTES {
        return Err(Error::invalid(format!(
            "{what} is {} bytes; the limit is {MAX_NAME_BYTES}",
            s.len()
        )));
    }
    Ok(())
}

fn props_obj(props: Json) -> Result<Map<String, Json>> {
    match props {
        Json::Object(m) => Ok(m),
        Json::Null => Ok(Map::new()),
        other => Err(Error::invalid(format!(
            "properties must be a JSON object, got {}",
            match other {
                Json::Array(_) => "an array",
                Json::String(_) => "a string",
                Json::Number(_) => "a number",
                _ => "a boolean",
            }
        ))),
    }
}

fn interval(v: Valid, now: i64) -> Result<(i64, i64)> {
    let a = v.from.unwrap_or(now);
    let b = v.to.unwrap_or(OPEN);
    if a >= b {
        return Err(Error::invalid(format!(
            "valid time interval [{a}, {b}) is empty: from must be before to"
        )));
    }
    if a == i64::MIN || a == OPEN {
        return Err(Error::invalid("valid_from out of range"));
    }
    Ok((a, b))
}

// ------------------------------------------------------------------ versioned writes

/// Current versions stored under `prefix` whose valid time overlaps `[a, b)`.
fn overlapping(t: &mut St, prefix: &[u8], a: i64, b: i64) -> Result<Vec<Version>> {
    let mut out = Vec::new();
    for kv in t.scan_prefix(prefix)? {
        let (k, v) = kv?;
        if k.len() != prefix.len() + 16 {
            return Err(Error::corrupt(
                "graph version key",
                k.len(),
                "unexpected key length",
            ));
        }
        let h = Header::decode(&v)?;
        if h.current() && h.vf < b && a < h.vt {
            out.push((k, h, v));
        }
    }
    Ok(out)
}

/// Ends the overlapping current versions over `[a, b)` (re-recording the parts outside it)
/// under every prefix in `prefixes` (the first is the one `found` was read from), then
/// records `new` over `[a, b)` if given.
fn apply(
    t: &mut St,
    prefixes: &[&[u8]],
    found: &[Version],
    now: i64,
    (a, b): (i64, i64),
    new: Option<&dyn Fn(Header) -> Vec<u8>>,
) -> Result<()> {
    let plen = prefixes.first().map_or(0, |p| p.len());
    for (k, h, v) in found {
        let suffix = &k[plen..];
        if h.tf > now {
            return Err(Error::invalid(format!(
                "transaction time went backwards: a version was recorded at {} and this transaction runs at {now} (system clock moved back?)",
                h.tf
            )));
        }
        for p in prefixes {
            let key = [p, suffix].concat();
            if h.tf == now {
                // Recorded by this very transaction: it was never visible in transaction time.
                t.delete(&key)?;
            } else {
                t.put(&key, &store::with_header(v, Header { tt: now, ..*h }))?;
            }
        }
        let mut keep = Vec::new();
        if h.vf < a {
            keep.push(Header {
                vf: h.vf,
                vt: a,
                tf: now,
                tt: OPEN,
            });
        }
        if b < h.vt {
            keep.push(Header {
                vf: b,
                vt: h.vt,
                tf: now,
                tt: OPEN,
            });
        }
        for nh in keep {
            let val = store::with_header(v, nh);
            for p in prefixes {
                t.put(&store::version_key(p, now, nh.vf), &val)?;
            }
        }
    }
    if let Some(f) = new {
        let h = Header {
            vf: a,
            vt: b,
            tf: now,
            tt: OPEN,
        };
        let val = f(h);
        for p in prefixes {
            t.put(&store::version_key(p, now, a), &val)?;
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ the graph in a transaction

/// A graph namespace seen through a [`Transaction`] (see [`Transaction::graph`]): writes are
/// buffered in the transaction and commit atomically with its rows, documents and keys;
/// reads see the transaction's own writes.
pub struct TxnGraph<'a> {
    tx: &'a Transaction,
    ns: String,
}

impl std::fmt::Debug for TxnGraph<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxnGraph").field("ns", &self.ns).finish()
    }
}

impl Transaction {
    /// The graph namespace `ns` inside this transaction.
    pub fn graph(&self, ns: &str) -> Result<TxnGraph<'_>> {
        check_name("graph namespace", ns)?;
        Ok(TxnGraph {
            tx: self,
            ns: ns.to_string(),
        })
    }
}

/// A raw adjacency entry read from the index.
struct Adj {
    out: bool,
    edge_type: String,
    other: String,
    h: Header,
    value: Vec<u8>,
}

impl Adj {
    fn edge(&self, me: &str) -> Result<Edge> {
        let (src, dst) = if self.out {
            (me.to_string(), self.other.clone())
        } else {
            (self.other.clone(), me.to_string())
        };
        Ok(Edge {
            src,
            edge_type: self.edge_type.clone(),
            dst,
            props: store::decode_edge(&self.value)?,
            valid_from: self.h.vf,
            valid_to: open_end(self.h.vt),
            tx_from: self.h.tf,
            tx_to: open_end(self.h.tt),
        })
    }
}

impl TxnGraph<'_> {
    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    fn op<T>(&self, f: impl FnOnce(&mut St) -> Result<T>) -> Result<T> {
        self.tx.storage_op(f)
    }

    /// Adds a node; [`Error::AlreadyExists`] if a node with this id is already valid at some
    /// time in `valid` (as currently known). `props` must be a JSON object (or null).
    pub fn add_node(&self, id: &str, label: &str, props: Json, valid: Valid) -> Result<Node> {
        check_name("node id", id)?;
        check_name("node label", label)?;
        let props = props_obj(props)?;
        let now = self.tx.graph_time();
        let iv = interval(valid, now)?;
        let p = store::node_prefix(&self.ns, id);
        self.op(|t| {
            if !overlapping(t, &p, iv.0, iv.1)?.is_empty() {
                return Err(Error::AlreadyExists(format!(
                    "node {id:?} in graph {:?}",
                    self.ns
                )));
            }
            apply(
                t,
                &[&p],
                &[],
                now,
                iv,
                Some(&|h| store::encode_node(h, label, &props)),
            )
        })?;
        Ok(node_from(id, label, props, iv, now))
    }

    /// Replaces the properties (and the label, if given) of a node over `valid`; the parts
    /// of earlier versions outside `valid` stay as they were. [`Error::NotFound`] if the node
    /// is valid at no time in `valid`.
    pub fn update_node(
        &self,
        id: &str,
        label: Option<&str>,
        props: Json,
        valid: Valid,
    ) -> Result<Node> {
        check_name("node id", id)?;
        if let Some(l) = label {
            check_name("node label", l)?;
        }
        let props = props_obj(props)?;
        let now = self.tx.graph_time();
        let iv = interval(valid, now)?;
        let p = store::node_prefix(&self.ns, id);
        self.op(|t| {
            let found = overlapping(t, &p, iv.0, iv.1)?;
            let Some((_, _, last)) = found.last() else {
                return Err(self.missing_node(id));
            };
            let label = match label {
                Some(l) => l.to_string(),
                None => store::decode_node(last)?.0,
            };
            apply(
                t,
                &[&p],
                &found,
                now,
                iv,
                Some(&|h| store::encode_node(h, &label, &props)),
            )?;
            Ok(node_from(id, &label, props, iv, now))
        })
    }

    /// Ends a node over `valid` (default: from now on), and every edge touching it over the
    /// same interval. Returns whether the node was valid at some time in `valid`. History is
    /// kept: [`AsOf`] queries still see the earlier versions.
    pub fn delete_node(&self, id: &str, valid: Valid) -> Result<bool> {
        check_name("node id", id)?;
        let now = self.tx.graph_time();
        let iv = interval(valid, now)?;
        let p = store::node_prefix(&self.ns, id);
        self.op(|t| {
            let found = overlapping(t, &p, iv.0, iv.1)?;
            if found.is_empty() {
                return Ok(false);
            }
            apply(t, &[&p], &found, now, iv, None)?;
            for out in [true, false] {
                let tag = if out { TAG_OUT } else { TAG_IN };
                let adj = store::adj_prefix(&self.ns, tag, id, None, None);
                let mut groups: Vec<(String, String)> = Vec::new();
                for kv in t.scan_prefix(&adj)? {
                    let (k, _) = kv?;
                    let (ty, other, _, _) = store::split_adj(&k[adj.len()..])?;
                    if groups.last() != Some(&(ty.clone(), other.clone())) {
                        groups.push((ty, other));
                    }
                }
                for (ty, other) in groups {
                    let (src, dst) = if out {
                        (id, other.as_str())
                    } else {
                        (other.as_str(), id)
                    };
                    self.end_edge(t, src, &ty, dst, now, iv)?;
                }
            }
            Ok(true)
        })
    }

    fn end_edge(
        &self,
        t: &mut St,
        src: &str,
        ty: &str,
        dst: &str,
        now: i64,
        iv: (i64, i64),
    ) -> Result<bool> {
        let po = store::adj_prefix(&self.ns, TAG_OUT, src, Some(ty), Some(dst));
        let pi = store::adj_prefix(&self.ns, TAG_IN, dst, Some(ty), Some(src));
        let found = overlapping(t, &po, iv.0, iv.1)?;
        if found.is_empty() {
            return Ok(false);
        }
        apply(t, &[&po, &pi], &found, now, iv, None)?;
        Ok(true)
    }

    fn missing_node(&self, id: &str) -> Error {
        Error::NotFound(format!("node {id:?} in graph {:?}", self.ns))
    }

    /// Adds the edge `src -[edge_type]-> dst`. Both nodes must be valid at some time in
    /// `valid` ([`Error::NotFound`] otherwise); [`Error::AlreadyExists`] if this edge already
    /// is.
    pub fn add_edge(
        &self,
        src: &str,
        edge_type: &str,
        dst: &str,
        props: Json,
        valid: Valid,
    ) -> Result<Edge> {
        self.write_edge(src, edge_type, dst, props, valid, false)
    }

    /// Replaces the properties of an edge over `valid`. [`Error::NotFound`] if the edge is
    /// valid at no time in `valid`.
    pub fn update_edge(
        &self,
        src: &str,
        edge_type: &str,
        dst: &str,
        props: Json,
        valid: Valid,
    ) -> Result<Edge> {
        self.write_edge(src, edge_type, dst, props, valid, true)
    }

    fn write_edge(
        &self,
        src: &str,
        edge_type: &str,
        dst: &str,
        props: Json,
        valid: Valid,
        update: bool,
    ) -> Result<Edge> {
        check_name("node id", src)?;
        check_name("edge type", edge_type)?;
        check_name("node id", dst)?;
        let props = props_obj(props)?;
        let now = self.tx.graph_time();
        let iv = interval(valid, now)?;
        let po = store::adj_prefix(&self.ns, TAG_OUT, src, Some(edge_type), Some(dst));
        let pi = store::adj_prefix(&self.ns, TAG_IN, dst, Some(edge_type), Some(src));
        self.op(|t| {
            let found = overlapping(t, &po, iv.0, iv.1)?;
            if update && found.is_empty() {
                return Err(Error::NotFound(format!(
                    "edge {src:?} -[{edge_type}]-> {dst:?} in graph {:?}",
                    self.ns
                )));
            }
            if !update {
                if !found.is_empty() {
                    return Err(Error::AlreadyExists(format!(
                        "edge {src:?} -[{edge_type}]-> {dst:?} in graph {:?}",
                        self.ns
                    )));
                }
                for n in [src, dst] {
                    let np = store::node_prefix(&self.ns, n);
                    if overlapping(t, &np, iv.0, iv.1)?.is_empty() {
                        return Err(self.missing_node(n));
                    }
                }
            }
            apply(
                t,
                &[&po, &pi],
                &found,
                now,
                iv,
                Some(&|h| store::encode_edge(h, &props)),
            )
        })?;
        Ok(Edge {
            src: src.into(),
            edge_type: edge_type.into(),
            dst: dst.into(),
            props,
            valid_from: iv.0,
            valid_to: open_end(iv.1),
            tx_from: now,
            tx_to: None,
        })
    }

    /// Ends the edge over `valid` (default: from now on). Returns whether it was valid at
    /// some time in `valid`.
    pub fn delete_edge(&self, src: &str, edge_type: &str, dst: &str, valid: Valid) -> Result<bool> {
        check_name("node id", src)?;
        check_name("edge type", edge_type)?;
        check_name("node id", dst)?;
        let now = self.tx.graph_time();
        let iv = interval(valid, now)?;
        self.op(|t| self.end_edge(t, src, edge_type, dst, now, iv))
    }

    /// The node as of `as_of`.
    pub fn get_node(&self, id: &str, as_of: AsOf) -> Result<Option<Node>> {
        check_name("node id", id)?;
        let at = as_of.resolve();
        self.op(|t| self.node_at(t, id, at))
    }

    fn node_at(&self, t: &mut St, id: &str, at: At) -> Result<Option<Node>> {
        let p = store::node_prefix(&self.ns, id);
        for kv in t.scan_prefix(&p)? {
            let (_, v) = kv?;
            let h = Header::decode(&v)?;
            if at.sees(&h) {
                let (label, props) = store::decode_node(&v)?;
                return Ok(Some(Node {
                    id: id.to_string(),
                    label,
                    props,
                    valid_from: h.vf,
                    valid_to: open_end(h.vt),
                    tx_from: h.tf,
                    tx_to: open_end(h.tt),
                }));
            }
        }
        Ok(None)
    }

    /// Every stored version of a node (all valid and transaction times), in the order they
    /// were recorded.
    pub fn node_history(&self, id: &str) -> Result<Vec<Node>> {
        check_name("node id", id)?;
        let p = store::node_prefix(&self.ns, id);
        self.op(|t| {
            let mut out = Vec::new();
            for kv in t.scan_prefix(&p)? {
                let (_, v) = kv?;
                let h = Header::decode(&v)?;
                let (label, props) = store::decode_node(&v)?;
                out.push(Node {
                    id: id.to_string(),
                    label,
                    props,
                    valid_from: h.vf,
                    valid_to: open_end(h.vt),
                    tx_from: h.tf,
                    tx_to: open_end(h.tt),
                });
            }
            Ok(out)
        })
    }

    /// Nodes of the namespace as of `as_of`, in id order, optionally only those with
    /// `label`; at most `limit`.
    pub fn nodes(&self, label: Option<&str>, as_of: AsOf, limit: usize) -> Result<Vec<Node>> {
        let at = as_of.resolve();
        let p = store::ns_prefix(&self.ns, TAG_NODE);
        self.op(|t| {
            let mut out = Vec::new();
            for kv in t.scan_prefix(&p)? {
                if out.len() >= limit {
                    break;
                }
                let (k, v) = kv?;
                let h = Header::decode(&v)?;
                if !at.sees(&h) {
                    continue;
                }
                let (id, n) = crate::keys::decode_segment(&k[p.len()..])?;
                store::split_version(&k[p.len() + n..])?;
                let (l, props) = store::decode_node(&v)?;
                if label.is_some_and(|want| want != l) {
                    continue;
                }
                out.push(Node {
                    id,
                    label: l,
                    props,
                    valid_from: h.vf,
                    valid_to: open_end(h.vt),
                    tx_from: h.tf,
                    tx_to: open_end(h.tt),
                });
            }
            Ok(out)
        })
    }

    /// The edge `src -[edge_type]-> dst` as of `as_of`.
    pub fn get_edge(
        &self,
        src: &str,
        edge_type: &str,
        dst: &str,
        as_of: AsOf,
    ) -> Result<Option<Edge>> {
        check_name("node id", src)?;
        check_name("edge type", edge_type)?;
        check_name("node id", dst)?;
        let at = as_of.resolve();
        let p = store::adj_prefix(&self.ns, TAG_OUT, src, Some(edge_type), Some(dst));
        self.op(|t| {
            for kv in t.scan_prefix(&p)? {
                let (_, v) = kv?;
                let h = Header::decode(&v)?;
                if at.sees(&h) {
                    return Ok(Some(
                        Adj {
                            out: true,
                            edge_type: edge_type.into(),
                            other: dst.into(),
                            h,
                            value: v,
                        }
                        .edge(src)?,
                    ));
                }
            }
            Ok(None)
        })
    }

    /// Reads the visible adjacency entries of `id` per `w` (at most `w.limit`).
    fn adjacent(&self, t: &mut St, id: &str, w: &Walk, at: At, out: &mut Vec<Adj>) -> Result<()> {
        out.clear();
        let dirs: &[bool] = match w.direction {
            EdgeDirection::Out => &[true],
            EdgeDirection::In => &[false],
            EdgeDirection::Both => &[true, false],
        };
        let types: Vec<Option<&str>> = if w.edge_types.is_empty() {
            vec![None]
        } else {
            w.edge_types.iter().map(|s| Some(s.as_str())).collect()
        };
        let base_len = store::adj_prefix(&self.ns, TAG_OUT, id, None, None).len();
        for &o in dirs {
            let tag = if o { TAG_OUT } else { TAG_IN };
            for ty in &types {
                let p = store::adj_prefix(&self.ns, tag, id, *ty, None);
                for kv in t.scan_prefix(&p)? {
                    if out.len() >= w.limit {
                        return Ok(());
                    }
                    let (k, v) = kv?;
                    let h = Header::decode(&v)?;
                    if !at.sees(&h) {
                        continue;
                    }
                    let (edge_type, other, _, _) = store::split_adj(&k[base_len..])?;
                    if let Some(f) = &w.filter {
                        if !f.matches(&store::decode_edge(&v)?) {
                            continue;
                        }
                    }
                    out.push(Adj {
                        out: o,
                        edge_type,
                        other,
                        h,
                        value: v,
                    });
                }
            }
        }
        Ok(())
    }

    /// Direct neighbours of `id` (direction, edge types, property filter, time and limit
    /// from `w`).
    pub fn neighbors(&self, id: &str, w: &Walk) -> Result<Vec<Neighbor>> {
        check_name("node id", id)?;
        w.check()?;
        let at = w.as_of.resolve();
        self.op(|t| {
            let mut adj = Vec::new();
            self.adjacent(t, id, w, at, &mut adj)?;
            adj.iter()
                .map(|a| {
                    Ok(Neighbor {
                        id: a.other.clone(),
                        edge: a.edge(id)?,
                    })
                })
                .collect()
        })
    }

    /// Nodes reachable from `start` within `w.max_depth` hops, breadth- or depth-first per
    /// `w.order`, at most `w.max_nodes` of them (the start first). The start is included
    /// only if it exists as of `w.as_of`; otherwise the result is empty.
    pub fn traverse(&self, start: &str, w: &Walk) -> Result<Vec<Visit>> {
        check_name("node id", start)?;
        w.check()?;
        let at = w.as_of.resolve();
        self.op(|t| {
            if self.node_at(t, start, at)?.is_none() {
                return Ok(Vec::new());
            }
            let mut visits = Vec::new();
            let mut seen: HashSet<String> = HashSet::new();
            let mut adj = Vec::new();
            match w.order {
                Order::Bfs => {
                    let mut queue: VecDeque<(String, usize, Option<Edge>)> = VecDeque::new();
                    seen.insert(start.to_string());
                    queue.push_back((start.to_string(), 0, None));
                    while let Some((id, depth, via)) = queue.pop_front() {
                        if depth < w.max_depth {
                            self.adjacent(t, &id, w, at, &mut adj)?;
                            for a in &adj {
                                if seen.len() >= w.max_nodes {
                                    break;
                                }
                                if seen.insert(a.other.clone()) {
                                    queue.push_back((
                                        a.other.clone(),
                                        depth + 1,
                                        Some(a.edge(&id)?),
                                    ));
                                }
                            }
                        }
                        visits.push(Visit { id, depth, via });
                    }
                }
                Order::Dfs => {
                    let mut stack: Vec<(String, usize, Option<Edge>)> =
                        vec![(start.to_string(), 0, None)];
                    while let Some((id, depth, via)) = stack.pop() {
                        if visits.len() >= w.max_nodes {
                            break;
                        }
                        if !seen.insert(id.clone()) {
                            continue;
                        }
                        if depth < w.max_depth {
                            self.adjacent(t, &id, w, at, &mut adj)?;
                            for a in adj.iter().rev() {
                                if !seen.contains(&a.other) {
                                    stack.push((a.other.clone(), depth + 1, Some(a.edge(&id)?)));
                                }
                            }
                        }
                        visits.push(Visit { id, depth, via });
                    }
                }
            }
            Ok(visits)
        })
    }

    /// A shortest path (fewest hops) from `from` to `to` following `w`'s direction, edge
    /// types and filter, at most `w.max_depth` hops and `w.max_nodes` visited nodes; `None`
    /// if there is none within those limits. Bidirectional breadth-first search: the smaller
    /// frontier is expanded one whole level at a time (forward along `w.direction` from
    /// `from`, backward along the reverse direction from `to`, through the in-adjacency
    /// index), so a path of `d` hops visits about two balls of radius `d/2`, not one of
    /// radius `d`.
    pub fn shortest_path(&self, from: &str, to: &str, w: &Walk) -> Result<Option<GraphPath>> {
        check_name("node id", from)?;
        check_name("node id", to)?;
        w.check()?;
        let at = w.as_of.resolve();
        self.op(|t| {
            if self.node_at(t, from, at)?.is_none() || self.node_at(t, to, at)?.is_none() {
                return Ok(None);
            }
            if from == to {
                return Ok(Some(GraphPath {
                    nodes: vec![from.to_string()],
                    edges: Vec::new(),
                }));
            }
            let back = Walk {
                direction: match w.direction {
                    EdgeDirection::Out => EdgeDirection::In,
                    EdgeDirection::In => EdgeDirection::Out,
                    EdgeDirection::Both => EdgeDirection::Both,
                },
                ..w.clone()
            };
            // node -> (depth, link toward the side's root).
            let mut fwd: Reached = HashMap::from([(from.to_string(), (0, None))]);
            let mut bwd: Reached = HashMap::from([(to.to_string(), (0, None))]);
            let (mut ff, mut fb) = (vec![from.to_string()], vec![to.to_string()]);
            let (mut df, mut db) = (0usize, 0usize);
            let mut adj = Vec::new();
            while df + db < w.max_depth && !ff.is_empty() && !fb.is_empty() {
                let forward = ff.len() <= fb.len();
                let (frontier, mine, other, walk) = if forward {
                    (&mut ff, &mut fwd, &bwd, w)
                } else {
                    (&mut fb, &mut bwd, &fwd, &back)
                };
                let depth = if forward { df } else { db };
                // Best meeting found in this level: (total hops, node).
                let mut best: Option<(usize, String)> = None;
                let mut next = Vec::new();
                for id in frontier.iter() {
                    self.adjacent(t, id, walk, at, &mut adj)?;
                    for a in &adj {
                        if mine.contains_key(&a.other) {
                            continue;
                        }
                        if mine.len() + other.len() >= w.max_nodes {
                            return Ok(None);
                        }
                        mine.insert(
                            a.other.clone(),
                            (depth + 1, Some((id.clone(), a.edge(id)?))),
                        );
                        if let Some((od, _)) = other.get(&a.other) {
                            let total = depth + 1 + od;
                            if total <= w.max_depth && best.as_ref().is_none_or(|(b, _)| total < *b)
                            {
                                best = Some((total, a.other.clone()));
                            }
                        }
                        next.push(a.other.clone());
                    }
                }
                if let Some((_, meet)) = best {
                    return Ok(Some(join_path(&fwd, &bwd, &meet)));
                }
                *frontier = next;
                if forward {
                    df += 1;
                } else {
                    db += 1;
                }
            }
            Ok(None)
        })
    }

    /// The nodes within `w.max_depth` hops of `center` (per `w`) and every edge among them
    /// (of `w`'s edge types and filter), as of `w.as_of`.
    pub fn subgraph(&self, center: &str, w: &Walk) -> Result<Subgraph> {
        let visits = self.traverse(center, w)?;
        let truncated = visits.len() >= w.max_nodes;
        let at = w.as_of.resolve();
        let ids: HashSet<&str> = visits.iter().map(|v| v.id.as_str()).collect();
        let out_walk = Walk {
            direction: EdgeDirection::Out,
            ..w.clone()
        };
        self.op(|t| {
            let mut sg = Subgraph {
                truncated,
                ..Subgraph::default()
            };
            let mut adj = Vec::new();
            for v in &visits {
                if let Some(n) = self.node_at(t, &v.id, at)? {
                    sg.nodes.push(n);
                }
                self.adjacent(t, &v.id, &out_walk, at, &mut adj)?;
                for a in &adj {
                    if ids.contains(a.other.as_str()) {
                        sg.edges.push(a.edge(&v.id)?);
                    }
                }
            }
            Ok(sg)
        })
    }
}

/// The path through `meet`: its forward chain back to the start, then its backward chain on
/// to the target.
fn join_path(fwd: &Reached, bwd: &Reached, meet: &str) -> GraphPath {
    let mut nodes = vec![meet.to_string()];
    let mut edges = Vec::new();
    let mut cur = meet.to_string();
    while let Some((_, Some((p, e)))) = fwd.get(&cur) {
        edges.push(e.clone());
        nodes.push(p.clone());
        cur = p.clone();
    }
    nodes.reverse();
    edges.reverse();
    let mut cur = meet.to_string();
    while let Some((_, Some((n, e)))) = bwd.get(&cur) {
        edges.push(e.clone());
        nodes.push(n.clone());
        cur = n.clone();
    }
    GraphPath { nodes, edges }
}

fn node_from(id: &str, label: &str, props: Map<String, Json>, iv: (i64, i64), now: i64) -> Node {
    Node {
        id: id.into(),
        label: label.into(),
        props,
        valid_from: iv.0,
        valid_to: open_end(iv.1),
        tx_from: now,
        tx_to: None,
    }
}

// ------------------------------------------------------------------ the graph on a Database

/// A graph namespace of a [`Database`] (see [`Database::graph`]). Every write is its own
/// transaction (retried on conflict); use [`Transaction::graph`] to combine writes with
/// rows, documents and keys atomically. Reads see a consistent snapshot.
#[derive(Clone, Debug)]
pub struct Graph {
    db: Database,
    ns: String,
}

impl Database {
    /// The graph namespace `ns` (any non-empty string up to [`MAX_NAME_BYTES`] bytes;
    /// namespaces need no creation).
    pub fn graph(&self, ns: &str) -> Result<Graph> {
        check_name("graph namespace", ns)?;
        Ok(Graph {
            db: self.clone(),
            ns: ns.to_string(),
        })
    }
}

impl Graph {
    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    fn write<T>(&self, mut f: impl FnMut(&TxnGraph<'_>) -> Result<T>) -> Result<T> {
        self.db.transaction(|tx| f(&tx.graph(&self.ns)?))
    }

    fn read<T>(&self, f: impl FnOnce(&TxnGraph<'_>) -> Result<T>) -> Result<T> {
        let tx = self.db.begin()?;
        let r = f(&tx.graph(&self.ns)?);
        tx.rollback();
        r
    }

    /// See [`TxnGraph::add_node`].
    pub fn add_node(&self, id: &str, label: &str, props: Json, valid: Valid) -> Result<Node> {
        self.write(|g| g.add_node(id, label, props.clone(), valid))
    }
    /// See [`TxnGraph::update_node`].
    pub fn update_node(
        &self,
        id: &str,
        label: Option<&str>,
        props: Json,
        valid: Valid,
    ) -> Result<Node> {
        self.write(|g| g.update_node(id, label, props.clone(), valid))
    }
    /// See [`TxnGraph::delete_node`].
    pub fn delete_node(&self, id: &str, valid: Valid) -> Result<bool> {
        self.write(|g| g.delete_node(id, valid))
    }
    /// See [`TxnGraph::add_edge`].
    pub fn add_edge(
        &self,
        src: &str,
        edge_type: &str,
        dst: &str,
        props: Json,
        valid: Valid,
    ) -> Result<Edge> {
        self.write(|g| g.add_edge(src, edge_type, dst, props.clone(), valid))
    }
    /// See [`TxnGraph::update_edge`].
    pub fn update_edge(
        &self,
        src: &str,
        edge_type: &str,
        dst: &str,
        props: Json,
        valid: Valid,
    ) -> Result<Edge> {
        self.write(|g| g.update_edge(src, edge_type, dst, props.clone(), valid))
    }
    /// See [`TxnGraph::delete_edge`].
    pub fn delete_edge(&self, src: &str, edge_type: &str, dst: &str, valid: Valid) -> Result<bool> {
        self.write(|g| g.delete_edge(src, edge_type, dst, valid))
    }
    /// See [`TxnGraph::get_node`].
    pub fn get_node(&self, id: &str, as_of: AsOf) -> Result<Option<Node>> {
        self.read(|g| g.get_node(id, as_of))
    }
    /// See [`TxnGraph::node_history`].
    pub fn node_history(&self, id: &str) -> Result<Vec<Node>> {
        self.read(|g| g.node_history(id))
    }
    /// See [`TxnGraph::nodes`].
    pub fn nodes(&self, label: Option<&str>, as_of: AsOf, limit: usize) -> Result<Vec<Node>> {
        self.read(|g| g.nodes(label, as_of, limit))
    }
    /// See [`TxnGraph::get_edge`].
    pub fn get_edge(
        &self,
        src: &str,
        edge_type: &str,
        dst: &str,
        as_of: AsOf,
    ) -> Result<Option<Edge>> {
        self.read(|g| g.get_edge(src, edge_type, dst, as_of))
    }
    /// See [`TxnGraph::neighbors`].
    pub fn neighbors(&self, id: &str, w: &Walk) -> Result<Vec<Neighbor>> {
        self.read(|g| g.neighbors(id, w))
    }
    /// See [`TxnGraph::traverse`].
    pub fn traverse(&self, start: &str, w: &Walk) -> Result<Vec<Visit>> {
        self.read(|g| g.traverse(start, w))
    }
    /// See [`TxnGraph::shortest_path`].
    pub fn shortest_path(&self, from: &str, to: &str, w: &Walk) -> Result<Option<GraphPath>> {
        self.read(|g| g.shortest_path(from, to, w))
    }
    /// See [`TxnGraph::subgraph`].
    pub fn subgraph(&self, center: &str, w: &Walk) -> Result<Subgraph> {
        self.read(|g| g.subgraph(center, w))
    }
}
