#!/bin/bash
# resweep's benchmarks (issue 5), each against a reference measured in the
# same invocation:
#   1. full-batch GD per step, resweep vs PyTorch (CPU, float64, 1 thread,
#      the faster of its default OpenBLAS kernel and the one resweep picks
#      for this CPU), same data and initial parameters (dumped by
#      bench/torch_ref.py), and the final objectives compared to show both
#      ran the same computation;
#   2. this core's DGEMM peak through resweep's BLAS, for "% of peak".
# Usage: bench/run.sh [--steps T] [--quick]   (make bench runs it)
# Environment: BUILD (default build), BENCH_CONFIGS to override the list.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
bin="$top/$BUILD/bench"
steps=500
configs=${BENCH_CONFIGS:-"10,16,2,1000 10,64,4,1000 50,128,8,4000 100,256,4,10000 20,32,16,2000"}
while [ $# -gt 0 ]; do
    case "$1" in
        --steps) steps=$2; shift 2 ;;
        --quick) steps=50; shift ;;
        *) echo "bench/run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
"$top/scripts/deps.sh" bench
py=/usr/bin/python3   # Debian's python3-torch lives in the system python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

field() { "$py" -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
torch_kernel() { "$py" -c "import json,sys; print(json.loads(sys.argv[1])['openblas'].get('corename','?'))" "$1"; }

peak_json=$("$bin/dgemm_peak" 2048)
peak=$(field "$peak_json" gflops)
kernel=$(field "$peak_json" kernel)
echo "DGEMM peak (one core, resweep's BLAS, kernel $kernel): $peak GFLOP/s"
echo
printf '%-18s %12s %-9s %12s %8s %9s %8s %s\n' "d,h,L,n" "torch s/step" "kernel" "ours s/step" "ratio" "GFLOP/s" "%peak" "objectives agree"
for cfg in $configs; do
    IFS=, read -r d h L n <<<"$cfg"
    args=(--d "$d" --h "$h" --L "$L" --n "$n" --steps "$steps" --threads 1)
    dump="$work/$cfg"
    # PyTorch at its best: the faster of its default kernel and the one
    # resweep picks for this CPU (the widest it can execute; forcing a
    # wider one, SkylakeX without AVX-512, dies of SIGILL).
    best_t="" best_json=""
    for ct in "" "$kernel"; do
        extra=(); [ -n "$ct" ] && extra=(--openblas-coretype "$ct")
        [ -d "$dump" ] || extra+=(--dump-dir "$dump")
        j=$("$py" "$top/bench/torch_ref.py" "${args[@]}" "${extra[@]}")
        t=$(field "$j" s_per_step)
        if [ -z "$best_t" ] || "$py" -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$t" "$best_t"; then
            best_t=$t; best_json=$j
        fi
    done
    ours=$("$bin/gd_bench" "$dump")
    o=$(field "$ours" s_per_step)
    "$py" - "$best_json" "$ours" "$peak" "$cfg" <<'EOF'
import json, sys
t, o, peak, cfg = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
agree = abs(t["obj_final"] - o["obj_final"]) <= 1e-9 * max(1.0, abs(t["obj_final"]))
print(f'{cfg:<18} {t["s_per_step"]:12.3e} {t["openblas"].get("corename","?"):<9} '
      f'{o["s_per_step"]:12.3e} {t["s_per_step"] / o["s_per_step"]:7.2f}x '
      f'{o["gflops"]:9.1f} {100 * o["gflops"] / peak:7.0f}% '
      f'{"yes" if agree else "NO"} ({t["obj_final"]:.12g} vs {o["obj_final"]:.12g})')
EOF
done
