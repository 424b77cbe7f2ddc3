//! `toondb mcp PATH`: serve the database to agents over the Model Context Protocol (stdio).
//! The server itself lives in the `toondb-mcp` crate; see `docs/mcp.md`.

use std::path::PathBuf;

use clap::Args;

use crate::db::{self, Mode};
use crate::error::{Error, Result};

/// Arguments of `toondb mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Database directory (must exist unless --allow-writes is given).
    pub path: PathBuf,
    /// Allow tools that change the database (SQL writes, kv_put, graph_add). Without it the
    /// server is read-only.
    #[arg(long)]
    pub allow_writes: bool,
}

/// Runs `toondb mcp`: speaks MCP on stdin/stdout until the client disconnects.
pub fn run(args: McpArgs) -> Result<()> {
    let mode = if args.allow_writes {
        Mode::Create
    } else {
        Mode::Existing
    };
    let db = db::open(&args.path, mode)?;
    let opts = toondb_mcp::ServerOptions::default().allow_writes(args.allow_writes);
    let r = toondb_mcp::run_stdio(db.clone(), opts);
    db.close()?;
    r.map_err(|e| match e {
        toondb_mcp::Error::Db(e) => Error::Db(e),
        toondb_mcp::Error::Io(source) => Error::Io {
            path: "<stdio>".into(),
            source,
        },
        other => Error::Usage(other.to_string()),
    })
}
