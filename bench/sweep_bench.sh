#!/bin/bash
# Service benchmarks (issues 3, 4, 5), each through the real daemon on a
# private socket and database:
#   latency  submit-to-reply time of a 10,000-run grid
#   tiny     1,000 tiny runs (d=5, n=100, steps=50, default analysis) on
#            W workers: runs per minute end to end, curves and results stored
#   scaling  a sweep of mid-size runs on 1 worker and on W: throughput ratio
#   memory   the daemon's resident memory after 10,000 and after 100,000
#            tiny runs (long: about 10 minutes on 2 cores)
#   torch    issue 14: 1,000 tiny runs (d=5, n=100, width 16, unit depth 2,
#            50 GD steps, least-squares baseline, the curve at every step,
#            no Hessian) through resweep on W workers and through the
#            PyTorch script a user writes (bench/torch_sweep.py, a pool of
#            W processes), best of two each, alternating; the ratio, with
#            resweep in float64 and in float32 (train.precision; the
#            script's precision)
# Usage: bench/sweep_bench.sh [latency|tiny|scaling|memory|torch|all] [--workers W]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
resweepd="$top/$BUILD/resweepd" resweep="$top/$BUILD/resweep"
what=${1:-all}
[ $# -gt 0 ] && shift
workers=2
[ "${1:-}" = "--workers" ] && workers=$2
work=$(mktemp -d)
chmod 700 "$work"
dpid=""
cleanup() { [ -n "$dpid" ] && kill "$dpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }  # calc FORMAT EXPR
start() {  # workers
    rm -f "$work"/db*
    "$resweepd" --socket "$work/sock" --db "$work/db" --workers "$1" 2>>"$work/log" &
    dpid=$!
    for _ in $(seq 100); do "$resweep" --socket "$work/sock" ping >/dev/null 2>&1 && return; sleep 0.1; done
    echo "resweepd did not start" >&2; cat "$work/log" >&2; exit 1
}
stop() { "$resweep" --socket "$work/sock" shutdown >/dev/null; wait "$dpid"; dpid=""; }
rsw() { "$resweep" --socket "$work/sock" --db "$work/db" "$@"; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$dpid/status"; }

tiny_spec() {  # seeds
    printf '{"name": "tiny", "base": {"data": {"d": 5, "n": 100}, "train": {"steps": 50}}, "seeds": %d}' "$1"
}

latency() {
    start "$workers"
    local spec='{"name": "grid10k", "base": {"data": {"d": 5, "n": 100}, "train": {"steps": 50}},
      "grid": {"seed": '"$(seq -s, 0 99 | sed 's/^/[/; s/$/]/')"', "train.lr": '"$(seq -s, 1 100 | sed 's/^/[/; s/$/]/')"'}}'
    local t0 t1
    t0=$(now); printf '%s' "$spec" | rsw submit - >/dev/null; t1=$(now)
    echo "latency: submit-to-reply for a 10,000-run grid: $(calc %.0f "($t1 - $t0) * 1000") ms"
    rsw cancel 1 >/dev/null
    stop
}

tiny() {
    start "$workers"
    local t0 t1
    t0=$(now); tiny_spec 1000 | rsw submit - --wait >/dev/null; t1=$(now)
    local n; n=$(sqlite3 "$work/db" "SELECT count(*) FROM results")
    local c; c=$(sqlite3 "$work/db" "SELECT count(*) FROM curves")
    echo "tiny: 1,000 runs on $workers workers in $(calc %.2f "$t1 - $t0") s:" \
         "$(calc %.0f "60 * 1000 / ($t1 - $t0)") runs/min ($n results, $c curve points stored)"
    stop
}

scaling() {
    local spec='{"name": "mid", "base": {"data": {"d": 20, "n": 2000}, "model": {"width": 32, "unit_depth": 3},
      "train": {"steps": 300}, "analysis": {"lanczos_iters": 20}}, "seeds": 24}'
    local rate=()
    for w in 1 "$workers"; do
        start "$w"
        local t0 t1
        t0=$(now); printf '%s' "$spec" | rsw submit - --wait >/dev/null; t1=$(now)
        rate+=("$(calc %.3f "24 * 60 / ($t1 - $t0)")")
        printf 'scaling: %d worker(s): %.1f runs/min\n' "$w" "${rate[-1]}"
        stop
    done
    printf 'scaling: %d workers give %.2fx the throughput of 1\n' "$workers" "$(calc %.3f "${rate[1]} / ${rate[0]}")"
}

memory() {
    start "$workers"
    tiny_spec 10000 | rsw submit - --wait >/dev/null
    local r10; r10=$(rss_kib)
    tiny_spec 90000 | rsw submit - --wait >/dev/null
    local r100; r100=$(rss_kib)
    printf 'memory: resident after 10,000 runs %d KiB, after 100,000 %d KiB (%+.1f%%)\n' \
        "$r10" "$r100" "$(calc %.3f "100 * ($r100 - $r10) / $r10")"
    stop
}

torch_vs() {
    "$top/scripts/deps.sh" bench >/dev/null
    local ours=0 ours32=0 theirs=0 rep r j p
    for rep in 1 2; do
        for p in float64 float32; do
            r=$(resweep_tiny16 "$p")
            if [ "$p" = float64 ]; then [ "$r" -gt "$ours" ] && ours=$r
            else [ "$r" -gt "$ours32" ] && ours32=$r; fi
        done
        rm -f "$work/torch.db"
        j=$(/usr/bin/python3 "$top/bench/torch_sweep.py" --runs 1000 --procs "$workers" --db "$work/torch.db")
        r=$(printf '%s' "$j" | /usr/bin/python3 -c 'import json, sys; print(round(json.load(sys.stdin)["runs_per_min"]))')
        [ "$r" -gt "$theirs" ] && theirs=$r
    done
    echo "torch: 1,000 tiny runs on $workers workers: resweep $ours runs/min" \
         "(float32: $ours32), the PyTorch script (float32) $theirs runs/min:" \
         "$(calc %.1f "$ours / $theirs")x ($(calc %.1f "$ours32 / $theirs")x in float32)"
}

# Runs per minute of resweep on the tiny sweep in precision $1.
resweep_tiny16() {
    local spec='{"name": "tiny16", "base": {"data": {"d": 5, "n": 100}, "model": {"width": 16, "unit_depth": 2},
      "train": {"steps": 50, "curve_points": 50, "precision": "'"$1"'"}, "analysis": {"hessian": false}}, "seeds": 1000}'
    local t0 t1
    start "$workers"
    t0=$(now); printf '%s' "$spec" | rsw submit - --wait >/dev/null; t1=$(now)
    stop
    calc %.0f "60 * 1000 / ($t1 - $t0)"
}

case "$what" in
    latency|tiny|scaling|memory) "$what" ;;
    torch) torch_vs ;;
    all) latency; tiny; scaling; torch_vs ;;
    *) echo "usage: bench/sweep_bench.sh [latency|tiny|scaling|memory|torch|all] [--workers W]" >&2; exit 2 ;;
esac
