#!/bin/bash
# A canceled job's runs stay canceled across a restart (issue 9 §8): a run
# told to stop that was still running when the daemon died (kill -9) or
# exited (a clean shutdown before it stopped, or one that suspended it to
# the queue) ends canceled at the next start; it never runs to done.
. "$(dirname "$0")/lib.sh"

# Two runs of tens of seconds each: still running whenever we look.
long=$(tiny_spec 2 "$(steps 400000)")
running2() { [ "$(sq "SELECT count(*) FROM runs WHERE job_id = 1 AND status = 'running'")" = 2 ]; }
states() { sq "SELECT group_concat(status, ',') FROM (SELECT status FROM runs WHERE job_id = 1 ORDER BY run_id)"; }

# After a restart: every run of job 1 canceled at once, no result, and the
# job's watch exits 5 (canceled).
after_restart() {  # name
    start_daemon "$1" --workers 2
    is "$1: both runs end canceled at the start" "$(states)" "canceled,canceled"
    is "$1: no result stored" "$(sq "SELECT count(*) FROM results x JOIN runs r USING (run_id) WHERE r.job_id = 1")" "0"
    is "$1: no checkpoint kept" "$(sq 'SELECT count(*) FROM checkpoints')" "0"
    timeout 60 "$RESWEEP" --socket "$SOCK" watch 1 >/dev/null 2>&1
    is "$1: watch of the job exits 5" "$?" "5"
    is "$1: status agrees" "$(rsw --json status 1 | json_get canceled)" "2"
    is "$1: ping shows nothing running" "$(rsw --json ping | json_get running)" "0"
    stop_daemon
    is "$1: still canceled after a clean stop" "$(states)" "canceled,canceled"
}

# 1. kill -9 with the cancel committed and the runs' ends not: the state
# a cancel just before a crash leaves, made exactly with sqlite3.
start_daemon k9 --workers 2
printf '%s\n' "$long" | rsw submit - >/dev/null || bail "k9: the job is submitted"
wait_until 60 running2 || bail "k9: both runs running"
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
sq "UPDATE jobs SET canceled_at = unixepoch() WHERE job_id = 1"
after_restart k9
grep -q "2 runs of canceled jobs ended canceled" "$LOG" && ok "k9: recovery is logged" ||
    not_ok "k9: recovery is logged" "$(grep -i recover "$LOG")"

# 2. A real cancel followed at once by kill -9: whichever lands first, the
# runs end canceled.
rm -f "$T_DIR"/r9.db*
start_daemon r9 --workers 2
printf '%s\n' "$long" | rsw submit - >/dev/null || bail "r9: the job is submitted"
wait_until 60 running2 || bail "r9: both runs running"
rsw cancel 1 >/dev/null || not_ok "r9: cancel accepted"
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
after_restart r9

# 3. A clean shutdown that suspended the runs (queued with their
# checkpoints) of a job whose cancel then committed: the state a cancel
# racing a shutdown leaves, made exactly.
rm -f "$T_DIR"/cs.db*
start_daemon cs --workers 2 --checkpoint-s 0.2
printf '%s\n' "$long" | rsw submit - >/dev/null || bail "cs: the job is submitted"
wait_until 60 sh -c "[ \"\$(sqlite3 '$DB' 'SELECT count(*) FROM checkpoints')\" = 2 ]" ||
    bail "cs: both runs checkpointed"
stop_daemon
is "cs: the shutdown suspended both runs" "$(states)" "queued,queued"
sq "UPDATE jobs SET canceled_at = unixepoch() WHERE job_id = 1"
after_restart cs

# 4. A real cancel followed at once by a clean shutdown.
rm -f "$T_DIR"/rs.db*
start_daemon rs --workers 2
printf '%s\n' "$long" | rsw submit - >/dev/null || bail "rs: the job is submitted"
wait_until 60 running2 || bail "rs: both runs running"
rsw cancel 1 >/dev/null || not_ok "rs: cancel accepted"
stop_daemon
is "rs: the daemon exits 0" "$?" "0"
after_restart rs

