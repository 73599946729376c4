#!/usr/bin/env bash
# wine-ctest.sh [ctest args...] - run the mingw build's tests under Wine and shut the
# Wine session down afterwards. Default arguments: --preset mingw (from the source dir).
#   scripts/wine-ctest.sh                      # every test
#   scripts/wine-ctest.sh --preset mingw -R poller
# Each .exe runs through scripts/wine-run.sh (the toolchain's emulator), which keeps one
# wineserver and Wine's services up for the whole run; this script stops them at the end
# so nothing outlives it.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/.."
export WINEPREFIX=${WINEPREFIX:-${XSOCK_DEPS_CACHE:-${HOME:-/root}/.cache/xsock}/wineprefix}
WINESERVER=$(command -v wineserver || echo /usr/lib/wine/wineserver64)
(($#)) || set -- --preset mingw
ctest "$@"
rc=$?
"$WINESERVER" -k 2>/dev/null || true
exit $rc
