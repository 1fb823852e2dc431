#!/bin/bash
# Issue 4 §9: memory stays flat. The daemon's resident memory after
# 100,000 tiny runs is within 10% of what it was after 10,000: no leak per
# run. (Tiny runs without the Hessian analysis, so that the 100,000 fit in
# CI's time; ten jobs of 10,000, the way sweeps arrive over days. A job
# this large is followed by a malloc_trim when it ends (writer.h,
# WRITER_TRIM_RUNS), so what is resident after it is what the daemon still
# holds: without it, the measure included the peak of the store thread's
# backlog, which depends on how far the store fell behind the workers, and
# a loaded CI machine once read 11.5% here with no leak.)
# resweep-test: long
. "$(dirname "$0")/lib.sh"

tiny() {
    printf '{"name": "mem", "base": {"data": {"d": 5, "n": 100}, "train": {"steps": 50, "curve_points": 10}, "analysis": {"hessian": false}}, "seeds": %d}' "$1"
}
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$DPID/status"; }

start_daemon mem --workers 2
tiny 10000 | rsw submit - --wait >/dev/null || bail "10,000 tiny runs"
r10=$(rss)
for i in $(seq 2 10); do
    tiny 10000 | rsw submit - --wait >/dev/null || bail "job $i of 10,000 tiny runs"
done
r100=$(rss)
echo "# resident memory: $r10 KiB after 10,000 runs, $r100 KiB after 100,000"
is "100,000 runs stored" "$(sq 'SELECT count(*) FROM results')" "100000"
[ "$r100" -le $((r10 * 11 / 10)) ] && ok "resident memory within 10% ($r10 -> $r100 KiB)" ||
    not_ok "resident memory within 10%" "$r10 KiB after 10,000 runs, $r100 KiB after 100,000"
stop_daemon
is "daemon exits 0" "$?" "0"
