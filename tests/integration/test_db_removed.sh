#!/bin/bash
# The database removed or replaced under a running daemon (issue 9 item
# 7): SQLite would write on into a file without a name and lose it all at
# the next start. The daemon notices, enters the store-fault state,
# refuses work, and says so in ping and the log.
. "$(dirname "$0")/lib.sh"

start_daemon r --workers 1
j=$(tiny_spec 2 "$(steps 200)" | rsw --json submit - | job_of)
rsw watch "$j" >/dev/null 2>&1
is "a first job completes" "$(sq "SELECT count(*) FROM runs WHERE status = 'done'")" "2"
rm -f "$DB" "$DB-wal" "$DB-shm"
out=$(tiny_spec 2 "$(steps 200)" | rsw submit - 2>&1)
rc=$?
is "a submit after the database was removed is refused (exit 1)" "$rc" "1"
case "$out" in *"no longer the file this daemon opened"*) ok "with the reason" ;;
    *) not_ok "with the reason" "$out" ;; esac
out=$(rsw --json ping)
is "ping says the store is in fault" "$(printf '%s' "$out" | json_get store)" "fault"
case "$out" in *"removed or replaced"*) ok "and why" ;; *) not_ok "and why" "$out" ;; esac
grep -q "no longer the file this daemon opened" "$LOG" && ok "the log says so" || not_ok "the log says so" "$(tail -n 5 "$LOG")"
check "no database file was silently recreated at the path" test ! -e "$DB"
kill -TERM "$DPID"; wait "$DPID"

# Replaced by another file (a restore from a backup, say).
start_daemon s --workers 1
sqlite3 "$T_DIR/other.db" "CREATE TABLE t (x)"
mv "$T_DIR/other.db" "$DB"
before=$(md5sum <"$DB")
out=$(tiny_spec 1 "$(steps 100)" | rsw submit - 2>&1)
case "$out" in *"no longer the file this daemon opened"*) ok "a database replaced by another file: submit refused" ;;
    *) not_ok "a database replaced by another file: submit refused" "$out" ;; esac
# (sqlite3 would read the daemon's -wal beside it: compare the bytes.)
is "and the other file was not written to" "$(md5sum <"$DB")" "$before"
kill -TERM "$DPID"; wait "$DPID"
