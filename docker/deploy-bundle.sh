#!/bin/sh
# Produces the pruned, production-only bundle of one service: exactly what its image contains under
# /app. The Dockerfiles run this script, and docker/check-bundles.mjs runs it in CI and starts the
# result with plain `node dist/main.js`, so a file or dependency missing from an image fails CI.
#
#   docker/deploy-bundle.sh <service> <out-dir> [<target-arch>]
#
# <service>      job-receiver | job-executor | result-uploader | gossip-membership
# <out-dir>      must not exist yet (pnpm deploy refuses a non-empty folder)
# <target-arch>  Docker's TARGETARCH (amd64 | arm64); default: this machine's. Selects the
#                platform-specific optional dependencies, so an arm64 bundle can be made on an amd64
#                builder without emulation (today every production dependency is plain JavaScript).
#
# Run from the workspace root after `pnpm install` and `pnpm build`. `--prefer-offline`: the packages
# are already in the store; pnpm only asks the registry for package metadata its cache lacks (a
# frozen install does not always leave it, and `--offline` then fails with ERR_PNPM_NO_OFFLINE_META).
set -eu

service=${1:?usage: deploy-bundle.sh <service> <out-dir> [<target-arch>]}
out=${2:?usage: deploy-bundle.sh <service> <out-dir> [<target-arch>]}
arch=${3:-}

case "$service" in
  job-receiver | job-executor | result-uploader | gossip-membership) ;;
  *) echo "deploy-bundle.sh: unknown service '$service'" >&2; exit 64 ;;
esac

set --
case "$arch" in
  '') ;;
  amd64) set -- --os=linux --cpu=x64 --libc=glibc ;;
  arm64) set -- --os=linux --cpu=arm64 --libc=glibc ;;
  *) echo "deploy-bundle.sh: unsupported target arch '$arch' (amd64 or arm64)" >&2; exit 64 ;;
esac

# `pnpm deploy` (pnpm >= 10) copies workspace dependencies into the bundle as real folders (injected),
# with their built dist/, so the bundle needs nothing from the workspace at run time.
pnpm --filter "@edgefleet/$service" deploy --prod --prefer-offline --frozen-lockfile --reporter=silent "$@" "$out"

# Drop what the image never runs: TypeScript sources, tests, benchmarks, build caches and tsconfigs,
# of the service and of its injected workspace packages. Keeps dist/ and package data (schema/).
for dir in "$out" "$out"/node_modules/.pnpm/@edgefleet+*/node_modules/@edgefleet/*; do
  [ -d "$dir" ] || continue
  rm -rf "$dir/src" "$dir/test" "$dir/bench" "$dir/.turbo" "$dir"/tsconfig*.json
done
