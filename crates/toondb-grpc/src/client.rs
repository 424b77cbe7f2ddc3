//! The async client: a re-export of [`toondb::remote::client`] (enable `toondb`'s `grpc`
//! feature to use it without this crate). [`toondb::remote::Connection`] runs the same calls
//! against an embedded database or a server.

pub use toondb::remote::client::*;
