#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 31-store-panic.sh - a dead LMDB environment is noticed. The fail_meta shim
# fails the meta-page write of one commit in the real souk-fcgi (behind
# nginx, soukd running); LMDB answers MDB_PANIC from then on. That write and
# the next are answered 503 (the write may have been stored: retry with the
# same Idempotency-Key), /healthz is 503 with store.ok false, and the worker
# exits non-zero so that its service manager restarts it. A restarted
# worker serves again and the retried write is stored once.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
if ! command -v nginx >/dev/null; then
	skip "nginx not installed"
	exit 0
fi
souk_setup it31
JSON=(-H 'Content-Type: application/json')
ARM=$T/arm   # exists: the next meta-page write fails
HOLD=$T/hold # exists: the worker's once-a-second tick waits
prod() { echo "{\"sku\":\"$1\",\"seller\":\"s1\",\"category\":\"c\",\"title\":{\"en\":\"$1\"},\"price\":{\"GBP\":100}}"; }

check "soukd starts" souk_start_soukd
rm -f "$FCGI_SOCK"
ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" LD_PRELOAD="$B/shims/fail_meta.so" \
	SOUK_FAIL_META_ARM=$ARM SOUK_HOLD_TICK=$HOLD "$FCGI" -c "$CONF" 2>>"$T/fcgi.log" &
FCGI_PID=$!
check "souk-fcgi starts with the shim" wait_for 30 test -S "$FCGI_SOCK"
check "nginx starts" souk_start_nginx
_healthy() { api GET /healthz; [ "$STATUS" = 200 ]; }
check "/healthz is 200 before the failure" wait_for 20 _healthy
check "...with store.ok true" [ "$(json store.ok)" = true ]
admin POST /api/v1/products "${JSON[@]}" -d "$(prod PANIC-0)"
id0=$(json id)
check "a write before the failure is stored (201)" [ "$STATUS" = 201 -a -n "$id0" ]

# hold the worker's tick so that it cannot exit before the requests below
: >"$HOLD"
check "the worker's tick is held" wait_for 10 test -e "$HOLD.held"
: >"$ARM"
admin POST /api/v1/products "${JSON[@]}" -H "Idempotency-Key: panic-1" -d "$(prod PANIC-1)"
check "the write whose meta-page write fails is answered 503" \
	[ "$STATUS" = 503 -a "$(json type)" = https://souk.dev/problems/service-unavailable -a ! -e "$ARM" ]
check "...saying it may have been stored and to retry with the same Idempotency-Key" \
	grep -q "may not have been stored; retry with the same Idempotency-Key" <<<"$BODY"
admin POST /api/v1/products "${JSON[@]}" -d "$(prod PANIC-2)"
check "the next write is answered 503" [ "$STATUS" = 503 -a -n "$(header Retry-After)" ]
admin PATCH "/api/v1/products/$id0" -H 'Content-Type: application/merge-patch+json' -H 'If-Match: "1"' -d '{"stock":1}'
check "an update (which reads the store first) is answered 503 too" [ "$STATUS" = 503 ]
api GET /healthz
check "/healthz is 503 with store.ok false" \
	[ "$STATUS" = 503 -a "$(json store.ok)" = false -a "$(json status)" = unavailable ]

rm -f "$HOLD"
check "the worker exits once its tick runs" wait_for 20 pid_gone "$FCGI_PID"
wait "$FCGI_PID" 2>/dev/null
rc=$?
FCGI_PID=""
check "...with a non-zero status ($rc)" [ "$rc" -ne 0 ]
check "...saying why" grep -q "store unusable (storage environment had a fatal error" "$T/fcgi.log"

# what systemd does: start it again (the disk is fine now)
check "a restarted worker starts" souk_start_fcgi
check "/healthz is 200 again" wait_for 20 _healthy
admin POST /api/v1/products "${JSON[@]}" -H "Idempotency-Key: panic-1" -d "$(prod PANIC-1)"
check "the retried write with the same Idempotency-Key succeeds (201)" [ "$STATUS" = 201 ]
seq=$(header Souk-Seq)
api GET /api/v1/products/by-sku/PANIC-1 -H "Souk-Min-Seq: $seq"
check "...and the product exists once" [ "$STATUS" = 200 ]
check "the audit log verifies" bash -c "'$SOUKCTL' --data '$T/state' audit verify >/dev/null"
check "no sanitizer reports" souk_no_sanitizer_reports

exit $((fails > 0))
