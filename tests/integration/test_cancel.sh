#!/bin/bash
# Cancel in the middle of a sweep: queued runs are canceled at once,
# running ones stop at their next poll, nothing is left queued or running,
# the daemon goes on with other work, and retry brings the runs back.
. "$(dirname "$0")/lib.sh"

start_daemon c --workers 2
# Runs of a second or two each, so that the cancel lands mid-sweep.
slow='{"name": "slow", "base": {"data": {"d": 10, "n": 300, "n_test": 100}, "model": {"width": 16}, "train": {"steps": '"$(steps 20000)"', "curve_points": 20}, "analysis": {"hessian": false}}, "seeds": 8}'
job=$(printf '%s' "$slow" | rsw --json submit - | job_of)
is "slow job submitted" "$job" "1"
one_done_one_running() {
    local st; st=$(rsw --json status 1)
    [ "$(printf '%s' "$st" | json_get done)" -ge 1 ] &&
        [ "$(printf '%s' "$st" | json_get running)" -ge 1 ]
}
wait_until 120 one_done_one_running || bail "a run done and one running" "$(rsw status 1)"
ok "a run done and one running"

out=$(rsw --json cancel 1)
canceled=$(printf '%s' "$out" | json_get canceled)
stopping=$(printf '%s' "$out" | json_get stopping)
[ "${canceled:-0}" -ge 1 ] && ok "cancel: queued runs canceled ($canceled)" || not_ok "cancel: queued runs canceled" "$out"
[ "${stopping:-0}" -ge 1 ] && ok "cancel: running runs told to stop ($stopping)" || not_ok "cancel: running runs told to stop" "$out"

timeout 30 "$RESWEEP" --socket "$SOCK" watch 1 >"$T_DIR/watch.out"
is "watch of the canceled job exits 5" "$?" "5"
is "nothing queued or running" "$(sq "SELECT count(*) FROM runs WHERE status IN ('queued', 'running')")" "0"
# A run told to stop may finish anyway: one whose end was being committed
# when the cancel came.
stopped=$(sq "SELECT count(*) FROM runs WHERE job_id = 1 AND status = 'canceled' AND attempts = 1")
[ "$stopped" -ge 1 ] && [ "$stopped" -le "$stopping" ] &&
    ok "running runs stopped ($stopped of $stopping; the others had finished training)" ||
    not_ok "running runs stopped" "$stopped canceled after they started, $stopping told to stop"
is "canceled = queued canceled + running stopped" \
   "$(sq "SELECT count(*) FROM runs WHERE status = 'canceled'")" "$((canceled + stopped))"
is "done + canceled = all" "$(sq "SELECT count(*) FROM runs WHERE status IN ('done', 'canceled')")" "8"
is "canceled runs have no result" \
   "$(sq "SELECT count(*) FROM runs r JOIN results x USING (run_id) WHERE r.status = 'canceled'")" "0"
is "stopped runs say why" \
   "$(sq "SELECT count(*) FROM runs WHERE status = 'canceled' AND attempts = 1 AND error LIKE '%cancel%'")" "$stopped"
is "the job records its cancellation" "$(sq 'SELECT canceled_at IS NOT NULL FROM jobs WHERE job_id = 1')" "1"
is "status agrees with the database" \
   "$(rsw --json status 1 | json_get canceled)" "$((canceled + stopped))"

j2=$(tiny_spec 4 100 | rsw --json submit - | job_of)
check "a job submitted after the cancel runs to the end" timeout 60 "$RESWEEP" --socket "$SOCK" watch "$j2"

out=$(rsw --json retry 1)
is "retry queues the canceled runs again" "$(printf '%s' "$out" | json_get requeued)" "$((canceled + stopped))"
timeout 120 "$RESWEEP" --socket "$SOCK" watch 1 >/dev/null
is "after retry the job ends with every run done" "$?" "0"
is "8 results, none twice" "$(sq 'SELECT count(*), count(DISTINCT run_id) FROM results WHERE run_id IN (SELECT run_id FROM runs WHERE job_id = 1)')" "8|8"

# Cancel and retry at once, while runs are still stopping: those go on or
# come back by themselves, and the job ends with every run done without
# a second retry.
j3=$(printf '%s' "$slow" | rsw --json submit - | job_of)
running_in() { [ "$(rsw --json status "$1" | json_get running)" -ge 1 ]; }
wait_until 120 running_in "$j3" || bail "a run of job $j3 running"
rsw cancel "$j3" >/dev/null && rsw retry "$j3" >"$T_DIR/retry.out" 2>&1
is "cancel then retry: retry exits 0" "$?" "0"
timeout 120 "$RESWEEP" --socket "$SOCK" watch "$j3" >/dev/null
is "cancel then retry: the job ends with every run done" "$?" "0"
is "cancel then retry: 8 results, none twice" \
   "$(sq "SELECT count(*), count(DISTINCT run_id) FROM results WHERE run_id IN (SELECT run_id FROM runs WHERE job_id = $j3)")" "8|8"

# The same with both requests in one write, so that the retry reaches the
# daemon while the runs are still training: they are taken back (the
# reply's "resumed"), or come back by themselves if they stopped first.
j4=$(printf '%s' "$slow" | rsw --json submit - | job_of)
wait_until 120 running_in "$j4" || bail "a run of job $j4 running"
out=$(perl "$(dirname "$0")/rawclient.pl" "$SOCK" pipeline 2 \
      "$(frame_hex '{"v":1,"id":1,"op":"cancel","job":'"$j4"'}')$(frame_hex '{"v":1,"id":2,"op":"retry","job":'"$j4"'}')")
resumed=$(printf '%s\n' "$out" | grep '"id":2' | json_get resumed)
echo "# cancel and retry in one write: $resumed runs resumed"
[ -n "$resumed" ] && ok "cancel and retry in one write: both answered" ||
    not_ok "cancel and retry in one write: both answered" "$out"
timeout 120 "$RESWEEP" --socket "$SOCK" watch "$j4" >/dev/null
is "cancel and retry in one write: the job ends with every run done" "$?" "0"
is "cancel and retry in one write: 8 results, none twice" \
   "$(sq "SELECT count(*), count(DISTINCT run_id) FROM results WHERE run_id IN (SELECT run_id FROM runs WHERE job_id = $j4)")" "8|8"

rsw cancel 1 >"$T_DIR/out" 2>&1
is "cancel of a finished job cancels nothing" "$(cat "$T_DIR/out")" "job 1: 0 queued runs canceled, 0 running runs stopping"
rsw cancel 42 2>"$T_DIR/err"
is "cancel of an unknown job: exit 1" "$?" "1"
is "cancel of an unknown job names it" "$(cat "$T_DIR/err")" "resweep: job: there is no job 42"
rsw cancel abc 2>/dev/null
is "cancel with a bad job id: usage (exit 2)" "$?" "2"
stop_daemon
is "shutdown exits 0" "$?" "0"
