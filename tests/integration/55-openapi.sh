#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/55-openapi.sh - docs/openapi.yaml against the running
# server (real soukd, souk-fcgi and nginx on 127.0.0.1): for every documented
# path and method, the methods routed, whether the bearer is demanded (401
# without it), and the status codes of representative requests (no token, a
# wrong token, the token without body or If-Match, an unknown id) are those
# the document gives. The checker is tests/tools/openapi_check.py.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
souk_setup it55

check "soukd starts" souk_start_soukd
check "souk-fcgi starts" souk_start_fcgi
check "nginx starts on 127.0.0.1" souk_start_nginx

JSON=(-H 'Content-Type: application/json')
admin POST /api/v1/products "${JSON[@]}" \
	-d '{"sku":"OA-READ","seller":"s1","category":"oa","title":{"en":"Read"},"price":{"GBP":100}}'
check "a product to read is created" [ "$STATUS" = 201 ]
id=$(json id)
admin PATCH "/api/v1/products/$id" "${JSON[@]}" -H "If-Match: \"$(json version)\"" \
	-d '{"title":{"en":"Read again"}}'
admin POST /api/v1/products "${JSON[@]}" \
	-d '{"sku":"OA-SCRATCH","seller":"s1","category":"oa","title":{"en":"Scratch"},"price":{"GBP":100}}'
check "a product the checker may change or delete is created" [ "$STATUS" = 201 ]
scratch=$(json id)
_visible() { api GET /api/v1/products/by-sku/OA-SCRATCH; [ "$STATUS" = 200 ]; }
check "both are published" wait_for 30 _visible

admin POST /api/v1/counters/oa-stock/add "${JSON[@]}" -d '{"delta":5,"floor":0}'
check "a counter to read is created" [ "$STATUS" = 200 ]

python3 tests/tools/openapi_check.py --spec docs/openapi.yaml \
	--base "http://127.0.0.1:$WEB_PORT" --token-file "$SECRET_FILE" \
	--param "id=$id" --param sku=OA-READ --scratch "id=$scratch" --scratch sku=OA-SCRATCH \
	--param name=oa-stock --scratch name=oa-scratch \
	--problems common/problem.h >"$T/openapi.out" 2>&1
rc=$?
cat "$T/openapi.out"
check "the checker ran to the end" [ "$rc" -le 1 ] && grep -q '^ok - openapi: ' "$T/openapi.out"
fails=$((fails + $(grep -c '^not ok - ' "$T/openapi.out")))

check "souk-fcgi exits 0 on SIGTERM" souk_stop_fcgi
souk_stop_web
check "no sanitizer reports in the logs" souk_no_sanitizer_reports
[ "$fails" -eq 0 ]
