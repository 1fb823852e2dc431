#!/bin/bash
# Issue 10 §2, §3, §5: remote workers. The same sweep through two
# resweep-worker processes over TCP gives results bit-identical to the
# daemon's own threads; a worker killed with -9 mid-run, or stopped past
# its lease and woken after its run finished elsewhere, never makes a run
# count twice; a daemon killed with -9 under running remote workers gets
# them back when it restarts, and nothing is lost or doubled; and TCP
# peers without the token get nothing.
# resweep-test: long
. "$(dirname "$0")/lib.sh"

WORKER="$RESWEEP_BUILD/resweep-worker"
TCP="$(dirname "$0")/tcpclient.py"

spec_sweep() {
    printf '{"name": "sweep", "base": {"data": {"d": 5, "n": 100, "n_test": 50}, "train": {"steps": 300, "curve_points": 20}, "analysis": {"lanczos_iters": 20, "slice_points": 3}}, "grid": {"model.width": [4, 8]}, "seeds": 4}\n'
}
# Runs of a few seconds, long enough for a signal to land inside them.
spec_long() {  # runs
    printf '{"name": "long", "base": {"data": {"d": 5, "n": 100}, "model": {"width": 8}, "train": {"steps": %s, "lr": 0.01, "tol": 0, "curve_points": 20}, "analysis": {"lanczos_iters": 20}}, "seeds": %s}\n' \
        "$(steps 500000)" "$1"
}

# 1.1M parameters: a checkpoint of 9 MB, more than one frame holds.
spec_big() {
    printf '{"name": "big", "base": {"data": {"d": 50, "n": 100}, "model": {"width": 1024}, "train": {"steps": %s, "lr": 0.001, "tol": 0, "curve_points": 20}, "analysis": {"hessian": false}}}\n' "$(steps 300)"
}
# Runs of a few milliseconds, no Hessian: the round trips dominate.
spec_tiny() {  # runs
    printf '{"name": "tiny", "base": {"data": {"d": 5, "n": 100}, "train": {"steps": 50, "curve_points": 10}, "analysis": {"hessian": false}}, "seeds": %s}\n' "$1"
}

job_done() { [ "$(sq "SELECT count(*) FROM runs WHERE job_id = $1 AND status IN ('queued', 'running')")" = 0 ]; }
done_at_least() { [ "$(sq "SELECT count(*) FROM runs WHERE job_id = $1 AND status = 'done'")" -ge "$2" ]; }
running() { [ "$(sq "SELECT count(*) FROM runs WHERE job_id = $1 AND status = 'running'")" -ge "$2" ]; }
checkpointed() { [ "$(sq "SELECT count(*) FROM checkpoints c JOIN runs r USING (run_id) WHERE r.job_id = $1")" -ge "$2" ]; }

start_worker() {  # name [options]
    local name=$1; shift
    "$WORKER" --connect "$ADDR" --token-file "$DB.token" --checkpoint-s 0.2 "$@" \
        2>>"$T_DIR/$name.log" &
    WPID=$!
    T_PIDS="$T_PIDS $WPID"
    WPIDS="$WPIDS $WPID"
}
WPIDS=""
# Stops the workers started so far (SIGTERM: they hand their runs back).
stop_workers() {
    local p
    kill -TERM $WPIDS 2>/dev/null
    for p in $WPIDS; do wait "$p" 2>/dev/null; done
    WPIDS=""
}

# --- the reference: the daemon's own threads ---
start_daemon local --workers 2
spec_sweep | rsw submit - --wait >/dev/null || bail "the sweep runs on threads"
spec_long 1 | rsw submit - --wait >/dev/null || bail "a long run on threads"
spec_long 4 | rsw submit - --wait >/dev/null || bail "four long runs on threads"
spec_big | rsw submit - --wait >/dev/null || bail "a run of 1.1M parameters on threads"
LOCALDB=$DB
stop_daemon

# --- the same through two remote workers over TCP ---
start_daemon remote --workers 0 --listen 127.0.0.1:0 --lease-timeout 2
ADDR=$(rsw --json ping | json_get listen)
case "$ADDR" in 127.0.0.1:[1-9]*) ok "the daemon listens on $ADDR" ;; *) bail "ping names the TCP address" "$ADDR" ;; esac
is "the token file is 0600" "$(stat -c %a "$DB.token")" "600"
is "the token is 256 bits of hex" "$(tr -d '\n' < "$DB.token" | grep -c '^[0-9a-f]\{64\}$')" "1"
start_worker w1 --threads 1
start_worker w2 --threads 1
J=$(spec_sweep | submit_job)
wait_until 120 job_done "$J" || bail "the sweep ends on remote workers" "$(tail "$T_DIR"/w1.log)"
is "the sweep's runs are all done" "$(sq "SELECT count(*) FROM runs WHERE job_id = $J AND status = 'done'")" "8"
if [ "$(job_dump "$DB" "$J")" = "$(job_dump "$LOCALDB" 1)" ]; then
    ok "results and curves are bit-identical to the threads'"
else
    not_ok "results and curves are bit-identical to the threads'" "$(diff <(job_dump "$DB" "$J") <(job_dump "$LOCALDB" 1) | head -5)"
fi
out=$(rsw workers)
is "resweep workers lists both" "$(echo "$out" | grep -c ' connected ')" "2"
is "the two finished the sweep between them" \
    "$(rsw --json workers | grep -o '"finished":[0-9]*' | cut -d: -f2 | awk '{ s += $1 } END { print s }')" "8"

# --- TCP peers without the token ---
is "a ping before authenticating is refused" "$(python3 "$TCP" "$ADDR" noauth)" "unauthenticated"
is "a wrong token is refused" "$(python3 "$TCP" "$ADDR" wrong)" "unauthenticated"
is "auth without a challenge is refused" "$(python3 "$TCP" "$ADDR" nohello "$DB.token")" "unauthenticated"
is "a replayed handshake is refused" "$(python3 "$TCP" "$ADDR" replay "$DB.token")" "unauthenticated"
is "the right token gets in" "$(python3 "$TCP" "$ADDR" good "$DB.token")" "ok"
is "an unknown op of a worker" "$(python3 "$TCP" "$ADDR" unknown "$DB.token")" "unknown_op"
is "a report for a run never leased" "$(python3 "$TCP" "$ADDR" stale "$DB.token")" "stale_lease"
is "a prefetch beyond the threads is refused" "$(python3 "$TCP" "$ADDR" prefetch "$DB.token")" "bad_request"
is "a 5,000-byte frame before authenticating is refused" "$(python3 "$TCP" "$ADDR" bigframe)" "frame_too_large"
is "after authenticating it is fine" "$(python3 "$TCP" "$ADDR" bigauthed "$DB.token")" "ok"
head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 64 > "$T_DIR/bad.token"; echo >> "$T_DIR/bad.token"
chmod 600 "$T_DIR/bad.token"
out=$("$WORKER" --connect "$ADDR" --token-file "$T_DIR/bad.token" --threads 1 2>&1); rc=$?
is "a worker with the wrong token exits 1" "$rc" "1"
case "$out" in *"does not match this daemon's token"*) ok "and says why" ;; *) not_ok "and says why" "$out" ;; esac
check "the daemon serves everyone else" rsw ping

# --- kill -9 of a worker mid-run ---
stop_workers
start_worker w3 --threads 1; W3=$WPID
J=$(spec_long 1 | submit_job)
wait_until 60 checkpointed "$J" 1 || bail "the run is checkpointed on worker 3"
kill -KILL "$W3"
start_worker w4 --threads 1
wait_until 120 job_done "$J" || bail "the run ends after its worker was killed"
is "it ended done, on its second attempt" "$(sq "SELECT status, attempts FROM runs WHERE job_id = $J")" "done|2"
grep -q "lease expired" "$LOG" && ok "the lease expired" || not_ok "the lease expired" "$(tail -5 "$LOG")"
[ "$(job_dump "$DB" "$J")" = "$(job_dump "$LOCALDB" 2)" ] && ok "resumed from its checkpoint, it is bit-identical to the uninterrupted run" ||
    not_ok "resumed from its checkpoint, it is bit-identical to the uninterrupted run"

# --- a checkpoint larger than a frame goes in parts ---
stop_workers
start_worker w11 --threads 1; W11=$WPID
J=$(spec_big | submit_job)
big_ck() { [ "$(sq "SELECT count(*) FROM checkpoints c JOIN runs r USING (run_id) WHERE r.job_id = $J AND length(c.state) > 8388608")" = 1 ]; }
wait_until 120 big_ck && ok "a checkpoint of more than 8 MiB reached the database, in parts" ||
    bail "a checkpoint of more than 8 MiB reached the database" "$(tail -3 "$T_DIR/w11.log")"
kill -KILL "$W11"; wait "$W11" 2>/dev/null; WPIDS=""
start_worker w12 --threads 1
wait_until 180 job_done "$J" || bail "the big run ends on worker 12"
is "it ended done, on its second attempt" "$(sq "SELECT status, attempts FROM runs WHERE job_id = $J")" "done|2"
[ "$(job_dump "$DB" "$J")" = "$(job_dump "$LOCALDB" 4)" ] && ok "resumed from the checkpoint in parts, it is bit-identical to the uninterrupted run" ||
    not_ok "resumed from the checkpoint in parts, it is bit-identical to the uninterrupted run" "$(diff <(job_dump "$DB" "$J") <(job_dump "$LOCALDB" 4) | head -5)"
# What rhost.c logs when a checkpoint is not kept: over the protocol's
# limit, or a part the daemon refused.
dropped='goes on without it|checkpoint failed'
grep -Eq "$dropped" "$T_DIR/w11.log" && not_ok "no checkpoint was dropped" "$(grep -E "$dropped" "$T_DIR/w11.log")" || ok "no checkpoint was dropped"

# --- its only attempt lost: the run fails keeping its checkpoint, and a
# retry resumes it from there (issue 11) ---
stop_workers
start_worker w3b --threads 1; W3=$WPID
J=$(spec_long 1 | sed 's/^{/{"max_attempts": 1, /' | submit_job)
wait_until 60 checkpointed "$J" 1 || bail "the run is checkpointed on worker 3b"
kill -KILL "$W3"; wait "$W3" 2>/dev/null; WPIDS=""
wait_until 60 job_done "$J" || bail "the run fails once its lease expires"
is "its one attempt lost, the run failed" "$(sq "SELECT status FROM runs WHERE job_id = $J")" "failed"
is "and kept its checkpoint" "$(sq "SELECT count(*) FROM checkpoints c JOIN runs r USING (run_id) WHERE r.job_id = $J")" "1"
out=$(rsw retry "$J")
case "$out" in *"1 failed or canceled runs queued again (1 resume from their last checkpoint, 0 start from scratch)"*)
    ok "retry says it resumes from the checkpoint: $out" ;;
    *) not_ok "retry says it resumes from the checkpoint" "$out" ;; esac
start_worker w4b --threads 1
wait_until 120 job_done "$J" || bail "the retried run ends"
is "the retried run is done" "$(sq "SELECT status FROM runs WHERE job_id = $J")" "done"
[ "$(job_dump "$DB" "$J")" = "$(job_dump "$LOCALDB" 2)" ] && ok "resumed by the retry, it is bit-identical to the uninterrupted run, curve included" ||
    not_ok "resumed by the retry, it is bit-identical to the uninterrupted run" "$(diff <(job_dump "$DB" "$J") <(job_dump "$LOCALDB" 2) | head -5)"

# --- SIGSTOP past the lease, the run finished elsewhere, SIGCONT ---
stop_workers
start_worker w5 --threads 1; W5=$WPID
J=$(spec_long 1 | submit_job)
wait_until 60 checkpointed "$J" 1 || bail "the run is checkpointed on worker 5"
kill -STOP "$W5"
start_worker w6 --threads 1
wait_until 120 job_done "$J" || bail "the run ends elsewhere while worker 5 sleeps"
kill -CONT "$W5"
wait_until 20 grep -q "another attempt; dropping it" "$T_DIR/w5.log" && ok "the woken worker drops the run" ||
    not_ok "the woken worker drops the run" "$(tail -5 "$T_DIR/w5.log")"
sleep 1
is "one result, done on the second attempt" "$(sq "SELECT r.status, r.attempts, count(x.run_id) FROM runs r LEFT JOIN results x USING (run_id) WHERE r.job_id = $J")" "done|2|1"
[ "$(job_dump "$DB" "$J")" = "$(job_dump "$LOCALDB" 2)" ] && ok "and it is the uninterrupted run's, bit for bit" ||
    not_ok "and it is the uninterrupted run's, bit for bit"

# --- short runs: a spare leased behind the running one, handed back on SIGTERM ---
stop_workers
start_worker w9 --threads 1; W9=$WPID
# 3,000 runs of a few milliseconds keep the worker busy for seconds even
# on an idle machine: 400 were over before a loaded machine's `workers`
# sampled the spare.
J=$(spec_tiny 3000 | submit_job)
holds_spare() {
    rsw --json workers | python3 -c 'import json, sys
sys.exit(not any(w["threads"] == 1 and len(w["runs"]) == 2 for w in json.load(sys.stdin)["workers"]))'
}
wait_until 30 holds_spare && ok "a one-thread worker on short runs holds a spare" ||
    not_ok "a one-thread worker on short runs holds a spare" "$(rsw --json workers)"
wait_until 30 done_at_least "$J" 20 || bail "the short runs are done on worker 9"
kill -TERM "$W9"; wait "$W9"
is "worker 9 exits 0 on SIGTERM" "$?" "0"
WPIDS=""
is "nothing of it is left running: the spare went back too" "$(sq "SELECT count(*) FROM runs WHERE job_id = $J AND status = 'running'")" "0"
start_worker w10 --threads 1
wait_until 120 job_done "$J" || bail "worker 10 ends the short runs"
is "every short run done once, with one result" "$(sq "SELECT count(*), sum(r.status = 'done'), count(x.run_id) FROM runs r LEFT JOIN results x USING (run_id) WHERE r.job_id = $J")" "3000|3000|3000"
is "every short run has its curve" "$(sq "SELECT count(DISTINCT c.run_id) FROM curves c JOIN runs r USING (run_id) WHERE r.job_id = $J")" "3000"

# --- kill -9 of the daemon under running workers ---
stop_workers
start_worker w7 --threads 1
start_worker w8 --threads 1
J=$(spec_long 4 | submit_job)
wait_until 60 checkpointed "$J" 2 || bail "two runs are checkpointed"
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
"$RESWEEPD" --socket "$SOCK" --db "$DB" --workers 0 --listen "$ADDR" --lease-timeout 2 2>>"$LOG" &
DPID=$!; T_PIDS="$T_PIDS $DPID"
wait_until 20 rsw ping || bail "the daemon restarts on the same address"
wait_until 120 job_done "$J" || bail "the four runs end after the restart"
is "all four done" "$(sq "SELECT count(*) FROM runs WHERE job_id = $J AND status = 'done'")" "4"
[ "$(grep -c 'connected to' "$T_DIR/w7.log")" -ge 2 ] && ok "a worker reconnected to the new daemon" ||
    not_ok "a worker reconnected to the new daemon" "$(cat "$T_DIR/w7.log")"
[ "$(job_dump "$DB" "$J")" = "$(job_dump "$LOCALDB" 3)" ] && ok "nothing lost or doubled: bit-identical to the threads'" ||
    not_ok "nothing lost or doubled: bit-identical to the threads'" "$(diff <(job_dump "$DB" "$J") <(job_dump "$LOCALDB" 3) | head -5)"
stop_daemon
is "daemon exits 0" "$?" "0"
# A worker whose daemon is gone for good leaves after --idle-exit.
t0=$(date +%s)
timeout 30 "$WORKER" --connect "$ADDR" --token-file "$DB.token" --threads 1 --idle-exit 1 2>/dev/null
is "with the daemon gone, --idle-exit 1 still ends the worker (exit 0)" "$?" "0"
[ $(( $(date +%s) - t0 )) -le 10 ] && ok "within 10 s" || not_ok "within 10 s"
