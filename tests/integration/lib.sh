# SPDX-License-Identifier: Apache-2.0
# tests/integration/lib.sh - shared helpers of the integration scripts: TAP
# output (ok/not_ok/check), bounded waits, a temp dir removed on exit with
# whatever was started, a base configuration, and starting soukd, souk-fcgi
# and a real web server (nginx or lighttpd) on 127.0.0.1, talking HTTP to
# them with curl. Sourced by every tests/integration/NN-*.sh that runs
# programs (and usable by packaging and benchmark scripts).
#
#   . tests/integration/lib.sh
#   souk_setup it50                # temp dir $T, instance, config, secret
#   souk_start_soukd && souk_start_fcgi && souk_start_nginx
#   api GET /api/v1/products       # -> $STATUS, $BODY, headers in $HDRS
#
# Everything listens on 127.0.0.1 or a UNIX socket inside $T; the EXIT trap
# kills what was started (by pid: $SOUKD_PID, $FCGI_PID, $SPAWN_PIDS, $WEB_PID
# and any in $SOUK_PIDS) and removes $T and the shared memory of $INST.

B=${SOUK_BUILD:-build}
SOUKD=$B/soukd
FCGI=$B/souk-fcgi
SOUKCTL=$B/soukctl
fails=0
SOUKD_PID=""
FCGI_PID=""
SPAWN_PIDS=""
WEB_PID=""
WEB_PORT=""
SOUK_PIDS=""

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; fails=$((fails + 1)); }
nok() { not_ok "$@"; }
skip() { echo "# skip - $*"; }
note() { sed 's/^/# /'; } # stdin as TAP comment lines
check() { # description command...
	local d="$1"; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
# wait_for SECONDS command...: poll every 0.05 s, bounded
wait_for() {
	local end=$((SECONDS + $1)); shift
	until "$@"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.05
	done
}
pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
pid_gone() { ! kill -0 "$1" 2>/dev/null; }
soukd_alive() { pid_alive "$SOUKD_PID"; }
soukd_exited() { pid_gone "$SOUKD_PID"; }
# status_is KEY VALUE: soukd's control socket reports KEY as VALUE
status_is() {
	[ "$("$B/tools/soukd_ctl" -g "$1" "$T/run/control.sock" status 2>/dev/null)" = "$2" ]
}

souk_stop_web() { # nginx/lighttpd: graceful stop so no worker is orphaned
	[ -n "$WEB_PID" ] || return 0
	kill -TERM "$WEB_PID" 2>/dev/null
	wait_for 10 pid_gone "$WEB_PID" || kill -KILL "$WEB_PID" 2>/dev/null
	wait "$WEB_PID" 2>/dev/null
	WEB_PID=""
}

souk_cleanup() {
	local p
	souk_stop_web
	for p in $SOUK_PIDS $SPAWN_PIDS "$FCGI_PID" "$SOUKD_PID"; do
		[ -n "$p" ] && kill -KILL "$p" 2>/dev/null
	done
	[ -n "${INST:-}" ] && rm -f /dev/shm/"$INST".* 2>/dev/null
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		if [ "$fails" -ne 0 ] || [ -n "${SOUK_KEEP_LOGS:-}" ]; then
			for f in "$T"/*.log "$T"/web/*.log; do
				[ -f "$f" ] || continue
				echo "# --- $f (last 30 lines)"
				tail -n 30 "$f" | sed 's/^/# /'
			done
		fi
		rm -rf "$T"
	fi
}

# souk_tmpdir NAME: a new temp dir $T; at exit souk_cleanup stops what was
# started and removes it
souk_tmpdir() {
	T=$(mktemp -d "/tmp/souk-$1.XXXXXX")
	trap souk_cleanup EXIT
}

# souk_config_head [LEVEL]: the start of a souk.yaml for instance $INST with
# its state and runtime directories in $T and the log on stderr (at LEVEL);
# callers append their own sections
souk_config_head() {
	cat <<EOC
instance: $INST
paths:
  state_dir: $T/state
  runtime_dir: $T/run
log:
EOC
	[ -n "${1:-}" ] && echo "  level: $1"
	echo "  target: stderr"
}

# souk_setup NAME: temp dir, instance name, config file, admin secret
souk_setup() {
	souk_tmpdir "$1"
	INST="$1-$$"
	CONF=$T/souk.yaml
	SECRET_FILE=$T/admin.secret
	SECRET="it-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
	FCGI_SOCK=$T/run/fcgi.sock
	mkdir -p "$T/run" "$T/web"
	(umask 077 && printf '%s\n' "$SECRET" >"$SECRET_FILE")
	souk_config_head info >"$CONF"
	cat >>"$CONF" <<EOC
store:
  map_size: 64M
fcgi:
  listen: unix:$FCGI_SOCK
  threads: 8
auth:
  admin_secret_file: $SECRET_FILE
audit:
  signing_key_file: ""
publish:
  coalesce: 1ms
  poll_interval: 100ms
EOC
}

souk_start_soukd() {
	# sockets left by a killed soukd would make the wait below pass early
	rm -f "$T/run/control.sock" "$T/run/publish.sock"
	"$SOUKD" -c "$CONF" 2>>"$T/soukd.log" &
	SOUKD_PID=$!
	wait_for 30 test -S "$T/run/control.sock" && wait_for 30 test -S "$T/run/publish.sock"
}
# souk_stop_soukd [SIGNAL]: SIGTERM (or SIGNAL), wait; returns soukd's exit status
souk_stop_soukd() {
	local rc
	[ -n "$SOUKD_PID" ] || return 0
	kill -"${1:-TERM}" "$SOUKD_PID" 2>/dev/null
	wait_for 20 pid_gone "$SOUKD_PID"
	wait "$SOUKD_PID" 2>/dev/null
	rc=$?
	SOUKD_PID=""
	return $rc
}
souk_kill_soukd() { # SIGKILL
	[ -n "$SOUKD_PID" ] || return 0
	kill -KILL "$SOUKD_PID" 2>/dev/null
	wait "$SOUKD_PID" 2>/dev/null
	SOUKD_PID=""
}

# souk_verify_units UNITDIR PROGDIR WORKDIR: systemd-analyze verify passes on
# copies (in WORKDIR) of the soukd and souk-fcgi units of UNITDIR whose
# ExecStart= run the programs in PROGDIR; one not there is replaced by
# /bin/true and named in $STAND_IN. What the tool said is in $VERIFY_OUT.
souk_verify_units() {
	local units="$1" progs="$2" dir="$3" p u
	local sed_args=()
	STAND_IN=""
	mkdir -p "$dir"
	for p in soukd souk-fcgi; do
		if [ -x "$progs/$p" ]; then
			sed_args+=(-e "s|/usr/sbin/$p |$progs/$p |g")
		else
			sed_args+=(-e "s|/usr/sbin/$p |/bin/true |g")
			STAND_IN="$STAND_IN $p"
		fi
	done
	for u in soukd.service souk-fcgi.service souk-fcgi.socket; do
		sed "${sed_args[@]}" "$units/$u" >"$dir/$u"
	done
	VERIFY_OUT=$(cd "$dir" && systemd-analyze verify --man=no \
		./soukd.service ./souk-fcgi.service ./souk-fcgi.socket 2>&1) && [ -z "$VERIFY_OUT" ]
}

# souk_start_fcgi [extra souk-fcgi options]
souk_start_fcgi() {
	rm -f "$FCGI_SOCK"
	"$FCGI" -c "$CONF" "$@" 2>>"$T/fcgi.log" &
	FCGI_PID=$!
	wait_for 30 test -S "$FCGI_SOCK"
}
# souk_stop_fcgi: SIGTERM; returns souk-fcgi's exit status
souk_stop_fcgi() {
	local rc
	kill -TERM "$FCGI_PID" 2>/dev/null
	wait_for 30 pid_gone "$FCGI_PID"
	wait "$FCGI_PID" 2>/dev/null
	rc=$?
	FCGI_PID=""
	return $rc
}

# souk_spawn_fcgi N [options]: N worker processes sharing one socket on fd 0
# (spawn-fcgi), pids in SPAWN_PIDS
souk_spawn_fcgi() {
	local n="$1"; shift
	rm -f "$FCGI_SOCK" "$T/spawn.pid"
	spawn-fcgi -s "$FCGI_SOCK" -F "$n" -P "$T/spawn.pid" -- "$FCGI" -c "$CONF" "$@" \
		>>"$T/spawn.log" 2>&1 || return 1
	SPAWN_PIDS=$(tr '\n' ' ' <"$T/spawn.pid")
	[ "$(wc -w <<<"$SPAWN_PIDS")" -eq "$n" ]
}

_random_port() { echo $((20000 + (RANDOM * 32768 + RANDOM) % 40000)); }
_port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The nginx snippet souk documents: keep FastCGI connections open and keep
# at most `keepalive` idle ones per nginx worker; souk-fcgi needs at least
# that many threads (x processes) or kept connections queue (docs/souk-fcgi.md).
souk_nginx_conf() { # port
	cat <<EON
worker_processes 1;
user $(id -un);
pid $T/web/nginx.pid;
error_log $T/web/error.log warn;
events { worker_connections 512; }
http {
	access_log off;
	client_body_temp_path $T/web/body;
	fastcgi_temp_path $T/web/fastcgi;
	proxy_temp_path $T/web/proxy;
	uwsgi_temp_path $T/web/uwsgi;
	scgi_temp_path $T/web/scgi;
	client_max_body_size 8m;
	upstream souk_fcgi {
		server unix:$FCGI_SOCK;
		keepalive ${SOUK_NGINX_KEEPALIVE:-4};
	}
	server {
		listen 127.0.0.1:$1;
		location / {
			fastcgi_pass souk_fcgi;
			fastcgi_keep_conn on;
			fastcgi_param REQUEST_METHOD \$request_method;
			fastcgi_param REQUEST_URI \$request_uri;
			fastcgi_param QUERY_STRING \$query_string;
			fastcgi_param CONTENT_TYPE \$content_type;
			fastcgi_param CONTENT_LENGTH \$content_length;
			fastcgi_param SCRIPT_NAME \$fastcgi_script_name;
			fastcgi_param SERVER_PROTOCOL \$server_protocol;
			fastcgi_param REMOTE_ADDR \$remote_addr;
			fastcgi_param SERVER_NAME \$server_name;
		}
	}
}
EON
}

# _souk_start_web START: up to five free random ports on 127.0.0.1; for each,
# START PORT configures and starts the server in the background, which must
# then listen there within 10 s. Sets WEB_PORT and WEB_PID.
_souk_start_web() {
	local i
	for i in 1 2 3 4 5; do
		WEB_PORT=$(_random_port)
		_port_busy "$WEB_PORT" && continue
		"$1" "$WEB_PORT"
		WEB_PID=$!
		if wait_for 10 _port_busy "$WEB_PORT" && pid_alive "$WEB_PID"; then
			return 0
		fi
		kill -KILL "$WEB_PID" 2>/dev/null
		wait "$WEB_PID" 2>/dev/null
		WEB_PID=""
	done
	return 1
}

_souk_run_nginx() { # port
	souk_nginx_conf "$1" >"$T/web/nginx.conf"
	nginx -p "$T/web" -e "$T/web/error.log" -c "$T/web/nginx.conf" -g 'daemon off;' \
		2>>"$T/web/nginx.log" &
}
souk_start_nginx() { _souk_start_web _souk_run_nginx; }

_souk_run_lighttpd() { # port
	mkdir -p "$T/web/www"
	cat >"$T/web/lighttpd.conf" <<EOL
server.document-root = "$T/web/www"
server.bind = "127.0.0.1"
server.port = $1
server.pid-file = "$T/web/lighttpd.pid"
server.errorlog = "$T/web/error.log"
server.max-request-size = 8192
server.modules += ( "mod_fastcgi" )
fastcgi.server = ( "/" => ((
	"socket" => "$FCGI_SOCK",
	"check-local" => "disable",
	"fix-root-scriptname" => "enable",
)))
EOL
	lighttpd -D -f "$T/web/lighttpd.conf" 2>>"$T/web/lighttpd.log" &
}
souk_start_lighttpd() { _souk_start_web _souk_run_lighttpd; }

# api METHOD PATH [curl args...]: sets STATUS, BODY and HDRS (header file)
api() {
	local m="$1" p="$2"; shift 2
	HDRS=$T/last.headers
	BODY=$(curl -sS -m 20 -X "$m" -D "$HDRS" -o - -w '\n%{http_code}' "$@" \
		"http://127.0.0.1:$WEB_PORT$p" 2>"$T/curl.err")
	STATUS=${BODY##*$'\n'}
	BODY=${BODY%$'\n'*}
}
# admin METHOD PATH [curl args...]: api with the bearer secret
admin() {
	local m="$1" p="$2"; shift 2
	api "$m" "$p" -H "Authorization: Bearer $SECRET" "$@"
}
header() { # name: value of a response header of the last api call
	grep -i "^$1:" "$HDRS" | head -n1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'
}
# json PATH: a value of $BODY ("items.0.id", "items#" = length)
json() {
	printf "%s" "$BODY" | "$B/tools/fcgi_json" "$1" 2>/dev/null
}

# Sanitizer reports in the logs of the programs started here (ASan builds).
souk_no_sanitizer_reports() {
	! grep -lE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T"/*.log 2>/dev/null
}

# ---- the API suite, run behind each web server ---------------------------------
# souk_api_suite LABEL: the stack must be running (soukd, souk-fcgi, web server).
souk_api_suite() {
	local L="$1" id seq etag body ids next id2 id3 id4 p1 i
	local JSON=(-H 'Content-Type: application/json')
	local P1='{"sku":"MUG-1","seller":"s1","category":"kitchen","title":{"en":"Mug","fr":"Tasse","de":"Becher"},"price":{"GBP":250,"EUR":299},"stock":5}'

	api GET /healthz
	check "$L: /healthz is 200 with an image and soukd reachable" \
		[ "$STATUS" = 200 -a "$(json status)" = ok -a "$(json soukd.reachable)" = true ]

	admin POST /api/v1/products "${JSON[@]}" -d "$P1"
	id=$(json id); seq=$(header Souk-Seq); etag=$(header ETag)
	check "$L: POST creates a product (201, Location, ETag, Souk-Seq)" \
		[ "$STATUS" = 201 -a "$(header Location)" = "/api/v1/products/$id" -a "$etag" = '"1"' \
		-a -n "$seq" -a "$(json version)" = 1 ]

	check "$L: a write answer is not cached (no-store, nosniff)" \
		[ "$(header Cache-Control)" = no-store -a "$(header X-Content-Type-Options)" = nosniff ]

	api GET "/api/v1/products/$id" -H "Souk-Min-Seq: $seq"
	check "$L: GET with Souk-Min-Seq sees the write (read-your-writes)" \
		[ "$STATUS" = 200 -a "$(json sku)" = MUG-1 -a "$(json title)" = Mug -a "$(header ETag)" = '"1"' ]
	check "$L: a public read is cacheable briefly (public, max-age=5, Vary, nosniff)" \
		[ "$(header Cache-Control)" = "public, max-age=5" -a "$(header Vary)" = "Accept-Language, X-Souk-Channel" \
		-a "$(header X-Content-Type-Options)" = nosniff ]
	api GET "/api/v1/products/$id" -H 'If-None-Match: "1"'
	check "$L: If-None-Match with the ETag is 304 without a body" \
		[ "$STATUS" = 304 -a -z "$BODY" -a "$(header ETag)" = '"1"' ]
	api GET "/api/v1/products?category=kitchen"
	etag=$(header ETag)
	api GET "/api/v1/products?category=kitchen" -H "If-None-Match: $etag"
	check "$L: a list carries an ETag and answers 304 to it" [ -n "$etag" -a "$STATUS" = 304 ]
	api GET "/api/v1/products/$id?locale=fr" -H "Souk-Min-Seq: $seq"
	check "$L: ?locale=fr renders the French title" [ "$STATUS" = 200 -a "$(json title)" = Tasse ]
	api GET "/api/v1/products/$id" -H "Accept-Language: fr-CA,en;q=0.5"
	check "$L: Accept-Language picks the locale" [ "$(json title)" = Tasse ]
	api GET "/api/v1/products/$id" -H "Accept-Language: fr;q=0.1, de"
	check "$L: Accept-Language goes by q-value (fr;q=0.1, de is German)" [ "$(json title)" = Becher ]
	api GET "/api/v1/products/$id" -H "Accept-Language: de-CH-1996;q=0.9, en;q=0, ;;bad"
	check "$L: Accept-Language falls back by subtags (de-CH-1996 is de), bad items ignored" \
		[ "$STATUS" = 200 -a "$(json title)" = Becher ]
	api GET /api/v1/products/by-sku/MUG-1
	check "$L: GET by-sku finds it" [ "$STATUS" = 200 -a "$(json id)" = "$id" ]
	api GET /api/v1/products/by-sku/NOPE
	check "$L: unknown sku is a 404 problem (no-store, nosniff)" \
		[ "$STATUS" = 404 -a "$(json type)" = https://souk.dev/problems/not-found \
		-a "$(header Cache-Control)" = no-store -a "$(header X-Content-Type-Options)" = nosniff ]

	# cursor pagination over one category, stable order
	for i in 2 3 4; do
		admin POST /api/v1/products "${JSON[@]}" -d "{\"sku\":\"PLATE-$i\",\"seller\":\"s1\",\"category\":\"dining\",\"title\":{\"en\":\"Plate $i\"},\"price\":{\"GBP\":${i}00}}"
		seq=$(header Souk-Seq)
	done
	api GET "/api/v1/products?category=dining&limit=2" -H "Souk-Min-Seq: $seq"
	ids=$(json items.0.id)$(json items.1.id); next=$(json next_cursor)
	check "$L: list returns a page of 2 and a cursor" \
		[ "$STATUS" = 200 -a "$(json 'items#')" = 2 -a -n "$next" -a "$next" != null ]
	api GET "/api/v1/products?category=dining&limit=2&cursor=$next"
	check "$L: the next page holds the rest and ends the list" \
		[ "$STATUS" = 200 -a "$(json 'items#')" = 1 -a "$(json next_cursor)" = null \
		-a "${ids#*$(json items.0.id)}" = "$ids" ]
	api GET "/api/v1/products?category=dining&limit=2"
	check "$L: the order is stable" [ "$(json items.0.id)$(json items.1.id)" = "$ids" ]
	api GET "/api/v1/products?limit=0"
	check "$L: limit=0 is a 400 problem naming the parameter" \
		[ "$STATUS" = 400 -a "$(json errors.0.field)" = limit ]
	api GET "/api/v1/products?cursor=zz"
	check "$L: a bad cursor is a 400 problem" [ "$STATUS" = 400 ]

	# optimistic concurrency
	admin PATCH "/api/v1/products/$id" "${JSON[@]}" -d '{"price":{"GBP":275,"EUR":null}}'
	check "$L: PATCH without If-Match is 428" \
		[ "$STATUS" = 428 -a "$(json type)" = https://souk.dev/problems/precondition-required ]
	admin PATCH "/api/v1/products/$id" "${JSON[@]}" -H 'If-Match: "7"' -d '{"price":{"GBP":275}}'
	check "$L: PATCH with a stale version is 412" \
		[ "$STATUS" = 412 -a "$(json type)" = https://souk.dev/problems/precondition-failed ]
	admin PATCH "/api/v1/products/$id" "${JSON[@]}" -H 'If-Match: W/"1"' -d '{"price":{"GBP":275}}'
	check "$L: PATCH with a weak If-Match is 412 (strong comparison)" \
		[ "$STATUS" = 412 -a "$(json type)" = https://souk.dev/problems/precondition-failed ]
	admin PATCH "/api/v1/products/$id" "${JSON[@]}" -H 'If-Match: "1"' -H $'X-Souk-Reason: bad \xff\xfe bytes' \
		-d '{"price":{"GBP":275}}'
	check "$L: an X-Souk-Reason that is not UTF-8 is 422 naming the header" \
		[ "$STATUS" = 422 -a "$(json errors.0.field)" = X-Souk-Reason ]
	admin PATCH "/api/v1/products/$id" "${JSON[@]}" -H 'If-Match: "1"' -d '{"price":{"GBP":275,"EUR":null}}'
	seq=$(header Souk-Seq)
	check "$L: PATCH with the right version updates (merge patch)" \
		[ "$STATUS" = 200 -a "$(json version)" = 2 -a "$(json price.GBP)" = 275 \
		-a "$(json price.EUR)" = "" -a "$(header ETag)" = '"2"' ]
	api GET "/api/v1/products/$id" -H "Souk-Min-Seq: $seq"
	check "$L: the update is visible" [ "$(json price.GBP)" = 275 -a "$(json version)" = 2 ]

	admin POST "/api/v1/products/$id/revert" "${JSON[@]}" -d '{"version":1}'
	check "$L: revert without If-Match is 428" \
		[ "$STATUS" = 428 -a "$(json type)" = https://souk.dev/problems/precondition-required ]
	admin POST "/api/v1/products/$id/revert" "${JSON[@]}" -H 'If-Match: "2"' -d '{"version":1}'
	seq=$(header Souk-Seq)
	check "$L: revert to version 1 makes version 3 equal to it" \
		[ "$STATUS" = 200 -a "$(json version)" = 3 -a "$(json price.GBP)" = 250 -a "$(json price.EUR)" = 299 ]
	admin POST "/api/v1/products/$id/revert" "${JSON[@]}" -H 'If-Match: "3"' -d '{"version":99}'
	check "$L: revert to a missing version is 404" [ "$STATUS" = 404 ]
	admin GET "/api/v1/products/$id/history"
	check "$L: history lists every version, newest first" \
		[ "$STATUS" = 200 -a "$(json 'items#')" = 3 -a "$(json items.2.version)" = 1 \
		-a "$(json items.1.price.GBP)" = 275 -a "$(json items.0.actor)" = admin ]

	# idempotency
	body='{"sku":"IDEM-1","seller":"s1","category":"kitchen","title":{"en":"Bowl"},"price":{"GBP":100}}'
	admin POST /api/v1/products "${JSON[@]}" -H "Idempotency-Key: key-$L" -d "$body"
	p1="$STATUS $BODY"; id2=$(json id)
	admin POST /api/v1/products "${JSON[@]}" -H "Idempotency-Key: key-$L" -d "$body"
	check "$L: an Idempotency-Key replay returns the first result" \
		[ "$STATUS $BODY" = "$p1" -a "$(header Idempotent-Replayed)" = true ]
	admin POST /api/v1/products "${JSON[@]}" -d "$body"
	check "$L: the same sku without the key is a 409 conflict (no second product)" \
		[ "$STATUS" = 409 -a "$(json type)" = https://souk.dev/problems/conflict ]

	# bad input
	admin POST /api/v1/products "${JSON[@]}" -d '{"sku":'
	check "$L: malformed JSON is a 400 problem" \
		[ "$STATUS" = 400 -a "$(json type)" = https://souk.dev/problems/malformed-request \
		-a "$(header Content-Type)" = application/problem+json ]
	admin POST /api/v1/products "${JSON[@]}" --data-binary $'{"sku":"U1","seller":"s","category":"c","title":{"en":"\xff\xfe"},"price":{"GBP":1}}'
	check "$L: invalid UTF-8 is a 400 problem" \
		[ "$STATUS" = 400 -a "$(json type)" = https://souk.dev/problems/invalid-utf8 ]
	admin POST /api/v1/products "${JSON[@]}" -d '{"sku":"F1","seller":"s","category":"c","title":{"en":"x"},"price":{"GBP":1.5}}'
	check "$L: a decimal price is a 422 validation problem naming price/GBP" \
		[ "$STATUS" = 422 -a "$(json type)" = https://souk.dev/problems/validation \
		-a "$(json errors.0.field)" = price/GBP ]
	admin POST /api/v1/products "${JSON[@]}" -d "$(printf '%0.s[' $(seq 1 100))"
	check "$L: JSON nested too deep is a 400 problem" [ "$STATUS" = 400 ]
	head -c 2000000 /dev/zero | tr '\0' ' ' >"$T/big.json"
	admin POST /api/v1/products "${JSON[@]}" --data-binary "@$T/big.json"
	check "$L: a body over max_body is a 413 problem" \
		[ "$STATUS" = 413 -a "$(json type)" = https://souk.dev/problems/payload-too-large ]
	admin POST /api/v1/products -H 'Content-Type: text/plain' -d 'hello'
	check "$L: a non-JSON content type is 415" [ "$STATUS" = 415 ]
	api GET /api/v1/nothing
	check "$L: an unknown route is a 404 problem" \
		[ "$STATUS" = 404 -a "$(json status)" = 404 -a "$(header Content-Type)" = application/problem+json ]
	api PUT "/api/v1/products/$id"
	check "$L: a wrong method is 405 with Allow" \
		[ "$STATUS" = 405 -a "$(header Allow)" = "GET, HEAD, PATCH, DELETE" ]

	# authentication
	api POST /api/v1/products "${JSON[@]}" -d "$P1"
	check "$L: a write without a token is 401 with WWW-Authenticate" \
		[ "$STATUS" = 401 -a -n "$(header WWW-Authenticate)" ]
	api POST /api/v1/products "${JSON[@]}" -H "Authorization: Bearer wrong-$SECRET" -d "$P1"
	check "$L: a wrong token is 401" [ "$STATUS" = 401 -a "$(json type)" = https://souk.dev/problems/unauthorized ]
	api DELETE "/api/v1/products/$id"
	check "$L: DELETE without a token is 401" [ "$STATUS" = 401 ]

	# delete archives, history stays
	admin DELETE "/api/v1/products/$id"
	check "$L: DELETE without If-Match is 428" \
		[ "$STATUS" = 428 -a "$(json type)" = https://souk.dev/problems/precondition-required ]
	admin DELETE "/api/v1/products/$id" -H 'If-Match: W/"3"'
	check "$L: DELETE with a weak If-Match is 412" [ "$STATUS" = 412 ]
	admin DELETE "/api/v1/products/$id" -H 'If-Match: "3"'
	seq=$(header Souk-Seq)
	check "$L: DELETE archives (204, Souk-Seq)" [ "$STATUS" = 204 -a -n "$seq" ]
	api GET "/api/v1/products/$id" -H "Souk-Min-Seq: $seq"
	check "$L: an archived product is gone from reads" [ "$STATUS" = 404 ]
	admin GET "/api/v1/products/$id/history"
	check "$L: its history is kept" [ "$STATUS" = 200 -a "$(json 'items#')" = 4 -a "$(json items.0.archived)" = true ]

	# read-your-writes bound: a change never made is refused, not waited for
	api GET "/api/v1/products/$id2" -H "Souk-Min-Seq: 999999999"
	check "$L: Souk-Min-Seq beyond the log is answered at once: 400 min-seq-ahead (no 503 wait)" \
		[ "$STATUS" = 400 -a "$(json type)" = https://souk.dev/problems/min-seq-ahead ]

	api GET /metrics
	_metrics_ok() {
		grep -q '^souk_http_requests_total{route="product_create",code="2xx"} [1-9]' <<<"$BODY" &&
			grep -q '^souk_http_requests_total{route="other",code="4xx"} [1-9]' <<<"$BODY" &&
			grep -q '^souk_http_request_duration_seconds_count [1-9]' <<<"$BODY" &&
			grep -q '^souk_commit_batches_total [1-9]' <<<"$BODY" &&
			grep -q '^souk_image_generation [1-9]' <<<"$BODY" &&
			grep -q '^souk_publish_total [1-9]' <<<"$BODY" &&
			grep -q '^souk_store_last_seq [1-9]' <<<"$BODY"
	}
	check "$L: /metrics counts requests, commits, images and the store" _metrics_ok
	check "$L: /metrics is not cached" [ "$(header Cache-Control)" = no-store ]
}

# souk_channel_suite LABEL: two storefronts on two hostnames, told apart by
# the web server's Host and by X-Souk-Channel; a request that names no
# channel gets a 404 problem, never another channel's data. Archives the
# channels it made, so later checks see a mall without channels again.
souk_channel_suite() {
	local L="$1" uk eu seq id
	local JSON=(-H 'Content-Type: application/json')
	admin POST /api/v1/products "${JSON[@]}" -d '{"sku":"CHN-1","seller":"house","category":"kitchen","title":{"en":"Teapot","de":"Teekanne","fr":"Théière"},"price":{"GBP":1500,"EUR":1799}}'
	id=$(json id)
	admin POST /api/v1/channels "${JSON[@]}" -d '{"code":"uk","name":"UK","hostnames":["shop.example.co.uk"],"currencies":{"default":"GBP","allowed":["GBP"]},"locales":{"default":"en-GB","fallback":["en"]}}'
	uk=$(json id)
	admin POST /api/v1/channels "${JSON[@]}" -d '{"code":"eu","name":"EU","hostnames":["shop.example.eu"],"currencies":{"default":"EUR","allowed":["EUR"]},"locales":{"default":"de","fallback":["fr","en"]}}'
	eu=$(json id); seq=$(header Souk-Seq)
	check "$L: two channels are created" [ "$STATUS" = 201 -a -n "$uk" -a -n "$eu" ]
	api GET "/api/v1/products/$id" -H "Souk-Min-Seq: $seq" -H 'Host: shop.example.eu' \
		-H 'Accept-Language: fr'
	check "$L: the EU host serves the EU channel in French" \
		[ "$STATUS" = 200 -a "$(header Souk-Channel)" = eu -a "$(json title)" = Théière ]
	api GET "/api/v1/products/$id" -H 'Host: SHOP.example.co.uk:8080' -H 'Accept-Language: de'
	check "$L: the UK host serves the UK channel, in its own locale only" \
		[ "$STATUS" = 200 -a "$(header Souk-Channel)" = uk -a "$(json title)" = Teapot ]
	api GET "/api/v1/products/$id" -H 'Host: shop.example.co.uk' -H 'X-Souk-Channel: eu'
	check "$L: X-Souk-Channel overrides the host" \
		[ "$STATUS" = 200 -a "$(header Souk-Channel)" = eu -a "$(json title)" = Teekanne ]
	api GET "/api/v1/products/$id" -H 'X-Souk-Channel: us'
	check "$L: an unknown channel is a 404 channel-unknown problem" \
		[ "$STATUS" = 404 -a "$(json type)" = https://souk.dev/problems/channel-unknown ]
	api GET "/api/v1/products?limit=5"
	check "$L: with two channels and no host match, a list is refused, not served" \
		[ "$STATUS" = 404 -a "$(json type)" = https://souk.dev/problems/channel-unknown ]
	admin DELETE "/api/v1/channels/$uk" -H 'If-Match: "1"'
	admin DELETE "/api/v1/channels/$eu" -H 'If-Match: "1"'
	seq=$(header Souk-Seq)
	api GET "/api/v1/products/$id" -H "Souk-Min-Seq: $seq"
	check "$L: once the channels are archived the catalog is served without them" \
		[ "$STATUS" = 200 -a -z "$(header Souk-Channel)" ]
}

# souk_openapi_suite LABEL: docs/openapi.yaml and the server agree
souk_openapi_suite() {
	local L="$1" slug path m missing="" unrouted="" id
	for slug in $(sed -n 's/^#define PROBLEM_[A-Z_]* "\([a-z0-9-]*\)".*/\1/p' common/problem.h); do
		grep -q "https://souk.dev/problems/$slug\$" docs/openapi.yaml || missing="$missing $slug"
	done
	check "$L: every problem type the server uses is documented in docs/openapi.yaml" [ -z "$missing" ]
	[ -z "$missing" ] || echo "# undocumented:$missing"
	api GET /api/v1/products/by-sku/IDEM-1
	id=$(json id)
	for path in $(sed -n 's/^  \(\/[^:]*\):$/\1/p' docs/openapi.yaml); do
		path=${path//\{id\}/$id}
		path=${path//\{sku\}/IDEM-1}
		m=GET
		case "$path" in */revert) m=POST ;; esac
		api "$m" "$path"
		if [ "$STATUS" = 404 ] && grep -q 'no such resource' <<<"$BODY"; then
			unrouted="$unrouted $path"
		fi
	done
	check "$L: every path in docs/openapi.yaml is routed" [ -z "$unrouted" ]
	[ -z "$unrouted" ] || echo "# unrouted:$unrouted"
}

# souk_outage_suite LABEL: soukd SIGKILLed and restarted under load-free traffic
souk_outage_suite() {
	local L="$1" id seq
	local JSON=(-H 'Content-Type: application/json')
	admin POST /api/v1/products "${JSON[@]}" -d '{"sku":"OUT-1","seller":"s1","category":"o","title":{"en":"Before"},"price":{"GBP":1}}'
	id=$(json id); seq=$(header Souk-Seq)
	api GET "/api/v1/products/$id" -H "Souk-Min-Seq: $seq"
	souk_kill_soukd
	api GET "/api/v1/products/$id"
	check "$L: with soukd killed, reads are served from the last image" [ "$STATUS" = 200 ]
	api GET /healthz
	check "$L: /healthz still 200 and reports soukd unreachable" \
		[ "$STATUS" = 200 -a "$(json soukd.reachable)" = false ]
	admin POST /api/v1/products "${JSON[@]}" -d '{"sku":"OUT-2","seller":"s1","category":"o","title":{"en":"During"},"price":{"GBP":2}}'
	local id2; id2=$(json id)
	check "$L: with soukd killed, writes are accepted" [ "$STATUS" = 201 -a -n "$id2" ]
	api GET "/api/v1/products/$id2"
	check "$L: ...but not visible until soukd returns" [ "$STATUS" = 404 ]
	souk_start_soukd
	_visible() { api GET "/api/v1/products/$id2"; [ "$STATUS" = 200 ]; }
	check "$L: soukd back: the write made during the outage is published" wait_for 30 _visible
	api GET /healthz
	check "$L: /healthz reports soukd reachable again" [ "$(json soukd.reachable)" = true ]

	# a clean stop removes the shared memory; the next soukd creates a new
	# segment and the worker must follow it
	souk_stop_soukd
	_noticed_removal() { api GET /metrics; grep -q '^souk_fcgi_segment_removed 1$' <<<"$BODY"; }
	check "$L: with soukd stopped cleanly, the worker notices the removed segment" \
		wait_for 10 _noticed_removal
	api GET "/api/v1/products/$id"
	check "$L: ...and reads go on from the mapped image" [ "$STATUS" = 200 ]
	souk_start_soukd
	admin POST /api/v1/products "${JSON[@]}" -d '{"sku":"OUT-3","seller":"s1","category":"o","title":{"en":"After"},"price":{"GBP":3}}'
	local id3 seq3; id3=$(json id); seq3=$(header Souk-Seq)
	_visible3() { api GET "/api/v1/products/$id3" -H "Souk-Min-Seq: $seq3"; [ "$STATUS" = 200 ]; }
	check "$L: after soukd re-created the segment, the worker reads the new images" wait_for 10 _visible3
}
