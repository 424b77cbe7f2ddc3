#!/usr/bin/env bash
# Builds and tests the embedded SDKs: Python (maturin wheel -> fresh venv -> pytest),
# Go (C ABI library -> go test) and Node.js (napi addon -> node --test).
#
# Needs network access only to PyPI (maturin, pytest, hypothesis, numpy) and, when `go` or
# `node` are missing, Debian's packages. Respects CARGO_TARGET_DIR (default: <repo>/target).
# Exits non-zero on the first failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
T="$CARGO_TARGET_DIR"
PY="${PYTHON:-python3}"
mkdir -p "$T"

step() { printf '\n==> %s\n' "$*"; }

# The code block that follows `<!-- sdk-quickstart: $1 -->` in README.md, verbatim.
quickstart() {
  awk -v want="<!-- sdk-quickstart: $1 -->" '
    $0 == want { f = 1; next }
    f == 1 && /^```/ { f = 2; next }
    f == 2 && /^```/ { exit }
    f == 2 { print }' "$ROOT/README.md"
}
# Runs "$@" and fails unless it printed $1 somewhere ($1 is removed from the arguments).
expect_output() {
  local want="$1"; shift
  local out
  out="$("$@")" || { echo "error: $* failed" >&2; exit 1; }
  printf '%s\n' "$out"
  if ! grep -qF -- "$want" <<<"$out"; then
    echo "error: expected output containing: $want" >&2
    exit 1
  fi
}

apt_install() {
  if command -v apt-get >/dev/null 2>&1; then
    step "installing $* with apt-get"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@"
  else
    echo "error: $* missing and apt-get unavailable" >&2
    exit 1
  fi
}

# ---------------------------------------------------------------- native libraries
# The workspace feature set of scripts/test-all.sh (all libraries are already built by the
# test run, so this only links the cdylib/staticlib outputs).
source "$ROOT/scripts/ws-features.sh"
step "cargo build --workspace --lib (toondb-ffi, toondb-node)"
cargo build --workspace --locked "${ws_features[@]}" --lib

# ---------------------------------------------------------------- Python
step "python: build the abi3 wheel with maturin"
if [ ! -x "$T/sdk-venv-build/bin/maturin" ]; then
  "$PY" -m venv "$T/sdk-venv-build"
  "$T/sdk-venv-build/bin/pip" install -q "maturin>=1.5,<2"
fi
# The test wheel is a dev-profile build: it reuses the dependencies the test run compiled (a
# release wheel recompiles the whole tree, ~10 minutes on 2 cores). TOONDB_WHEEL_PROFILE=release
# builds the wheel users get.
rm -rf "$T/sdk-wheels"
(cd crates/toondb-python && "$T/sdk-venv-build/bin/maturin" build --profile "${TOONDB_WHEEL_PROFILE:-dev}" --strip --out "$T/sdk-wheels")
WHEEL="$(ls "$T"/sdk-wheels/toondb-*.whl | head -n1)"

step "python: install $(basename "$WHEEL") into a fresh venv"
rm -rf "$T/sdk-venv-test"
"$PY" -m venv "$T/sdk-venv-test"
"$T/sdk-venv-test/bin/pip" install -q pytest hypothesis numpy "$WHEEL"
# Run from outside the source tree so the installed package (not python/toondb) is tested.
(cd "$T" && "$T/sdk-venv-test/bin/python" -c 'import toondb, sys; print("toondb", toondb.__version__, "from", toondb.__file__)' \
  && "$T/sdk-venv-test/bin/python" -m pytest -q -p no:cacheprovider "$ROOT/crates/toondb-python/tests")

step "python: README quick start (verbatim)"
QS="$(quickstart python)"; [ -n "$QS" ] || { echo "error: no python quick start in README.md" >&2; exit 1; }
(cd "$T" && expect_output "error:" "$T/sdk-venv-test/bin/python" -c "$QS")

# ---------------------------------------------------------------- LangChain / LlamaIndex
step "python: langchain-toondb and llama-index-vector-stores-toondb (fresh venv, official suites)"
rm -rf "$T/sdk-venv-ai"
"$PY" -m venv "$T/sdk-venv-ai"
"$T/sdk-venv-ai/bin/pip" install -q "$WHEEL" "langchain-tests>=1,<2" "llama-index-core>=0.12,<0.15" \
  "$ROOT/bindings/langchain" "$ROOT/bindings/llamaindex"
(cd "$T" && "$T/sdk-venv-ai/bin/python" -m pytest -q -p no:cacheprovider \
  -o asyncio_mode=auto -o asyncio_default_fixture_loop_scope=function \
  "$ROOT/bindings/langchain/tests" "$ROOT/bindings/llamaindex/tests")
step "python: LangChain and LlamaIndex README quick starts (verbatim)"
QS="$(quickstart langchain)"; [ -n "$QS" ] || { echo "error: no langchain quick start in README.md" >&2; exit 1; }
(cd "$T" && expect_output "1 ToonDB is embedded" "$T/sdk-venv-ai/bin/python" -c "$QS")
QS="$(quickstart llamaindex)"; [ -n "$QS" ] || { echo "error: no llamaindex quick start in README.md" >&2; exit 1; }
(cd "$T" && expect_output "2 nodes" "$T/sdk-venv-ai/bin/python" -c "$QS")

# ---------------------------------------------------------------- Go
step "go: go test over the C ABI"
if ! command -v go >/dev/null 2>&1; then apt_install golang-go; fi
go version
(cd bindings/go \
  && CGO_ENABLED=1 CGO_LDFLAGS="-L$T/debug" LD_LIBRARY_PATH="$T/debug${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
     GOFLAGS=-mod=mod GOPROXY=off go test -count=1 ./... \
  && CGO_ENABLED=1 CGO_LDFLAGS="-L$T/debug" GOFLAGS=-mod=mod GOPROXY=off go vet ./...)

step "go: README quick start (verbatim)"
QS="$(quickstart go)"; [ -n "$QS" ] || { echo "error: no go quick start in README.md" >&2; exit 1; }
GOQS="$T/sdk-go-quickstart"
rm -rf "$GOQS" && mkdir -p "$GOQS"
printf '%s\n' "$QS" > "$GOQS/main.go"
printf 'module quickstart\n\ngo 1.19\n\nrequire example.invalid/toondb/bindings/go v0.0.0\n\nreplace example.invalid/toondb/bindings/go => %s\n' \
  "$ROOT/bindings/go" > "$GOQS/go.mod"
(cd "$GOQS" \
  && CGO_ENABLED=1 CGO_LDFLAGS="-L$T/debug" LD_LIBRARY_PATH="$T/debug${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
     GOFLAGS=-mod=mod GOPROXY=off expect_output "not found" go run .)

# ---------------------------------------------------------------- Node.js
step "node: node --test"
if ! command -v node >/dev/null 2>&1; then apt_install nodejs; fi
node --version
cp "$T/debug/libtoondb_node.so" crates/toondb-node/toondb.node
(cd crates/toondb-node && node --test test/)

step "node: npm pack, install the tarball in a fresh directory, use it"
NPMDIR="$T/sdk-npm"
rm -rf "$NPMDIR" && mkdir -p "$NPMDIR/pack" "$NPMDIR/app"
(cd crates/toondb-node && npm pack --silent --pack-destination "$NPMDIR/pack" >/dev/null)
TGZ="$(ls "$NPMDIR"/pack/toondb-*.tgz | head -n1)"
(cd "$NPMDIR/app" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund --offline "$TGZ" \
  && expect_output "prepared: 2 [ 'b', 'a' ]" node -e "
const { Database } = require('toondb');
const db = Database.openInMemory();
db.execute('CREATE TABLE t(x TEXT)');
const ins = db.prepare('INSERT INTO t VALUES (?)');
ins.run('a'); const r = ins.run(['b']);
console.log('prepared:', r.lastInsertRowid, db.prepare('SELECT x FROM t ORDER BY x DESC').pluck().all());
db.close();")

step "node: README quick start (verbatim)"
QS="$(quickstart node)"; [ -n "$QS" ] || { echo "error: no node quick start in README.md" >&2; exit 1; }
(cd "$ROOT" && expect_output "error code: INVALID_ARGUMENT" node -e "$QS")

step "all SDK tests passed"
