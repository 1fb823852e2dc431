#!/bin/bash
# A corrupted database (issue 9 item 10): pages overwritten on disk. The
# daemon's start runs a bounded quick_check and refuses a database that
# fails it, with a sentence; `resweep check` runs the full
# integrity_check and says what it found.
. "$(dirname "$0")/lib.sh"

start_daemon c --workers 2
j=$(tiny_spec 40 "$(steps 400)" | rsw --json submit - | job_of)
rsw watch "$j" >/dev/null 2>&1
stop_daemon
out=$(rsw check)
is "resweep check of a sound database: exit 0" "$?" "0"
case "$out" in *": ok"*) ok "and it says ok" ;; *) not_ok "and it says ok" "$out" ;; esac

pages=$(sqlite3 "$DB" "PRAGMA page_count")
[ "$pages" -ge 8 ] || bail "the database has too few pages ($pages) to corrupt some in the middle"
cp "$DB" "$T_DIR/bad.db"
# 0xFF over pages 3 to 6 (page 1 holds the header and schema): no valid
# b-tree page type and no valid page number, so the damage is certain.
head -c 16384 /dev/zero | tr '\0' '\377' | dd of="$T_DIR/bad.db" bs=4096 seek=2 conv=notrunc status=none
out=$("$RESWEEP" --db "$T_DIR/bad.db" check 2>"$T_DIR/check.err")
is "resweep check of a corrupted database: exit 1" "$?" "1"
case "$out" in *corrupt:*"Page "*) ok "listing the problems" ;;
    *) not_ok "listing the problems" "$out" ;; esac
case "$(cat "$T_DIR/check.err")" in *"is corrupt"*"backup"*) ok "and saying what to do" ;;
    *) not_ok "and saying what to do" "$(cat "$T_DIR/check.err")" ;; esac
"$RESWEEPD" --socket "$T_DIR/bad.sock" --db "$T_DIR/bad.db" 2>"$T_DIR/bad.log" &
bp=$!
T_PIDS="$T_PIDS $bp"
wait_until 30 sh -c "! kill -0 $bp 2>/dev/null"
wait "$bp"
is "the daemon refuses to start on it (exit 1)" "$?" "1"
grep -q "is corrupt" "$T_DIR/bad.log" && ok "saying the database is corrupt" || not_ok "saying the database is corrupt" "$(cat "$T_DIR/bad.log")"
grep -q "resweep check" "$T_DIR/bad.log" && ok "and pointing at resweep check" || not_ok "and pointing at resweep check" "$(cat "$T_DIR/bad.log")"

start_daemon c --workers 1
check "the sound database still starts" rsw ping
stop_daemon
