#!/bin/sh
# deps.sh [--cross] — make sure the Debian packages lfm2c needs are present.
#
# As root, missing packages are installed with apt-get; otherwise the exact
# apt-get command is printed and the script exits non-zero.  llvm-19-dev is
# the LLVM backend (libLLVM 19 and its C API headers); the aarch64 cross
# compiler, its libc and qemu-user build and run the aarch64 tests (the
# test suite skips those without them).  librsvg2-bin is rsvg-convert,
# which the variants test renders variants.svg with.  --cross is kept as
# an alias: the cross packages are always wanted now.
set -eu
pkgs="gcc make cmake pkg-config libc6-dev libcjson-dev libxxhash-dev libutf8proc-dev llvm-19-dev"
pkgs="$pkgs gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"
pkgs="$pkgs librsvg2-bin"

missing=""
for p in $pkgs; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
	echo "deps: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null || apt-get update
	# shellcheck disable=SC2086
	apt-get install -y -qq $missing >/dev/null || apt-get install -y $missing
else
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run as root:  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
