#!/bin/bash
# Issue 9 §5: a large submission no longer holds the store thread for its
# whole transaction. A job of more than 20,000 runs is stored in chunks,
# each its own transaction, and the results of runs finishing meanwhile
# are committed between them; until its last chunk the job is partial, so
# a submission that fails late, or a daemon killed in the middle of one,
# leaves nothing behind.
# resweep-test: long
. "$(dirname "$0")/lib.sh"

big() {  # seeds [extra grid]
    printf '{"name": "big", "base": {"data": {"d": 5, "n": 100}, "train": {"steps": 20}, "analysis": {"hessian": false}}%s, "seeds": %s}\n' "${2:-}" "$1"
}
done_count() { sq "SELECT count(*) FROM results"; }

start_daemon chunks --workers 1 --memory-limit 64M
# A stream of fast runs, finishing all along.
J1=$(big 20000 | rsw --json submit - | job_of)
wait_until 30 sh -c "[ \$(sqlite3 $DB 'SELECT count(*) FROM results') -gt 0 ]" || bail "the first job's runs finish"
# The large job, in the background; the finished count sampled meanwhile.
(big 100000 | rsw submit - >"$T_DIR/big.out" 2>&1; echo done >"$T_DIR/big.done") &
samples=""
while [ ! -f "$T_DIR/big.done" ]; do
    samples="$samples $(done_count)"
    sleep 0.2
done
distinct=$(echo $samples | tr ' ' '\n' | sort -un | wc -l)
echo "# results stored while the 100,000 runs were submitted:$samples" | cut -c1-300
[ "$distinct" -ge 3 ] && ok "results were committed between the chunks ($distinct distinct counts)" ||
    not_ok "results were committed between the chunks" "samples:$samples"
grep -q "100000 runs queued" "$T_DIR/big.out" && ok "the large job is acknowledged" || not_ok "the large job is acknowledged" "$(cat "$T_DIR/big.out")"
is "all of its runs are stored, the job complete" "$(sq "SELECT count(*), min(j.complete) FROM runs r JOIN jobs j USING (job_id) WHERE j.n_runs = 100000")" "100000|1"

# A run over the memory limit past the first chunk: the whole job refused,
# and what its first chunk had committed is gone.
before=$(sq "SELECT count(*) FROM runs")
out=$(big 25000 ', "grid": {"data.n": [100, 2000000]}' | rsw submit - 2>&1)
case "$out" in *"run 25000 (data.n=2000000"*"--memory-limit"*) ok "a run past the first chunk refuses the job" ;;
    *) not_ok "a run past the first chunk refuses the job" "$out" ;; esac
is "nothing of it is left" "$(sq "SELECT count(*) FROM runs"),$(sq "SELECT count(*) FROM jobs WHERE complete = 0")" "$before,0"

# kill -9 in the middle of a chunked submission: at the next start the
# partial job is gone, everything acknowledged stays.
rsw cancel "$J1" >/dev/null
before=$(sq "SELECT count(*) FROM runs")
(big 200000 | rsw submit - >/dev/null 2>&1 &)
wait_until 60 sh -c "[ \$(sqlite3 $DB 'SELECT count(*) FROM jobs WHERE complete = 0') = 1 ] && [ \$(sqlite3 $DB 'SELECT count(*) FROM runs') -gt $((before + 20000)) ]" ||
    bail "a chunk of the 200,000 runs is committed"
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
"$RESWEEPD" --socket "$SOCK" --db "$DB" --workers 1 --memory-limit 64M 2>>"$LOG" &
DPID=$!; T_PIDS="$T_PIDS $DPID"
wait_until 20 rsw ping || bail "the daemon restarts"
is "the partial job is gone at the restart" "$(sq "SELECT count(*) FROM runs"),$(sq "SELECT count(*) FROM jobs WHERE complete = 0")" "$before,0"
is "the acknowledged jobs are there" "$(sq "SELECT count(*) FROM jobs")" "2"
stop_daemon
is "daemon exits 0" "$?" "0"
