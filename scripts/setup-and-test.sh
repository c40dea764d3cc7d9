#!/usr/bin/env bash
# The README's test command: sets up a fresh machine and runs the whole suite.
#   system packages (scripts/install-system-deps.sh) → pnpm (pinned) → dependencies (frozen lockfile)
#   → build → typecheck → lint → tests (scripts/run-tests.mjs, which ends with "N passed, N failed").
set -euo pipefail
cd "$(dirname "$0")/.."

# Node 24 LTS (.node-version): the machine's when recent enough, else the pinned release fetched into
# .node/ of this checkout (scripts/ensure-node.sh); everything below runs with it.
NODE_BIN=$(bash scripts/ensure-node.sh)
export PATH="$NODE_BIN:$PATH"
echo "node $(node --version) ($NODE_BIN)"
bash scripts/install-system-deps.sh

PNPM_VERSION=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "installing pnpm $PNPM_VERSION"
  npm install -g --silent "pnpm@$PNPM_VERSION" >/dev/null 2>&1 || npm install -g "pnpm@$PNPM_VERSION"
fi

pnpm install --frozen-lockfile
pnpm build
pnpm typecheck
pnpm lint
node scripts/run-tests.mjs "$@"
