# wsgate build. `make` builds ./wsgate; `make run` starts it with
# etc/wsgate.conf; `make check` runs every test; `make asan` runs them under
# AddressSanitizer + UndefinedBehaviorSanitizer. See README.md.

PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR      = $(PREFIX)/bin
SBINDIR     = $(PREFIX)/sbin
MANDIR      = $(PREFIX)/share/man
SYSCONFDIR ?= /etc

BUILD      ?= build
CC         ?= cc
SAN        ?=
PKGS        = libevent libevent_openssl jansson libjwt libssl libcrypto zlib \
              msgpack hiredis
OPT        ?= -O2
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -g $(OPT) -Wall -Wextra -Werror \
              -Wshadow -Wno-missing-field-initializers -I. -Icommon \
              -MMD -MP
ifeq ($(SAN),1)
SANFLAGS    = -fsanitize=address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)
CFLAGS     += $(CFLAGS_BASE) $(SANFLAGS) $(PKG_CFLAGS)
LDFLAGS    += $(SANFLAGS)
LIBS        = $(PKG_LIBS) -lm

COMMON_SRC  = $(wildcard common/*.c) $(wildcard shm/*.c)
DAEMON_SRC  = $(filter-out master/main.c,$(wildcard master/*.c)) \
              $(wildcard worker/*.c)
COMMON_OBJ  = $(COMMON_SRC:%.c=$(BUILD)/%.o)
DAEMON_OBJ  = $(DAEMON_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ    = $(BUILD)/master/main.o
# Files compiled into the binary as C arrays (see the gen rule below).
GEN_OBJ     = $(BUILD)/gen/dsh_page.o
LIB         = $(BUILD)/libwsgate.a

UNIT_SRC    = $(wildcard tests/unit/check_*.c)
UNIT_BIN    = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC    = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY = $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/replay_%)
FUZZ_BIN    = $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_TIME  ?= 60

# Debian packages the build and the tests need (apt names).
DEB_PKGS    = build-essential pkg-config libevent-dev libssl-dev \
              libjansson-dev libjwt-dev check libsubunit-dev zlib1g-dev \
              clang libclang-rt-14-dev prometheus curl libmsgpack-dev \
              libhiredis-dev redis-server chromium fonts-liberation

.PHONY: bench bench-build bench-smoke docs-check deps-quiet all run check asan unit fuzz-replay integration fuzz install \
        uninstall deps clean hdrcheck

all: deps-quiet
	@$(MAKE) --no-print-directory wsgate

wsgate: $(BUILD)/wsgate
	@if [ "$(BUILD)" = build ]; then cp -f $< $@; fi

$(BUILD)/wsgate: $(MAIN_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(LIB): $(COMMON_OBJ) $(DAEMON_OBJ) $(GEN_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The dashboard page as a C array (master/dsh.h), with od and sed only.
$(BUILD)/gen/dsh_page.c: master/dashboard.html
	@mkdir -p $(dir $@)
	{ echo '/* Generated from $< by the Makefile: do not edit. */'; \
	  echo '#include "master/dsh.h"'; \
	  echo 'const unsigned char dsh_page_html[] = {'; \
	  od -An -v -tx1 $< | sed -e 's/[0-9a-f][0-9a-f]/0x&,/g'; \
	  echo '};'; \
	  echo 'const size_t dsh_page_html_len = sizeof(dsh_page_html);'; \
	} > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/check_%: tests/unit/check_%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(CHECK_LIBS) $(LIBS)

# Corpus replay: the libFuzzer harness linked with a small main that feeds
# every corpus file once (no clang needed for this part).
$(BUILD)/tests/replay_%: tests/fuzz/%.c tests/fuzz/replay.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LIB) $(LIBS)

run: all
	@if [ ! -d tests/integration/node_modules ]; then \
	    $(MAKE) --no-print-directory tests/integration/node_modules/.installed; fi
	@sh etc/run-banner.sh etc/wsgate.conf
	./wsgate -c etc/wsgate.conf

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; CK_FORK=yes $$t; done

fuzz-replay: $(FUZZ_REPLAY)
	@set -e; for t in $(FUZZ_REPLAY); do \
	    n=$${t##*/replay_fuzz_}; echo "== $$t tests/fuzz/corpus/$$n"; \
	    $$t tests/fuzz/corpus/$$n; done

integration: $(BUILD)/wsgate tests/integration/node_modules/.installed
	WSGATE_BIN=$(CURDIR)/$(BUILD)/wsgate node --test \
	    --test-concurrency=1 tests/integration/

tests/integration/node_modules/.installed: tests/integration/package-lock.json
	cd tests/integration && npm ci --no-audit --no-fund
	@touch $@

check: deps-quiet
	$(MAKE) wsgate
	$(MAKE) unit fuzz-replay docs-check integration

docs-check: wsgate
	sh tests/docs-check.sh

asan: deps-quiet
	$(MAKE) BUILD=build/asan SAN=1 OPT=-O1 unit fuzz-replay integration

# libFuzzer runs (clang), FUZZ_TIME seconds per harness.
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(COMMON_SRC)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -g -O1 -I. -Icommon $(PKG_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined -o $@ $< $(COMMON_SRC) $(LIBS)

fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$${f##*/fuzz_}; \
	    mkdir -p build/fuzz/corpus-$$n; \
	    $$f -max_total_time=$(FUZZ_TIME) build/fuzz/corpus-$$n \
	        tests/fuzz/corpus/$$n; done

# Benchmarks (BENCHMARKS.md): the load generator and the scenarios.
# bench/Makefile tracks the load generator's own sources.
bench-build: wsgate
	$(MAKE) -C bench

bench: deps-quiet
	$(MAKE) wsgate bench-build
	bash bench/run

# A few hundred connections for a few seconds; fails on any lost message.
bench-smoke: bench-build
	bash bench/run --smoke

hdrcheck:
	@set -e; for h in common/*.h shm/*.h master/*.h worker/*.h; do \
	    [ -f "$$h" ] || continue; \
	    echo "#include \"$$h\"" | $(CC) $(filter-out -MMD -MP,$(CFLAGS_BASE)) \
	        $(PKG_CFLAGS) -x c -fsyntax-only -; done; \
	    echo "headers compile alone"

# Installs missing Debian packages when run as root, otherwise prints the
# apt-get line and stops.
deps deps-quiet:
	@sh tests/deps.sh $(DEB_PKGS)

install: wsgate
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSCONFDIR)/wsgate
	install -m 0755 wsgate $(DESTDIR)$(SBINDIR)/wsgate
	install -m 0644 man/wsgate.8 $(DESTDIR)$(MANDIR)/man8/wsgate.8
	install -m 0644 man/wsgate.conf.5 $(DESTDIR)$(MANDIR)/man5/wsgate.conf.5
	[ -f $(DESTDIR)$(SYSCONFDIR)/wsgate/wsgate.conf ] || \
	    install -m 0640 etc/wsgate.conf \
	        $(DESTDIR)$(SYSCONFDIR)/wsgate/wsgate.conf
	@# The workers' user for the init script and the systemd unit.
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && \
	    ! getent passwd wsgate >/dev/null; then \
	    useradd --system --no-create-home --home-dir /nonexistent \
	        --shell /usr/sbin/nologin wsgate; fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/wsgate $(DESTDIR)$(MANDIR)/man8/wsgate.8 \
	    $(DESTDIR)$(MANDIR)/man5/wsgate.conf.5

clean:
	rm -rf build wsgate

-include $(COMMON_OBJ:.o=.d) $(DAEMON_OBJ:.o=.d) $(MAIN_OBJ:.o=.d)
