#!/bin/bash
# Runs test binaries and integration scripts, each in its own process and
# temporary directory with a timeout, and prints "N passed, N failed" last.
#   scripts/run-tests.sh [--unit|--integration] [binaries...]
# Test programs speak TAP (cmocka with CMOCKA_MESSAGE_OUTPUT=TAP, and the
# integration scripts through tests/integration/lib.sh).
set -u
mode=all
case "${1:-}" in --unit) mode=unit; shift ;; --integration) mode=integration; shift ;; esac
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
export RESWEEP_BUILD="$top/$BUILD"
export CMOCKA_MESSAGE_OUTPUT=TAP
timeout_s=${RESWEEP_TEST_TIMEOUT:-600}
passed=0 failed=0 skipped=0 failures=()

run_one() {  # name command...
    local name=$1; shift
    local dir; dir=$(mktemp -d "${TMPDIR:-/tmp}/resweep-test.XXXXXX")
    local log="$dir/log" rc=0
    local start=$SECONDS
    (cd "$dir" && TMPDIR="$dir" timeout -k 10 "$timeout_s" "$@") >"$log" 2>&1 || rc=$?
    local ok notok skip
    ok=$(grep -E '^ok ' "$log" | grep -cvE '# SKIP' || true)
    notok=$(grep -E '^not ok ' "$log" | grep -cvE '# SKIP' || true)
    skip=$(grep -cE '^(not )?ok .*# SKIP' "$log" || true)
    skipped=$((skipped + skip))
    if [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ]; then
        notok=1
        [ "$rc" -eq 124 ] && echo "not ok - $name timed out after ${timeout_s}s" >>"$log"
        [ "$rc" -ne 124 ] && echo "not ok - $name exited with status $rc" >>"$log"
    fi
    passed=$((passed + ok)); failed=$((failed + notok))
    printf '%-48s %4d passed %4d failed %3d skipped %4ds\n' "$name" "$ok" "$notok" "$skip" $((SECONDS - start))
    if [ "$notok" -gt 0 ]; then
        failures+=("$name")
        echo "---- $name ----"; tail -n 60 "$log"; echo "----"
    fi
    rm -rf "$dir"
}

if [ "$mode" != integration ]; then
    for t in "$@"; do run_one "${t#$BUILD/tests/}" "$top/$t"; done
fi
# Scripts marked "# resweep-test: long" (minutes of work: the crash and
# memory harnesses) run unless RESWEEP_LONG_TESTS=0, which the sanitizer
# builds set: their timing-free checks matter there, not hours of waiting.
if [ "$mode" != unit ]; then
    for s in "$top"/tests/integration/test_*.sh; do
        [ -e "$s" ] || continue
        name="integration/$(basename "$s")"
        if [ "${RESWEEP_LONG_TESTS:-1}" = 0 ] && grep -q '^# resweep-test: long' "$s"; then
            printf '%-48s    0 passed    0 failed   1 skipped (long; plain build only)\n' "$name"
            skipped=$((skipped + 1))
            continue
        fi
        run_one "$name" bash "$s"
    done
fi
echo
[ ${#failures[@]} -gt 0 ] && echo "failing: ${failures[*]}"
[ -n "${RESWEEP_TEST_TOTALS:-}" ] && echo "$passed $failed $skipped" >>"$RESWEEP_TEST_TOTALS"
[ "$skipped" -gt 0 ] && echo "($skipped skipped: see the lines above)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
