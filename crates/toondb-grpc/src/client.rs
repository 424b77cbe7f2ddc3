//! The async client: a re-export of [`toondb_client::client`] (depend on `toondb-client` to
//! use it without this crate). [`toondb_client::Connection`] runs the same calls against an
//! embedded database or a server.

pub use toondb_client::client::*;
