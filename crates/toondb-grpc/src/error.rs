//! This crate's error type: the one of [`toondb_client`], shared by the server and the
//! client so that a status, a transport failure or a database error reads the same on both.

pub use toondb_client::{Error, Result};
