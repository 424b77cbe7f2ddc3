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
    /// Attach the built-in embedding model (the one `toondb model fetch` installed, or the
    /// model in DIR) to every collection of its dimension, so `search` and `build_context`
    /// take plain text: the query's embedding is computed in the server.
    #[cfg(feature = "embed")]
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "")]
    pub embed_model: Option<PathBuf>,
}

/// Runs `toondb mcp`: speaks MCP on stdin/stdout until the client disconnects.
pub fn run(args: McpArgs) -> Result<()> {
    let mode = if args.allow_writes {
        Mode::Create
    } else {
        Mode::Existing
    };
    let db = db::open(&args.path, mode)?;
    #[cfg(feature = "embed")]
    if let Some(dir) = &args.embed_model {
        attach_embedder(&db, dir)?;
    }
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

/// `--embed-model`: loads the model and attaches it to every collection of its dimension;
/// collections of another dimension are named on stderr and keep vector-only search.
#[cfg(feature = "embed")]
fn attach_embedder(db: &toondb::Database, dir: &std::path::Path) -> Result<()> {
    let dir = (!dir.as_os_str().is_empty()).then_some(dir);
    let embedder = toondb::embed::load_embedder(dir)?;
    for name in db.list_collections()? {
        let c = db.collection(&name)?;
        if c.dim() == embedder.dim() {
            c.set_embedder(embedder.clone())?;
            eprintln!(
                "toondb mcp: collection {name}: text queries embedded with {}",
                embedder.model_name()
            );
        } else {
            eprintln!(
                "toondb mcp: collection {name} holds {}-dimensional vectors, the model gives {}; \
                 it keeps vector-only search",
                c.dim(),
                embedder.dim()
            );
        }
    }
    Ok(())
}
