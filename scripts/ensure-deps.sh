#!/usr/bin/env bash
# Installs the npm dependencies when they are missing or older than package-lock.json, so a fresh
# clone needs nothing but `npm start` or `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
# `npm install` rather than `npm ci`: chdb lists prebuilt engines for other platforms as optional
# dependencies that the registry here does not serve, and `npm ci` refuses a lock file without them.
# The lock file still pins every version that is installed.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm dependencies..." >&2
  npm install --no-audit --no-fund >&2
fi
