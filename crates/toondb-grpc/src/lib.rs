//! gRPC server for ToonDB: the `toondb-server` binary's server ([`server::serve`]) for the
//! `toondb.v1` protocol. The protocol (`.proto` and generated code) is the `toondb-proto`
//! crate, re-exported as [`pb`]; the async [`Client`] (and [`Connection`], which runs the same
//! calls against an embedded database or a server) live in the `toondb-client` crate and are
//! re-exported here, so `toondb_grpc::Client` keeps working.
//!
//! The server uses tokio for the network only: the database itself is synchronous, and no
//! database call runs on an async worker. Point operations (`Get`, `Put`, `Delete`, `Batch`
//! outside transactions) run on a small fixed pool of database threads that groups concurrent
//! writes into one engine batch; everything else (transactions, SQL, collections, context
//! queries, streaming producers) runs on tokio's blocking pool. See the "Threading model"
//! section of `docs/architecture/grpc.md`.
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
mod h2fix;
pub mod server;
pub mod service;
pub mod status;
pub mod tls;
pub mod txn;

pub use toondb_proto::pb;

pub use error::{Error, Result};
pub use server::{serve, Listener, ServerConfig};
pub use tls::TlsConfig;
pub use toondb_client::{
    Client, ClientOptions, Connection, ConnectionCollection, ConnectionTransaction, QueryResult,
    RemoteCollection, RemoteContext, RemoteTransaction, Target,
};
