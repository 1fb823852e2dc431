#!/bin/bash
# Issue 11, "Data checked at submission": a job whose CSV cannot work is
# refused when it is submitted, with the sentence and the line a run would
# have failed with, and nothing of it is stored; a good file is accepted
# and its runs read it.
. "$(dirname "$0")/lib.sh"

printf 'a,b,y\n1,2,1\n3,4,-1\n5,6,1\n7,8,-1\n' >"$T_DIR/good.csv"
printf 'a,b,y\n1,2,1\n3,4,-1\n5,x,1\n7,8,-1\n' >"$T_DIR/cell.csv"
printf 'a,b,y\n1,2,1\n3,4,0.5\n5,6,1\n' >"$T_DIR/labels.csv"
printf 'a,b,target\n1,2,1\n3,4,-1\n' >"$T_DIR/notarget.csv"
printf 'a,b,y\n' >"$T_DIR/norows.csv"
mkfifo "$T_DIR/fifo.csv"

job() {  # file loss [seeds]
    printf '{"name": "csv", "base": {"data": {"source": "csv", "path": "%s"}, "loss": "%s", "train": {"steps": 20}}, "seeds": %s}\n' \
        "$1" "$2" "${3:-1}"
}
refused() {  # name file loss expected-substring
    local out rc
    out=$(job "$2" "$3" 50 | rsw submit - 2>&1); rc=$?
    if [ "$rc" -ne 0 ] && case "$out" in *"$4"*) true ;; *) false ;; esac; then
        ok "$1 is refused at submission: $out"
    else
        not_ok "$1 is refused at submission" "exit $rc: $out"
    fi
}

start_daemon check --workers 1
refused "a missing file" "$T_DIR/none.csv" squared "none.csv: No such file or directory"
refused "a cell that is not a number" "$T_DIR/cell.csv" squared "line 4"
refused "a label not in {-1, +1} for logistic" "$T_DIR/labels.csv" logistic "line 3: column \"y\": label 0.5 is not -1 or +1"
refused "a missing target column" "$T_DIR/notarget.csv" squared "has no column \"y\""
refused "a header without rows" "$T_DIR/norows.csv" squared "has a header but no data rows"
refused "a FIFO" "$T_DIR/fifo.csv" squared "is a FIFO, not a regular file"
is "nothing of the refused jobs is stored" "$(sq "SELECT count(*) FROM jobs") $(sq "SELECT count(*) FROM runs")" "0 0"
out=$(job "$T_DIR/labels.csv" squared | rsw submit - --wait 2>&1)
is "labels of any value are fine for the squared loss" "$?" "0"
job "$T_DIR/good.csv" logistic 3 | rsw submit - --wait >/dev/null
is "a good file is accepted and its runs are done" "$(sq "SELECT count(*) FROM runs WHERE status = 'done'")" "4"
# The run still checks the whole file: one that changed after submission
# fails its run with the sentence. The worker is held by a long run
# meanwhile, so the late job's run reads the changed file.
HOLD=$(printf '{"name": "hold", "base": {"data": {"d": 5, "n": 100}, "train": {"steps": 100000000, "tol": 0}}}\n' | submit_job)
wait_for 30 '[ "$(sq "SELECT status FROM runs WHERE job_id = $HOLD")" = running ]' || bail "the long run starts"
cp "$T_DIR/good.csv" "$T_DIR/late.csv"
J=$(job "$T_DIR/late.csv" squared | submit_job)
[ -n "$J" ] && ok "the late job is accepted while its file is good" || bail "the late job is accepted"
printf 'a,b,y\n1,2,1\nzz\n' >"$T_DIR/late.csv"
rsw cancel "$HOLD" >/dev/null
rsw watch "$J" >/dev/null 2>&1
is "a file changed after submission fails its run" "$(sq "SELECT status FROM runs WHERE job_id = $J")" "failed"
case "$(sq "SELECT error FROM runs WHERE job_id = $J")" in *"late.csv line 3"*) ok "with the line" ;;
    *) not_ok "with the line" "$(sq "SELECT error FROM runs WHERE job_id = $J")" ;; esac
stop_daemon
is "daemon exits 0" "$?" "0"
