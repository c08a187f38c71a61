#!/usr/bin/env bash
# `npm test`: everything a fresh machine needs, then every test. Installs npm dependencies and kcat
# (Debian) when missing; the vitest global setup fetches and starts the Kafka broker itself
# (scripts/kafka.sh, jars cached in .cache/kafka) and stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
if ! command -v kcat >/dev/null 2>&1 && [ "${AGENTWATCH_SKIP_KAFKA:-0}" != "1" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing kcat (apt-get)..." >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat) >&2 \
      || echo "kcat could not be installed; the kcat interoperability test will be skipped" >&2
  else
    echo "kcat not found and not root: the kcat interoperability test will be skipped" >&2
  fi
fi
npx tsc --noEmit -p .
npx tsx schemas/generate.ts --check
# The full run fails when the broker cannot start, instead of skipping the Kafka tests.
export AGENTWATCH_SKIP_KAFKA="${AGENTWATCH_SKIP_KAFKA:-0}"
exec npx vitest run "$@"
