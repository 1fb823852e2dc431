#!/bin/bash
# Issue 9, memory admission: resweepd estimates each run's peak memory
# from its configuration (runs.mem_bytes) and, under --memory-limit,
# refuses at submission a job with a run that can never fit, with the
# run's sweep point and the estimate in the sentence; starts a run only
# when its estimate fits beside the running runs' (two big runs never run
# at once, small ones still run beside one); fails, with the reason, a run
# queued under a larger limit than the daemon has now; leaves workers of
# other machines (TCP) unmetered; and refuses bad --memory-limit values
# naming the option.
. "$(dirname "$0")/lib.sh"

MiB=1048576
ping_field() { rsw --json ping | json_get "$1"; }
status_is() { [ "$(sq "SELECT group_concat(status) FROM runs WHERE $1")" = "$2" ]; }

# --- the option ---------------------------------------------------------

for bad in abc 12Q 1K -1G 101% "" 2.5.1G; do
    out=$("$RESWEEPD" --socket "$T_DIR/bad.sock" --db "$T_DIR/bad.db" --memory-limit "$bad" 2>&1)
    rc=$?
    case "$rc:$out" in
        2:*"--memory-limit"*"\"$bad\""*) ok "--memory-limit \"$bad\" is refused, naming the option" ;;
        *) not_ok "--memory-limit \"$bad\" is refused, naming the option" "exit $rc: $out" ;;
    esac
done
[ ! -e "$T_DIR/bad.db" ] && ok "a refused option touches no database" ||
    not_ok "a refused option touches no database"

# The default: half the machine's memory (or of a lower cgroup limit).
start_daemon def --workers 1
total=$(awk '/^MemTotal/ { printf "%.0f\n", $2 * 1024 }' /proc/meminfo)
lim=$(ping_field memory_limit)
[ -n "$lim" ] && [ "$lim" -gt 0 ] && [ "$lim" -le $((total / 2 + 4096)) ] &&
    ok "the default limit is at most half the machine's memory ($lim of $total bytes)" ||
    not_ok "the default limit is at most half the machine's memory" "limit '$lim', MemTotal $total"
grep -q "memory limit .*(50% of " "$LOG" && ok "the start-up log says the limit and where it comes from" ||
    not_ok "the start-up log says the limit and where it comes from" "$(cat "$LOG")"
case "$(rsw ping)" in *"memory "*"estimated for the running runs"*) ok "resweep ping shows it" ;;
    *) not_ok "resweep ping shows it" "$(rsw ping)" ;; esac
stop_daemon

# --- refused at submission ------------------------------------------------

start_daemon small --workers 2 --memory-limit 64M
is "ping reports the limit in bytes" "$(ping_field memory_limit)" "$((64 * MiB))"
spec='{"name": "too big", "base": {"data": {"n": 2000, "n_test": 0}, "train": {"steps": 5},
  "analysis": {"hessian": false}}, "grid": {"data.d": [5, 3000]}}'
out=$(printf '%s' "$spec" | rsw submit - 2>&1)
rc=$?
is "a job with a run over the limit is refused" "$rc" "1"
case "$out" in
    *"run 1 (data.d=3000) needs about "*" MiB of memory, more than the daemon's memory limit of 64.0 MiB (--memory-limit)"*)
        ok "the sentence names the run, its sweep point, the estimate and the limit" ;;
    *) not_ok "the sentence names the run, its sweep point, the estimate and the limit" "$out" ;;
esac
is "nothing of it was stored" "$(sq 'SELECT count(*) FROM jobs') $(sq 'SELECT count(*) FROM runs')" "0 0"
req="{\"v\":1,\"id\":1,\"op\":\"submit\",\"spec\":$(printf '%s' "$spec" | tr -d '\n')}"
out=$(perl "$(dirname "$0")/rawclient.pl" "$SOCK" send "$req" 2>&1)
case "$out" in *'"code":"invalid_spec"'*"needs about"*) ok "its code is invalid_spec" ;;
    *) not_ok "its code is invalid_spec" "$out" ;; esac
tiny_spec 3 50 | rsw submit - --wait >/dev/null
is "small runs go on under the same limit" "$(sq "SELECT count(*) FROM runs WHERE status = 'done'")" "3"
est=$(sq 'SELECT min(mem_bytes) FROM runs')
[ "$est" -gt 0 ] && [ "$est" -lt $((64 * MiB)) ] && ok "each run's estimate is stored ($est bytes)" ||
    not_ok "each run's estimate is stored" "$est"
stop_daemon

# --- two big runs never at once, small ones beside them ------------------

# The big run is estimated at about 51 MiB (its 23 MiB of data, and
# dgelsd's copy of them should the Cholesky path give up), the small one at
# about 4: the limit fits one big run beside a small one, not two, and the
# lower limit of the next part not even one.
limit_mib=80
lower_mib=40
start_daemon fit --workers 3 --memory-limit ${limit_mib}M
big='{"d": 50, "n": 60000, "n_test": 1000}'
small='{"d": 5, "n": 100, "n_test": 100}'
spec="{\"name\": \"mixed\", \"base\": {\"model\": {\"width\": 16}, \"train\": {\"steps\": $(steps 60)},
  \"analysis\": {\"hessian\": false}}, \"grid\": {\"seed\": [0, 1, 2, 3], \"data\": [$big, $small]}}"
printf '%s' "$spec" | rsw submit - >/dev/null || bail "submit the mixed job"
over=0 seen=0
for _ in $(seq 600); do
    p=$(rsw --json ping)
    r=$(printf '%s' "$p" | json_get memory_reserved)
    [ "${r:-0}" -gt $((limit_mib * MiB)) ] && over=$((over + 1))
    [ "${r:-0}" -gt 0 ] && seen=$((seen + 1))
    [ "$(printf '%s' "$p" | json_get queued)" = 0 ] && [ "$(printf '%s' "$p" | json_get running)" = 0 ] && break
    sleep 0.05
done
rsw watch 1 >/dev/null 2>&1
is "every run of the mixed job is done" "$(sq "SELECT count(*) FROM runs WHERE status = 'done'")" "8"
is "ping's reserved memory never went over the limit" "$over" "0"
[ "$seen" -gt 0 ] && ok "ping showed memory reserved while runs ran ($seen samples)" ||
    not_ok "ping showed memory reserved while runs ran"
bigb=$(sq "SELECT min(mem_bytes) FROM runs WHERE n = 60000")
smallb=$(sq "SELECT max(mem_bytes) FROM runs WHERE n = 100")
[ $((2 * bigb)) -gt $((limit_mib * MiB)) ] && [ $((bigb + smallb)) -le $((limit_mib * MiB)) ] &&
    ok "the premise: one big run ($((bigb / MiB)) MiB) fits beside a small one ($((smallb / MiB)) MiB), two do not" ||
    not_ok "the premise: one big run fits beside a small one, two do not" "big $bigb, small $smallb, limit $((limit_mib * MiB))"
overlap() {  # pairs of runs, one of each n, whose [started_at, finished_at] meet
    sq "SELECT count(*) FROM runs a JOIN runs b ON a.run_id < b.run_id
        WHERE ((a.n = $1 AND b.n = $2) OR (a.n = $2 AND b.n = $1))
          AND a.started_at < b.finished_at AND b.started_at < a.finished_at"
}
is "no two big runs ran at the same time" "$(overlap 60000 60000)" "0"
both=$(overlap 60000 100)
[ "$both" -gt 0 ] && ok "small runs ran beside a big one ($both pairs)" ||
    not_ok "small runs ran beside a big one" "$(sq 'SELECT run_id, n, started_at, finished_at FROM runs ORDER BY started_at')"
stop_daemon

# --- a run queued under a larger limit fails with the reason ----------------

start_daemon lower --workers 1 --memory-limit none
is "--memory-limit none: ping's limit is null" "$(rsw --json ping | sed -n 's/.*"memory_limit":\(null\).*/\1/p')" "null"
long="{\"name\": \"long\", \"base\": {\"data\": {\"d\": 5, \"n\": 100}, \"model\": {\"width\": 8},
  \"train\": {\"steps\": $(steps 400000), \"curve_points\": 5}, \"analysis\": {\"hessian\": false}}}"
printf '%s' "$long" | rsw submit - >/dev/null || bail "submit the long run"
bigjob="{\"name\": \"big\", \"base\": {\"data\": $big, \"train\": {\"steps\": 5}, \"analysis\": {\"hessian\": false}}}"
printf '%s' "$bigjob" | rsw submit - >/dev/null || bail "submit the big run"
wait_until 20 status_is "job_id = 1" running ||
    bail "the long run starts"
stop_daemon
is "the big run is still queued at shutdown" "$(sq "SELECT status FROM runs WHERE job_id = 2")" "queued"
start_daemon lower --workers 1 --memory-limit ${lower_mib}M
rsw watch 2 >/dev/null 2>&1
is "under the lower limit the big run failed" "$(sq "SELECT status FROM runs WHERE job_id = 2")" "failed"
err=$(sq "SELECT error FROM runs WHERE job_id = 2")
case "$err" in *"needs about "*"more than the daemon's memory limit of ${lower_mib}.0 MiB (--memory-limit, larger or absent when the job was submitted)"*)
        ok "with the estimate and the limit in its error" ;;
    *) not_ok "with the estimate and the limit in its error" "$err" ;; esac
rsw watch 1 >/dev/null 2>&1
is "the small run resumed and finished" "$(sq "SELECT status FROM runs WHERE job_id = 1")" "done"
stop_daemon

# --- workers on other machines are not metered --------------------------

start_daemon tcp --workers 0 --listen 127.0.0.1:0 --memory-limit ${lower_mib}M
ADDR=$(rsw --json ping | json_get listen)
printf '%s' "$bigjob" | rsw submit - >/dev/null 2>&1
is "with --listen a run over the limit is accepted (a worker elsewhere may have the memory)" \
   "$(sq "SELECT count(*) FROM runs WHERE status = 'queued'")" "1"
"$RESWEEP_BUILD/resweep-worker" --connect "$ADDR" --token-file "$DB.token" --threads 1 \
    2>>"$T_DIR/worker.log" &
T_PIDS="$T_PIDS $!"
wait_until 60 status_is 1 done
is "a TCP worker ran it" "$(sq "SELECT status FROM runs")" "done"
is "reserving nothing on this machine" "$(ping_field memory_reserved)" "0"
stop_daemon
is "daemon exits 0" "$?" "0"
