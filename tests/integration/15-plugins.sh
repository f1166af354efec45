#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/15-plugins.sh - plug-ins at start-up: soukd and souk-fcgi
# refuse to start with a plug-in built for another ABI major (clear message,
# non-zero exit), start with a good one, and `soukctl plugins` lists it
# beside the built-ins.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
souk_setup it15
PD=$T/plugins
mkdir -p "$PD" && chmod 0755 "$PD"
cp "$B/plugins/good.so" "$B/plugins/bad_major.so" "$PD/"
BASE=$T/base.yaml
cp "$CONF" "$BASE"
with_plugins() { # plugins.load value, plugins.dir
	cp "$BASE" "$CONF"
	printf 'plugins:\n  dir: %s\n  load: "%s"\n' "${2:-$PD}" "$1" >>"$CONF"
}

# ---- wrong ABI major: refused --------------------------------------------------
with_plugins "good, bad_major"
timeout 30 "$SOUKD" -c "$CONF" >"$T/major.log" 2>&1; rc=$?
check "soukd refuses to start with a plug-in of another ABI major (exit $rc)" \
	[ "$rc" -ne 0 -a "$rc" -ne 124 ]
check "the refusal names the plug-in, its file and the ABI mismatch" \
	grep -q "plug-in 'bad_major' ($PD/bad_major.so): ABI major 2 != host 1" "$T/major.log"
check "soukd left no control socket behind" [ ! -e "$T/run/control.sock" ]
timeout 30 "$FCGI" -c "$CONF" >"$T/fcgi-major.log" 2>&1 </dev/null; rc=$?
check "souk-fcgi refuses to start with it too (exit $rc)" [ "$rc" -ne 0 -a "$rc" -ne 124 ]
check "souk-fcgi says why" grep -q "ABI major 2 != host 1" "$T/fcgi-major.log"

# ---- a missing plug-in and a world-writable directory: refused -----------------
with_plugins "absent"
timeout 30 "$SOUKD" -c "$CONF" >"$T/absent.log" 2>&1; rc=$?
check "soukd refuses a plug-in that is not there" \
	[ "$rc" -ne 0 -a "$rc" -ne 124 ] && grep -q "($PD/absent.so): not found" "$T/absent.log"
WW=$T/ww
mkdir -p "$WW" && cp "$B/plugins/good.so" "$WW/" && chmod 0777 "$WW"
with_plugins "good" "$WW"
timeout 30 "$SOUKD" -c "$CONF" >"$T/ww.log" 2>&1; rc=$?
check "soukd refuses a world-writable plug-in directory" \
	[ "$rc" -ne 0 -a "$rc" -ne 124 ] && grep -q "'$WW' (plugins.dir): world-writable" "$T/ww.log"
with_plugins "../good"
out=$("$SOUKD" --check-config -c "$CONF" 2>&1); rc=$?
check "--check-config refuses a plug-in name with '/' or '..'" \
	[ "$rc" -ne 0 ] && grep -q "item 'plugins.load'" <<<"$out"

# ---- the good one: soukd starts and lists it -----------------------------------
with_plugins "good"
souk_start_soukd || nok "soukd starts with the good plug-in ($(tail -3 "$T/soukd.log"))"
check "soukd is running with the good plug-in" soukd_alive
out=$("$SOUKCTL" -c "$CONF" plugins 2>&1); rc=$?
printf '%s\n' "$out" | note
check "soukctl plugins exits 0" [ "$rc" -eq 0 ]
check "soukctl plugins lists the good plug-in with kind, version, ABI and file" \
	grep -Eq "^good +notification +1\.2\.3 +1\.0 +$PD/good\.so$" <<<"$out"
check "soukctl plugins lists the built-in manual payment provider" \
	grep -Eq "^manual +payment +[0-9.]+ +1\.0 +built-in$" <<<"$out"
check "soukctl plugins lists the built-in spool notification provider" \
	grep -Eq "^spool +notification +[0-9.]+ +1\.0 +built-in$" <<<"$out"
js=$("$SOUKCTL" -c "$CONF" --json plugins 2>&1)
check "soukctl --json plugins gives the host ABI and three plug-ins" \
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["abi"]=="1.0"; assert [p["name"] for p in d["plugins"]]==["manual","spool","good"]' "$js"
souk_start_fcgi || nok "souk-fcgi starts with the good plug-in ($(tail -3 "$T/fcgi.log"))"
check "souk-fcgi is running with the good plug-in" pid_alive "$FCGI_PID"
souk_stop_fcgi
souk_stop_soukd; rc=$?
check "soukd stops cleanly (exit $rc)" [ "$rc" -eq 0 ]
out=$("$SOUKCTL" -c "$CONF" plugins 2>&1); rc=$?
check "soukctl plugins fails clearly when soukd is not running" \
	[ "$rc" -eq 1 ] && grep -q "soukd is not running" <<<"$out"

[ "$fails" -eq 0 ]
