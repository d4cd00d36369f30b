#!/usr/bin/env bash
# Runs every Fuzz* target of the module for FUZZTIME (default 3s) each. The
# seed corpora also run as plain tests in `go test`; this adds mutation.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-3s}"
n=0
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/loraedge-fuzz.log 2>&1 || {
      cat /tmp/loraedge-fuzz.log; echo "fuzz target $target in $pkg failed"; exit 1; }
    n=$((n+1))
  done
done
echo "fuzz: $n targets ran for $fuzztime each"
