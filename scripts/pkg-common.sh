# SPDX-License-Identifier: Apache-2.0
# scripts/pkg-common.sh - shared by pkg-deb and pkg-rpm (sourced).
# Stages a clean copy of the source tree and checks that it can make a
# complete package: soukd, souk-fcgi, soukctl and config/souk.yaml.
# SOUK_PKG_PARTIAL=1 builds from whatever of these exists (tests use it
# while parts of the tree are still missing); the package then lacks them.

pkg_version() {
	sed -n 's/^VERSION *:= *//p' Makefile
}

# pkg_missing: print the parts of a complete package that the tree lacks
pkg_missing() {
	local f
	for f in daemon/main_soukd.c fcgi/main_fcgi.c daemon/main_soukctl.c config/souk.yaml; do
		[ -e "$f" ] || printf '%s ' "$f"
	done
}

pkg_check_complete() { # tool-name
	local missing
	missing=$(pkg_missing)
	if [ -n "$missing" ] && [ "${SOUK_PKG_PARTIAL:-0}" != 1 ]; then
		echo "$1, the source tree lacks: $missing(set SOUK_PKG_PARTIAL=1 to build without them)" >&2
		exit 1
	fi
	[ -z "$missing" ] || echo "$1, partial package, without: $missing" >&2
}

# pkg_stage DIR: copy the tree (without build output and git metadata) to DIR
pkg_stage() {
	mkdir -p "$1"
	tar --exclude=./build --exclude=./.git --exclude=./run -cf - . | tar -xf - -C "$1"
}

pkg_need() { # tool-name command...
	local tool="$1" c
	shift
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 && continue
		echo "$tool, '$c' not found (run 'scripts/deps pkg')" >&2
		exit 1
	done
}
