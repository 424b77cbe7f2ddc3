//! Conversions between protobuf messages and `toondb` types: a re-export of
//! [`toondb::remote::convert`], which the server and the client share.

pub use toondb::remote::convert::*;
