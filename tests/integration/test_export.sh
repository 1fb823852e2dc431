#!/bin/bash
# Issue 11: a run keeps u* (always) and its trained parameters (with
# analysis.save_params) in run_arrays, and `resweep export RUN` writes
# them, with the training and test rows made again from the run's
# configuration, as .npy files and run.json, without the daemon. numpy
# checks the numbers: u* is numpy's least-squares solution on the
# exported rows, the exported parameters give the stored train and test
# loss of a resnet (docs/theory.md §3, §4), every file loads. Remote
# workers carry the arrays bit for bit, those larger than a finish
# carries in parts (tests/integration/test_remote_arrays.sh goes further).
. "$(dirname "$0")/lib.sh"

PY=${RESWEEP_PYTHON:-/usr/bin/python3}
"$PY" -c 'import numpy' 2>/dev/null || bail "$PY has numpy (python3-numpy, scripts/deps.sh test)"
WORKER="$RESWEEP_BUILD/resweep-worker"

spec() {  # save_params [arch list]
    printf '{"name": "export", "base": {"data": {"d": 6, "n": 150, "n_test": 60, "intercept": true}, "model": {"width": 8, "unit_depth": 2, "init_scale": 0.3}, "train": {"steps": 300, "curve_points": 10}, "analysis": {"lanczos_iters": 10, "save_params": %s}}, "grid": {"model.arch": [%s]}, "seeds": 1}\n' \
        "$1" "${2:-\"resnet\", \"linear\", \"deep_resnet\"}"
}
job_done() { [ "$(sq "SELECT count(*) FROM runs WHERE job_id = $1 AND status IN ('queued', 'running')")" = 0 ]; }
run_of() {  # job arch
    sq "SELECT run_id FROM runs WHERE job_id = $1 AND arch = '$2' ORDER BY run_id LIMIT 1"
}
# 5.1 MB of parameters: more than a finish carries (include/wire.h).
spec_big() {
    printf '{"name": "big", "base": {"data": {"d": 10, "n": 20, "n_test": 0}, "model": {"width": 800}, "train": {"steps": 1}, "analysis": {"hessian": false, "path_points": 0, "save_params": true}}}\n'
}
arrays_hex() {  # db job: every array of the job's runs, by run index
    sqlite3 "$1" "SELECT r.idx, a.name, a.shape, hex(a.data) FROM run_arrays a
                  JOIN runs r USING (run_id) WHERE r.job_id = $2 ORDER BY r.idx, a.name"
}

start_daemon export --workers 2
J=$(spec true | submit_job)
K=$(spec false '"resnet"' | submit_job)
L=$(printf '{"name": "long", "base": {"data": {"d": 5, "n": 100}, "train": {"steps": 100000000}}}\n' | submit_job)
B=$(spec_big | submit_job)
rsw watch "$J" >/dev/null 2>&1
rsw watch "$K" >/dev/null 2>&1
rsw watch "$B" >/dev/null 2>&1
rsw cancel "$L" >/dev/null 2>&1
wait_until 60 job_done "$L" || bail "the long job is canceled"
is "the saved job's runs are done" "$(sq "SELECT count(*) FROM runs WHERE job_id = $J AND status = 'done'")" "3"
is "every run keeps u* (d + 1 values with the intercept)" \
    "$(sq "SELECT count(*) FROM run_arrays WHERE name = 'u_star' AND shape = '[7]' AND length(data) = 56")" "4"
is "a resnet's parameters, named, with their shapes" \
    "$(sq "SELECT group_concat(name || shape, ' ') FROM (SELECT name, shape FROM run_arrays WHERE run_id = $(run_of "$J" resnet) AND name <> 'u_star' ORDER BY name)")" \
    "V[7,8] W1[8,7] W_hidden[1,8,8] b1[8] b_hidden[1,8] w[7]"
is "they are n_params values" \
    "$(sq "SELECT sum(length(a.data)) / 8 = x.n_params FROM run_arrays a JOIN results x USING (run_id) WHERE run_id = $(run_of "$J" resnet) AND name <> 'u_star'")" "1"
is "a deep_resnet's carry its blocks first" \
    "$(sq "SELECT shape FROM run_arrays WHERE run_id = $(run_of "$J" deep_resnet) AND name = 'W_hidden'")" "[1,1,8,8]"
is "without save_params only u* is kept" \
    "$(sq "SELECT group_concat(name) FROM run_arrays WHERE run_id = $(run_of "$K" resnet)")" "u_star"
stop_daemon
THREADS_DB=$DB

# --- export, with no daemon ---
R=$(run_of "$J" resnet)
out=$(rsw export "$R" --out "$T_DIR/x" 2>&1); rc=$?
is "export of a resnet run exits 0 without a daemon" "$rc" "0"
case "$out" in *"11 files in $T_DIR/x/"*) ok "and says what it wrote" ;; *) not_ok "and says what it wrote" "$out" ;; esac
"$PY" - "$T_DIR/x" "$DB" "$R" > "$T_DIR/checks" 2>&1 <<'EOF'
import json, os, sqlite3, sys
import numpy as np
d, db, run = sys.argv[1], sys.argv[2], int(sys.argv[3])
def check(ok, desc, detail=""):
    print(("PASS" if ok else "FAIL") + "\t" + desc + "\t" + str(detail).replace("\n", " "))
meta = json.load(open(os.path.join(d, "run.json")))
con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
train_loss, test_loss, lin_loss, job = con.execute(
    "SELECT x.train_loss, x.test_loss, x.lin_loss, r.job_id FROM results x JOIN runs r USING (run_id) WHERE run_id = ?", (run,)).fetchone()
names = sorted(f["file"] for f in meta["files"])
check(names == sorted(["u_star.npy", "w.npy", "V.npy", "W1.npy", "b1.npy", "W_hidden.npy", "b_hidden.npy",
                       "X_train.npy", "y_train.npy", "X_test.npy", "y_test.npy"]), "run.json lists the eleven files", names)
check(sorted(os.listdir(d)) == sorted(names + ["run.json"]), "and the directory holds them and run.json", os.listdir(d))
check(meta["run"] == run and meta["job"] == job and meta["status"] == "done", "run.json names the run, its job and state")
check(meta["config"]["model"]["arch"] == "resnet" and meta["config"]["analysis"]["save_params"] is True,
      "run.json has the full configuration")
check(meta["results"]["run_id"] == run and abs(meta["results"]["train_loss"] - train_loss) <= 1e-14 * train_loss,
      "and the results", meta["results"].get("train_loss"))
check(meta["params_saved"] is True, "and says the parameters were saved")
A, ok = {}, True
for f in meta["files"]:
    path = os.path.join(d, f["file"])
    raw = open(path, "rb").read()
    hlen = raw[8] | raw[9] << 8
    ok_head = raw[:8] == b"\x93NUMPY\x01\x00" and (10 + hlen) % 64 == 0 and raw[10 + hlen - 1:10 + hlen] == b"\n"
    a = np.load(path, allow_pickle=False)
    good = ok_head and a.dtype == np.dtype("<f8") and list(a.shape) == f["shape"] and len(raw) == 10 + hlen + 8 * a.size
    if not good:
        check(False, "%s is .npy 1.0, float64, of its shape" % f["file"], (raw[:12], a.dtype, a.shape, f["shape"]))
    ok = ok and good
    A[f["name"]] = a
check(ok, "every file is .npy 1.0 (header to a multiple of 64), '<f8', of the shape run.json gives")
X, y, Xt, yt = A["X_train"], A["y_train"], A["X_test"], A["y_test"]
check(X.shape == (150, 7) and Xt.shape == (60, 7) and np.all(X[:, -1] == 1), "the rows: 150 and 60, the intercept column last", X.shape)
u = np.linalg.lstsq(X, y, rcond=None)[0]
rel = np.linalg.norm(u - A["u_star"]) / np.linalg.norm(u)
check(rel <= 1e-10, "u_star is numpy's least-squares solution on X_train, y_train (relative %.1e)" % rel)
Fl = 0.5 * np.mean((X @ A["u_star"] - y) ** 2)
check(abs(Fl - lin_loss) <= 1e-12 * lin_loss, "its loss on them is the stored lin_loss", (Fl, lin_loss))
def resnet(Xs):
    z = np.maximum(Xs @ A["W1"].T + A["b1"], 0)
    z = np.maximum(z @ A["W_hidden"][0].T + A["b_hidden"][0], 0)
    return (Xs + z @ A["V"].T) @ A["w"]
F = 0.5 * np.mean((resnet(X) - y) ** 2)
Ft = 0.5 * np.mean((resnet(Xt) - yt) ** 2)
check(abs(F - train_loss) <= 1e-10 * train_loss, "the parameters give the stored train loss, p = w.(x + V f(x)) (%.1e)" % abs(F / train_loss - 1))
check(abs(Ft - test_loss) <= 1e-10 * test_loss, "and the stored test loss (%.1e)" % abs(Ft / test_loss - 1))
check(F < Fl * 10 and not np.allclose(A["V"], 0), "a trained network, not the start", (F, Fl))
EOF
[ -s "$T_DIR/checks" ] || not_ok "the numpy checks ran" "$(cat "$T_DIR/checks")"
while IFS=$'\t' read -r res desc detail; do
    case "$res" in
        PASS) ok "$desc" ;;
        FAIL) not_ok "$desc" "$detail" ;;
        *) not_ok "numpy: $res $desc" "$detail" ;;
    esac
done < "$T_DIR/checks"

# --- the same rows again, and what cannot be exported ---
rsw export "$R" --out "$T_DIR/x2" >/dev/null 2>&1
check "a second export writes the same bytes" cmp "$T_DIR/x/X_train.npy" "$T_DIR/x2/X_train.npy"
(cd "$T_DIR" && rsw export "$(run_of "$J" linear)" >/dev/null 2>&1)
is "the default directory is run-RUN/, and a linear model's parameter is u" \
    "$(ls "$T_DIR/run-$(run_of "$J" linear)" | tr '\n' ' ')" "X_test.npy X_train.npy run.json u.npy u_star.npy y_test.npy y_train.npy "
P=$(run_of "$K" resnet)
out=$(rsw export "$P" --out "$T_DIR/p" 2>&1); rc=$?
is "a run without saved parameters exports u* and the rows" "$rc $(ls "$T_DIR/p" | tr '\n' ' ')" \
    "0 X_test.npy X_train.npy run.json u_star.npy y_test.npy y_train.npy "
is "and run.json says params_saved false" "$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["params_saved"])' "$T_DIR/p/run.json")" "False"
out=$(rsw export "$P" --params --out "$T_DIR/p2" 2>&1); rc=$?
is "--params on it exits 1" "$rc" "1"
case "$out" in *"run $P: its parameters were not saved (analysis.save_params was false)"*) ok "saying why" ;; *) not_ok "saying why" "$out" ;; esac
out=$(rsw export 9999 2>&1); rc=$?
is "an unknown run exits 1" "$rc" "1"
case "$out" in *"there is no run 9999 in $DB"*) ok "naming it" ;; *) not_ok "naming it" "$out" ;; esac
C=$(sq "SELECT run_id FROM runs WHERE job_id = $L")
out=$(rsw export "$C" --out "$T_DIR/c" 2>&1); rc=$?
is "a canceled run exits 1" "$rc" "1"
case "$out" in *"run $C: is canceled; only a run that ended done or diverged"*) ok "saying why" ;; *) not_ok "saying why" "$out" ;; esac
[ -e "$T_DIR/c" ] && not_ok "and writes nothing" "$(ls -la "$T_DIR/c")" || ok "and writes nothing"
touch "$T_DIR/afile"
out=$(rsw export "$R" --out "$T_DIR/afile/sub" 2>&1); rc=$?
is "an output directory that cannot be made exits 1" "$rc" "1"
case "$out" in *"--out $T_DIR/afile/sub: "*) ok "naming it: ${out#resweep: }" ;; *) not_ok "naming it" "$out" ;; esac
out=$(rsw export abc 2>&1); rc=$?
is "a run id that is not a number is a usage error" "$rc" "2"

# --- a CSV run: the rows are the file's, split again ---
{ echo "a,b,c,y"; for i in $(seq 1 80); do echo "$i,$((i * i % 17)),$((i % 5)).5,$((i % 7))"; done; } > "$T_DIR/data.csv"
start_daemon csv --workers 1
M=$(printf '{"name": "csv", "base": {"data": {"source": "csv", "path": "%s", "test_fraction": 0.25}, "model": {"arch": "linear"}, "train": {"steps": 5}, "analysis": {"hessian": false}}}\n' "$T_DIR/data.csv" | submit_job)
rsw watch "$M" >/dev/null 2>&1
stop_daemon
CR=$(sq "SELECT run_id FROM runs WHERE job_id = $M")
check "a CSV run exports" rsw export "$CR" --out "$T_DIR/csv"
is "its rows are the file's, 60 to train and 20 to test" "$("$PY" -c '
import numpy as np, sys
X = np.load(sys.argv[1] + "/X_train.npy"); T = np.load(sys.argv[1] + "/X_test.npy")
y = np.load(sys.argv[1] + "/y_train.npy"); f = np.loadtxt(sys.argv[2], delimiter=",", skiprows=1)
rows = {tuple(r) for r in f}
print(X.shape[0], T.shape[0], all(tuple(np.append(x, v)) in rows for x, v in zip(X, y)))' "$T_DIR/csv" "$T_DIR/data.csv")" "60 20 True"
echo "1,2,3,4" >> "$T_DIR/data.csv"
out=$(rsw export "$CR" --out "$T_DIR/csv2" 2>&1); rc=$?
is "after the file changed, export exits 1" "$rc" "1"
case "$out" in *"data.path has changed since"*) ok "saying the file changed" ;; *) not_ok "saying the file changed" "$out" ;; esac

# --- remote workers carry the arrays ---
start_daemon remote --workers 0 --listen 127.0.0.1:0 --lease-timeout 5
ADDR=$(rsw --json ping | json_get listen)
"$WORKER" --connect "$ADDR" --token-file "$DB.token" --threads 1 2>>"$T_DIR/w.log" &
T_PIDS="$T_PIDS $!"
JR=$(spec true | submit_job)
wait_until 120 job_done "$JR" || bail "the job ends on a remote worker" "$(tail "$T_DIR/w.log")"
if [ "$(arrays_hex "$DB" "$JR")" = "$(arrays_hex "$THREADS_DB" "$J")" ] && [ -n "$(arrays_hex "$DB" "$JR")" ]; then
    ok "a remote worker's arrays are bit-identical to the threads'"
else
    not_ok "a remote worker's arrays are bit-identical to the threads'" "$(diff <(arrays_hex "$DB" "$JR") <(arrays_hex "$THREADS_DB" "$J") | head -4)"
fi
JB=$(spec_big | submit_job)
wait_until 120 job_done "$JB" || bail "the big job ends"
is "parameters past what a finish carries reach the store from a remote worker" "$(sq "SELECT status FROM runs WHERE job_id = $JB")" "done"
if [ "$(arrays_hex "$DB" "$JB")" = "$(arrays_hex "$THREADS_DB" "$B")" ] && [ -n "$(arrays_hex "$DB" "$JB")" ]; then
    ok "in parts, bit-identical to the threads'"
else
    not_ok "in parts, bit-identical to the threads'" "$(diff <(arrays_hex "$DB" "$JB") <(arrays_hex "$THREADS_DB" "$B") | cut -c1-80 | head -4)"
fi
stop_daemon
