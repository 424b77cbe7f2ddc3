//! ToonDB's public embedded API: key-value and hierarchical paths, SQL, vector/keyword/hybrid
//! collections and token-budgeted context queries encoded as TOON. Built on
//! `toondb-storage`, `toondb-query`, `toondb-index` and `toondb-toon`; it depends on no async
//! runtime unless the `async` feature is enabled.
//!
//! ```
//! use toondb::{params, Database, Document, Filter, Message, Metric, SearchRequest, Section};
//! use serde_json::json;
//!
//! # fn main() -> toondb::Result<()> {
//! let dir = tempfile::tempdir().unwrap();
//! let db = Database::open(dir.path())?;
//!
//! // Key-value and paths.
//! db.put("greeting", "hello")?;
//! assert_eq!(db.get("greeting")?.as_deref(), Some(&b"hello"[..]));
//! db.put_path("users/alice/email", "alice@example.com")?;
//! assert_eq!(db.list_path("users")?, vec!["alice"]);
//!
//! // SQL with typed rows.
//! db.execute("CREATE TABLE orders(id INTEGER PRIMARY KEY, item TEXT, total REAL)", params![])?;
//! db.execute("INSERT INTO orders(item, total) VALUES (?, ?), (?, ?)", params!["book", 12.5, "pen", 2])?;
//! let rows = db.query("SELECT item, total FROM orders WHERE total > ?", params![5])?;
//! assert_eq!(rows[0].get::<String>("item")?, "book");
//!
//! // A collection: vectors + text + metadata; vector, keyword and hybrid search.
//! let docs = db.create_collection("docs", 3, Metric::Cosine, Default::default())?;
//! docs.upsert(Document::new("a", vec![1.0, 0.0, 0.0]).with_text("Rust storage engines").with_metadata(json!({"lang": "en"})))?;
//! docs.upsert(Document::new("b", vec![0.0, 1.0, 0.0]).with_text("Vector search with HNSW").with_metadata(json!({"lang": "en"})))?;
//! docs.upsert(Document::new("c", vec![0.0, 0.0, 1.0]).with_text("Datenbanken in Rust").with_metadata(json!({"lang": "de"})))?;
//! let hits = docs.search_with(&SearchRequest::vector(vec![0.9, 0.1, 0.0], 2).filter(Filter::eq("lang", "en")))?;
//! assert_eq!(hits[0].id, "a");
//! let hits = docs.keyword_search("rust", 5)?;
//! assert_eq!(hits.len(), 2);
//!
//! // A context under a token budget, encoded as TOON.
//! let ctx = db
//!     .context()
//!     .budget(300)
//!     .system("Answer using the documents.")
//!     .history([Message::new("user", "What is HNSW?")])
//!     .section(Section::search("docs", SearchRequest::hybrid("vector search", vec![0.0, 1.0, 0.0], 2)).named("docs"))
//!     .sql("orders", "SELECT item, total FROM orders ORDER BY id", params![])
//!     .build()?;
//! assert!(ctx.total_tokens <= 300);
//! assert!(ctx.text.contains("orders[2]{item,total}:"));
//!
//! // The same through SQL.
//! let rows = db.query("CONTEXT SELECT SYSTEM 'Be brief.', SEARCH docs 'rust' K 2 AS docs BUDGET 100", params![])?;
//! assert!(rows[0].get::<i64>("tokens")? <= 100);
//! db.close()?;
//! # Ok(())
//! # }
//! ```
//!
//! # Crate features
//!
//! - `async` (off by default): `*_async` methods on [`Database`] and [`Collection`] that run
//!   the blocking call on `tokio::task::spawn_blocking` (requires a tokio runtime). Without
//!   it, `cargo tree -p toondb -e normal` lists no tokio.
//! - `http-example` (off by default): builds the `hybrid_http` example (pulls axum).
//!
//! The async gRPC client for `toondb-server`, and `Connection` (the same async calls against an
//! embedded database or a server, chosen by a connection string), are the `toondb-client`
//! crate: tonic and tower are dependencies of that crate, never of this one (whose `async`
//! feature adds only tokio's `rt`).
//!
//! # Concurrency and durability
//!
//! [`Database`] is `Clone + Send + Sync`; clones share one engine. Every write is durable on
//! return under the default [`SyncMode::Full`]. A document write to a [`Collection`] (record,
//! vector, keyword postings, statistics) is one storage transaction; the HNSW graph lives in
//! memory and is rebuilt from the stored vectors when a collection is first opened.
//!
//! # Design
//!
//! See `docs/architecture/toondb.md`.
#![forbid(unsafe_code)]

mod collection;
pub mod context;
pub mod context_sql;
mod db;
pub mod embed;
mod error;
mod filter;
pub mod graph;
pub mod json;
mod keys;
mod sql;
mod target;
mod text;
mod txn;

#[cfg(feature = "async")]
mod async_api;

pub use collection::{
    Collection, CollectionOptions, Document, IndexOpenStats, SearchHit, SearchRequest,
    CHECKPOINT_MIN_OPS,
};
pub use context::{ContextBuilder, ContextResult, Keep, Message, Section, SectionReport};
pub use db::{Database, KvIter, KvPair, Options};
pub use embed::TextEmbedder;
pub use error::{Error, ErrorKind, Result};
pub use filter::Filter;
pub use graph::{Graph, TxnGraph};
pub use keys::{escape_segment, join_path, split_path};
pub use sql::{ColumnIndex, Fetch, FromValue, Row, RowStream, Rows, ToValue};
pub use target::Target;
pub use text::{tokenize, Bm25Params};
pub use txn::{Transaction, TxnCollection};

pub use toondb_index::Metric;
pub use toondb_query::{
    current_cancel_token, with_cancel_token, Arity, CancelToken, InterruptHandle, StatementLimits,
    Value,
};
pub use toondb_storage::{
    BackupReport, Direction, Isolation, RepairReport, SyncMode, TailCutKind, VerifyReport,
    WalTailCut,
};

/// Rebuilds the manifest of the database in `path` from the tables and WALs found there (for
/// a database whose `CURRENT` or manifest is missing or damaged); files it cannot use are
/// moved to `lost/`. The database must not be open. See [`toondb_storage::repair`].
pub fn repair(path: impl AsRef<std::path::Path>) -> Result<RepairReport> {
    Ok(toondb_storage::repair(
        path,
        &toondb_storage::Options::default(),
    )?)
}
pub use toondb_toon::Tokenizer;
