#!/usr/bin/env bash
# make dist: static, version-stamped builds for the gateways' architectures
# and .deb packages (nfpm) for amd64, arm64 and armhf, all in dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
ldflags="-s -w -X main.version=${version}"
mkdir -p dist
rm -f dist/loraedge-* dist/*.deb

# name GOARCH extra-env
targets=(
  "linux-amd64 amd64"
  "linux-arm64 arm64"
  "linux-armv7 arm GOARM=7"
  "linux-armv5 arm GOARM=5"
  "linux-mipsle-softfloat mipsle GOMIPS=softfloat"
)
for t in "${targets[@]}"; do
  read -r name arch extra <<<"$t"
  out="dist/loraedge-${name}"
  env CGO_ENABLED=0 GOOS=linux GOARCH="$arch" ${extra:-} \
    go build -trimpath -ldflags "$ldflags" -o "$out" ./cmd/loraedge
  printf '%-36s %6.1f MiB\n' "$out" "$(echo "$(stat -c %s "$out") / 1048576" | bc -l)"
done

gobin="$(go env GOBIN)"; [ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
if [ ! -x "$gobin/nfpm" ]; then
  GOFLAGS=-mod=mod go install github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
fi
deb_version="${version#v}"
[[ "$deb_version" =~ ^[0-9] ]] || deb_version="0.0.0~${deb_version}"
for pair in "amd64 linux-amd64" "arm64 linux-arm64" "armhf linux-armv7"; do
  read -r debarch bin <<<"$pair"
  # nfpm does not expand variables in file sources: write the config out.
  conf="dist/nfpm-${debarch}.yaml"
  sed -e "s|\${NFPM_ARCH}|${debarch}|; s|\${LORAEDGE_VERSION}|${deb_version}|; s|\${LORAEDGE_BINARY}|dist/loraedge-${bin}|" \
    deploy/nfpm.yaml >"$conf"
  "$gobin/nfpm" package --config "$conf" --packager deb --target dist/ >/dev/null
  rm -f "$conf"
done
ls -l dist/*.deb
