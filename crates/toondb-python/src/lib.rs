//! Python bindings for ToonDB, built with pyo3 as an abi3 extension module `toondb._native`
//! and re-exported by the pure-Python package `toondb` (see `python/toondb/__init__.py`).
//!
//! Every engine call runs with the GIL released (`py.allow_threads`). Errors are mapped once,
//! by [`toondb::Error::kind`], onto the exception hierarchy under `toondb.Error`.

mod coll;
mod convert;
mod ctx;
mod db;
mod embed;
mod errors;
mod graph;

use pyo3::prelude::*;

/// The native module `toondb._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<db::Database>()?;
    m.add_class::<db::Transaction>()?;
    m.add_class::<db::KvIterator>()?;
    m.add_class::<db::RowIterator>()?;
    m.add_class::<coll::Collection>()?;
    m.add_class::<coll::SearchHit>()?;
    m.add_class::<ctx::ContextBuilder>()?;
    m.add_class::<ctx::ContextResult>()?;
    m.add_class::<graph::Graph>()?;
    m.add_function(wrap_pyfunction!(embed::embed, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
