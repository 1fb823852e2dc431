#!/bin/bash
# Issue 11, "Progress while a run trains": a long run's curve reaches the
# database while it trains, within about 2 s of a point being measured
# (include/pool.h, POOL_CURVE_FLUSH_S), not only when a batch of 64 points
# fills; and `status` shows each running run's step, steps, loss and an
# ETA from its step rate before any run has finished.
. "$(dirname "$0")/lib.sh"

# 100 curve points spaced logarithmically over 10^8 steps of a few
# milliseconds: a batch of 64 points would take about 20 minutes to fill.
spec() {
    printf '{"name": "long", "base": {"data": {"d": 20, "n": 2000}, "model": {"width": 64}, "train": {"steps": 100000000, "tol": 0, "curve_points": 100}, "analysis": {"hessian": false}}, "seeds": 2}\n'
}
run_started() { [ -n "$(sq "SELECT started_at FROM runs WHERE job_id = $1 AND status = 'running' LIMIT 1")" ]; }
has_points() { [ "$(sq "SELECT count(*) FROM curves c JOIN runs r USING (run_id) WHERE r.job_id = $1 AND r.status = 'running' AND c.step > 0")" -ge 1 ]; }

start_daemon progress --workers 1
J=$(spec | submit_job)
wait_until 30 run_started "$J" || bail "the first run starts"
t0=$(date +%s.%N)
# The first point after step 0 is measured about 1,000 steps in; it must
# be stored within POOL_CURVE_FLUSH_S (and a store commit) of that.
wait_until 10 has_points "$J" || bail "a running run's curve points reach the database within 10 s of its start"
t1=$(date +%s.%N)
step=$(sq "SELECT max(c.step) FROM curves c JOIN runs r USING (run_id) WHERE r.job_id = $J")
# The time the run took to reach that step, from its stored step rate.
first=$(sq "SELECT min(c.step) FROM curves c JOIN runs r USING (run_id) WHERE r.job_id = $J AND c.step > 0")
ok "curve points of the running run are stored while it trains (step $step after $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s)"
is "the run is still running" "$(sq "SELECT status FROM runs WHERE job_id = $J ORDER BY run_id LIMIT 1")" "running"
is "no run has finished yet" "$(sq "SELECT count(*) FROM runs WHERE job_id = $J AND finished_at IS NOT NULL")" "0"
[ "$first" -le 2000 ] && ok "the first stored point is the run's first measured one (step $first)" ||
    not_ok "the first stored point is the run's first measured one" "$first"

out=$(rsw status "$J")
line=$(echo "$out" | grep -E '^  run [0-9]+: step [0-9]+/100000000, train loss [0-9.e+-]+, ETA [0-9]+:[0-9]{2}')
[ -n "$line" ] && ok "status shows the running run's step, steps, loss and ETA: $line" ||
    not_ok "status shows the running run's step, steps, loss and ETA" "$out"
eta=$(echo "$out" | sed -n 's/^eta *//p')
case "$eta" in *[0-9]:[0-9][0-9]) ok "and the job's ETA before any run has finished: $eta" ;;
    *) not_ok "and the job's ETA before any run has finished" "$out" ;; esac
json=$(rsw --json status "$J")
is "--json status lists the running run with its step" \
    "$(echo "$json" | python3 -c 'import json, sys
j = json.load(sys.stdin)["job"]
r = j["running_runs"][0]
print(r["steps"], r["step"] > 0, r["eta_s"] > 0, j["eta_s"] > 0)')" "100000000 True True True"
rsw cancel "$J" >/dev/null
stop_daemon
is "daemon exits 0" "$?" "0"
