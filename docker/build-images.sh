#!/usr/bin/env bash
# Builds the four images of one node from docker/Dockerfile, with Docker (BuildKit) or podman/buildah,
# for one platform, and prints one line per image: `<image> <seconds> <bytes>`. Run from anywhere:
#
#   IMAGE_PREFIX=registry.example.com/edgefleet IMAGE_TAG=0.1.0 EXECUTOR_BASE=debian \
#     ENGINE=podman PLATFORM=linux/amd64 bash docker/build-images.sh
#
# Settings (environment): ENGINE docker | podman (default: docker when present, else podman);
# PLATFORM (default linux/<this machine>); IMAGE_PREFIX (required: the registry path the images are
# tagged with, e.g. localhost/edgefleet); IMAGE_TAG (default latest); EXECUTOR_BASE debian | l4t
# (default debian), L4T_IMAGE, and for l4t EXECUTOR_VARIANT (the tag suffix, default l4t-r36.4);
# BUILD_CA: a CA bundle the build's npm/pnpm must trust to reach the registry through a TLS-inspecting
# proxy (default: the file NODE_EXTRA_CA_CERTS names, when set); it is passed as a build secret and
# never stored in an image.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ENGINE=${ENGINE:-$(command -v docker >/dev/null 2>&1 && echo docker || echo podman)}
case "$(uname -m)" in x86_64) native=linux/amd64 ;; aarch64 | arm64) native=linux/arm64 ;; *) native=linux/$(uname -m) ;; esac
PLATFORM=${PLATFORM:-$native}
: "${IMAGE_PREFIX:?set IMAGE_PREFIX (e.g. localhost/edgefleet or registry.example.com/edgefleet)}"
IMAGE_TAG=${IMAGE_TAG:-latest}
EXECUTOR_BASE=${EXECUTOR_BASE:-debian}
BUILD_CA=${BUILD_CA:-${NODE_EXTRA_CA_CERTS:-}}

args=(build -f "$root/docker/Dockerfile" --platform "$PLATFORM")
# podman/buildah: Docker's image format keeps HEALTHCHECK (OCI's has no such field), and the
# Dockerfile's own ignore file is named explicitly (BuildKit finds <Dockerfile>.dockerignore itself).
[ "$ENGINE" = podman ] && args+=(--format docker --ignorefile "$root/docker/Dockerfile.dockerignore")
[ -n "$BUILD_CA" ] && args+=(--secret "id=ca,src=$BUILD_CA")

build() { # image target service port [extra args]
  local image=$1 target=$2 service=$3 port=$4
  shift 4
  local t0
  t0=$(date +%s.%N)
  "$ENGINE" "${args[@]}" --target "$target" --build-arg "SERVICE=$service" --build-arg "PORT=$port" \
    "$@" -t "$image" "$root" >&2
  local bytes
  bytes=$("$ENGINE" image inspect --format '{{.Size}}' "$image")
  echo "$image $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') $bytes"
}

for s in job-receiver:4100 result-uploader:4102 gossip-membership:4001; do
  build "$IMAGE_PREFIX/${s%:*}:$IMAGE_TAG" service "${s%:*}" "${s#*:}"
done
if [ "$EXECUTOR_BASE" = l4t ]; then
  build "$IMAGE_PREFIX/job-executor:$IMAGE_TAG-${EXECUTOR_VARIANT:-l4t-r36.4}" job-executor job-executor 4101 \
    --build-arg EXECUTOR_BASE=l4t ${L4T_IMAGE:+--build-arg "L4T_IMAGE=$L4T_IMAGE"}
else
  build "$IMAGE_PREFIX/job-executor:$IMAGE_TAG-debian" job-executor job-executor 4101 --build-arg EXECUTOR_BASE=debian
fi
