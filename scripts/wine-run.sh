#!/usr/bin/env bash
# wine-run.sh PROGRAM.exe [ARGS...] - run a Windows program under Wine, quickly and
# without hanging the caller. The `mingw` toolchain (cmake/mingw-w64.cmake) makes this
# the CMAKE_CROSSCOMPILING_EMULATOR, so ctest, gtest discovery and the tool tests run
# every .exe through it.
#
# Why not plain `wine`: the first Wine process of a prefix starts Wine's services
# (services.exe, explorer.exe, winedevice.exe...), which inherit that process's
# stdout/stderr; ctest then waits for them to exit (~2.5 s after every test, forever
# with a persistent wineserver), and each test pays for a new wineserver. Here a
# wineserver that stays up for XSOCK_WINESERVER_PERSIST seconds (default 30) after
# the last program exits is started once, and the services are booted with their
# output on /dev/null; every program after that starts in ~0.3 s.
#
# Environment (defaults): WINEPREFIX (${XSOCK_DEPS_CACHE:-$HOME/.cache/xsock}/wineprefix,
# created on first use, ~10 s), WINEDEBUG (-all), WINEDLLOVERRIDES (no Mono/Gecko
# prompts), XSOCK_WINE (wine).
set -u
export WINEDEBUG=${WINEDEBUG:--all}
export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=}
export WINEPREFIX=${WINEPREFIX:-${XSOCK_DEPS_CACHE:-${HOME:-/root}/.cache/xsock}/wineprefix}
WINE=${XSOCK_WINE:-$(command -v wine || command -v wine64 || echo /usr/lib/wine/wine64)}
WINESERVER=$(command -v wineserver || echo /usr/lib/wine/wineserver64)
PERSIST=${XSOCK_WINESERVER_PERSIST:-30}

# True when Wine's services are running for this prefix (started by a boot below).
services_up() {
  local comm pid
  for comm in $(grep -lx 'services.exe' /proc/[0-9]*/comm 2>/dev/null); do
    pid=${comm#/proc/}; pid=${pid%/comm}
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "WINEPREFIX=$WINEPREFIX" && return 0
  done
  return 1
}

mkdir -p "$WINEPREFIX" || exit 125
if ! services_up; then
  (
    flock 9
    if ! services_up; then
      "$WINESERVER" -p"$PERSIST" </dev/null >/dev/null 2>&1
      "$WINE" wineboot </dev/null >/dev/null 2>&1
    fi
  ) 9>"$WINEPREFIX/.xsock-boot.lock"
fi
exec "$WINE" "$@"
