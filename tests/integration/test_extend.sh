#!/bin/bash
# extend (issue 11): `--seeds K` gives every cell of a job K new seeds
# after its largest; `--spec FILE` adds only the runs of FILE the job does
# not have (checked as a submission, relative paths against the caller's
# directory); the runs the job had are not run again; an ended job runs
# again; a paused one holds its new runs; a refused extension changes
# nothing.
. "$(dirname "$0")/lib.sh"

start_daemon e --workers 2
spec() {  # widths seeds
    printf '{"name": "ext", "base": {"data": {"d": 5, "n": 100, "n_test": 50}, "train": {"steps": 100, "curve_points": 10}, "analysis": {"lanczos_iters": 10}}, "grid": {"model.width": [%s]}, "seeds": %s}\n' "$1" "$2"
}
job=$(spec "4, 8" 2 | submit_job)
timeout 60 "$RESWEEP" --socket "$SOCK" watch "$job" >/dev/null || bail "the first job ends"
# What the first runs measured and when they ended: an extension must
# leave them as they are.
before=$(sq "SELECT group_concat(idx || ':' || attempts || ':' || finished_at || ':' || printf('%.17g', x.train_loss), ' ') FROM runs r JOIN results x USING (run_id) WHERE job_id = $job")

out=$(rsw extend "$job" --seeds 2)
is "extend --seeds 2: 2 cells x 2 new seeds" "$out" "job $job extended: 4 runs added, 0 already there; 8 runs in all"
# Four runs of 100 steps may all end before status asks, so a job that
# is done again counts when its new runs started after the first ones
# ended.
state=$(rsw --json status "$job" | json_get state)
last=$(sq "SELECT max(finished_at) FROM runs WHERE job_id = $job AND idx < 4")
again=$(sq "SELECT count(*) FROM runs WHERE job_id = $job AND idx >= 4 AND status = 'done' AND started_at >= $last")
case "$state/$again" in queued/*|running/*|done/4) ok "the ended job runs again ($state)" ;;
    *) not_ok "the ended job runs again" "$state, $again new runs done" ;; esac
timeout 60 "$RESWEEP" --socket "$SOCK" watch "$job" >/dev/null
is "the extended job ends with every run done" "$?" "0"
is "each width has seeds 0..3" \
   "$(sq "SELECT width || ':' || group_concat(seed, ',') FROM (SELECT width, seed FROM runs WHERE job_id = $job ORDER BY width, seed) GROUP BY width")" "4:0,1,2,3
8:0,1,2,3"
is "the new runs take the indexes after the job's last" \
   "$(sq "SELECT group_concat(idx, ',') FROM (SELECT idx FROM runs WHERE job_id = $job AND seed >= 2 ORDER BY idx)")" "4,5,6,7"
is "the runs the job had were not run again" \
   "$(sq "SELECT group_concat(idx || ':' || attempts || ':' || finished_at || ':' || printf('%.17g', x.train_loss), ' ') FROM runs r JOIN results x USING (run_id) WHERE job_id = $job AND idx < 4")" "$before"
is "jobs.n_runs counts the new runs" "$(sq "SELECT n_runs FROM jobs WHERE job_id = $job")" "8"
# A new seed's run is the run a job submitted with that seed gets: the
# same numbers.
ref=$(spec "8" 4 | submit_job)
timeout 60 "$RESWEEP" --socket "$SOCK" watch "$ref" >/dev/null
is "a run added with seed 3 measures what a submitted one does (17 digits)" \
   "$(sq "SELECT printf('%.17g %.17g', x.train_loss, x.gap) FROM runs r JOIN results x USING (run_id) WHERE job_id = $job AND width = 8 AND seed = 3")" \
   "$(sq "SELECT printf('%.17g %.17g', x.train_loss, x.gap) FROM runs r JOIN results x USING (run_id) WHERE job_id = $ref AND seed = 3")"

spec "4, 8, 16" 4 >"$T_DIR/more.json"
out=$(rsw extend "$job" --spec "$T_DIR/more.json")
is "extend --spec: only the runs the job lacks are added" "$out" "job $job extended: 4 runs added, 8 already there; 12 runs in all"
timeout 60 "$RESWEEP" --socket "$SOCK" watch "$job" >/dev/null
is "after --spec the job ends with every run done" "$?" "0"
is "width 16 gained seeds 0..3, the others nothing" \
   "$(sq "SELECT group_concat(width || ':' || n, ' ') FROM (SELECT width, count(*) AS n FROM runs WHERE job_id = $job GROUP BY width ORDER BY width)")" "4:4 8:4 16:4"
out=$(rsw --json extend "$job" --spec "$T_DIR/more.json")
is "the same spec again adds nothing" "$(printf '%s' "$out" | json_get added)/$(printf '%s' "$out" | json_get existing)" "0/12"

# Refusals change nothing.
runs_now() { sq "SELECT count(*) || ' ' || (SELECT n_runs FROM jobs WHERE job_id = $job) FROM runs WHERE job_id = $job"; }
was=$(runs_now)
printf '{"base": {"model": {"width": 0}}}' >"$T_DIR/bad.json"
rsw extend "$job" --spec "$T_DIR/bad.json" 2>"$T_DIR/err"
is "an invalid spec is refused: exit 1" "$?" "1"
grep -q "width" "$T_DIR/err" && ok "the refusal names the key ($(cat "$T_DIR/err"))" || not_ok "the refusal names the key" "$(cat "$T_DIR/err")"
printf '{"base": {"data": {"source": "csv", "path": "missing.csv"}, "model": {"width": 4}}, "seeds": 2}' >"$T_DIR/nofile.json"
(cd "$T_DIR" && "$RESWEEP" --socket "$SOCK" extend "$job" --spec nofile.json) 2>"$T_DIR/err"
is "a spec whose data file is missing is refused: exit 1" "$?" "1"
grep -q "$T_DIR/missing.csv" "$T_DIR/err" &&
    ok "its relative data path was resolved against the caller's directory" ||
    not_ok "its relative data path was resolved against the caller's directory" "$(cat "$T_DIR/err")"
is "refused extensions leave the job unchanged" "$(runs_now)" "$was"
rsw extend "$job" 2>"$T_DIR/err"
is "extend without --seeds or --spec: usage (exit 2)" "$?" "2"
rsw extend "$job" --seeds 1 --spec "$T_DIR/more.json" 2>/dev/null
is "extend with both: usage (exit 2)" "$?" "2"
rsw extend "$job" --seeds 0 2>/dev/null
is "extend --seeds 0: usage (exit 2)" "$?" "2"
rsw extend 42 --seeds 1 2>"$T_DIR/err"
is "extend of an unknown job names it" "$(cat "$T_DIR/err")" "resweep: job: there is no job 42"
is "after the refusals: still unchanged" "$(runs_now)" "$was"

# A paused job holds the runs an extension gives it.
slow='{"name": "slow", "base": {"data": {"d": 10, "n": 300, "n_test": 100}, "model": {"width": 16}, "train": {"steps": '"$(steps 30000)"'}, "analysis": {"hessian": false}}, "seeds": 3}'
j2=$(printf '%s' "$slow" | submit_job)
running_in() { [ "$(rsw --json status "$1" | json_get running)" -ge 1 ]; }
wait_until 60 running_in "$j2" || bail "a run of job $j2 running"
rsw pause "$j2" >/dev/null
timeout 60 "$RESWEEP" --socket "$SOCK" watch "$j2" >/dev/null
is "the slow job is paused" "$?" "7"
out=$(rsw extend "$j2" --seeds 1)
is "extend of a paused job" "$out" "job $j2 extended: 1 runs added, 0 already there; 4 runs in all"
is "the paused job is still paused" "$(rsw --json status "$j2" | json_get state)" "paused"
is "its new run is held with the others" \
   "$(sq "SELECT count(*) FROM runs WHERE job_id = $j2 AND status = 'queued' AND attempts = 0 AND seed = 3")" "1"
rsw resume "$j2" >/dev/null
timeout 120 "$RESWEEP" --socket "$SOCK" watch "$j2" >/dev/null
is "after resume the extended job ends with its 4 runs done" \
   "$?:$(sq "SELECT count(*) FROM runs WHERE job_id = $j2 AND status = 'done'")" "0:4"
stop_daemon
is "shutdown exits 0" "$?" "0"
