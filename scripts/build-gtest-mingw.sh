#!/usr/bin/env bash
# build-gtest-mingw.sh - GoogleTest (and GoogleMock) for MinGW-w64, built from Debian's
# `googletest` package sources (/usr/src/googletest), installed into a cache outside
# the build tree; a matching stamp skips the build.
#
# Usage: scripts/build-gtest-mingw.sh [PREFIX]
#   PREFIX default: ${XSOCK_DEPS_CACHE:-$HOME/.cache/xsock}/gtest-mingw
# Knobs: GTEST_SRC (/usr/src/googletest), JOBS (nproc), FORCE=1.
# Needs: googletest, g++-mingw-w64-x86-64-posix, cmake.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
CACHE=${XSOCK_DEPS_CACHE:-${HOME:-/root}/.cache/xsock}
PREFIX=${1:-$CACHE/gtest-mingw}
GTEST_SRC=${GTEST_SRC:-/usr/src/googletest}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
log() { printf '[build-gtest-mingw] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -f $GTEST_SRC/CMakeLists.txt ]] || die "no GoogleTest sources in $GTEST_SRC (apt-get install googletest)"
CXX=$(command -v x86_64-w64-mingw32-g++-posix || command -v x86_64-w64-mingw32-g++) ||
  die "no MinGW compiler (apt-get install g++-mingw-w64-x86-64-posix)"
VERSION=$(dpkg-query -W -f='${Version}' googletest 2>/dev/null || echo unknown)
WANT="googletest=$VERSION compiler=$($CXX -dumpversion)"
STAMP=$PREFIX/share/gtest-mingw/build-info.txt
if [[ ${FORCE:-0} != 1 && -f $STAMP && -f $PREFIX/lib/libgtest.a ]] && grep -qxF "$WANT" "$STAMP"; then
  log "cached: $WANT in $PREFIX (FORCE=1 rebuilds)"
  exit 0
fi

B=$(mktemp -d "${TMPDIR:-/tmp}/xsock-gtest-mingw.XXXXXX")
trap 'rm -rf "$B"' EXIT
log "building GoogleTest $VERSION in $B"
cmake -S "$GTEST_SRC" -B "$B" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/mingw-w64.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX" -Dgtest_disable_pthreads=OFF \
  >"$B/configure.log" 2>&1 || { cat "$B/configure.log" >&2; die "configure failed"; }
cmake --build "$B" -j"$JOBS" >"$B/build.log" 2>&1 || { tail -50 "$B/build.log" >&2; die "build failed"; }
rm -rf "$PREFIX"
cmake --install "$B" >/dev/null || die "install failed"
mkdir -p "$(dirname "$STAMP")"
echo "$WANT" >"$STAMP"
log "done: GoogleTest $VERSION for MinGW in $PREFIX"
