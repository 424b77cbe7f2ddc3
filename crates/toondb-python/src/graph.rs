//! `Graph`: a graph namespace of a `Database` (auto-commit) or of a `Transaction`, over the
//! graph's JSON command interface (`toondb::graph::json`). Arguments are keyword arguments
//! named as in that interface; results are plain dicts and lists.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{from_json, to_json};
use crate::db::ops::{on_db, Mode, On};
use crate::db::{Shared, Transaction};

enum Target {
    Db(Shared),
    Txn(Py<Transaction>),
}

/// A graph namespace: nodes with a label and properties, directed typed edges, bi-temporal
/// versions (`valid_from`/`valid_to` on writes, `as_of_valid`/`as_of_tx` on reads; times in
/// microseconds since the epoch).
#[pyclass(module = "toondb", frozen)]
pub(crate) struct Graph {
    target: Target,
    ns: String,
}

impl Graph {
    pub(crate) fn of_db(db: Shared, ns: String) -> Graph {
        Graph {
            target: Target::Db(db),
            ns,
        }
    }

    pub(crate) fn of_txn(tx: Py<Transaction>, ns: String) -> Graph {
        Graph {
            target: Target::Txn(tx),
            ns,
        }
    }

    fn call(&self, py: Python<'_>, op: &str, args: &Bound<'_, PyDict>) -> PyResult<PyObject> {
        let value = to_json(args)?;
        let ns = self.ns.clone();
        let op_s = op.to_string();
        let call = move |mut t: toondb::Target<'_>| t.graph_call(&ns, &op_s, &value);
        let result = match &self.target {
            Target::Db(db) => on_db(py, db, Mode::Plain, call)?,
            Target::Txn(tx) => tx.get().on(py, Mode::Plain, call)?,
        };
        from_json(py, &result)
    }
}

fn args<'py>(py: Python<'py>, kw: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyDict>> {
    match kw {
        Some(d) => d.copy(),
        None => Ok(PyDict::new(py)),
    }
}

/// The keyword arguments plus an edge's `src`, `type`, `dst` (and `props` when given).
fn edge_args<'py>(
    py: Python<'py>,
    kw: Option<&Bound<'py, PyDict>>,
    src: String,
    edge_type: String,
    dst: String,
    props: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let a = args(py, kw)?;
    a.set_item("src", src)?;
    a.set_item("type", edge_type)?;
    a.set_item("dst", dst)?;
    if let Some(p) = props {
        a.set_item("props", p)?;
    }
    Ok(a)
}

#[pymethods]
impl Graph {
    /// The namespace.
    #[getter]
    fn namespace(&self) -> String {
        self.ns.clone()
    }

    /// Adds a node; `AlreadyExistsError` if it exists. Keywords: `valid_from`, `valid_to`.
    #[pyo3(signature = (id, label, props=None, **kw))]
    fn add_node(
        &self,
        py: Python<'_>,
        id: String,
        label: String,
        props: Option<Bound<'_, PyAny>>,
        kw: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyObject> {
        let a = args(py, kw)?;
        a.set_item("id", id)?;
        a.set_item("label", label)?;
        if let Some(p) = props {
            a.set_item("props", p)?;
        }
        self.call(py, "add_node", &a)
    }

    /// Replaces a node's properties (and `label=` if given) over its valid interval.
    #[pyo3(signature = (id, props=None, **kw))]
    fn update_node(
        &self,
        py: Python<'_>,
        id: String,
        props: Option<Bound<'_, PyAny>>,
        kw: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyObject> {
        let a = args(py, kw)?;
        a.set_item("id", id)?;
        if let Some(p) = props {
            a.set_item("props", p)?;
        }
        self.call(py, "update_node", &a)
    }

    /// Ends a node (and its edges); returns `{"deleted": bool}`.
    #[pyo3(signature = (id, **kw))]
    fn delete_node(
        &self,
        py: Python<'_>,
        id: String,
        kw: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyObject> {
        let a = args(py, kw)?;
        a.set_item("id", id)?;
        self.call(py, "delete_node", &a)
    }

    /// Adds the edge `src -[type]-> dst`.
    #[pyo3(signature = (src, edge_type, dst, props=None, **kw))]
    fn add_edge(
        &self,
        py: Python<'_>,
        src: String,
        edge_type: String,
        dst: String,
        props: Option<Bound<'_, PyAny>>,
        kw: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyObject> {
        let a = edge_args(py, kw, src, edge_type, dst, props)?;
        self.call(py, "add_edge", &a)
    }

    /// Replaces an edge's properties.
    #[pyo3(signature = (src, edge_type, dst, props=None, **kw))]
    fn update_edge(
        &self,
        py: Python<'_>,
        src: String,
        edge_type: String,
        dst: String,
        props: Option<Bound<'_, PyAny>>,
        kw: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyObject> {
        let a = edge_args(py, kw, src, edge_type, dst, props)?;
        self.call(py, "update_edge", &a)
    }

    /// Ends an edge; returns `{"deleted": bool}`.
    #[pyo3(signature = (src, edge_type, dst, **kw))]
    fn delete_edge(
        &self,
        py: Python<'_>,
        src: String,
        edge_type: String,
        dst: String,
        kw: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyObject> {
        let a = edge_args(py, kw, src, edge_type, dst, None)?;
        self.call(py, "delete_edge", &a)
    }

    /// The node (a dict) or None. Keywords: `as_of_valid`, `as_of_tx`.
    #[pyo3(signature = (id, **kw))]
    fn get_node(
        &self,
        py: Python<'_>,
        id: String,
        kw: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyObject> {
        let a = args(py, kw)?;
        a.set_item("id", id)?;
        self.call(py, "get_node", &a)
    }

    /// The edge (a dict) or None.
    #[pyo3(signature = (src, edge_type, dst, **kw))]
    fn get_edge(
        &self,
        py: Python<'_>,
        src: String,
        edge_type: String,
        dst: String,
        kw: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyObject> {
        let a = edge_args(py, kw, src, edge_type, dst, None)?;
        self.call(py, "get_edge", &a)
    }

    /// Every stored version of a node.
    fn node_history(&self, py: Python<'_>, id: String) -> PyResult<PyObject> {
        let a = PyDict::new(py);
        a.set_item("id", id)?;
        self.call(py, "node_history", &a)
    }

    /// Nodes of the namespace. Keywords: `label`, `limit`, `as_of_valid`, `as_of_tx`.
    #[pyo3(signature = (**kw))]
    fn nodes(&self, py: Python<'_>, kw: Option<&Bound<'_, PyDict>>) -> PyResult<PyObject> {
        let a = args(py, kw)?;
        self.call(py, "nodes", &a)
    }

    /// Neighbours: a list of `{"id", "edge"}`. Keywords: `direction` ("out", "in", "both"),
    /// `edge_types`, `filter` (JSON filter on edge properties), `limit`, `as_of_valid`,
    /// `as_of_tx`.
    #[pyo3(signature = (node, **kw))]
    fn neighbors(
        &self,
        py: Python<'_>,
        node: String,
        kw: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyObject> {
        let a = args(py, kw)?;
        a.set_item("node", node)?;
        self.call(py, "neighbors", &a)
    }

    /// A BFS (or `order="dfs"`) walk: a list of `{"id", "depth", "via"}`. Keywords: `depth`,
    /// `max_nodes`, plus those of `neighbors`.
    #[pyo3(signature = (start, **kw))]
    fn traverse(
        &self,
        py: Python<'_>,
        start: String,
        kw: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyObject> {
        let a = args(py, kw)?;
        a.set_item("start", start)?;
        self.call(py, "traverse", &a)
    }

    /// The shortest path `{"nodes", "edges"}` or None.
    #[pyo3(signature = (start, target, **kw))]
    fn shortest_path(
        &self,
        py: Python<'_>,
        start: String,
        target: String,
        kw: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyObject> {
        let a = args(py, kw)?;
        a.set_item("start", start)?;
        a.set_item("target", target)?;
        self.call(py, "shortest_path", &a)
    }

    /// The nodes within `depth` of `start` and the edges among them.
    #[pyo3(signature = (start, **kw))]
    fn subgraph(
        &self,
        py: Python<'_>,
        start: String,
        kw: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyObject> {
        let a = args(py, kw)?;
        a.set_item("start", start)?;
        self.call(py, "subgraph", &a)
    }

    fn __repr__(&self) -> String {
        format!("<toondb.Graph {:?}>", self.ns)
    }
}
