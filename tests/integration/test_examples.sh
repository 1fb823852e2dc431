#!/bin/bash
# examples/*.json (issue 6): every example is a job the real daemon
# accepts, with the number of runs its name announces ("(N runs)"). The
# jobs are cancelled at once: this checks the specs, not the sweeps
# (the README's "What the theory predicts" section has what the small sweeps measured).
. "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
start_daemon a --workers 1
n=0
for f in "$top"/examples/*.json; do
    name=$(basename "$f")
    reply=$(rsw --json submit "$f" 2>&1)
    job=$(printf '%s' "$reply" | job_of)
    if [ -z "$job" ]; then
        not_ok "$name: accepted" "$reply"
        continue
    fi
    rsw cancel "$job" >/dev/null 2>&1
    n=$((n + 1))
    want=$(sed -n 's/.*"name": *"[^"]*(\([0-9][0-9]*\) runs)".*/\1/p' "$f" | head -n 1)
    got=$(sq "SELECT count(*) FROM runs WHERE job_id = $job")
    if [ -z "$want" ]; then
        ok "$name: accepted, $got runs"
    else
        is "$name: accepted with the $want runs its name announces" "$got" "$want"
    fi
done
[ "$n" -ge 13 ] && ok "all $n examples submitted" || not_ok "at least 13 examples submitted" "$n"
stop_daemon
