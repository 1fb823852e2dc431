#!/bin/bash
# Linear runs a sweep repeats (issue 11): the linear model ignores
# model.blocks, unit_depth, width, activation, init and gain, so a grid
# over them runs the same linear configuration once per value. The
# submission still expands every run, and says how many repeat, which
# keys, and how to sweep them for the networks only.
. "$(dirname "$0")/lib.sh"

start_daemon l --workers 1
base='"base": {"data": {"d": 5, "n": 50, "n_test": 20}, "train": {"steps": 10}, "analysis": {"hessian": false}}'
# 2 archs x 3 depths x 2 widths x 2 seeds = 24 runs; of the 12 linear
# ones only the 2 seeds differ: 10 repeat.
printf '{"name": "lin", %s, "grid": {"model.arch": ["linear", "resnet"], "model.unit_depth": [1, 2, 3], "model.width": [4, 8]}, "seeds": 2}' "$base" >"$T_DIR/grid.json"
out=$(rsw submit "$T_DIR/grid.json")
is "the submission expands every run, as before" "$(printf '%s\n' "$out" | head -n 1)" "job 1 lin: 24 runs queued"
is "it says which linear runs repeat, which keys, and what to do" "$(printf '%s\n' "$out" | sed -n 2p)" \
   'note: 10 linear runs repeat another: the linear model ignores model.unit_depth, model.width; sweep them for the networks only, e.g. "grid": {"model": [{"arch": "linear"}, {"arch": "resnet", "width": 16}, ...]}'
is "24 runs stored" "$(sq 'SELECT count(*) FROM runs WHERE job_id = 1')" "24"
out=$(rsw --json submit "$T_DIR/grid.json")
is "the reply carries the count" "$(printf '%s' "$out" | json_get linear_repeats)" "10"
is "the reply carries the keys" "$(printf '%s' "$out" | sed -n 's/.*"linear_repeat_keys":"\([^"]*\)".*/\1/p')" "model.unit_depth, model.width"

# Whole model objects, the networks alone swept in depth: no repeat, no note.
printf '{"name": "models", %s, "grid": {"model": [{"arch": "linear"}, {"arch": "resnet", "unit_depth": 1}, {"arch": "resnet", "unit_depth": 2}]}, "seeds": 2}' "$base" >"$T_DIR/models.json"
out=$(rsw submit "$T_DIR/models.json")
is "sweeping model objects repeats nothing and says nothing more" "$out" "job 3 models: 6 runs queued"
# init_scale is the std of the linear model's w: a sweep over it is no
# repeat.
printf '{"name": "scale", %s, "grid": {"model.arch": ["linear"], "model.init_scale": [0.01, 0.1], "model.gain": [1, 2]}}' "$base" >"$T_DIR/scale.json"
out=$(rsw --json submit "$T_DIR/scale.json")
is "init_scale matters, gain does not: 2 of 4 repeat" "$(printf '%s' "$out" | json_get linear_repeats)/$(printf '%s' "$out" | json_get linear_repeat_keys)" "2/model.gain"
# The claim itself: the repeats measure exactly what their first does.
timeout 120 "$RESWEEP" --socket "$SOCK" watch 1 >/dev/null
is "job 1 ends" "$?" "0"
is "the 12 linear runs give 2 distinct results (17 digits), one per seed" \
   "$(sq "SELECT count(DISTINCT printf('%.17g %.17g', train_loss, test_loss)) FROM run_results WHERE job_id = 1 AND arch = 'linear'")" "2"
stop_daemon
is "shutdown exits 0" "$?" "0"
