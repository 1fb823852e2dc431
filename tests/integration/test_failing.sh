#!/bin/bash
# Issue 4 §7: a run that fails (missing CSV, a bad cell) is recorded with
# its reason and never stops the sweep; a diverging run is a result, not a
# failure; `retry` queues a job's failed runs again once the cause is gone.
# The daemon checks the files at submission (test_data_check.sh), so these
# go bad after it: while a long job holds both workers.
. "$(dirname "$0")/lib.sh"

good="$T_DIR/good.csv" missing="$T_DIR/later.csv" bad="$T_DIR/bad.csv"
awk 'BEGIN { print "x1,x2,y"; for (i = 1; i <= 60; i++) printf "%.3f,%.3f,%.3f\n", i / 60, (i % 7) / 7, 2 * i / 60 - (i % 7) / 7 }' >"$good"
cp "$good" "$missing"
cp "$good" "$bad"

start_daemon f --workers 2
H=$(printf '{"name": "hold", "priority": 5, "base": {"data": {"d": 5, "n": 100}, "train": {"steps": 100000000, "tol": 0}}, "seeds": 2}' | submit_job)
wait_for 30 'test "$(sq "SELECT count(*) FROM runs WHERE job_id = $H AND status = '\''running'\''")" = 2' ||
    bail "a long job holds both workers"
csv_spec="{\"name\": \"csv\", \"base\": {\"data\": {\"source\": \"csv\", \"path\": \"$good\"},
  \"model\": {\"width\": 4}, \"train\": {\"steps\": 200}, \"analysis\": {\"lanczos_iters\": 5}},
  \"grid\": {\"data.path\": [\"$good\", \"$missing\", \"$bad\"]}, \"seeds\": 2}"
C=$(printf '%s' "$csv_spec" | submit_job)
[ -n "$C" ] || bail "submit the csv job"
rm "$missing"
{ echo "x1,x2,y"; echo "1,2,3"; echo "4,five,6"; } >"$bad"
rsw cancel "$H" >/dev/null
rsw watch "$C" >/dev/null 2>&1
is "watch exits 3 when runs failed" "$?" "3"
is "the sweep went on: good runs done" "$(sq "SELECT count(*) FROM runs WHERE job_id = $C AND status = 'done'")" "2"
is "the others failed" "$(sq "SELECT count(*) FROM runs WHERE job_id = $C AND status = 'failed'")" "4"
err_missing=$(sq "SELECT error FROM run_results WHERE job_id = $C AND status = 'failed' AND idx IN (2, 3) LIMIT 1")
case "$err_missing" in *"$missing"*"No such file"*) ok "a missing file's reason names it" ;;
    *) not_ok "a missing file's reason names it" "$err_missing" ;; esac
err_bad=$(sq "SELECT error FROM run_results WHERE job_id = $C AND status = 'failed' AND idx IN (4, 5) LIMIT 1")
case "$err_bad" in *"line 3"*five*) ok "a bad cell's reason gives its line" ;;
    *) not_ok "a bad cell's reason gives its line" "$err_bad" ;; esac
out=$(rsw runs "$C")
case "$out" in *failed*"No such file"*) ok "runs shows the failures and why" ;;
    *) not_ok "runs shows the failures and why" "$out" ;; esac

# Diverging is an outcome of the experiment: recorded, with its step.
div='{"name": "div", "base": {"data": {"d": 4, "n": 50}, "model": {"init_scale": 1},
  "train": {"steps": 300}}, "grid": {"train.lr": [0.01, 10000]}}'
out=$(printf '%s' "$div" | rsw submit - --wait)
is "a diverging run does not fail the job, but the job says so: exit 6, not 3" "$?" "6"
case "$out" in *"1 run diverged"*"train.lr"*) ok "with a hint in the summary" ;;
    *) not_ok "with a hint in the summary" "$out" ;; esac
D=$(sq "SELECT max(job_id) FROM jobs")
out=$(rsw status "$D")
case "$out" in *"diverged  1"*"1 run diverged"*) ok "and in status" ;;
    *) not_ok "and in status" "$out" ;; esac
is "it is recorded as diverged, with its step" \
   "$(sq "SELECT status, diverged_step >= 0 FROM runs JOIN results USING (run_id) WHERE job_id = $D AND lr = 10000")" "diverged|1"
is "its sibling is done" "$(sq "SELECT status FROM runs WHERE job_id = $D AND lr = 0.01")" "done"

# The missing file appears: retry brings the failed runs back.
cp "$good" "$missing"
out=$(rsw --json retry "$C")
is "retry queues the 4 failed runs" "$(printf '%s' "$out" | json_get requeued)" "4"
rsw watch "$C" >/dev/null 2>&1
is "after the retry only the bad file's runs fail" \
   "$(sq "SELECT group_concat(status, ',') FROM (SELECT status FROM runs WHERE job_id = $C ORDER BY idx)")" \
   "done,done,done,done,failed,failed"
is "results of the retried runs are stored once" "$(sq 'SELECT count(*), count(DISTINCT run_id) FROM results')" "6|6"
stop_daemon
is "daemon exits 0" "$?" "0"
