#!/bin/bash
# The cost of a large submission with swept keys (issue 11: run_params is
# written at expansion, in the runs' transaction). Starts the real daemon
# with no workers on a private socket and database, submits one job of
# N runs (default 100,000) sweeping three keys (a 10 x 10 grid of train.lr
# and model.init_scale, times N/100 seeds), and prints the submit's time
# to reply, the daemon's CPU time for it (user + system, from
# /proc/PID/stat: steadier than the wall time on a loaded machine) and
# the database's size.
# Usage: bench/grid_submit_bench.sh [N]    (BUILD=dir for another build)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$top/build}
n=${1:-100000}
w=$(mktemp -d)
chmod 700 "$w"
dpid=""
cleanup() { [ -n "$dpid" ] && kill "$dpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$w"; }
trap cleanup EXIT
rsw() { "$BUILD/resweep" --socket "$w/sock" --db "$w/db" "$@"; }
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$dpid/stat"; }

"$BUILD/resweepd" --socket "$w/sock" --db "$w/db" --workers 0 2>"$w/log" &
dpid=$!
for _ in $(seq 100); do rsw ping >/dev/null 2>&1 && break; sleep 0.1; done
vals=$(seq -s, 0.01 0.01 0.1)
printf '{"name": "grid-bench", "base": {"data": {"d": 4, "n": 50, "n_test": 10}, "train": {"steps": 10}, "analysis": {"hessian": false}}, "grid": {"train.lr": [%s], "model.init_scale": [%s]}, "seeds": %d}' \
    "$vals" "$vals" $((n / 100)) >"$w/job.json"
c0=$(cpu_s) t0=$(date +%s.%N)
rsw submit "$w/job.json" >/dev/null
t1=$(date +%s.%N) c1=$(cpu_s)
sz=$(du -cm "$w"/db* | tail -1 | cut -f1)
awk -v n="$n" -v t="$(echo "$t1 - $t0" | bc)" -v c="$(echo "$c1 - $c0" | bc)" -v m="$sz" \
    'BEGIN { printf "runs %d: submit %.2f s, daemon cpu %.2f s, database %d MiB\n", n, t, c, m }'
rsw shutdown >/dev/null 2>&1 || true
wait "$dpid" 2>/dev/null || true
dpid=""
