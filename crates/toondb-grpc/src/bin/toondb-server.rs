//! `toondb-server`: serves a ToonDB database over gRPC (package `toondb.v1`).
//!
//! ```text
//! toondb-server --data DIR [--listen 127.0.0.1:50051] [--unix PATH] [--token T | --token-file F]
//! ```
//! Prints `listening on ADDR` (one line per listener) once it accepts connections, and shuts
//! down gracefully on SIGTERM or Ctrl-C: in-flight calls finish, open transactions are rolled
//! back and the database is closed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use toondb_grpc::server::{
    check_bind_policy, check_transport_policy, serve, Listener, ServerConfig,
};
use toondb_grpc::TlsConfig;

#[derive(Parser, Debug)]
#[command(
    name = "toondb-server",
    version,
    about = "Serve a ToonDB database over gRPC"
)]
struct Args {
    /// Database directory (created if missing).
    #[arg(long)]
    data: PathBuf,
    /// TCP address to listen on (port 0 picks a free port). Default 127.0.0.1:50051 unless
    /// only --unix is given.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Unix socket path to listen on (an existing non-socket file there is refused).
    #[arg(long)]
    unix: Option<PathBuf>,
    /// Permission bits of the Unix socket, in octal.
    #[arg(long, default_value = "600", value_parser = parse_mode)]
    unix_mode: u32,
    /// Bearer token required on every call (also read from TOONDB_TOKEN).
    #[arg(long, env = "TOONDB_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// File holding the bearer token (trailing whitespace is ignored).
    #[arg(long, conflicts_with = "token")]
    token_file: Option<PathBuf>,
    /// Allow a non-loopback TCP bind without a token.
    #[arg(long)]
    insecure_no_auth: bool,
    /// PEM certificate chain for TLS on the TCP listener (needs --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// PEM CA certificate(s): clients must present a certificate signed by one (mutual TLS).
    #[arg(long, requires = "tls_cert")]
    tls_ca: Option<PathBuf>,
    /// Allow a non-loopback TCP bind without TLS (traffic, token included, in clear).
    #[arg(long)]
    insecure: bool,
    /// Largest request/response message in MiB.
    #[arg(long, default_value_t = 16)]
    max_message_mib: usize,
    /// Database calls executing at once.
    #[arg(long, default_value_t = 256)]
    max_in_flight: usize,
    /// Threads running point operations (Get/Put/Delete/Batch outside transactions);
    /// 0 = one per core (2..=64).
    #[arg(long, default_value_t = 0)]
    db_threads: usize,
    /// Async (network) worker threads; 0 = one per core.
    #[arg(long, default_value_t = 0)]
    worker_threads: usize,
    /// Per-call deadline in seconds when the client sets none.
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
    /// Idle seconds after which an open transaction is rolled back.
    #[arg(long, default_value_t = 60)]
    txn_idle_secs: u64,
    /// Open transactions one connection may hold.
    #[arg(long, default_value_t = 256)]
    max_txns_per_conn: usize,
    /// Seconds after which a transaction is rolled back even if it is in use.
    #[arg(long, default_value_t = 600)]
    txn_max_lifetime_secs: u64,
    /// Seconds a streaming call (Scan, Query, Search) may last in total.
    #[arg(long, default_value_t = 600)]
    stream_max_secs: u64,
    /// Streaming calls one connection may run at once (its share of --max-in-flight).
    #[arg(long, default_value_t = 16)]
    max_streams_per_conn: usize,
    /// Seconds in-flight calls get to finish after SIGTERM/Ctrl-C.
    #[arg(long, default_value_t = 10)]
    shutdown_grace_secs: u64,
    /// Commit durability: full (fsync), normal (OS buffers, periodic fsync) or off.
    #[arg(long, default_value = "full")]
    sync: String,
}

fn run(args: Args) -> Result<(), String> {
    if std::env::args_os().any(|a| a == "--token" || a.to_string_lossy().starts_with("--token=")) {
        eprintln!(
            "toondb-server: warning: --token on the command line is visible to every user \
             (ps, /proc); use --token-file or the TOONDB_TOKEN environment variable"
        );
    }
    let token = match (&args.token, &args.token_file) {
        (Some(t), _) => Some(t.clone()),
        (None, Some(f)) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| format!("reading {}: {e}", f.display()))?
                .trim_end()
                .to_string(),
        ),
        (None, None) => None,
    };
    if token.as_deref() == Some("") {
        return Err("the token is empty".into());
    }
    let listen = match (args.listen, &args.unix) {
        (None, None) => Some(SocketAddr::from(([127, 0, 0, 1], 50051))),
        (l, _) => l,
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some(
            TlsConfig::from_pem_files(c, k, args.tls_ca.as_deref()).map_err(|e| e.to_string())?,
        ),
        _ => None,
    };
    if let Some(addr) = &listen {
        check_bind_policy(addr, token.as_deref(), args.insecure_no_auth)
            .map_err(|e| e.to_string())?;
        check_transport_policy(addr, tls.is_some(), args.insecure).map_err(|e| e.to_string())?;
    }
    let sync = match args.sync.as_str() {
        "full" => toondb::SyncMode::Full,
        "normal" => toondb::SyncMode::Normal,
        "off" => toondb::SyncMode::Off,
        other => {
            return Err(format!(
                "--sync: expected full, normal or off, got {other:?}"
            ))
        }
    };
    let mut cfg = ServerConfig::default()
        .with_token(token)
        .with_tls(tls)
        .with_max_message_bytes(args.max_message_mib.max(1) << 20)
        .with_max_in_flight(args.max_in_flight)
        .with_request_timeout(Duration::from_secs(args.timeout_secs.max(1)))
        .with_txn_idle_timeout(Duration::from_secs(args.txn_idle_secs.max(1)))
        .with_shutdown_grace(Duration::from_secs(args.shutdown_grace_secs));
    cfg.max_txns_per_connection = args.max_txns_per_conn.max(1);
    cfg.max_db_streams_per_connection = args.max_streams_per_conn.max(1);
    cfg.stream_max_duration = Duration::from_secs(args.stream_max_secs.max(1));
    cfg.txn_max_lifetime = Duration::from_secs(args.txn_max_lifetime_secs.max(1));
    if args.db_threads > 0 {
        cfg = cfg.with_db_threads(args.db_threads);
    }

    std::fs::create_dir_all(&args.data)
        .map_err(|e| format!("creating {}: {e}", args.data.display()))?;
    let db = toondb::Database::open_with(&args.data, toondb::Options::default().with_sync(sync))
        .map_err(|e| format!("opening {}: {e}", args.data.display()))?;

    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if args.worker_threads > 0 {
        rt.worker_threads(args.worker_threads);
    }
    let rt = rt
        .enable_all()
        .max_blocking_threads(args.max_in_flight.max(1) + 16)
        .thread_name("toondb-grpc")
        .build()
        .map_err(|e| format!("starting runtime: {e}"))?;
    rt.block_on(async move {
        let mut listeners = Vec::new();
        if let Some(addr) = listen {
            listeners.push(Listener::tcp(addr).await.map_err(|e| e.to_string())?);
        }
        if let Some(p) = &args.unix {
            listeners.push(
                Listener::unix_with_mode(p.clone(), args.unix_mode)
                    .await
                    .map_err(|e| e.to_string())?,
            );
        }
        for l in &listeners {
            println!("listening on {}", l.display_addr());
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
        serve(db, listeners, cfg, shutdown_signal())
            .await
            .map_err(|e| e.to_string())?;
        eprintln!("toondb-server: shut down cleanly");
        Ok(())
    })
}

fn parse_mode(s: &str) -> Result<u32, String> {
    match u32::from_str_radix(s.trim_start_matches("0o"), 8) {
        Ok(m) if m <= 0o777 => Ok(m),
        _ => Err(format!(
            "expected octal permission bits such as 600 or 660, got {s:?}"
        )),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, only SIGTERM stops the server.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    eprintln!("toondb-server: shutting down");
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("toondb-server: {e}");
            ExitCode::from(2)
        }
    }
}
