//! Conversions between protobuf messages and `toondb` types: a re-export of
//! [`toondb_client::convert`], which the server and the client share.

pub use toondb_client::convert::*;
