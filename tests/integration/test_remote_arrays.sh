#!/bin/bash
# A remote run's kept arrays larger than a finish carries (4 MiB,
# include/wire.h) go before it in parts (arrays_part; docs/protocol.md,
# "Workers"), and reach the store with the run's result: the parameters a
# real resweep-worker sends over a slow link are bit for bit those of the
# same run on the daemon's own threads, in the database and through
# `resweep export --params`; a small run's arrays still ride in its
# finish; another run of the worker keeps its lease while the parts are
# on their way; the daemon refuses parts out of order, of the wrong size
# or past PROTO_MAX_ARRAYS, and a finish naming an array it does not hold
# whole, and that run runs again; a worker killed with -9 mid-parts loses
# nothing: its run runs again and ends done with its arrays.
. "$(dirname "$0")/lib.sh"

WORKER="$RESWEEP_BUILD/resweep-worker"
TCP="$(dirname "$0")/tcpclient.py"
SLOW="$(dirname "$0")/slowlink.py"
# The slow link's rate, worker to daemon: an 8 MiB frame (a part) takes
# about 1.7 s on the wire (3 s in all under TSan), the big run's 4 parts
# about 6 s: longer than the 5 s lease timeout, so the run beside it keeps
# its lease only if its heartbeats and curve points go out between the
# parts.
RATE=5000000
LEASE_S=5

# 2.6M parameters (W_hidden 1600 x 1600): 20.5 MB of float64, 4 parts.
spec_big() {
    printf '{"name": "big", "base": {"data": {"d": 10, "n": 20, "n_test": 0}, "model": {"width": 1600}, "train": {"steps": 1}, "analysis": {"hessian": false, "path_points": 0, "save_params": true}}}\n'
}
spec_small() {
    printf '{"name": "small", "base": {"data": {"d": 6, "n": 50}, "model": {"width": 8}, "train": {"steps": 50}, "analysis": {"hessian": false, "save_params": true}}}\n'
}
# Seconds of training beside the big run.
spec_long() {
    printf '{"name": "long", "base": {"data": {"d": 5, "n": 100}, "model": {"width": 8}, "train": {"steps": %s, "lr": 0.01, "tol": 0, "curve_points": 20}, "analysis": {"hessian": false}}}\n' \
        "$(steps 4000000)"
}

job_done() { [ "$(sq "SELECT count(*) FROM runs WHERE job_id = $1 AND status IN ('queued', 'running')")" = 0 ]; }
running() { [ "$(sq "SELECT count(*) FROM runs WHERE job_id = $1 AND status = 'running'")" -ge 1 ]; }
run_of() { sqlite3 "$1" "SELECT run_id FROM runs WHERE job_id = $2"; }
state_of() { sq "SELECT status || '|' || attempts FROM runs WHERE job_id = $1"; }
# Every array of a job's run, by name, as hex.
arrays_hex() {  # db job
    sqlite3 "$1" "SELECT a.name, a.shape, hex(a.data) FROM run_arrays a
                  JOIN runs r USING (run_id) WHERE r.job_id = $2 ORDER BY a.name"
}
same_arrays() {  # description job local_job
    local got want
    got=$(arrays_hex "$DB" "$2") want=$(arrays_hex "$LOCALDB" "$3")
    if [ -n "$got" ] && [ "$got" = "$want" ]; then ok "$1"; else
        not_ok "$1" "$(diff <(echo "$got" | cut -c1-80) <(echo "$want" | cut -c1-80) | head -4)"; fi
}

start_worker() {  # name address [options]
    local name=$1 addr=$2; shift 2
    "$WORKER" --connect "$addr" --token-file "$DB.token" "$@" 2>>"$T_DIR/$name.log" &
    WPID=$!
    T_PIDS="$T_PIDS $WPID"
}
start_link() {
    python3 "$SLOW" "$ADDR" "$RATE" > "$T_DIR/link.port" &
    T_PIDS="$T_PIDS $!"
    wait_until 10 test -s "$T_DIR/link.port" || bail "the slow link listens"
    LINK=127.0.0.1:$(head -n 1 "$T_DIR/link.port")
}

# --- the reference: the daemon's own threads ---
start_daemon local --workers 2
spec_big | rsw submit - --wait >/dev/null || bail "the big run on threads"
spec_small | rsw submit - --wait >/dev/null || bail "the small run on threads"
LOCALDB=$DB
is "on threads the big run keeps more than a finish carries" \
    "$(sq "SELECT sum(length(data)) > 4194304 FROM run_arrays WHERE run_id = $(run_of "$DB" 1)")" "1"
stop_daemon

# --- a remote worker over a slow link, a long run beside the big one ---
start_daemon remote --workers 0 --listen 127.0.0.1:0 --lease-timeout "$LEASE_S"
ADDR=$(rsw --json ping | json_get listen)
start_link
start_worker w1 "$LINK" --threads 2; W1=$WPID
JL=$(spec_long | submit_job)
wait_until 60 running "$JL" || bail "the long run starts on the worker" "$(tail -3 "$T_DIR/w1.log")"
JB=$(spec_big | submit_job)
wait_until 120 job_done "$JB" || bail "the big run ends on the remote worker" "$(tail -3 "$T_DIR/w1.log")"
RB=$(run_of "$DB" "$JB")
is "the big run is done, on its first attempt" "$(state_of "$JB")" "done|1"
grep -q "run $RB: 1 arrays of 20480000 bytes go in parts before its finish" "$T_DIR/w1.log" &&
    ok "its W_hidden went in parts" || not_ok "its W_hidden went in parts" "$(cat "$T_DIR/w1.log")"
same_arrays "its arrays in the database are the threads', bit for bit" "$JB" 1
if running "$JL"; then ok "the long run was still running meanwhile"; else
    not_ok "the long run was still running meanwhile" "$(state_of "$JL")"; fi
rsw export "$RB" --params --out "$T_DIR/remote" >/dev/null 2>&1 || not_ok "export --params of the remote run" "$(rsw export "$RB" --params --out "$T_DIR/remote2" 2>&1)"
"$RESWEEP" --db "$LOCALDB" export "$(run_of "$LOCALDB" 1)" --params --out "$T_DIR/local" >/dev/null 2>&1 ||
    not_ok "export --params of the threads' run"
npy=0 differ=""
for f in "$T_DIR"/local/*.npy; do
    npy=$((npy + 1))
    cmp -s "$f" "$T_DIR/remote/${f##*/}" || differ="$differ ${f##*/}"
done
if [ "$npy" -ge 7 ] && [ -z "$differ" ]; then ok "resweep export --params writes the same $npy .npy files"; else
    not_ok "resweep export --params writes the same .npy files" "$npy files; differ:$differ"; fi

JS=$(spec_small | submit_job)
wait_until 60 job_done "$JS" || bail "the small run ends"
is "the small run is done" "$(state_of "$JS")" "done|1"
same_arrays "with its arrays, the threads'" "$JS" 2
RS=$(run_of "$DB" "$JS")
grep -q "run $RS: .* go in parts" "$T_DIR/w1.log" && not_ok "they rode in its finish, no parts" ||
    ok "they rode in its finish, no parts"
wait_until 120 job_done "$JL" || bail "the long run ends"
is "the long run kept its lease while the parts went: done, first attempt" "$(state_of "$JL")" "done|1"
grep -q "lease expired" "$LOG" && not_ok "no lease expired" "$(grep "lease expired" "$LOG")" || ok "no lease expired"
kill -TERM "$W1"; wait "$W1"
is "worker 1 exits 0 on SIGTERM (clean under the sanitizers too)" "$?" "0"

# --- what the daemon refuses ---
JP=$(spec_small | submit_job)
is "arrays_part out of order, of the wrong total, past PROTO_MAX_ARRAYS; a good one; a finish naming one not whole" \
    "$(python3 "$TCP" "$ADDR" parts "$DB.token")" "bad_request bad_request bad_request ok bad_request whole"
is "nothing was stored for it" "$(sq "SELECT count(*) FROM results JOIN runs USING (run_id) WHERE job_id = $JP")" "0"
start_worker w2 "$ADDR" --threads 1; W2=$WPID
wait_until 60 job_done "$JP" || bail "the refused run ends once its lease expired"
is "its lease expired and it ran again: done, second attempt" "$(state_of "$JP")" "done|2"
same_arrays "with its arrays" "$JP" 2
kill -TERM "$W2"; wait "$W2"
is "worker 2 exits 0 on SIGTERM" "$?" "0"

# --- kill -9 of a worker while the parts are on their way ---
start_worker w3 "$LINK" --threads 1; W3=$WPID
JK=$(spec_big | submit_job)
RK=$(run_of "$DB" "$JK")
wait_until 60 grep -q "run $RK: .* go in parts" "$T_DIR/w3.log" || bail "worker 3 sends the parts" "$(tail -3 "$T_DIR/w3.log")"
sleep 0.5
kill -KILL "$W3"; wait "$W3" 2>/dev/null
is "killed with the parts under way, its run was not done" "$(state_of "$JK")" "running|1"
start_worker w4 "$ADDR" --threads 1
wait_until 60 job_done "$JK" || bail "the run ends after its worker was killed"
is "it ran again: done, second attempt" "$(state_of "$JK")" "done|2"
grep -q "run $RK attempt 1: .*lease expired" "$LOG" && ok "after its lease expired" ||
    not_ok "after its lease expired" "$(tail -5 "$LOG")"
same_arrays "its arrays are the threads', bit for bit" "$JK" 1
stop_daemon
is "daemon exits 0" "$?" "0"
