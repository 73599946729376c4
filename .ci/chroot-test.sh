#!/usr/bin/env bash
# The README's test command, `scripts/install-deps.sh && cmake --workflow --preset
# default`, in a minimal Debian 12: a debootstrap minbase chroot of bookworm with a copy
# of this tree. Nothing installed on the host reaches it, so a package that
# install-deps.sh forgets fails here, not on a user's fresh machine. Root only.
#
# The minbase is made once per machine (debootstrap) and kept as a tarball in the cache;
# each run extracts it fresh and deletes it afterwards. Two caches are shared between
# runs, neither of which can stand in for a missing install step: apt's downloaded .deb
# files (apt still has to be asked for each package) and a ccache directory (the
# compiler and the libraries still come from the chroot; ccache itself is installed
# after install-deps.sh has run; its base_dir is the tree, so a clone elsewhere hits).
#
#   .ci/chroot-test.sh               the README's test command in the chroot
#   .ci/chroot-test.sh --keep-build  then moves the chroot's build/default to this
#                                    tree's (replacing it), for .ci/run's later stages
#                                    (its paths are this tree's: the copy sits at the
#                                    same path inside the chroot)
# Environment:
#   XSOCK_DEPS_CACHE     cache directory (default ~/.cache/xsock): debian-bookworm-minbase.tar,
#                        chroot-apt/ (downloaded packages), chroot-ccache/
#   XSOCK_DEBIAN_MIRROR  Debian mirror (default: the one this machine's apt uses for
#                        Debian, else http://deb.debian.org/debian)
#   CMAKE_BUILD_PARALLEL_LEVEL, CTEST_PARALLEL_LEVEL  passed in (default 2)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cache=${XSOCK_DEPS_CACHE:-$HOME/.cache/xsock}
suite=bookworm
base=$cache/debian-$suite-minbase.tar
export DEBIAN_FRONTEND=noninteractive
keep_build=0
for arg in "$@"; do
  case "$arg" in
    --keep-build) keep_build=1 ;;
    *) echo "chroot-test.sh: unknown option '$arg' (use --keep-build)" >&2; exit 2 ;;
  esac
done

say() { printf 'chroot-test (%s): %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
if [[ $(id -u) -ne 0 ]]; then
  say "needs root (debootstrap, chroot and mount)"
  exit 2
fi
mkdir -p "$cache/chroot-apt" "$cache/chroot-ccache"

# The first Debian (not security) mirror in this machine's apt sources.
host_mirror() {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -E '^[[:space:]]*(deb[[:space:]]|URIs:)' | grep -v security |
    grep -oE 'https?://[^[:space:]]*/debian/?([[:space:]]|$)' | head -n 1 | tr -d '[:space:]' | sed 's,/$,,' || true
}

if [[ ! -f $base ]]; then
  mirror=${XSOCK_DEBIAN_MIRROR:-$(host_mirror)}
  mirror=${mirror:-http://deb.debian.org/debian}
  if ! command -v debootstrap >/dev/null; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends debootstrap
  fi
  say "making the $suite minbase from $mirror (once per machine)"
  staging=$(mktemp -d "$cache/minbase.XXXXXX")
  trap 'rm -rf --one-file-system "$staging"' EXIT
  debootstrap --variant=minbase "$suite" "$staging/root" "$mirror"
  # What Debian's installer writes and debootstrap does not.
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$staging/root/etc/hosts"
  rm -f "$staging/root/var/cache/apt/archives/"*.deb
  tar -C "$staging/root" -cf "$base.part" .
  mv "$base.part" "$base"
  rm -rf --one-file-system "$staging"
  trap - EXIT
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/xsock-chroot.XXXXXX")
root=$work/root
mounted=()
cleanup() {
  local i clean=1
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" || umount -l "${mounted[i]}" || clean=0
  done
  # Never delete through a mount that is still there (it would be the host's /dev).
  if ((clean)) && ! grep -qF " $root/" /proc/self/mounts; then
    rm -rf --one-file-system "$work"
  else
    say "left $work behind: something is still mounted under it"
  fi
}
trap cleanup EXIT
# attach HOST_PATH CHROOT_PATH [mount options...]: binds, or mounts the given type.
attach() {
  local from=$1 to=$root$2
  shift 2
  mkdir -p "$to"
  if (($#)); then
    mount "$@" "$from" "$to"
  else
    mount --bind "$from" "$to"
  fi
  mounted+=("$to")
}

mkdir -p "$root"
tar -C "$root" -xf "$base"
cp /etc/resolv.conf "$root/etc/resolv.conf"
attach proc /proc -t proc
attach /dev /dev
attach /dev/pts /dev/pts
[[ -d /dev/shm ]] && attach /dev/shm /dev/shm
attach "$cache/chroot-apt" /var/cache/apt/archives
attach "$cache/chroot-ccache" /var/cache/xsock-ccache

# The tree as a clone of it would hold it, at the same path as here: what git tracks
# (as it is in the work tree) and new files not ignored; no build directories.
mkdir -p "$root$src"
git -C "$src" ls-files -z --cached --others --exclude-standard |
  (cd "$src" && tar --null --ignore-failed-read -T - -cf -) | tar -C "$root$src" -xf -

say "running the README's test command in a fresh $suite minbase"
# shellcheck disable=SC2016  # the script runs inside; its $ expand there
chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  DEBIAN_FRONTEND=noninteractive CCACHE_DIR=/var/cache/xsock-ccache CCACHE_BASEDIR="$src" \
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" CTEST_PARALLEL_LEVEL="${CTEST_PARALLEL_LEVEL:-2}" \
  /bin/bash -euo pipefail -c '
    cd "$1"
    scripts/install-deps.sh
    # Only now, so that it can hide nothing install-deps.sh forgot.
    apt-get install -y -q --no-install-recommends ccache >/dev/null
    export CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_C_COMPILER_LAUNCHER=ccache
    echo "chroot-test ($(date -u +%H:%M:%S)): packages installed; cmake --workflow --preset default" >&2
    cmake --workflow --preset default
    # Tests registered only when a tool is found: present, so none was skipped silently.
    tests=$(ctest --preset default -N)
    for wanted in "install\.pkg_config" "install\.deb" "tools\." "examples\." \
      "tools\.tls\.TlsInterop" "loopback/tls_interop_test\.openssl_s_client_verifies"; do
      if ! grep -qE "Test +#[0-9]+: $wanted" <<<"$tests"; then
        echo "chroot-test: no test $wanted registered: install-deps.sh lacks the tool it needs" >&2
        exit 1
      fi
    done
  ' chroot-test "$src"
say "passed"
if ((keep_build)); then
  rm -rf "$src/build/default"
  mkdir -p "$src/build"
  mv "$root$src/build/default" "$src/build/default"
fi
