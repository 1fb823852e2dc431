#!/bin/bash
# Issue 11: `status` and `list` with no daemon read the database, as
# `results`, `sql` and `report` do, and say that they did; an ended job
# shows its elapsed time.
. "$(dirname "$0")/lib.sh"

start_daemon offline --workers 2
J=$(tiny_spec 3 20 | submit_job)
rsw watch "$J" >/dev/null 2>&1
K=$(tiny_spec 2 20 | submit_job)
rsw watch "$K" >/dev/null 2>&1
rsw cancel "$K" >/dev/null 2>&1
online=$(rsw status "$J")
case "$online" in *"elapsed   0:0"[0-9]" (submission to the last run's end)"*) ok "an ended job's status shows its elapsed time" ;;
    *) not_ok "an ended job's status shows its elapsed time" "$online" ;; esac
case "$(rsw watch "$J" | tail -n 1)" in *"canceled of 3 runs, in 0:0"[0-9]) ok "and so does watch's last line" ;;
    *) not_ok "and so does watch's last line" "$(rsw watch "$J")" ;; esac
stop_daemon

out=$(rsw status "$J" 2>"$T_DIR/err"); rc=$?
is "status without a daemon exits 0" "$rc" "0"
grep -q "no daemon" "$T_DIR/err" && ok "and says the daemon is not there" || not_ok "and says the daemon is not there" "$(cat "$T_DIR/err")"
is "the counts are the daemon's" "$(echo "$out" | grep -E '^(state|progress|done|failed) ')" "$(echo "$online" | grep -E '^(state|progress|done|failed) ')"
is "--json says offline, with the counts" "$(rsw --json status "$J" 2>/dev/null | python3 -c 'import json, sys
r = json.load(sys.stdin)
print(r["offline"], r["job"]["done"], r["job"]["total"], r["job"]["state"])')" "True 3 3 done"
list=$(rsw list 2>/dev/null)
is "list shows both jobs" "$(echo "$list" | grep -cE "^ *($J|$K) ")" "2"
rsw status 99 >/dev/null 2>"$T_DIR/err99"
is "an unknown job: exit 1" "$?" "1"
grep -q "job 99: no such job" "$T_DIR/err99" && ok "naming it" || not_ok "naming it" "$(cat "$T_DIR/err99")"

# A paused job read with no daemon is paused, as the daemon says.
start_daemon offline --workers 2
P=$(tiny_spec 2 2000000 | submit_job)
rsw pause "$P" >/dev/null
timeout 60 "$RESWEEP" --socket "$SOCK" watch "$P" >/dev/null 2>&1
is "the paused job is held (watch exits 7)" "$?" "7"
online=$(rsw --json status "$P" | json_get state)
stop_daemon
is "status without a daemon: the paused job is paused, as the daemon said" \
   "$(rsw --json status "$P" 2>/dev/null | json_get state)/$online" "paused/paused"
rsw status "$P" 2>/dev/null | grep -q '^state .*paused' && ok "and the table says so" ||
    not_ok "and the table says so" "$(rsw status "$P" 2>&1)"
echo "$(rsw list 2>/dev/null)" | grep -E "^ *$P " | grep -q paused && ok "list shows it paused" ||
    not_ok "list shows it paused" "$(rsw list 2>&1)"
