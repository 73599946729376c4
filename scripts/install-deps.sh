#!/usr/bin/env bash
# Installs, with apt-get, whatever a Debian/Ubuntu machine lacks to build and test
# xsock. Idempotent: installs nothing when everything is there.
#   scripts/install-deps.sh           build + test dependencies
#   scripts/install-deps.sh --bench   also Google Benchmark, socat, and the libraries the
#                                     ping-pong benchmark compares with (libuv, Asio,
#                                     libevent, POCO)
#   scripts/install-deps.sh --fuzz    also clang and its libFuzzer runtime
#   scripts/install-deps.sh --libcxx  also clang, libc++ and GoogleTest's sources (the
#                                     clang-libcxx preset builds GoogleTest with libc++)
#   scripts/install-deps.sh --docs    also Doxygen (the xsock_docs target)
#   scripts/install-deps.sh --ccache  also ccache (CI compiles through it)
set -euo pipefail

# What the README's two commands need on a minimal Debian 12 (debootstrap minbase;
# .ci/chroot-test.sh proves it there): the toolchain and libraries, and what the tests
# call: python3 (tool and example tests), pkg-config (install.pkg_config), dpkg-dev's
# dpkg-shlibdeps and `file` (CPack's .deb, install.deb), the openssl command (the TLS
# tests make their CA and certificates with it, and talk to `openssl s_server` and
# `s_client`; libssl-dev does not bring it with --no-install-recommends).
packages=(cmake make g++ pkg-config libgtest-dev libgmock-dev libicu-dev libssl-dev openssl libcli11-dev
          python3 dpkg-dev file)
for arg in "$@"; do
  case "$arg" in
    --bench) packages+=(libbenchmark-dev socat libuv1-dev libasio-dev libevent-dev libpoco-dev) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    --libcxx) packages+=(clang libc++-dev libc++abi-dev googletest) ;;
    --docs) packages+=(doxygen) ;;
    --ccache) packages+=(ccache) ;;
    *) echo "install-deps.sh: unknown option '$arg' (use --bench, --fuzz, --libcxx, --docs or --ccache)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  sudo=(sudo)
fi
echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
