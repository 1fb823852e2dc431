#!/bin/bash
# A relative data.path means the file next to the user who submits
# (issue 11), not one in the daemon's working directory: the CLI makes it
# absolute, in base and in grid and zip values.
. "$(dirname "$0")/lib.sh"

start_daemon p --workers 2
mkdir -p "$T_DIR/user/sub" "$T_DIR/elsewhere"
awk 'BEGIN { print "x1,x2,y"; for (i = 1; i <= 40; i++) printf "%.3f,%.3f,%.3f\n", i / 40, (i % 5) / 5, i / 40 - (i % 5) / 5 }' >"$T_DIR/user/a.csv"
cp "$T_DIR/user/a.csv" "$T_DIR/user/sub/b.csv"
cp "$T_DIR/user/a.csv" "$T_DIR/elsewhere/abs.csv"
spec='{"name": "rel", "base": {"data": {"source": "csv", "path": "a.csv"}, "model": {"width": 4}, "train": {"steps": 20}, "analysis": {"lanczos_iters": 5}},
       "grid": {"data.path": ["a.csv", "sub/b.csv", "'"$T_DIR/elsewhere/abs.csv"'"]}}'
j=$(cd "$T_DIR/user" && printf '%s' "$spec" | "$RESWEEP" --socket "$SOCK" --json submit - | job_of)
[ -n "$j" ] || bail "submit from the user's directory"
wait_for 60 'test "$(sq "SELECT count(*) FROM runs WHERE job_id = $j AND status IN ('\''done'\'', '\''failed'\'')")" = 3'
# A relative path the CLI could not have resolved would not exist for the
# daemon: it refuses the job at submission (test_data_check.sh).
paths=$(sq "SELECT json_extract(config, '\$.data.path') FROM runs WHERE job_id = $j ORDER BY idx")
is "relative paths are resolved against the submitting directory" "$paths" "$T_DIR/user/a.csv
$T_DIR/user/sub/b.csv
$T_DIR/elsewhere/abs.csv"
is "and the daemon read each of them: all three ran" "$(sq "SELECT count(*) FROM runs WHERE job_id = $j AND status = 'done'")" "3"
stop_daemon
