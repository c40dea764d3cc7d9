#!/bin/sh
# Regenerates the Go fixtures of test/fixtures from Debian's memberlist 0.2.2 (golang-github-hashicorp-
# memberlist-dev) and Go's compress/lzw:
#
#   test/fixture-gen/gen.sh            rewrite memberlist-go.json, lzw-go.json, encryption-go.json
#   test/fixture-gen/gen.sh DIR        write them (and encryption-go-random.json) into DIR instead
#
# memberlist/fixtures.go is compiled into the memberlist package itself (go build -overlay) so the
# bytes come from memberlist's unexported encoders. Every run also opens each vector of
# encryption-ts-go-verified.json (sealed by our TypeScript) with memberlist's decryptPayload and
# fails if one does not open. Output is deterministic; `git diff test/fixtures` after a run checks them.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../fixtures"
build="$here/../../.go-build"
gopath=/usr/share/gocode
out=${1:-}
mkdir -p "$build"
overlay="$build/fixture-gen-overlay.$$.json"
bin="$build/fixture-gen.$$"
trap 'rm -f "$overlay" "$bin"' EXIT
printf '{"Replace":{"%s/src/github.com/hashicorp/memberlist/zz_fixtures.go":"%s/memberlist/fixtures.go"}}\n' \
  "$gopath" "$here" >"$overlay"
(cd "$here" && GOPATH=$gopath GO111MODULE=off GOCACHE="$build/cache" go build -overlay "$overlay" -o "$bin" .)
if [ -n "$out" ]; then
  "$bin" -out "$out" -verify "$fixtures/encryption-ts-go-verified.json"
else
  tmp=$(mktemp -d)
  "$bin" -out "$tmp" -verify "$fixtures/encryption-ts-go-verified.json"
  for f in memberlist-go.json lzw-go.json encryption-go.json; do cp "$tmp/$f" "$fixtures/$f"; done
  rm -rf "$tmp"
fi
