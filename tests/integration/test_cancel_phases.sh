#!/bin/bash
# Issue 9 §4: cancel and shutdown reach a run outside its training steps.
# A run canceled while it generates its data, or while it fits its linear
# baseline, ends canceled within 2 s (the engine's contract is 100 ms; the
# rest is the CLI, the store thread's commit and this script's 0.1 s
# polling); shutdown and SIGTERM during those phases exit 0 within the
# documented 5 s, and the run, which had nothing worth checkpointing yet,
# is queued again and ends done after a restart. Before the poller each
# of these waited for the phase to end: seconds, or the stuck-worker path
# of shutdown. tests/engine/test_cancel.c measures the engine's side.
. "$(dirname "$0")/lib.sh"

# Data generation of about 3 s (12,000 samples of a teacher 500 wide on
# 500 features; longer under the sanitizers), nothing after it to speak of.
gen='{"name": "gen", "base": {"data": {"d": 500, "n": 12000, "n_test": 0, "teacher_width": 500}, "train": {"steps": 0, "curve_points": 0}, "analysis": {"hessian": false}}}'
# A logistic baseline of about 3.5 s (Newton on 6000 x 1500: 72 MB), after
# 0.3 s of data generation.
fit='{"name": "fit", "base": {"data": {"d": 1500, "n": 6000, "n_test": 0, "target": "linear", "flip": 0.1}, "loss": "logistic", "train": {"steps": 0, "curve_points": 0}, "analysis": {"hessian": false}}}'

now_ms() { echo $(($(date +%s%N) / 1000000)); }
run_status() { sq "SELECT status FROM runs WHERE job_id = $1"; }
is_running() { [ "$(run_status "$1")" = running ]; }
is_canceled() { [ "$(run_status "$1")" = canceled ]; }

# cancel_during NAME SPEC DELAY_S: submit, wait until the run is running
# and DELAY_S more, cancel, and time until the run is canceled.
cancel_during() {
    local name=$1 spec=$2 delay=$3 job t0 ms
    job=$(printf '%s' "$spec" | rsw --json submit - | job_of)
    wait_until 30 is_running "$job" || bail "$name: the run starts" "$(rsw status "$job")"
    sleep "$delay"
    t0=$(now_ms)
    rsw cancel "$job" >/dev/null || not_ok "$name: cancel answers"
    wait_until 10 is_canceled "$job"
    ms=$(($(now_ms) - t0))
    is "$name: the run ends canceled" "$(run_status "$job")" "canceled"
    [ "$ms" -lt 2000 ] && ok "$name: canceled within 2 s ($ms ms)" ||
        not_ok "$name: canceled within 2 s ($ms ms)"
    is "$name: it never reached training (no curve point)" \
       "$(sq "SELECT count(*) FROM curves c JOIN runs r USING (run_id) WHERE r.job_id = $job")" "0"
    is "$name: its error says why" \
       "$(sq "SELECT error LIKE '%cancel%' FROM runs WHERE job_id = $job")" "1"
}

start_daemon c --workers 1
cancel_during "data generation" "$gen" 0.5
cancel_during "linear fit" "$fit" 1.0
j=$(tiny_spec 1 50 | rsw --json submit - | job_of)
check "the worker goes on with the next job" timeout 60 "$RESWEEP" --socket "$SOCK" watch "$j"

# stop_during NAME SPEC DELAY_S HOW: the daemon stopped (the shutdown
# operation, or a signal) while the run is in a long phase.
stop_during() {
    local name=$1 spec=$2 delay=$3 how=$4 job t0 ms rc
    job=$(printf '%s' "$spec" | rsw --json submit - | job_of)
    wait_until 30 is_running "$job" || bail "$name: the run starts" "$(rsw status "$job")"
    sleep "$delay"
    t0=$(now_ms)
    if [ "$how" = shutdown ]; then rsw shutdown >/dev/null; else kill -"$how" "$DPID"; fi
    rc=0
    wait "$DPID" || rc=$?
    ms=$(($(now_ms) - t0))
    is "$name: $how exits 0" "$rc" "0"
    [ "$ms" -lt 5000 ] && ok "$name: $how within 5 s ($ms ms)" ||
        not_ok "$name: $how within 5 s ($ms ms)"
    ! grep -q "stuck worker" "$LOG" && ok "$name: no worker left stuck" ||
        not_ok "$name: no worker left stuck" "$(grep stuck "$LOG")"
    is "$name: the run is queued again" "$(run_status "$job")" "queued"
    is "$name: a suspension costs no attempt" \
       "$(sq "SELECT attempts FROM runs WHERE job_id = $job")" "0"
    start_daemon c --workers 1
    check "$name: after a restart the run ends done" \
        timeout 120 "$RESWEEP" --socket "$SOCK" watch "$job"
}

stop_during "data generation" "$gen" 0.5 shutdown
stop_during "linear fit" "$fit" 1.0 TERM
stop_daemon
is "the last shutdown exits 0" "$?" "0"
