#!/usr/bin/env bash
# build-openssl-mingw.sh - a static OpenSSL 3 (libssl, libcrypto) for MinGW-w64
# (Windows x86-64), built from Debian's OpenSSL source package and installed into a
# cache outside the build tree, so a second run (or a second CI run on the same
# machine) skips the work.
#
# Usage: scripts/build-openssl-mingw.sh [PREFIX]
#   PREFIX default: ${XSOCK_DEPS_CACHE:-$HOME/.cache/xsock}/openssl-mingw
#
# Result (static only: the .exe files need no OpenSSL DLL):
#   PREFIX/include/openssl/*.h
#   PREFIX/lib/libssl.a libcrypto.a     (lib/, not OpenSSL's lib64/: CMake's FindOpenSSL
#                                        looks in lib/ for MinGW)
#   PREFIX/lib/pkgconfig/{libssl,libcrypto,openssl}.pc
#   PREFIX/share/openssl-mingw/build-info.txt  stamp: a matching stamp skips the build
# Consumers link ws2_32 and crypt32 too (FindOpenSSL adds them with
# OPENSSL_USE_STATIC_LIBS=ON).
#
# OPENSSLDIR stays OpenSSL's Windows default (C:/Program Files/Common Files/SSL), not a
# path of this machine; xsock takes the trusted CAs from the Windows ROOT store
# (platform/win32/tls_platform.cpp), and SSL_CERT_FILE still works.
#
# Only the libraries are built (make build_libs): no apps, tests, docs or loadable
# modules. ~6-7 min on 2 cores with assembler; NO_ASM=1 is slower to run, not to build.
#
# Knobs: MINGW_TRIPLE (x86_64-w64-mingw32), WORKDIR, JOBS (nproc), VERIFY=0 (skip the
# smoke test under wine), FORCE=1 (rebuild), KEEP_WORKDIR=1, OPENSSL_SRC_DIR (an
# unpacked OpenSSL tree instead of `apt-get source openssl`).
# Needs: g++-mingw-w64-x86-64-posix, make, perl, dpkg-dev and a deb-src entry.
set -euo pipefail

CACHE=${XSOCK_DEPS_CACHE:-${HOME:-/root}/.cache/xsock}
PREFIX=${1:-$CACHE/openssl-mingw}
MINGW_TRIPLE=${MINGW_TRIPLE:-x86_64-w64-mingw32}
WORKDIR=${WORKDIR:-${TMPDIR:-/tmp}/xsock-openssl-mingw-build}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
VERIFY=${VERIFY:-1}
# no-module: the legacy provider is built into libcrypto instead of a .dll to load.
OPTIONS=(no-shared no-module no-tests)
[[ ${NO_ASM:-0} == 1 ]] && OPTIONS+=(no-asm)

log() { printf '[build-openssl-mingw] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

case $PREFIX in /*) ;; *) PREFIX=$(pwd)/$PREFIX ;; esac
case $WORKDIR in /*) ;; *) WORKDIR=$(pwd)/$WORKDIR ;; esac

pick() { local c; for c in "$@"; do command -v "$c" >/dev/null 2>&1 && { echo "$c"; return 0; }; done; return 1; }
XCC=$(pick "$MINGW_TRIPLE-gcc-posix" "$MINGW_TRIPLE-gcc") ||
  die "no $MINGW_TRIPLE-gcc; apt-get install g++-mingw-w64-x86-64-posix"
for t in make perl "$MINGW_TRIPLE-ar" "$MINGW_TRIPLE-windres"; do
  command -v "$t" >/dev/null || die "missing $t"
done

# --- idempotence ------------------------------------------------------------------
STAMP=$PREFIX/share/openssl-mingw/build-info.txt
WANT="layout=1 triple=$MINGW_TRIPLE options=$(IFS=,; echo "${OPTIONS[*]}") compiler=$($XCC -dumpversion)"
if [[ ${FORCE:-0} != 1 && -f $STAMP && -f $PREFIX/lib/libssl.a && -f $PREFIX/lib/libcrypto.a ]] &&
   grep -qxF "config: $WANT" "$STAMP"; then
  log "cached: $(grep '^openssl:' "$STAMP" | cut -d' ' -f2) in $PREFIX (FORCE=1 rebuilds)"
  exit 0
fi

# --- sources ----------------------------------------------------------------------
mkdir -p "$WORKDIR"
if [[ -n ${OPENSSL_SRC_DIR:-} ]]; then
  SRC=$(cd "$OPENSSL_SRC_DIR" && pwd)
else
  SRC=$(ls -d "$WORKDIR"/src/openssl-*/ 2>/dev/null | head -n1 || true)
  if [[ -z $SRC || ! -f $SRC/Configure ]]; then
    command -v dpkg-source >/dev/null || die "apt-get source needs dpkg-dev"
    rm -rf "$WORKDIR/src"; mkdir -p "$WORKDIR/src"
    # A mirror can lag its index (the .dsc of the newest version missing while the index
    # names it): then take the next version the index lists.
    versions=("" $(apt-cache showsrc openssl 2>/dev/null | sed -n 's/^Version: //p'))
    got=0
    for v in "${versions[@]}"; do
      log "apt-get source openssl${v:+=$v}"
      if (cd "$WORKDIR/src" && apt-get source -q "openssl${v:+=$v}" >>"$WORKDIR/apt-source.log" 2>&1); then
        got=1; break
      fi
      rm -rf "$WORKDIR/src"; mkdir -p "$WORKDIR/src"
    done
    ((got)) || die "apt-get source openssl failed (deb-src entry? see $WORKDIR/apt-source.log)"
    SRC=$(ls -d "$WORKDIR"/src/openssl-*/ | head -n1)
  fi
fi
SRC=${SRC%/}
[[ -f $SRC/Configure && -f $SRC/VERSION.dat ]] || die "no OpenSSL 3 source at $SRC"
VERSION=$(. "$SRC/VERSION.dat" && echo "$MAJOR.$MINOR.$PATCH")
[[ $VERSION == 3.* ]] || die "OpenSSL $VERSION at $SRC, not 3.x"
log "OpenSSL $VERSION from $SRC"

# --- build (out of tree) ----------------------------------------------------------------
BUILD=$WORKDIR/build-$MINGW_TRIPLE
rm -rf "$BUILD"; mkdir -p "$BUILD"
log "configure + make build_libs in $BUILD (-j$JOBS)"
start=$SECONDS
# CC and friends unset: --cross-compile-prefix picks the MinGW tools; the -posix gcc
# is the same compiler as the plain one apart from the threading model, which libcrypto
# (Windows threads) does not use.
(cd "$BUILD" &&
 env -u CC -u CFLAGS -u CROSS_COMPILE \
   perl "$SRC/Configure" mingw64 "${OPTIONS[@]}" --cross-compile-prefix="$MINGW_TRIPLE-" \
     --prefix="$PREFIX" --libdir=lib >configure.log 2>&1 &&
 make -j"$JOBS" build_libs >build.log 2>&1) || die "build failed, see $BUILD/*.log"
log "built in $((SECONDS - start)) s"

log "installing into $PREFIX"
rm -rf "$PREFIX/include/openssl" "$PREFIX/lib/libssl.a" "$PREFIX/lib/libcrypto.a" "$STAMP"
make -C "$BUILD" install_dev >"$BUILD/install.log" 2>&1 || die "install failed, see $BUILD/install.log"
[[ -f $PREFIX/lib/libssl.a && -f $PREFIX/lib/libcrypto.a ]] || die "install_dev left no $PREFIX/lib/lib{ssl,crypto}.a"
mkdir -p "$PREFIX/share/openssl-mingw"

# --- smoke test ---------------------------------------------------------------------
if [[ $VERIFY == 1 ]]; then
  T=$WORKDIR/verify; rm -rf "$T"; mkdir -p "$T"
  cat >"$T/t.c" <<'C'
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
int main(void) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) { puts("SSL_CTX_new failed"); return 1; }
  unsigned char md[32]; unsigned int n = 0;
  if (!EVP_Digest("abc", 3, md, &n, EVP_sha256(), NULL) || n != 32 || md[0] != 0xba || md[31] != 0xad) {
    puts("sha256 mismatch"); return 2;
  }
  printf("%s: SSL_CTX and sha256 ok\n", OpenSSL_version(OPENSSL_VERSION));
  SSL_CTX_free(ctx);
  return 0;
}
C
  "$XCC" -O2 -I"$PREFIX/include" "$T/t.c" -o "$T/t.exe" \
    -L"$PREFIX/lib" -lssl -lcrypto -lws2_32 -lcrypt32 -static || die "smoke test does not link"
  WINE=$(pick wine wine64 || true)
  if [[ -n $WINE ]]; then
    WINEPREFIX=${WINEPREFIX:-$T/wineprefix} WINEDEBUG=${WINEDEBUG:--all} \
      "$WINE" "$T/t.exe" </dev/null 2>/dev/null | tr -d '\r' >&2 || die "smoke test failed under $WINE"
    [[ -n ${WINESERVER:-} ]] || WINESERVER=$(pick wineserver /usr/lib/wine/wineserver64 || true)
    [[ -z ${WINESERVER:-} ]] || WINEPREFIX=${WINEPREFIX:-$T/wineprefix} "$WINESERVER" -k 2>/dev/null || true
  else
    log "wine not found: smoke test linked, not run"
  fi
fi

{ echo "openssl: $VERSION ($SRC)"; echo "config: $WANT"; } >"$STAMP"
[[ ${KEEP_WORKDIR:-0} == 1 || -n ${OPENSSL_SRC_DIR:-} ]] || rm -rf "$WORKDIR"
log "done: OpenSSL $VERSION for $MINGW_TRIPLE in $PREFIX"
