#!/usr/bin/env bash
# The README's run command: sets up a fresh checkout (pnpm, dependencies, build) and starts a whole
# node in local mode. Extra arguments and EDGEFLEET_* / AWS_* variables are passed through; with AWS
# settings (AWS_ENDPOINT_URL or real credentials plus EDGEFLEET_QUEUE_URLS) it runs against them.
set -euo pipefail
cd "$(dirname "$0")/.."

# Node 24 LTS (.node-version): the machine's when recent enough, else the pinned release fetched into
# .node/ of this checkout (scripts/ensure-node.sh); everything below runs with it.
NODE_BIN=$(bash scripts/ensure-node.sh)
export PATH="$NODE_BIN:$PATH"
if ! command -v redis-server >/dev/null 2>&1 && [ -z "${EDGEFLEET_REDIS_URL:-}" ]; then
  echo "redis-server is not installed: sudo apt-get install redis-server (or set EDGEFLEET_REDIS_URL)" >&2
  exit 1
fi
if ! /usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  echo "note: Python 3 with venv support is missing (sudo apt-get install python3-venv python3-pip): jobs will fail to install" >&2
fi

PNPM_VERSION=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "installing pnpm $PNPM_VERSION"
  npm install -g --silent "pnpm@$PNPM_VERSION" >/dev/null 2>&1 || npm install -g "pnpm@$PNPM_VERSION"
fi
pnpm install --frozen-lockfile --reporter=silent
pnpm build --output-logs=errors-only
exec node packages/cli/dist/main.js local "$@"
