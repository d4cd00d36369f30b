#!/usr/bin/env bash
# Smoke test of the arm64 build under qemu-user: the binary decodes a
# published payload, then runs as a daemon fed by its own simulator and
# stores what the virtual road stations send.
set -euo pipefail
cd "$(dirname "$0")/.."
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
if [ -z "$qemu" ]; then
  if [ "${CI:-}" = true ]; then echo "smoke-arm64: qemu-aarch64-static missing (scripts/install-deps.sh qemu)"; exit 1; fi
  echo "smoke-arm64: skipped, qemu-aarch64-static missing"; exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin="$work/loraedge-arm64"
CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath -o "$bin" ./cmd/loraedge
file "$bin" 2>/dev/null | grep -q aarch64 || { echo "smoke-arm64: not an arm64 binary"; exit 1; }

"$qemu" "$bin" version
out=$("$qemu" "$bin" decode --profile elsys/ers-co2 --fport 1 --hex 0100e202290400270506060308)
echo "$out" | grep -q '"co2"' || { echo "smoke-arm64: decode output lacks co2: $out"; exit 1; }

timeout 20 "$qemu" "$bin" run --simulate --scenario winter-night --speed 3000 --listen 127.0.0.1:0 \
  --data-dir "$work/data" --log-format text >"$work/log" 2>&1 || true
stored=$(grep -c 'msg=stored' "$work/log" || true)
joined=$(grep -c 'msg="device joined"' "$work/log" || true)
grep -q 'loraedge stopped' "$work/log" || { tail -20 "$work/log"; echo "smoke-arm64: no clean shutdown"; exit 1; }
if [ "$stored" -lt 3 ] || [ "$joined" -lt 3 ]; then
  tail -20 "$work/log"; echo "smoke-arm64: only $joined joins and $stored stored uplinks"; exit 1
fi
echo "smoke-arm64: ok ($joined joins, $stored uplinks stored under qemu-user arm64)"
