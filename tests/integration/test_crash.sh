#!/bin/bash
# Issue 4 §1-§2: kill -9 at 20 random moments of a 200-run sweep,
# restarting the daemon each time, with checkpoints every 0.02 s. Every run
# must end exactly once, with results and curves identical to the same
# sweep run without interruption, and the database must stay intact.
# resweep-test: long
. "$(dirname "$0")/lib.sh"

# 100 seeds x (GD, SGD on fresh samples): runs of a few tenths of a
# second, checkpointed every 0.02 s, so most kills land inside runs after
# some checkpoint. The SGD
# half checkpoints RNG states; max_attempts is high because one run may
# meet several kills here, which is not what this test is about.
spec='{"name": "crash", "max_attempts": 100,
  "base": {"data": {"d": 5, "n": 200, "n_test": 100}, "model": {"width": 12},
           "train": {"steps": 10000, "curve_points": 25, "batch": 16, "lr": 0.05},
           "analysis": {"lanczos_iters": 15}},
  "zip": {"train.optimizer": ["gd", "sgd"], "data.stream": [false, true]},
  "seeds": 100}'
fields="printf('%d %.17g %.17g %.17g %.17g %.17g %.17g %.17g %d', idx, train_loss, test_loss, lin_loss, gap, cert, grad_norm, hess_min, steps_done)"
results() { sq "SELECT group_concat(x, ';') FROM (SELECT $fields AS x FROM run_results WHERE job_id = 1 ORDER BY idx)"; }
curves() {
    sq "SELECT count(*) || ':' || total(c.train_loss * (c.step + 1) * (r.idx + 1)) FROM curves c JOIN runs r USING (run_id)"
}

start_daemon ref --workers 2
printf '%s' "$spec" | rsw submit - --wait >/dev/null || bail "the uninterrupted reference sweep"
want_results=$(results)
want_curves=$(curves)
stop_daemon

done_runs() { sq "SELECT count(*) FROM runs WHERE status = 'done'"; }
start_daemon crash --workers 2 --checkpoint-s 0.02
printf '%s' "$spec" | rsw submit - >/dev/null || bail "submitting the sweep"
# The moments follow progress, not the clock, so that 20 kills land inside
# the sweep however fast the machine is: each waits for 2 to 8 more runs
# to finish, then up to 0.09 s more, so kills fall anywhere inside runs.
kills=0 hit=0 saved=0
while [ "$kills" -lt 20 ]; do
    target=$(($(done_runs) + RANDOM % 7 + 2))
    [ "$target" -lt 200 ] || break
    wait_until 120 sh -c "[ \"\$(sqlite3 '$DB' \"SELECT count(*) FROM runs WHERE status = 'done'\")\" -ge $target ]" ||
        break
    sleep "0.0$((RANDOM % 10))"
    kill -KILL "$DPID"
    wait "$DPID" 2>/dev/null
    kills=$((kills + 1))
    running=$(sq "SELECT count(*) FROM runs WHERE status = 'running'")
    [ "$running" -gt 0 ] && hit=$((hit + 1))
    ckpts=$(sq "SELECT count(*) FROM checkpoints JOIN runs USING (run_id) WHERE status = 'running'")
    [ "$ckpts" -gt 0 ] && saved=$((saved + 1))
    start_daemon crash --workers 2 --checkpoint-s 0.02
done
is "20 kills happened while the sweep was going" "$kills" "20"
[ "$hit" -ge 15 ] && ok "most kills ($hit of $kills) caught runs in flight" ||
    not_ok "most kills caught runs in flight" "only $hit of $kills"
[ "$saved" -ge 5 ] && ok "runs cut short by $saved kills resume from a checkpoint" ||
    not_ok "runs cut short resume from a checkpoint" "only $saved of $kills kills left one"
resumed=$(sq "SELECT count(*) FROM runs WHERE attempts > 1")
[ "$resumed" -gt 0 ] && ok "$resumed runs were started again after a crash" ||
    not_ok "runs were started again after a crash"
check "the sweep then runs to its end" timeout 300 "$RESWEEP" --socket "$SOCK" watch 1
is "every run done" "$(sq "SELECT count(*) FROM runs WHERE status = 'done'")" "200"
is "each result stored exactly once" "$(sq 'SELECT count(*), count(DISTINCT run_id) FROM results')" "200|200"
is "no checkpoint outlives its run" "$(sq 'SELECT count(*) FROM checkpoints')" "0"
got=$(results)
if [ "$got" = "$want_results" ]; then
    ok "results bit-identical to the uninterrupted sweep"
else
    diff <(tr ';' '\n' <<<"$want_results") <(tr ';' '\n' <<<"$got") | head -n 6 |
        { d=$(cat); not_ok "results bit-identical to the uninterrupted sweep" "$d"; }
fi
is "curves identical to the uninterrupted sweep" "$(curves)" "$want_curves"
stop_daemon
is "integrity_check" "$(sq 'PRAGMA integrity_check')" "ok"
