#!/bin/bash
# pause / resume (issue 11): a paused job's queued runs are held and its
# running runs suspend with a checkpoint, at no cost of an attempt; the
# pause survives a shutdown and a kill -9; watch says it and exits 7;
# resume continues every run from its checkpoint, bit-identical to a job
# that was never paused; refusals are sentences; cancel and delete of a
# paused job work.
. "$(dirname "$0")/lib.sh"

# Four runs of a few seconds each on two workers: two run, two wait.
long='{"name": "long", "base": {"data": {"d": 10, "n": 300, "n_test": 100}, "model": {"width": 16}, "train": {"steps": '"$(steps 30000)"', "curve_points": 30}, "analysis": {"lanczos_iters": 20}}, "seeds": 4}'

start_daemon ref --workers 2
printf '%s' "$long" | rsw submit - --wait >/dev/null || bail "the reference job"
want=$(job_dump "$DB" 1)
REF_DB=$DB
stop_daemon

start_daemon p --workers 2 --checkpoint-s 0.2
job=$(printf '%s' "$long" | submit_job)
# Both running runs have trained a while (a checkpoint each): the pause
# lands inside training, not before it.
two_checkpointed() {
    [ "$(sq "SELECT count(*) FROM checkpoints k JOIN runs r USING (run_id) WHERE r.status = 'running'")" = 2 ]
}
wait_until 60 two_checkpointed || bail "two runs checkpointed while running" "$(rsw status "$job")"

out=$(rsw --json pause "$job")
is "pause: the queued runs are held" "$(printf '%s' "$out" | json_get held)" "2"
is "pause: the running runs are told to suspend" "$(printf '%s' "$out" | json_get stopping)" "2"
timeout 60 "$RESWEEP" --socket "$SOCK" watch "$job" >"$T_DIR/watch.out"
is "watch of a paused job exits 7 once no run runs" "$?" "7"
grep -q "job $job is paused: its 4 held runs wait for \`resweep resume $job\`" "$T_DIR/watch.out" &&
    ok "watch says the job is paused and how to resume it" ||
    not_ok "watch says the job is paused" "$(cat "$T_DIR/watch.out")"
is "every run is held in the queue, none running" \
   "$(sq "SELECT status, count(*) FROM runs WHERE job_id = $job GROUP BY status")" "queued|4"
is "a pause costs no attempt" "$(sq "SELECT max(attempts) FROM runs WHERE job_id = $job")" "0"
is "the suspended runs kept their checkpoints" \
   "$(sq "SELECT count(*) FROM checkpoints k JOIN runs r USING (run_id) WHERE r.job_id = $job")" "2"
is "the pause is stored (jobs.paused_at)" "$(sq "SELECT paused_at IS NOT NULL FROM jobs WHERE job_id = $job")" "1"
is "status: state paused" "$(rsw --json status "$job" | json_get state)" "paused"
rsw list >"$T_DIR/list.out"
grep -Eq "^ *$job +long +paused" "$T_DIR/list.out" && ok "list shows the job paused" ||
    not_ok "list shows the job paused" "$(cat "$T_DIR/list.out")"

# The workers are idle, not blocked: another job runs to its end while
# the held runs stay where they are.
# (The two suspended runs keep the started_at of their first start.)
starts() { sq "SELECT count(*), max(attempts), group_concat(coalesce(started_at, '-'), ' ') FROM runs WHERE job_id = $job AND status = 'queued'"; }
held_at=$(starts)
held_still() { is "$1: the held runs did not start" "$(starts)" "$held_at"; }
other=$(tiny_spec 2 50 | submit_job)
check "another job runs to its end meanwhile" timeout 60 "$RESWEEP" --socket "$SOCK" watch "$other"
held_still "with free workers"

# Refusals, as sentences.
rsw pause "$job" 2>"$T_DIR/err"
is "pause of a paused job: exit 1" "$?" "1"
is "pause of a paused job says so" "$(cat "$T_DIR/err")" "resweep: job: job $job is already paused (resweep resume $job)"
rsw pause "$other" 2>"$T_DIR/err"
is "pause of a finished job: exit 1" "$?" "1"
is "pause of a finished job says why" "$(cat "$T_DIR/err")" "resweep: job: job $other has ended: it has no queued or running run to pause"
rsw resume "$other" 2>"$T_DIR/err"
is "resume of a job that is not paused: exit 1" "$?" "1"
is "resume of a job that is not paused says so" "$(cat "$T_DIR/err")" "resweep: job: job $other is not paused; there is nothing to resume"
rsw pause 42 2>"$T_DIR/err"
is "pause of an unknown job names it" "$(cat "$T_DIR/err")" "resweep: job: there is no job 42"
rsw resume 42 2>"$T_DIR/err"
is "resume of an unknown job names it" "$(cat "$T_DIR/err")" "resweep: job: there is no job 42"

# The pause survives a shutdown and a kill -9.
stop_daemon
start_daemon p --workers 2 --checkpoint-s 0.2
is "after a restart: still paused" "$(rsw --json status "$job" | json_get state)" "paused"
other=$(tiny_spec 2 50 | submit_job)
check "after a restart: another job runs to its end" timeout 60 "$RESWEEP" --socket "$SOCK" watch "$other"
held_still "after a restart"
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
start_daemon p --workers 2 --checkpoint-s 0.2
is "after kill -9: still paused" "$(rsw --json status "$job" | json_get state)" "paused"
timeout 30 "$RESWEEP" --socket "$SOCK" watch "$job" >/dev/null
is "after kill -9: watch exits 7" "$?" "7"
held_still "after kill -9"

out=$(rsw resume "$job")
is "resume says how many runs go on" "$out" "job $job resumed: 4 held runs queued again, from their checkpoints where they have one"
timeout 120 "$RESWEEP" --socket "$SOCK" watch "$job" >/dev/null
is "after resume the job ends with every run done" "$?" "0"
is "after resume: no attempt was lost to the pause" "$(sq "SELECT max(attempts) FROM runs WHERE job_id = $job")" "1"
is "after resume: not paused" "$(sq "SELECT paused_at IS NULL FROM jobs WHERE job_id = $job")" "1"
got=$(job_dump "$DB" "$job")
[ -n "$want" ] && [ "$got" = "$want" ] &&
    ok "results, curves, spectra and paths bit-identical to the job never paused ($(printf '%s\n' "$got" | wc -l) rows, 17 digits)" ||
    not_ok "bit-identical to the job never paused" "$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | head -20)"

# Pause and resume at once, while runs are still suspending: they come
# back by themselves, and the job ends once.
j2=$(printf '%s' "$long" | submit_job)
running_in() { [ "$(rsw --json status "$1" | json_get running)" -ge 1 ]; }
wait_until 60 running_in "$j2" || bail "a run of job $j2 running"
rsw pause "$j2" >/dev/null && rsw resume "$j2" >/dev/null
is "pause then resume at once: both succeed" "$?" "0"
timeout 120 "$RESWEEP" --socket "$SOCK" watch "$j2" >/dev/null
is "pause then resume at once: the job ends with every run done" "$?" "0"
is "pause then resume at once: 4 results, none twice" \
   "$(sq "SELECT count(*), count(DISTINCT run_id) FROM results WHERE run_id IN (SELECT run_id FROM runs WHERE job_id = $j2)")" "4|4"

# Cancel of a paused job: its held runs end canceled, with their
# checkpoints; a retry then runs them (the cancel ended the pause).
j3=$(printf '%s' "$long" | submit_job)
wait_until 60 running_in "$j3" || bail "a run of job $j3 running"
rsw pause "$j3" >/dev/null
out=$(rsw --json cancel "$j3")
timeout 60 "$RESWEEP" --socket "$SOCK" watch "$j3" >/dev/null
is "cancel of a paused job: watch exits 5" "$?" "5"
is "cancel of a paused job: every run canceled" \
   "$(sq "SELECT status, count(*) FROM runs WHERE job_id = $j3 GROUP BY status")" "canceled|4"
is "cancel of a paused job: no checkpoint left" \
   "$(sq "SELECT count(*) FROM checkpoints k JOIN runs r USING (run_id) WHERE r.job_id = $j3")" "0"
is "cancel ends the pause" "$(sq "SELECT paused_at IS NULL FROM jobs WHERE job_id = $j3")" "1"
rsw retry "$j3" >/dev/null
timeout 120 "$RESWEEP" --socket "$SOCK" watch "$j3" >/dev/null
is "retry of the canceled paused job runs it to the end" "$?" "0"

# Delete of a paused job once nothing of it runs: the held runs go too.
j4=$(printf '%s' "$long" | submit_job)
wait_until 60 running_in "$j4" || bail "a run of job $j4 running"
rsw pause "$j4" >/dev/null
timeout 60 "$RESWEEP" --socket "$SOCK" watch "$j4" >/dev/null
out=$(rsw delete "$j4")
is "delete of a paused job" "$out" "job $j4 deleted, with its 4 runs"
is "delete of a paused job: nothing of it is left" \
   "$(sq "SELECT (SELECT count(*) FROM runs WHERE job_id = $j4) + (SELECT count(*) FROM jobs WHERE job_id = $j4)")" "0"
j5=$(tiny_spec 2 50 | submit_job)
check "the daemon goes on after the delete" timeout 60 "$RESWEEP" --socket "$SOCK" watch "$j5"
stop_daemon
is "shutdown exits 0" "$?" "0"

# --- the same with a remote worker (resweep-worker over TCP): the pause
# reaches its runs through the heartbeat's "suspend", they hand their
# checkpoints back, and it starts nothing of the job until the resume.
start_daemon remote --workers 0 --listen 127.0.0.1:0 --lease-timeout 5
ADDR=$(rsw --json ping | json_get listen)
"$RESWEEP_BUILD/resweep-worker" --connect "$ADDR" --token-file "$DB.token" \
    --threads 2 --checkpoint-s 0.2 2>>"$T_DIR/worker.log" &
WPID=$!
T_PIDS="$T_PIDS $WPID"
job=$(printf '%s' "$long" | submit_job)
wait_until 60 two_checkpointed || bail "remote: two runs checkpointed while running" "$(rsw status "$job")"
out=$(rsw --json pause "$job")
is "remote: the running runs are told to suspend" "$(printf '%s' "$out" | json_get stopping)" "2"
timeout 60 "$RESWEEP" --socket "$SOCK" watch "$job" >/dev/null
is "remote: watch of the paused job exits 7" "$?" "7"
is "remote: every run held, none lost an attempt" \
   "$(sq "SELECT status, count(*), max(attempts) FROM runs WHERE job_id = $job GROUP BY status")" "queued|4|0"
is "remote: the suspended runs' checkpoints came back" \
   "$(sq "SELECT count(*) FROM checkpoints k JOIN runs r USING (run_id) WHERE r.job_id = $job")" "2"
held_at=$(starts)
other=$(tiny_spec 2 50 | submit_job)
check "remote: another job runs to its end on the worker" timeout 60 "$RESWEEP" --socket "$SOCK" watch "$other"
held_still "remote, with the worker free"
rsw resume "$job" >/dev/null
timeout 120 "$RESWEEP" --socket "$SOCK" watch "$job" >/dev/null
is "remote: after resume the job ends with every run done" "$?" "0"
got=$(job_dump "$DB" "$job")
[ -n "$want" ] && [ "$got" = "$want" ] &&
    ok "remote: bit-identical to the job never paused (17 digits)" ||
    not_ok "remote: bit-identical to the job never paused" "$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | head -20)"
kill -TERM "$WPID" 2>/dev/null
wait "$WPID" 2>/dev/null
stop_daemon
is "remote: shutdown exits 0" "$?" "0"
