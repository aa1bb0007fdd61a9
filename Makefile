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
# usjsearch runs once per query (editors call it per keystroke): its three
# libraries are linked statically when their archives are installed (the
# Debian -dev packages ship them), which saves the dynamic loader ~0.4 ms
# of a ~2 ms run; libc and libm stay shared.
comma    := ,
CLI_ARCHIVES := $(foreach l,libstemmer.a libutf8proc.a libz.a,$(shell $(CC) -print-file-name=$(l)))
CLI_LIBS := $(if $(filter 3,$(words $(filter /%,$(CLI_ARCHIVES)))),\
              -Wl$(comma)-Bstatic -lstemmer -lutf8proc -lz -Wl$(comma)-Bdynamic \
              -lm -lpthread,$(LIBS))
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

# BUILD and BIN may be overridden so that several work trees or people can
# build side by side: make BUILD=/tmp/b BIN=/tmp/b/bin SEED_INDEX=/tmp/b/idx
BUILD       ?= build
BIN         ?= bin
BINDIR_rel  := $(BIN)
BINDIR_asan := $(BUILD)/asan/bin

SEED_INDEX ?= .usjsearch.idx
SEEDS      := $(wildcard seeds/*.txt)

DEPS_STAMP  := $(BUILD)/.deps-build
TDEPS_STAMP := $(BUILD)/.deps-test

.PHONY: all test test-rel test-asan bench clean install uninstall deps \
        check-deps lint fuzz
.DEFAULT_GOAL := all

all: $(addprefix $(BIN)/,$(PROGS)) $(if $(filter usjindex,$(PROGS)),$(SEED_INDEX))

$(DEPS_STAMP): scripts/deps.sh
	@mkdir -p $(BUILD)
	@bash scripts/deps.sh build
	@touch $@

$(TDEPS_STAMP): scripts/deps.sh
	@mkdir -p $(BUILD)
	@bash scripts/deps.sh test
	@touch $@

deps: $(DEPS_STAMP)

# ---- one set of rules per variant (rel, asan) -------------------------------
define VARIANT
$(BUILD)/$(1)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $$(@D)
	$$(CC) $$(STD) $$(WARN) $$(INC) $$(OPT_$(1)) $$(CPPFLAGS) $$(CFLAGS) -MMD -MP -c $$< -o $$@

$(BUILD)/$(1)/libusj.a: $$(patsubst %.c,$(BUILD)/$(1)/obj/%.o,$$(LIB_SRC))
	@rm -f $$@
	ar rcs $$@ $$^

$$(BINDIR_$(1))/usjindex: $$(patsubst %.c,$(BUILD)/$(1)/obj/%.o,$$(IDX_SRC)) $(BUILD)/$(1)/libusj.a
	@mkdir -p $$(@D)
	$$(CC) $$(OPT_$(1)) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)

$$(BINDIR_$(1))/usjsearch: $$(patsubst %.c,$(BUILD)/$(1)/obj/%.o,$$(CLI_SRC)) $(BUILD)/$(1)/libusj.a
	@mkdir -p $$(@D)
	$$(CC) $$(OPT_$(1)) $$(LDFLAGS) -o $$@ $$^ $$(CLI_LIBS)

$$(BINDIR_$(1))/usjsearchd: $$(patsubst %.c,$(BUILD)/$(1)/obj/%.o,$$(DMN_SRC)) $(BUILD)/$(1)/libusj.a
	@mkdir -p $$(@D)
	$$(CC) $$(OPT_$(1)) $$(LDFLAGS) -o $$@ $$^ $$(EVLIBS) $$(LIBS)

$(BUILD)/$(1)/tests/%: $(BUILD)/$(1)/obj/tests/%.o $$(patsubst %.c,$(BUILD)/$(1)/obj/%.o,$$(TSUP_SRC)) $(BUILD)/$(1)/libusj.a
	@mkdir -p $$(@D)
	$$(CC) $$(OPT_$(1)) $$(LDFLAGS) -o $$@ $$^ $$(TESTLIBS) $$(EVLIBS) $$(LIBS)

$(BUILD)/$(1)/bench/%: $(BUILD)/$(1)/obj/bench/%.o $(BUILD)/$(1)/libusj.a
	@mkdir -p $$(@D)
	$$(CC) $$(OPT_$(1)) $$(LDFLAGS) -o $$@ $$^ $$(EVLIBS) $$(LIBS)

build-$(1): $$(addprefix $$(BINDIR_$(1))/,$$(PROGS)) $$(addprefix $(BUILD)/$(1)/tests/,$$(TESTS))
.PHONY: build-$(1)
endef
$(eval $(call VARIANT,rel))
$(eval $(call VARIANT,asan))

.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- the seed index: rebuilt when a seed or the indexer changes -------------
$(SEED_INDEX): $(BIN)/usjindex $(SEEDS)
	$(BIN)/usjindex -o $@ seeds

# ---- tests ------------------------------------------------------------------
test: $(TDEPS_STAMP) all build-rel build-asan
	@USJ_BUILD=$(BUILD) USJ_BIN=$(BIN) bash scripts/run-tests.sh $(TESTS)

test-rel: $(TDEPS_STAMP) all build-rel
	@USJ_VARIANTS=rel USJ_BUILD=$(BUILD) USJ_BIN=$(BIN) bash scripts/run-tests.sh $(TESTS)

test-asan: $(TDEPS_STAMP) all build-asan
	@USJ_VARIANTS=asan USJ_BUILD=$(BUILD) USJ_BIN=$(BIN) bash scripts/run-tests.sh $(TESTS)

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
	rm -rf $(BUILD) $(BIN) $(SEED_INDEX)
