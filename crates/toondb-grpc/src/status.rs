//! The mapping between [`toondb::Error`] and gRPC status codes: a re-export of
//! [`toondb_client::status`], which the server and the client share.

pub use toondb_client::status::*;
