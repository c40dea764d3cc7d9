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
# never stored in an image. NODE_IMAGE: the Node base of the runtime stages (default: the Dockerfile's
# ARG NODE_IMAGE), e.g. a stand-in base of another architecture (docker/test/stand-in-bases.sh).
#
# With podman, the bundles of all four images are built once, on this machine's platform with
# TARGETARCH set to the target's (deploy-bundle.sh picks the target's optional packages by it),
# exported (target `bundles`, -o type=local) and given to each image's build as the build context
# named `bundles`, which replaces that stage. Two reasons: buildah keys its layer cache on every build
# argument, so four builds differing in SERVICE would each redo the whole workspace (pnpm install, tsc,
# vite); and buildah ignores `FROM --platform=$BUILDPLATFORM`, so for another platform (linux/arm64 on
# an amd64 machine) the build stage would run under emulation, several minutes per image. Only the
# runtime stages then run emulated. BuildKit (ENGINE=docker) honours FROM --platform, caches by the
# arguments a step uses, and builds everything in one go.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ENGINE=${ENGINE:-$(command -v docker >/dev/null 2>&1 && echo docker || echo podman)}
case "$(uname -m)" in x86_64) native=linux/amd64 ;; aarch64 | arm64) native=linux/arm64 ;; *) native=linux/$(uname -m) ;; esac
PLATFORM=${PLATFORM:-$native}
: "${IMAGE_PREFIX:?set IMAGE_PREFIX (e.g. localhost/edgefleet or registry.example.com/edgefleet)}"
IMAGE_TAG=${IMAGE_TAG:-latest}
EXECUTOR_BASE=${EXECUTOR_BASE:-debian}
BUILD_CA=${BUILD_CA:-${NODE_EXTRA_CA_CERTS:-}}
NODE_IMAGE=${NODE_IMAGE:-}

common=(build -f "$root/docker/Dockerfile")
# podman/buildah: Docker's image format keeps HEALTHCHECK (OCI's has no such field), and the
# Dockerfile's own ignore file is named explicitly (BuildKit finds <Dockerfile>.dockerignore itself).
[ "$ENGINE" = podman ] && common+=(--format docker --ignorefile "$root/docker/Dockerfile.dockerignore")
[ -n "$BUILD_CA" ] && common+=(--secret "id=ca,src=$BUILD_CA")
args=("${common[@]}" --platform "$PLATFORM")
[ -n "$NODE_IMAGE" ] && args+=(--build-arg "NODE_IMAGE=$NODE_IMAGE")

# The bundles, once, on this machine's platform (podman: see above).
extra=()
if [ "$ENGINE" = podman ]; then
  target_arch=${PLATFORM#*/}
  target_arch=${target_arch%%/*}
  bundles=$(mktemp -d)
  trap 'rm -rf "$bundles"' EXIT
  t0=$(date +%s.%N)
  # --platform: the build stage's base is this machine's NODE_IMAGE (the Dockerfile's default).
  "$ENGINE" "${common[@]}" --platform "$native" --target bundles --build-arg "TARGETARCH=$target_arch" \
    -o "type=local,dest=$bundles/out" --iidfile "$bundles/iid" "$root" >&2
  # The exported stage's own image (untagged; the build stage's cached layers stay).
  "$ENGINE" rmi "$(cat "$bundles/iid")" >/dev/null 2>&1 || true
  echo "# bundles built on $native for $PLATFORM in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s" >&2
  extra=(--build-context "bundles=$bundles/out")
fi

build() { # image target service port [extra args]
  local image=$1 target=$2 service=$3 port=$4
  shift 4
  local t0 bytes
  t0=$(date +%s.%N)
  "$ENGINE" "${args[@]}" "${extra[@]}" --target "$target" --build-arg "SERVICE=$service" \
    --build-arg "PORT=$port" "$@" -t "$image" "$root" >&2
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
