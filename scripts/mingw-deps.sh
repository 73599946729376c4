#!/usr/bin/env bash
# mingw-deps.sh - everything the `mingw` preset needs on a Debian/Ubuntu machine:
#   1. apt packages: g++-mingw-w64-x86-64-posix, wine, wine64, googletest, libcli11-dev;
#      only when ICU or OpenSSL must be built: dpkg-dev and a deb-src entry (for
#      `apt-get source icu` / `openssl`), icu-devtools (ICU), perl (OpenSSL's Configure);
#   2. GoogleTest for MinGW      (scripts/build-gtest-mingw.sh, ~20 s)
#   3. ICU for MinGW, trimmed    (scripts/build-icu-mingw.sh, ~4-5 min)
#   4. OpenSSL 3 for MinGW       (scripts/build-openssl-mingw.sh, ~7 min on 2 cores)
#   5. CLI11 (header-only) copied where the cross build looks for packages.
# Results go to ${XSOCK_DEPS_CACHE:-$HOME/.cache/xsock}: a second run finds them there
# and takes seconds. Usage: scripts/mingw-deps.sh  (as root, or with sudo available)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export XSOCK_DEPS_CACHE=${XSOCK_DEPS_CACHE:-${HOME:-/root}/.cache/xsock}
export JOBS=${JOBS:-${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}}
log() { printf '[mingw-deps] %s\n' "$*" >&2; }

sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
updated=0
apt_update() { ((updated)) || { "${sudo[@]}" apt-get update -q >/dev/null; updated=1; }; }

icu_cached() {
  local stamp=$XSOCK_DEPS_CACHE/icu-mingw/share/icu-mingw/build-info.txt
  [[ -f $stamp && -f $XSOCK_DEPS_CACHE/icu-mingw/lib/libsicuuc.a ]]
}
openssl_cached() {
  local stamp=$XSOCK_DEPS_CACHE/openssl-mingw/share/openssl-mingw/build-info.txt
  [[ -f $stamp && -f $XSOCK_DEPS_CACHE/openssl-mingw/lib/libssl.a ]]
}

# --- 1. packages ---------------------------------------------------------------------
need=()
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in g++-mingw-w64-x86-64-posix wine wine64 googletest libcli11-dev cmake make g++; do
  installed "$p" || need+=("$p")
done
if ! icu_cached || ! openssl_cached; then
  installed dpkg-dev || need+=(dpkg-dev)          # apt-get source
fi
if ! icu_cached; then
  installed icu-devtools || need+=(icu-devtools)  # native icupkg/pkgdata for the cross build
fi
if ! openssl_cached; then
  installed perl || need+=(perl)                  # Configure needs more than perl-base
fi
if ((${#need[@]})); then
  log "apt-get install ${need[*]}"
  apt_update
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

# `apt-get source` needs a deb-src entry; derive one from the configured archive.
if { ! icu_cached || ! openssl_cached; } && ! apt-cache showsrc icu 2>/dev/null | grep -q '^Package: icu'; then
  list=/etc/apt/sources.list.d/xsock-deb-src.sources
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    log "adding deb-src entries ($list)"
    sed -n '/^Types:/,/^$/p' /etc/apt/sources.list.d/debian.sources |
      sed 's/^Types:.*/Types: deb-src/' | "${sudo[@]}" tee "$list" >/dev/null
  elif [[ -f /etc/apt/sources.list ]]; then
    list=/etc/apt/sources.list.d/xsock-deb-src.list
    log "adding deb-src entries ($list)"
    sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list | "${sudo[@]}" tee "$list" >/dev/null
  fi
  updated=0
  apt_update
fi

# --- 2-5. libraries for the target --------------------------------------------------
"$HERE/build-gtest-mingw.sh"
"$HERE/build-icu-mingw.sh"
"$HERE/build-openssl-mingw.sh"
CLI=$XSOCK_DEPS_CACHE/cli11-mingw
if [[ ! -f $CLI/share/cmake/CLI11/CLI11Config.cmake || /usr/include/CLI/CLI.hpp -nt $CLI/include/CLI/CLI.hpp ]]; then
  log "CLI11 headers -> $CLI"
  rm -rf "$CLI"
  mkdir -p "$CLI/include" "$CLI/share/cmake"
  cp -r /usr/include/CLI "$CLI/include/"
  cp -r /usr/share/cmake/CLI11 "$CLI/share/cmake/"
fi
log "ready in $XSOCK_DEPS_CACHE"
