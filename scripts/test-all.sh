#!/usr/bin/env bash
# Runs every ToonDB test: formatting, lints, the architecture rule (no tokio in the core),
# unit/integration/property/crash tests, doctests and the external conformance suites
# (TOON spec fixtures, SQLite sqllogictest). This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export RUST_BACKTRACE=1

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

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests (nextest)"
cargo nextest run --workspace --locked --no-fail-fast

step "doctests"
cargo test --workspace --doc --locked

echo
echo "all checks passed"
