#!/usr/bin/env bash
# build-icu-mingw.sh - a small, static ICU4C for MinGW-w64 (Windows x86-64), built
# from Debian's ICU source package and installed into a cache outside the build tree,
# so a second run (or a second CI run on the same machine) skips the work.
#
# Usage: scripts/build-icu-mingw.sh [PREFIX]
#   PREFIX default: ${XSOCK_DEPS_CACHE:-$HOME/.cache/xsock}/icu-mingw
#
# Result (static only: the .exe files need no ICU DLL):
#   PREFIX/include/unicode/*.h     uconfig.h defines U_STATIC_IMPLEMENTATION
#   PREFIX/lib/libsicuuc.a libsicudt.a   ICU's static names (libsicuuc.a holds the
#                                        data object too: ICU::uc alone links)
#   PREFIX/lib/libicuuc.a  libicudt.a    symlinks, for CMake's FindICU and -licuuc
#   PREFIX/lib/pkgconfig/icu-uc.pc
#   PREFIX/share/icu-mingw/build-info.txt  stamp: a matching stamp skips the build
#
# The data library holds only the converters xsock supports (see ICU_CONVERTERS) and
# the alias table; UTF-8/16/32, US-ASCII and ISO-8859-1 are algorithmic (in libicuuc).
# Debian's source ships only the prebuilt data/in/icudt*l.dat (ICU_DATA_FILTER_FILE is
# ignored), so the archive is trimmed with the native icupkg instead.
#
# Knobs: ICU_CONVERTERS, MINGW_TRIPLE (x86_64-w64-mingw32), WORKDIR, JOBS (nproc),
# VERIFY=0 (skip the smoke test under wine), FORCE=1 (rebuild), KEEP_WORKDIR=1,
# ICU_SRC_DIR (an unpacked ICU tree instead of `apt-get source icu`).
# Needs: g++-mingw-w64-x86-64-posix, make, dpkg-dev and a deb-src entry; icu-devtools of
# the same ICU version (else gcc/g++ build the native tools).
set -euo pipefail

CACHE=${XSOCK_DEPS_CACHE:-${HOME:-/root}/.cache/xsock}
PREFIX=${1:-$CACHE/icu-mingw}
MINGW_TRIPLE=${MINGW_TRIPLE:-x86_64-w64-mingw32}
# GBK = windows-936-2000 (+ ibm-1386 for the GBK alias), GB18030, Big5 =
# windows-950-2000 (+ ibm-1373), Shift_JIS = ibm-943_P15A-2003, EUC-KR = ibm-970.
ICU_CONVERTERS=${ICU_CONVERTERS:-"windows-936-2000 ibm-1386_P100-2001 gb18030 windows-950-2000 ibm-1373_P100-2002 ibm-943_P15A-2003 ibm-970_P110_P110-2006_U2"}
WORKDIR=${WORKDIR:-${TMPDIR:-/tmp}/xsock-icu-mingw-build}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
VERIFY=${VERIFY:-1}

log() { printf '[build-icu-mingw] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

case $PREFIX in /*) ;; *) PREFIX=$(pwd)/$PREFIX ;; esac
case $WORKDIR in /*) ;; *) WORKDIR=$(pwd)/$WORKDIR ;; esac

pick() { local c; for c in "$@"; do command -v "$c" >/dev/null 2>&1 && { echo "$c"; return 0; }; done; return 1; }
XCC=$(pick "$MINGW_TRIPLE-gcc-posix" "$MINGW_TRIPLE-gcc") ||
  die "no $MINGW_TRIPLE-gcc; apt-get install g++-mingw-w64-x86-64-posix"
XCXX=$(pick "$MINGW_TRIPLE-g++-posix" "$MINGW_TRIPLE-g++") ||
  die "no $MINGW_TRIPLE-g++; apt-get install g++-mingw-w64-x86-64-posix"
NCC=${NATIVE_CC:-gcc}; NCXX=${NATIVE_CXX:-g++}
for t in make "$NCC" "$NCXX"; do command -v "$t" >/dev/null || die "missing $t"; done

# --- idempotence ------------------------------------------------------------------
STAMP=$PREFIX/share/icu-mingw/build-info.txt
WANT="layout=2 triple=$MINGW_TRIPLE converters=$(echo $ICU_CONVERTERS | tr ' ' ',') compiler=$($XCXX -dumpversion)"
if [[ ${FORCE:-0} != 1 && -f $STAMP && -f $PREFIX/lib/libsicuuc.a && -f $PREFIX/lib/libsicudt.a ]] &&
   grep -qxF "config: $WANT" "$STAMP"; then
  log "cached: $(grep '^icu:' "$STAMP" | cut -d' ' -f2) in $PREFIX (FORCE=1 rebuilds)"
  exit 0
fi

# --- sources ----------------------------------------------------------------------
mkdir -p "$WORKDIR"
if [[ -n ${ICU_SRC_DIR:-} ]]; then
  SRC=$(cd "$ICU_SRC_DIR" && pwd)
else
  SRC=$(ls -d "$WORKDIR"/src/icu-*/ 2>/dev/null | head -n1 || true)
  if [[ -z $SRC || ! -x $SRC/source/configure ]]; then
    command -v dpkg-source >/dev/null || die "apt-get source needs dpkg-dev"
    rm -rf "$WORKDIR/src"; mkdir -p "$WORKDIR/src"
    log "apt-get source icu"
    (cd "$WORKDIR/src" && apt-get source -q icu >"$WORKDIR/apt-source.log" 2>&1) ||
      die "apt-get source icu failed (deb-src entry? see $WORKDIR/apt-source.log)"
    SRC=$(ls -d "$WORKDIR"/src/icu-*/ | head -n1)
  fi
fi
SRC=${SRC%/}/source
[[ -x $SRC/configure ]] || die "no ICU source at $SRC"
MAJOR=$(sed -n 's/^#define U_ICU_VERSION_MAJOR_NUM \([0-9]*\).*/\1/p' "$SRC/common/unicode/uvernum.h")
VERSION=$(sed -n 's/^#define U_ICU_VERSION "\(.*\)".*/\1/p' "$SRC/common/unicode/uvernum.h")
FULLDAT=$SRC/data/in/icudt${MAJOR}l.dat
[[ -f $FULLDAT ]] || die "prebuilt data $FULLDAT not found"
log "ICU $VERSION from $SRC"

COMMON_OPTS=(--disable-tests --disable-samples --disable-extras --disable-layoutex
             --disable-icuio --enable-static --disable-shared)

# --- 1. native tools (icupkg, pkgdata) for --with-cross-build ---------------------
# Debian's icu-devtools of the same ICU version has them: a stand-in build root that
# points at them saves the native build (~3 min). Otherwise build them (-O0).
NATIVE=$WORKDIR/native
devtools=$(dpkg-query -W -f='${Version}' icu-devtools 2>/dev/null || true)
if [[ ${devtools%%-*} == "$VERSION" && -x /usr/sbin/icupkg && -x /usr/bin/pkgdata ]]; then
  log "native tools: icu-devtools $devtools"
  rm -rf "$NATIVE"; mkdir -p "$NATIVE/bin" "$NATIVE/lib" "$NATIVE/config"
  for t in icupkg pkgdata genccode gencmn genrb makeconv gencnval genbrk gencfu gendict gennorm2 gensprep; do
    for d in /usr/sbin /usr/bin; do [[ -x $d/$t ]] && { ln -sf "$d/$t" "$NATIVE/bin/$t"; break; }; done
  done
  printf '%s\n' "CROSS_ICU_VERSION=$VERSION" "TOOLEXEEXT=" 'TOOLBINDIR=$(cross_buildroot)/bin' \
    'TOOLLIBDIR=$(cross_buildroot)/lib' 'INVOKE=' 'PKGDATA_INVOKE=' >"$NATIVE/config/icucross.mk"
  grep '^CURR_FULL_DIR' "$SRC/icudefs.mk.in" >"$NATIVE/config/icucross.inc"
elif [[ ! -x $NATIVE/bin/pkgdata || ! -x $NATIVE/bin/icupkg || ! -f $NATIVE/config/icucross.mk ]]; then
  log "native tools build (-O0) in $NATIVE (no icu-devtools $VERSION)"
  rm -rf "$NATIVE"; mkdir -p "$NATIVE"
  (cd "$NATIVE" &&
   CC=$NCC CXX=$NCXX CFLAGS="-O0 -g0" CXXFLAGS="-O0 -g0" \
     "$SRC/configure" "${COMMON_OPTS[@]}" >configure.log 2>&1 &&
   make -j"$JOBS" SUBDIRS="stubdata common i18n tools/toolutil tools/icupkg tools/pkgdata" \
     >build.log 2>&1) || die "native build failed, see $NATIVE/*.log"
fi
ICUPKG=$NATIVE/bin/icupkg

# --- 2. trimmed data archive --------------------------------------------------------
DATA=$WORKDIR/data; rm -rf "$DATA"; mkdir -p "$DATA/items"
printf '%s\n' cnvalias.icu $(for c in $ICU_CONVERTERS; do echo "${c%.cnv}.cnv"; done) | sort -u >"$DATA/items.lst"
"$ICUPKG" -l "$FULLDAT" >"$DATA/all.lst"
for i in $(cat "$DATA/items.lst"); do grep -qxF "$i" "$DATA/all.lst" || die "item $i not in $FULLDAT"; done
ok=0; missing=
for round in 1 2 3 4 5; do   # add base tables that icupkg reports as missing
  rm -f "$DATA/icudt${MAJOR}l.dat"
  "$ICUPKG" -d "$DATA/items" -x "$DATA/items.lst" "$FULLDAT"
  out=$("$ICUPKG" -tl -s "$DATA/items" -a "$DATA/items.lst" new "$DATA/icudt${MAJOR}l.dat" 2>&1) && ok=1 || ok=0
  missing=$(printf '%s\n' "$out" | sed -n 's/.*depends on missing item \([^ ]*\).*/\1/p' | sort -u)
  [[ -z $missing ]] && break
  log "round $round: adding dependencies $(echo $missing)"
  printf '%s\n' $missing >>"$DATA/items.lst"; sort -u -o "$DATA/items.lst" "$DATA/items.lst"
done
[[ $ok == 1 && -z $missing ]] || die "could not build the data subset: $out"
log "data subset: $(wc -l <"$DATA/items.lst") items, $(du -k "$DATA/icudt${MAJOR}l.dat" | cut -f1) KiB"

# --- 3. cross build of libicuuc + the data library ----------------------------------
CROSS=$WORKDIR/cross-$MINGW_TRIPLE
log "cross build (common + data) in $CROSS"
rm -rf "$CROSS"; mkdir -p "$CROSS"
(cd "$CROSS" &&
 CC=$XCC CXX=$XCXX CFLAGS="-O2" CXXFLAGS="-O2" \
   "$SRC/configure" --host="$MINGW_TRIPLE" --with-cross-build="$NATIVE" --prefix="$PREFIX" \
     "${COMMON_OPTS[@]}" --disable-tools --with-data-packaging=static >configure.log 2>&1 &&
 make -j"$JOBS" SUBDIRS="common data" ICUDATA_SOURCE_ARCHIVE="$DATA/icudt${MAJOR}l.dat" \
   >build.log 2>&1) || die "cross build failed, see $CROSS/*.log"
DATALIB=$(ls "$CROSS"/lib/*icudt*.a | head -n1)   # pkgdata names it sicudt.a on MinGW

# --- 4. install by hand (ICU's install misplaces the static data library) -----------
log "installing into $PREFIX"
mkdir -p "$PREFIX/lib/pkgconfig" "$PREFIX/share/icu-mingw"
rm -rf "$PREFIX/include/unicode"
rm -f "$PREFIX"/lib/lib{s,}icu{uc,dt,in,i18n}.a "$PREFIX"/lib/pkgconfig/icu-uc.pc "$STAMP"
make -C "$CROSS/common" install >>"$CROSS/install.log" 2>&1 || die "install failed"
install -m 644 "$DATALIB" "$PREFIX/lib/libsicudt.a"
# The data object goes into libsicuuc.a too, so that linking ICU::uc alone (what a
# shared ICU needs) also works statically; libicudt.a stays for those who name it.
XAR=$(pick "$MINGW_TRIPLE-ar" ar)
DATAOBJ=$WORKDIR/dataobj; rm -rf "$DATAOBJ"; mkdir -p "$DATAOBJ"
(cd "$DATAOBJ" && "$XAR" x "$PREFIX/lib/libsicudt.a" && "$XAR" rs "$PREFIX/lib/libsicuuc.a" ./*.o) ||
  die "could not add the data object to libsicuuc.a"
ln -sf libsicuuc.a "$PREFIX/lib/libicuuc.a"
ln -sf libsicudt.a "$PREFIX/lib/libicudt.a"
install -m 644 "$CROSS/config/icu-uc.pc" "$PREFIX/lib/pkgconfig/"
UCONFIG=$PREFIX/include/unicode/uconfig.h
{ printf '/* added by build-icu-mingw.sh: static-only ICU */\n#ifndef U_STATIC_IMPLEMENTATION\n#define U_STATIC_IMPLEMENTATION 1\n#endif\n'; cat "$UCONFIG"; } >"$UCONFIG.new"
mv "$UCONFIG.new" "$UCONFIG"

# --- 5. smoke test ---------------------------------------------------------------------
if [[ $VERIFY == 1 ]]; then
  T=$WORKDIR/verify; rm -rf "$T"; mkdir -p "$T"
  cat >"$T/t.cpp" <<'CPP'
#include <unicode/ucnv.h>
#include <cstdio>
#include <cstring>
int main() {
  const char* names[] = {"GBK", "GB18030", "Big5", "Shift_JIS", "EUC-KR", "UTF-8", "UTF-16LE"};
  for (const char* name : names) {
    UErrorCode e = U_ZERO_ERROR;
    UConverter* c = ucnv_open(name, &e);
    if (U_FAILURE(e)) { std::printf("ucnv_open(%s): %s\n", name, u_errorName(e)); return 1; }
    ucnv_close(c);
  }
  char out[8]; UErrorCode e = U_ZERO_ERROR;
  int32_t n = ucnv_convert("GBK", "UTF-8", out, sizeof out, "\xE4\xB8\xAD\xE6\x96\x87", 6, &e);
  bool ok = U_SUCCESS(e) && n == 4 && std::memcmp(out, "\xD6\xD0\xCE\xC4", 4) == 0;
  std::printf("converters open; UTF-8 -> GBK %s\n", ok ? "OK" : "MISMATCH");
  return ok ? 0 : 2;
}
CPP
  "$XCXX" -std=c++17 -O2 -I"$PREFIX/include" "$T/t.cpp" -o "$T/t.exe" \
    -L"$PREFIX/lib" -licuuc -static || die "smoke test does not link"
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

{ echo "icu: $VERSION ($SRC)"; echo "config: $WANT"; echo "data items: $(echo $(cat "$DATA/items.lst"))"; } >"$STAMP"
[[ ${KEEP_WORKDIR:-0} == 1 || -n ${ICU_SRC_DIR:-} ]] || rm -rf "$WORKDIR"
log "done: ICU $VERSION for $MINGW_TRIPLE in $PREFIX"
