#!/bin/bash
# `make run`: the quick sweep end to end. Starts resweepd on a private
# socket with the default database (RESWEEP_DB if set), submits
# examples/quick.json, shows its progress, prints the gap summary by
# architecture and depth, and stops the daemon; it cleans up on any exit.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/${BUILD:-build}"
dir=$(mktemp -d "${TMPDIR:-/tmp}/resweep-demo.XXXXXX") || exit 1
sock="$dir/resweepd.sock"
pid=""

cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        "$bin/resweep" --socket "$sock" shutdown >/dev/null 2>&1 ||
            kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rsw() { "$bin/resweep" --socket "$sock" "$@"; }

"$bin/resweepd" --socket "$sock" --log-level warn 2>"$dir/resweepd.log" &
pid=$!
for _ in $(seq 100); do
    rsw ping >/dev/null 2>&1 && break
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "run-demo: resweepd did not start:" >&2
        cat "$dir/resweepd.log" >&2
        exit 1
    fi
    sleep 0.1
done
db=$(rsw ping | sed -n 's/^database //p')
echo "resweepd (pid $pid) on $sock, database $db"

reply=$(rsw --json submit "$top/examples/quick.json") || exit 1
job=$(printf '%s\n' "$reply" | sed -n 's/.*"job":\([0-9]*\).*/\1/p')
echo "submitted examples/quick.json as job $job"
rsw watch "$job"
status=$?
[ "$status" -eq 4 ] && { cat "$dir/resweepd.log" >&2; exit 1; }

echo
echo "gap = F(network) - F_lin* on the training set, by architecture and depth:"
rsw sql "SELECT arch, unit_depth AS depth, dist, runs, done,
                printf('%+.3e', gap_mean) AS gap_mean,
                printf('%+.3e', gap_median) AS gap_median,
                printf('%+.3e', gap_max) AS gap_max,
                frac_gap_le_1e6 AS 'frac gap<=1e-6'
           FROM gap_summary WHERE job_id = $job
          ORDER BY arch, unit_depth, dist"
echo
echo "Query it yourself: resweep --db '$db' sql \"SELECT * FROM run_results WHERE job_id = $job\""
rsw shutdown >/dev/null && wait "$pid"
pid=""
exit "$status"
