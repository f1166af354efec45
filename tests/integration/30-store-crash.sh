#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 30-store-crash.sh - the store keeps every reported commit across SIGKILL,
# failing fsync, and concurrent map growth from a tiny map.
set -u
. "$(dirname "$0")/lib.sh"
W="$B/tools/store_crash_writer"
C="$B/tools/store_crash_check"
souk_tmpdir crash
tmp=$T

# last complete line of a file (a kill may cut the final write short)
last_line() { # file default
	local l
	l=$(grep -E '^[0-9]+$' "$1" 2>/dev/null | tail -n 1)
	echo "${l:-$2}"
}

# ---- 1. SIGKILL at random moments ------------------------------------------
d="$tmp/kill"
mkdir -p "$d"
last=0
rounds=0
broken=""
deadline=$((SECONDS + ${SOUK_CRASH_SECONDS:-30}))
max_rounds=${SOUK_CRASH_ROUNDS:-200}
while [ "$rounds" -lt "$max_rounds" ] && [ "$SECONDS" -lt "$deadline" ]; do
	out="$tmp/out.$rounds"
	"$W" "$d" k $((last + 1)) 0 >"$out" 2>"$tmp/err" &
	pid=$!
	SOUK_PIDS=$pid
	# sleep 0..59 ms, then kill without warning
	sleep "0.0$((RANDOM % 6))$((RANDOM % 10))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	SOUK_PIDS=""
	reported=$(last_line "$out" "$last")
	if ! m=$("$C" "$d" k "$reported" 2>"$tmp/check.err"); then
		broken="round $rounds: $(cat "$tmp/check.err")"
		break
	fi
	if [ "$m" -lt "$reported" ]; then
		broken="round $rounds: reported $reported but store holds $m"
		break
	fi
	last=$m
	rounds=$((rounds + 1))
	rm -f "$out"
done
if [ -z "$broken" ] && [ "$rounds" -ge 20 ] && [ "$last" -gt 0 ]; then
	ok "store keeps every reported commit across $rounds SIGKILLs ($last commits, audit verified)"
else
	nok "store crash loop (${broken:-only $rounds rounds, $last commits})"
fi

# ---- 2. failing fsync ----------------------------------------------------------
d="$tmp/fsync"
mkdir -p "$d"
# a clean first part
"$W" "$d" f 1 10 >"$tmp/f1" 2>/dev/null || nok "fsync: setup writer failed"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"
SOUK_FAIL_FSYNC_AT=7 LD_PRELOAD="$B/shims/fail_fsync.so" "$W" "$d" f 11 100 >"$tmp/f2" 2>"$tmp/f2.err"
rc=$?
reported=$(last_line "$tmp/f2" 10)
if [ "$rc" -eq 3 ] && grep -q "commit of .* failed" "$tmp/f2.err" && [ "$reported" -lt 110 ]; then
	ok "fsync failure makes the commit fail (reported up to $reported)"
else
	nok "fsync failure was not reported as a failed commit (rc $rc, reported $reported)"
fi
if m=$("$C" "$d" f "$reported" 2>"$tmp/check.err") && [ "$m" -eq "$reported" ]; then
	ok "after a failed fsync the store holds exactly the reported commits ($m)"
else
	nok "after a failed fsync: store holds ${m:-?}, reported $reported ($(cat "$tmp/check.err"))"
fi
# and the store keeps working afterwards
if "$W" "$d" f $((reported + 1)) 5 >/dev/null 2>&1 && m=$("$C" "$d" f $((reported + 5)) 2>/dev/null); then
	ok "store accepts commits after a failed fsync"
else
	nok "store unusable after a failed fsync"
fi

# ---- 3. tiny map, several writer processes growing it ---------------------------------
d="$tmp/tiny"
mkdir -p "$d"
n=150
SOUK_PIDS=""
for t in a b c; do
	"$W" "$d" "$t" 1 "$n" 65536 >"$tmp/t.$t" 2>"$tmp/t.$t.err" &
	SOUK_PIDS="$SOUK_PIDS $!"
done
allok=1
for p in $SOUK_PIDS; do wait "$p" || allok=0; done
SOUK_PIDS=""
for t in a b c; do
	m=$("$C" "$d" "$t" "$n" 2>>"$tmp/tiny.err") || allok=0
	[ "${m:-0}" -eq "$n" ] || allok=0
done
size=$(stat -c %s "$d/data.mdb" 2>/dev/null || echo 0)
if [ "$allok" -eq 1 ] && [ "$size" -gt 65536 ]; then
	ok "three writers grow a 64 KiB map together ($((3 * n)) commits, file $size bytes)"
else
	nok "tiny map with several writers: $(cat "$tmp"/t.*.err "$tmp/tiny.err" 2>/dev/null | head -5)"
fi

exit $((fails > 0))
