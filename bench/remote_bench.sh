#!/bin/bash
# Issue 10 §6: what remote workers cost. The same sweep through the
# daemon's own threads and through as many resweep-worker processes (one
# thread each) on this machine, over TCP loopback with the token, measured
# in the same invocation; runs per minute end to end (results and curves
# stored), and the ratio remote/local.
#   mid   100 runs of d=20, n=2000, width 64, 300 GD steps, with the Hessian analysis
#   tiny  2,000 runs of d=5, n=100, 50 GD steps, no Hessian analysis
# Usage: bench/remote_bench.sh [--workers W] [--quick] [--reps R] [--only mid|tiny]
# Each side R times (default 2), alternating, the best of each: on a shared
# machine one repetition of the same work varies by 10% or more.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
bin="$top/$BUILD"
workers=2 scale=1 reps=2 kinds="mid tiny"
while [ $# -gt 0 ]; do
    case "$1" in
        --workers) workers=$2; shift 2 ;;
        --quick) scale=4; shift ;;
        --reps) reps=$2; shift 2 ;;
        --only) kinds=$2; shift 2 ;;
        *) echo "bench/remote_bench.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
work=$(mktemp -d)
chmod 700 "$work"
pids=""
cleanup() { [ -n "$pids" ] && kill $pids 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

rsw() { "$bin/resweep" --socket "$work/sock" --db "$work/db" "$@"; }
start() {  # resweepd options
    rm -f "$work"/db*
    "$bin/resweepd" --socket "$work/sock" --db "$work/db" "$@" 2>>"$work/log" &
    pids="$!"
    for _ in $(seq 100); do rsw ping >/dev/null 2>&1 && return; sleep 0.1; done
    echo "resweepd did not start" >&2; cat "$work/log" >&2; exit 1
}
# The workers first (they would wait for the daemon to come back), then
# the daemon.
stop() {
    local d=${pids%% *}
    [ "$pids" != "$d" ] && kill ${pids#* } 2>/dev/null
    rsw shutdown >/dev/null; wait 2>/dev/null; pids=""
}
spec() {  # kind
    case "$1" in
        mid) printf '{"name": "mid", "base": {"data": {"d": 20, "n": 2000}, "model": {"width": 64}, "train": {"steps": 300}}, "seeds": %d}' $((100 / scale)) ;;
        tiny) printf '{"name": "tiny", "base": {"data": {"d": 5, "n": 100}, "train": {"steps": 50}, "analysis": {"hessian": false}}, "seeds": %d}' $((2000 / scale)) ;;
    esac
}
# Runs per minute of one sweep on the daemon as started.
rate() {  # kind
    local n t0 t1
    n=$(spec "$1" | sed 's/.*"seeds": \([0-9]*\).*/\1/')
    t0=$(date +%s.%N)
    spec "$1" | rsw submit - --wait >/dev/null
    t1=$(date +%s.%N)
    awk "BEGIN { printf \"%.0f\", $n * 60 / ($t1 - $t0) }"
}
remote_workers() {
    local addr i
    addr=$(rsw --json ping | sed -n 's/.*"listen":"\([^"]*\)".*/\1/p')
    for i in $(seq "$workers"); do
        "$bin/resweep-worker" --connect "$addr" --token-file "$work/db.token" --threads 1 2>>"$work/wlog" &
        pids="$pids $!"
    done
    for _ in $(seq 100); do
        [ "$(rsw --json ping | sed -n 's/.*"remote_workers":\([0-9]*\).*/\1/p')" = "$workers" ] && return
        sleep 0.1
    done
    echo "the workers did not register" >&2; cat "$work/wlog" >&2; exit 1
}

echo "CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) cores; $workers workers"
printf '%-6s %14s %14s %8s\n' sweep "threads/min" "remote/min" ratio
# Each side twice, alternating, the better of each: other load on the
# machine then hurts both sides alike.
best() { awk "BEGIN { print ($1 > $2) ? $1 : $2 }"; }
for kind in $kinds; do
    local_rate=0 remote_rate=0
    for rep in $(seq "$reps"); do
        start --workers "$workers"
        [ "$rep" = 1 ] && rate "$kind" >/dev/null   # warm up: page cache, BLAS
        local_rate=$(best "$local_rate" "$(rate "$kind")")
        stop
        start --workers 0 --listen 127.0.0.1:0
        remote_workers
        remote_rate=$(best "$remote_rate" "$(rate "$kind")")
        stop
    done
    printf '%-6s %14s %14s %8s\n' "$kind" "$local_rate" "$remote_rate" \
        "$(awk "BEGIN { printf \"%.2f\", $remote_rate / $local_rate }")"
done
