#!/bin/bash
# `watch` on a terminal (issue 11): the bar keeps one width from the first
# update to the last, whatever the counts, rates and ETAs, and the summary
# line follows it.
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null || bail "script (bsdutils) is needed for a pseudo-terminal"

start_daemon w --workers 2
j=$(tiny_spec 40 "$(steps 4000)" | rsw --json submit - | job_of)
out="$T_DIR/tty.out"
# script gives watch a pseudo-terminal; stty fixes its width at 80.
TERM=dumb timeout 300 script -qefc "stty cols 80; $RESWEEP --socket $SOCK watch $j" "$out" >/dev/null 2>&1
is "watch on a terminal exits 0" "$?" "0"
# Each redraw starts with "\r\033[K"; the bar ends at the first ']'.
ends=$(tr '\r' '\n' <"$out" | grep -a '^.\[Kjob ' | awk '{ print index($0, "]") }' | sort -u)
frames=$(tr '\r' '\n' <"$out" | grep -ac '^.\[Kjob ')
[ "$frames" -ge 2 ] && ok "the bar was redrawn ($frames frames)" || not_ok "the bar was redrawn" "$(cat -v "$out" | tail -n 5)"
is "every frame's bar has the same width" "$(printf '%s\n' "$ends" | wc -l)" "1"
lines=$(tr '\r' '\n' <"$out" | grep -a '^.\[Kjob ' | awk '{ print length($0) }' | sort -u | wc -l)
is "and every frame the same length" "$lines" "1"
grep -aq "job $j tiny: done: 40 done" "$out" && ok "the summary follows the bar" || not_ok "the summary follows the bar" "$(cat -v "$out" | tail -n 3)"
stop_daemon
