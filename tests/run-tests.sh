#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/run-tests.sh - run souk's test suites and print one summary line.
#
#   tests/run-tests.sh                    everything make check needs
#   tests/run-tests.sh --only unit|integration|tsan|fuzz [--build DIR]
#
# Unit tests are cmocka binaries; integration tests are tests/integration/*.sh
# scripts that print TAP-style "ok - name" / "not ok - name" lines.
# Every program runs under a time limit. Exit status is non-zero on any failure.
set -u
cd "$(dirname "$0")/.."

only=""
build=""
while [ $# -gt 0 ]; do
	case "$1" in
	--only) only="$2"; shift 2 ;;
	--build) build="$2"; shift 2 ;;
	*) echo "run-tests, unknown option '$1'" >&2; exit 2 ;;
	esac
done

passed=0
failed=0
failures=()
log_dir=$(mktemp -d /tmp/souk-tests.XXXXXX)
trap 'rm -rf "$log_dir"' EXIT

# count cmocka results from one binary's output
run_unit_dir() { # dir label [glob]
	local dir="$1" label="$2" glob="${3:-test_*}" t out rc p f
	[ -d "$dir/tests" ] || return 0
	for t in "$dir"/tests/$glob; do
		[ -x "$t" ] || continue
		out="$log_dir/$(basename "$t").$label.log"
		echo "=== $label $(basename "$t")"
		SOUK_BUILD="$dir" timeout -k 10 900 "$t" >"$out" 2>&1
		rc=$?
		cat "$out"
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$out" | awk '{s+=$1} END {print s+0}')
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s).*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
		passed=$((passed + p))
		failed=$((failed + f))
		if [ "$rc" -ne 0 ]; then
			if [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
			failures+=("$label $(basename "$t") (exit $rc)")
		fi
	done
}

run_integration() { # build-dir label
	local dir="$1" label="$2" s out rc p f
	for s in tests/integration/[0-9]*.sh; do
		[ -f "$s" ] || continue
		out="$log_dir/$(basename "$s").$label.log"
		echo "=== $label $(basename "$s")"
		SOUK_BUILD="$dir" timeout -k 10 900 bash "$s" >"$out" 2>&1
		rc=$?
		cat "$out"
		p=$(grep -c '^ok ' "$out")
		f=$(grep -c '^not ok ' "$out")
		passed=$((passed + p))
		failed=$((failed + f))
		if [ "$rc" -ne 0 ]; then
			if [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
			failures+=("$label $(basename "$s") (exit $rc)")
		fi
	done
}

run_fuzz() {
	local t name corpus
	make --no-print-directory fuzz >"$log_dir/fuzz-build.log" 2>&1 || {
		cat "$log_dir/fuzz-build.log"
		failed=$((failed + 1)); failures+=("fuzz build"); return
	}
	for t in build/fuzz/fuzz_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		corpus=$(mktemp -d "$log_dir/corpus.XXXXXX")
		[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$corpus/"
		echo "=== fuzz $name"
		if timeout -k 10 120 "$t" -max_total_time="${SOUK_FUZZ_SECONDS:-20}" -rss_limit_mb=2048 \
			"$corpus" >"$log_dir/$name.log" 2>&1; then
			tail -n 2 "$log_dir/$name.log"
			echo "ok - fuzz $name"
			passed=$((passed + 1))
		else
			tail -n 40 "$log_dir/$name.log"
			echo "not ok - fuzz $name"
			failed=$((failed + 1)); failures+=("fuzz $name")
		fi
	done
}

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"

case "$only" in
unit) run_unit_dir "${build:-build}" unit ;;
integration) run_integration "${build:-build}" integration ;;
tsan) run_unit_dir build/tsan tsan 'test_*_mt' ;;
fuzz) run_fuzz ;;
"")
	run_unit_dir build unit
	run_integration build integration
	run_unit_dir build/asan asan
	run_integration build/asan asan-integration
	run_unit_dir build/tsan tsan 'test_*_mt'
	run_fuzz
	;;
*) echo "run-tests, unknown suite '$only'" >&2; exit 2 ;;
esac

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "failures:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#failures[@]} -eq 0 ]
