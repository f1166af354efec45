#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/35-soukctl-ops.sh - soukctl as the operators' tool against
# a real soukd: -c config, status (running, stopped, stale socket), reload
# (good and broken files), check-config (same output as soukd), publish,
# stats, --json, and the offline commands with soukd stopped.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
RAW=$B/tools/soukd_ctl
WRITER=$B/tools/store_crash_writer
souk_tmpdir it35
INST=it35-$$

# run soukctl: stdout in $T/out, stderr in $T/err, exit status in $rc
sc() { "$SOUKCTL" "$@" >"$T/out" 2>"$T/err"; rc=$?; }
has() { grep -qxF -- "$1" "$T/out"; }     # stdout has exactly this line
err_has() { grep -qF -- "$1" "$T/err"; } # stderr contains this text
show() { echo "# exit $rc"; sed 's/^/# out: /' "$T/out" | head -40; sed 's/^/# err: /' "$T/err" | head -20; }

CONF=$T/souk.yaml
write_config() { # log-level [extra yaml]
	souk_config_head "$1" >"$CONF"
	cat >>"$CONF" <<-YAML
	audit:
	  signing_key_file: $T/audit.key
	YAML
	[ -n "${2:-}" ] && printf '%s\n' "$2" >>"$CONF"
	return 0
}

# a store with 20 writer batches and an audit key, before soukd starts
"$WRITER" "$T/state" a 1 20 >/dev/null 2>&1 || not_ok "seed the store"
SEQ=$("$SOUKCTL" --data "$T/state" info | sed -n 's/^last_seq: //p')
check "info prints key: value lines (last_seq)" [ -n "$SEQ" ] && [ "$SEQ" -ge 20 ]
sc audit keygen "$T/audit.key"
check "audit keygen needs no configuration" [ "$rc" -eq 0 ]
write_config info

# ---- soukd not started yet --------------------------------------------------
sc -c "$CONF" status
check "status before soukd starts exits 1" [ "$rc" -eq 1 ]
check "status says soukd is not running" \
	bash -c "grep -qx 'soukd.running: false' '$T/out' && grep -q 'soukd is not running' '$T/err'"
check "status without soukd still shows the store" has "store.last_seq: $SEQ"

# ---- running ----------------------------------------------------------------
"$SOUKD" -c "$CONF" 2>"$T/soukd.log" &
SOUKD_PID=$!
wait_for 20 test -S "$T/run/control.sock" || not_ok "soukd did not start"
wait_for 10 "$RAW" "$T/run/control.sock" status >/dev/null 2>&1
sc -c "$CONF" status
check "status of a running soukd exits 0" [ "$rc" -eq 0 ] || show
check "status shows soukd running" has "soukd.running: true" && has "soukd.state: running"
check "status shows soukd's pid" has "soukd.pid: $SOUKD_PID"
check "status shows the config generation" has "soukd.config_generation: 1"
check "status shows the store's path" has "store.path: $T/state"
check "status shows the store's last sequence" has "store.last_seq: $SEQ"
check "status shows the store's readers" grep -q '^store.readers_used: [0-9]*$' "$T/out"
check "status reports shared memory" grep -q '^shm.attached: \(true\|false\)$' "$T/out"
if has "shm.attached: true"; then
	check "status shows the image generation" grep -q '^shm.generation: [0-9]*$' "$T/out"
	check "status shows the publish count" grep -q '^shm.publish_count: [0-9]*$' "$T/out"
fi
check "every line of plain output is 'key: value'" \
	bash -c "! grep -qv '^[a-z_][a-z0-9_.]*:\( \|$\)' '$T/out'"
SOUK_CONFIG=$CONF "$SOUKCTL" status >"$T/out" 2>"$T/err"; rc=$?
check "SOUK_CONFIG names the configuration" [ "$rc" -eq 0 ] && has "soukd.pid: $SOUKD_PID"

sc -c "$CONF" status --json
check "status --json exits 0" [ "$rc" -eq 0 ]
check "status --json prints one line" [ "$(wc -l <"$T/out")" -eq 1 ]
if command -v jq >/dev/null 2>&1; then
	check "status --json parses, with running and pid" \
		[ "$(jq -r '"\(.soukd.running) \(.soukd.pid) \(.store.last_seq) \(.ok)"' "$T/out")" = "true $SOUKD_PID $SEQ true" ]
else
	check "status --json carries running and pid" \
		bash -c "grep -q '\"running\": true' '$T/out' && grep -q '\"pid\": $SOUKD_PID' '$T/out'"
fi

# ---- reload ---------------------------------------------------------------------
write_config debug
sc -c "$CONF" reload
check "reload of a changed file exits 0" [ "$rc" -eq 0 ] || show
check "reload prints its result" has "result: ok"
check "reload prints the new generation" has "config_generation: 2"
sc -c "$CONF" status
check "the reloaded value is live (status)" has "soukd.log_level: debug"
write_config debug "fcgi:
  threads: 3"
sc -c "$CONF" reload
check "reload names a changed item that needs a restart" \
	[ "$rc" -eq 0 ] && has "restart_pending.0: fcgi.threads" && err_has "item 'fcgi.threads' changed, takes effect after a restart"

cp "$CONF" "$T/good.yaml"
write_config warning "fcgi:
  threads: 0"
sc -c "$CONF" reload
check "reload of a broken file exits 1" [ "$rc" -eq 1 ] || show
check "a refused reload keeps the generation" has "config_generation: 3"
check "a refused reload says so" has "result: refused"
check "a refused reload shows soukd's error with file, line and item" \
	err_has "config, file '$CONF', line 11, column 3, item 'fcgi.threads', value '0' (must be 1..1024)" || show
check "soukd is still running after a refused reload" soukd_alive
sc -c "$CONF" status
check "status works while the file on disk has errors" [ "$rc" -eq 0 ]
check "status warns that the file has errors" err_has "has errors"
check "the running configuration stays after a refused reload" has "soukd.log_level: debug"
check "status shows the refused reload" has "soukd.last_reload.result: failed"
check "status lists the errors of the refused reload" \
	grep -q "^soukd.last_reload.errors.0: file '$CONF', line 11" "$T/out"
sc -c "$CONF" --json reload
check "reload --json carries the errors" grep -q '"errors": \["file' "$T/out"

# ---- check-config ------------------------------------------------------------
for f in "$T/good.yaml" "$CONF" "$T/missing.yaml"; do
	"$SOUKD" --check-config -c "$f" >"$T/want.out" 2>"$T/want.err"; wrc=$?
	sc -c "$f" check-config
	check "check-config prints what soukd --check-config prints ($(basename "$f"))" \
		bash -c "[ $rc -eq $wrc ] && cmp -s '$T/out' '$T/want.out' && cmp -s '$T/err' '$T/want.err'"
done
sc -c "$T/good.yaml" check-config
check "check-config of a good file exits 0" [ "$rc" -eq 0 ]
sc -c "$CONF" check-config
check "check-config of a broken file exits 1" [ "$rc" -eq 1 ]
sc -c "$CONF" info
check "an offline command with a broken file exits 2" [ "$rc" -eq 2 ]
check "... and prints the errors as soukd does" \
	err_has "config, file '$CONF', line 11, column 3, item 'fcgi.threads'"
cp "$T/good.yaml" "$CONF"

# ---- publish and stats ----------------------------------------------------------
sc -c "$CONF" publish
if "$RAW" "$T/run/control.sock" help | grep -q '"publish"'; then
	check "publish asks soukd to publish" [ "$rc" -eq 0 ] && has "result: ok"
else
	check "publish on a soukd without a publisher exits 1" [ "$rc" -eq 1 ]
	check "publish says soukd does not support it" err_has "does not support 'publish'"
fi
sc -c "$CONF" stats
if [ -e "/dev/shm/$INST.ctl" ]; then
	check "stats reads the worker counters" [ "$rc" -eq 0 ] && grep -q '^workers_live: [0-9]*$' "$T/out"
else
	check "stats without shared memory exits 1 and says why" [ "$rc" -eq 1 ] && err_has "no worker counters"
fi

# ---- soukd stopped ----------------------------------------------------------------
souk_stop_soukd
sc -c "$CONF" status
check "status after soukd stopped exits 1" [ "$rc" -eq 1 ]
check "status after stop says soukd is not running" has "soukd.running: false"
check "status after stop gives the state" has "soukd.state: not running"
check "... clearly, on stderr" err_has "soukd is not running (no control socket at '$T/run/control.sock')"
check "status after stop still shows the store" has "store.last_seq: $SEQ"
check "status after stop still shows the shared-memory part" grep -q '^shm.attached: ' "$T/out"
sc -c "$CONF" reload
check "reload without soukd exits 1" [ "$rc" -eq 1 ] && err_has "soukd is not running"

"$SOUKD" -c "$CONF" 2>>"$T/soukd.log" &
SOUKD_PID=$!
wait_for 20 test -S "$T/run/control.sock"
wait_for 10 "$RAW" "$T/run/control.sock" status >/dev/null 2>&1
souk_kill_soukd
sc -c "$CONF" status
check "status after a crash (stale socket) exits 1" [ "$rc" -eq 1 ]
check "a stale socket is reported as soukd not running" \
	err_has "soukd is not running (nothing answers on the control socket"

# ---- offline commands with -c ------------------------------------------------------
sc -c "$CONF" backup "$T/bk"
check "offline backup with -c exits 0" [ "$rc" -eq 0 ] || show
sc --data "$T/bk" audit verify
check "the backup verifies" [ "$rc" -eq 0 ]
sc -c "$CONF" --data "$T/bk" info
check "--data overrides the configured state directory" has "path: $T/bk"
check "the backup holds every change" has "last_seq: $SEQ"
sc -c "$CONF" audit checkpoint --out "$T/cp"
check "audit checkpoint takes audit.signing_key_file from the config" [ "$rc" -eq 0 ] || show
"$WRITER" "$T/state" a 21 5 >/dev/null 2>&1
sc -c "$CONF" audit verify --checkpoint "$T/cp"
check "audit verify checks a checkpoint with the configured key" [ "$rc" -eq 0 ] || show
sc -c "$T/nothing.yaml" info
check "a -c file that does not exist exits 2" [ "$rc" -eq 2 ] && err_has "config, file '$T/nothing.yaml', cannot read"
sc -c
check "-c without a file is a usage error" [ "$rc" -eq 2 ]

[ "$fails" -eq 0 ]
