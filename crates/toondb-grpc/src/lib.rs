//! gRPC front end for ToonDB: the `toondb.v1` protocol (`proto/toondb/v1/toondb.proto`), the
//! `toondb-server` binary's server ([`server::serve`]) and an async [`Client`] whose methods
//! mirror [`toondb::Database`]'s names.
//!
//! This is the one ToonDB crate that uses tokio: the database itself is synchronous, and the
//! server runs every database call on tokio's blocking pool.
//!
//! ```no_run
//! # async fn demo() -> toondb_grpc::Result<()> {
//! use toondb_grpc::Client;
//! let client = Client::connect("http://127.0.0.1:50051").await?;
//! client.put("greeting", "hello").await?;
//! assert_eq!(client.get("greeting").await?.as_deref(), Some(&b"hello"[..]));
//! # Ok(())
//! # }
//! ```
//!
//! See `docs/architecture/grpc.md` for the threading model, limits and status mapping.

pub mod auth;
pub mod client;
pub mod conn;
pub mod convert;
pub mod error;
pub mod server;
pub mod service;
pub mod status;
pub mod txn;

/// Generated protobuf messages and service stubs (package `toondb.v1`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("toondb.v1");
}

pub use client::{
    Client, ClientOptions, QueryResult, RemoteCollection, RemoteContext, RemoteTransaction,
};
pub use error::{Error, Result};
pub use server::{serve, Listener, ServerConfig};
