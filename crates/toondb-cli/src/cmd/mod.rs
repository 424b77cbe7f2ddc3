//! One module per top-level subcommand.

pub mod backup;
pub mod check;
mod complete;
pub mod demo;
mod demo_data;
#[cfg(feature = "embed")]
pub mod embed;
pub mod export;
pub mod import;
pub mod mcp;
#[cfg(feature = "embed")]
pub mod model;
pub mod repair;
pub mod shell;
pub mod sql;
pub mod stats;
pub mod toon;
