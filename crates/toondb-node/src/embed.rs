//! Built-in embeddings for the Node API: `embed()`, `Collection.setEmbedder/add/query`.

use std::sync::Arc;

use serde_json::{json, Value as Json};

use crate::{invalid, AddInput, Fail, Out, QueryInput, Work};

/// Loads the embedder (`model` directory or the default one).
#[cfg(feature = "embed")]
pub(crate) fn load(model: Option<&str>) -> Result<Arc<dyn toondb::TextEmbedder>, Fail> {
    let e = toondb::embed::load_embedder(model.map(std::path::Path::new))?;
    Ok(e)
}

/// Without the `embed` feature: UNSUPPORTED.
#[cfg(not(feature = "embed"))]
pub(crate) fn load(_model: Option<&str>) -> Result<Arc<dyn toondb::TextEmbedder>, Fail> {
    Err(toondb::Error::Unsupported("built without the `embed` feature".into()).into())
}

pub(crate) fn embed_texts(texts: Vec<String>, model: Option<String>) -> Result<Json, Fail> {
    let e = load(model.as_deref())?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let v = e.embed_texts(&refs)?;
    Ok(json!(v))
}

pub(crate) fn prep_add(c: Result<toondb::Collection, Fail>, input: AddInput) -> Result<Work, Fail> {
    let c = c?;
    let n = input.ids.len();
    if input.documents.len() != n {
        return Err(invalid(format!(
            "{n} ids but {} documents",
            input.documents.len()
        )));
    }
    let metas = match input.metadatas {
        Some(m) if m.len() != n => {
            return Err(invalid(format!("{n} ids but {} metadatas", m.len())))
        }
        Some(m) => m
            .into_iter()
            .map(|x| match x {
                None | Some(Json::Null) => Ok(Json::Null),
                Some(o @ Json::Object(_)) => Ok(o),
                Some(_) => Err(invalid("metadata must be an object")),
            })
            .collect::<Result<Vec<_>, Fail>>()?,
        None => vec![Json::Null; n],
    };
    let items: Vec<(String, String, Json)> = input
        .ids
        .into_iter()
        .zip(input.documents)
        .zip(metas)
        .map(|((i, d), m)| (i, d, m))
        .collect();
    Ok(Box::new(move || {
        Ok(c.upsert_texts(items).map(|()| Out::Unit)?)
    }))
}

pub(crate) fn query(c: Result<toondb::Collection, Fail>, input: QueryInput) -> Result<Json, Fail> {
    let c = c?;
    let k = input.n_results.unwrap_or(10) as usize;
    let filter = match input.filter {
        None | Some(Json::Null) => None,
        Some(f) => Some(toondb::json::filter(&f)?),
    };
    let refs: Vec<&str> = input.query_texts.iter().map(String::as_str).collect();
    let vectors = c.embed_texts(&refs)?;
    let (mut ids, mut docs, mut metas, mut dists) = (vec![], vec![], vec![], vec![]);
    for v in vectors {
        let mut req = toondb::SearchRequest::vector(v, k);
        if let Some(f) = &filter {
            req = req.filter(f.clone());
        }
        let hits = c.search_with(&req)?;
        ids.push(hits.iter().map(|h| json!(h.id)).collect::<Vec<_>>());
        docs.push(hits.iter().map(|h| json!(h.text)).collect::<Vec<_>>());
        metas.push(
            hits.iter()
                .map(|h| Json::Object(h.metadata.clone()))
                .collect::<Vec<_>>(),
        );
        dists.push(hits.iter().map(|h| json!(h.distance)).collect::<Vec<_>>());
    }
    Ok(json!({"ids": ids, "documents": docs, "metadatas": metas, "distances": dists}))
}
