#!/bin/bash
# Clients that misbehave cost nothing lasting: half a frame and gone,
# oversized and empty frames, bad JSON, nesting past the limit, another
# protocol version, unknown operations, a client that never reads, a
# table full of idle connections (the longest idle makes room), one full
# of watchers (refused), a client that trickles a byte at a time, one that
# sits idle; the daemon answers each with an error code or a hang-up, and
# afterwards still serves and runs sweeps.
. "$(dirname "$0")/lib.sh"
raw() { perl "$(dirname "$0")/rawclient.pl" "$SOCK" "$@"; }
code_of() { json_get code; }
alive() { kill -0 "$DPID" 2>/dev/null && rsw ping >/dev/null 2>&1; }

start_daemon h --workers 2
j=$(tiny_spec 10 2000 | rsw --json submit - | job_of)
is "a sweep runs meanwhile" "$j" "1"

is "half a frame, then gone" "$(raw half)" "gone"
check "the daemon survives a client that vanished mid-frame" alive
for i in $(seq 50); do raw half >/dev/null; done
check "and fifty of them" alive

out=$(raw header 8388609)
is "a frame one byte over 8 MiB: frame_too_large" "$(printf '%s' "$out" | head -n 1 | code_of)" "frame_too_large"
is "and the connection is closed" "$(printf '%s' "$out" | tail -n 1)" "EOF"
out=$(raw header 0)
is "an empty frame: bad_frame, closed" "$(printf '%s' "$out" | head -n 1 | code_of) $(printf '%s' "$out" | tail -n 1)" "bad_frame EOF"
out=$(raw header 8388608)
is "a header of exactly 8 MiB and nothing more: no reply, no crash" "$out" "EOF"
check "alive after the frame-size games" alive

is "bad JSON: bad_json" "$(raw send '{"v":1,"op":' | code_of)" "bad_json"
is "a JSON array: bad_json" "$(raw send '[1,2,3]' | code_of)" "bad_json"
is "nesting at the limit (32) is accepted" "$(raw deep 32 | json_get ok)" "true"
is "nesting one past the limit: too_deep" "$(raw deep 33 | code_of)" "too_deep"
is "nesting 100000 deep: too_deep" "$(raw deep 100000 | code_of)" "too_deep"
out=$(raw bytes "$(frame_hex '{"v":2,"id":9,"op":"ping"}')")
is "another protocol version: version_mismatch" "$(printf '%s' "$out" | head -n 1 | code_of)" "version_mismatch"
is "its id is echoed" "$(printf '%s' "$out" | head -n 1 | json_get id)" "9"
is "and it is disconnected" "$(printf '%s' "$out" | tail -n 1)" "EOF"
is "no version at all: version_mismatch" "$(raw send '{"id":1,"op":"ping"}' | code_of)" "version_mismatch"
out=$(raw send '{"v":1,"id":3,"op":"frobnicate"}')
is "an unknown op: unknown_op" "$(printf '%s' "$out" | code_of)" "unknown_op"
is "naming the field op" "$(printf '%s' "$out" | json_get field)" "op"
is "submit without a spec: bad_request on spec" "$(raw send '{"v":1,"op":"submit"}' | json_get field)" "spec"
is "status of a job id that is not a number: bad_request" "$(raw send '{"v":1,"op":"status","job":"x"}' | code_of)" "bad_request"
is "runs with a page past the limit: bad_request" "$(raw send '{"v":1,"op":"runs","job":1,"limit":1001}' | code_of)" "bad_request"
utf8_ok() { python3 -c 'import sys; sys.stdin.buffer.read().decode("utf-8")' 2>/dev/null; }
out=$(raw send $'{"v":1,"id":"a\xff\xfe","op":"ping"}')
is "an id that is not UTF-8: bad_json" "$(printf '%s' "$out" | code_of)" "bad_json"
printf '%s' "$out" | utf8_ok && ok "and the reply is UTF-8" || not_ok "and the reply is UTF-8" "$out"
out=$(raw send $'{"v":1,"op":"submit","spec":{"name":"n\xc0\xaf","base":{}}}')
is "a job name that is not UTF-8: bad_json" "$(printf '%s' "$out" | code_of)" "bad_json"
bad="$T_DIR/bad.csv"
printf 'x1,y\n1,2\n\xff\xfe\xc0,3\n' >"$bad"
badspec() { printf '{"name": "badcsv", "base": {"data": {"source": "csv", "path": "%s"}, "train": {"steps": 5}}}' "$1"; }
out=$(raw send "{\"v\":1,\"op\":\"submit\",\"spec\":$(badspec "$bad")}")
is "a CSV cell that is not UTF-8 refuses the job at submission" "$(printf '%s' "$out" | code_of)" "invalid_spec"
printf '%s' "$out" | utf8_ok && ok "and the refusal quoting it is UTF-8" || not_ok "and the refusal quoting it is UTF-8" "$out"
# The same file written after submission fails the run instead: both
# workers are held by long runs meanwhile, so the run reads the new file.
hold=$(printf '{"name": "hold", "priority": 5, "base": {"data": {"d": 5, "n": 100}, "train": {"steps": 100000000, "tol": 0}}, "seeds": 2}' | rsw --json submit - | job_of)
wait_for 30 'test "$(sq "SELECT count(*) FROM runs WHERE job_id = $hold AND status = '\''running'\''")" = 2'
printf 'x1,y\n1,2\n3,4\n' >"$bad"
bj=$(badspec "$bad" | rsw --json submit - | job_of)
printf 'x1,y\n1,2\n\xff\xfe\xc0,3\n' >"$bad"
rsw cancel "$hold" >/dev/null
wait_for 30 'test "$(sq "SELECT count(*) FROM runs WHERE job_id = $bj AND status = '\''failed'\''")" = 1'
out=$(raw send "{\"v\":1,\"op\":\"runs\",\"job\":$bj}")
case "$out" in *failed*) ok "a run failed on a CSV cell that is not UTF-8" ;; *) not_ok "a run failed on a CSV cell that is not UTF-8" "$out" ;; esac
printf '%s' "$out" | utf8_ok && ok "and the runs reply quoting it is UTF-8" || not_ok "and the runs reply quoting it is UTF-8" "$out"
is "garbage bytes: an error and a hang-up" "$(raw bytes 00000005deadbeef00 | tail -n 1)" "EOF"
check "alive after the malformed requests" alive

is "a client that never reads its replies is dropped" "$(timeout 120 perl "$(dirname "$0")/rawclient.pl" "$SOCK" noread 120000)" "dropped"
grep -q "does not read its replies" "$LOG" && ok "and that is logged" || not_ok "and that is logged" "$(tail -n 5 "$LOG")"
check "alive after the client that never reads" alive

out=$(raw conns 64)
is "64 idle connections: the 65th is still served" "$(printf '%s' "$out" | head -n 1 | json_get ok)" "true"
is "and the longest idle was closed to make room" "$(printf '%s' "$out" | tail -n 1)" "closed 1"
grep -q "closed to make room" "$LOG" && ok "which is logged" || not_ok "which is logged" "$(tail -n 5 "$LOG")"

long=$(tiny_spec 1 100000000 | sed 's/"tiny"/"long"/' | rsw --json submit - | job_of)
out=$(raw watchers 64 "$long")
is "64 watching connections: the 65th gets too_many_connections" "$(printf '%s' "$out" | code_of)" "too_many_connections"
check "connections are free again once those close" wait_until 10 rsw ping
rsw cancel "$long" >/dev/null

timeout 120 "$RESWEEP" --socket "$SOCK" watch "$j" >/dev/null
is "the sweep ran to the end through all this" "$?" "0"
is "every run done" "$(sq "SELECT count(*) FROM runs WHERE status = 'done'")" "10"
stop_daemon
is "and the daemon exits 0" "$?" "0"

# Timeouts, short for the test: a frame must arrive within 2 s of its
# first byte, a silent connection with nothing awaited lasts 1 s.
start_daemon t --workers 1 --idle-timeout 1 --frame-timeout 2
out=$(raw trickle "$(frame_hex '{"v":1,"id":1,"op":"ping"}')")
case "$out" in
"dropped after "[0-9]*" bytes") ok "a client sending a byte every 0.5 s is dropped ($out)" ;;
*) not_ok "a client sending a byte every 0.5 s is dropped" "$out" ;;
esac
grep -q "to send one frame; disconnected" "$LOG" && ok "and that is logged" || not_ok "and that is logged" "$(tail -n 5 "$LOG")"
is "an idle client is closed after the idle timeout" "$(raw idle 10)" "closed"
j=$(tiny_spec 1 100000000 | rsw --json submit - | job_of)
"$RESWEEP" --socket "$SOCK" watch "$j" >/dev/null 2>&1 &
wpid=$!
sleep 3
check "a watcher is not closed by the idle timeout (still watching after 3 s)" kill -0 "$wpid"
rsw cancel "$j" >/dev/null
wait "$wpid"
is "and its watch ends when the job does, with the canceled status" "$?" "$(rc=0; rsw watch "$j" >/dev/null 2>&1 || rc=$?; echo $rc)"
stop_daemon
is "that daemon exits 0 too" "$?" "0"
