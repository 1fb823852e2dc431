#!/bin/bash
# Two clients at once: parallel submissions and watchers, many parallel
# pings; and the scheduling order a single worker follows (priority, then
# FIFO).
. "$(dirname "$0")/lib.sh"

start_daemon m --workers 2
tiny_spec 6 200 '"name": "left"' >"$T_DIR/a.json"
tiny_spec 5 200 '"name": "right"' >"$T_DIR/b.json"
sed -i 's/"name": "tiny", //' "$T_DIR/a.json" "$T_DIR/b.json"
rsw submit "$T_DIR/a.json" --wait >"$T_DIR/a.out" 2>&1 &
pa=$!
rsw submit "$T_DIR/b.json" --wait >"$T_DIR/b.out" 2>&1 &
pb=$!
pings=0
for i in $(seq 20); do rsw ping >/dev/null 2>&1 & done
for i in $(seq 20); do wait %$((i + 2)) 2>/dev/null && pings=$((pings + 1)); done
wait "$pa"; ra=$?
wait "$pb"; rb=$?
is "client A's submit --wait exits 0" "$ra" "0"
is "client B's submit --wait exits 0" "$rb" "0"
is "both jobs stored, with distinct ids" "$(sq 'SELECT count(DISTINCT job_id), sum(n_runs) FROM jobs')" "2|11"
is "every run of both done" "$(sq "SELECT count(*) FROM runs WHERE status = 'done'")" "11"
grep -q "left: done: 6 done" "$T_DIR/a.out" && ok "client A saw its own job end" || not_ok "client A saw its own job end" "$(cat "$T_DIR/a.out")"
grep -q "right: done: 5 done" "$T_DIR/b.out" && ok "client B saw its own job end" || not_ok "client B saw its own job end" "$(cat "$T_DIR/b.out")"

# Two watchers of one job, and a third client polling status meanwhile.
j=$(tiny_spec 10 "$(steps 5000)" | rsw --json submit - | job_of)
rsw watch "$j" >"$T_DIR/w1.out" 2>&1 &
w1=$!
rsw --json watch "$j" >"$T_DIR/w2.out" 2>&1 &
w2=$!
polls=0
while kill -0 "$w1" 2>/dev/null && [ "$polls" -lt 600 ]; do
    rsw status "$j" >/dev/null || break
    polls=$((polls + 1))
    sleep 0.05
done
wait "$w1"; r1=$?
wait "$w2"; r2=$?
is "watcher 1 exits 0" "$r1" "0"
is "watcher 2 exits 0" "$r2" "0"
grep -q '"event":"progress"' "$T_DIR/w2.out" && ok "watcher 2 got progress events" || not_ok "watcher 2 got progress events" "$(cat "$T_DIR/w2.out")"
is "watcher 2's last event is the end" "$(tail -n 1 "$T_DIR/w2.out" | json_get event)" "end"
[ "$polls" -ge 1 ] && ok "status answered while two clients watched ($polls polls)" || not_ok "status answered while watching"
stop_daemon

# Order: with one worker, a later job of higher priority goes first, and
# jobs of equal priority go in submission order.
start_daemon o --workers 1
blocker=$(echo '{"name": "blocker", "base": {"data": {"d": 10, "n": 300, "n_test": 100}, "model": {"width": 16}, "train": {"steps": '"$(steps 40000)"'}, "analysis": {"hessian": false}}}' | rsw --json submit - | job_of)
wait_until 30 sh -c "[ \"\$($RESWEEP --socket $SOCK --json status $blocker | sed -n 's/.*\"running\":\([0-9]*\).*/\1/p')\" = 1 ]"
low1=$(tiny_spec 3 100 '"priority": 0' | rsw --json submit - | job_of)
low2=$(tiny_spec 3 100 '"priority": 0' | rsw --json submit - | job_of)
high=$(tiny_spec 3 100 '"priority": 5' | rsw --json submit - | job_of)
[ "$(rsw --json status "$blocker" | json_get running)" = 1 ] &&
    ok "the blocker still runs after the three submissions" ||
    not_ok "the blocker still runs after the three submissions"
for x in "$blocker" "$low1" "$low2" "$high"; do
    timeout 120 "$RESWEEP" --socket "$SOCK" watch "$x" >/dev/null
done
order=$(sq "SELECT group_concat(job_id) FROM (SELECT job_id FROM runs WHERE job_id != $blocker GROUP BY job_id ORDER BY min(started_at))")
is "higher priority first, then FIFO" "$order" "$high,$low1,$low2"
is "runs of a job in id order" \
   "$(sq "SELECT count(*) FROM runs a JOIN runs b ON a.job_id = b.job_id AND a.run_id < b.run_id WHERE a.started_at > b.started_at")" "0"
stop_daemon
