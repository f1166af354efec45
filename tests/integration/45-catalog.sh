#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/45-catalog.sh - the catalog's contract end to end (real
# soukd, souk-fcgi and nginx on 127.0.0.1): the one document limit, list
# cursors that stay exact while products move, and history that is staff-only.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
souk_setup it45

check "soukd starts" souk_start_soukd
check "souk-fcgi starts" souk_start_fcgi
check "nginx starts on 127.0.0.1" souk_start_nginx

JSON=(-H 'Content-Type: application/json')
# product SKU CATEGORY [STATUS]: create it, sets ID and SEQ
product() {
	admin POST /api/v1/products "${JSON[@]}" \
		-d "{\"sku\":\"$1\",\"status\":\"${3:-active}\",\"seller\":\"s1\",\"category\":\"$2\",\"title\":{\"en\":\"$1\"},\"price\":{\"GBP\":100}}"
	ID=$(json id); SEQ=$(header Souk-Seq)
	[ "$STATUS" = 201 ]
}

# ---- one document limit ---------------------------------------------------------
# PATCHes of 8 attributes of 32 x 1 KiB each (about 260 KB, under max_body)
# grow one product towards the 1 MiB document limit, then past it.
S1K=$(printf 'a%.0s' $(seq 1 1024))
attrs_patch() { # first-index
	local i k a="" el=""
	for k in $(seq 1 32); do el="$el${el:+,}\"$S1K\""; done
	for i in $(seq "$1" $(($1 + 7))); do a="$a${a:+,}\"a$i\":[$el]"; done
	printf '{"attributes":{%s}}' "$a" >"$T/patch.json"
}
check "a product to grow" product BIG-1 big
big=$ID
version=1
grown=true
for first in 0 8 16; do
	attrs_patch "$first"
	admin PATCH "/api/v1/products/$big" "${JSON[@]}" -H "If-Match: \"$version\"" \
		--data-binary "@$T/patch.json"
	[ "$STATUS" = 200 ] || grown=false
	version=$(json version); SEQ=$(header Souk-Seq)
done
check "three PATCHes grow it to about 790 KB (accepted)" [ "$grown" = true -a "$version" = 4 ]
attrs_patch 24
admin PATCH "/api/v1/products/$big" "${JSON[@]}" -H "If-Match: \"$version\"" \
	--data-binary "@$T/patch.json"
check "the PATCH past the limit is a 422 naming attributes" \
	[ "$STATUS" = 422 -a "$(json type)" = https://souk.dev/problems/validation \
	-a "$(json errors.0.field)" = attributes ]
check "...saying the limit" grep -qF 'at most 1048576' <<<"$BODY"
attrs_patch 32
admin PATCH "/api/v1/products/$big" "${JSON[@]}" -H "If-Match: \"$version\"" \
	--data-binary "@$T/patch.json"
check "so is the next one" [ "$STATUS" = 422 -a "$(json errors.0.field)" = attributes ]
api GET "/api/v1/products/$big" -H "Souk-Min-Seq: $SEQ"
check "the product stays readable at its last accepted version" \
	[ "$STATUS" = 200 -a "$(json version)" = 4 -a "$(json attributes.a23.31)" = "$S1K" ]
api GET /api/v1/products/by-sku/BIG-1
check "...by sku too" [ "$STATUS" = 200 -a "$(json version)" = 4 ]
api GET "/api/v1/products?category=big"
check "...and in lists" [ "$STATUS" = 200 -a "$(json items.0.id)" = "$big" ]
api GET /metrics
check "/metrics exports the publisher's render failures (none)" \
	grep -q '^souk_publish_render_failures_total 0$' <<<"$BODY"

# ---- stable cursors --------------------------------------------------------------
for i in 1 2 3 4 5; do product "MV-$i" mv; done
# ids PAGE...: the item ids of list pages, one a line
page_ids() { local i n; n=$(json 'items#'); for ((i = 0; i < n; i++)); do json "items.$i.id"; done; }
# move ID CATEGORY: PATCH it there (version 1), sets SEQ
move() {
	admin PATCH "/api/v1/products/$1" "${JSON[@]}" -H 'If-Match: "1"' -d "{\"category\":\"$2\"}"
	SEQ=$(header Souk-Seq)
	[ "$STATUS" = 200 ]
}
api GET "/api/v1/products?category=mv&limit=2" -H "Souk-Min-Seq: $SEQ"
page1=$(page_ids); next=$(json next_cursor)
check "?category=mv: page 1 of 2 with an opaque cursor" \
	[ "$(wc -l <<<"$page1")" = 2 -a "${#next}" = 110 ]
check "the last product of page 1 moves to a later category" move "$(tail -n1 <<<"$page1")" zz-later
api GET "/api/v1/products?category=mv&limit=2&cursor=$next" -H "Souk-Min-Seq: $SEQ"
page2=$(page_ids)
check "page 2 neither is empty nor repeats page 1" \
	[ "$STATUS" = 200 -a "$(wc -l <<<"$page2")" = 2 -a -z "$(grep -xF -f <(echo "$page1") <<<"$page2")" ]
api GET "/api/v1/products?category=mv&limit=2&cursor=$(json next_cursor)"
check "page 3 ends the category (5 - 1 moved away)" \
	[ "$(json 'items#')" = 1 -a "$(json next_cursor)" = null ]

# without a filter: every product once, the moved one also at its new place
api GET "/api/v1/products?limit=200"
all=$(page_ids)
api GET "/api/v1/products?limit=3"
first=$(page_ids); next=$(json next_cursor)
check "unfiltered: the last product of page 1 moves to a later category" \
	move "$(tail -n1 <<<"$first")" zz-last
walked=$first
for _ in $(seq 1 20); do
	api GET "/api/v1/products?limit=3&cursor=$next" -H "Souk-Min-Seq: $SEQ"
	[ "$STATUS" = 200 ] || break
	walked=$walked$'\n'$(page_ids)
	next=$(json next_cursor)
	[ "$next" != null ] || break
done
check "the walk lists every product, none skipped or repeated but the moved one" \
	[ "$(sort -u <<<"$walked")" = "$(sort <<<"$all")" \
	-a "$(sort <<<"$walked" | uniq -d)" = "$(tail -n1 <<<"$first")" ]
api GET "/api/v1/products?cursor=$(printf 'A%.0s' $(seq 1 110))"
check "a forged cursor is a 400 problem naming cursor" \
	[ "$STATUS" = 400 -a "$(json errors.0.field)" = cursor ]

# ---- history and drafts ------------------------------------------------------------
api GET "/api/v1/products/$big/history"
check "history without the admin token is 401" \
	[ "$STATUS" = 401 -a "$(json type)" = https://souk.dev/problems/unauthorized ]
admin GET "/api/v1/products/$big/history?limit=3"
check "history is newest first, by pages" \
	[ "$STATUS" = 200 -a "$(json 'items#')" = 3 -a "$(json items.0.version)" = 4 \
	-a "$(json items.2.version)" = 2 -a "$(json next_cursor)" != null ]
admin GET "/api/v1/products/$big/history?limit=3&cursor=$(json next_cursor)"
check "...and the cursor reaches the first version" \
	[ "$STATUS" = 200 -a "$(json 'items#')" = 1 -a "$(json items.0.version)" = 1 \
	-a "$(json next_cursor)" = null ]
check "a draft is created" product DRAFT-1 drafts draft
draft=$ID
api GET "/api/v1/products/$draft" -H "Souk-Min-Seq: $SEQ"
check "a draft is 404 to public reads by id" [ "$STATUS" = 404 ]
api GET /api/v1/products/by-sku/DRAFT-1
check "...by sku" [ "$STATUS" = 404 ]
api GET "/api/v1/products?category=drafts"
check "...and in lists" [ "$STATUS" = 200 -a "$(json 'items#')" = 0 ]
admin GET "/api/v1/products/$draft/history"
check "staff read it in its history" [ "$STATUS" = 200 -a "$(json items.0.status)" = draft ]
admin PATCH "/api/v1/products/$draft" "${JSON[@]}" -H 'If-Match: "1"' -d '{"status":"active"}'
api GET "/api/v1/products/$draft" -H "Souk-Min-Seq: $(header Souk-Seq)"
check "once published (sent as its former name, active) it is served" [ "$STATUS" = 200 -a "$(json status)" = published ]

souk_stop_web
check "souk-fcgi exits 0 on SIGTERM" souk_stop_fcgi
check "soukd stops" souk_stop_soukd
check "no sanitizer reports in the logs" souk_no_sanitizer_reports
[ "$fails" -eq 0 ]
