//! Built-in embeddings for the Python API (`toondb.embed`, `create_collection(embedder=...)`,
//! `Collection.add/query`). Without the crate's `embed` feature every entry point raises
//! `UnsupportedError`.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::errors::MapPy;

/// Which model an `embedder=` / `model=` argument names: `None`/`True`/`"default"` the default
/// model (`TOONDB_MODEL_DIR`, else the `toondb model fetch` cache), any other string or path a
/// sentence-transformers directory.
pub(crate) fn model_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<std::path::PathBuf>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) if o.extract::<bool>().is_ok_and(|b| b) => Ok(None),
        Some(o) if o.is_instance_of::<PyString>() && o.extract::<String>()? == "default" => {
            Ok(None)
        }
        Some(o) => Ok(Some(o.extract::<std::path::PathBuf>()?)),
    }
}

/// Loads (once per process and directory) the embedder for `dir`.
#[cfg(feature = "embed")]
pub(crate) fn load(
    py: Python<'_>,
    dir: Option<std::path::PathBuf>,
) -> PyResult<Arc<dyn toondb::TextEmbedder>> {
    let e = py
        .allow_threads(move || toondb::embed::load_embedder(dir.as_deref()))
        .py_err()?;
    Ok(e)
}

/// Without the `embed` feature: always `UnsupportedError`.
#[cfg(not(feature = "embed"))]
pub(crate) fn load(
    _py: Python<'_>,
    _dir: Option<std::path::PathBuf>,
) -> PyResult<Arc<dyn toondb::TextEmbedder>> {
    Err(toondb::Error::Unsupported(
        "this build of toondb has no built-in embeddings (feature `embed`)".into(),
    ))
    .py_err()
}

/// `toondb.embed(texts, model=None)`: one list of floats per text (a single `str` gives one
/// vector). Empty texts raise `InvalidArgumentError`; a missing model `NotFoundError` saying how
/// to fetch it.
#[pyfunction]
#[pyo3(signature = (texts, model=None))]
pub(crate) fn embed(
    py: Python<'_>,
    texts: &Bound<'_, PyAny>,
    model: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyObject> {
    let e = load(py, model_arg(model)?)?;
    if let Ok(one) = texts.downcast::<PyString>() {
        let t: String = one.extract()?;
        let mut v = py
            .allow_threads(move || e.embed_texts(&[t.as_str()]))
            .py_err()?;
        return Ok(v
            .pop()
            .unwrap_or_default()
            .into_pyobject(py)?
            .into_any()
            .unbind());
    }
    let list: Vec<String> = texts.extract()?;
    let v = py
        .allow_threads(move || {
            let refs: Vec<&str> = list.iter().map(String::as_str).collect();
            e.embed_texts(&refs)
        })
        .py_err()?;
    Ok(v.into_pyobject(py)?.into_any().unbind())
}
