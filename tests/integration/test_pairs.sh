#!/bin/bash
# Seed pairs (issue 13, "between seeds"; docs/theory.md §6.9): a job
# sweeping model.init_seed over 0, 1, 2 at two widths gets exactly the 3
# pairs of each width, none across widths; a pair's runs share their data
# (the same lin_loss to 17 digits) and differ in their initialisation
# (train_loss); each pair's f_a and f_b are its runs' train_loss; the
# profile has analysis.path_points rows from t = 0 to 1 and the barrier
# is f_max - max(f_a, f_b) >= 0. A job without init_seed, or with
# analysis.seed_pairs false, or with path_points 0, gets none. A daemon
# killed (kill -9) before its pairs were stored computes them at its next
# start; a pair whose data file changed stores nothing and logs a
# sentence naming both runs; deleting the job deletes its pairs.
. "$(dirname "$0")/lib.sh"

start_daemon p --workers 2
spec() {  # extra base analysis members, extra grid members
    printf '{"name": "pairs", "base": {"seed": 4, "data": {"d": 5, "n": 120, "n_test": 40}, "train": {"steps": 120, "curve_points": 10}, "analysis": {"lanczos_iters": 10%s}}, "grid": {"model.width": [4, 8]%s}}\n' "$1" "$2"
}
pairs_of() { sq "SELECT count(*) FROM pairs WHERE job_id = $1"; }

job=$(spec "" ', "model.init_seed": [0, 1, 2]' | submit_job)
[ -n "$job" ] || bail "a job sweeping model.init_seed is accepted"
timeout 60 "$RESWEEP" --socket "$SOCK" watch "$job" >/dev/null || bail "the job ends"
is "its 6 runs are done" "$(sq "SELECT count(*) FROM runs WHERE job_id = $job AND status = 'done'")" "6"
is "runs.init_seed and run_results.init_seed hold the key" \
   "$(sq "SELECT group_concat(init_seed, ',') FROM (SELECT init_seed FROM run_results WHERE job_id = $job ORDER BY width, init_seed)")" "0,1,2,0,1,2"
wait_for 30 '[ "$(pairs_of "$job")" = 6 ]' || not_ok "the pairs appear" "$(pairs_of "$job") pairs; $(tail -5 "$LOG")"
is "exactly 3 pairs per width, none across widths" \
   "$(sq "SELECT group_concat(w, ' ') FROM (SELECT a.width || ':' || count(*) AS w FROM pairs p JOIN runs a ON a.run_id = p.run_a JOIN runs b ON b.run_id = p.run_b WHERE p.job_id = $job AND a.width = b.width GROUP BY a.width ORDER BY a.width)")" "4:3 8:3"
is "each pair is (lower init_seed, higher) with run_a < run_b" \
   "$(sq "SELECT count(*) FROM pairs p JOIN runs a ON a.run_id = p.run_a JOIN runs b ON b.run_id = p.run_b WHERE p.job_id = $job AND p.run_a < p.run_b AND a.init_seed < b.init_seed")" "6"
is "a pair's runs share their data: lin_loss equal to 17 digits" \
   "$(sq "SELECT count(*) FROM pairs p JOIN results a ON a.run_id = p.run_a JOIN results b ON b.run_id = p.run_b WHERE p.job_id = $job AND printf('%.17g', a.lin_loss) = printf('%.17g', b.lin_loss)")" "6"
is "and differ in their initialisation: train_loss differs" \
   "$(sq "SELECT count(*) FROM pairs p JOIN results a ON a.run_id = p.run_a JOIN results b ON b.run_id = p.run_b WHERE p.job_id = $job AND a.train_loss <> b.train_loss AND a.init_loss <> b.init_loss")" "6"
# The engine evaluates the ends with the run's own network sizing, so they
# are the stored train_loss bit for bit; 1e-12 relative is the tolerance
# the test allows.
is "f_a and f_b are the runs' train_loss (relative 1e-12)" \
   "$(sq "SELECT count(*) FROM pairs p JOIN results a ON a.run_id = p.run_a JOIN results b ON b.run_id = p.run_b WHERE p.job_id = $job AND abs(p.f_a - a.train_loss) <= 1e-12 * a.train_loss AND abs(p.f_b - b.train_loss) <= 1e-12 * b.train_loss")" "6"
echo "# measured: the largest |f_a - train_loss|, |f_b - train_loss|: $(sq "SELECT printf('%.3g', max(max(abs(p.f_a - a.train_loss)), max(abs(p.f_b - b.train_loss)))) FROM pairs p JOIN results a ON a.run_id = p.run_a JOIN results b ON b.run_id = p.run_b WHERE p.job_id = $job")"
is "barrier = f_max - max(f_a, f_b) >= 0, 11 points each" \
   "$(sq "SELECT count(*) FROM pairs WHERE job_id = $job AND barrier >= 0 AND barrier = f_max - max(f_a, f_b) AND points = 11")" "6"
is "each profile: 11 rows, t from 0 to 1, its ends f_a and f_b" \
   "$(sq "SELECT count(*) FROM pairs p WHERE job_id = $job AND (SELECT count(*) FROM pair_curve c WHERE c.pair_id = p.pair_id) = 11 AND (SELECT loss FROM pair_curve c WHERE c.pair_id = p.pair_id AND i = 0 AND t = 0) = p.f_a AND (SELECT loss FROM pair_curve c WHERE c.pair_id = p.pair_id AND i = 10 AND t = 1) = p.f_b AND (SELECT max(loss) FROM pair_curve c WHERE c.pair_id = p.pair_id) = p.f_max")" "6"

none=$(spec "" ', "seed": [0, 1, 2]' | submit_job)
nokey=$(spec ', "seed_pairs": false' ', "model.init_seed": [0, 1]' | submit_job)
nopts=$(spec ', "path_points": 0' ', "model.init_seed": [0, 1]' | submit_job)
for j in "$none" "$nokey" "$nopts"; do
    timeout 60 "$RESWEEP" --socket "$SOCK" watch "$j" >/dev/null || bail "job $j ends"
done
# the pairs of a run are looked for right after its commit; a later job's
# pairs show that the earlier ones were looked for
late=$(spec "" ', "model.init_seed": [5, 6]' | submit_job)
timeout 60 "$RESWEEP" --socket "$SOCK" watch "$late" >/dev/null
wait_for 30 '[ "$(pairs_of "$late")" = 2 ]' || not_ok "a later job's pairs appear" "$(tail -5 "$LOG")"
is "a job without init_seed (seeds differ) gets no pairs" "$(pairs_of "$none")" "0"
is "analysis.seed_pairs false gets none" "$(pairs_of "$nokey")" "0"
is "analysis.path_points 0 gets none" "$(pairs_of "$nopts")" "0"
is "runs without init_seed keep no parameters" \
   "$(sq "SELECT count(*) FROM run_arrays a JOIN runs r USING (run_id) WHERE r.job_id IN ($none, $nokey, $nopts) AND a.name <> 'u_star'")" "0"

# kill -9 once the runs are done, the pairs' rows gone with the daemon
# (deleted while it is stopped): the next start computes them.
before=$(sq "SELECT group_concat(run_a || ':' || run_b || ':' || printf('%.17g', barrier), ' ') FROM (SELECT * FROM pairs WHERE job_id = $job ORDER BY run_a, run_b)")
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
sq "PRAGMA foreign_keys = ON; DELETE FROM pairs WHERE job_id = $job"
is "the pairs' rows are gone" "$(pairs_of "$job")/$(sq "SELECT count(*) FROM pair_curve c JOIN pairs p USING (pair_id) WHERE p.job_id = $job")" "0/0"
start_daemon p --workers 2
wait_for 30 '[ "$(pairs_of "$job")" = 6 ]' || not_ok "the restarted daemon computes the missing pairs" "$(tail -5 "$LOG")"
is "the restart computed the same 6 pairs, the same barriers (17 digits)" \
   "$(sq "SELECT group_concat(run_a || ':' || run_b || ':' || printf('%.17g', barrier), ' ') FROM (SELECT * FROM pairs WHERE job_id = $job ORDER BY run_a, run_b)")" "$before"
is "and stored nothing twice" "$(sq "SELECT count(*) FROM pairs")" "8"

# A pair whose data file changed after its runs: no row, a sentence
# naming both runs, and the daemon goes on.
printf 'a,b,y\n' >"$T_DIR/d.csv"
for i in $(seq 40); do printf '%d,%d,%d\n' "$i" "$((i * 7 % 11))" "$((i % 3))" >>"$T_DIR/d.csv"; done
csv=$(printf '{"name": "csv", "base": {"data": {"source": "csv", "path": "%s", "standardize": "features"}, "model": {"width": 4}, "train": {"steps": 50}, "analysis": {"hessian": false}}, "grid": {"model.init_seed": [0, 1]}}' "$T_DIR/d.csv" | submit_job)
timeout 60 "$RESWEEP" --socket "$SOCK" watch "$csv" >/dev/null || bail "the csv job ends"
wait_for 30 '[ "$(pairs_of "$csv")" = 1 ]' || not_ok "the csv job's pair appears"
stop_daemon
sq "PRAGMA foreign_keys = ON; DELETE FROM pairs WHERE job_id = $csv"
rm -f "$T_DIR/d.csv"
start_daemon p --workers 2
ra=$(sq "SELECT min(run_id) FROM runs WHERE job_id = $csv")
rb=$(sq "SELECT max(run_id) FROM runs WHERE job_id = $csv")
wait_until 30 grep -q "seed pair of runs $ra and $rb (job $csv): not stored: " "$LOG" &&
    ok "a pair that cannot be computed logs a sentence naming both runs ($(grep "seed pair of runs $ra and $rb" "$LOG" | sed 's/.*: not stored: //' | head -1))" ||
    not_ok "a pair that cannot be computed logs a sentence naming both runs" "$(tail -5 "$LOG")"
is "and stores nothing" "$(pairs_of "$csv")" "0"
check "the daemon goes on" rsw ping

out=$(rsw delete "$job" 2>&1)
is "deleting the job deletes its pairs and profiles" \
   "$(pairs_of "$job")/$(sq "SELECT count(*) FROM pair_curve WHERE pair_id NOT IN (SELECT pair_id FROM pairs)")" "0/0"
stop_daemon
is "the daemon stops cleanly" "$?" "0"
