#!/usr/bin/env bash
# Independent Python client test of toondb-server: grpcio stubs generated from the same .proto
# (crates/toondb-proto/proto/toondb/v1/toondb.proto, the single source of the protocol).
# 1. venv under the cargo target dir with pinned grpcio + grpcio-tools from PyPI
# 2. stubs via `python -m grpc_tools.protoc`
# 3. builds and starts toondb-server on an ephemeral loopback port and a Unix socket, temp data dir
# 4. runs the unittest files (test_tls.py starts its own TLS servers from TOONDB_BIN, with
#    certificates made by openssl)
# 5. stops the server with SIGTERM and checks that it exited cleanly
# Exits non-zero (loudly) on any failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CRATE=$(cd "$HERE/../.." && pwd)
ROOT=$(cd "$CRATE/../.." && pwd)
PROTO_ROOT="$ROOT/crates/toondb-proto/proto"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PY=${PYTHON:-python3}
VENV="$TARGET/toondb-grpc-pyvenv"
TOKEN="py-test-token-$$"

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "run.sh: FAILED: $*" >&2
    if [ -f "$WORK/server.err" ]; then
        echo "--- server stderr ---" >&2
        cat "$WORK/server.err" >&2
    fi
    exit 1
}

echo "== python venv ($VENV)"
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV" || fail "cannot create a venv with $PY"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt" \
    || fail "pip install of grpcio/grpcio-tools failed"

echo "== generating stubs"
mkdir -p "$WORK/gen"
"$VENV/bin/python" -m grpc_tools.protoc -I "$PROTO_ROOT" \
    --python_out="$WORK/gen" --grpc_python_out="$WORK/gen" \
    "$PROTO_ROOT/toondb/v1/toondb.proto" || fail "protoc failed"

echo "== building toondb-server"
# The workspace feature set of scripts/test-all.sh, so nothing already built recompiles.
source "$ROOT/scripts/ws-features.sh"
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --quiet --workspace --locked "${ws_features[@]}" --bin toondb-server) \
    || fail "cargo build failed"
BIN="$TARGET/debug/toondb-server"

echo "== starting server"
"$BIN" --data "$WORK/db" --listen 127.0.0.1:0 --unix "$WORK/toondb.sock" --token "$TOKEN" --txn-idle-secs 2 \
    >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
ADDR=""
for _ in $(seq 1 300); do
    if grep -q '^listening on ' "$WORK/server.out" 2>/dev/null; then
        ADDR=$(sed -n 's/^listening on //p' "$WORK/server.out" | grep -v '^unix:' | head -n1)
        break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited during startup"
    sleep 0.1
done
[ -n "$ADDR" ] || fail "server did not print 'listening on ADDR' within 30 s"
echo "server at $ADDR (pid $SERVER_PID)"

echo "== running python tests"
set +e
PYTHONDONTWRITEBYTECODE=1 TOONDB_BIN="$BIN" TOONDB_ADDR="$ADDR" TOONDB_UNIX="$WORK/toondb.sock" TOONDB_TOKEN="$TOKEN" PYTHONPATH="$WORK/gen" \
    "$VENV/bin/python" -m unittest discover -s "$HERE" -p 'test_*.py' -v
TEST_STATUS=$?
set -e

echo "== stopping server (SIGTERM)"
kill -TERM "$SERVER_PID"
SERVER_STATUS=0
wait "$SERVER_PID" || SERVER_STATUS=$?
SERVER_PID=""
[ "$TEST_STATUS" -eq 0 ] || fail "python tests failed (exit $TEST_STATUS)"
[ "$SERVER_STATUS" -eq 0 ] || fail "server exited with status $SERVER_STATUS after SIGTERM"
grep -q 'shut down cleanly' "$WORK/server.err" || fail "server did not report a clean shutdown"
echo "run.sh: OK (python client tests passed, server exited cleanly)"
