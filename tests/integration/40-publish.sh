#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/40-publish.sh - the catalog publisher in the real soukd:
# the demo catalog imported with soukctl, the full build at start, changes
# published from the change log while soukd runs, `publish` on the control
# socket, catch-up after a restart, export, and clean removal of the shared
# memory at stop.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
CTL=$B/tools/soukd_ctl
CAT=$B/tools/catalog_get
souk_tmpdir it40
INST=it40-$$

product_has() { "$CAT" "$INST" sku "$1" ${3:+"$3"} 2>/dev/null | grep -qF -- "$2"; }

SOCK=$T/run/control.sock
CONF=$T/souk.yaml
souk_config_head info >"$CONF"
cat >>"$CONF" <<EOC
store:
  map_size: 64M
publish:
  coalesce: 2ms
  poll_interval: 100ms
EOC

start_soukd() {
	"$SOUKD" -c "$CONF" 2>>"$T/soukd.log" &
	SOUKD_PID=$!
	wait_for 30 test -S "$SOCK"
}

# ---- the demo catalog, imported before soukd runs --------------------------------
out=$("$SOUKCTL" --data "$T/state" import data/demo/catalog.csv 2>&1); rc=$?
check "soukctl import creates the 3,938 demo products" \
	[ "$rc" -eq 0 -a "$out" = "import 'data/demo/catalog.csv': 3938 records, 3938 created, 0 updated, 0 unchanged, 0 skipped, 0 failed" ]
[ "$rc" -eq 0 ] || echo "$out" | head -5

check "soukd starts" start_soukd
check "the full build at start publishes every product" wait_for 30 status_is publisher.served 3938
info=$("$CAT" "$INST" info 2>&1)
check "the image holds 3938 products at change-log seq 3938" \
	bash -c "echo '$info' | grep -q 'seq 3938 count 3938'"
check "a product is served as rendered JSON" \
	product_has 10002 '"title":"INFLATABLE POLITICAL GLOBE"'
check "prices are integer minor units" product_has 10002 '"price":{"GBP":85}'
check "the rendered product names its locale" product_has 10002 '"locale":"en"' fr
check "publish.sock is a socket with mode 0660" \
	bash -c "test -S '$T/run/publish.sock' && [ \"\$(stat -c %a '$T/run/publish.sock')\" = 660 ]"
ids=$("$CAT" "$INST" list 2>/dev/null)
check "listing every page gives each product once" \
	[ "$(echo "$ids" | wc -l)" -eq 3938 -a "$(echo "$ids" | sort -u | wc -l)" -eq 3938 ]
nk=$("$CAT" "$INST" list kitchen 2>/dev/null | wc -l)
check "the category filter lists a part of the catalog ($nk kitchen products)" \
	[ "$nk" -gt 0 -a "$nk" -lt 3938 ]

gen0=$("$CTL" -g publisher.last_generation "$SOCK" status 2>/dev/null)
check "the first image is a full one (its own base)" status_is publisher.base_generation "$gen0"

# ---- changes while soukd runs -----------------------------------------------------
printf 'StockCode,Description,MedianUnitPriceGBP,Lines\n10002,INFLATABLE POLITICAL GLOBE,0.99,73\n' >"$T/change.csv"
out=$("$SOUKCTL" --data "$T/state" import "$T/change.csv" 2>&1)
check "re-importing one changed line updates one product" \
	bash -c "echo '$out' | grep -q '1 updated, 0 unchanged'"
check "the change is published without a restart" wait_for 20 product_has 10002 '"GBP":99'
check "the image's seq follows the change log" wait_for 20 status_is publisher.last_seq 3939

check "a change is published as a delta over the first image" \
	bash -c "'$CTL' -g publisher.base_generation '$SOCK' status | grep -qx '$gen0' && '$CTL' -g publisher.delta_products '$SOCK' status | grep -qx 1"
check "readers see the delta over its base" \
	bash -c "'$CAT' '$INST' info | grep -q 'seq 3939 count 3938 base $gen0\$'"
check "only the current image and its base are in /dev/shm" \
	[ "$(ls /dev/shm/"$INST".img.* 2>/dev/null | wc -l)" -eq 2 ]
gen=$("$CTL" -g publisher.last_generation "$SOCK" status 2>/dev/null)
check "control command 'publish' answers ok" bash -c "'$CTL' '$SOCK' publish >/dev/null"
check "'publish' makes a new image" status_is publisher.last_generation $((gen + 1))
check "status shows the publisher's figures" \
	bash -c "'$CTL' -g publisher.catalog_bytes '$SOCK' status | grep -qE '^[1-9][0-9]*$'"

# ---- restart: changes made while soukd is down are published at start -------------
souk_stop_soukd
check "a clean stop removes the instance's shared memory" \
	bash -c "! ls /dev/shm/'$INST'.* >/dev/null 2>&1"
printf 'StockCode,Description,MedianUnitPriceGBP,Lines,category\n10002,INFLATABLE POLITICAL GLOBE,1.05,73,toys\nNEW1,BRAND NEW TEAPOT,12.5,1,kitchen\n' >"$T/change2.csv"
"$SOUKCTL" --data "$T/state" import "$T/change2.csv" >/dev/null 2>&1
check "soukd starts again" start_soukd
check "changes made while soukd was down are in the first image" \
	wait_for 30 product_has 10002 '"GBP":105'
check "a product created while soukd was down is served" product_has NEW1 '"category":"kitchen"'
check "served count after restart" status_is publisher.served 3939

# ---- export ------------------------------------------------------------------------
"$SOUKCTL" --data "$T/state" export "$T/out.jsonl" >/dev/null 2>&1
check "export writes one JSON line per product" [ "$(wc -l <"$T/out.jsonl")" -eq 3939 ]
"$SOUKCTL" --data "$T/state" export --format csv "$T/out.csv" >/dev/null 2>&1
check "CSV export has a header and one line per product" [ "$(wc -l <"$T/out.csv")" -eq 3940 ]

# ---- other kinds through the same import ------------------------------------------
printf '%s\n' 'code,name,type,pickup,address.line1,address.city,address.country' \
	'W1,Leeds Depot,warehouse,yes,1 High St,Leeds,GB' 'W2,York Shop,store,no,2 Low Rd,York,GB' \
	'W3,,hut,no,3 Quay,Hull,GB' >"$T/wh.csv"
out=$("$SOUKCTL" --data "$T/state" import --kind warehouse "$T/wh.csv" 2>&1); rc=$?
check "soukctl import --kind warehouse creates two and names the bad line's fields" \
	bash -c "[ $rc -eq 1 ] && echo \"\$1\" | grep -q 'line 4, .name. .*.type.' &&
		echo \"\$1\" | grep -q ': 3 records, 2 created, 0 updated, 0 unchanged, 0 skipped, 1 failed'" _ "$out"
"$SOUKCTL" --data "$T/state" export --kind warehouse "$T/wh.jsonl" >/dev/null 2>&1
check "export --kind warehouse writes the warehouses only" \
	bash -c "[ \$(wc -l <'$T/wh.jsonl') -eq 2 ] && grep -q '\"city\":\"Leeds\"' '$T/wh.jsonl'"
out=$("$SOUKCTL" --data "$T/state" import --kind depot "$T/wh.csv" 2>&1); rc=$?
check "an unknown kind is refused with the list of kinds" \
	bash -c "[ $rc -eq 2 ] && echo \"\$1\" | grep -q \"unknown kind 'depot' (kinds: product, warehouse\"" _ "$out"

souk_stop_soukd
if grep -qiE "publisher, publish failed|AddressSanitizer|runtime error" "$T/soukd.log"; then
	not_ok "soukd log is free of publish failures and sanitizer reports"
	tail -20 "$T/soukd.log"
else
	ok "soukd log is free of publish failures and sanitizer reports"
fi
[ "$fails" -eq 0 ]
