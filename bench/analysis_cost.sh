#!/bin/sh
# analysis_cost.sh — the end-point analysis's cost relative to training
# (README, Performance; docs/theory.md §6.6): the median over REPS runs
# of analysis_s / train_s for a configuration, with the default analysis
# and with the spectrum and path (issue 13) turned off.
#   bench/analysis_cost.sh [CONFIG_JSON] [REPS]   (default {} and 11)
set -eu
cfg=${1:-'{}'}
reps=${2:-11}
bin=${BUILD:-build}/bench/run_config
off='{"trace_probes": 0, "slq_probes": 0, "exact_max_params": 0, "path_points": 0}'
ratio() {  # config -> median ratio, median train_s, median analysis_s
    i=0
    while [ "$i" -lt "$reps" ]; do
        printf '%s\n' "$1" | "$bin" - --quiet | sed -n 's/^time train \([0-9.]*\)s analysis \([0-9.]*\)s.*/\1 \2/p'
        i=$((i + 1))
    done | awk '{ r[NR] = $2 / $1; t[NR] = $1; a[NR] = $2 }
        function med(x, n,   i, j, v) { for (i = 2; i <= n; i++) { v = x[i]; for (j = i - 1; j > 0 && x[j] > v; j--) x[j + 1] = x[j]; x[j + 1] = v } return x[int((n + 1) / 2)] }
        END { printf "analysis/train %.1f%%  (train %.3fs, analysis %.4fs)\n", 100 * med(r, NR), med(t, NR), med(a, NR) }'
}
with_off=$(printf '%s' "$cfg" | python3 -c 'import json,sys; c=json.load(sys.stdin); c.setdefault("analysis", {}).update(json.loads(sys.argv[1])); print(json.dumps(c))' "$off")
echo "config: $cfg"
echo "  default analysis:              $(ratio "$cfg")"
echo "  without spectrum and path:     $(ratio "$with_off")"
