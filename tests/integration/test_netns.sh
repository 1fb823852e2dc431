#!/bin/bash
# Issue 10 §5: separate hosts in miniature. A worker inside a network
# namespace of its own, joined to the daemon's by a veth pair whose ends
# get addresses only this test uses, reaches the daemon over TCP across an
# interface, not loopback; its results are the daemon's threads' results.
# Root only (network namespaces); the namespace and the link are removed
# whatever happens.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
    echo "ok 1 # SKIP network namespaces need root and iproute2"
    T_N=1; exit 0
fi
NS="rsw$$" HOST_IF="rsw$$a" NS_IF="rsw$$b"
NET="10.213.$(( $$ % 250 ))"
cleanup_net() {
    ip netns del "$NS" 2>/dev/null
    ip link del "$HOST_IF" 2>/dev/null
}
trap 'cleanup_net; _t_cleanup; exit $?' EXIT
if ! ip netns add "$NS" 2>/dev/null; then
    echo "ok 1 # SKIP this machine does not allow network namespaces"
    T_N=1; exit 0
fi
ip link add "$HOST_IF" type veth peer name "$NS_IF" &&
ip link set "$NS_IF" netns "$NS" &&
ip addr add "$NET.1/30" dev "$HOST_IF" && ip link set "$HOST_IF" up &&
ip netns exec "$NS" ip addr add "$NET.2/30" dev "$NS_IF" &&
ip netns exec "$NS" ip link set "$NS_IF" up &&
ip netns exec "$NS" ip link set lo up || bail "the veth pair between the namespaces is set up"
ok "a namespace $NS joined by $HOST_IF ($NET.1) and $NS_IF ($NET.2)"

sweep() {
    printf '{"name": "netns", "base": {"data": {"d": 5, "n": 100}, "train": {"steps": 200, "curve_points": 10}, "analysis": {"lanczos_iters": 10}}, "grid": {"model.width": [4, 8]}, "seeds": 3}\n'
}
results() {
    sqlite3 "$1" "SELECT r.idx, printf('%.17g|%.17g|%.17g', x.train_loss, x.gap, x.hess_min)
                  FROM runs r JOIN results x USING (run_id) ORDER BY 1"
}
start_daemon local --workers 2
sweep | rsw submit - --wait >/dev/null || bail "the sweep runs on threads"
LOCALDB=$DB
stop_daemon

start_daemon far --workers 0 --listen "$NET.1:0"
ADDR=$(rsw --json ping | json_get listen)
ip netns exec "$NS" ip route get "$NET.1" 2>&1 | grep -q "dev $NS_IF" &&
    ok "from inside the namespace $ADDR is reached through $NS_IF" ||
    not_ok "from inside the namespace $ADDR is reached through $NS_IF"
rx0=$(cat "/sys/class/net/$HOST_IF/statistics/rx_bytes")
ip netns exec "$NS" "$RESWEEP_BUILD/resweep-worker" --connect "$ADDR" \
    --token-file "$DB.token" --threads 2 2>>"$T_DIR/worker.log" &
T_PIDS="$T_PIDS $!"
sweep | rsw submit - --wait >/dev/null || bail "the sweep runs on the worker in the namespace" "$(tail "$T_DIR/worker.log")"
is "results identical to the threads'" "$(results "$DB")" "$(results "$LOCALDB")"
rx=$(( $(cat "/sys/class/net/$HOST_IF/statistics/rx_bytes") - rx0 ))
[ "$rx" -gt 10000 ] && ok "the reports crossed $HOST_IF ($rx bytes)" || not_ok "the reports crossed $HOST_IF" "$rx bytes"
host=$(rsw --json workers | json_get host)
[ -n "$host" ] && ok "resweep workers lists it ($host)" || not_ok "resweep workers lists it"
stop_daemon
is "daemon exits 0" "$?" "0"
