//! Token-budgeted context queries: `ContextBuilder` and `ContextResult`.

use parking_lot::Mutex;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use pyo3::IntoPyObjectExt;

use crate::coll::parse_filter;
use crate::convert::{bytes_arg, params as params_of};
use crate::db::{handle, Shared};
use crate::errors::{invalid, MapPy};

fn parse_tokenizer(s: &str) -> PyResult<toondb::Tokenizer> {
    match s {
        "o200k" | "o200k_base" => Ok(toondb::Tokenizer::O200k),
        "cl100k" | "cl100k_base" => Ok(toondb::Tokenizer::Cl100k),
        _ => Err(invalid(format!(
            "unknown tokenizer {s:?} (o200k_base or cl100k_base)"
        ))),
    }
}

/// Builds a context under a token budget; each method adds a section and returns the builder.
#[pyclass(module = "toondb", frozen)]
pub(crate) struct ContextBuilder {
    b: Mutex<Option<toondb::ContextBuilder>>,
    db: Shared,
}

impl ContextBuilder {
    pub(crate) fn new(
        db: toondb::Database,
        shared: Shared,
        budget: Option<usize>,
        tokenizer: Option<&str>,
    ) -> PyResult<ContextBuilder> {
        let mut b = db.context();
        if let Some(n) = budget {
            b = b.budget(n);
        }
        if let Some(t) = tokenizer {
            b = b.tokenizer(parse_tokenizer(t)?);
        }
        Ok(ContextBuilder {
            b: Mutex::new(Some(b)),
            db: shared,
        })
    }

    fn add<'py>(
        slf: PyRef<'py, Self>,
        f: impl FnOnce(toondb::ContextBuilder) -> toondb::ContextBuilder,
    ) -> PyResult<PyRef<'py, Self>> {
        {
            let mut g = slf.b.lock();
            let b = g.take().ok_or_else(|| invalid("context already built"))?;
            *g = Some(f(b));
        }
        Ok(slf)
    }
}

fn section_opts(
    mut s: toondb::Section,
    name: Option<String>,
    priority: Option<i32>,
    max_tokens: Option<usize>,
) -> toondb::Section {
    if let Some(n) = name {
        s = s.named(n);
    }
    if let Some(p) = priority {
        s = s.priority(p);
    }
    if let Some(m) = max_tokens {
        s = s.max_tokens(m);
    }
    s
}

#[pymethods]
impl ContextBuilder {
    /// Adds the system prompt.
    fn system(slf: PyRef<'_, Self>, text: String) -> PyResult<PyRef<'_, Self>> {
        Self::add(slf, |b| b.system(text))
    }

    /// Adds a named free-text section.
    #[pyo3(signature = (name, text, *, priority=None, max_tokens=None))]
    fn text(
        slf: PyRef<'_, Self>,
        name: String,
        text: String,
        priority: Option<i32>,
        max_tokens: Option<usize>,
    ) -> PyResult<PyRef<'_, Self>> {
        let s = section_opts(
            toondb::Section::text(&name, text),
            None,
            priority,
            max_tokens,
        );
        Self::add(slf, |b| b.section(s))
    }

    /// Adds chat history: `(role, content)` tuples or `{"role", "content"}` dicts.
    fn history<'py>(
        slf: PyRef<'py, Self>,
        messages: &Bound<'py, PyAny>,
    ) -> PyResult<PyRef<'py, Self>> {
        let mut ms = Vec::new();
        for m in messages.try_iter()? {
            let m = m?;
            let (role, content): (String, String) = if let Ok(d) = m.downcast::<PyDict>() {
                let role = d
                    .get_item("role")?
                    .ok_or_else(|| invalid("message needs 'role'"))?;
                let content = d
                    .get_item("content")?
                    .ok_or_else(|| invalid("message needs 'content'"))?;
                (role.extract()?, content.extract()?)
            } else if let Ok(t) = m.downcast::<PyTuple>() {
                t.extract()?
            } else {
                return Err(PyTypeError::new_err(
                    "messages must be (role, content) tuples or dicts",
                ));
            };
            ms.push(toondb::Message::new(role, content));
        }
        Self::add(slf, |b| b.history(ms))
    }

    /// Adds search results from a collection: vector (`vector=`), keyword (`text=`) or
    /// hybrid (both).
    #[pyo3(signature = (collection, *, text=None, vector=None, k=5, filter=None, name=None, priority=None, max_tokens=None))]
    #[allow(clippy::too_many_arguments)]
    fn search<'py>(
        slf: PyRef<'py, Self>,
        collection: String,
        text: Option<String>,
        vector: Option<&Bound<'py, PyAny>>,
        k: usize,
        filter: Option<&Bound<'py, PyAny>>,
        name: Option<String>,
        priority: Option<i32>,
        max_tokens: Option<usize>,
    ) -> PyResult<PyRef<'py, Self>> {
        let v = vector.map(crate::convert::vector).transpose()?;
        let mut req = match (text, v) {
            (Some(t), Some(v)) => toondb::SearchRequest::hybrid(t, v, k),
            (Some(t), None) => toondb::SearchRequest::text(t, k),
            (None, Some(v)) => toondb::SearchRequest::vector(v, k),
            (None, None) => return Err(invalid("search needs text=, vector= or both")),
        };
        if let Some(f) = parse_filter(filter)? {
            req = req.filter(f);
        }
        let s = section_opts(
            toondb::Section::search(&collection, req),
            name,
            priority,
            max_tokens,
        );
        Self::add(slf, |b| b.section(s))
    }

    /// Adds the rows of a SQL query under `name`.
    #[pyo3(signature = (name, sql, params=None, *, priority=None, max_tokens=None))]
    fn sql<'py>(
        slf: PyRef<'py, Self>,
        name: String,
        sql: String,
        params: Option<&Bound<'py, PyAny>>,
        priority: Option<i32>,
        max_tokens: Option<usize>,
    ) -> PyResult<PyRef<'py, Self>> {
        let ps = params_of(params)?;
        let s = section_opts(
            toondb::Section::sql(sql, &ps),
            Some(name),
            priority,
            max_tokens,
        );
        Self::add(slf, |b| b.section(s))
    }

    /// Adds the key-value pairs under `prefix` under `name`.
    #[pyo3(signature = (name, prefix, *, priority=None, max_tokens=None))]
    fn kv_prefix<'py>(
        slf: PyRef<'py, Self>,
        name: String,
        prefix: &Bound<'py, PyAny>,
        priority: Option<i32>,
        max_tokens: Option<usize>,
    ) -> PyResult<PyRef<'py, Self>> {
        let p = bytes_arg(prefix)?;
        let s = section_opts(
            toondb::Section::kv_prefix(p),
            Some(name),
            priority,
            max_tokens,
        );
        Self::add(slf, |b| b.section(s))
    }

    /// Assembles the context (the builder cannot be reused).
    fn build(&self, py: Python<'_>) -> PyResult<ContextResult> {
        handle(&self.db)?;
        let b = self
            .b
            .lock()
            .take()
            .ok_or_else(|| invalid("context already built"))?;
        let r = py.allow_threads(move || b.build()).py_err()?;
        ContextResult::from_result(py, r)
    }
}

/// An assembled context.
#[pyclass(module = "toondb", frozen, get_all)]
pub(crate) struct ContextResult {
    /// The TOON text.
    text: String,
    /// Exact tokens of `text`.
    total_tokens: usize,
    /// The budget asked for.
    budget: usize,
    /// Tokenizer name.
    tokenizer: String,
    /// One dict per section.
    sections: PyObject,
}

impl ContextResult {
    pub(crate) fn from_result(py: Python<'_>, r: toondb::ContextResult) -> PyResult<ContextResult> {
        let mut secs = Vec::new();
        for s in &r.sections {
            let d = PyDict::new(py);
            d.set_item("name", &s.name)?;
            d.set_item("priority", s.priority)?;
            d.set_item("tokens", s.tokens)?;
            d.set_item("items_included", s.items_included)?;
            d.set_item("items_dropped", s.items_dropped)?;
            d.set_item("duplicates", s.duplicates)?;
            d.set_item("truncated", s.truncated)?;
            secs.push(d);
        }
        Ok(ContextResult {
            tokenizer: r.tokenizer.name().to_string(),
            sections: secs.into_py_any(py)?,
            text: r.text,
            total_tokens: r.total_tokens,
            budget: r.budget,
        })
    }
}

#[pymethods]
impl ContextResult {
    fn __str__(&self) -> String {
        self.text.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "<ContextResult tokens={} budget={}>",
            self.total_tokens, self.budget
        )
    }
}
