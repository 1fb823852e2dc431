# tests/integration/lib.sh — sourced by tests/integration/test_*.sh.
#
# Each test starts the REAL daemon ($RESWEEP_BUILD/resweepd) on a socket and
# database in its own temporary directory and drives it with the REAL CLI
# ($RESWEEP_BUILD/resweep). Results are TAP lines ("ok N - ...",
# "not ok N - ..."), the plan comes last; every daemon a test started is
# stopped on exit, whatever happened, and the directory removed.
#
#   start_daemon NAME [resweepd options]   sets SOCK, DB, LOG, DPID
#   rsw ARGS...        the CLI on that daemon
#   sq SQL             sqlite3 on its database
#   check DESC CMD...  ok when CMD succeeds
#   is DESC GOT WANT   ok when equal
#   wait_until SECONDS CMD...   polls CMD every 0.1 s
#   stop_daemon        shutdown through the CLI; returns the daemon's status
#   at_exit CMD        runs CMD (a string for eval) when the test exits,
#                      before the daemons are stopped; the last one first

set -u
: "${RESWEEP_BUILD:?run through scripts/run-tests.sh, or set RESWEEP_BUILD to the build directory}"
RESWEEPD="$RESWEEP_BUILD/resweepd"
RESWEEP="$RESWEEP_BUILD/resweep"
if [ ! -x "$RESWEEPD" ] || [ ! -x "$RESWEEP" ]; then
    echo "not ok 1 - $RESWEEPD and $RESWEEP are built"
    echo "1..1"
    exit 1
fi
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/it.XXXXXX") || exit 1
chmod 700 "$T_DIR"
T_N=0
T_FAILED=0
T_PIDS=""
SOCK="" DB="" LOG="" DPID=""
T_AT_EXIT=""
unset RESWEEP_SOCKET RESWEEP_DB

at_exit() { T_AT_EXIT="$1; $T_AT_EXIT"; }

_t_cleanup() {
    local p
    [ -n "$T_AT_EXIT" ] && eval "$T_AT_EXIT"
    for p in $T_PIDS; do
        kill -0 "$p" 2>/dev/null || continue
        kill -TERM "$p" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    wait 2>/dev/null
    echo "1..$T_N"
    rm -rf "$T_DIR"
    [ "$T_FAILED" -eq 0 ]
}
trap '_t_cleanup; exit $?' EXIT
trap 'exit 1' INT TERM

ok() { T_N=$((T_N + 1)); echo "ok $T_N - $1"; }
not_ok() {
    T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1))
    echo "not ok $T_N - $1"
    [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/#   /'
    return 0
}
check() {
    local desc=$1; shift
    local out
    if out=$("$@" 2>&1); then ok "$desc"; else not_ok "$desc" "$out"; fi
}
is() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $2
want: $3"; fi
}
# Fails the whole test: for steps later checks cannot do without.
bail() {
    not_ok "$1" "${2:-}"
    [ -n "$LOG" ] && [ -f "$LOG" ] && tail -n 30 "$LOG" | sed 's/^/# log: /'
    exit 1
}

wait_until() {
    local secs=$1; shift
    local i
    for i in $(seq $((secs * 10))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# wait_until for a condition written as shell text, evaluated again at
# every try: `wait_for 30 '[ "$(sq "SELECT ...")" = 2 ]'`. (Passing
# `test "$(sq ...)" = 2` to wait_until would run the query once, before
# the first try, and wait the whole time for a value that cannot change.)
wait_for() {
    local secs=$1 cond=$2
    local i
    for i in $(seq $((secs * 10))); do
        eval "$cond" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# Training under ThreadSanitizer is about 8 times slower. Tests whose runs
# must last long enough for a signal or a cancel to land inside them scale
# their step counts with `steps N`, so that a run lasts about as long in
# every build and the suites stay within CI's time. RESWEEP_TEST_SLOWDOWN
# overrides the factor.
case "$RESWEEP_BUILD" in
    *-thread) T_SLOWDOWN=8 ;;
    *) T_SLOWDOWN=1 ;;
esac
T_SLOWDOWN=${RESWEEP_TEST_SLOWDOWN:-$T_SLOWDOWN}
steps() { local s=$(($1 / T_SLOWDOWN)); echo $((s > 0 ? s : 1)); }

rsw() { "$RESWEEP" --socket "$SOCK" --db "$DB" "$@"; }
sq() { sqlite3 -batch -noheader "$DB" "$@"; }

start_daemon() {
    local name=$1; shift
    SOCK="$T_DIR/$name.sock"
    DB="$T_DIR/$name.db"
    LOG="$T_DIR/$name.log"
    "$RESWEEPD" --socket "$SOCK" --db "$DB" "$@" 2>>"$LOG" &
    DPID=$!
    T_PIDS="$T_PIDS $DPID"
    if ! wait_until 20 rsw ping; then
        bail "resweepd $name starts" "$(cat "$LOG")"
    fi
}

# Shuts the daemon down with the CLI; the daemon's exit status.
stop_daemon() {
    rsw shutdown >/dev/null 2>&1
    local rc=0
    wait "$DPID" 2>/dev/null || rc=$?
    return "$rc"
}

# A frame (4-byte big-endian length, then the JSON) as hex, for
# rawclient.pl's bytes and pipeline modes. ASCII JSON only.
frame_hex() { printf '%08x' "${#1}"; printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

# The job id in a `resweep --json submit` reply.
job_of() { sed -n 's/.*"job":\([0-9][0-9]*\).*/\1/p' | head -n 1; }

# A JSON value of the first "key": in text (numbers and strings only).
json_get() {
    sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -n 1
}

# A small, fast sweep spec: n runs of d=5, n=100 data, `steps` GD steps.
tiny_spec() {  # seeds steps [extra top-level members]
    printf '{"name": "tiny", "base": {"data": {"d": 5, "n": 100, "n_test": 100}, "model": {"width": 8}, "train": {"steps": %s, "curve_points": 20}, "analysis": {"lanczos_iters": 20}}, "seeds": %s%s}\n' \
        "$2" "$1" "${3:+, $3}"
}

# Every stored number of a job's runs, to 17 digits: results (less the
# timings), curves, spectra, paths and slices, by run index; two databases that ran the same job
# the same way print the same text.
job_dump() {  # db job
    local db=$1 cols
    cols=$(sqlite3 "$db" "SELECT group_concat('printf(''%.17g'',' || name || ')', ',')
                          FROM pragma_table_info('results')
                          WHERE name NOT IN ('run_id', 'train_s', 'analysis_s', 'total_s')")
    sqlite3 "$db" "SELECT r.idx, $cols FROM runs r JOIN results x USING (run_id)
                   WHERE r.job_id = $2 ORDER BY r.idx"
    sqlite3 "$db" "SELECT r.idx, c.step, printf('%.17g|%.17g|%.17g|%.17g', c.lr,
                   c.train_loss, c.test_loss, c.grad_norm)
                   FROM runs r JOIN curves c USING (run_id)
                   WHERE r.job_id = $2 ORDER BY 1, 2"
    sqlite3 "$db" "SELECT r.idx, s.bin, printf('%.17g|%.17g|%.17g', s.lo, s.hi,
                   s.mass) FROM runs r JOIN spectra s USING (run_id)
                   WHERE r.job_id = $2 ORDER BY 1, 2"
    sqlite3 "$db" "SELECT r.idx, p.point, printf('%.17g', p.loss)
                   FROM runs r JOIN paths p USING (run_id)
                   WHERE r.job_id = $2 ORDER BY 1, 2"
    sqlite3 "$db" "SELECT r.idx, s.i, s.j, printf('%.17g|%.17g|%.17g', s.a, s.b,
                   s.loss) FROM runs r JOIN slices s USING (run_id)
                   WHERE r.job_id = $2 ORDER BY 1, 2, 3"
}
# The job id of a spec on stdin, submitted without waiting.
submit_job() { rsw --json submit - | job_of; }
