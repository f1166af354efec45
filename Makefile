# SPDX-License-Identifier: Apache-2.0
# souk - one non-recursive Makefile.
#
#   make                 build everything into $(O) (default build/)
#   make check           install deps, build, run every test, then again under ASan+UBSan
#   make run             install deps, build, start the stack on localhost
#   make bench           optimized build and benchmarks
#   make install DESTDIR=...
#   make deb | make rpm  Debian / RPM package into build/pkg/
#   make format | clean
#
# Sources are found by convention, so a new module needs no Makefile edit:
#   <subsystem>/*.c           -> libsouk.a (except main_*.c)
#   daemon/main_soukd.c       -> soukd,  daemon/main_soukctl.c -> soukctl
#   fcgi/main_fcgi.c          -> souk-fcgi
#   tests/unit/test_*.c       -> one cmocka binary per module
#   tests/tools/*.c           -> helper programs used by tests
#   tests/shims/*.c           -> LD_PRELOAD shims (.so)
#   tests/plugins/*.c         -> test plug-ins (.so) in $(O)/plugins/
#   bench/*.c                 -> benchmark programs
#   tests/fuzz/fuzz_*.c       -> libFuzzer targets (make fuzz)

.SUFFIXES:
.DELETE_ON_ERROR:
.SECONDARY:
SHELL := /bin/bash

O        ?= build
SAN      ?=
OPT      ?= -O2 -g
CC       ?= cc
PREFIX   ?= /usr
SYSCONFDIR ?= /etc
DESTDIR  ?=
VERSION  := 0.1.0

PKGS := libxxhash fcgi libevent lmdb libcrypto yaml-0.1 jansson libutf8proc libsystemd icu-uc icu-i18n
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2 -Wvla \
        -Wstrict-prototypes -Wmissing-prototypes -Werror
CPPFLAGS += -I. -D_GNU_SOURCE -DSOUK_VERSION='"$(VERSION)"'
CFLAGS   += -std=gnu11 $(OPT) $(WARN) -fPIC -pthread -fno-strict-aliasing \
            -fstack-protector-strong $(PKG_CFLAGS) -MMD -MP
LDFLAGS  += -pthread
LDLIBS   += $(PKG_LIBS) -lm

ifneq ($(SAN),)
CFLAGS  += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SAN)
else
CPPFLAGS += -D_FORTIFY_SOURCE=2
endif

# layers, lowest first; domain/ has one folder per bounded context
SUBSYS   := common config shm store model domain plugins daemon fcgi
LIB_SRC  := $(filter-out %/main_soukd.c %/main_soukctl.c %/main_fcgi.c,$(wildcard $(addsuffix /*.c,$(SUBSYS)) domain/*/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(O)/obj/%.o)
LIB      := $(O)/libsouk.a

PROGS := $(if $(wildcard daemon/main_soukd.c),$(O)/soukd) \
         $(if $(wildcard daemon/main_soukctl.c),$(O)/soukctl) \
         $(if $(wildcard fcgi/main_fcgi.c),$(O)/souk-fcgi)

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)
TOOL_SRC  := $(wildcard tests/tools/*.c)
TOOL_BIN  := $(TOOL_SRC:tests/tools/%.c=$(O)/tools/%)
SHIM_SRC  := $(wildcard tests/shims/*.c)
SHIM_SO   := $(SHIM_SRC:tests/shims/%.c=$(O)/shims/%.so)
TPLUG_SRC := $(wildcard tests/plugins/*.c)
TPLUG_SO  := $(TPLUG_SRC:tests/plugins/%.c=$(O)/plugins/%.so)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(O)/bench/%)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all deps check check-unit check-integration check-san check-tsan check-fuzz \
        run bench install clean format fuzz

all: $(PROGS) $(UNIT_BIN) $(TOOL_BIN) $(SHIM_SO) $(TPLUG_SO) $(O)/obj/souk/plugin.h.ok

$(O)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(O)/soukd: $(O)/obj/daemon/main_soukd.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(O)/soukctl: $(O)/obj/daemon/main_soukctl.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(O)/souk-fcgi: $(O)/obj/fcgi/main_fcgi.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/tests/%: $(O)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CMOCKA_LIBS)
$(O)/tools/%: $(O)/obj/tests/tools/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(O)/bench/%: $(O)/obj/bench/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
# shims are preloaded into other programs: no sanitizer runtime in them
$(O)/shims/%.so: tests/shims/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -std=gnu11 -O2 -g -Wall -Wextra -Werror -fPIC -shared -o $@ $< -ldl

# test plug-ins are dlopened by sanitized programs: like the shims they
# carry no sanitizer runtime; some override a member of the initialiser
$(O)/plugins/%.so: tests/plugins/%.c souk/plugin.h tests/plugins/test_plugin.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -std=gnu11 -O2 -g -Wall -Wextra -Wno-override-init -Werror -fPIC -shared -o $@ $<
# the public header builds alone, with the C standard library only
$(O)/obj/souk/plugin.h.ok: souk/plugin.h
	@mkdir -p $(@D)
	$(CC) -std=c99 -pedantic-errors -Wall -Wextra -Werror -fsyntax-only -x c $<
	$(CC) -std=c11 -pedantic-errors -Wall -Wextra -Werror -fsyntax-only -x c \
	      -include $< -x c /dev/null
	@touch $@

deps:
	@scripts/deps run

# ---- tests -------------------------------------------------------------
# check: plain build (unit + integration), then ASan+UBSan (unit + integration),
# then ThreadSanitizer for the multi-threaded tests (test_*_mt), then fuzz smoke.
check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory O=build/asan SAN=address,undefined OPT="-O1 -g" all
	@$(MAKE) --no-print-directory O=build/tsan SAN=thread OPT="-O1 -g" all
	@tests/run-tests.sh

check-unit: all
	@tests/run-tests.sh --only unit --build $(O)
check-integration: all
	@tests/run-tests.sh --only integration --build $(O)

FUZZ_CC := clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 -I. -D_GNU_SOURCE -DSOUK_VERSION='"$(VERSION)"' \
               -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS)
FUZZ_LIB_SRC := $(LIB_SRC)
fuzz: $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRC)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB_SRC) $(PKG_LIBS) -lm -pthread

run: deps all
	@scripts/run

# bench: the programs and bench/*.c only (no tests), optimized, with symbols
# for perf; scripts/bench takes BENCH_SIZE=, BENCH_SECONDS=, ... (see it)
bench:
	@scripts/deps bench
	@$(MAKE) --no-print-directory O=build/release OPT="-O2 -g -DNDEBUG" progs $(addprefix build/release/bench/,$(notdir $(BENCH_BIN))) build/release/shims/slow_fsync.so
	@scripts/bench

# ---- install and packages (owned by ops: systemd/, packaging/, docs/) -----
# install puts the programs, configuration, systemd units, sysusers/tmpfiles
# snippets, man pages, operations guide and web-server examples under
# $(DESTDIR). Debian passes UNITDIR=/lib/systemd/system.
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/souk

.PHONY: progs deb rpm
progs: $(PROGS)

install: $(PROGS)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SYSCONFDIR)/souk
	$(if $(wildcard $(O)/soukd),install -m 0755 $(O)/soukd $(DESTDIR)$(PREFIX)/sbin/soukd)
	$(if $(wildcard $(O)/souk-fcgi),install -m 0755 $(O)/souk-fcgi $(DESTDIR)$(PREFIX)/sbin/souk-fcgi)
	$(if $(wildcard $(O)/soukctl),install -m 0755 $(O)/soukctl $(DESTDIR)$(PREFIX)/bin/soukctl)
	$(if $(wildcard config/souk.yaml),install -m 0640 config/souk.yaml $(DESTDIR)$(SYSCONFDIR)/souk/souk.yaml)
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	install -m 0644 systemd/soukd.service systemd/souk-fcgi.service systemd/souk-fcgi.socket $(DESTDIR)$(UNITDIR)/
	install -m 0644 systemd/souk.sysusers $(DESTDIR)$(SYSUSERSDIR)/souk.conf
	install -m 0644 systemd/souk.tmpfiles $(DESTDIR)$(TMPFILESDIR)/souk.conf
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 docs/man/soukctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 docs/man/soukd.8 docs/man/souk-fcgi.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 docs/operations.md $(DESTDIR)$(DOCDIR)/
	install -d $(DESTDIR)$(PREFIX)/include/souk $(DESTDIR)$(PREFIX)/lib/souk/plugins
	install -m 0644 souk/plugin.h $(DESTDIR)$(PREFIX)/include/souk/plugin.h
	install -m 0644 docs/plugins.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 packaging/examples/* $(DESTDIR)$(DOCDIR)/examples/

# make deb / make rpm: packages into build/pkg/ (scripts/deps pkg installs the tools)
deb:
	@scripts/pkg-deb build/pkg
rpm:
	@scripts/pkg-rpm build/pkg

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(O)/obj -name "*.d" 2>/dev/null)
