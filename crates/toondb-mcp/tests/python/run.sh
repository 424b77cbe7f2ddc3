#!/usr/bin/env bash
# Real-client test of `toondb mcp`: the official MCP Python SDK (`mcp` from PyPI, in a venv
# under the cargo target dir) starts `toondb mcp DB` over stdio, lists tools and resources,
# calls every tool, checks a refused write in read-only mode and malformed arguments, then
# reconnects with --allow-writes. Exits non-zero on any failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PY=${PYTHON:-python3}
VENV="$TARGET/toondb-mcp-pyvenv"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "== python venv ($VENV) with the MCP SDK"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import mcp' 2>/dev/null; then
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install -q "mcp>=2.3,<3"
fi
"$VENV/bin/python" -c 'import importlib.metadata as m; print("mcp", m.version("mcp"))'

echo "== build toondb (CLI) and the seed example"
# The workspace feature set of scripts/test-all.sh, so nothing already built recompiles.
source "$ROOT/scripts/ws-features.sh"
(cd "$ROOT" && cargo build -q --workspace --locked "${ws_features[@]}" --bin toondb --example seed)
"$TARGET/debug/examples/seed" "$WORK/db"

echo "== python client against toondb mcp"
TOONDB_BIN="$TARGET/debug/toondb" TOONDB_DB="$WORK/db" \
    timeout 300 "$VENV/bin/python" "$HERE/test_mcp_stdio.py"
