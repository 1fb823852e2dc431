#!/bin/bash
# Issue 11: `resweep delete JOB` removes an ended job and everything of it
# in one transaction, is refused while the job has queued or running runs,
# and leaves other jobs alone; the job stays gone after a restart.
. "$(dirname "$0")/lib.sh"

start_daemon del --workers 1
A=$(tiny_spec 3 20 | submit_job)
B=$(tiny_spec 2 20 | submit_job)
rsw watch "$B" >/dev/null 2>&1
counts() { sq "SELECT (SELECT count(*) FROM runs WHERE job_id = $1), (SELECT count(*) FROM results JOIN runs USING (run_id) WHERE job_id = $1), (SELECT count(*) FROM curves JOIN runs USING (run_id) WHERE job_id = $1) > 0, (SELECT count(*) FROM spectra JOIN runs USING (run_id) WHERE job_id = $1) > 0, (SELECT count(*) FROM paths JOIN runs USING (run_id) WHERE job_id = $1) > 0"; }
is "job A has its runs, results, curves, spectra and paths" "$(counts "$A")" "3|3|1|1|1"

L=$(printf '{"name": "long", "base": {"data": {"d": 5, "n": 100}, "train": {"steps": %s, "tol": 0}}}\n' "$(steps 100000000)" | submit_job)
wait_for 30 '[ "$(sq "SELECT status FROM runs WHERE job_id = $L")" = running ]' || bail "the long run starts"
out=$(rsw delete "$L" 2>&1); rc=$?
is "deleting a running job is refused (exit 1)" "$rc" "1"
case "$out" in *"queued or running runs: cancel it"*) ok "saying why and what to do: $out" ;;
    *) not_ok "saying why and what to do" "$out" ;; esac
is "and it is all still there" "$(sq "SELECT count(*) FROM runs WHERE job_id = $L")" "1"

out=$(rsw delete "$A"); rc=$?
is "deleting an ended job: exit 0" "$rc" "0"
is "says what went" "$out" "job $A deleted, with its 3 runs"
is "its runs, results, curves, spectra and paths are gone" "$(counts "$A")" "0|0|0|0|0"
is "the job row too" "$(sq "SELECT count(*) FROM jobs WHERE job_id = $A")" "0"
is "the other jobs are untouched" "$(counts "$B")" "2|2|1|1|1"
rsw status "$A" >/dev/null 2>&1
is "status of it: not found (exit 1)" "$?" "1"
rsw delete "$A" >/dev/null 2>&1
is "deleting it again: exit 1" "$?" "1"

rsw cancel "$L" >/dev/null
rsw watch "$L" >/dev/null 2>&1
is "once canceled and ended it can be deleted" "$(rsw --json delete "$L" | json_get deleted_runs)" "1"
stop_daemon
start_daemon del --workers 1
is "after a restart the deleted jobs stay deleted" "$(rsw --json status | python3 -c 'import json, sys; print(sorted(j["job"] for j in json.load(sys.stdin)["jobs"]))')" "[$B]"
is "the database is consistent" "$(sq "PRAGMA foreign_key_check" | wc -l)" "0"
stop_daemon
is "daemon exits 0" "$?" "0"
