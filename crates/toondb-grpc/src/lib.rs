//! gRPC front end for ToonDB: the `toondb.v1` protocol (`proto/toondb/v1/toondb.proto`), the
//! `toondb-server` binary's server ([`server::serve`]) and an async [`Client`] whose methods
//! mirror [`toondb::Database`]'s names.
//!
//! This is the one ToonDB crate that uses tokio: the database itself is synchronous, and the
//! server runs every database call on tokio's blocking pool.
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> toondb_grpc::Result<()> {
//! use toondb_grpc::{serve, Client, Listener, ServerConfig};
//!
//! // A server on a free loopback port, stopped by a oneshot channel.
//! let db = toondb::Database::open_in_memory()?;
//! let listener = Listener::tcp("127.0.0.1:0".parse().expect("literal address")).await?;
//! let uri = format!("http://{}", listener.local_addr().expect("TCP listener"));
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(serve(db, vec![listener], ServerConfig::default(), async {
//!     let _ = stopped.await;
//! }));
//!
//! // The client uses the embedded API's method names.
//! let client = Client::connect(&uri).await?;
//! client.put("greeting", "hello").await?;
//! assert_eq!(client.get("greeting").await?.as_deref(), Some(&b"hello"[..]));
//! client.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)", &[]).await?;
//! client.execute("INSERT INTO t(name) VALUES (?)", &["ada".into()]).await?;
//! let rows = client.query("SELECT id, name FROM t", &[]).await?;
//! assert_eq!(rows.columns, ["id", "name"]);
//! assert_eq!(rows.rows[0][1], toondb::Value::Text("ada".into()));
//!
//! drop(client);
//! let _ = stop.send(());
//! server.await.expect("server task")?;
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
