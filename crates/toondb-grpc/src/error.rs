//! This crate's error type: the one of [`toondb::remote`], shared by the server and the
//! client so that a status, a transport failure or a database error reads the same on both.

pub use toondb::remote::{Error, Result};
