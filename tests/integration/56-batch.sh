#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/56-batch.sh - POST /api/v1/batch is one unit of work,
# all or nothing: real soukd, souk-fcgi and nginx on 127.0.0.1, curl.
#   - three creates and a counter add commit together and answer each
#     result; a batch whose last operation is refused (counter floor)
#     leaves nothing of its first two (their skus are still free);
#   - across a loop of kill -9 of the worker while batches of three creates
#     are being sent, every batch is afterwards either wholly there or
#     wholly absent, never some of its three.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
souk_setup it56
JSON=(-H 'Content-Type: application/json')
ROUNDS=6     # kill -9 rounds
PER_ROUND=12 # batches sent per round (at most; the kill ends them)

doc() { printf '{"sku":"%s","seller":"s1","category":"b","title":{"en":"B"},"price":{"GBP":1}}' "$1"; }
create_op() { printf '{"op":"create","kind":"product","doc":%s}' "$(doc "$1")"; }
triple() { # prefix: a batch creating prefix-a, -b, -c
	printf '{"operations":[%s,%s,%s]}' "$(create_op "$1-a")" "$(create_op "$1-b")" "$(create_op "$1-c")"
}

check "soukd starts" souk_start_soukd
check "souk-fcgi starts" souk_start_fcgi
check "nginx starts on 127.0.0.1" souk_start_nginx

# ---- 1. all or nothing ----------------------------------------------------------
admin POST /api/v1/counters/batch-stock/add "${JSON[@]}" -d '{"delta":1,"floor":0}'
check "a counter with one unit is set up" [ "$STATUS" = 200 ]
admin POST /api/v1/batch "${JSON[@]}" -d "{\"operations\":[$(create_op B1-a),$(create_op B1-b),$(create_op B1-c),{\"op\":\"counter_add\",\"name\":\"batch-stock\",\"delta\":-1,\"floor\":0}]}"
check "three creates and a claim commit as one batch (200, four results)" \
	[ "$STATUS" = 200 -a "$(json 'results#')" = 4 -a "$(json results.0.op)" = create \
	-a "$(json results.3.value)" = 0 ]
seq=$(header Souk-Seq)
id=$(json results.2.id)
api GET "/api/v1/products/$id" -H "Souk-Min-Seq: $seq"
check "...the third entity is readable at the batch's Souk-Seq" [ "$STATUS" = 200 -a "$(json sku)" = B1-c ]

admin POST /api/v1/batch "${JSON[@]}" -d "{\"operations\":[$(create_op B2-a),$(create_op B2-b),{\"op\":\"counter_add\",\"name\":\"batch-stock\",\"delta\":-1,\"floor\":0}]}"
check "a batch whose claim finds nothing left is 409 counter-limit naming operation 2" \
	[ "$STATUS" = 409 -a "$(json type)" = https://souk.dev/problems/counter-limit ] &&
	grep -q "operation 2" <<<"$(json detail)"
admin POST /api/v1/batch "${JSON[@]}" -d "{\"operations\":[$(create_op B2-a),$(create_op B2-b)]}"
check "...and left nothing: its two skus are still free (the same creates commit now)" [ "$STATUS" = 200 ]
admin POST /api/v1/batch "${JSON[@]}" -d "{\"operations\":[$(create_op B3-a),$(create_op B1-a)]}"
check "a batch with a taken sku is 409 conflict" \
	[ "$STATUS" = 409 -a "$(json type)" = https://souk.dev/problems/conflict ]
admin POST /api/v1/batch "${JSON[@]}" -d "{\"operations\":[$(create_op B3-a)]}"
check "...and its first create did not happen" [ "$STATUS" = 200 ]
admin POST /api/v1/batch "${JSON[@]}" -d '{"operations":[{"op":"create","kind":"product","doc":{"sku":"B4"}}]}'
check "an invalid document is 422 naming the operation, before anything runs" \
	[ "$STATUS" = 422 -a "$(json type)" = https://souk.dev/problems/validation ]

# ---- 1b. any kind of the registry -------------------------------------------------
wh() { printf '{"op":"create","kind":"warehouse","doc":{"code":"%s","name":"W","address":{"line1":"1 Quay","city":"Leith","country":"GB"}}}' "$1"; }
admin POST /api/v1/batch "${JSON[@]}" -d "{\"operations\":[$(wh BW1),$(create_op BW-p)]}"
check "a warehouse and a product commit in one batch" \
	[ "$STATUS" = 200 -a "$(json 'results#')" = 2 ]
wid=$(json results.0.id)
seq=$(header Souk-Seq)
admin GET "/api/v1/warehouses/$wid"
check "...the warehouse is there with its code" [ "$STATUS" = 200 -a "$(json code)" = BW1 ]
admin POST /api/v1/batch "${JSON[@]}" -d "{\"operations\":[$(create_op BW-q),$(wh BW1)]}"
check "a batch reusing a warehouse code is 409 naming the warehouse's code" \
	[ "$STATUS" = 409 ] && grep -q "warehouse already uses this code" <<<"$(json detail)"
admin POST /api/v1/batch "${JSON[@]}" -d "{\"operations\":[$(create_op BW-q)]}"
check "...and its product create did not happen" [ "$STATUS" = 200 ]
admin POST /api/v1/batch "${JSON[@]}" -d '{"operations":[{"op":"create","kind":"nosuch","doc":{}}]}'
check "an unknown kind is 422 listing the kinds" \
	[ "$STATUS" = 422 ] && grep -q "warehouse" <<<"$(json errors.0.detail)"
admin POST /api/v1/batch "${JSON[@]}" -d '{"operations":[{"op":"create","kind":"warehouse","doc":{"code":"BW2"}}]}'
check "a warehouse missing fields is 422 naming them" \
	[ "$STATUS" = 422 ] && grep -q "name" <<<"$(json errors.0.detail)"

# ---- 2. kill -9 while batches are sent -------------------------------------------
_sender() { # round
	local i
	for i in $(seq 1 "$PER_ROUND"); do
		echo "K$1-$i" >>"$T/sent"
		curl -sS -m 5 -o /dev/null -X POST -H "Authorization: Bearer $SECRET" "${JSON[@]}" \
			-d "$(triple "K$1-$i")" "http://127.0.0.1:$WEB_PORT/api/v1/batch" 2>/dev/null
	done
}
: >"$T/sent"
for r in $(seq 1 "$ROUNDS"); do
	_sender "$r" &
	sp=$!
	sleep "0.$((RANDOM % 3 + 1))"
	kill -9 "$FCGI_PID" 2>/dev/null
	wait "$FCGI_PID" 2>/dev/null
	wait "$sp" 2>/dev/null
	souk_start_fcgi || { not_ok "souk-fcgi restarts after kill -9 (round $r)"; break; }
done
# a sku exists when creating it again alone is refused 409; 200 means it was
# absent (and now exists, which the next probe does not look at)
_exists() { admin POST /api/v1/batch "${JSON[@]}" -d "{\"operations\":[$(create_op "$1")]}"; echo "$STATUS"; }
whole=0 absent=0 torn=0
while read -r p; do
	s="$(_exists "$p-a") $(_exists "$p-b") $(_exists "$p-c")"
	case "$s" in
	"409 409 409") whole=$((whole + 1)) ;;
	"200 200 200") absent=$((absent + 1)) ;;
	*) torn=$((torn + 1)); echo "# torn batch $p: $s" ;;
	esac
done <"$T/sent"
echo "# after $ROUNDS kill -9 rounds: $whole batches whole, $absent absent, $torn torn"
check "every batch sent across the kill -9 loop is wholly there or wholly absent ($torn torn)" \
	[ "$torn" = 0 -a "$whole" -gt 0 ]

check "souk-fcgi exits 0 on SIGTERM" souk_stop_fcgi
souk_stop_web
check "soukd stops cleanly" souk_stop_soukd
check "no sanitizer reports in the logs" souk_no_sanitizer_reports
[ "$fails" -eq 0 ]
