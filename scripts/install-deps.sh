#!/usr/bin/env bash
# Installs the external components the integration tests run against, when
# missing: Mosquitto (Debian package) and InfluxDB 1.8.10 (built from the Go
# module proxy, as the project's tests expect: Flux and the v2 API).
# Idempotent and quick when everything is there.
set -euo pipefail

gobin="$(go env GOBIN)"
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need root to apt-get install $*; install them by hand" >&2
    return 1
  fi
  if [ -z "${LORAEDGE_APT_UPDATED:-}" ]; then
    apt-get update -qq >/dev/null
    export LORAEDGE_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  echo "install-deps: installing mosquitto"
  apt_install mosquitto
  # The package starts a system broker on :1883; tests start their own.
  (systemctl disable --now mosquitto >/dev/null 2>&1 || service mosquitto stop >/dev/null 2>&1 || true)
fi

if [ ! -x "$gobin/influxd" ]; then
  echo "install-deps: building influxd v1.8.10 (a few minutes, once)"
  GOFLAGS=-mod=mod go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10
fi

for extra in "$@"; do
  case "$extra" in
    chromium)
      command -v chromium >/dev/null 2>&1 || { echo "install-deps: installing chromium"; apt_install chromium; } ;;
    qemu)
      command -v qemu-aarch64-static >/dev/null 2>&1 || { echo "install-deps: installing qemu-user-static"; apt_install qemu-user-static; } ;;
    poppler)
      command -v pdftoppm >/dev/null 2>&1 || { echo "install-deps: installing poppler-utils"; apt_install poppler-utils; } ;;
    *) echo "install-deps: unknown extra $extra" >&2; exit 2 ;;
  esac
done
echo "install-deps: mosquitto $(command -v mosquitto || echo /usr/sbin/mosquitto), influxd $gobin/influxd"
