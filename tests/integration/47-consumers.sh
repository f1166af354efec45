#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/47-consumers.sh - change-log consumers as operators see
# them (real soukd, souk-fcgi and nginx on 127.0.0.1): the publisher's cursor
# and lag in /metrics and `soukctl status`, and its durable cursor in LMDB
# after a restart.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
souk_setup it47

check "soukd starts" souk_start_soukd
check "souk-fcgi starts" souk_start_fcgi
check "nginx starts on 127.0.0.1" souk_start_nginx

JSON=(-H 'Content-Type: application/json')
for i in 1 2 3; do
	admin POST /api/v1/products "${JSON[@]}" \
		-d "{\"sku\":\"C-$i\",\"status\":\"active\",\"seller\":\"s1\",\"category\":\"c\",\"title\":{\"en\":\"c$i\"},\"price\":{\"GBP\":100}}"
	SEQ=$(header Souk-Seq)
done
check "three products written" [ "$STATUS" = 201 -a -n "$SEQ" ]

# the publisher catches up within its coalescing delay and poll interval
_caught_up() {
	api GET /metrics
	grep -qx 'souk_consumer_lag{consumer="publisher"} 0' <<<"$BODY" &&
		grep -qx "souk_consumer_cursor{consumer=\"publisher\"} $SEQ" <<<"$BODY"
}
check "/metrics shows the publisher caught up (lag 0, cursor $SEQ)" wait_for 10 _caught_up
check "/metrics types the consumer lag as a gauge" \
	grep -qx '# TYPE souk_consumer_lag gauge' <<<"$BODY"

sc() { "$SOUKCTL" "$@" >"$T/out" 2>"$T/err"; rc=$?; }
show() { echo "# exit $rc"; sed 's/^/# out: /' "$T/out" | head -60; sed 's/^/# err: /' "$T/err" | head; }
sc -c "$CONF" --json status
check "soukctl status --json exits 0" [ "$rc" -eq 0 ] || show
_status_json() { # path: a value of the status report
	"$B/tools/fcgi_json" "$1" <"$T/out" 2>/dev/null
}
check "soukctl status names the publisher as a consumer" \
	[ "$(_status_json shm.consumers.0.name)" = publisher ] || show
check "soukctl status shows its cursor and lag" \
	[ "$(_status_json shm.consumers.0.cursor)" = "$SEQ" -a "$(_status_json shm.consumers.0.lag)" = 0 ]
sc -c "$CONF" status
check "the human status has the consumer's lag" grep -qx 'shm.consumers.0.lag: 0' "$T/out" || show

# the durable cursor: recorded at most a second after publishing, kept over
# a restart (the image is still built in full at start)
check "soukd stops" souk_stop_soukd
sc -c "$CONF" --json status
check "the store keeps the publisher's cursor after soukd stopped" \
	[ "$(_status_json store.consumer_cursors.publisher)" = "$SEQ" ] || show
check "soukd starts again" souk_start_soukd
_shown_again() { api GET /metrics; grep -qx "souk_consumer_cursor{consumer=\"publisher\"} $SEQ" <<<"$BODY"; }
check "after the restart the publisher is shown at $SEQ again" wait_for 10 _shown_again

souk_stop_web
check "souk-fcgi exits 0 on SIGTERM" souk_stop_fcgi
check "soukd stops" souk_stop_soukd
check "no sanitizer reports in the logs" souk_no_sanitizer_reports
[ "$fails" -eq 0 ]
