#!/bin/bash
# Issue 10 §4: `resweep slurm` against a REAL Slurm, not a mock. The test
# starts a one-node cluster of its own (munged, slurmctld, slurmd, with a
# slurm.conf, a munge key, ports and state directories in its temporary
# directory), submits a sweep to a daemon without threads, starts its
# workers with `resweep slurm`, and checks that every run is done once,
# with results bit-identical to the daemon's own threads', that the Slurm
# job id is recorded, and that the workers leave by --idle-exit so that
# Slurm's job completes. It stops everything it started, also on failure.
# Before that, without Slurm: the script `--dry-run` prints, the walltime
# margin rule, and the refusals (no --listen, bad options, no sbatch).
# And at the walltime: a run handed back before it, resumed by the next
# array. Needs root and Debian's slurmctld, slurmd, slurm-client and munge
# (scripts/deps.sh slurm); skips, saying why, where they cannot be had.
# resweep-test: long
. "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
# A surrounding Slurm job's settings must not reach this cluster's sbatch.
for v in $(compgen -e | grep -E '^(SLURM|SBATCH|SALLOC|SRUN)_'); do unset "$v"; done

spec_sweep() {
    printf '{"name": "sweep", "base": {"data": {"d": 5, "n": 100, "n_test": 50}, "train": {"steps": 300, "curve_points": 20}, "analysis": {"lanczos_iters": 20}}, "grid": {"model.width": [4, 8]}, "seeds": 4}\n'
}


# The line of the script that starts with $1.
script_line() { grep -m1 -- "^$1" <<<"$2"; }

# --- the reference: the same sweep on the daemon's own threads ---
start_daemon local --workers 2
spec_sweep | rsw submit - --wait >/dev/null || bail "the sweep runs on threads"
LOCALDB=$DB
stop_daemon

# --- a daemon without --listen: refused, with the way out ---
start_daemon nolisten --workers 0
J=$(spec_sweep | submit_job)
out=$(rsw slurm "$J" --tasks 2 --dry-run 2>&1); rc=$?
is "without --listen, resweep slurm exits 1" "$rc" "1"
case "$out" in *"start resweepd with --listen HOST:PORT"*) ok "and says to start resweepd with --listen" ;;
    *) not_ok "and says to start resweepd with --listen" "$out" ;; esac
stop_daemon

# --- the script, printed by --dry-run ---
start_daemon dry --workers 0 --listen 127.0.0.1:0
ADDR=$(rsw --json ping | json_get listen)
J=$(spec_sweep | submit_job)
WORKER=$(readlink -f "$RESWEEP_BUILD/resweep-worker")
script=$(rsw slurm "$J" --tasks 4 --time 10 --partition debug --cpus-per-task 3 \
             --sbatch-arg=--mem=100M --sbatch-arg --comment=a_b --dry-run 2>/dev/null)
is "--dry-run exits 0" "$?" "0"
is "it is a shell script" "$(head -n 1 <<<"$script")" "#!/bin/sh"
is "a job array of 4 tasks" "$(script_line '#SBATCH --array' "$script")" "#SBATCH --array=0-3"
is "named after the job" "$(script_line '#SBATCH --job-name' "$script")" "#SBATCH --job-name=resweep-$J"
is "the walltime" "$(script_line '#SBATCH --time' "$script")" "#SBATCH --time=10"
is "the partition" "$(script_line '#SBATCH --partition' "$script")" "#SBATCH --partition=debug"
is "the cpus per task" "$(script_line '#SBATCH --cpus-per-task' "$script")" "#SBATCH --cpus-per-task=3"
is "logs beside the database" "$(script_line '#SBATCH --output' "$script")" "#SBATCH --output=$DB.slurm/job-$J-%A_%a.out"
is "--log-dir elsewhere, made absolute" \
    "$(cd "$T_DIR" && rsw slurm "$J" --tasks 1 --log-dir logs --dry-run 2>/dev/null | grep -m1 '^#SBATCH --output')" \
    "#SBATCH --output=$(cd "$T_DIR" && pwd -P)/logs/job-$J-%A_%a.out"
is "extra sbatch arguments, verbatim, in order" "$(grep -E '^#SBATCH --(mem|comment)' <<<"$script" | tr '\n' ' ')" \
    "#SBATCH --mem=100M #SBATCH --comment=a_b "
is "the #SBATCH lines come before any command" \
    "$(awk '/^#SBATCH/ { if (cmd) bad = 1 } /^[^#]/ { cmd = 1 } END { print bad + 0 }' <<<"$script")" "0"
exec_line=$(sed -n '/^exec /,$p' <<<"$script" | tr -d '\\\n' | tr -s ' ')
is "one resweep-worker per task, with the daemon's address, token and the task's cpus" "$exec_line" \
    "exec '$WORKER' --connect '$ADDR' --token-file '$(readlink -f "$DB.token")' --threads \"\${SLURM_CPUS_PER_TASK:-3}\" --idle-exit 60 --time-limit 540"
check "the script is valid sh" sh -n <<<"$script"
# The margin: 10% of the walltime, at most 5 minutes; none without one.
limit() { rsw slurm "$J" --tasks 1 --time "$1" --dry-run 2>/dev/null | sed -n 's/.* --time-limit \([0-9][0-9]*\)$/\1/p'; }
is "walltime 10 minutes: hand back at 9" "$(limit 10)" "540"
is "walltime 0:50 (50 s): at 45 s" "$(limit 0:50)" "45"
is "walltime 50 minutes: at 45" "$(limit 50)" "2700"
is "walltime 2:00:00: 5 minutes before" "$(limit 2:00:00)" "6900"
is "walltime 1-0 (a day): 5 minutes before" "$(limit 1-0)" "86100"
is "walltime 1-2:30 (26.5 h)" "$(limit 1-2:30)" "95100"
is "walltime UNLIMITED: no --time-limit" "$(limit UNLIMITED)" ""
is "no --time: no --time-limit" \
    "$(rsw slurm "$J" --tasks 1 --dry-run 2>/dev/null | grep -c -- '--time-limit\|^#SBATCH --time')" "0"
is "a partition with a space is quoted for sbatch" \
    "$(rsw slurm "$J" --tasks 1 --partition 'a b' --dry-run 2>/dev/null | grep -m1 '^#SBATCH --partition')" \
    '#SBATCH --partition="a b"'
is "--dry-run wrote nothing beside the database" "$(ls -d "$DB.slurm" 2>/dev/null)" ""
is "and recorded nothing" "$(sq "SELECT count(*) FROM slurm_jobs")" "0"
# Refusals.
refused() {  # desc want_rc want_text args...
    local desc=$1 want_rc=$2 want=$3 out rc; shift 3
    out=$(rsw slurm "$@" 2>&1); rc=$?
    if [ "$rc" = "$want_rc" ] && [[ "$out" == *"$want"* ]]; then ok "$desc"
    else not_ok "$desc" "exit $rc: $out"; fi
}
refused "--time that sbatch would not take" 2 '--time: "ten" is not a Slurm time' "$J" --tasks 1 --time ten --dry-run
refused "--tasks missing" 2 "--tasks: missing" "$J" --dry-run
refused "--tasks 0" 2 "--tasks: must be an integer in [1, 4000000]" "$J" --tasks 0 --dry-run
refused "an --sbatch-arg that is no option" 2 '"mem=1G" is not an sbatch option' "$J" --tasks 1 --sbatch-arg mem=1G --dry-run
refused "an --sbatch-arg with a line break" 2 "contains a line break" "$J" --tasks 1 --sbatch-arg $'--mem=1G\nrm -rf /' --dry-run
refused "an unknown option" 2 'no such option "--nodes"' "$J" --tasks 1 --nodes 2 --dry-run
refused "a job that does not exist" 1 "there is no job 999" 999 --tasks 1 --dry-run
refused "a --worker that is not there" 1 "--worker /nonexistent/resweep-worker" "$J" --tasks 1 --worker /nonexistent/resweep-worker --dry-run
mkdir "$T_DIR/nobin"
out=$(PATH="$T_DIR/nobin" "$RESWEEP" --socket "$SOCK" slurm "$J" --tasks 1 2>&1); rc=$?
is "without sbatch on PATH, exit 1" "$rc" "1"
case "$out" in *"sbatch: not found"*"slurm-client"*) ok "and the sentence names the package slurm-client" ;;
    *) not_ok "and the sentence names the package slurm-client" "$out" ;; esac
stop_daemon
# A wildcard listener is this host's name in the script.
start_daemon wild --workers 0 --listen 0.0.0.0:0
J=$(spec_sweep | submit_job)
port=$(rsw --json ping | json_get listen | sed 's/.*://')
is "a daemon on 0.0.0.0 is reached by this host's name" \
    "$(rsw slurm "$J" --tasks 1 --dry-run | sed -n "s/.*--connect '\([^']*\)'.*/\1/p")" "$(hostname):$port"
rsw cancel "$J" >/dev/null
refused "a job with nothing left to run" 1 "has no queued or running runs" "$J" --tasks 1 --dry-run
stop_daemon

# --- a real one-node Slurm cluster ---
skip_rest() { T_N=$((T_N + 1)); echo "ok $T_N # SKIP $1"; exit 0; }
[ "$(id -u)" = 0 ] || skip_rest "the one-node Slurm cluster needs root (slurmd runs jobs as their users)"
have_slurm() { command -v slurmctld && command -v slurmd && command -v sbatch && command -v munged; } >/dev/null
if ! have_slurm; then
    "$top/scripts/deps.sh" slurm >"$T_DIR/deps.log" 2>&1
    why=$(tail -n 1 "$T_DIR/deps.log")
    have_slurm || skip_rest "Debian's slurmctld, slurmd, slurm-client and munge could not be installed (scripts/deps.sh slurm: ${why:-installed, but not on PATH})"
fi

C="$T_DIR/slurm"
mkdir -p "$C/etc" "$C/run" "$C/state" "$C/spool" "$C/log"
H=$(hostname -s)
export SLURM_CONF="$C/etc/slurm.conf"
read -r CTLD_PORT SLURMD_PORT < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("", 0))
print(*[s.getsockname()[1] for s in ss])')
mem_mb=$(awk '/^MemTotal:/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)
cat >"$SLURM_CONF" <<EOF
ClusterName=resweeptest
SlurmctldHost=$H(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$C/run/munge.sock
StateSaveLocation=$C/state
SlurmdSpoolDir=$C/spool
SlurmctldPidFile=$C/run/slurmctld.pid
SlurmdPidFile=$C/run/slurmd.pid
SlurmctldLogFile=$C/log/slurmctld.log
SlurmdLogFile=$C/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
NodeName=$H NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
EOF
dd if=/dev/urandom of="$C/etc/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$C/etc/munge.key"

SJOBS="" MUNGED="" SLURMCTLD="" SLURMD=""
# Stops what the test started, Slurm's jobs first so that their workers
# hand their runs back to a daemon still there; then the daemons.
slurm_down() {
    local p j
    for j in $SJOBS; do scancel "$j" 2>/dev/null; done
    [ -n "$SJOBS" ] && wait_until 30 squeue_empty
    # slurmd outlives no step of its own: each has a socket in the spool.
    [ -n "$SLURMD" ] && wait_until 10 no_steps
    # A worker whose step outlived the scancel (its pid is in its log).
    for p in $(cat "$DB".slurm/*.out 2>/dev/null | sed -n 's/.*resweep-worker\[\([0-9]*\)\].*/\1/p' | sort -u); do
        kill -0 "$p" 2>/dev/null && kill -KILL "$p"
    done
    for p in $SLURMD $SLURMCTLD $MUNGED; do
        kill -TERM "$p" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
}
at_exit slurm_down
squeue_empty() { [ -z "$(squeue -h 2>/dev/null)" ]; }
no_steps() { ! ls "$C/spool/${H}_"* >/dev/null 2>&1; }

# --force: the socket's directory is inside the test's private (0700)
# directory, which munged refuses for other users' sake; only root uses it.
munged -F --force --socket="$C/run/munge.sock" --key-file="$C/etc/munge.key" \
    --pid-file="$C/run/munged.pid" --seed-file="$C/run/munged.seed" \
    --log-file="$C/log/munged.log" >"$C/log/munged.out" 2>&1 &
MUNGED=$!
wait_until 10 sh -c "munge -S '$C/run/munge.sock' -n | unmunge -S '$C/run/munge.sock'" ||
    bail "munged starts" "$(cat "$C/log/munged.out")"
slurmctld -D >"$C/log/slurmctld.out" 2>&1 &
SLURMCTLD=$!
slurmd -D -N "$H" >"$C/log/slurmd.out" 2>&1 &
SLURMD=$!
node_idle() { [ "$(sinfo -h -n "$H" -o %t 2>/dev/null)" = idle ]; }
wait_until 60 node_idle || bail "the one-node cluster comes up (sinfo: the node idle)" \
    "$(sinfo 2>&1; tail -n 5 "$C"/log/slurmctld.log "$C"/log/slurmd.log)"
ok "a one-node Slurm cluster is up: node $H idle, controller on port $CTLD_PORT"

start_daemon remote --workers 0 --listen 127.0.0.1:0
J=$(spec_sweep | submit_job)
t0=$SECONDS
out=$(rsw slurm "$J" --tasks 2 --time 10 --cpus-per-task 1 --idle-exit 5 2>"$T_DIR/slurm.err"); rc=$?
is "resweep slurm submits" "$rc" "0"
SJ=$(sed -n 's/^Slurm job \([0-9]*\):.*/\1/p' <<<"$out")
[ -n "$SJ" ] || bail "it names the Slurm job" "$out$(cat "$T_DIR/slurm.err")"
SJOBS=$SJ
ok "it names the Slurm job: $SJ"
is "the Slurm job id is recorded with the job" \
    "$(sq "SELECT job_id, tasks FROM slurm_jobs WHERE slurm_job_id = $SJ")" "$J|2"
is "with the script as submitted" \
    "$(sq "SELECT script FROM slurm_jobs WHERE slurm_job_id = $SJ" | grep -c '^#SBATCH --array=0-1$')" "1"
job_done() { [ "$(sq "SELECT count(*) FROM runs WHERE job_id = $1 AND status IN ('queued', 'running')")" = 0 ]; }
wait_until 300 job_done "$J" || bail "the sweep ends on the Slurm tasks' workers" \
    "$(squeue 2>&1; cat "$DB".slurm/*.out 2>/dev/null | tail -n 20)"
ok "the sweep ended on Slurm's workers in $((SECONDS - t0)) s"
is "every run done exactly once" \
    "$(sq "SELECT count(*), sum(attempts) FROM runs WHERE job_id = $J AND status = 'done'")|$(sq "SELECT count(*) FROM results x JOIN runs r USING (run_id) WHERE r.job_id = $J")" \
    "8|8|8"
if [ "$(job_dump "$DB" "$J")" = "$(job_dump "$LOCALDB" 1)" ]; then
    ok "results and curves are bit-identical to the threads'"
else
    not_ok "results and curves are bit-identical to the threads'" "$(diff <(job_dump "$DB" "$J") <(job_dump "$LOCALDB" 1) | head -5)"
fi
wait_until 120 squeue_empty || bail "the workers leave by --idle-exit and the Slurm job ends" "$(squeue 2>&1)"
ok "the workers left by --idle-exit: squeue is empty"
states=$(scontrol -o show job "$SJ" 2>&1 | grep -o 'JobState=[A-Z]* .*ExitCode=[0-9:]*' | sed 's/ .*ExitCode=/ /' | sort | uniq -c | tr -s ' ')
is "both array tasks completed with exit status 0" "$states" " 2 JobState=COMPLETED 0:0"
is "each task's worker connected to the daemon" "$(cat "$DB".slurm/job-"$J"-"$SJ"_*.out | grep -c 'connected to ')" "2"
is "and left when nothing was left to run" "$(cat "$DB".slurm/job-"$J"-"$SJ"_*.out | grep -c 'nothing to run for 5 s: leaving')" "2"

# --- the walltime: runs handed back before it, resumed by the next task ---
# A run longer than a 5 s walltime (about 20 s here; 3M steps leave room
# for machines a few times faster): its worker leaves at 4 s (the margin),
# handing the run back with a checkpoint, so the task ends well (Slurm
# rounds walltimes up to whole minutes: it never has to kill it); the next
# array's worker resumes it from the checkpoint.
J2=$(printf '{"name": "long", "base": {"data": {"d": 5, "n": 100}, "model": {"width": 8}, "train": {"steps": 3000000, "lr": 0.01, "tol": 0, "curve_points": 20}, "analysis": {"lanczos_iters": 20}}, "seeds": 1}\n' | submit_job)
out=$(rsw slurm "$J2" --tasks 1 --time 0:05 --idle-exit 5 2>>"$T_DIR/slurm.err") || bail "a 5 s array" "$out"
SJ2=$(sed -n 's/^Slurm job \([0-9]*\):.*/\1/p' <<<"$out")
SJOBS="$SJOBS $SJ2"
grep -q -- '--time-limit 4$' "$(sed -n 's/^script *//p' <<<"$out")" && ok "its worker's --time-limit is 4 s" ||
    not_ok "its worker's --time-limit is 4 s" "$out"
wait_until 120 squeue_empty || bail "the 5 s array ends" "$(squeue 2>&1)"
log2=$(cat "$DB".slurm/job-"$J2"-"$SJ2"_0.out)
case "$log2" in *"time limit reached: handing the runs back"*) ok "at its time limit the worker handed the run back" ;;
    *) not_ok "at its time limit the worker handed the run back" "$log2" ;; esac
is "and its task completed with exit status 0" \
    "$(scontrol -o show job "$SJ2" | grep -o 'JobState=[A-Z]*\|ExitCode=[0-9:]*' | tr '\n' ' ')" "JobState=COMPLETED ExitCode=0:0 "
is "the run is queued again, its attempt not used up" "$(sq "SELECT status, attempts FROM runs WHERE job_id = $J2")" "queued|0"
ck=$(sq "SELECT c.step FROM checkpoints c JOIN runs r USING (run_id) WHERE r.job_id = $J2")
[ "${ck:-0}" -gt 0 ] && ok "with a checkpoint at step $ck" || not_ok "with a checkpoint" "$ck"
out=$(rsw slurm "$J2" --tasks 1 --time 10 --idle-exit 5 2>>"$T_DIR/slurm.err") || bail "the next array" "$out"
SJOBS="$SJOBS $(sed -n 's/^Slurm job \([0-9]*\):.*/\1/p' <<<"$out")"
wait_until 300 job_done "$J2" || bail "the next array's worker finishes the run" "$(squeue 2>&1)"
is "the next task's worker finished it, on its first counted attempt" \
    "$(sq "SELECT r.status, r.attempts, x.steps_done FROM runs r JOIN results x USING (run_id) WHERE r.job_id = $J2")" "done|1|3000000"
is "the curve kept the points measured before the hand-back" \
    "$(sq "SELECT count(*) > 0 FROM curves c JOIN runs r USING (run_id) WHERE r.job_id = $J2 AND c.step < $ck")" "1"
is "both arrays are recorded with the job" "$(sq "SELECT count(*) FROM slurm_jobs WHERE job_id = $J2")" "2"
wait_until 120 squeue_empty || bail "the last array ends" "$(squeue 2>&1)"

# --- scancel: SIGTERM, and the worker hands its run back ---
J3=$(printf '{"name": "endless", "base": {"data": {"d": 5, "n": 100}, "model": {"width": 8}, "train": {"steps": 100000000, "lr": 0.01, "tol": 0, "curve_points": 20}, "analysis": {"lanczos_iters": 20}}, "seeds": 1}\n' | submit_job)
out=$(rsw slurm "$J3" --tasks 1 --time 10 2>>"$T_DIR/slurm.err") || bail "an array to cancel" "$out"
SJ3=$(sed -n 's/^Slurm job \([0-9]*\):.*/\1/p' <<<"$out")
SJOBS="$SJOBS $SJ3"
running() { [ "$(sq "SELECT status FROM runs WHERE job_id = $J3")" = running ]; }
wait_until 60 running || bail "the run starts on the array's worker" "$(squeue 2>&1)"
sleep 1
scancel "$SJ3"
wait_until 60 squeue_empty || bail "scancel ends the array" "$(squeue 2>&1)"
is "after scancel the run is queued again, its attempt not used up" "$(sq "SELECT status, attempts FROM runs WHERE job_id = $J3")" "queued|0"
is "with a checkpoint" "$(sq "SELECT count(*) FROM checkpoints c JOIN runs r USING (run_id) WHERE r.job_id = $J3 AND c.step > 0")" "1"
grep -q 'info: stopped' "$DB".slurm/job-"$J3"-"$SJ3"_0.out && ok "the worker stopped cleanly" ||
    not_ok "the worker stopped cleanly" "$(cat "$DB".slurm/job-"$J3"-"$SJ3"_0.out)"
rsw cancel "$J3" >/dev/null
stop_daemon
