//! Text embedders for collections: text in, vectors out, in-process.
//!
//! A collection created with [`CollectionOptions::embedder`](crate::CollectionOptions::embedder)
//! (or given one later with [`Collection::set_embedder`](crate::Collection::set_embedder))
//! accepts plain text: [`upsert_text`](crate::Collection::upsert_text),
//! [`upsert_texts`](crate::Collection::upsert_texts),
//! [`search_text`](crate::Collection::search_text) and
//! [`hybrid_search_text`](crate::Collection::hybrid_search_text); a `CONTEXT ... SEARCH coll
//! 'question'` section on such a collection runs a hybrid (vector + keyword) search.
//!
//! Any [`TextEmbedder`] works. With the `embed` feature, [`Embedder`] (sentence-transformer
//! models run with candle, default all-MiniLM-L6-v2) is one, and [`default_embedder`] loads the
//! model that `toondb model fetch` placed in the cache (or `TOONDB_MODEL_DIR`).

use std::sync::Arc;

use crate::error::{Error, Result};

/// Turns texts into vectors. Implementations must be deterministic (the same text always gives
/// the same vector) and return one vector of [`dim`](Self::dim) floats per input, in order.
pub trait TextEmbedder: Send + Sync + 'static {
    /// Length of every vector.
    fn dim(&self) -> usize;
    /// Embeds a batch of texts.
    fn embed_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
    /// A short name of the model, for diagnostics.
    fn model_name(&self) -> String {
        "custom".into()
    }
}

/// A shared embedder as held by [`CollectionOptions`](crate::CollectionOptions). Two handles are
/// equal when they point at the same embedder.
#[derive(Clone)]
pub struct EmbedderRef(pub Arc<dyn TextEmbedder>);

impl std::fmt::Debug for EmbedderRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbedderRef")
            .field("model", &self.0.model_name())
            .field("dim", &self.0.dim())
            .finish()
    }
}

impl PartialEq for EmbedderRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Embeds with `e` and checks the shape of what came back.
pub(crate) fn embed_checked(e: &dyn TextEmbedder, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
    let out = e.embed_texts(texts)?;
    if out.len() != texts.len() || out.iter().any(|v| v.len() != e.dim()) {
        return Err(Error::Internal(format!(
            "embedder {} returned {} vectors for {} texts (or a vector of the wrong length)",
            e.model_name(),
            out.len(),
            texts.len()
        )));
    }
    Ok(out)
}

#[cfg(feature = "embed")]
pub use toondb_embed::{self, EmbedError, Embedder, EmbedderOptions};

#[cfg(feature = "embed")]
impl From<EmbedError> for Error {
    fn from(e: EmbedError) -> Self {
        let msg = e.to_string();
        match e {
            EmbedError::EmptyText { .. }
            | EmbedError::TextTooLarge { .. }
            | EmbedError::InvalidUtf8 { .. } => Error::InvalidArgument(msg),
            EmbedError::ModelNotFound { .. } => Error::NotFound(msg),
            EmbedError::Unsupported(_) => Error::Unsupported(msg),
            EmbedError::ModelFile { path, reason } => Error::Corruption {
                file: path.display().to_string(),
                offset: 0,
                detail: reason,
            },
            _ => Error::Internal(msg),
        }
    }
}

#[cfg(feature = "embed")]
impl TextEmbedder for Embedder {
    fn dim(&self) -> usize {
        Embedder::dim(self)
    }
    fn embed_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Ok(self.embed_batch(texts)?)
    }
    fn model_name(&self) -> String {
        Embedder::model_name(self)
    }
}

/// Loads (once per process and model directory, then shares) the embedder for `dir`, or when
/// `None` the default model: `TOONDB_MODEL_DIR`, else the cache filled by `toondb model fetch`.
/// A missing model is an [`Error::NotFound`] whose message says how to fetch or place it.
#[cfg(feature = "embed")]
pub fn load_embedder(dir: Option<&std::path::Path>) -> Result<Arc<Embedder>> {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<Embedder>>>> = OnceLock::new();
    let dir = toondb_embed::resolve_model_dir(dir)?;
    let key = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
    let cache = CACHE.get_or_init(Default::default);
    if let Some(e) = cache.lock().map_err(|_| poisoned())?.get(&key) {
        return Ok(e.clone());
    }
    let e = Arc::new(Embedder::load(&dir)?);
    cache.lock().map_err(|_| poisoned())?.insert(key, e.clone());
    Ok(e)
}

#[cfg(feature = "embed")]
fn poisoned() -> Error {
    Error::Internal("embedder cache lock poisoned".into())
}

/// [`load_embedder`]`(None)`: the default model.
#[cfg(feature = "embed")]
pub fn default_embedder() -> Result<Arc<Embedder>> {
    load_embedder(None)
}

/// The body of the SQL scalar `embed(text)`: one TEXT argument in, the embedding out as a JSON
/// array of floats (TEXT), NULL in gives NULL out. Ready to register with the SQL engine's
/// user-function API under the name `embed`.
pub fn sql_embed_function(
    embedder: Arc<dyn TextEmbedder>,
) -> impl Fn(&[crate::Value]) -> Result<crate::Value> + Send + Sync + 'static {
    move |args: &[crate::Value]| {
        let [arg] = args else {
            return Err(Error::invalid(format!(
                "embed() takes exactly one argument, got {}",
                args.len()
            )));
        };
        let text = match arg {
            crate::Value::Null => return Ok(crate::Value::Null),
            crate::Value::Text(t) => t.as_str(),
            other => {
                return Err(Error::invalid(format!(
                    "embed() needs a TEXT argument, got {}",
                    other.type_name()
                )))
            }
        };
        let mut v = embed_checked(embedder.as_ref(), &[text])?;
        let v = v.pop().unwrap_or_default();
        Ok(crate::Value::Text(vector_json(&v)))
    }
}

/// Registers the SQL scalar `embed(text)` on `db` with the default model (see
/// [`default_embedder`]), loaded on the first call, not at open: databases that never call
/// `embed()` pay nothing. A missing model fails the statement with a not-found error that says
/// how to fetch it. Registering another function named `embed` replaces this one.
#[cfg(feature = "embed")]
pub(crate) fn register_default_sql_embed(db: &crate::Database) -> Result<()> {
    use std::sync::OnceLock;
    let loaded: OnceLock<Arc<dyn TextEmbedder>> = OnceLock::new();
    db.register_scalar_function("embed", crate::Arity::Exact(1), true, move |args| {
        if matches!(args, [crate::Value::Null]) {
            return Ok(crate::Value::Null);
        }
        let embedder = match loaded.get() {
            Some(e) => e.clone(),
            None => {
                let e: Arc<dyn TextEmbedder> = default_embedder().map_err(to_sql_error)?;
                loaded.get_or_init(|| e).clone()
            }
        };
        sql_embed_function(embedder)(args).map_err(to_sql_error)
    })
}

/// An embedding failure as the SQL engine reports it (a missing model stays "not found").
#[cfg(feature = "embed")]
fn to_sql_error(e: Error) -> toondb_query::Error {
    match e {
        Error::Sql(e) => e,
        Error::NotFound(m) => toondb_query::Error::Name(format!("no such embedding model: {m}")),
        Error::InvalidArgument(m) => toondb_query::Error::Runtime(m),
        other => toondb_query::Error::Runtime(format!("embed(): {other}")),
    }
}

/// A vector as a compact JSON array (`[0.0123,-0.5,...]`), the format of `toondb embed` and
/// the SQL `embed()` function.
pub fn vector_json(v: &[f32]) -> String {
    let mut s = String::with_capacity(v.len() * 12 + 2);
    s.push('[');
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        // f32 Display is the shortest text that reads back to the same f32.
        if x.is_finite() {
            s.push_str(&x.to_string());
        } else {
            s.push_str("null");
        }
    }
    s.push(']');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic toy embedder: letter counts a..d.
    struct Letters;
    impl TextEmbedder for Letters {
        fn dim(&self) -> usize {
            4
        }
        fn embed_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            Ok(texts
                .iter()
                .map(|t| {
                    (b'a'..=b'd')
                        .map(|c| t.bytes().filter(|&b| b == c).count() as f32 + 0.01)
                        .collect()
                })
                .collect())
        }
    }

    #[test]
    fn sql_embed_returns_json_array_and_passes_null() {
        let f = sql_embed_function(Arc::new(Letters));
        let v = f(&[crate::Value::Text("aab".into())]).expect("embed");
        assert_eq!(v, crate::Value::Text("[2.01,1.01,0.01,0.01]".into()));
        assert_eq!(f(&[crate::Value::Null]).expect("null"), crate::Value::Null);
        assert!(f(&[crate::Value::Integer(1)]).is_err());
        assert!(f(&[]).is_err());
    }

    #[test]
    fn vector_json_round_trips_through_serde() {
        let v = vec![0.1f32, -2.5e-8, 3.0];
        let back: Vec<f32> = serde_json::from_str(&vector_json(&v)).expect("json");
        assert_eq!(back, v);
    }
}
