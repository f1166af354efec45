#!/usr/bin/env bash
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
api GET /metrics
check "/metrics counts the suite's 401 answers (souk_auth_failures_total)" \
	grep -q '^souk_auth_failures_total [3-9]' <<<"$BODY"
souk_outage_suite nginx

# the worker starts and serves while soukd is down (last image stays in /dev/shm)
# SIGTERM while a request is in flight (a Souk-Min-Seq wait of up to 2 s):
# the request still gets its complete answer, then the worker exits 0
curl -sS -m 20 -o "$T/inflight.body" -w '%{http_code}' -H 'Souk-Min-Seq: 999999999' \
	"http://127.0.0.1:$WEB_PORT/api/v1/products/by-sku/OUT-1" >"$T/inflight.code" 2>/dev/null &
CURL_PID=$!
sleep 0.5
check "souk-fcgi exits 0 on SIGTERM with a request in flight" souk_stop_fcgi
wait "$CURL_PID"
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
souk_stop_web
check "no sanitizer reports in the logs" souk_no_sanitizer_reports
[ "$fails" -eq 0 ]
