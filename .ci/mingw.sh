#!/usr/bin/env bash
# .ci/mingw.sh - the Windows stage of .ci/run: cross-build xsock for Windows with
# MinGW-w64 and run the whole test suite under Wine (`cmake --workflow --preset mingw`),
# with the AFD poller; the poller and loop tests (CTest names `wsapoll.*`) and the
# tool tests that run the tools (label `tool_processes`) run once more on the WSAPoll
# fallback (XSOCK_POLLER=wsapoll).
#
# Fresh machine: installs g++-mingw-w64-x86-64-posix, wine, wine64, googletest,
# libcli11-dev, perl and dpkg-dev (+ a deb-src entry) with apt-get, builds GoogleTest, a
# trimmed static ICU and a static OpenSSL 3 for MinGW into
# ${XSOCK_DEPS_CACHE:-$HOME/.cache/xsock} (reused by the next run, which then skips
# straight to the build; the first run spends ~12 min there), creates the Wine prefix
# there.
# XSOCK_LINUX_SERVER: the Linux xsock-server that the cross-platform session test
# compares against (default: the one the default preset built, if any).
set -euo pipefail
cd "$(dirname "$0")/.."
export XSOCK_DEPS_CACHE=${XSOCK_DEPS_CACHE:-${HOME:-/root}/.cache/xsock}
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
export CTEST_PARALLEL_LEVEL=${CTEST_PARALLEL_LEVEL:-2}
export WINEPREFIX=${WINEPREFIX:-$XSOCK_DEPS_CACHE/wineprefix}
step() { printf -- '-- mingw: %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }
t0=$SECONDS

step "dependencies (apt, GoogleTest, ICU, OpenSSL, CLI11 for MinGW; cached in $XSOCK_DEPS_CACHE)"
scripts/mingw-deps.sh
t_deps=$((SECONDS - t0))

if [[ -z ${XSOCK_LINUX_SERVER:-} && -x build/default/tools/xsock-server ]]; then
  XSOCK_LINUX_SERVER=build/default/tools/xsock-server
fi
export XSOCK_LINUX_SERVER=${XSOCK_LINUX_SERVER:+$(realpath "$XSOCK_LINUX_SERVER")}
step "Linux server for the cross-platform session: ${XSOCK_LINUX_SERVER:-none}"

# A new prefix finishes setting itself up in the background after its first program;
# tests started meanwhile can stall for many seconds. Create or update it here, to
# completion, before any test runs.
step "Wine prefix $WINEPREFIX"
WINESERVER=$(command -v wineserver || echo /usr/lib/wine/wineserver64)
"$WINESERVER" -k 2>/dev/null || true
WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" wine wineboot -u </dev/null >/dev/null 2>&1 || true
"$WINESERVER" -w

step "configure, build, test under Wine (cmake --workflow --preset mingw)"
t1=$SECONDS
status=0
cmake --workflow --preset mingw || status=$?
t_build=$((SECONDS - t1))

step "tool process tests again on the WSAPoll fallback (XSOCK_POLLER=wsapoll)"
t2=$SECONDS
# A fresh Wine session: Wine 8's server can keep sockets of programs the tests killed
# (closed by the peer, unread bytes in them) and then spins on them, taking a core
# from every later test (measured: the rerun took 117 s instead of about 75).
"$WINESERVER" -k 2>/dev/null || true
"$WINESERVER" -w 2>/dev/null || true
XSOCK_POLLER=wsapoll ctest --preset mingw -L tool_processes -LE stress || status=$?
t_fallback=$((SECONDS - t2))
"$WINESERVER" -k 2>/dev/null || true

step "timings: dependencies ${t_deps}s, configure+build+tests ${t_build}s, tool tests on WSAPoll ${t_fallback}s, total $((SECONDS - t0))s"
exit $status
