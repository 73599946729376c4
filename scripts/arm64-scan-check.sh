#!/usr/bin/env bash
# The NEON scan of the table decoder (core/src/text/ascii_scan.hpp) against the portable
# one, on ARM64 (Apple silicon, Windows on ARM) emulated: cross-built with Debian's
# aarch64 GCC, run under qemu-user. Installs both with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for p in g++-aarch64-linux-gnu qemu-user; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
aarch64-linux-gnu-g++ -std=c++17 -O2 -Wall -Wextra -Wconversion -Wsign-conversion -Werror \
  -static -Icore/src tests/text/scan_check.cpp -o "$out/scan_check"
qemu-aarch64 "$out/scan_check"
