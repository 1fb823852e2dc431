# resweep — build, test, install.
#
#   make            build resweepd, resweep and the libraries
#   make run        install missing packages, build, run the quick sweep end to end
#   make test       install missing packages, build, run every test (plain,
#                   ASan+UBSan, TSan, fuzzers): what CI runs
#   make check      one build's unit and integration tests
#   make bench      benchmarks (README.md, "Performance")
#   make SANITIZE=address test   ASan + UBSan build in build-address/
#   make SANITIZE=thread test    TSan build in build-thread/
#   make fuzz       libFuzzer targets (clang) in build-fuzz/
#   make install    PREFIX=/usr/local DESTDIR= (PYTHON=, PYTHONDIR= for the
#                   Python client)

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
DATADIR  ?= $(PREFIX)/share/resweep
# The Python client goes where Debian's python3 looks under PREFIX
# (/usr/local/lib/python3.11/dist-packages for /usr/local).
PYTHON   ?= /usr/bin/python3
PYTHONDIR ?= $(PREFIX)/lib/python$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo 3)/dist-packages
SANITIZE ?=
ifeq ($(SANITIZE),)
BUILD    ?= build
else
BUILD    ?= build-$(SANITIZE)
endif

VERSION  := $(shell git describe --always --dirty --tags 2>/dev/null || echo unknown)

CC       ?= cc
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CPPFLAGS += -Iinclude -I$(BUILD)/gen -D_GNU_SOURCE -DRESWEEP_VERSION='"$(VERSION)"'
TESTLIBS := -lcmocka

ifeq ($(SANITIZE),address)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(SANITIZE),thread)
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
else ifneq ($(SANITIZE),)
$(error SANITIZE must be address or thread, not '$(SANITIZE)')
endif

ALL_CFLAGS  = $(WARN) $(CFLAGS) $(SANFLAGS) -pthread -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS) -pthread

# The libraries, lowest first; each may use only those before it (the
# layers test checks the archives' symbols against this order):
#   common  utilities every layer shares (errors, logs, paths, UTF-8, RNG)
#   proto   the wire format: frames, messages, the op table, a blocking client
#   engine  the mathematics of one run (private headers in src/engine/)
#   store   the SQLite database (private header in src/store/)
#   worker  a worker: leases runs from a worker host and executes them
#   daemon  resweepd's loop, scheduler, store thread and worker host
# include/ holds the public headers; a library's private ones sit beside
# its sources and only it (and its tests) sees them.
LIBNAMES := common proto engine store worker daemon
SRC_common := $(wildcard src/common/*.c)
SRC_proto  := $(wildcard src/proto/*.c)
SRC_engine := $(wildcard src/engine/*.c)
SRC_store  := $(wildcard src/store/*.c)
SRC_worker := $(filter-out src/worker/main.c,$(wildcard src/worker/*.c))
SRC_daemon := $(filter-out src/daemon/main.c,$(wildcard src/daemon/*.c))
CLI_SRC    := $(wildcard clients/cli/*.c)
SCHEMA_SQL := $(sort $(wildcard schema/*.sql))
TEST_SRC   := $(wildcard tests/*/test_*.c)
BENCH_SRC  := $(wildcard bench/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
lib = $(BUILD)/libresweep_$(1).a

LIBCOMMON := $(call lib,common)
LIBPROTO  := $(call lib,proto)
LIBENGINE := $(call lib,engine)
LIBSTORE  := $(call lib,store)
LIBWORKER := $(call lib,worker)
LIBDAEMON := $(call lib,daemon)
# Link order: users before what they use.
DAEMON_LIBS := $(LIBDAEMON) $(LIBWORKER) $(LIBSTORE) $(LIBENGINE) $(LIBPROTO) $(LIBCOMMON)
CLI_LIBS    := $(LIBENGINE) $(LIBPROTO) $(LIBCOMMON)
RESWEEPD  := $(BUILD)/resweepd
RESWEEP   := $(BUILD)/resweep
RESWEEPW  := $(BUILD)/resweep-worker
TESTS     := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
BENCHES   := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
SCHEMA_C  := $(BUILD)/gen/schema_sql.c

LIBS_ENGINE := -lxsmm -lxsmmnoblas -lcjson -ldl -lm -lrt
LIBS_PROTO  := -lcjson -lcrypto -lm
LIBS_WORKER := $(LIBS_ENGINE) -lcrypto
LIBS_DAEMON := -luv -lsqlite3 $(LIBS_WORKER)
LIBS_CLI    := -lsqlite3 $(LIBS_PROTO)

DEPS_STAMP := $(BUILD)/.deps-build

.PHONY: all deps deps-test run test check unit-tests integration-tests bench fuzz \
        install install-python uninstall clean

all: $(DEPS_STAMP) $(RESWEEPD) $(RESWEEP) $(RESWEEPW)

# Missing Debian packages are installed with apt-get (as root) or named.
$(DEPS_STAMP): scripts/deps.sh
	@scripts/deps.sh build
	@mkdir -p $(@D) && touch $@

deps: $(DEPS_STAMP)

# The Slurm packages are for tests/integration/test_slurm.sh alone, which
# skips, saying so, where they cannot be installed.
deps-test:
	@scripts/deps.sh test
	@scripts/deps.sh slurm || echo "resweep: the Slurm packages could not be installed; tests/integration/test_slurm.sh will skip"

# Who sees which private headers: a library its own, its tests its own
# (and the engine's test helpers), the benchmarks the engine's.
$(BUILD)/obj/src/engine/%.o $(BUILD)/obj/tests/engine/%.o $(BUILD)/obj/bench/%.o: PRIV = -Isrc/engine
$(BUILD)/obj/src/store/%.o $(BUILD)/obj/tests/store/%.o: PRIV = -Isrc/store
$(BUILD)/obj/src/daemon/%.o $(BUILD)/obj/tests/daemon/%.o: PRIV = -Isrc/daemon
$(BUILD)/obj/src/worker/%.o $(BUILD)/obj/tests/worker/%.o: PRIV = -Isrc/worker
$(BUILD)/obj/clients/cli/%.o $(BUILD)/obj/tests/cli/%.o: PRIV = -Iclients/cli

# The training step's code is worth -O3 (vectorised loops); see bench/.
# -fno-trapping-math lets GCC turn the piecewise-linear activations'
# selects (x > 0 ? x : slope * x) into vector blends: with the default it
# will not evaluate the multiply speculatively, and without AVX-512's
# masked stores each element stayed a scalar branch (a third of a tiny
# run's time on AVX2 machines). It changes no value: nothing in resweep
# reads the floating-point exception flags.
$(BUILD)/obj/src/engine/kernels.o $(BUILD)/obj/src/engine/model.o: OPT = -O3 -fno-trapping-math

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(PRIV) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(SCHEMA_C): $(SCHEMA_SQL) scripts/embed-schema.sh
	@mkdir -p $(@D)
	scripts/embed-schema.sh $(SCHEMA_SQL) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/schema_sql.o: $(SCHEMA_C)
	@mkdir -p $(@D)
	$(CC) -Isrc/store $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

define LIB_RULE
$$(call lib,$(1)): $$(call obj,$$(SRC_$(1))) $(2)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach l,common proto engine worker daemon,$(eval $(call LIB_RULE,$(l))))
$(eval $(call LIB_RULE,store,$(BUILD)/obj/gen/schema_sql.o))

$(RESWEEPD): $(call obj,src/daemon/main.c) $(DAEMON_LIBS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_DAEMON)

# A worker on another machine: the engine and the protocol, no database.
$(RESWEEPW): $(call obj,src/worker/main.c) $(LIBWORKER) $(LIBENGINE) $(LIBPROTO) $(LIBCOMMON)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_WORKER)

# The CLI speaks the protocol and reads the database: no libuv, and of
# the engine only the configuration and the data generation (`resweep
# export` makes a run's samples again), not the BLAS (layers.py).
$(RESWEEP): $(call obj,$(CLI_SRC)) $(CLI_LIBS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_CLI)

# Each test directory links only its layer and those below it, so a
# module's tests build while another layer is mid-change.
$(BUILD)/tests/common/%: $(BUILD)/obj/tests/common/%.o $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TESTLIBS) -lm

$(BUILD)/tests/proto/%: $(BUILD)/obj/tests/proto/%.o $(LIBPROTO) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TESTLIBS) $(LIBS_PROTO)

$(BUILD)/tests/engine/%: $(BUILD)/obj/tests/engine/%.o $(LIBENGINE) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TESTLIBS) $(LIBS_ENGINE)

$(BUILD)/tests/store/%: $(BUILD)/obj/tests/store/%.o $(LIBSTORE) $(LIBENGINE) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TESTLIBS) -lsqlite3 $(LIBS_ENGINE)

$(BUILD)/tests/worker/%: $(BUILD)/obj/tests/worker/%.o $(LIBWORKER) $(LIBENGINE) $(LIBPROTO) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TESTLIBS) $(LIBS_WORKER)

$(BUILD)/tests/daemon/%: $(BUILD)/obj/tests/daemon/%.o $(DAEMON_LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TESTLIBS) $(LIBS_DAEMON)

# The CLI's own pieces, each test with the one file it tests.
$(BUILD)/tests/cli/test_npy: $(BUILD)/obj/tests/cli/test_npy.o $(call obj,clients/cli/npy.c) $(LIBENGINE) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TESTLIBS) $(LIBS_ENGINE)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIBENGINE) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_ENGINE)

# `make test` is the command .ci/run calls: packages, then every suite on
# the plain build, under ASan+UBSan, under TSan, and the fuzzers
# (scripts/test-all.sh). `make check` is one build's suites.
test: deps-test
	@scripts/test-all.sh

check: deps-test all $(TESTS)
	@BUILD=$(BUILD) scripts/run-tests.sh $(TESTS)

unit-tests: all $(TESTS)
	@BUILD=$(BUILD) scripts/run-tests.sh --unit $(TESTS)

integration-tests: all
	@BUILD=$(BUILD) scripts/run-tests.sh --integration

run: all
	@BUILD=$(BUILD) scripts/run-demo.sh

# Issue 14's three, each against its reference in the same run: the GD
# step against PyTorch in float64 and float32, LIBXSMM against OpenBLAS
# alone, and the tiny sweep against the PyTorch script.
bench: all $(BENCHES)
	@BUILD=$(BUILD) bench/run.sh
	@BUILD=$(BUILD) bench/smallgemm_bench.sh
	@BUILD=$(BUILD) bench/sweep_bench.sh torch

fuzz:
	@scripts/deps.sh fuzz
	@$(MAKE) -f fuzz/fuzz.mk BUILD=build-fuzz

# As root the unit goes where every user's `systemctl --user` finds it
# (PREFIX/lib/systemd/user); otherwise into ~/.config/systemd/user, with
# an environment file to edit. Either way the next steps are printed.
USERUNITDIR ?= $(PREFIX)/lib/systemd/user
install: all install-python
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/examples $(DESTDIR)$(DATADIR)/systemd
	install -m 0755 $(RESWEEPD) $(RESWEEP) $(RESWEEPW) $(DESTDIR)$(BINDIR)/
	install -m 0644 $(wildcard examples/*.json) $(DESTDIR)$(DATADIR)/examples/
	sed 's|@BINDIR@|$(BINDIR)|g' contrib/systemd/resweepd.service.in > $(BUILD)/resweepd.service
	install -m 0644 $(BUILD)/resweepd.service contrib/systemd/resweepd.env $(DESTDIR)$(DATADIR)/systemd/
	@DATADIR_HINT=$(DATADIR)/systemd/resweepd.env scripts/install-unit.sh "$(BUILD)/resweepd.service" "$(DESTDIR)" "$(USERUNITDIR)"

# The package as a wheel (clients/python/_build/backend.py: standard
# library only, no pip or index needed), unpacked into the site directory:
# that is all installing a pure-Python wheel does.
install-python:
	rm -rf $(BUILD)/python $(DESTDIR)$(PYTHONDIR)/resweep $(DESTDIR)$(PYTHONDIR)/resweep-*.dist-info
	install -d $(DESTDIR)$(PYTHONDIR)
	$(PYTHON) -m zipfile -e "$$($(PYTHON) clients/python/_build/backend.py $(BUILD)/python)" $(DESTDIR)$(PYTHONDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/resweepd $(DESTDIR)$(BINDIR)/resweep $(DESTDIR)$(BINDIR)/resweep-worker
	rm -f $(DESTDIR)$(USERUNITDIR)/resweepd.service
	rm -rf $(DESTDIR)$(PYTHONDIR)/resweep $(DESTDIR)$(PYTHONDIR)/resweep-*.dist-info
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf build build-address build-thread build-fuzz

.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
