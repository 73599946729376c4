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
# prompts; winedbg off), XSOCK_WINE (wine).
set -u
# winedbg.exe disabled: a crashing test ends with its exit code instead of waiting
# in the debugger until ctest's timeout.
export WINEDEBUG=${WINEDEBUG:--all}
export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=;winedbg.exe=d}
export WINEPREFIX=${WINEPREFIX:-${XSOCK_DEPS_CACHE:-${HOME:-/root}/.cache/xsock}/wineprefix}
WINE=${XSOCK_WINE:-$(command -v wine || command -v wine64 || echo /usr/lib/wine/wine64)}
WINESERVER=$(command -v wineserver || echo /usr/lib/wine/wineserver64)
PERSIST=${XSOCK_WINESERVER_PERSIST:-30}

mkdir -p "$WINEPREFIX" || exit 125
marker=$WINEPREFIX/.xsock-booted   # pid of the server whose services we booted

# Whether process $1 is a wineserver of this prefix. Builtins only, like the rest of
# what runs before every program (a CI run launches about 1,500): with grep, tr and
# ls here, this script took 0.1 s per launch, as long as Wine's own start.
serves_prefix() {
  local comm entry
  # 2>/dev/null first: a process that exits meanwhile makes the redirection fail,
  # and bash reports that on the program's standard error (which tests compare).
  { read -r comm <"/proc/$1/comm"; } 2>/dev/null || return 1
  [[ $comm == wineserver || $comm == wineserver64 ]] || return 1
  while IFS= read -r -d '' entry; do
    [[ $entry == "WINEPREFIX=$WINEPREFIX" ]] && return 0
  done 2>/dev/null <"/proc/$1/environ"
  return 1
}

# Sets `pid` to the wineserver that serves this prefix ('' if none runs): the one
# booted last, if it still runs, else the first found among all processes.
find_server() {
  local comm
  pid=
  { read -r pid <"$marker"; } 2>/dev/null
  [[ $pid =~ ^[0-9]+$ ]] && serves_prefix "$pid" && return 0
  for comm in /proc/[0-9]*/comm; do
    pid=${comm#/proc/}
    pid=${pid%/comm}
    serves_prefix "$pid" && return 0
  done
  pid=
  return 1
}

# The number of descriptors process $1 has open.
descriptors() {
  local fds=("/proc/$1/fd/"*)
  echo "${#fds[@]}"
}

find_server
# Wine 8's wineserver can be left holding thousands of sockets of a killed program
# (after a 10,000-connection test), spinning at full CPU; every later program then
# hangs. Such a server is replaced (no test keeps that many sockets across programs).
if [[ -n $pid ]] && (($(descriptors "$pid") > 8000)); then
  (
    flock 9
    stuck=$pid
    find_server
    if [[ $pid == "$stuck" ]]; then
      echo "wine-run.sh: replacing wineserver $pid (stuck with $(descriptors "$pid") descriptors)" >&2
      "$WINESERVER" -k 2>/dev/null 9>&-
      "$WINESERVER" -w 2>/dev/null 9>&-
    fi
  ) 9>"$WINEPREFIX/.xsock-boot.lock"
  find_server
fi
booted=
{ read -r booted <"$marker"; } 2>/dev/null
if [[ -z $pid || $booted != "$pid" ]]; then
  (
    flock 9
    find_server
    booted=
    { read -r booted <"$marker"; } 2>/dev/null
    if [[ -z $pid || $booted != "$pid" ]]; then
      # A persistent server (it exits PERSIST s after the last program), then the
      # services, started here with their output on /dev/null. Neither may inherit
      # the lock's descriptor (9>&-): a flock lasts while any process holds it, so the
      # server and the services would keep the lock for their whole life, and a second
      # program started during the boot would wait for the server to exit (30 s after
      # the last program) before it could run.
      "$WINESERVER" -p"$PERSIST" </dev/null >/dev/null 2>&1 9>&-
      "$WINE" wineboot </dev/null >/dev/null 2>&1 9>&-
      find_server && echo "$pid" >"$marker"
    fi
  ) 9>"$WINEPREFIX/.xsock-boot.lock"
fi

# A GoogleTest case run by ctest (a --gtest_filter= argument): under load, about one
# launch in a thousand ends at once with a failing exit code and no output at all,
# not even GoogleTest's first line: Wine never ran the program's main(). Such a case's
# output is collected (both streams, in order) and, when there is none and the exit
# code is not 0, the case is launched once more, saying so on standard error. A test
# that fails does print something, and is never run twice.
gtest_case=
for arg in "$@"; do
  [[ $arg == --gtest_filter=* ]] && gtest_case=1
done
if [[ -n $gtest_case ]]; then
  out=$(mktemp "${TMPDIR:-/tmp}/wine-run.XXXXXX") || exit 125
  trap 'rm -f "$out"' EXIT
  for attempt in 1 2; do
    "$WINE" "$@" >"$out" 2>&1 </dev/null
    rc=$?
    [[ $rc -ne 0 && ! -s $out && $attempt -eq 1 ]] || break
    echo "wine-run.sh: $1 ended at once (exit code $rc) without printing anything; launching it again" >&2
  done
  cat "$out"
  exit "$rc"
fi
exec "$WINE" "$@"
