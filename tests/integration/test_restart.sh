#!/bin/bash
# Signals and crashes: SIGTERM and SIGINT stop the daemon with 0 within 5 s,
# checkpointing running runs, which resume at the next start and end with
# results bit-identical to an uninterrupted run; after kill -9 the runs
# left running go back to the queue and every run ends exactly once.
. "$(dirname "$0")/lib.sh"

# Runs of a few seconds each.
long='{"name": "long", "base": {"data": {"d": 10, "n": 300, "n_test": 100}, "model": {"width": 16}, "train": {"steps": '"$(steps 30000)"', "curve_points": 30}, "analysis": {"hessian": false}}, "seeds": 2}'
results() { sq "SELECT group_concat(printf('%.17g %.17g %d', train_loss, gap, steps_done), ';') FROM (SELECT * FROM run_results WHERE job_id = 1 ORDER BY idx)"; }

# The reference: the same job, never interrupted.
start_daemon ref --workers 2
printf '%s' "$long" | rsw submit - --wait >/dev/null || bail "the reference job"
want=$(results)
stop_daemon

for sig in TERM INT; do
    rm -f "$T_DIR/sig.db"*
    start_daemon sig --workers 2 --checkpoint-s 0.2
    printf '%s' "$long" | rsw submit - >/dev/null
    wait_until 30 sh -c "[ \"\$(sqlite3 '$DB' 'SELECT count(*) FROM checkpoints')\" = 2 ]" ||
        bail "SIG$sig: both runs checkpointed while running"
    t0=$(date +%s%N)
    kill -"$sig" "$DPID"
    wait "$DPID"
    rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    is "SIG$sig: exit status 0" "$rc" "0"
    [ "$ms" -lt 5000 ] && ok "SIG$sig: stopped within 5 s ($ms ms)" || not_ok "SIG$sig: stopped within 5 s ($ms ms)"
    is "SIG$sig: the runs are queued again, none running" "$(sq "SELECT count(*) FROM runs WHERE status = 'queued'")" "2"
    is "SIG$sig: a suspension costs no attempt" "$(sq 'SELECT max(attempts) FROM runs')" "0"
    is "SIG$sig: their checkpoints are kept" "$(sq 'SELECT count(*) FROM checkpoints')" "2"
    grep -q "shutting down" "$LOG" && ok "SIG$sig: logged" || not_ok "SIG$sig: logged"
    start_daemon sig --workers 2
    check "SIG$sig: after a restart the job ends" timeout 120 "$RESWEEP" --socket "$SOCK" watch 1
    is "SIG$sig: results bit-identical to the uninterrupted run" "$(results)" "$want"
    stop_daemon
done

# kill -9 in the middle: runs left running are queued again. Runs of
# about a second, and the kill only once the database shows some done and
# some running, so that it lands inside the sweep on a fast machine too.
start_daemon k --workers 2
tiny_spec 6 "$(steps 20000)" | rsw submit - >/dev/null
mid_sweep() {
    [ "$(sq "SELECT count(*) FILTER (WHERE status = 'done') >= 2 AND
                    count(*) FILTER (WHERE status = 'running') >= 1 FROM runs")" = 1 ]
}
wait_until 120 mid_sweep || bail "runs done and running before the kill"
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
left=$(sq "SELECT count(*) FROM runs WHERE status = 'running'")
start_daemon k --workers 2
[ "$left" -gt 0 ] && grep -q "recovered from a crash: $left runs queued again" "$LOG" &&
    ok "restart after kill -9 requeues the $left runs left running" ||
    not_ok "restart after kill -9 requeues the runs left running" "$(grep recovered "$LOG")"
check "and the job runs to its end" timeout 120 "$RESWEEP" --socket "$SOCK" watch 1
is "every run done, each result stored once" \
   "$(sq "SELECT count(*), count(DISTINCT x.run_id) FROM runs r JOIN results x USING (run_id) WHERE r.status = 'done'")" "6|6"
stop_daemon
is "integrity_check" "$(sq 'PRAGMA integrity_check')" "ok"
