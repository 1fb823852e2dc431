#!/bin/bash
# A sqlite3 reader holds a read transaction open while a sweep writes: the
# sweep neither stalls nor fails, the reader keeps its snapshot, sees the
# new rows once it ends its transaction, and the WAL is checkpointed away
# after the reader leaves.
. "$(dirname "$0")/lib.sh"

start_daemon r --workers 2
tiny_spec 2 100 | rsw submit - --wait >/dev/null || bail "a first job to read"

mkfifo "$T_DIR/in"
sqlite3 -batch "$DB" <"$T_DIR/in" >"$T_DIR/reader.out" 2>&1 &
rpid=$!
exec 3>"$T_DIR/in"
echo "BEGIN; SELECT 'before', count(*) FROM results; SELECT 'rows', count(*) FROM run_results;" >&3
wait_until 10 grep -q '^rows|' "$T_DIR/reader.out" || bail "the reader holds a read transaction" "$(cat "$T_DIR/reader.out")"
ok "the reader holds a read transaction"

t0=$(date +%s)
out=$(tiny_spec 30 300 | rsw submit - --wait 2>&1)
is "the sweep ends, every run done, while the reader holds its snapshot" "$?" "0"
t1=$(date +%s)
is "30 more results stored" "$(sq 'SELECT count(*) FROM results')" "32"

echo "SELECT 'during', count(*) FROM results;" >&3
wait_until 10 grep -q '^during|' "$T_DIR/reader.out"
is "the reader's snapshot is unchanged" "$(sed -n 's/^during|//p' "$T_DIR/reader.out")" \
   "$(sed -n 's/^before|//p' "$T_DIR/reader.out")"
echo "COMMIT; SELECT 'after', count(*) FROM results;" >&3
exec 3>&-
wait "$rpid"
is "the reader ends cleanly" "$?" "0"
is "after its transaction the reader sees every result" "$(sed -n 's/^after|//p' "$T_DIR/reader.out")" "32"
grep -qE 'error|locked|busy' "$T_DIR/reader.out" && not_ok "the reader saw no error" "$(cat "$T_DIR/reader.out")" || ok "the reader saw no error"
grep -qE "database write failed|error:" "$LOG" && not_ok "the daemon logged no error" "$(cat "$LOG")" || ok "the daemon logged no error"

# Readers come and go (each one a snapshot) during another sweep.
tiny_spec 20 300 | rsw submit - >/dev/null
for i in $(seq 20); do sq 'BEGIN; SELECT count(*) FROM run_results; SELECT sum(gap_n) FROM gap_summary; COMMIT;' >/dev/null || break; done
check "the second sweep ends while readers come and go" timeout 60 "$RESWEEP" --socket "$SOCK" watch 3
wal_small() { [ ! -s "$DB-wal" ]; }
if wait_until 30 wal_small; then ok "the WAL is checkpointed once readers are gone"
else not_ok "the WAL is checkpointed once readers are gone" "$(ls -l "$DB-wal")"; fi
stop_daemon
is "integrity_check" "$(sq 'PRAGMA integrity_check')" "ok"
