#!/bin/bash
# The Python client (issue 12): tests/python/ with Debian's python3 and
# pytest against the real daemon, once with pandas and tqdm as installed
# and once with them hidden; on the plain build, the README's install
# commands in a fresh venv and its Python snippet on a running daemon.
. "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
PY=${RESWEEP_PYTHON:-/usr/bin/python3}
"$PY" -c 'import pytest' 2>/dev/null || bail "$PY has pytest (python3-pytest)"

pytest_run() {  # label [env assignments]
    local label=$1; shift
    local tap="$T_DIR/tap.$label" log="$T_DIR/pytest.$label"
    (cd "$top" && env "$@" RESWEEP_TAP="$tap" PYTHONDONTWRITEBYTECODE=1 \
        "$PY" -m pytest -q -p no:cacheprovider tests/python >"$log" 2>&1)
    local rc=$? n=0
    while IFS=$'\t' read -r res name why; do
        n=$((n + 1))
        case "$res" in
            ok) ok "$label: $name" ;;
            skip) T_N=$((T_N + 1)); echo "ok $T_N - $label: $name # SKIP $why" ;;
            *) not_ok "$label: $name" "$(tail -n 40 "$log")" ;;
        esac
    done < <(cat "$tap" 2>/dev/null)
    [ "$rc" -eq 0 ] || [ "$n" -gt 0 ] || not_ok "$label: pytest ran" "$(tail -n 40 "$log")"
}
pytest_run "with pandas"
pytest_run "without pandas" RESWEEP_TEST_HIDE=pandas,tqdm,matplotlib

case "$RESWEEP_BUILD" in *-address|*-thread) exit 0 ;; esac
# The README's commands, as written there (the venv's path replaced).
block() { awk -v want="$1" '/^### From Python/ {on = 1} on && $0 == "```" want {f = 1; next} f && /^```/ {exit} f' "$top/README.md"; }
block sh | sed "s|~/.venvs/resweep|$T_DIR/venv|g" >"$T_DIR/install.sh"
block python >"$T_DIR/snippet.py"
[ -s "$T_DIR/install.sh" ] && [ -s "$T_DIR/snippet.py" ] || bail "README has the Python install commands and snippet"
(cd "$top" && PATH="/usr/bin:$PATH" PIP_NO_INDEX=1 bash -e "$T_DIR/install.sh") >"$T_DIR/install.log" 2>&1
check "README's venv and pip install commands work offline" test -x "$T_DIR/venv/bin/python"
start_daemon r --workers 2
out=$(cd "$top" && RESWEEP_SOCKET="$SOCK" timeout 300 "$T_DIR/venv/bin/python" "$T_DIR/snippet.py" 2>&1)
rc=$?
is "README's Python snippet exits 0 on a running daemon" "$rc" "0"
is "its job ran every run of examples/quick.json" "$(sq "SELECT count(*) FROM runs WHERE status = 'done'")" "36"
case "$out" in *resnet*plain*|*plain*resnet*) ok "it printed the summary" ;; *) not_ok "it printed the summary" "$out" ;; esac
rm -rf "$T_DIR/pyroot"
make -s -C "$top" install-python DESTDIR="$T_DIR/pyroot" PREFIX=/usr/local >/dev/null 2>&1
check "make install puts the package where python3 finds it" \
    env -C / PYTHONPATH="$T_DIR/pyroot/usr/local/lib/python$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')/dist-packages" "$PY" -c 'import resweep, sys; sys.exit(not resweep.__file__.startswith("'"$T_DIR"'"))'
stop_daemon
