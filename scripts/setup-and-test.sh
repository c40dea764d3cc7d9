#!/usr/bin/env bash
# The README's test command: sets up a fresh machine and runs the whole suite.
#   system packages (scripts/install-system-deps.sh) → pnpm (pinned) → dependencies (frozen lockfile)
#   → build → typecheck → lint → tests (scripts/run-tests.mjs, which ends with "N passed, N failed")
#   → with EDGEFLEET_CONTAINER_TEST=1, the container test (docker/test/stack.container.ts) as its last pass.
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

# Each step's time is printed (`step <name>: <s> s`), for the CI time budget.
step() {
  local name=$1 t0=$SECONDS
  shift
  "$@"
  echo "step $name: $((SECONDS - t0)) s"
}
step install pnpm install --frozen-lockfile
step build pnpm build
step typecheck pnpm typecheck
step lint pnpm lint
# Unused files, exports and dependencies, and binaries no script may assume (knip.json).
step unused pnpm check:unused
# Last, so that the output ends with its `N passed, N failed` line; it prints each pass's time
# (`step tests-<pass>: <s> s`). With EDGEFLEET_CONTAINER_TEST=1 its last pass is the container test.
exec node scripts/run-tests.mjs "$@"
