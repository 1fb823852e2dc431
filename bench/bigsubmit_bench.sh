#!/bin/bash
# Issue 9 §5 and §12: a large submit while another job's fast runs finish.
#
# Starts the real daemon on a private socket and database, submits a job
# of tiny runs (d=5, n=100, steps=10) so that the workers finish runs
# continuously, then submits an N-run job (default 1,000,000) of the same
# tiny runs while they do. Prints, each measured from the outside:
#   - the submit's time to reply;
#   - the longest gap between two commits of the first job's results
#     during the submit (sampled through sqlite3, every 0.2 s);
#   - ping's largest `running` (the active runs: bounded by workers +
#     SCHED_MAX_UNSTORED, 1024) and its longest reply time;
#   - the daemon's resident memory: before, at its peak, and 5 s after the
#     submit; then the time to cancel the big job.
# Usage: bench/bigsubmit_bench.sh [N] [--workers W]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
resweepd="$top/$BUILD/resweepd" resweep="$top/$BUILD/resweep"
n=1000000
if [ $# -gt 0 ] && [ "$1" != "--workers" ]; then n=$1; shift; fi
workers=2
[ "${1:-}" = "--workers" ] && workers=$2
work=$(mktemp -d)
chmod 700 "$work"
dpid="" spid=""
cleanup() {
    [ -n "$spid" ] && kill "$spid" 2>/dev/null
    [ -n "$dpid" ] && kill "$dpid" 2>/dev/null
    wait 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
rsw() { "$resweep" --socket "$work/sock" --db "$work/db" "$@"; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$dpid/status"; }
spec() {  # name seeds
    printf '{"name": "%s", "base": {"data": {"d": 5, "n": 100}, "train": {"steps": 10}}, "seeds": %d}' "$1" "$2"
}

"$resweepd" --socket "$work/sock" --db "$work/db" --workers "$workers" 2>>"$work/log" &
dpid=$!
for _ in $(seq 100); do rsw ping >/dev/null 2>&1 && break; sleep 0.1; done
rsw ping >/dev/null || { echo "resweepd did not start" >&2; cat "$work/log" >&2; exit 1; }

spec fast 200000 | rsw submit - >/dev/null
# Wait for results to flow.
for _ in $(seq 300); do
    [ "$(sqlite3 "$work/db" 'SELECT count(*) FROM results' 2>/dev/null || echo 0)" -gt 100 ] && break
    sleep 0.1
done
rss0=$(rss_kib)

# Sampler: results committed, ping's running and reply time, RSS.
sampler() {
    while :; do
        local t0 t1 res run
        res=$(sqlite3 "$work/db" 'PRAGMA busy_timeout=5000; SELECT count(*) FROM results' 2>/dev/null | tail -1 || echo -)
        t0=$(now)
        run=$(rsw --json ping 2>/dev/null | sed -n 's/.*"running": *\([0-9]*\).*/\1/p' || true)
        t1=$(now)
        echo "$(now) ${res:--} ${run:--} $(calc %.3f "$t1 - $t0") $(rss_kib)"
        sleep 0.2
    done
}
sampler >"$work/samples" &
spid=$!

t0=$(now)
spec big "$n" | rsw submit - >/dev/null
t1=$(now)
sleep 5
kill "$spid"; wait "$spid" 2>/dev/null || true; spid=""
rss_after=$(rss_kib)

t2=$(now)
rsw cancel 2 >"$work/cancel.out" 2>&1 || true
t3=$(now)

awk -v t0="$t0" -v t1="$t1" '
    $2 != "-" {
        if (last != "" && $2 != last) { if ($1 - tlast > gap && $1 >= t0 && tlast <= t1 + 0.5) gap = $1 - tlast; tlast = $1 }
        else if (last == "") tlast = $1
        last = $2
    }
    $3 != "-" && $3 > run { run = $3 }
    $4 > ping { ping = $4 }
    $5 > rss { rss = $5 }
    END { printf "%.1f %d %.3f %d\n", gap, run, ping, rss }' "$work/samples" >"$work/summary"
read -r gap run ping rsspeak <"$work/summary"
echo "submit of $n runs while $workers workers finish tiny runs:"
echo "  submit-to-reply:                $(calc %.1f "$t1 - $t0") s"
echo "  longest gap between commits:    ${gap} s (sampled every ~0.2 s + a ping)"
echo "  ping: largest running:          $run"
echo "  ping: longest reply:            ${ping} s"
echo "  RSS before / peak / 5 s after:  $((rss0 / 1024)) / $((rsspeak / 1024)) / $((rss_after / 1024)) MiB"
echo "  cancel of the big job:          $(calc %.2f "$t3 - $t2") s: $(tr '\n' ' ' <"$work/cancel.out")"
"$resweep" --socket "$work/sock" shutdown >/dev/null
wait "$dpid"; dpid=""
