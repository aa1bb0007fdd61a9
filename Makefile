# Makefile — builds libusj, usjindex, usjsearch, usjsearchd and the seed index;
# `make test` runs every Criterion suite twice: optimised, then under
# ASan+UBSan. System packages are checked (and installed) by scripts/deps.sh.
#
#   make            programs in bin/ and the seed index .usjsearch.idx
#   make test       all suites, plain and sanitized
#   make bench      benchmarks against Xapian and SQLite FTS5 (bench/README.md)
#   make install    PREFIX=/usr/local DESTDIR=   (make uninstall)

SHELL    := /bin/bash
CC       ?= cc
CXX      ?= c++
PREFIX   ?= /usr/local
DESTDIR  ?=

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla
STD      := -std=c11 -D_GNU_SOURCE
INC      := -Iinclude -Ilib
OPT_rel  := -O2 -g
OPT_asan := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=all
LIBS     := -lstemmer -lutf8proc -lz -lm -lpthread
EVLIBS   := -levent -levent_pthreads
TESTLIBS := -lcriterion

LIB_SRC   := $(wildcard lib/*.c)
IDX_SRC   := $(wildcard indexer/*.c)
CLI_SRC   := $(wildcard client/*.c)
DMN_SRC   := $(wildcard daemon/*.c)
TEST_SRC  := $(wildcard tests/test_*.c)
TSUP_SRC  := $(wildcard tests/support/*.c)

PROGS := $(if $(IDX_SRC),usjindex) $(if $(CLI_SRC),usjsearch) \
         $(if $(DMN_SRC),usjsearchd)
TESTS := $(patsubst tests/%.c,%,$(TEST_SRC))

BINDIR_rel  := bin
BINDIR_asan := build/asan/bin

SEED_INDEX := .usjsearch.idx
SEEDS      := $(wildcard seeds/*.txt)

DEPS_STAMP := build/.deps-build
TDEPS_STAMP := build/.deps-test

.PHONY: all test test-rel test-asan bench clean install uninstall deps \
        check-deps lint fuzz
.DEFAULT_GOAL := all

all: $(addprefix bin/,$(PROGS)) $(if $(filter usjindex,$(PROGS)),$(SEED_INDEX))

$(DEPS_STAMP): scripts/deps.sh
	@mkdir -p build
	@bash scripts/deps.sh build
	@touch $@

$(TDEPS_STAMP): scripts/deps.sh
	@mkdir -p build
	@bash scripts/deps.sh test
	@touch $@

deps: $(DEPS_STAMP)

# ---- one set of rules per variant (rel, asan) -------------------------------
define VARIANT
build/$(1)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $$(@D)
	$$(CC) $$(STD) $$(WARN) $$(INC) $$(OPT_$(1)) $$(CPPFLAGS) $$(CFLAGS) -MMD -MP -c $$< -o $$@

build/$(1)/libusj.a: $$(patsubst %.c,build/$(1)/obj/%.o,$$(LIB_SRC))
	@rm -f $$@
	ar rcs $$@ $$^

$$(BINDIR_$(1))/usjindex: $$(patsubst %.c,build/$(1)/obj/%.o,$$(IDX_SRC)) build/$(1)/libusj.a
	@mkdir -p $$(@D)
	$$(CC) $$(OPT_$(1)) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)

$$(BINDIR_$(1))/usjsearch: $$(patsubst %.c,build/$(1)/obj/%.o,$$(CLI_SRC)) build/$(1)/libusj.a
	@mkdir -p $$(@D)
	$$(CC) $$(OPT_$(1)) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)

$$(BINDIR_$(1))/usjsearchd: $$(patsubst %.c,build/$(1)/obj/%.o,$$(DMN_SRC)) build/$(1)/libusj.a
	@mkdir -p $$(@D)
	$$(CC) $$(OPT_$(1)) $$(LDFLAGS) -o $$@ $$^ $$(EVLIBS) $$(LIBS)

build/$(1)/tests/%: build/$(1)/obj/tests/%.o $$(patsubst %.c,build/$(1)/obj/%.o,$$(TSUP_SRC)) build/$(1)/libusj.a
	@mkdir -p $$(@D)
	$$(CC) $$(OPT_$(1)) $$(LDFLAGS) -o $$@ $$^ $$(TESTLIBS) $$(EVLIBS) $$(LIBS)

build-$(1): $$(addprefix $$(BINDIR_$(1))/,$$(PROGS)) $$(addprefix build/$(1)/tests/,$$(TESTS))
.PHONY: build-$(1)
endef
$(eval $(call VARIANT,rel))
$(eval $(call VARIANT,asan))

.SECONDARY:

-include $(shell find build -name '*.d' 2>/dev/null)

# ---- the seed index: rebuilt when a seed or the indexer changes -------------
$(SEED_INDEX): bin/usjindex $(SEEDS)
	bin/usjindex -o $@ seeds

# ---- tests ------------------------------------------------------------------
test: $(TDEPS_STAMP) all build-rel build-asan
	@bash scripts/run-tests.sh $(TESTS)

test-rel: $(TDEPS_STAMP) all build-rel
	@USJ_VARIANTS=rel bash scripts/run-tests.sh $(TESTS)

test-asan: $(TDEPS_STAMP) all build-asan
	@USJ_VARIANTS=asan bash scripts/run-tests.sh $(TESTS)

# ---- benchmarks, install, housekeeping --------------------------------------
bench: all
	@bash bench/run.sh

install: all
	@PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" bash scripts/install.sh install

uninstall:
	@PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" bash scripts/install.sh uninstall

lint:
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability \
	  --suppress=missingIncludeSystem $(INC) lib indexer client daemon

clean:
	rm -rf build bin $(SEED_INDEX)
