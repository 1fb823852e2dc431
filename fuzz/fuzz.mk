# fuzz.mk — libFuzzer targets (docs/fuzzing.md). From the repository root:
#
#   make fuzz                          build, then run each target for
#                                      FUZZ_SECONDS (default 60) on a copy of
#                                      its seed corpus; fails on any finding
#   make fuzz FUZZ_SECONDS=600         longer
#   make fuzz FUZZ_SECONDS=0           the seed corpus only (regressions)
#   make -f fuzz/fuzz.mk build         build only (build-fuzz/fuzz_*)
#   make -f fuzz/fuzz.mk run FUZZ_TARGETS=fuzz_spec
#
# Needs clang with libFuzzer (Debian: clang, libclang-rt-14-dev; the root
# Makefile's `fuzz` target installs them through scripts/deps.sh fuzz).
# Only the modules under test are linked: no libuv, no SQLite.

BUILD        ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= fuzz_frame fuzz_spec fuzz_engine
# Extra libFuzzer flags for `run`, e.g. FUZZ_FLAGS=-fork=4 on spare cores
FUZZ_FLAGS   ?=

SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer
WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CPPFLAGS := -Iinclude -Isrc/daemon -Isrc/engine -Ifuzz -D_GNU_SOURCE -DRESWEEP_VERSION='"fuzz"'
CFLAGS   := -g -O1 $(WARN) $(SAN) -fsanitize=fuzzer-no-link -MMD -MP
LDFLAGS  := $(SAN) -fsanitize=fuzzer
LDLIBS   := -lxsmm -lxsmmnoblas -lcjson -lcrypto -ldl -lm -lrt

# What each target links: the code it exercises and what that needs.
COMMON_SRC := src/common/err.c src/common/suggest.c src/common/utf8.c src/common/rng.c src/engine/config.c \
              src/daemon/spec.c $(wildcard src/proto/*.c)
fuzz_frame_SRC := fuzz/fuzz_frame.c $(COMMON_SRC)
fuzz_spec_SRC  := fuzz/fuzz_spec.c $(COMMON_SRC)
# Whole runs: the engine and what it uses.
fuzz_engine_SRC := fuzz/fuzz_engine.c $(wildcard src/engine/*.c) \
                   $(filter-out src/engine/config.c,$(filter src/common/%.c,$(COMMON_SRC))) \
                   $(filter-out $(COMMON_SRC),$(wildcard src/common/*.c))

# Per-target limits: inputs up to max_len bytes, 10 s per input at most.
fuzz_frame_OPTS := -max_len=16384
fuzz_spec_OPTS  := -max_len=8192
fuzz_engine_OPTS := -max_len=64
RUN_OPTS := -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
BINS    := $(addprefix $(BUILD)/,$(FUZZ_TARGETS))

.PHONY: all build run clean
.DEFAULT_GOAL := all

all: run

build: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

.SECONDEXPANSION:
$(BINS): $(BUILD)/%: $$(call obj,$$($$*_SRC))
	$(FUZZ_CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Each target runs on a scratch copy of its corpus (new inputs land there,
# not in the repository) with its dictionary, one target at a time. A
# crash, leak, timeout or broken property stops it with a non-zero status
# and leaves the input in $(BUILD)/crashes/; the first failing target fails
# the run.
.NOTPARALLEL:
run: build $(addprefix run-,$(FUZZ_TARGETS))

run-%: $(BUILD)/%
	@mkdir -p $(BUILD)/crashes
	@set -e; t=$*; name=$${t#fuzz_}; \
	work=$$(mktemp -d "$${TMPDIR:-/tmp}/resweep-$$t.XXXXXX"); \
	trap 'rm -rf "$$work"' EXIT; \
	cp -R fuzz/corpus/$$name/. "$$work/"; \
	echo "fuzz: $$t for $(FUZZ_SECONDS) s on $$(ls "$$work" | wc -l) seeds"; \
	limit=-max_total_time=$(FUZZ_SECONDS); \
	[ "$(FUZZ_SECONDS)" -gt 0 ] || limit=-runs=0; \
	rc=0; \
	UBSAN_OPTIONS=$${UBSAN_OPTIONS:-print_stacktrace=1} \
	$< "$$work" -dict=fuzz/$$name.dict $$limit \
	    $(RUN_OPTS) $($*_OPTS) -artifact_prefix=$(BUILD)/crashes/$$t- \
	    $(FUZZ_FLAGS) > $(BUILD)/$$t.log 2>&1 || rc=$$?; \
	grep -E '^#[0-9]+[[:space:]]+DONE|^stat::(average_exec|new_units)' \
	    $(BUILD)/$$t.log || true; \
	if [ $$rc -ne 0 ]; then \
	    tail -n 40 $(BUILD)/$$t.log; \
	    echo "fuzz: $$t FAILED (log $(BUILD)/$$t.log, input in $(BUILD)/crashes/)"; \
	    exit 1; \
	fi; \
	echo "fuzz: $$t ok"

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
