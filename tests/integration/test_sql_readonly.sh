#!/bin/bash
# `resweep sql` only reads (issue 9 §14): a statement that would create a
# file (VACUUM INTO, ATTACH) or change anything is refused with a sentence
# before SQLite touches the file system; reading statements, reporting
# PRAGMAs and pragma table-valued functions still work.
. "$(dirname "$0")/lib.sh"

start_daemon s --workers 1
tiny_spec 2 20 | rsw submit - >/dev/null || bail "a job is submitted"
check "it runs" timeout 60 "$RESWEEP" --socket "$SOCK" watch 1
cd "$T_DIR" || bail "cd into the test directory"

refused() {  # desc file sql
    local out rc
    out=$(rsw sql "$3" 2>&1)
    rc=$?
    is "$1: exit 1" "$rc" "1"
    case "$out" in *"only statements that read are allowed"*) ok "$1: says why" ;;
        *) not_ok "$1: says why" "$out" ;; esac
    if [ -n "$2" ]; then
        [ ! -e "$2" ] && ok "$1: leaves no $2 behind" || not_ok "$1: leaves no $2 behind" "$(ls -l "$2")"
    fi
}
refused "VACUUM INTO" "$T_DIR/x.db" "VACUUM INTO '$T_DIR/x.db'"
refused "VACUUM INTO (relative)" "x2.db" "VACUUM INTO 'x2.db'"
refused "ATTACH" "$T_DIR/y.db" "ATTACH '$T_DIR/y.db' AS y"
refused "VACUUM" "" "VACUUM"
refused "a PRAGMA that sets" "" "PRAGMA user_version = 7"
refused "query_only switched off" "" "PRAGMA query_only = 0"
refused "DELETE" "" "DELETE FROM runs"
refused "CREATE TABLE" "" "CREATE TABLE t (x)"
is "nothing was changed" "$(sq 'PRAGMA user_version; SELECT count(*) FROM runs')" "0
2"

is "SELECT still works" "$(rsw sql 'SELECT count(*) AS n FROM run_results' --format csv | tail -n 1)" "2"
is "WITH RECURSIVE works" "$(rsw sql 'WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 3) SELECT sum(n) AS s FROM c' --format csv | tail -n 1)" "6"
check "PRAGMA table_info(runs) works" rsw sql "PRAGMA table_info(runs)"
is "pragma_table_info('runs') works" "$(rsw sql "SELECT count(*) > 5 AS many FROM pragma_table_info('runs')" --format csv | tail -n 1)" "1"
is "PRAGMA integrity_check works" "$(rsw sql 'PRAGMA integrity_check' --format csv | tail -n 1)" "ok"
check "results still works" rsw results 1

# Issue 11: what sql writes.
is "a real is its shortest exact text in CSV" "$(rsw sql 'SELECT 0.1 AS x, 1.0 / 3 AS y' --format csv | tail -n 1)" "0.1,0.3333333333333333"
is "a time (*_at) is ISO 8601 in UTC" "$(rsw sql 'SELECT 1764765296.5 AS created_at' --format csv | tail -n 1)" "2025-12-03T12:34:56.500Z"
case "$(rsw sql 'SELECT created_at FROM jobs LIMIT 1' --format csv | tail -n 1)" in
    20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z) ok "so are the jobs' times" ;;
    *) not_ok "so are the jobs' times" "$(rsw sql 'SELECT created_at FROM jobs LIMIT 1' --format csv)" ;; esac
is "a BLOB is its size, in every format" "$(rsw sql 'SELECT zeroblob(10) AS b' --format csv | tail -n 1) $(rsw sql 'SELECT zeroblob(3) AS b' --format json | tr -d '\n')" "<10-byte blob> [{\"b\":\"<3-byte blob>\"}]"
line=$(rsw sql "SELECT printf('%.100c', 'x') AS s, 'end' AS t" | tail -n 1)
is "a long text is cut in a table" "$(echo "$line" | awk '{ print length($1), $2 }')" "60 end"
is "but not in CSV" "$(rsw sql "SELECT printf('%.100c', 'x') AS s" --format csv | tail -n 1 | awk '{ print length($0) }')" "100"
stop_daemon
