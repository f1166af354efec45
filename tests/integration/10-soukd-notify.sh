#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/10-soukd-notify.sh - soukd speaks the systemd notify
# protocol when NOTIFY_SOCKET is set: EXTEND_TIMEOUT_USEC while it builds the
# first image, READY=1, RELOADING=1 with MONOTONIC_USEC on SIGHUP, READY=1
# again, WATCHDOG=1 at start and at half WATCHDOG_USEC, STOPPING=1 on SIGTERM.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
LISTEN=$B/tools/notify_listen
souk_tmpdir it10n
INST=it10n-$$
LPID=""
trap '[ -n "$LPID" ] && kill -KILL "$LPID" 2>/dev/null; souk_cleanup' EXIT

count() { grep -c -x "$1" "$OUT" 2>/dev/null; }
has_at_least() { [ "$(count "$1")" -ge "$2" ]; }
line_of() { grep -n -x "$1" "$OUT" | sed -n "${2:-1}p" | cut -d: -f1; }

CONF=$T/souk.yaml
write_config() { # watchdog
	souk_config_head >"$CONF"
	cat >>"$CONF" <<EOF
daemon:
  watchdog: $1
EOF
}

start_listener() {
	OUT=$T/notify.$1.out
	"$LISTEN" "$T/notify.sock" 60 >"$OUT" &
	LPID=$!
	wait_for 10 test -S "$T/notify.sock"
}

# ---- full cycle ------------------------------------------------------------------
write_config true
start_listener 1
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000 "$SOUKD" -c "$CONF" 2>"$T/soukd.log" &
SOUKD_PID=$!
check "soukd sends READY=1 after start-up" wait_for 20 has_at_least READY=1 1
check "the first image is published before READY=1" compgen -G "/dev/shm/$INST.img.*"
check "READY=1 comes with a STATUS= text" grep -q '^STATUS=running, config generation 1$' "$OUT"
ex=$(line_of EXTEND_TIMEOUT_USEC=30000000 1); r1=$(line_of READY=1 1); w1=$(line_of WATCHDOG=1 1)
check "soukd extends the start timeout (EXTEND_TIMEOUT_USEC) while it builds the first image, before READY=1" \
	[ -n "$ex" ] && [ -n "$r1" ] && [ "$ex" -lt "$r1" ]
check "the first WATCHDOG=1 is sent at start, before READY=1" [ -n "$w1" ] && [ "$w1" -lt "$r1" ]
check "soukd answers the watchdog (WATCHDOG=1)" wait_for 20 has_at_least WATCHDOG=1 2

kill -HUP "$SOUKD_PID"
check "SIGHUP sends RELOADING=1" wait_for 20 has_at_least RELOADING=1 1
check "RELOADING=1 carries MONOTONIC_USEC" grep -q '^MONOTONIC_USEC=[0-9][0-9]*$' "$OUT"
check "READY=1 follows the reload" wait_for 20 has_at_least READY=1 2
check "the status after reload names generation 2" wait_for 10 grep -q '^STATUS=running, config generation 2$' "$OUT"

kill -TERM "$SOUKD_PID"
check "SIGTERM sends STOPPING=1" wait_for 20 has_at_least STOPPING=1 1
wait_for 20 soukd_exited
wait "$SOUKD_PID"; rc=$?
SOUKD_PID=""
check "soukd exits 0 after STOPPING=1" [ "$rc" -eq 0 ]
wait "$LPID"; LPID=""
r1=$(line_of READY=1 1); rl=$(line_of RELOADING=1 1); r2=$(line_of READY=1 2); st=$(line_of STOPPING=1 1)
check "order is READY, RELOADING, READY, STOPPING" \
	[ -n "$r1" -a -n "$rl" -a -n "$r2" -a -n "$st" ] && [ "$r1" -lt "$rl" -a "$rl" -lt "$r2" -a "$r2" -lt "$st" ]

# ---- daemon.watchdog: false -> no keep-alives ------------------------------------
write_config false
start_listener 2
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=200000 "$SOUKD" -c "$CONF" 2>"$T/soukd2.log" &
SOUKD_PID=$!
wait_for 20 has_at_least READY=1 1
# With the watchdog on, soukd sends WATCHDOG=1 at start before READY=1 (see
# above) and then from a 100 ms timer on its event loop. Two reloads, each
# a later turn of that loop, after more than one period of wall time: a
# due timer fires in the turn that handles the signal, so by the second
# READY=1 after them a keep-alive would have been sent, however slowly the
# machine runs.
sleep 0.3
kill -HUP "$SOUKD_PID"
wait_for 20 has_at_least READY=1 2
kill -HUP "$SOUKD_PID"
wait_for 20 has_at_least READY=1 3
check "two reloads went through with the watchdog off" has_at_least READY=1 3
check "daemon.watchdog: false sends no WATCHDOG=1" [ "$(count WATCHDOG=1)" -eq 0 ]
souk_stop_soukd; rc=$?
check "soukd exits 0 (watchdog off)" [ "$rc" -eq 0 ]
wait "$LPID"; LPID=""

# ---- no NOTIFY_SOCKET: nothing sent, still runs -----------------------------------
start_listener 3
env -u NOTIFY_SOCKET "$SOUKD" -c "$CONF" 2>"$T/soukd3.log" &
SOUKD_PID=$!
wait_for 20 test -S "$T/run/control.sock"
souk_stop_soukd; rc=$?
check "without NOTIFY_SOCKET soukd runs and exits 0" [ "$rc" -eq 0 ]
check "without NOTIFY_SOCKET nothing is sent" [ ! -s "$OUT" ]
kill -TERM "$LPID" 2>/dev/null; wait "$LPID" 2>/dev/null; LPID=""

[ "$fails" -eq 0 ]
