//! A JSON command interface to the graph, shared by the SDKs (Python, Node, Go through the C
//! ABI) and the gRPC `Graph.Call` RPC, so every binding exposes the same operations with the
//! same argument names and results.
//!
//! `op` is one of `add_node`, `update_node`, `delete_node`, `add_edge`, `update_edge`,
//! `delete_edge`, `get_node`, `get_edge`, `node_history`, `nodes`, `neighbors`, `traverse`,
//! `shortest_path`, `subgraph`. `args` is a JSON object:
//!
//! | field | used by | meaning |
//! | --- | --- | --- |
//! | `id`, `label`, `props` | node writes, `get_node`, `node_history` | node id, label, properties object |
//! | `src`, `type`, `dst`, `props` | edge writes, `get_edge` | the edge |
//! | `valid_from`, `valid_to` | writes | valid-time interval (microseconds; default now / open) |
//! | `as_of_valid`, `as_of_tx` | reads | the time looked at (default now) |
//! | `node`/`start`, `target` | `neighbors`, `traverse`, `subgraph` / `shortest_path` | where walks start / end |
//! | `direction`, `edge_types`, `filter`, `depth`, `max_nodes`, `limit`, `order` | walks | see [`Walk`] |
//!
//! Results: nodes and edges as in [`Node::to_json`] / [`Edge::to_json`]; `get_*` return null
//! when absent; deletes return `{"deleted": bool}`; `neighbors` a list of `{id, edge}`;
//! `traverse` a list of `{id, depth, via}`; `shortest_path` `{nodes, edges}` or null;
//! `subgraph` `{nodes, edges, truncated}`. Unknown fields are refused.
//!
//! ```
//! use serde_json::json;
//! let db = toondb::Database::open_in_memory().unwrap();
//! let g = db.graph("m").unwrap();
//! g.call_json("add_node", &json!({"id": "a", "label": "person"})).unwrap();
//! g.call_json("add_node", &json!({"id": "b", "label": "person"})).unwrap();
//! g.call_json("add_edge", &json!({"src": "a", "type": "knows", "dst": "b"})).unwrap();
//! let n = g.call_json("neighbors", &json!({"node": "a"})).unwrap();
//! assert_eq!(n[0]["id"], "b");
//! assert!(g.call_json("neighbors", &json!({"node": "a", "depth": "x"})).is_err());
//! ```

use serde_json::{json, Map, Value as Json};

use super::{AsOf, EdgeDirection, Graph, Order, TxnGraph, Valid, Walk};
use crate::error::{Error, Result};
use crate::filter::Filter;

const WRITES: &[&str] = &[
    "add_node",
    "update_node",
    "delete_node",
    "add_edge",
    "update_edge",
    "delete_edge",
];

/// Whether `op` changes the graph.
pub fn is_write(op: &str) -> bool {
    WRITES.contains(&op)
}

/// Parses the arguments of a command given as JSON text, as the bindings receive them: empty
/// or blank text means no arguments (`null`); malformed JSON is an invalid-argument error.
///
/// ```
/// use toondb::graph::json::parse_args;
/// assert!(parse_args("  ").unwrap().is_null());
/// assert_eq!(parse_args(r#"{"id": "a"}"#).unwrap()["id"], "a");
/// assert!(parse_args("{").is_err());
/// ```
pub fn parse_args(text: &str) -> Result<Json> {
    match text.trim() {
        "" => Ok(Json::Null),
        t => serde_json::from_str(t)
            .map_err(|e| Error::invalid(format!("graph arguments are not JSON: {e}"))),
    }
}

struct Args<'a> {
    op: &'a str,
    m: &'a Map<String, Json>,
}

impl<'a> Args<'a> {
    fn allow(&self, fields: &[&str]) -> Result<()> {
        for k in self.m.keys() {
            if !fields.contains(&k.as_str()) {
                return Err(Error::invalid(format!(
                    "{}: unknown argument {k:?} (expected one of {})",
                    self.op,
                    fields.join(", ")
                )));
            }
        }
        Ok(())
    }
    fn str_opt(&self, k: &str) -> Result<Option<&'a str>> {
        match self.m.get(k) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => Ok(Some(s)),
            Some(_) => Err(Error::invalid(format!("{}: {k} must be a string", self.op))),
        }
    }
    fn str(&self, k: &str) -> Result<&'a str> {
        self.str_opt(k)?
            .ok_or_else(|| Error::invalid(format!("{}: missing argument {k:?}", self.op)))
    }
    fn int_opt(&self, k: &str) -> Result<Option<i64>> {
        match self.m.get(k) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(_) => Err(Error::invalid(format!(
                "{}: {k} must be an integer",
                self.op
            ))),
        }
    }
    fn usize_opt(&self, k: &str) -> Result<Option<usize>> {
        match self.int_opt(k)? {
            None => Ok(None),
            Some(v) => usize::try_from(v)
                .map(Some)
                .map_err(|_| Error::invalid(format!("{}: {k} must not be negative", self.op))),
        }
    }
    fn props(&self) -> Result<Json> {
        match self.m.get("props") {
            None | Some(Json::Null) => Ok(Json::Object(Map::new())),
            Some(v @ Json::Object(_)) => Ok(v.clone()),
            Some(_) => Err(Error::invalid(format!(
                "{}: props must be a JSON object",
                self.op
            ))),
        }
    }
    fn valid(&self) -> Result<Valid> {
        Ok(Valid {
            from: self.int_opt("valid_from")?,
            to: self.int_opt("valid_to")?,
        })
    }
    fn as_of(&self) -> Result<AsOf> {
        Ok(AsOf::at(
            self.int_opt("as_of_valid")?,
            self.int_opt("as_of_tx")?,
        ))
    }
    fn walk(&self) -> Result<Walk> {
        let mut w = Walk::default().as_of(self.as_of()?);
        if let Some(d) = self.str_opt("direction")? {
            w.direction = d.parse::<EdgeDirection>()?;
        }
        match self.m.get("edge_types") {
            None | Some(Json::Null) => {}
            Some(Json::Array(a)) => {
                w.edge_types = a
                    .iter()
                    .map(|t| {
                        t.as_str().map(str::to_string).ok_or_else(|| {
                            Error::invalid(format!("{}: edge_types must be strings", self.op))
                        })
                    })
                    .collect::<Result<_>>()?;
            }
            Some(_) => {
                return Err(Error::invalid(format!(
                    "{}: edge_types must be an array of strings",
                    self.op
                )))
            }
        }
        if let Some(f) = self.m.get("filter").filter(|f| !f.is_null()) {
            w.filter = Some(Filter::from_json(f)?);
        }
        if let Some(d) = self.usize_opt("depth")? {
            w.max_depth = d;
        }
        if let Some(n) = self.usize_opt("max_nodes")? {
            w.max_nodes = n;
        }
        if let Some(n) = self.usize_opt("limit")? {
            w.limit = n;
        }
        match self
            .str_opt("order")?
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("bfs") => {}
            Some("dfs") => w.order = Order::Dfs,
            Some(o) => {
                return Err(Error::invalid(format!(
                    "{}: order {o:?} (expected bfs or dfs)",
                    self.op
                )))
            }
        }
        Ok(w)
    }
}

const WALK: &[&str] = &[
    "direction",
    "edge_types",
    "filter",
    "depth",
    "max_nodes",
    "limit",
    "order",
    "as_of_valid",
    "as_of_tx",
];

fn with_walk(extra: &[&'static str]) -> Vec<&'static str> {
    let mut v = extra.to_vec();
    v.extend_from_slice(WALK);
    v
}

impl TxnGraph<'_> {
    /// Runs one operation of the [JSON command interface](self) inside this transaction.
    pub fn call_json(&self, op: &str, args: &Json) -> Result<Json> {
        let empty = Map::new();
        let m = match args {
            Json::Object(m) => m,
            Json::Null => &empty,
            _ => {
                return Err(Error::invalid(format!(
                    "{op}: arguments must be a JSON object"
                )))
            }
        };
        let a = Args { op, m };
        let edge = ["src", "type", "dst"];
        Ok(match op {
            "add_node" | "update_node" => {
                a.allow(&["id", "label", "props", "valid_from", "valid_to"])?;
                let n = if op == "add_node" {
                    self.add_node(a.str("id")?, a.str("label")?, a.props()?, a.valid()?)?
                } else {
                    self.update_node(a.str("id")?, a.str_opt("label")?, a.props()?, a.valid()?)?
                };
                n.to_json()
            }
            "delete_node" => {
                a.allow(&["id", "valid_from", "valid_to"])?;
                json!({"deleted": self.delete_node(a.str("id")?, a.valid()?)?})
            }
            "add_edge" | "update_edge" => {
                a.allow(&[&edge[..], &["props", "valid_from", "valid_to"]].concat())?;
                let (s, t, d) = (a.str("src")?, a.str("type")?, a.str("dst")?);
                let e = if op == "add_edge" {
                    self.add_edge(s, t, d, a.props()?, a.valid()?)?
                } else {
                    self.update_edge(s, t, d, a.props()?, a.valid()?)?
                };
                e.to_json()
            }
            "delete_edge" => {
                a.allow(&[&edge[..], &["valid_from", "valid_to"]].concat())?;
                let (s, t, d) = (a.str("src")?, a.str("type")?, a.str("dst")?);
                json!({"deleted": self.delete_edge(s, t, d, a.valid()?)?})
            }
            "get_node" => {
                a.allow(&["id", "as_of_valid", "as_of_tx"])?;
                self.get_node(a.str("id")?, a.as_of()?)?
                    .map_or(Json::Null, |n| n.to_json())
            }
            "get_edge" => {
                a.allow(&[&edge[..], &["as_of_valid", "as_of_tx"]].concat())?;
                let (s, t, d) = (a.str("src")?, a.str("type")?, a.str("dst")?);
                self.get_edge(s, t, d, a.as_of()?)?
                    .map_or(Json::Null, |e| e.to_json())
            }
            "node_history" => {
                a.allow(&["id"])?;
                Json::Array(self.node_history(a.str("id")?)?.iter().map(|n| n.to_json()).collect())
            }
            "nodes" => {
                a.allow(&["label", "limit", "as_of_valid", "as_of_tx"])?;
                let limit = a.usize_opt("limit")?.unwrap_or(1000);
                Json::Array(
                    self.nodes(a.str_opt("label")?, a.as_of()?, limit)?
                        .iter()
                        .map(|n| n.to_json())
                        .collect(),
                )
            }
            "neighbors" => {
                a.allow(&with_walk(&["node"]))?;
                let n = self.neighbors(a.str("node")?, &a.walk()?)?;
                Json::Array(
                    n.iter()
                        .map(|x| json!({"id": x.id, "edge": x.edge.to_json()}))
                        .collect(),
                )
            }
            "traverse" => {
                a.allow(&with_walk(&["start"]))?;
                let v = self.traverse(a.str("start")?, &a.walk()?)?;
                Json::Array(
                    v.iter()
                        .map(|x| {
                            json!({"id": x.id, "depth": x.depth,
                                   "via": x.via.as_ref().map_or(Json::Null, |e| e.to_json())})
                        })
                        .collect(),
                )
            }
            "shortest_path" => {
                a.allow(&with_walk(&["start", "target"]))?;
                match self.shortest_path(a.str("start")?, a.str("target")?, &a.walk()?)? {
                    Some(p) => json!({"nodes": p.nodes,
                                      "edges": p.edges.iter().map(|e| e.to_json()).collect::<Vec<_>>()}),
                    None => Json::Null,
                }
            }
            "subgraph" => {
                a.allow(&with_walk(&["start"]))?;
                self.subgraph(a.str("start")?, &a.walk()?)?.to_json()
            }
            other => {
                return Err(Error::invalid(format!(
                    "unknown graph operation {other:?} (expected one of add_node, update_node, delete_node, add_edge, update_edge, delete_edge, get_node, get_edge, node_history, nodes, neighbors, traverse, shortest_path, subgraph)"
                )))
            }
        })
    }
}

impl Graph {
    /// Runs one operation of the [JSON command interface](self): writes in their own
    /// transaction (retried on conflict), reads on a snapshot.
    pub fn call_json(&self, op: &str, args: &Json) -> Result<Json> {
        if is_write(op) {
            self.write(|g| g.call_json(op, args))
        } else {
            self.read(|g| g.call_json(op, args))
        }
    }
}
