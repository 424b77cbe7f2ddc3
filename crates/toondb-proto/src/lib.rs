//! The ToonDB remote protocol, package `toondb.v1`: owns `proto/toondb/v1/toondb.proto` (the
//! single source of the protocol, also used by the Python test client's codegen) and the Rust
//! code generated from it. Depends only on `tonic` and `prost`; the server lives in
//! `toondb-grpc`, the Rust client in `toondb-client`.
//!
//! ```
//! use toondb_proto::pb;
//! let req = pb::PutRequest { key: b"k".to_vec(), value: b"v".to_vec(), txn: None };
//! assert_eq!(req.key, b"k");
//! assert_eq!(pb::Metric::L2.as_str_name(), "METRIC_L2");
//! ```
#![forbid(unsafe_code)]

/// Generated protobuf messages and service stubs (package `toondb.v1`): `*_client` modules
/// hold the tonic clients, `*_server` modules the service traits and tower services.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("toondb.v1");
}

/// Path of the `.proto` file inside this crate, relative to its `proto/` include root.
pub const PROTO_FILE: &str = "toondb/v1/toondb.proto";
