#!/usr/bin/env bash
# make test: every Go test (unit and integration), then a short run of every
# fuzz target, then one summary line. CI sets CI=true: there a missing
# external component fails the tests that need it instead of skipping them.
set -uo pipefail
cd "$(dirname "$0")/.."

# Mosquitto and InfluxDB for the integration tests, chromium for the browser
# test, pdftoppm for report rendering, qemu-user for the arm64 smoke test
# (idempotent).
bash scripts/install-deps.sh chromium poppler qemu || { echo "tests: 0 passed, 1 failed"; exit 1; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
go test -v -count=1 -timeout 12m ./... >"$log" 2>&1
status=$?
# Package results and everything about failures, not the whole -v log.
grep -E '^(ok|FAIL|panic:|---|\?)|--- FAIL|^\s+\S+_test\.go:[0-9]+:|Error Trace|Error:|^\s+Messages:|^\s+(expected|actual)\s*:' "$log" | grep -v -- '--- PASS' || true
passed=$(grep -cE -- '--- PASS' "$log" || true)
failed=$(grep -cE -- '--- FAIL' "$log" || true)
skipped=$(grep -cE -- '--- SKIP' "$log" || true)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # A build error or a panic outside a test: show the end of the log.
  tail -n 60 "$log"
  failed=1
fi

smoke=0
if [ "$status" -eq 0 ]; then
  if bash scripts/smoke-arm64.sh >"$log" 2>&1; then
    tail -n 1 "$log"; smoke=1
  else
    cat "$log"; failed=$((failed + 1)); status=1
  fi
fi

fuzzed=0
if [ "$status" -eq 0 ]; then
  if FUZZTIME="${FUZZTIME:-3s}" bash scripts/fuzz.sh >"$log" 2>&1; then
    fuzzed=$(grep -c '^fuzz ' "$log" || true)
    tail -n 1 "$log"
  else
    cat "$log"
    failed=$((failed + 1))
    status=1
  fi
fi
passed=$((passed + fuzzed + smoke))
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
