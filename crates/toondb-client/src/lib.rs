//! The Rust client of ToonDB: an async gRPC [`Client`] for `toondb-server`, and
//! [`Connection`], which runs one set of async calls against either an embedded database or a
//! server, chosen by a connection string. It owns the client side of the `toondb.v1` protocol
//! (calls, [`convert`]ing messages, mapping [`status`] codes to error kinds) and may depend on
//! `toondb` (with its `async` feature), `toondb-proto`, tonic, hyper-util, tower and tokio; the
//! embedded `toondb` crate depends on none of these.
//!
//! Connection strings:
//!
//! | string | backend |
//! |---|---|
//! | `memory:` | embedded, in memory |
//! | `embedded:/path/to/dir` (or `file:`) | embedded, on disk |
//! | `http://127.0.0.1:50051` | `toondb-server` over TCP |
//! | `unix:/run/toondb.sock` | `toondb-server` over a Unix socket |
//!
//! ```no_run
//! # async fn demo() -> toondb_client::Result<()> {
//! use toondb_client::Connection;
//! // The only line that changes between embedded and remote:
//! let url = std::env::args().nth(1).unwrap_or_else(|| "memory:".into());
//! let conn = Connection::open(&url).await?;
//! conn.put("k", "v").await?;
//! let rows = conn.query("SELECT 1 AS one", toondb::params![]).await?;
//! assert_eq!(rows[0].get::<i64>("one")?, 1);
//! # Ok(())
//! # }
//! ```
//!
//! The protocol (`toondb.v1`) lives in the `toondb-proto` crate and is re-exported as [`pb`];
//! the server is the `toondb-grpc` crate, which re-exports this crate's types (so
//! `toondb_grpc::Client` is this [`Client`]). [`convert`] and [`status`] hold the one mapping
//! between protocol messages and `toondb` types and between errors and gRPC status codes,
//! shared by this client and the server. See [`connection`] for what differs between the
//! backends, and `docs/architecture/grpc.md` for the protocol.
#![forbid(unsafe_code)]

pub mod client;
pub mod connection;
pub mod convert;
pub mod error;
pub mod status;

pub use toondb_proto::pb;

pub use client::{
    Client, ClientOptions, KvPair, QueryResult, RemoteCollection, RemoteContext, RemoteTransaction,
    TokenInjector,
};
pub use connection::{Connection, ConnectionCollection, ConnectionTransaction, Target};
pub use error::{Error, Result};
