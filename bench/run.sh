#!/bin/bash
# resweep's benchmarks (issue 5), each against a reference measured in the
# same invocation:
#   1. full-batch GD per step, resweep vs PyTorch (CPU, 1 thread, the
#      faster of its default OpenBLAS kernel and the one resweep picks for
#      this CPU), in float64 and in float32 (what PyTorch users run; issue
#      14), same data and initial parameters (dumped by bench/torch_ref.py),
#      and the final objectives compared to show both ran the same
#      computation (float64: to 1e-9; float32: the relative difference),
#      and resweep's own float32 training (train.precision) beside both;
#   2. this core's DGEMM and SGEMM peaks through resweep's BLAS, for
#      "% of peak" (float64) and "%speak" (float32).
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
speak=$(field "$peak_json" sgflops)
kernel=$(field "$peak_json" kernel)
echo "DGEMM peak (one core, resweep's BLAS, kernel $kernel): $peak GFLOP/s; SGEMM: $speak GFLOP/s"
echo
printf '%-18s %10s %-9s %10s %7s %7s %6s | %10s %10s %7s %7s %6s | %s\n' "d,h,L,n" "torch64" "kernel" "ours64" "ratio" "GFLOP/s" "%peak" "torch32" "ours32" "ratio" "32:64" "%speak" "objectives (f64 agree; f32 rel. diff to ours64, to torch32)"
# PyTorch at its best: the faster of its default kernel and the one
# resweep picks for this CPU (the widest it can execute; forcing a wider
# one, SkylakeX without AVX-512, dies of SIGILL). The first call dumps the
# data and initial parameters for gd_bench.
torch_best() {  # dump dtype args...
    local dump=$1 dtype=$2 best_t="" best_json="" ct extra j t; shift 2
    for ct in "" "$kernel"; do
        extra=(--dtype "$dtype"); [ -n "$ct" ] && extra+=(--openblas-coretype "$ct")
        [ -d "$dump" ] || extra+=(--dump-dir "$dump")
        j=$("$py" "$top/bench/torch_ref.py" "$@" "${extra[@]}")
        t=$(field "$j" s_per_step)
        if [ -z "$best_t" ] || "$py" -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$t" "$best_t"; then
            best_t=$t; best_json=$j
        fi
    done
    printf '%s' "$best_json"
}
for cfg in $configs; do
    IFS=, read -r d h L n <<<"$cfg"
    args=(--d "$d" --h "$h" --L "$L" --n "$n" --steps "$steps" --threads 1)
    dump="$work/$cfg"
    t64=$(torch_best "$dump" float64 "${args[@]}")
    t32=$(torch_best "$dump" float32 "${args[@]}")
    ours=$("$bin/gd_bench" "$dump")
    ours32=$("$bin/gd_bench" "$dump" --precision float32)
    "$py" - "$t64" "$t32" "$ours" "$ours32" "$peak" "$speak" "$cfg" <<'EOF'
import json, sys
t, t32, o, o32 = (json.loads(a) for a in sys.argv[1:5])
peak, speak, cfg = float(sys.argv[5]), float(sys.argv[6]), sys.argv[7]
agree = abs(t["obj_final"] - o["obj_final"]) <= 1e-9 * max(1.0, abs(t["obj_final"]))
rel = lambda a, b: abs(a["obj_final"] - b["obj_final"]) / max(1e-300, abs(b["obj_final"]))
s = lambda j: j["s_per_step"]
print(f'{cfg:<18} {s(t):10.3e} {t["openblas"].get("corename","?"):<9} {s(o):10.3e} '
      f'{s(t) / s(o):6.2f}x {o["gflops"]:7.1f} {100 * o["gflops"] / peak:5.0f}% | '
      f'{s(t32):10.3e} {s(o32):10.3e} {s(t32) / s(o32):6.2f}x {s(o) / s(o32):6.2f}x '
      f'{100 * o32["gflops"] / speak:5.0f}% | '
      f'{"yes" if agree else "NO"}; {rel(o32, o):.1e}, {rel(o32, t32):.1e}')
EOF
done
