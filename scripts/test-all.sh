#!/bin/bash
# `make test`, what CI runs: every suite on the plain build, the same
# suites under ASan+UBSan and under TSan (without the long harnesses,
# whose timing-free checks are what matter there), then the fuzzers for a
# bounded time. Goes on after a failure so one run shows everything;
# prints the grand total last and exits non-zero if anything failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
export RESWEEP_TEST_TOTALS; RESWEEP_TEST_TOTALS=$(mktemp)
trap 'rm -f "$RESWEEP_TEST_TOTALS"' EXIT
status=0
stage() {  # name command...
    local name=$1; shift
    local start=$SECONDS
    echo "==== $name"
    if ! "$@"; then
        status=1
        echo "==== $name: FAILED"
    fi
    echo "==== $name: $((SECONDS - start)) s"
}
stage "plain build" make --no-print-directory check
stage "ASan + UBSan" env RESWEEP_LONG_TESTS=0 make --no-print-directory SANITIZE=address check
stage "TSan" env RESWEEP_LONG_TESTS=0 make --no-print-directory SANITIZE=thread check
before=$status
# 40 s a target in CI (make fuzz alone: 60) keeps the whole within CI's
# 30 minutes on a 2-core machine; the seed corpus runs in full either way.
export FUZZ_SECONDS=${FUZZ_SECONDS:-40}
stage "fuzzing ($FUZZ_SECONDS s per target)" make --no-print-directory fuzz
# each fuzz target counts as one test
n_fuzz=$(sed -n 's/^FUZZ_TARGETS ?= //p' fuzz/fuzz.mk | wc -w)
[ "$status" -eq "$before" ] && echo "$n_fuzz 0 0" >>"$RESWEEP_TEST_TOTALS" || echo "0 1 0" >>"$RESWEEP_TEST_TOTALS"
read -r passed failed skipped < <(awk '{p += $1; f += $2; s += $3} END {print p + 0, f + 0, s + 0}' "$RESWEEP_TEST_TOTALS")
echo
echo "all stages: $passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ] || { echo "$passed passed, $((failed > 0 ? failed : 1)) failed"; exit 1; }
echo "$passed passed, $failed failed"
