#!/bin/bash
# smallgemm_bench.sh — the training step with LIBXSMM's small products
# (src/engine/smallgemm.h) against the same step with OpenBLAS alone
# (RESWEEP_SMALLGEMM=off), on bench/run.sh's five configurations, in the
# same invocation and alternating the two sides; best of REPS of each.
# Also the share of this core's DGEMM peak (bench/dgemm_peak.c), with
# gd_bench's count of 6 n p flops a step (p the parameters). Each timed
# run follows an untimed one of the same configuration (run_config
# --warm): a process's first run generates LIBXSMM's kernels, which cost
# as much as the 20 steps of the largest configurations; and no curve
# (each point adds a pass over the test split to its step).
#   bench/smallgemm_bench.sh [REPS]      (default 3)
# Environment: BUILD (default build), BENCH_CONFIGS to override the list.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
bin="$top/$BUILD/bench"
reps=${1:-3}
configs=${BENCH_CONFIGS:-"10,16,2,1000 10,64,4,1000 50,128,8,4000 100,256,4,10000 20,32,16,2000"}
make -C "$top" -s "$BUILD/bench/run_config" "$BUILD/bench/dgemm_peak" >/dev/null
pj=$("$bin/dgemm_peak" 2048)
peak=$(printf '%s' "$pj" | python3 -c 'import json,sys; print(json.load(sys.stdin)["gflops"])')
small=$(printf '%s' "$pj" | python3 -c 'import json,sys; print(json.load(sys.stdin)["small"])')
echo "DGEMM peak (one core, OpenBLAS): $peak GFLOP/s; LIBXSMM code path: $small"
printf '%-18s %7s %14s %14s %8s %8s %8s\n' "d,h,L,n" steps "OpenBLAS s/st" "+LIBXSMM s/st" speed-up "%peak" "(before)"
sstep() { sed -n 's/.*(\([0-9.e+-]*\) s\/step).*/\1/p'; }
for cfg in $configs; do
    IFS=, read -r d h L n <<<"$cfg"
    p=$(( h * d + (L - 1) * h * h + d * h + d ))
    steps=$(( 300000000 / (6 * n * p) )); [ "$steps" -lt 20 ] && steps=20; [ "$steps" -gt 2000 ] && steps=2000
    j="{\"data\": {\"d\": $d, \"n\": $n}, \"model\": {\"arch\": \"resnet\", \"width\": $h, \"unit_depth\": $L},
        \"loss\": \"squared\", \"train\": {\"optimizer\": \"gd\", \"steps\": $steps, \"tol\": 0,
        \"curve_points\": 0}, \"analysis\": {\"hessian\": false, \"path_points\": 0}}"
    off=9e9; on=9e9
    for _ in $(seq "$reps"); do
        t=$(printf '%s' "$j" | RESWEEP_SMALLGEMM=off "$bin/run_config" - --warm | sstep)
        off=$(python3 -c "print(min($off, $t))")
        t=$(printf '%s' "$j" | "$bin/run_config" - --warm | sstep)
        on=$(python3 -c "print(min($on, $t))")
    done
    python3 - "$cfg" "$steps" "$off" "$on" "$n" "$p" "$peak" <<'PY'
import sys
cfg, steps, off, on, n, p, peak = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:])
gf = lambda s: 6 * n * p / s / 1e9
print(f"{cfg:<18} {steps:7d} {off:14.4g} {on:14.4g} {off / on:7.2f}x {100 * gf(on) / peak:7.0f}% {100 * gf(off) / peak:7.0f}%")
PY
done
