#!/bin/bash
# submit -> watch -> every run done -> rows and views right; then shutdown,
# restart on the same database, and the job's progress is still known.
. "$(dirname "$0")/lib.sh"

start_daemon a --workers 2
check "ping answers" rsw ping
is "ping reports the database" "$(rsw --json ping | json_get db)" "$DB"
is "ping reports 2 workers" "$(rsw --json ping | json_get workers)" "2"

cat >"$T_DIR/sweep.json" <<'JSON'
{"name": "sweep-test",
 "base": {"seed": 7, "data": {"d": 5, "n": 100, "n_test": 100},
          "model": {"width": 8}, "train": {"steps": 300, "curve_points": 20},
          "analysis": {"lanczos_iters": 20}},
 "grid": {"model.arch": ["resnet", "plain"], "model.unit_depth": [1, 3],
          "data.dist": ["gaussian", "uniform"]},
 "seeds": 2}
JSON
out=$(rsw submit "$T_DIR/sweep.json" --wait 2>&1)
rc=$?
is "submit --wait exits 0 when every run is done" "$rc" "0"
case "$out" in *"job 1 sweep-test: 16 runs queued"*) ok "submit reports the job and its 16 runs" ;;
    *) not_ok "submit reports the job and its 16 runs" "$out" ;; esac
case "$out" in *"16 done, 0 failed, 0 diverged, 0 canceled of 16 runs"*) ok "watch ends with the final counts" ;;
    *) not_ok "watch ends with the final counts" "$out" ;; esac

is "16 run rows" "$(sq 'SELECT count(*) FROM runs WHERE job_id = 1')" "16"
is "every run done" "$(sq "SELECT count(*) FROM runs WHERE status = 'done'")" "16"
is "every run started once" "$(sq 'SELECT min(attempts), max(attempts) FROM runs')" "1|1"
is "16 result rows" "$(sq 'SELECT count(*) FROM results')" "16"
is "configuration columns: depths" "$(sq 'SELECT group_concat(unit_depth) FROM (SELECT DISTINCT unit_depth FROM runs ORDER BY 1)')" "1,3"
is "configuration columns: archs x dists x seeds" \
   "$(sq 'SELECT count(DISTINCT arch), count(DISTINCT dist), count(DISTINCT seed) FROM runs')" "2|2|2"
is "canonical JSON kept per run" "$(sq "SELECT count(*) FROM runs WHERE json_extract(config, '\$.model.unit_depth') = unit_depth")" "16"
is "run_results: one row per run, measured" \
   "$(sq 'SELECT count(*) FROM run_results WHERE job_id = 1 AND train_loss IS NOT NULL AND lin_loss IS NOT NULL AND gap IS NOT NULL AND cert IS NOT NULL')" "16"
is "run_results: gap = train_loss - lin_loss" \
   "$(sq 'SELECT count(*) FROM run_results WHERE abs(gap - (train_loss - lin_loss)) > 1e-9 * (1 + abs(train_loss))')" "0"
is "run_results: the theorem's certificate bounds the gap" \
   "$(sq 'SELECT count(*) FROM run_results WHERE gap > cert + 1e-9')" "0"
is "curves stored for every run, in batches" \
   "$(sq 'SELECT count(DISTINCT run_id) FROM curves')" "16"
is "no checkpoint left behind" "$(sq 'SELECT count(*) FROM checkpoints')" "0"
is "gap_summary: 8 groups of 2 runs" \
   "$(sq 'SELECT count(*), min(runs), max(runs), sum(done), sum(gap_n) FROM gap_summary WHERE job_id = 1')" "8|2|2|16|16"
is "job_progress: done" "$(sq 'SELECT total, done, queued, running, failed FROM job_progress WHERE job_id = 1')" "16|16|0|0|0"

st=$(rsw --json status 1)
is "status: state done" "$(printf '%s' "$st" | json_get state)" "done"
is "status: 16 finished" "$(printf '%s' "$st" | json_get finished)" "16"
case "$(rsw list)" in *sweep-test*done*16/16*) ok "list shows the job" ;;
    *) not_ok "list shows the job" "$(rsw list)" ;; esac
is "results --format csv: header and 16 rows" "$(rsw results 1 --format csv | wc -l)" "17"
rsw results 1 --format json >"$T_DIR/results.json"
is "results --format json is valid JSON with 16 rows" \
   "$(sqlite3 :memory: "SELECT json_valid(readfile('$T_DIR/results.json')), json_array_length(readfile('$T_DIR/results.json'))")" "1|16"
case "$(rsw results 1)" in *run_id*gap*) ok "results table" ;; *) not_ok "results table" ;; esac
is "runs: a page of 5 and the next index" "$(rsw --json runs 1 --limit 5 | json_get next)" "5"
is "sql reads the database" "$(rsw sql 'SELECT count(*) AS n FROM run_results' --format csv | tail -n 1)" "16"
rsw sql "DELETE FROM runs" >/dev/null 2>&1
is "sql cannot write" "$(sq 'SELECT count(*) FROM runs')" "16"
check "watch of a finished job exits 0 at once" timeout 5 "$RESWEEP" --socket "$SOCK" watch 1
rsw status 99 >/dev/null 2>"$T_DIR/err"
is "status of an unknown job: not found, named" "$(cat "$T_DIR/err")" "resweep: job: there is no job 99"

t0=$(date +%s%N)
stop_daemon
rc=$?
t1=$(date +%s%N)
is "shutdown: the daemon exits 0" "$rc" "0"
[ $(((t1 - t0) / 1000000)) -lt 5000 ] && ok "shutdown within 5 s" || not_ok "shutdown within 5 s" "$(((t1 - t0) / 1000000)) ms"
[ ! -e "$SOCK" ] && ok "the socket is removed" || not_ok "the socket is removed"
is "integrity_check" "$(sq 'PRAGMA integrity_check')" "ok"

start_daemon a --workers 1
is "after a restart the job's counts are restored" "$(rsw --json status 1 | json_get finished)" "16"
jid=$(tiny_spec 3 50 | rsw --json submit - | job_of)
is "job ids continue" "$jid" "2"
check "a second job runs to the end" timeout 60 "$RESWEEP" --socket "$SOCK" watch 2
stop_daemon
