#!/usr/bin/env bash
# Installs what the tests and a local node need from the operating system (Debian/Ubuntu), when it is
# missing: redis-server, Python 3 with venv support (the executor's environments), Go and HashiCorp
# memberlist (the reference peer for gossip interop tests), a C compiler (hostile-job tests),
# docker-compose (compose file validation), podman and what the container test needs,
# Chromium (the dashboard's browser test),
# and the unprivileged user that runs job code. Idempotent; needs root for anything it installs.
set -euo pipefail

JOB_USER="${EDGEFLEET_JOB_USER:-edgefleet-job}"
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
/usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
/usr/bin/python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
command -v go >/dev/null 2>&1 || need+=(golang-go)
[ -d /usr/share/gocode/src/github.com/hashicorp/memberlist ] || need+=(golang-github-hashicorp-memberlist-dev)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v flock >/dev/null 2>&1 || need+=(util-linux)
# Hostile-job tests compile the shared objects a hostile job ships (a gconv module, an LD_PRELOAD).
command -v cc >/dev/null 2>&1 || need+=(gcc)
# The dashboard's browser test drives Debian's Chromium (no browser download).
[ -x /usr/bin/chromium ] || need+=(chromium)
# The container test (docker/test/stack.container.ts): podman (Docker API for docker-compose, with
# netavark/aardvark-dns for service names), buildah, debootstrap (stand-in base images), catatonit
# (compose `init: true`), qemu-user-static (arm64 images under emulation).
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v buildah >/dev/null 2>&1 || need+=(buildah)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
[ -x /usr/bin/catatonit ] || need+=(catatonit)
[ -x /usr/lib/podman/aardvark-dns ] || [ -x /usr/libexec/podman/aardvark-dns ] || need+=(aardvark-dns)
command -v qemu-aarch64-static >/dev/null 2>&1 || need+=(qemu-user-static)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "missing system packages: ${need[*]} (install them with your package manager, as root)" >&2
    exit 1
  fi
  echo "installing system packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! id "$JOB_USER" >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$JOB_USER"
    echo "created user $JOB_USER (runs job code)"
  else
    echo "note: user $JOB_USER does not exist; job code will run as $(id -un)" >&2
  fi
fi
