//! TOON (Token-Oriented Object Notation) encoder and decoder, with exact token counting.
//!
//! **toon-spec: 4.0** — implements the TOON specification version 4.0 (spec commit
//! `c770bbe`) for encoders and decoders, and passes all 516 cases of its conformance
//! fixtures (`tests/conformance.rs`). This crate owns the TOON text format and LLM token
//! counting; it depends on no other ToonDB crate.
//!
//! ```
//! use toondb_toon::{decode, encode, DecodeOptions, EncodeOptions, Value};
//!
//! let json = serde_json::json!({
//!     "orders": [
//!         {"id": 1, "customer": {"name": "Ada", "country": "DK"}, "total": 99.5},
//!         {"id": 2, "customer": {"name": "Bob", "country": "UK"}, "total": 149},
//!     ]
//! });
//! let value = Value::from(&json);
//! let text = encode(&value, &EncodeOptions::default());
//! assert_eq!(text, "orders[2]{id,customer{name,country},total}:\n  1,Ada,DK,99.5\n  2,Bob,UK,149");
//! assert_eq!(decode(&text, &DecodeOptions::default()).unwrap(), value);
//! ```
//!
//! # Model and host-type normalisation (§3)
//! [`Value`] is the JSON data model with object key order kept ([`Map`] is an `IndexMap`).
//! Numbers ([`Number`]) hold integers exactly as `i64`/`u64` and everything else as a finite
//! `f64`; NaN and ±Infinity become `null` when converted from `f64`. Decoding integers beyond
//! `u64` yields the nearest `f64`; a numeric token overflowing `f64` (e.g. `1e999`) decodes as
//! a string, losslessly. `__proto__`, `constructor` and `prototype` are ordinary keys (§15).
//!
//! # Options (§13)
//! [`EncodeOptions`]: `indent` (indentSize, default 2) and `delimiter` (default comma).
//! [`DecodeOptions`]: `indent` (default 2), `strict` (default `true`) and `max_depth`
//! (default 256). Non-strict tab policy (§12): a tab in indentation counts as one indent unit.
//!
//! # Errors
//! Every strict-mode violation of §14 is an [`Error::Syntax`] with 1-based line and column.
#![forbid(unsafe_code)]

mod decode;
mod encode;
mod error;
mod options;
mod stream;
mod tokens;
mod value;

pub use decode::{decode, decode_bytes, decode_to_json};
pub use encode::{encode, encode_json};
pub use error::{Error, Result, SyntaxError};
pub use options::{DecodeOptions, Delimiter, EncodeOptions, DEFAULT_MAX_DEPTH};
pub use stream::TabularStreamEncoder;
pub use tokens::{count_tokens, estimate_tokens, Tokenizer};
pub use value::{Map, Number, Value};
