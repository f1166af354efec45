#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/51-api-lighttpd.sh - the same REST API suite behind
# lighttpd (mod_fastcgi) instead of nginx.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
souk_setup it51

check "soukd starts" souk_start_soukd
check "souk-fcgi starts" souk_start_fcgi --threads 4
check "lighttpd starts on 127.0.0.1" souk_start_lighttpd

souk_api_suite lighttpd
souk_channel_suite lighttpd
souk_openapi_suite lighttpd
souk_outage_suite lighttpd

check "souk-fcgi exits 0 on SIGTERM" souk_stop_fcgi
souk_stop_web
souk_stop_soukd
check "no sanitizer reports in the logs" souk_no_sanitizer_reports
[ "$fails" -eq 0 ]
