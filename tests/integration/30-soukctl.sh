#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 30-soukctl.sh - soukctl backup/restore/audit against real stores.
set -u
. "$(dirname "$0")/lib.sh"
CTL="$B/soukctl"
W="$B/tools/store_crash_writer"
C="$B/tools/store_crash_check"
souk_tmpdir ctl
tmp=$T
expect_rc() { # want description cmd...
	local want="$1" what="$2" rc
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$what"; else nok "$what (exit $rc, want $want: $(head -3 "$tmp/err"))"; fi
}

d="$tmp/data"
"$W" "$d" a 1 200 >/dev/null 2>&1 || nok "seed writer"

# backup while a writer keeps committing: the writer prints each number once
# its commit is durable; it must be committing before the backup starts and
# still after it ends, and every number acknowledged before must be in it
"$W" "$d" a 201 0 >"$tmp/w.out" 2>"$tmp/w.err" &
wpid=$!
SOUK_PIDS=$wpid
acked() { tail -n 1 "$tmp/w.out" 2>/dev/null | grep -x '[0-9]*' || echo 0; }
acked_past() { [ "$(acked)" -gt "$1" ]; }
wait_for 30 acked_past 200 || nok "the writer commits"
before=$(acked)
expect_rc 0 "backup while writes go on" "$CTL" --data "$d" backup "$tmp/bk"
after=$(acked)
check "the writer went on committing through the backup ($before before, $after at its end)" \
	wait_for 30 acked_past "$after"
expect_rc 1 "restore refuses a store in use, even with --force" "$CTL" --data "$d" restore --force "$tmp/bk"
kill -9 "$wpid"; wait "$wpid" 2>/dev/null; SOUK_PIDS=""
expect_rc 0 "backup verifies" "$CTL" --data "$tmp/bk" audit verify
expect_rc 1 "backup refuses a directory that holds a store" "$CTL" --data "$d" backup "$tmp/bk"
m=$("$C" "$tmp/bk" a "$before" 2>"$tmp/err") \
	&& ok "backup holds a gap-free prefix with every commit acknowledged before it began ($m >= $before)" \
	|| nok "backup content ($(cat "$tmp/err"))"

# restore
expect_rc 1 "restore refuses a non-empty target without --force" "$CTL" --data "$d" restore "$tmp/bk"
expect_rc 0 "restore into a new directory" "$CTL" --data "$tmp/new" restore "$tmp/bk"
expect_rc 0 "restore --force over an idle store" "$CTL" --data "$d" restore --force "$tmp/bk"
seq_bk=$("$CTL" --json --data "$tmp/bk" info | grep -o '"last_seq": [0-9]*')
seq_d=$("$CTL" --json --data "$d" info | grep -o '"last_seq": [0-9]*')
[ -n "$seq_bk" ] && [ "$seq_bk" = "$seq_d" ] && ok "restored store equals the backup ($seq_d)" || nok "restored store differs ('$seq_bk' vs '$seq_d')"
"$W" "$d" a $((m + 1)) 10 >/dev/null 2>&1 && "$C" "$d" a $((m + 10)) >/dev/null 2>&1 \
	&& ok "restored store takes new commits" || nok "restored store takes new commits"
expect_rc 1 "restore refuses a damaged or missing backup" "$CTL" --data "$tmp/x" restore "$tmp/nothing"

# A writer that opens the store while restore is putting the backup in place
# (socket activation starting souk-fcgi) must not write to the file restore
# replaces: it waits until the restore is done, and its write is then in the
# restored store. The shim stops restore just before its rename.
pd="$tmp/pause"
mkdir -p "$pd"
# (the ASan build: the shim comes before the sanitizer runtime)
SOUK_PAUSE_RENAME_DIR="$pd" SOUK_PAUSE_RENAME_SUFFIX=data.mdb.restore \
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" LD_PRELOAD="$B/shims/pause_rename.so" "$CTL" --data "$d" restore --force "$tmp/bk" \
	>"$tmp/r.out" 2>"$tmp/r.err" &
rpid=$!
SOUK_PIDS=$rpid
wait_for 30 test -e "$pd/paused" || nok "restore reached its rename"
"$W" "$d" late 1 1 >"$tmp/late.out" 2>"$tmp/late.err" &
lpid=$!
SOUK_PIDS="$rpid $lpid"
# bounded: a writer that is not held finishes in well under this
wait_for 3 pid_gone "$lpid"
[ ! -s "$tmp/late.out" ] && ok "a writer starting during restore acknowledges nothing while restore holds the store" \
	|| nok "a writer acknowledged a commit while restore was replacing the store"
touch "$pd/go"
wait "$rpid"; rrc=$?
wait_for 30 pid_gone "$lpid"
wait "$lpid"; lrc=$?
SOUK_PIDS=""
[ "$rrc" -eq 0 ] && ok "restore with a writer waiting succeeds" || nok "restore exit $rrc: $(cat "$tmp/r.err")"
[ "$lrc" -eq 0 ] && [ "$(cat "$tmp/late.out")" = 1 ] && "$C" "$d" late 1 >/dev/null 2>"$tmp/err" \
	&& ok "the waiting writer's acknowledged commit is in the restored store" \
	|| nok "the waiting writer's commit is lost (writer exit $lrc, out '$(cat "$tmp/late.out")': $(cat "$tmp/err"))"

# audit keys and checkpoints
expect_rc 0 "audit keygen" "$CTL" audit keygen "$tmp/audit.key"
[ "$(stat -c %a "$tmp/audit.key")" = 600 ] && ok "private key has mode 0600" || nok "private key mode"
expect_rc 1 "audit keygen never overwrites a key" "$CTL" audit keygen "$tmp/audit.key"
expect_rc 0 "audit checkpoint" "$CTL" --data "$d" audit checkpoint --key "$tmp/audit.key" --out "$tmp/cp1"
grep -q '^sig [0-9a-f]\{128\}$' "$tmp/cp1" && ok "checkpoint carries an ed25519 signature" || nok "checkpoint text"
"$W" "$d" b 1 20 >/dev/null 2>&1
expect_rc 0 "log grown after a checkpoint is consistent with it" \
	"$CTL" --data "$d" audit verify --checkpoint "$tmp/cp1" --key "$tmp/audit.key.pub"
sed 's/^size \([0-9]*\)/size 1\1/' "$tmp/cp1" >"$tmp/cp-forged"
expect_rc 1 "forged checkpoint is rejected" \
	"$CTL" --data "$d" audit verify --checkpoint "$tmp/cp-forged" --key "$tmp/audit.key.pub"
# a different history of the same or greater length
"$W" "$tmp/other" z 1 400 >/dev/null 2>&1
expect_rc 1 "a rewritten log is caught by an old checkpoint" \
	"$CTL" --data "$tmp/other" audit verify --checkpoint "$tmp/cp1" --key "$tmp/audit.key.pub"
expect_rc 0 "soukctl --json info" "$CTL" --json --data "$d" info
grep -q '"ok": true' "$tmp/out" && grep -q '"audit_root": "[0-9a-f]\{64\}"' "$tmp/out" \
	&& ok "json output" || nok "json output: $(cat "$tmp/out")"

# the verifier names the first bad entry of a log edited behind its back
TAMPER="$B/tools/store_tamper"
for dmg in edit-doc:37 edit-reason:41 archive:44 edit-leaf:50 truncate:120 reorder:64; do
	how=${dmg%%:*}
	at=${dmg##*:}
	rm -rf "$tmp/t"
	"$CTL" --data "$tmp/bk" backup "$tmp/t" >/dev/null 2>&1 || nok "copy for $how"
	"$TAMPER" "$tmp/t" "$how" "$at" || nok "tamper $how"
	"$CTL" --data "$tmp/t" audit verify >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 1 ] && grep -q "first bad entry is sequence $at " "$tmp/err"; then
		ok "audit verify names sequence $at after $how"
	else
		nok "audit verify after $how at $at (exit $rc: $(cat "$tmp/err"))"
	fi
done

# usage errors
expect_rc 2 "unknown command is a usage error" "$CTL" --data "$d" frobnicate
expect_rc 2 "missing argument is a usage error" "$CTL" --data "$d" backup
expect_rc 2 "unknown option is a usage error" "$CTL" --data "$d" backup --bogus "$tmp/b2"
expect_rc 2 "checkpoint without a key is a usage error" "$CTL" --data "$d" audit checkpoint
expect_rc 2 "-c naming a missing configuration file exits 2" "$CTL" -c "$tmp/absent.yaml" info
grep -q "config, file '$tmp/absent.yaml', cannot read (No such file or directory)" "$tmp/err" \
	&& ok "-c naming a missing file says which file and why" || nok "-c missing file message: $(cat "$tmp/err")"
expect_rc 1 "a missing store is a failure" "$CTL" --data "$tmp/absent" info
exit $((fails > 0))
