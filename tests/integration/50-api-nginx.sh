#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/50-api-nginx.sh - the REST API end to end: real soukd,
# souk-fcgi and nginx (fastcgi_keep_conn, upstream keepalive) on 127.0.0.1,
# talked to with curl. Also the worker's life cycle: refusing a readable
# secret file, starting while soukd is down, soukd outages, SIGTERM.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
souk_setup it50

# ---- start-up checks ---------------------------------------------------------
cp "$SECRET_FILE" "$T/open.secret" && chmod 0644 "$T/open.secret"
out=$("$FCGI" -c "$CONF" --admin-secret-file "$T/open.secret" --listen "unix:$T/run/x.sock" 2>&1)
rc=$?
has() { [ "$1" -ne 0 ] && grep -qF -- "$3" <<<"$2"; } # rc output text
check "souk-fcgi refuses a group/other-readable admin secret file" has "$rc" "$out" "admin secret file"
(umask 077; printf '%s\n' "0123456789abcdef0123456789abcde" >"$T/short.secret") # 31 bytes
out=$("$FCGI" -c "$CONF" --admin-secret-file "$T/short.secret" --listen "unix:$T/run/x.sock" 2>&1)
rc=$?
check "souk-fcgi refuses an admin secret shorter than 32 bytes, saying so" \
	has "$rc" "$out" "the secret has 31 bytes, at least 32 are needed"
out=$("$FCGI" --threads 0 2>&1); rc=$?
check "souk-fcgi rejects --threads 0 with a clear message" \
	has "$rc" "$out" "option '--threads', value '0' (must be 1..1024)"

check "soukd starts" souk_start_soukd
check "souk-fcgi starts (-c souk.yaml)" souk_start_fcgi --min-seq-wait 2000
check "nginx starts on 127.0.0.1" souk_start_nginx

souk_api_suite nginx
souk_channel_suite nginx
api GET /metrics
check "/metrics counts the suite's 401 answers (souk_auth_failures_total)" \
	grep -q '^souk_auth_failures_total [3-9]' <<<"$BODY"
souk_outage_suite nginx

# the worker starts and serves while soukd is down (last image stays in /dev/shm)
# SIGTERM while a request is in flight (a Souk-Min-Seq wait of up to 2 s for
# a write soukd, stopped with SIGSTOP, does not publish): the request still
# gets its complete answer, then the worker exits 0
kill -STOP "$SOUKD_PID"
admin POST /api/v1/products -H 'Content-Type: application/json' \
	-d '{"sku":"FLIGHT-1","seller":"s1","category":"o","title":{"en":"x"},"price":{"GBP":1}}'
flight_seq=$(header Souk-Seq)
curl -sS -m 20 -o "$T/inflight.body" -w '%{http_code}' -H "Souk-Min-Seq: $flight_seq" \
	"http://127.0.0.1:$WEB_PORT/api/v1/products/by-sku/FLIGHT-1" >"$T/inflight.code" 2>/dev/null &
CURL_PID=$!
sleep 0.5
check "souk-fcgi exits 0 on SIGTERM with a request in flight" souk_stop_fcgi
wait "$CURL_PID"
kill -CONT "$SOUKD_PID"
check "...and the in-flight request was answered in full (503 not-yet-visible, not a 502)" \
	grep -q not-yet-visible "$T/inflight.body"
# two worker processes on one socket (spawn-fcgi hands it over on fd 0)
check "two souk-fcgi processes start under spawn-fcgi (socket on fd 0)" souk_spawn_fcgi 2
_two_workers() { api GET /metrics; grep -q '^souk_workers 2$' <<<"$BODY"; }
check "/metrics counts both worker processes" wait_for 10 _two_workers
_all_200() {
	local i
	for i in 1 2 3 4 5 6 7 8; do
		api GET /api/v1/products/by-sku/OUT-1
		[ "$STATUS" = 200 ] || return 1
	done
}
check "requests are served by the pair" _all_200
first=${SPAWN_PIDS%% *}; second=${SPAWN_PIDS#* }; second=${second%% *}
kill -KILL "$first"
check "with one worker SIGKILLed, the other keeps serving" _all_200
kill -TERM "$second"
check "the other exits on SIGTERM" wait_for 20 pid_gone "$second"
SPAWN_PIDS=""

souk_kill_soukd
check "souk-fcgi starts while soukd is down" souk_start_fcgi
api GET /api/v1/products/by-sku/OUT-2
check "...and serves the last published image" [ "$STATUS" = 200 ]
check "souk-fcgi exits 0 on SIGTERM again" souk_stop_fcgi
# a request whose timeout cannot be set is ended, not served without one
ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" LD_PRELOAD="$B/shims/fail_setsockopt.so" \
	souk_start_fcgi
api GET /api/v1/products/by-sku/OUT-2
check "a request whose timeout cannot be set is refused (502), and souk-fcgi says why" \
	[ "$STATUS" = 502 ] && grep -q "cannot set the request timeout, connection closed" "$T/fcgi.log"
check "souk-fcgi exits 0 on SIGTERM after that" souk_stop_fcgi

# ---- one worker across 20 clean soukd restarts ------------------------------------
# Each clean stop unlinks the segment and the images; the worker must follow
# every new segment and let go of the old images (4 threads: each holds at
# most one image and its base while idle).
check "soukd starts again" souk_start_soukd
check "souk-fcgi starts with 4 threads" souk_start_fcgi --threads 4
_reattached() { api GET /metrics; grep -q "^souk_fcgi_segment_reattach_total $1\$" <<<"$BODY"; }
_deleted_images() { # distinct unlinked image files the worker still maps
	grep -o "/dev/shm/$INST\.img\.[0-9]* (deleted)" "/proc/$FCGI_PID/maps" | sort -u | wc -l
}
followed=0
for i in $(seq 1 20); do
	souk_stop_soukd && souk_start_soukd && wait_for 10 _reattached "$i" || break
	api GET /api/v1/products/by-sku/OUT-1 # maps the new segment's image
	[ "$STATUS" = 200 ] || break
	followed=$i
done
check "souk-fcgi followed 20 clean soukd restarts (followed $followed)" [ "$followed" = 20 ]
admin POST /api/v1/products -H 'Content-Type: application/json' \
	-d '{"sku":"RST-20","seller":"s1","category":"o","title":{"en":"After 20"},"price":{"GBP":20}}'
id=$(json id); seq=$(header Souk-Seq)
api GET "/api/v1/products/$id" -H "Souk-Min-Seq: $seq"
check "...and serves a write made after the 20th" [ "$STATUS" = 200 -a "$(json sku)" = RST-20 ]
n=$(_deleted_images)
check "...mapping at most 8 unlinked images (not one per restart: $n)" [ "$n" -le 8 ]
check "souk-fcgi exits 0 on SIGTERM" souk_stop_fcgi
souk_stop_web
check "no sanitizer reports in the logs" souk_no_sanitizer_reports
[ "$fails" -eq 0 ]
