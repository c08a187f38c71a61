#!/usr/bin/env bash
# `npm start`: the service on embedded defaults (chDB in ./data, API on 127.0.0.1:8080) with the
# demo fleet feeding it, so risk events appear within a minute. Extra arguments go to `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec node --import tsx src/cli/main.ts serve "$@"
