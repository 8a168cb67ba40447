#!/bin/sh
# Installs the Debian packages custos needs to build and test (and, with
# "bench", to benchmark). Called by the Makefile only when pkg-config cannot
# find a library or a tool is missing, so a ready machine pays nothing.
set -eu

pkgs="build-essential pkg-config libevent-dev libssl-dev libsodium-dev \
libyaml-dev libpcre2-dev zlib1g-dev libcmocka-dev libjansson-dev curl openssl \
valgrind clang libclang-rt-dev tzdata"
if [ "${1:-}" = "bench" ]; then
	pkgs="$pkgs wrk nginx-light"
fi

need=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		need="$need $p"
done
[ -z "$need" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "custos: installing Debian packages:$need" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $need >&2
