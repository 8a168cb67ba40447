#!/bin/sh
# Runs the unit tests (every build/tests/test_*) and the integration scenarios
# (every tests/integration/t_*.sh), then prints one "N passed, N failed" line.
# Usage: run-tests.sh [unit|integration]   (default: both)
set -u
BUILD=${BUILD:-build}
what=${1:-all}
passed=0
failed=0
failures=""

if [ "$what" = all ] || [ "$what" = unit ]; then
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		out=$("$t" 2>&1)
		rc=$?
		p=$(echo "$out" | grep -o '\[  PASSED  \] [0-9]* test' | awk '{s+=$4} END {print s+0}')
		f=$(echo "$out" | grep -o '\[  FAILED  \] [0-9]* test' | awk '{s+=$4} END {print s+0}')
		echo "[  $( [ "$f" -eq 0 ] && [ $rc -eq 0 ] && echo PASSED || echo FAILED )  ] unit $(basename "$t"): $p passed, $f failed"
		echo "$out" | grep -E '^\[  FAILED  \] [a-z]|^\[  ERROR   \]|runtime error|Sanitizer|LeakSanitizer' | head -20 || true
		if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
			echo "$out" | tail -30
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		[ "$f" -ne 0 ] && failures="$failures $(basename "$t")"
	done
fi

if [ "$what" = all ] || [ "$what" = integration ]; then
	CUSTOS=$(cd "$(dirname "$BUILD/custos")" && pwd)/custos
	FIXTURES=$(cd "$BUILD" && pwd)/fixtures
	export CUSTOS FIXTURES
	for t in tests/integration/t_*.sh; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .sh)
		log="$BUILD/integration-$name.log"
		start=$(date +%s)
		if bash "$t" >"$log" 2>&1; then
			passed=$((passed + 1))
			echo "[  PASSED  ] integration $name ($(( $(date +%s) - start ))s)"
		else
			failed=$((failed + 1))
			failures="$failures $name"
			echo "[  FAILED  ] integration $name; last lines of $log:"
			tail -25 "$log" | sed 's/^/    /'
		fi
	done
fi

[ -n "$failures" ] && echo "failed:$failures"
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
