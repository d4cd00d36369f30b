#!/usr/bin/env bash
# Installs the external components the integration tests run against, when
# missing: Mosquitto (Debian package) and InfluxDB 1.8.10 (built from the Go
# module proxy, as the project's tests expect: Flux and the v2 API).
# Idempotent and quick when everything is there.
#
#   install-deps.sh [EXTRA...]         the servers, then each extra
#   install-deps.sh --only EXTRA...    only the extras (make lint uses this)
#
# Extras: chromium, poppler, qemu, golangci-lint, victoria-metrics (the
# store's side-by-side benchmark; make bench).
set -euo pipefail

# golangci-lint is pinned: a newer one brings new checks that would turn
# main red without a change of ours.
GOLANGCI_LINT_VERSION=2.15.0
# VictoriaMetrics single-node, pinned so that make bench's figures compare
# with the same version.
VICTORIA_METRICS_VERSION=1.151.0

servers=1
if [ "${1:-}" = "--only" ]; then
  servers=0
  shift
fi

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

if [ "$servers" = 1 ] && ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  echo "install-deps: installing mosquitto"
  apt_install mosquitto
  # The package starts a system broker on :1883; tests start their own.
  (systemctl disable --now mosquitto >/dev/null 2>&1 || service mosquitto stop >/dev/null 2>&1 || true)
fi

if [ "$servers" = 1 ] && [ ! -x "$gobin/influxd" ]; then
  echo "install-deps: building influxd v1.8.10 (a few minutes, once)"
  GOFLAGS=-mod=mod go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10
fi

for extra in "$@"; do
  case "$extra" in
    chromium)
      command -v chromium >/dev/null 2>&1 || { echo "install-deps: installing chromium"; apt_install chromium; } ;;
    qemu)
      command -v qemu-aarch64-static >/dev/null 2>&1 || { echo "install-deps: installing qemu-user-static"; apt_install qemu-user-static; } ;;
    golangci-lint)
      if ! "$gobin/golangci-lint" version 2>/dev/null | grep -q "version $GOLANGCI_LINT_VERSION "; then
        echo "install-deps: building golangci-lint v$GOLANGCI_LINT_VERSION (a few minutes, once)"
        GOFLAGS=-mod=mod go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v$GOLANGCI_LINT_VERSION"
      fi ;;
    victoria-metrics)
      if ! go version -m "$gobin/victoria-metrics" 2>/dev/null | grep -q "github.com/VictoriaMetrics/VictoriaMetrics[[:space:]]*v$VICTORIA_METRICS_VERSION"; then
        echo "install-deps: building victoria-metrics v$VICTORIA_METRICS_VERSION (a few minutes, once)"
        GOFLAGS=-mod=mod go install "github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@v$VICTORIA_METRICS_VERSION"
      fi ;;
    poppler)
      command -v pdftoppm >/dev/null 2>&1 || { echo "install-deps: installing poppler-utils"; apt_install poppler-utils; } ;;
    *) echo "install-deps: unknown extra $extra" >&2; exit 2 ;;
  esac
done
if [ "$servers" = 1 ]; then
  echo "install-deps: mosquitto $(command -v mosquitto || echo /usr/sbin/mosquitto), influxd $gobin/influxd"
fi
