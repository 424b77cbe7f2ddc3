//! One module per top-level subcommand.

pub mod backup;
pub mod check;
mod complete;
pub mod demo;
mod demo_data;
pub mod export;
pub mod import;
pub mod mcp;
pub mod repair;
pub mod shell;
pub mod sql;
pub mod stats;
pub mod toon;
