#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/41-settings.sh - worker settings travel in the image:
# real soukd, souk-fcgi and nginx on 127.0.0.1, curl.
#   - after `soukctl reload` with a lower fcgi.max_json_depth the running
#     workers refuse a body they accepted a moment ago, without a restart;
#   - that image carried the settings section alone: the catalog provider
#     was not built again (soukctl status: its builds did not move), and a
#     product change afterwards does not build the settings again.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
souk_setup it41
JSON=(-H 'Content-Type: application/json')
DEEP='{"a":{"b":{"c":{"d":{"e":{}}}}}}' # nesting 6

check "soukd starts" souk_start_soukd
check "souk-fcgi starts" souk_start_fcgi
check "nginx starts on 127.0.0.1" souk_start_nginx

admin POST /api/v1/products "${JSON[@]}" \
	-d '{"sku":"S1","seller":"s1","category":"c","title":{"en":"One"},"price":{"GBP":1}}'
check "a product is created" [ "$STATUS" = 201 ]
pid=$(json id)
ver=$(json version)
admin POST /api/v1/products "${JSON[@]}" -d "$DEEP"
check "with the start-up depth (32) a 6-deep body is parsed and refused for its fields (422)" \
	[ "$STATUS" = 422 ]

st() { "$SOUKCTL" -c "$CONF" --json status >"$T/status" 2>"$T/status.err"; }
prov() { # name field: a figure of a section provider in soukctl status
	local i n
	for i in 0 1 2 3; do
		n=$("$B/tools/fcgi_json" "soukd.publisher.providers.$i.name" <"$T/status" 2>/dev/null)
		[ "$n" = "$1" ] && { "$B/tools/fcgi_json" "soukd.publisher.providers.$i.$2" <"$T/status"; return; }
	done
	echo none
}
wait_for 10 st
cat_builds=$(prov catalog builds)
set_builds=$(prov settings builds)
check "soukctl status lists the catalog and settings providers" \
	[ "$cat_builds" != none -a "$set_builds" != none ]

# ---- reload a lower depth -------------------------------------------------------
sed -i 's/^  threads: 8$/  threads: 8\n  max_json_depth: 4/' "$CONF"
check "the config names the new depth" grep -q "max_json_depth: 4" "$CONF"
"$SOUKCTL" -c "$CONF" reload >"$T/reload.out" 2>&1
check "soukctl reload succeeds" grep -q "result: ok" "$T/reload.out" || sed 's/^/# /' "$T/reload.out"
_deep_refused() {
	admin POST /api/v1/products "${JSON[@]}" -d "$DEEP"
	[ "$STATUS" = 400 ]
}
check "the running workers refuse the same body now (400), without a restart" wait_for 10 _deep_refused
check "...as malformed, naming the nesting" grep -qi "nest\|depth" <<<"$BODY"
st
check "that image built the settings again" [ "$(prov settings builds)" -gt "$set_builds" ]
check "...and not the catalog" [ "$(prov catalog builds)" = "$cat_builds" ]

# ---- a product change does not build the settings ------------------------------
set_builds=$(prov settings builds)
admin PATCH "/api/v1/products/$pid" "${JSON[@]}" -H "If-Match: \"$ver\"" -d '{"title":{"en":"Two"}}'
check "a product change is accepted" [ "$STATUS" = 200 ]
seq=$(header Souk-Seq)
api GET "/api/v1/products/$pid" -H "Souk-Min-Seq: $seq"
check "...and served" [ "$STATUS" = 200 -a "$(json title)" = Two ]
st
check "the product change did not build the settings" [ "$(prov settings builds)" = "$set_builds" ]
_deep_refused
check "...and the workers keep the reloaded depth" [ "$STATUS" = 400 ]

check "souk-fcgi exits 0 on SIGTERM" souk_stop_fcgi
souk_stop_web
check "soukd stops cleanly" souk_stop_soukd
check "no sanitizer reports in the logs" souk_no_sanitizer_reports
[ "$fails" -eq 0 ]
