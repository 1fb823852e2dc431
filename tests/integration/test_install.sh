#!/bin/bash
# make install (issue 11): the programs, the examples, the user unit where
# `systemctl --user` finds it (PREFIX/lib/systemd/user when staged or as
# root), the environment file it reads, and the next steps printed.
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
root="$T_DIR/root"
out=$(make --no-print-directory -C "$top" install BUILD="$RESWEEP_BUILD" DESTDIR="$root" PREFIX=/usr/local 2>&1)
is "make install into a staging directory succeeds" "$?" "0"
check "resweepd and resweep are installed" test -x "$root/usr/local/bin/resweepd" -a -x "$root/usr/local/bin/resweep"
unit="$root/usr/local/lib/systemd/user/resweepd.service"
check "the user unit is on systemd's user unit path" test -s "$unit"
grep -q "^ExecStart=/usr/local/bin/resweepd --log-level info \$RESWEEPD_OPTS$" "$unit" && ok "its ExecStart names the installed daemon and takes RESWEEPD_OPTS" || not_ok "its ExecStart" "$(grep Exec "$unit")"
grep -q '^EnvironmentFile=-%E/resweep/resweepd.env$' "$unit" && ok "it reads ~/.config/resweep/resweepd.env when there is one" || not_ok "it reads the environment file" "$(grep Env "$unit")"
env_file="$root/usr/local/share/resweep/systemd/resweepd.env"
check "the example environment file is installed" test -s "$env_file"
for v in RESWEEP_DB RESWEEP_SOCKET RESWEEPD_OPTS; do
    grep -q "^#$v=" "$env_file" && ok "it documents $v" || not_ok "it documents $v" "$(cat "$env_file")"
done
case "$out" in *"systemctl --user daemon-reload"*"systemctl --user enable --now resweepd"*) ok "the next steps are printed" ;;
    *) not_ok "the next steps are printed" "$out" ;; esac
# The example's settings, as systemd would pass them, start a daemon.
(set -a; RESWEEP_DB="$T_DIR/env.db" RESWEEP_SOCKET="$T_DIR/env.sock" RESWEEPD_OPTS="--workers 1"
 exec "$root/usr/local/bin/resweepd" --log-level info $RESWEEPD_OPTS) 2>"$T_DIR/env.log" &
p=$!
T_PIDS="$T_PIDS $p"
wait_until 20 "$RESWEEP" --socket "$T_DIR/env.sock" ping
out=$("$RESWEEP" --socket "$T_DIR/env.sock" --json ping)
is "a daemon started with those settings uses the database they name" "$(printf '%s' "$out" | json_get db)" "$T_DIR/env.db"
is "and their worker count" "$(printf '%s' "$out" | json_get workers)" "1"
"$RESWEEP" --socket "$T_DIR/env.sock" shutdown >/dev/null; wait "$p"
out=$(make --no-print-directory -C "$top" uninstall DESTDIR="$root" PREFIX=/usr/local 2>&1)
check "make uninstall removes the unit" test ! -e "$unit"
