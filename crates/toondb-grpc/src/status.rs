//! The mapping between [`toondb::Error`] and gRPC status codes: a re-export of
//! [`toondb::remote::status`], which the server and the client share.

pub use toondb::remote::status::*;
