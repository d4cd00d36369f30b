#!/usr/bin/env bash
# Produces the road-weather reference forecasts in internal/roadcast/testdata/metro/
# with METRo, Environment Canada's road weather model. It runs outside CI (CI only
# reads the committed JSON): METRo is Python 3 with a Fortran core and needs
# gfortran, SWIG, python3-dev, python3-numpy, python3-libxml2 and cpio, e.g.
#   apt-get install gfortran swig python3-dev python3-numpy python3-libxml2 cpio
#
# METRo is located or built, in this order:
#   METRO_HOME=<dir>   an installed METRo (the directory holding usr/bin/metro);
#   METRO_SRC=<dir>    a METRo source tree, built and installed into $METRO_BUILD/install;
#   otherwise the pinned commit is cloned from framagit into $METRO_BUILD/metro-src.
# METRO_BUILD defaults to /work/metro-build; nothing of METRo enters the repository.
#
# Usage: scripts/metro-reference.sh   (then review and commit the JSON files)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
build="${METRO_BUILD:-/work/metro-build}"
# METRo 4.0.0, the tip of framagit.org/metroprojects/metro master ("Description
# of --output-roadcast added.", 2022-08-26).
commit=8fd953204dd3f812e5799ee00fb8f341d556bd8c
url="${METRO_URL:-https://framagit.org/metroprojects/metro.git}"
# Debian's interpreter: its numpy and libxml2 bindings come from apt, and a
# pyenv or virtualenv python3 earlier on PATH would not see them.
py=/usr/bin/python3

if [[ -z "${METRO_HOME:-}" ]]; then
  METRO_HOME="$build/install/metro"
  if [[ ! -f "$METRO_HOME/usr/bin/metro" ]]; then
    src="${METRO_SRC:-$build/metro-src}"
    if [[ ! -f "$src/setup.sh" ]]; then
      git clone "$url" "$src"
      git -C "$src" checkout --quiet "$commit"
    fi
    # setup.sh runs python3-config and python3 from PATH, so Debian's come first.
    (cd "$src" && PATH="/usr/bin:/bin:$PATH" nice ./setup.sh "$build/install")
  fi
fi
metro="$METRO_HOME/usr/bin/metro"
[[ -f "$metro" ]] || { echo "metro-reference: no METRo at $metro" >&2; exit 1; }

# numpy 1.24 removed the numpy.float etc. aliases METRo 4.0.0 still uses;
# a sitecustomize puts them back without touching METRo's code.
site="$build/site"
mkdir -p "$site"
cat >"$site/sitecustomize.py" <<'EOF'
"""Restore the numpy type aliases (removed in numpy 1.24) that METRo 4.0.0 uses."""
import numpy
for _n, _t in (("float", float), ("int", int), ("bool", bool), ("object", object), ("complex", complex), ("str", str)):
    if _n not in numpy.__dict__:
        setattr(numpy, _n, _t)
EOF
export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"

suite="$METRO_HOME/usr/share/metro/data/test_suite"
echo "metro-reference: $(cd "$METRO_HOME/usr/bin" && $py metro --version 2>/dev/null | tail -1)"
# METRo's own self-test first: a build that does not reproduce its reference
# roadcast must not produce reference data.
(cd "$METRO_HOME/usr/bin" && nice $py metro --selftest >/dev/null 2>&1)
sdir="$METRO_HOME/usr/share/metro/data/selftest"
diff --ignore-matching-lines='.*<production-date>.*</production-date>' \
  "$sdir/roadcast.xml" "$sdir/roadcast_reference.xml" >/dev/null ||
  { echo "metro-reference: METRo selftest differs from its reference roadcast" >&2; exit 1; }
echo "metro-reference: selftest matches roadcast_reference.xml"

work="$build/work"
rm -rf "$work"
# case028 (Slovakia, October) and case038 (Massif Central, December) are the
# test-suite cases that carry forecast solar and infrared flux.
nice $py "$repo/scripts/metro_reference.py" \
  --metro "$metro" \
  --cases "$repo/scripts/metro-cases" \
  --examples "$suite/case028" "$suite/case038" \
  --out "$repo/internal/roadcast/testdata/metro" \
  --work "$work"
