#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/20-shm-stress.sh - shared-memory publication under load.
#
# One publisher process publishes up to 3000 generations (at most 20 s) while
# reader processes check every record of every image they use, once with
# full images and once with deltas over bases that are replaced; then two
# control runs break the protocol on purpose and must be caught, which shows
# the check can fail. Each run is bounded by count and time.
set -u
build=${SOUK_BUILD:-build}
tool="$build/tools/shm_stress"
status=0

run() { # expectation-text args...
	local what="$1" out rc
	shift
	out=$(timeout -k 5 90 "$tool" "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -v '^$' | tail -n 8 | sed 's/^/# /'
	if [ "$rc" -eq 0 ]; then
		echo "ok - $what"
	else
		echo "not ok - $what (exit $rc)"
		status=1
	fi
}

if [ ! -x "$tool" ]; then
	echo "not ok - shm stress tool missing at $tool"
	exit 1
fi
run "shm stress: 4 reader processes, every record of every image verified, zero bad reads, one image left, none after unlink" \
	safe --readers 4 --gens 3000 --seconds 20
run "shm stress, base + delta: 4 reader processes, every record of every delta and its base verified, pairs consistent while bases are rebuilt, only the current pair left" \
	delta --readers 4 --gens 3000 --seconds 20
run "shm control: rewriting a published image in place is caught as bad reads" \
	inplace --readers 2 --seconds 15
run "shm control: reading an unpublished generation is caught as bad reads" \
	early --readers 2 --gens 3000 --seconds 15
exit $status
