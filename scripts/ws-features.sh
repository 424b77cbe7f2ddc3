#!/usr/bin/env bash
# Sourced by the test scripts: sets the array `ws_features` to the cargo feature flags every
# workspace build in the test suite uses, so that all of them (clippy, nextest, the binaries the
# Python/Go/Node/MCP tests start) unify features identically and compile each crate once.
#
# Default features are turned off and re-enabled as `<pkg>/default` for every package, except
# toondb-bench, which gets `peers` (redb, sled, fjall, SQLite) only: its opt-in feature `rocksdb`
# compiles RocksDB's C++ sources (10+ minutes on 2 cores, needs libclang).
#
# Use with `--workspace` (the feature names are package-qualified): e.g.
#   source scripts/ws-features.sh && cargo build --workspace --locked "${ws_features[@]}" --bin toondb
_ws_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ws_features=(--no-default-features --features "$(cd "$_ws_root" && python3 - <<'PY'
import glob, tomllib
feats = ["toondb-bench/peers"]
for path in sorted(glob.glob("crates/*/Cargo.toml")):
    with open(path, "rb") as f:
        manifest = tomllib.load(f)
    name = manifest["package"]["name"]
    if name != "toondb-bench" and "default" in manifest.get("features", {}):
        feats.append(f"{name}/default")
print(",".join(feats))
PY
)")
unset _ws_root
