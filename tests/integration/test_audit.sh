#!/bin/bash
# Results a user can audit and query (issue 11): every swept key's value
# per run in run_params, grouped by the query docs/store.md and the README
# document and checked against a direct computation from runs.config;
# the CSV file in run_results.data_path; run_results needs no join with
# runs, and the documented joins work; data.standardize on a CSV of
# large-scale features: diverges without, trains with features_and_target,
# refused with a classification loss.
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)

start_daemon a --workers 2

# --- swept values -------------------------------------------------------
cat >"$T_DIR/grid.json" <<'JSON'
{"name": "lr-grid",
 "base": {"data": {"d": 4, "n": 60, "n_test": 20}, "model": {"width": 4},
          "train": {"steps": 60, "curve_points": 5},
          "analysis": {"hessian": false}},
 "grid": {"train.lr": [0.02, 0.05, 0.1], "model.init_scale": [0.01, 0.1]},
 "seeds": 2}
JSON
rsw submit "$T_DIR/grid.json" --wait >"$T_DIR/grid.out" 2>&1
is "the grid job: 12 runs done" "$(sq "SELECT count(*) FROM runs WHERE job_id = 1 AND status = 'done'")" "12"
is "job_params: the swept keys in the spec's order, with where" \
   "$(sq "SELECT group_concat(key || ':' || sweep, ',') FROM (SELECT * FROM job_params WHERE job_id = 1 ORDER BY pos)")" \
   "train.lr:grid,model.init_scale:grid,seed:seeds"
is "run_params: 3 values for each of the 12 runs" \
   "$(sq "SELECT count(*), count(DISTINCT run_id) FROM run_params JOIN runs USING (run_id) WHERE job_id = 1")" "36|12"
is "run_params: typed (lr and init_scale real, seed integer)" \
   "$(sq "SELECT group_concat(DISTINCT key || '=' || typeof(value)) FROM (SELECT * FROM run_params ORDER BY key)")" \
   "model.init_scale=real,seed=integer,train.lr=real"
is "run_params: each value is the run's configuration" \
   "$(sq "SELECT count(*) FROM run_params p JOIN runs r USING (run_id) WHERE p.value IS json_extract(r.config, '\$.' || p.key)")" "36"
# the leaves of one run's canonical configuration, counted apart from SQL
leaves=$(sq "SELECT config FROM runs WHERE job_id = 1 LIMIT 1" | python3 -c '
import json, sys
def n(v): return sum(n(x) for x in v.values()) if isinstance(v, dict) else 1
print(n(json.load(sys.stdin)))')
is "run_config_values: every key of every run, the swept ones flagged" \
   "$(sq "SELECT count(DISTINCT run_id), sum(swept), count(*) / 12 FROM run_config_values WHERE job_id = 1")" "12|36|$leaves"
is "run_config_values: the swept values are run_params'" \
   "$(sq "SELECT count(*) FROM run_config_values v JOIN run_params p USING (run_id, key) WHERE v.swept AND v.value = p.value")" "36"
is "run_config_values: keys as dotted paths, unquoted" \
   "$(sq "SELECT group_concat(key || '=' || value) FROM run_config_values WHERE run_id = 1 AND key IN ('data.n_test', 'model.init_scale', 'train.theta_lr', 'seed')")" \
   "seed=0,data.n_test=20,model.init_scale=0.01"

# The documented queries, run as written but for the job id.
doc_query() {  # FILE HEADING: the sqlite3 query after the comment HEADING
    awk -v h="$2" 'index($0, h) == 1 { f = 1; next }
        f && /sqlite3 -readonly/ { g = 1; next }
        g { if ($0 ~ /"$/) { sub(/"$/, ""); print; exit } print }' "$1"
}
one_line() { tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }
q1=$(doc_query "$top/docs/store.md" "# The gap by a swept key")
q2=$(doc_query "$top/docs/store.md" "# Two swept keys as columns")
case "$q1" in *"JOIN run_params p USING (run_id)"*"p.key = 'train.lr'"*) ok "docs/store.md documents the pivot by train.lr" ;;
    *) not_ok "docs/store.md documents the pivot by train.lr" "$q1" ;; esac
is "the README's pivot is the same query" \
   "$(doc_query "$top/README.md" "# the gap by learning rate" | one_line)" "$(printf '%s' "$q1" | one_line)"
is "the README's two-key pivot is the same query" \
   "$(doc_query "$top/README.md" "# two swept keys as columns" | one_line)" "$(printf '%s' "$q2" | one_line)"
got=$(sq -csv "$(printf '%s' "$q1" | sed 's/job_id = 3/job_id = 1/')" 2>&1)
want=$(sq -csv "SELECT json_extract(r.config, '\$.train.lr'), count(*), avg(x.gap), max(x.gap)
                  FROM runs r JOIN results x USING (run_id)
                 WHERE r.job_id = 1 AND r.status = 'done'
                 GROUP BY 1 ORDER BY 1")
# The same numbers (the means to rounding: another summation order).
same_rows() {
    awk -F, 'NR == FNR { a[FNR] = $0; n = FNR; next }
        { split(a[FNR], w, ","); if (NF != length(w)) bad = 1
          for (i = 1; i <= NF; i++) {
              d = $i - w[i]; if (d < 0) d = -d
              m = w[i] < 0 ? -w[i] : w[i]
              if ($i != w[i] && d > 1e-12 * (1 + m)) bad = 1 } }
        END { exit (bad || FNR != n) }' <(printf '%s\n' "$2") <(printf '%s\n' "$1")
}
is "the pivot by train.lr: 3 groups of 4 runs" "$(printf '%s\n' "$got" | cut -d, -f1,2 | tr '\n' ' ')" "0.02,4 0.05,4 0.1,4 "
if same_rows "$got" "$want"; then ok "the pivot's numbers are the direct computation from runs.config and results"
else not_ok "the pivot's numbers are the direct computation from runs.config and results" "got:
$got
want:
$want"; fi
got=$(sq -csv "$(printf '%s' "$q2" | sed 's/job_id = 3/job_id = 1/')" 2>&1)
want=$(sq -csv "SELECT r.lr, r.init_scale, count(*), avg(x.gap)
                  FROM runs r JOIN results x USING (run_id)
                 WHERE r.job_id = 1 AND r.status = 'done'
                 GROUP BY 1, 2 ORDER BY 1, 2")
is "the two-key pivot: 6 cells" "$(printf '%s\n' "$got" | wc -l)" "6"
if same_rows "$got" "$want"; then ok "the two-key pivot's numbers are the direct computation"
else not_ok "the two-key pivot's numbers are the direct computation" "got:
$got
want:
$want"; fi

# --- joins ------------------------------------------------------------
is "run_results has every column of runs but config" \
   "$(sq "SELECT count(*), coalesce(group_concat(name), '-') FROM pragma_table_info('runs') WHERE name <> 'config' AND name NOT IN (SELECT name FROM pragma_table_info('run_results'))")" "0|-"
is "so priority, mem_bytes and data_path need no join" \
   "$(sq "SELECT count(*) FROM run_results WHERE job_id = 1 AND priority = 0 AND mem_bytes > 0 AND data_path IS NULL")" "12"
check "run_results JOIN run_params USING (run_id), unqualified" \
    sq "SELECT run_id, lr, gap, key, value FROM run_results JOIN run_params USING (run_id)"
check "run_results NATURAL JOIN run_params" \
    sq "SELECT count(*) FROM run_results NATURAL JOIN run_params WHERE value IS NOT NULL"
is "run_results NATURAL JOIN run_params keeps every row" \
   "$(sq "SELECT count(*) FROM run_results NATURAL JOIN run_params WHERE job_id = 1")" "36"
is "the documented join with curves" \
   "$(sq "SELECT count(DISTINCT r.run_id) FROM run_results r JOIN curves c USING (run_id) WHERE r.job_id = 1 AND c.train_loss IS NOT NULL AND r.unit_depth = 2")" "12"
is "the documented join for the JSON" \
   "$(sq "SELECT count(*) FROM (SELECT r.*, runs.config FROM run_results r JOIN runs USING (run_id) WHERE r.job_id = 1 AND json_valid(runs.config))")" "12"

# --- the data file and data.standardize ---------------------------------
# a in the thousands, b in the hundreds, c constant, y nearly linear.
awk 'BEGIN { print "a,b,c,y"
    for (i = 0; i < 80; i++) { a = 5000 + 37 * (i % 13) + 0.5 * i; b = 300 * sin(i)
        printf "%.17g,%.17g,7,%.17g\n", a, b, 0.3 * a - 2 * b + 0.5 * cos(3 * i) } }' >"$T_DIR/big.csv"
cat >"$T_DIR/std.json" <<'JSON'
{"name": "standardize",
 "base": {"data": {"source": "csv", "path": "big.csv", "intercept": true},
          "model": {"width": 4}, "train": {"lr": 0.1, "steps": 400},
          "analysis": {"hessian": false}},
 "grid": {"model.arch": ["linear", "resnet"],
          "data.standardize": ["none", "features_and_target"]}}
JSON
out=$(cd "$T_DIR" && rsw submit std.json --wait 2>&1)
is "none diverges, features_and_target trains" \
   "$(sq "SELECT group_concat(v || ':' || status || ':' || n) FROM (SELECT p.value AS v, r.status, count(*) AS n FROM run_results r JOIN run_params p USING (run_id) WHERE r.job_id = 2 AND p.key = 'data.standardize' GROUP BY 1, 2 ORDER BY 1, 2)")" \
   "features_and_target:done:2,none:diverged:2"
is "the standardized runs reach the linear baseline" \
   "$(sq "SELECT count(*) FROM run_results WHERE job_id = 2 AND status = 'done' AND lin_loss < 1e-3 AND train_loss < 1e-2 AND gap > -1e-9")" "2"
case "$out" in *"2 runs diverged"*'data.standardize "features"'*) ok "the divergence hint names data.standardize" ;;
    *) not_ok "the divergence hint names data.standardize" "$out" ;; esac
is "the canonical configuration carries standardize" \
   "$(sq "SELECT group_concat(coalesce(json_extract(config, '\$.data.standardize'), 'absent')) FROM (SELECT config FROM runs WHERE job_id = 2 ORDER BY json_extract(config, '\$.data.standardize'))")" \
   "absent,absent,features_and_target,features_and_target"
is "run_results.data_path: the file as the daemon resolved it" \
   "$(sq "SELECT DISTINCT data_path FROM run_results WHERE job_id = 2")" "$T_DIR/big.csv"
out=$(cd "$T_DIR" && printf '{"base": {"data": {"source": "csv", "path": "big.csv", "standardize": "features_and_target"}, "loss": "logistic"}}' | rsw submit - 2>&1)
rc=$?
case "$rc:$out" in 0:*) not_ok "features_and_target with logistic is refused" "$out" ;;
    *'data.standardize: "features_and_target" needs a regression loss'*) ok "features_and_target with logistic is refused, naming the key" ;;
    *) not_ok "features_and_target with logistic is refused, naming the key" "$out" ;; esac
is "and stores nothing" "$(sq 'SELECT count(*) FROM jobs')" "2"

stop_daemon
