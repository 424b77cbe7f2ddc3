//! A [Model Context Protocol](https://modelcontextprotocol.io) server exposing a ToonDB
//! database to agents, built on the official Rust SDK (`rmcp`).
//!
//! - **Tools**: `sql` (read-only unless [`ServerOptions::allow_writes`]), `list_tables`,
//!   `describe_table`, `search`, `build_context`, `kv_get`, `kv_put`, `kv_scan`,
//!   `graph_neighbors`, `graph_traverse`, `graph_add`. Each tool's input schema is derived
//!   from the Rust type its arguments are decoded into (unknown fields refused), so the
//!   advertised schema is what is enforced.
//! - **Resources**: `toondb://table/<name>` and `toondb://collection/<name>`, the schema of
//!   each SQL table and collection.
//! - **Results** are TOON by default (`"format": "json"` for JSON); each result's `_meta`
//!   carries `toondb/tokens` (o200k tokens of the text) and `toondb/format`.
//! - **Errors**: malformed arguments are JSON-RPC `invalid params` (-32602) errors; a refused
//!   write or a database error is a tool result with `isError: true` and a message starting
//!   `refused:` or `error (<kind>):`. Every call runs on a blocking thread; a panic in one
//!   becomes an internal error, never a crash of the server.
//!
//! `toondb mcp PATH` (crate `toondb-cli`) runs [`serve_stdio`]; see `docs/mcp.md`.
#![forbid(unsafe_code)]

pub mod tools;

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorData,
    Implementation, ListResourcesResult, ListToolsResult, MetaObject, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, ServiceExt};
use serde_json::{json, Value as Json};
use toondb::Database;

use tools::{Format, Output};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A database error.
    #[error(transparent)]
    Db(#[from] toondb::Error),
    /// An I/O error (runtime, transport).
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The MCP session failed.
    #[error("mcp: {0}")]
    Mcp(String),
}

/// Result alias for [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Why a tool call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// The arguments do not match the tool's schema or limits (JSON-RPC -32602).
    #[error("{0}")]
    InvalidParams(String),
    /// A write was refused because the server is read-only.
    #[error("refused: {0}")]
    Refused(String),
    /// The database reported an error.
    #[error("error ({kind}): {err}", kind = .0.kind(), err = .0)]
    Db(#[from] toondb::Error),
}

/// Server options.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Allow tools and SQL that change the database.
    pub allow_writes: bool,
}

impl ServerOptions {
    /// Sets [`ServerOptions::allow_writes`].
    pub fn allow_writes(mut self, yes: bool) -> Self {
        self.allow_writes = yes;
        self
    }
}

/// The MCP server over one database.
#[derive(Clone, Debug)]
pub struct ToonDbServer {
    db: Database,
    opts: Arc<ServerOptions>,
}

impl ToonDbServer {
    /// A server over `db`.
    pub fn new(db: Database, opts: ServerOptions) -> ToonDbServer {
        ToonDbServer {
            db,
            opts: Arc::new(opts),
        }
    }

    /// The tool definitions as advertised by `tools/list`.
    pub fn tools(&self) -> Vec<Tool> {
        tools::TOOLS
            .iter()
            .map(|t| {
                let schema = match (t.schema)() {
                    Json::Object(m) => m,
                    _ => serde_json::Map::new(),
                };
                let mut tool = Tool::new(t.name, t.description, Arc::new(schema));
                let mut ann = ToolAnnotations::new();
                ann.read_only_hint = Some(!t.writes);
                ann.destructive_hint = Some(false);
                tool.annotations = Some(ann);
                tool
            })
            .collect()
    }

    /// Runs one tool call synchronously (what `tools/call` does on a blocking thread).
    pub fn call(&self, name: &str, args: Json) -> std::result::Result<Output, ToolError> {
        use tools::*;
        let db = &self.db;
        let writes = self.opts.allow_writes;
        let spec = TOOLS
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| ToolError::InvalidParams(format!("unknown tool {name:?}")))?;
        let args = if args.is_null() { json!({}) } else { args };
        match name {
            "sql" => sql(db, decode(name, args)?, writes),
            "list_tables" => list_tables(db, decode(name, args)?),
            "describe_table" => describe_table(db, decode(name, args)?),
            "search" => search(db, decode(name, args)?),
            "build_context" => build_context(db, decode(name, args)?),
            "kv_get" => kv_get(db, decode(name, args)?),
            "kv_scan" => kv_scan(db, decode(name, args)?),
            "graph_neighbors" => graph_neighbors(db, decode(name, args)?),
            "graph_traverse" => graph_traverse(db, decode(name, args)?),
            "kv_put" | "graph_add" => {
                // Validate first so malformed arguments are reported as such even when
                // read-only.
                if name == "kv_put" {
                    let a: KvPutArgs = decode(name, args)?;
                    refuse_unless(writes, spec.name)?;
                    kv_put(db, a)
                } else {
                    let a: GraphAddArgs = decode(name, args)?;
                    refuse_unless(writes, spec.name)?;
                    graph_add(db, a)
                }
            }
            _ => Err(ToolError::InvalidParams(format!("unknown tool {name:?}"))),
        }
    }

    fn resources(&self) -> std::result::Result<Vec<Resource>, ToolError> {
        let mut out = Vec::new();
        for t in tools::catalog(&self.db)?.tables.values() {
            out.push(
                Resource::new(format!("toondb://table/{}", t.name), t.name.clone())
                    .with_description(format!("Schema of SQL table {}", t.name))
                    .with_mime_type("text/plain"),
            );
        }
        for c in self.db.list_collections()? {
            out.push(
                Resource::new(format!("toondb://collection/{c}"), c.clone())
                    .with_description(format!("Schema of collection {c}"))
                    .with_mime_type("text/plain"),
            );
        }
        Ok(out)
    }

    fn read(&self, uri: &str) -> std::result::Result<Option<String>, ToolError> {
        let schema = if let Some(t) = uri.strip_prefix("toondb://table/") {
            tools::table_schema(&tools::catalog(&self.db)?, t)
        } else if let Some(c) = uri.strip_prefix("toondb://collection/") {
            if !self.db.list_collections()?.iter().any(|n| n == c) {
                return Ok(None);
            }
            Some(tools::collection_schema(&self.db, c)?)
        } else {
            None
        };
        Ok(schema.map(|s| toondb_toon::encode_json(&s, &Default::default())))
    }
}

fn refuse_unless(writes: bool, tool: &str) -> std::result::Result<(), ToolError> {
    if writes {
        Ok(())
    } else {
        Err(ToolError::Refused(format!(
            "the server is read-only: {tool} needs `toondb mcp --allow-writes`"
        )))
    }
}

/// Encodes an output as text and counts its tokens.
pub fn render(o: &Output) -> (String, usize) {
    let text = match (&o.text, o.format) {
        (Some(t), _) => t.clone(),
        (None, Format::Toon) => toondb_toon::encode_json(&o.value, &Default::default()),
        (None, Format::Json) => serde_json::to_string_pretty(&o.value).unwrap_or_default(),
    };
    let tokens = toondb_toon::count_tokens(&text, toondb::Tokenizer::O200k);
    (text, tokens)
}

fn meta(tokens: usize, format: Format) -> MetaObject {
    let mut m = serde_json::Map::new();
    m.insert("toondb/tokens".into(), json!(tokens));
    m.insert(
        "toondb/format".into(),
        json!(if format == Format::Json {
            "json"
        } else {
            "toon"
        }),
    );
    MetaObject(m)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> std::result::Result<T, ErrorData> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ErrorData::internal_error(format!("tool failed: {e}"), None))
}

impl ServerHandler for ToonDbServer {
    fn get_info(&self) -> ServerConfig {
        let mode = if self.opts.allow_writes {
            "Writes are allowed."
        } else {
            "The server is read-only: SQL writes, kv_put and graph_add are refused."
        };
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("toondb", env!("CARGO_PKG_VERSION")))
        .with_instructions(format!(
            "ToonDB: SQL tables, vector/keyword collections, a key-value store and a bi-temporal graph. Results are TOON unless format=json; _meta.toondb/tokens gives each result's token count. {mode}"
        ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, ErrorData> {
        let server = self.clone();
        let name = request.name.to_string();
        let args = request.arguments.map_or(Json::Null, Json::Object);
        let r = blocking(move || server.call(&name, args).map(|o| (render(&o), o.format))).await?;
        match r {
            Ok(((text, tokens), format)) => {
                let mut res = CallToolResult::success(vec![ContentBlock::text(text)]);
                res.meta = Some(meta(tokens, format));
                Ok(res.into())
            }
            Err(ToolError::InvalidParams(m)) => Err(ErrorData::invalid_params(m, None)),
            Err(e) => Ok(CallToolResult::error(vec![ContentBlock::text(e.to_string())]).into()),
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ListResourcesResult, ErrorData> {
        let server = self.clone();
        match blocking(move || server.resources()).await? {
            Ok(r) => Ok(ListResourcesResult::with_all_items(r)),
            Err(e) => Err(ErrorData::internal_error(e.to_string(), None)),
        }
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ReadResourceResponse, ErrorData> {
        let server = self.clone();
        let uri = request.uri.clone();
        match blocking(move || server.read(&uri)).await? {
            Ok(Some(text)) => {
                Ok(ReadResourceResult::new(vec![ResourceContents::text(text, request.uri)]).into())
            }
            Ok(None) => Err(ErrorData::resource_not_found(
                format!("no such resource: {}", request.uri),
                None,
            )),
            Err(e) => Err(ErrorData::internal_error(e.to_string(), None)),
        }
    }
}

/// Serves `db` over stdio until the client closes the connection.
pub async fn serve_stdio(db: Database, opts: ServerOptions) -> Result<()> {
    let server = ToonDbServer::new(db, opts);
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| Error::Mcp(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| Error::Mcp(e.to_string()))?;
    Ok(())
}

/// Runs [`serve_stdio`] on a new multi-threaded tokio runtime (for synchronous callers such
/// as the CLI).
pub fn run_stdio(db: Database, opts: ServerOptions) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(serve_stdio(db, opts))
}
