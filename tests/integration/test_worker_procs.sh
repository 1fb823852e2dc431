#!/bin/bash
# Issue 10 §3: resweepd --worker-processes N. Runs execute in N
# resweep-worker processes over the Unix socket, with results identical to
# the daemon's threads; a run whose process dies (here: SIGSEGV from the
# test, as a crash would) is retried on a new process, and after its job's
# attempts fails with the signal named, while the daemon serves on.
# resweep-test: long
. "$(dirname "$0")/lib.sh"
# Under ASan or TSan a SIGSEGV would be caught and turned into exit status 1: let
# the worker processes die of the signal, as a release build's would.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0"
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}handle_segv=0"

sweep() {
    printf '{"name": "sweep", "base": {"data": {"d": 5, "n": 100}, "train": {"steps": 200, "curve_points": 10}, "analysis": {"lanczos_iters": 10}}, "grid": {"model.width": [4, 8]}, "seeds": 2}\n'
}
long() {
    printf '{"name": "crash", "max_attempts": 2, "base": {"data": {"d": 5, "n": 100}, "model": {"width": 8}, "train": {"steps": %s, "tol": 0, "curve_points": 20}}}\n' "$(steps 2000000)"
}
results() {
    sqlite3 "$1" "SELECT r.idx, printf('%.17g|%.17g|%.17g', x.train_loss, x.gap, x.hess_min)
                  FROM runs r JOIN results x USING (run_id) WHERE r.job_id = 1 ORDER BY 1"
}
# The pid of the worker process holding a run now, or nothing.
holder() {
    rsw --json workers | python3 -c '
import json, sys
for w in json.load(sys.stdin)["workers"]:
    if w["runs"] and w["connected"]:
        print(w["pid"])
        break'
}
has_holder() { [ -n "$(holder)" ]; }
run_is() { [ "$(sq "SELECT attempts || status FROM runs WHERE job_id = $1")" = "$2" ]; }
alive_workers() { [ "$(rsw --json workers | grep -o '"connected":true' | wc -l)" -ge "$1" ]; }

start_daemon local --workers 2
sweep | rsw submit - --wait >/dev/null || bail "the sweep runs on threads"
LOCALDB=$DB
stop_daemon

start_daemon procs --workers 0 --worker-processes 2
wait_until 20 alive_workers 2 || bail "two worker processes register"
ok "two worker processes register"
sweep | rsw submit - --wait >/dev/null || bail "the sweep runs on worker processes"
is "results identical to the threads'" "$(results "$DB")" "$(results "$LOCALDB")"

J=$(long | rsw --json submit - | job_of)
wait_until 30 has_holder
p1=$(holder)
[ -n "$p1" ] || bail "a worker process runs the long run"
kill -SEGV "$p1"
wait_until 30 run_is "$J" 2running ||
    bail "the run starts again after its process crashed" "$(sq "SELECT attempts, status, error FROM runs WHERE job_id = $J")"
ok "the run starts again after its process crashed"
p2=""
for _ in $(seq 100); do p2=$(holder); [ -n "$p2" ] && [ "$p2" != "$p1" ] && break; sleep 0.1; done
[ -n "$p2" ] && [ "$p2" != "$p1" ] && ok "on another process ($p1, then $p2)" || bail "on another process" "$p1 / $p2"
kill -SEGV "$p2"
wait_until 30 run_is "$J" 2failed ||
    bail "after its two attempts the run fails"
err=$(sq "SELECT error FROM runs WHERE job_id = $J")
case "$err" in *"killed by signal 11 (SIGSEGV)"*"attempt 2 of 2"*) ok "its error names the signal: $err" ;;
    *) not_ok "its error names the signal" "$err" ;; esac
check "the daemon serves on" rsw ping
wait_until 20 alive_workers 2 && ok "both worker processes are back" || not_ok "both worker processes are back" "$(rsw workers)"
stop_daemon
is "daemon exits 0" "$?" "0"
