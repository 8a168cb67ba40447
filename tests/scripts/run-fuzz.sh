#!/bin/sh
# Builds each libFuzzer target in tests/fuzz/ with clang and runs it for
# FUZZ_SECONDS on its committed seed corpus (tests/fuzz/corpus/NAME/).
set -eu
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
command -v clang >/dev/null || sh tests/scripts/install-deps.sh
[ $# -gt 0 ] || { echo "fuzz: no targets"; exit 0; }
PKGS="libevent libevent_openssl libevent_pthreads libssl libcrypto libsodium yaml-0.1 libpcre2-8 zlib"
out=build/fuzz
mkdir -p "$out"
srcs=$(ls proxy/*.c classifiers/*.c policies/*.c keys/*.c audit/*.c 2>/dev/null | grep -v '^proxy/main.c$')
for target in "$@"; do
	name=$(basename "$target" .c)
	# shellcheck disable=SC2046,SC2086
	clang -std=gnu11 -g -O1 -I. -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		$(pkg-config --cflags $PKGS) -o "$out/$name" "$target" $srcs \
		$(pkg-config --libs $PKGS) -pthread -lm
	corpus="tests/fuzz/corpus/$name"
	work="$out/corpus-$name"
	mkdir -p "$corpus" "$work"
	echo "fuzz: $name for ${FUZZ_SECONDS}s"
	"$out/$name" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		-artifact_prefix="$out/" "$work" "$corpus" 2>"$out/$name.log" ||
		{ tail -40 "$out/$name.log"; exit 1; }
	grep -E 'stat::number_of_executed_units|stat::peak_rss' "$out/$name.log" | sed "s/^/  $name: /"
done
