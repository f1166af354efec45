#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/10-soukd.sh - the real soukd process: --check-config,
# start-up, control socket, SIGHUP reload (good and broken files), restart-only
# items, limits of the control socket, stale socket, SIGTERM.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
CTL=$B/tools/soukd_ctl
souk_tmpdir it10
INST=it10-$$

SOCK=$T/run/control.sock
CONF=$T/souk.yaml
write_config() { # log-level threads max_clients
	souk_config_head "$1" >"$CONF"
	cat >>"$CONF" <<EOF
fcgi:
  threads: $2
control:
  max_clients: $3
EOF
}

# ---- command line ------------------------------------------------------------
check "soukd --version names the version" \
	bash -c "'$SOUKD' --version | grep -qx 'soukd [0-9.]*'"
check "soukd --help lists --check-config" bash -c "'$SOUKD' --help | grep -q -- --check-config"

write_config info 8 4
out=$("$SOUKD" --check-config -c "$CONF" 2>&1); rc=$?
check "--check-config accepts a good file" [ "$rc" -eq 0 -a "$out" = "configuration is valid" ]
out=$("$SOUKD" --check-config -c config/souk.yaml 2>&1); rc=$?
check "--check-config accepts the shipped config/souk.yaml" [ "$rc" -eq 0 -a "$out" = "configuration is valid" ]

BAD=$T/bad.yaml
printf 'fcgi:\n  backlog: 2\n  threads: 0\nlog:\n  levle: info\n' >"$BAD"
out=$("$SOUKD" --check-config -c "$BAD" 2>&1); rc=$?
want="config, file '$BAD', line 3, column 3, item 'fcgi.threads', value '0' (must be 1..1024)
config, file '$BAD', line 5, column 3, unknown item 'log.levle' (did you mean 'log.level'?)"
check "--check-config names file, line, column, item and value of each error" \
	[ "$rc" -ne 0 -a "$out" = "$want" ]
[ "$out" = "$want" ] || printf 'got:\n%s\nwanted:\n%s\n' "$out" "$want"
out=$("$SOUKD" --check-config -c "$T/missing.yaml" 2>&1); rc=$?
check "--check-config reports a missing file" \
	[ "$rc" -ne 0 -a "$out" = "config, file '$T/missing.yaml', cannot read (No such file or directory)" ]
check "--dump-schema prints JSON with every item" \
	bash -c "'$SOUKD' --dump-schema | grep -q '\"name\": \"fcgi.threads\"' &&
		 '$SOUKD' --dump-schema | grep -q '\"name\": \"publish.coalesce\"'"

# ---- a broken config at start-up -----------------------------------------------
"$SOUKD" -c "$BAD" >"$T/bad-start.log" 2>&1; rc=$?
check "soukd refuses to start with a broken config" \
	[ "$rc" -ne 0 -a ! -e "$SOCK" ]
check "the start-up refusal logs each error" \
	grep -q "config, file '$BAD', line 3, column 3, item 'fcgi.threads', value '0' (must be 1..1024)" "$T/bad-start.log"

# ---- start -----------------------------------------------------------------
LOG=$T/soukd.log
"$SOUKD" -c "$CONF" 2>"$LOG" &
SOUKD_PID=$!
check "soukd starts and opens its control socket" wait_for 20 test -S "$SOCK"
check "control socket has mode 0660" [ "$(stat -c %a "$SOCK" 2>/dev/null)" = 660 ]
check "status answers with config generation 1" status_is config_generation 1
check "status shows the running log level" status_is log_level info
check "status names the config file" status_is config_file "$CONF"
check "status carries the pid of the process" status_is pid "$SOUKD_PID"
out=$("$CTL" "$SOCK" nosuchcommand 2>&1); rc=$?
check "unknown control command is answered with an error" \
	[ "$rc" -eq 1 -a "$out" = '{"ok":false,"error":"unknown command '"'"'nosuchcommand'"'"' (try '"'"'help'"'"')"}' ]

# ---- reload with SIGHUP: reloadable and restart-only items --------------------
check "at log level info, control commands are not logged" \
	[ "$(grep -c "debug: soukd, control, command 'status'" "$LOG")" -eq 0 ]
write_config debug 4 4
kill -HUP "$SOUKD_PID"
check "SIGHUP reload is live: config generation 2" wait_for 20 status_is config_generation 2
check "the new log level is in effect after SIGHUP" status_is log_level debug
check "debug messages are written once the level is debug" \
	grep -q "debug: soukd, control, command 'status'" "$LOG"
check "a restart-only change is listed as pending" status_is restart_pending '["fcgi.threads"]'
out=$("$CTL" -g items.fcgi.threads "$SOCK" config)
check "a restart-only item keeps its running value" [ "$out" = 8 ]
check "a restart-only change is warned about" \
	grep -q "warning: config, item 'fcgi.threads' changed to '4', takes effect after a restart (running value '8')" "$LOG"
kill -HUP "$SOUKD_PID"
wait_for 20 status_is config_generation 3
check "the restart warning is given once, not at every reload" \
	[ "$(grep -c "item 'fcgi.threads' changed to '4'" "$LOG")" -eq 1 ]

# ---- a broken file is refused, the old config keeps serving -------------------
cp "$CONF" "$T/good.yaml"
printf 'log:\n  level: warning\nfcgi:\n  threads: 0\n' >"$CONF"
kill -HUP "$SOUKD_PID"
check "a broken config on SIGHUP is counted as refused" wait_for 20 status_is reloads_failed 1
check "the refusal logs the error with file, line and item" \
	grep -q "error: config, file '$CONF', line 4, column 3, item 'fcgi.threads', value '0' (must be 1..1024)" "$LOG"
check "the refusal says the running configuration stays" \
	grep -q "config, reload refused, the running configuration stays" "$LOG"
check "after a refused reload the old log level is still live" status_is log_level debug
check "after a refused reload the generation is unchanged" status_is config_generation 3
check "status shows the last reload failed" status_is last_reload.result failed
check "soukd is still running after a refused reload" soukd_alive
out=$("$CTL" "$SOCK" reload); rc=$?
check "control 'reload' of a broken file answers with its errors" \
	[ "$rc" -eq 1 ] && [[ "$out" == *"item 'fcgi.threads', value '0' (must be 1..1024)"* ]]
cp "$T/good.yaml" "$CONF"
out=$("$CTL" -g ok "$SOCK" reload)
check "control 'reload' of a good file succeeds" [ "$out" = true ]
check "a successful reload clears the failure" status_is last_reload.result ok

# ---- control socket: several clients at once, and limits ----------------------
pids=()
for i in 1 2 3 4; do
	"$CTL" -g ok "$SOCK" status >"$T/par.$i" 2>&1 &
	pids+=($!)
done
par_ok=0
for i in 1 2 3 4; do
	wait "${pids[$((i - 1))]}" && [ "$(cat "$T/par.$i")" = true ] && par_ok=$((par_ok + 1))
done
check "four clients at once are all answered" [ "$par_ok" -eq 4 ]

out=$("$CTL" -L 10000 "$SOCK"); rc=$?
check "an oversize control request is refused" [ "$rc" -eq 1 -a "$out" = '{"ok":false,"error":"request too long"}' ]
check "soukd answers after an oversize request" status_is ok true
check "idle clients up to the limit do not block others" \
	bash -c "'$CTL' -H 3 -g ok '$SOCK' status | grep -qx true"
out=$("$CTL" -H 4 "$SOCK" status); rc=$?
check "clients beyond control.max_clients are refused" \
	[ "$rc" -eq 1 -a "$out" = '{"ok":false,"error":"too many clients"}' ]
check "soukd answers once those clients have gone" wait_for 10 status_is ok true

# ---- a second instance on the same socket -------------------------------------
"$SOUKD" -c "$CONF" >"$T/second.log" 2>&1; rc=$?
check "a second soukd on the same control socket refuses to start" [ "$rc" -ne 0 ]
check "the refusal says another soukd answers there" grep -q "another soukd answers there" "$T/second.log"
check "the first soukd still answers" status_is ok true

# ---- SIGTERM -------------------------------------------------------------------
souk_stop_soukd TERM; rc=$?
check "SIGTERM makes soukd exit 0" [ "$rc" -eq 0 ]
check "the control socket is removed on exit" [ ! -e "$SOCK" ]

# ---- stale socket after a crash, then 'stop' -----------------------------------
"$SOUKD" -c "$CONF" 2>"$LOG.2" &
SOUKD_PID=$!
wait_for 20 test -S "$SOCK"
souk_kill_soukd
check "a killed soukd leaves its socket behind" test -S "$SOCK"
"$SOUKD" -c "$CONF" 2>"$LOG.3" &
SOUKD_PID=$!
check "a new soukd replaces a stale control socket" wait_for 20 status_is ok true
out=$("$CTL" -g stopping "$SOCK" stop)
check "control 'stop' is acknowledged" [ "$out" = true ]
wait_for 20 soukd_exited
wait "$SOUKD_PID"; rc=$?
SOUKD_PID=""
check "control 'stop' makes soukd exit 0" [ "$rc" -eq 0 ]

# ---- SIGINT (Ctrl-C in a terminal) ---------------------------------------------
"$SOUKD" -c "$CONF" 2>"$LOG.4" &
SOUKD_PID=$!
wait_for 20 status_is ok true
souk_stop_soukd INT; rc=$?
check "SIGINT makes soukd exit 0" [ "$rc" -eq 0 ]
check "SIGINT is logged as the reason for shutting down" grep -q "received SIGINT, shutting down" "$LOG.4"

[ "$fails" -eq 0 ]
