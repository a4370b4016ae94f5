#!/usr/bin/env bash
# Runs the chat example: installs the official browser client from the
# lockfile, then serves http://127.0.0.1:3000 (set PORT to change the port).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/examples/chat"
npm ci --no-audit --no-fund --loglevel=error
cd "$ROOT/examples"
exec go run ./chat "$@"
