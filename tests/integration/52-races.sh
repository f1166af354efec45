#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/52-races.sh - write races with real parallel clients:
# two souk-fcgi processes on two sockets behind one store, one nginx
# upstream with both (round robin, so both processes take part), and many
# background curl processes at once. What must hold however the requests
# interleave (serialized or not):
#   - N PATCHes with If-Match of one version: exactly one 200, the rest 412,
#     one new version, and the product is the winner's body;
#   - M POSTs with one Idempotency-Key and body: one product, one change,
#     every answer the first one (201, replays say Idempotent-Replayed);
#     the key with another body is 422;
#   - 64 concurrent decrements of one counter (units of work in the group
#     commit): all 200, none 412, and the final value is exact;
#   - 50 concurrent claims (delta -1, floor 0) of a counter with one unit
#     left: exactly one 200 and 49 counter-limit problems (409);
#   - 24 concurrent creates of variants with one combination of option
#     values for one product: exactly one 201 and 23 conflict problems.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
souk_setup it52
N=32 # parallel PATCHes
M=16 # parallel POSTs
FCGI2_SOCK=$T/run/fcgi2.sock
JSON=(-H 'Content-Type: application/json')

# nginx as lib.sh configures it, with the second socket in the upstream and
# the socket that answered in X-Souk-Upstream
_run_nginx2() { # port
	souk_nginx_conf "$1" | sed \
		-e "s|^\t\tserver unix:$FCGI_SOCK;|&\n\t\tserver unix:$FCGI2_SOCK;|" \
		-e "s|^\t\t\tfastcgi_pass souk_fcgi;|&\n\t\t\tadd_header X-Souk-Upstream \$upstream_addr always;|" \
		>"$T/web/nginx.conf"
	nginx -p "$T/web" -e "$T/web/error.log" -c "$T/web/nginx.conf" -g 'daemon off;' \
		2>>"$T/web/nginx.log" &
}
_start_fcgi2() {
	"$FCGI" -c "$CONF" --listen "unix:$FCGI2_SOCK" 2>>"$T/fcgi2.log" &
	SOUK_PIDS="$SOUK_PIDS $!"
	FCGI2_PID=$!
	wait_for 30 test -S "$FCGI2_SOCK"
}

# fire DIR N METHOD PATH BODY-TEMPLATE [curl args...]: N curl processes at
# once as admin, request i with BODY-TEMPLATE's "@I@" replaced by i; each
# bounded by -m 20. Leaves DIR/i.code, DIR/i.hdr, DIR/i.body.
fire() {
	local dir="$1" n="$2" m="$3" p="$4" tpl="$5" i
	local pids=()
	shift 5
	mkdir -p "$dir"
	for i in $(seq 1 "$n"); do
		curl -sS -m 20 -X "$m" -H "Authorization: Bearer $SECRET" "${JSON[@]}" "$@" \
			-d "${tpl//@I@/$i}" -D "$dir/$i.hdr" -o "$dir/$i.body" -w '%{http_code}' \
			"http://127.0.0.1:$WEB_PORT$p" >"$dir/$i.code" 2>>"$T/curl.err" &
		pids+=($!)
	done
	wait "${pids[@]}"
}
codes() { # "31x412 1x200"
	local f
	for f in "$1"/*.code; do cat "$f"; echo; done | sort | uniq -c | awk '{ printf "%s%sx%s", (NR > 1 ? " " : ""), $1, $2 }'
}
count_code() { grep -lx "$2" "$1"/*.code 2>/dev/null | wc -l; }
hdr() { grep -i "^$2:" "$1" | head -n1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'; } # file name
# both worker processes answered some of the requests in DIR
both_workers() {
	cat "$1"/*.hdr | grep -qiF "X-Souk-Upstream: unix:$FCGI_SOCK" &&
		cat "$1"/*.hdr | grep -qiF "X-Souk-Upstream: unix:$FCGI2_SOCK"
}

check "soukd starts" souk_start_soukd
check "souk-fcgi starts on the first socket" souk_start_fcgi
check "a second souk-fcgi starts on another socket, same store" _start_fcgi2
check "nginx starts on 127.0.0.1 with both sockets in one upstream" _souk_start_web _run_nginx2

# ---- 1. concurrent If-Match ----------------------------------------------------
admin POST /api/v1/products "${JSON[@]}" \
	-d '{"sku":"RACE-1","seller":"s1","category":"race","title":{"en":"Start"},"price":{"GBP":100}}'
id=$(json id); seq0=$(header Souk-Seq)
check "a product to race on is created (version 1)" [ "$STATUS" = 201 -a "$(json version)" = 1 ]

fire "$T/patch" "$N" PATCH "/api/v1/products/$id" \
	'{"title":{"en":"Race @I@"},"price":{"GBP":@I@000}}' -H 'If-Match: "1"'
echo "# PATCH answers (count code): $(codes "$T/patch")"
won=$(count_code "$T/patch" 200); lost=$(count_code "$T/patch" 412)
check "$N parallel PATCHes with If-Match \"1\": exactly one 200, the other $((N - 1)) 412 (won $won, lost $lost)" \
	[ "$won" = 1 -a "$lost" = $((N - 1)) ]
check "...answered by both worker processes" both_workers "$T/patch"
# every answer in DIR with status CODE is a problem of type SLUG
_problems_are() { # dir code slug
	local f
	for f in "$1"/*.code; do
		[ "$(cat "$f")" = "$2" ] || continue
		[ "$("$B/tools/fcgi_json" type <"${f%.code}.body")" = "https://souk.dev/problems/$3" ] ||
			return 1
	done
}
check "...each 412 is a precondition-failed problem" _problems_are "$T/patch" 412 precondition-failed
w=$(grep -lx 200 "$T"/patch/*.code | head -n1); w=${w##*/}; w=${w%.code}
wseq=$(hdr "$T/patch/$w.hdr" Souk-Seq)
check "...the winner's answer is version 2 (ETag \"2\") with its own body, one change later" \
	[ "$("$B/tools/fcgi_json" version <"$T/patch/$w.body")" = 2 \
	-a "$(hdr "$T/patch/$w.hdr" ETag)" = '"2"' \
	-a "$("$B/tools/fcgi_json" price.GBP <"$T/patch/$w.body")" = "${w}000" \
	-a "$wseq" = $((seq0 + 1)) ]
api GET "/api/v1/products/$id" -H "Souk-Min-Seq: $wseq"
check "the product is version 2 and equals the winner's body (title Race $w, price ${w}000)" \
	[ "$STATUS" = 200 -a "$(json version)" = 2 -a "$(header ETag)" = '"2"' \
	-a "$(json title)" = "Race $w" -a "$(json price.GBP)" = "${w}000" ]
admin GET "/api/v1/products/$id/history"
check "its history has exactly two versions, the newest the winner's" \
	[ "$STATUS" = 200 -a "$(json 'items#')" = 2 -a "$(json items.0.price.GBP)" = "${w}000" ]

# ---- 2. concurrent Idempotency-Key across both workers --------------------------
key="race-key-$$"
body='{"sku":"RACE-IDEM","seller":"s1","category":"race","title":{"en":"Once"},"price":{"GBP":7}}'
fire "$T/post" "$M" POST /api/v1/products "$body" -H "Idempotency-Key: $key"
echo "# POST answers (count code): $(codes "$T/post")"
check "$M parallel POSTs with one Idempotency-Key: all 201 (no 409, no 5xx)" \
	[ "$(count_code "$T/post" 201)" = "$M" ]
check "...answered by both worker processes" both_workers "$T/post"
ids=$(for f in "$T"/post/*.body; do "$B/tools/fcgi_json" id <"$f"; done | sort -u)
check "...all name one product ($(wc -l <<<"$ids") distinct ids)" \
	[ "$(wc -l <<<"$ids")" = 1 -a -n "$ids" ]
replayed=$(for f in "$T"/post/*.hdr; do hdr "$f" Idempotent-Replayed; done | grep -cx true)
check "...exactly one created it, the other $((M - 1)) say Idempotent-Replayed: true ($replayed)" \
	[ "$replayed" = $((M - 1)) ]
check "...every answer is the first one (same body byte for byte)" \
	[ "$(cat "$T"/post/*.body | sort -u | wc -l)" = 1 ]
pseqs=$(for f in "$T"/post/*.hdr; do hdr "$f" Souk-Seq; done | sort -u)
check "...every answer carries the one change's Souk-Seq ($((wseq + 1)))" [ "$pseqs" = $((wseq + 1)) ]
api GET "/api/v1/products?category=race" -H "Souk-Min-Seq: $pseqs"
check "the category lists exactly two products (RACE-1 and one RACE-IDEM)" \
	[ "$STATUS" = 200 -a "$(json 'items#')" = 2 ]
api GET /api/v1/products/by-sku/RACE-IDEM
check "by-sku finds the one product" [ "$STATUS" = 200 -a "$(json id)" = "$ids" ]

admin POST /api/v1/products "${JSON[@]}" -H "Idempotency-Key: $key" \
	-d '{"sku":"RACE-OTHER","seller":"s1","category":"race","title":{"en":"Other"},"price":{"GBP":8}}'
check "the same key with another body is 422 idempotency-key-reused naming the header" \
	[ "$STATUS" = 422 -a "$(json type)" = https://souk.dev/problems/idempotency-key-reused \
	-a "$(json errors.0.field)" = Idempotency-Key ]
api GET /api/v1/products/by-sku/RACE-OTHER
check "...and creates nothing" [ "$STATUS" = 404 ]
admin PATCH "/api/v1/products/$id" "${JSON[@]}" -H 'If-Match: "2"' -d '{"stock":1}'
check "the next write is the next change: the race and the 422 added exactly one ($(header Souk-Seq))" \
	[ "$STATUS" = 200 -a "$(header Souk-Seq)" = $((wseq + 2)) ]

# ---- 3. counters: concurrent decrements and claims -------------------------------
D=64 # parallel decrements
C=50 # parallel claims of the last unit
admin POST /api/v1/counters/race-stock/add "${JSON[@]}" -d "{\"delta\":$D,\"floor\":0}"
check "a counter with $D units is set up" [ "$STATUS" = 200 -a "$(json value)" = "$D" ]
fire "$T/dec" "$D" POST /api/v1/counters/race-stock/add '{"delta":-1,"floor":0}'
echo "# decrement answers (count code): $(codes "$T/dec")"
check "$D parallel decrements of one counter: all 200 (none 412)" \
	[ "$(count_code "$T/dec" 200)" = "$D" ]
check "...answered by both worker processes" both_workers "$T/dec"
vals=$(for f in "$T"/dec/*.body; do "$B/tools/fcgi_json" value <"$f"; done | sort -n | uniq)
check "...each saw its own value: 0..$((D - 1)) once each" \
	[ "$(wc -l <<<"$vals")" = "$D" -a "$(head -n1 <<<"$vals")" = 0 \
	-a "$(tail -n1 <<<"$vals")" = $((D - 1)) ]
admin GET /api/v1/counters/race-stock
check "...the counter is exactly 0" [ "$STATUS" = 200 -a "$(json value)" = 0 ]

admin POST /api/v1/counters/race-last/add "${JSON[@]}" -d '{"delta":1,"floor":0}'
check "a counter with one unit left is set up" [ "$STATUS" = 200 -a "$(json value)" = 1 ]
fire "$T/claim" "$C" POST /api/v1/counters/race-last/add '{"delta":-1,"floor":0}'
echo "# claim answers (count code): $(codes "$T/claim")"
check "$C parallel claims of the last unit: exactly one 200, $((C - 1)) 409" \
	[ "$(count_code "$T/claim" 200)" = 1 -a "$(count_code "$T/claim" 409)" = $((C - 1)) ]
check "...answered by both worker processes" both_workers "$T/claim"
check "...each refusal is a counter-limit problem" _problems_are "$T/claim" 409 counter-limit
admin GET /api/v1/counters/race-last
check "...the counter is 0, not below" [ "$STATUS" = 200 -a "$(json value)" = 0 ]

# variants: one combination of option values per product, however many
# clients create it at once (each with its own SKU, the members in either order)
V=24
admin POST /api/v1/products "${JSON[@]}" -d '{"sku":"RACE-TEE","seller":"house","category":"race","title":{"en":"Tee"},"price":{"GBP":1000}}'
tee_id=$(json id)
check "a product for variants is created" [ "$STATUS" = 201 -a -n "$tee_id" ]
fire "$T/var" "$V" POST /api/v1/variants \
	"{\"product\":\"$tee_id\",\"sku\":\"RACE-TEE-@I@\",\"options\":{\"colour\":\"red\",\"size\":\"M\"}}"
echo "# variant answers (count code): $(codes "$T/var")"
check "$V parallel creates of one combination: exactly one 201, $((V - 1)) 409" \
	[ "$(count_code "$T/var" 201)" = 1 -a "$(count_code "$T/var" 409)" = $((V - 1)) ]
check "...answered by both worker processes" both_workers "$T/var"
check "...each refusal is a conflict problem" _problems_are "$T/var" 409 conflict

check "souk-fcgi (first) exits 0 on SIGTERM" souk_stop_fcgi
kill -TERM "$FCGI2_PID"
check "souk-fcgi (second) exits on SIGTERM" wait_for 30 pid_gone "$FCGI2_PID"
souk_stop_web
check "soukd stops cleanly" souk_stop_soukd
check "no sanitizer reports in the logs" souk_no_sanitizer_reports
[ "$fails" -eq 0 ]
