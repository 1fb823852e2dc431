#!/bin/bash
# Invalid job specifications: each is refused with the key path of the bad
# value ("resweep: <key path>: <reason>", exit 1), and nothing is stored —
# neither at parse time on the loop thread nor at expansion time, when the
# store thread rolls back the runs it had inserted.
. "$(dirname "$0")/lib.sh"

start_daemon v --workers 1
n=0
while IFS='|' read -r field spec; do
    [ -z "$field" ] && continue
    n=$((n + 1))
    err=$(printf '%s\n' "$spec" | rsw submit - 2>&1 >/dev/null)
    rc=$?
    case "$err" in
        "resweep: $field: "*) [ "$rc" -eq 1 ] && ok "refused at $field" || not_ok "refused at $field: exit $rc" ;;
        *) not_ok "refused at $field" "spec: $spec
stderr: $err" ;;
    esac
done <<'EOF_SPECS'
bogus|{"bogus": 1}
name|{"name": 5}
priority|{"priority": "high"}
priority|{"priority": 2000000}
max_attempts|{"max_attempts": 0}
base|{"base": []}
base.model.width|{"base": {"model": {"width": 0}}}
base.model.arch|{"base": {"model": {"arch": "transformer"}}}
base.data.dist|{"base": {"data": {"dist": "gauss"}}}
base.data.d|{"base": {"data": {"d": -1}}}
base.train.lr|{"base": {"train": {"lr": -0.1}}}
base.train.optimizer|{"base": {"train": {"optimizer": "adam"}}}
base.loss|{"base": {"loss": "hinge"}}
base.data.stream|{"base": {"data": {"stream": true}}}
base.model.blocks|{"base": {"model": {"blocks": 3}}}
base.unknown_key|{"base": {"unknown_key": 1}}
base.analysis.lanczos_iters|{"base": {"analysis": {"lanczos_iters": 5000}}}
base.data.path|{"base": {"data": {"source": "csv"}}}
base.data.parity_k|{"base": {"data": {"d": 5, "parity_k": 9, "target": "parity"}}}
base.data.n|{"base": {"data": {"n": 100000, "d": 2000}}}
base.model.width|{"base": {"model": {"width": 4096, "unit_depth": 256}, "data": {"d": 4000}}}
grid.model.width[2]|{"grid": {"model.width": [8, 16, 0]}}
grid.model.nope|{"grid": {"model.nope": [1, 2]}}
grid.model.width|{"grid": {"model.width": []}}
grid.data.parity_k[1]|{"base": {"data": {"d": 5, "target": "parity"}}, "grid": {"data.parity_k": [2, 9]}}
grid.model.blocks[1]|{"grid": {"model.arch": ["resnet", "deep_resnet"], "model.blocks": [1, 3]}}
grid.data.stream[1]|{"grid": {"data.stream": [false, true]}}
zip.train.lr|{"zip": {"train.steps": [100, 200], "train.lr": [0.1]}}
zip.data.optimizer|{"zip": {"data.optimizer": ["sgd"]}}
zip.train.batch[1]|{"base": {"train": {"optimizer": "sgd"}}, "zip": {"train.batch": [32, 0]}}
random.params.train.lr.log_uniform|{"random": {"n": 3, "params": {"train.lr": {"log_uniform": [0, 1]}}}}
random.params.train.lr.gaussian|{"random": {"n": 3, "params": {"train.lr": {"gaussian": [0, 1]}}}}
random.params.model.width.choice[1]|{"random": {"n": 5, "params": {"model.width": {"choice": [8, 0]}}}}
random.n|{"random": {"n": 0, "params": {"train.lr": {"uniform": [0.1, 0.2]}}}}
seeds|{"seeds": 0}
seeds[1]|{"seeds": [1, "two"]}
seeds|{"grid": {"model.width": [1,2,3,4,5,6,7,8,9,10]}, "zip": {"data.n": [10,20]}, "seeds": 100000}
EOF_SPECS
[ "$n" -ge 20 ] && ok "$n distinct invalid specs tried" || not_ok "at least 20 invalid specs"

is "nothing stored: no job, no run" "$(sq 'SELECT (SELECT count(*) FROM jobs) || "|" || (SELECT count(*) FROM runs)')" "0|0"

# Errors the CLI finds before sending.
printf '{"base": {' >"$T_DIR/broken.json"
err=$(rsw submit "$T_DIR/broken.json" 2>&1)
is "a file that is not JSON: exit 1" "$?" "1"
case "$err" in "resweep: $T_DIR/broken.json:1:"*"not valid JSON") ok "names the file, line and column" ;;
    *) not_ok "names the file, line and column" "$err" ;; esac
err=$(echo '[1, 2]' | rsw submit - 2>&1)
is "a spec that is not an object" "$err" "resweep: stdin: a job specification is a JSON object"
err=$(printf '{"base": {}}\n{"base": {"seed": 2}}\n' | rsw submit - 2>&1)
is "a second object after the spec: refused with its position" "$err" "resweep: stdin:2:1: text after the job specification's JSON object (one object per file)"
err=$(printf '{"base": {}} x' | rsw submit - 2>&1)
is "a stray character after the spec: refused" "$?$err" "1resweep: stdin:1:14: text after the job specification's JSON object (one object per file)"
is "and neither reached the daemon" "$(sq 'SELECT count(*) FROM jobs')" "0"
err=$(rsw submit "$T_DIR/missing.json" 2>&1)
is "a missing file" "$err" "resweep: $T_DIR/missing.json: No such file or directory"
rsw submit 2>/dev/null
is "submit without a file: usage (exit 2)" "$?" "2"

# The rollbacks left nothing behind: the first valid job gets id 1.
is "a valid job afterwards gets id 1" "$(tiny_spec 2 50 | rsw --json submit - | job_of)" "1"
check "and runs to the end" timeout 60 "$RESWEEP" --socket "$SOCK" watch 1
grep -q "database write failed" "$LOG" && not_ok "no store fault logged" "$(cat "$LOG")" || ok "no store fault logged"
stop_daemon
