#!/bin/bash
# train.precision end to end (schema/013_precision.sql): a job sweeping it
# over float64 and float32 with 2 seeds ends done; runs.precision and
# run_results.precision say which arithmetic each run trained in, and
# run_params the swept value; runs.config writes the key for float32 only
# (a float64 run's form is what it was before the key); a bad value is
# refused at submission naming the key, and nothing is stored; the two
# precisions of a seed reach the same train_loss within 1e-5 relative
# (docs/theory.md §6.11; measured 7.7e-8) but not bit for bit (float32
# really trained in float);
# the float32 runs have the end point's certificate (cert, cert_grad,
# gap, analysed in float64 whatever the training's precision) and it
# holds (gap <= cert); resweep report tells the precisions apart.
. "$(dirname "$0")/lib.sh"

start_daemon prec --workers 2
spec() {  # precision values (JSON list)
    printf '{"name": "precision", "base": {"data": {"d": 5, "n": 200, "n_test": 100}, "model": {"width": 8}, "train": {"optimizer": "gd", "steps": 200, "curve_points": 10}, "analysis": {"lanczos_iters": 20}}, "grid": {"train.precision": %s}, "seeds": 2}\n' "$1"
}

job=$(spec '["float64", "float32"]' | submit_job)
[ -n "$job" ] || bail "a job sweeping train.precision is accepted"
timeout 120 "$RESWEEP" --socket "$SOCK" watch "$job" >/dev/null || bail "the job ends"
is "its 4 runs are done" \
   "$(sq "SELECT count(*) FROM runs WHERE job_id = $job AND status = 'done'")" "4"
is "run_results: precision float64 for 2 runs and float32 for 2" \
   "$(sq "SELECT group_concat(p || ':' || n, ' ') FROM (SELECT precision AS p, count(*) AS n FROM run_results WHERE job_id = $job GROUP BY precision ORDER BY precision)")" \
   "float32:2 float64:2"
is "each precision has seeds 0 and 1" \
   "$(sq "SELECT group_concat(precision || ':' || seed, ' ') FROM (SELECT precision, seed FROM run_results WHERE job_id = $job ORDER BY run_id)")" \
   "float64:0 float64:1 float32:0 float32:1"
is "run_params holds the swept value, as text" \
   "$(sq "SELECT group_concat(p.value || ':' || typeof(p.value), ' ') FROM (SELECT value FROM run_params JOIN runs USING (run_id) WHERE job_id = $job AND key = 'train.precision' ORDER BY run_id) p")" \
   "float64:text float64:text float32:text float32:text"
is "runs.config writes the key for the float32 runs only" \
   "$(sq "SELECT group_concat(coalesce(json_extract(config, '\$.train.precision'), 'absent'), ' ') FROM (SELECT config FROM runs WHERE job_id = $job ORDER BY run_id)")" \
   "absent absent float32 float32"
is "runs.precision is the configuration's, defaults spelled out" \
   "$(sq "SELECT count(*) FROM runs WHERE job_id = $job AND precision = coalesce(json_extract(config, '\$.train.precision'), 'float64')")" "4"

# The same seed's two precisions: train_loss within 1e-5 relative, and
# different: float64 arithmetic on both sides would agree exactly.
pairs="FROM run_results a JOIN run_results b ON b.job_id = a.job_id AND b.seed = a.seed AND b.precision = 'float32' WHERE a.job_id = $job AND a.precision = 'float64'"
is "float32's train_loss is float64's within 1e-5 relative, seed by seed" \
   "$(sq "SELECT count(*) $pairs AND abs(b.train_loss - a.train_loss) <= 1e-5 * abs(a.train_loss)")" "2"
is "and not equal to it: the float32 runs trained in float" \
   "$(sq "SELECT count(*) $pairs AND b.train_loss <> a.train_loss")" "2"
echo "# measured: train_loss float64/float32 by seed: $(sq "SELECT group_concat(a.seed || ' ' || printf('%.9g', a.train_loss) || '/' || printf('%.9g', b.train_loss), ', ') $pairs"); the largest relative difference $(sq "SELECT printf('%.3g', max(abs(b.train_loss - a.train_loss) / abs(a.train_loss))) $pairs")"
is "the float32 runs have their certificate: cert, cert_grad, gap non-NULL" \
   "$(sq "SELECT count(*) FROM run_results WHERE job_id = $job AND precision = 'float32' AND cert IS NOT NULL AND cert_grad IS NOT NULL AND gap IS NOT NULL AND lin_loss IS NOT NULL")" "2"
is "and it holds: gap <= cert + 1e-9 (1 + |F|) for every run" \
   "$(sq "SELECT count(*) FROM run_results WHERE job_id = $job AND gap <= cert + 1e-9 * (1 + abs(train_loss))")" "4"

# A bad value is refused at submission, naming the key; nothing stored.
jobs_before=$(sq "SELECT count(*) FROM jobs")
refused() {  # description, spec, the sentence's start
    local err rc
    err=$(printf '%s\n' "$2" | rsw submit - 2>&1 >/dev/null)
    rc=$?
    case "$err" in
        "resweep: $3"*) [ "$rc" -eq 1 ] && ok "$1" || not_ok "$1: exit $rc" "$err" ;;
        *) not_ok "$1" "$err" ;;
    esac
}
refused "a bad precision in base is refused, naming train.precision" \
    '{"base": {"train": {"precision": "float16"}}}' \
    'base.train.precision: unknown value "float16"; expected one of float64, float32'
refused "a bad precision in a grid is refused, naming the value" \
    "$(spec '["float32", "half"]')" \
    'grid.train.precision[1]: unknown value "half"; expected one of float64, float32'
refused "a precision that is not a name is refused" \
    '{"base": {"train": {"precision": 32}}}' \
    'base.train.precision: must be one of float64, float32, got 32'
is "and nothing was stored" "$(sq "SELECT count(*) FROM jobs")" "$jobs_before"

rsw report "$job" --out "$T_DIR/report" >/dev/null 2>&1
grep -q '`precision` (float32, float64)' "$T_DIR/report/report.md" &&
    ok "resweep report names the precisions the job varies" ||
    not_ok "resweep report names the precisions the job varies" "$(grep -n 'varies' "$T_DIR/report/report.md")"

stop_daemon
is "the daemon stops cleanly" "$?" "0"
