#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/90-systemd.sh - the systemd units, sysusers/tmpfiles
# snippets, man pages and web-server examples, checked with the tools an
# operator would use: systemd-analyze verify/security, systemd-sysusers and
# systemd-tmpfiles on a throwaway root, man --warnings, nginx -t, lighttpd -tt.
set -u
cd "$(dirname "$0")/../.."
build=$(realpath "${SOUK_BUILD:-build}")

. tests/integration/lib.sh

tmp=$(mktemp -d /tmp/souk-systemd.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if ! command -v systemd-analyze >/dev/null 2>&1; then
	skip "systemd-analyze not installed: units not checked"
else
	# systemd-analyze verify checks that ExecStart= programs exist, so the
	# units are checked as copies that point at the build tree. A program
	# not built in this tree yet is replaced by /bin/true and said so.
	if souk_verify_units systemd "$build" "$tmp/units"; then
		ok "systemd-analyze verify passes on soukd.service, souk-fcgi.service, souk-fcgi.socket${STAND_IN:+ (not built yet, /bin/true in their place:$STAND_IN)}"
	else
		echo "$VERIFY_OUT" | note
		nok "systemd-analyze verify passes on every unit"
	fi

	# Exposure score of the shipped units (the offline review reads the files).
	for u in soukd.service souk-fcgi.service; do
		out=$(systemd-analyze security --offline=yes "systemd/$u" 2>&1)
		score=$(echo "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }'; then
			ok "systemd-analyze security --offline=yes scores $u at $score (<= 2.5)"
		else
			echo "$out" | grep '✗' | sed 's/^/# /'
			nok "systemd-analyze security scores $u at '${score:-?}', want <= 2.5"
		fi
	done
fi

# /dev/shm must stay the host's, shared by soukd and the workers, and the
# published images must survive soukd stopping.
shm_ok=1
for u in soukd.service souk-fcgi.service; do
	if grep -qE '^(PrivateIPC=yes|RemoveIPC=yes|TemporaryFileSystem=.*/dev|InaccessiblePaths=.*/dev/shm)' "systemd/$u"; then
		shm_ok=0
		grep -nE '^(PrivateIPC|RemoveIPC|TemporaryFileSystem|InaccessiblePaths)=' "systemd/$u" | sed "s|^|# $u:|"
	fi
done
[ $shm_ok = 1 ] && ok "units keep /dev/shm shared and published images in place (no PrivateIPC, RemoveIPC, masked /dev)" ||
	nok "units keep /dev/shm shared"

# The unit contract the daemon relies on.
want_soukd=(Type=notify "WatchdogSec=" "ExecStartPre=/usr/sbin/soukd --check-config -c /etc/souk/souk.yaml"
	'ExecReload=/bin/kill -HUP $MAINPID' Restart=on-failure User=souk StateDirectory=souk
	RuntimeDirectory=souk RuntimeDirectoryPreserve=yes LimitCORE=0)
missing=""
for w in "${want_soukd[@]}"; do grep -qF -- "$w" systemd/soukd.service || missing="$missing '$w'"; done
[ -z "$missing" ] && ok "soukd.service: notify, watchdog, config check before start, reload by SIGHUP, souk user" ||
	nok "soukd.service lacks:$missing"
missing=""
for w in ListenStream=/run/souk/fcgi.sock SocketGroup=www-data SocketMode=0660; do
	grep -qxF -- "$w" systemd/souk-fcgi.socket || missing="$missing '$w'"
done
for w in StandardInput=socket StandardOutput=journal User=souk; do
	grep -qxF -- "$w" systemd/souk-fcgi.service || missing="$missing '$w'"
done
[ -z "$missing" ] && ok "souk-fcgi.socket/.service: socket on /run/souk/fcgi.sock (www-data, 0660) handed over on fd 0" ||
	nok "souk-fcgi units lack:$missing"

# sysusers.d and tmpfiles.d on a throwaway root: the user and directories
# an install gets.
root="$tmp/root"
mkdir -p "$root/etc" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d"
cp systemd/souk.sysusers "$root/usr/lib/sysusers.d/souk.conf"
cp systemd/souk.tmpfiles "$root/usr/lib/tmpfiles.d/souk.conf"
: >"$root/etc/passwd"
: >"$root/etc/group"
if command -v systemd-sysusers >/dev/null 2>&1; then
	if systemd-sysusers --root="$root" souk.conf >/dev/null 2>&1 &&
		grep -q '^souk:x:[0-9]*:[0-9]*:.*:/var/lib/souk:' "$root/etc/passwd" &&
		grep -q '^souk:x:' "$root/etc/group"; then
		ok "sysusers.d/souk.conf creates the souk system user and group (home /var/lib/souk)"
	else
		cat "$root/etc/passwd" | sed 's/^/# /'
		nok "sysusers.d/souk.conf creates the souk user"
	fi
	if command -v systemd-tmpfiles >/dev/null 2>&1; then
		uid=$(awk -F: '$1 == "souk" { print $3 }' "$root/etc/passwd")
		if systemd-tmpfiles --root="$root" --create souk.conf >/dev/null 2>&1 &&
			[ "$(stat -c '%a %u' "$root/run/souk")" = "755 $uid" ] &&
			[ "$(stat -c '%a %u' "$root/var/lib/souk")" = "750 $uid" ]; then
			ok "tmpfiles.d/souk.conf creates /run/souk (0755) and /var/lib/souk (0750) owned by souk"
		else
			stat -c '# %n %a %U' "$root/run/souk" "$root/var/lib/souk" 2>&1
			nok "tmpfiles.d/souk.conf creates /run/souk and /var/lib/souk"
		fi
	fi
else
	skip "systemd-sysusers not installed"
fi

# Man pages render without groff/man warnings (what lintian checks).
for m in docs/man/soukd.8 docs/man/souk-fcgi.8 docs/man/soukctl.1; do
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$m" 2>&1 >/dev/null)
	if [ -z "$out" ] && [ -n "$(man -l "$m" 2>/dev/null | grep -m1 NAME)" ]; then
		ok "man page $m renders without warnings"
	else
		echo "$out" | sed 's/^/# /'
		nok "man page $m renders without warnings"
	fi
done

# Web-server examples are valid configuration for the servers they name.
if command -v nginx >/dev/null 2>&1; then
	mkdir -p "$tmp/nginx"
	cp /etc/nginx/fastcgi_params "$tmp/nginx/" 2>/dev/null || : >"$tmp/nginx/fastcgi_params"
	cat >"$tmp/nginx/nginx.conf" <<EOF
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:1;
        include $PWD/packaging/examples/nginx-souk.conf;
    }
}
EOF
	if out=$(nginx -t -q -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" 2>&1); then
		ok "examples/nginx-souk.conf passes nginx -t inside a server block"
	else
		echo "$out" | sed 's/^/# /'
		nok "examples/nginx-souk.conf passes nginx -t"
	fi
else
	skip "nginx not installed"
fi
if command -v lighttpd >/dev/null 2>&1; then
	cat >"$tmp/lighttpd.conf" <<EOF
server.document-root = "$tmp"
server.bind = "127.0.0.1"
server.port = 1
include "$PWD/packaging/examples/lighttpd-souk.conf"
EOF
	if out=$(lighttpd -tt -f "$tmp/lighttpd.conf" 2>&1); then
		ok "examples/lighttpd-souk.conf passes lighttpd -tt"
	else
		echo "$out" | sed 's/^/# /'
		nok "examples/lighttpd-souk.conf passes lighttpd -tt"
	fi
else
	skip "lighttpd not installed"
fi
if [ -x /usr/sbin/apache2 ] && [ -e /usr/lib/apache2/modules/mod_proxy_fcgi.so ]; then
	mods=/usr/lib/apache2/modules
	cat >"$tmp/apache2.conf" <<EOF
ServerRoot "$tmp"
PidFile "$tmp/apache2.pid"
ErrorLog "$tmp/apache-error.log"
Listen 127.0.0.1:1
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule authz_host_module $mods/mod_authz_host.so
LoadModule setenvif_module $mods/mod_setenvif.so
LoadModule proxy_module $mods/mod_proxy.so
LoadModule proxy_fcgi_module $mods/mod_proxy_fcgi.so
<VirtualHost 127.0.0.1:1>
    Include "$PWD/packaging/examples/apache-souk.conf"
</VirtualHost>
EOF
	if out=$(APACHE_RUN_DIR="$tmp" /usr/sbin/apache2 -t -f "$tmp/apache2.conf" 2>&1); then
		ok "examples/apache-souk.conf passes apache2 -t inside a VirtualHost"
	else
		echo "$out" | sed 's/^/# /'
		nok "examples/apache-souk.conf passes apache2 -t"
	fi
else
	skip "Apache (apache2 with mod_proxy_fcgi) not installed: examples/apache-souk.conf not checked"
fi

exit $((fails > 0))
