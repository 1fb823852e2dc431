#!/bin/bash
# resweep report (issue 6): reports of small finished jobs made by the
# real daemon and CLI — a GD sweep over arch x depth x dist, an SGD sweep
# (docs/theory.md §7), and Hessian estimates that cannot converge, capped
# (issue 9). Checks that the figures that apply, and only those, exist
# as valid SVG and PNG files; that the HTML page is self-contained; that
# the Markdown tables' numbers equal the gap_summary view's and SQL's; and
# that each error reaches the user as a sentence with exit status 1 (2 for
# usage).
. "$(dirname "$0")/lib.sh"

FIGCHECK="$T_DIR/figcheck"
if ! out=$(${CC:-cc} -std=c11 -O1 -o "$FIGCHECK" "$(dirname "$0")/figcheck.c" 2>&1); then
    bail "figcheck.c compiles" "$out"
fi

start_daemon a --workers 2
cat >"$T_DIR/gd.json" <<'JSON'
{"name": "report-gd",
 "base": {"seed": 3, "data": {"d": 5, "n": 100, "n_test": 100},
          "model": {"width": 8, "init_scale": 0.1},
          "train": {"steps": 300, "lr": 0.05, "curve_points": 20},
          "analysis": {"lanczos_iters": 20, "slice_points": 5}},
 "grid": {"model.arch": ["resnet", "plain", "linear"], "model.unit_depth": [1, 3],
          "data.dist": ["gaussian", "uniform"]},
 "seeds": 2}
JSON
cat >"$T_DIR/sgd.json" <<'JSON'
{"name": "report-sgd",
 "base": {"seed": 1, "data": {"d": 5, "n": 200, "n_test": 100, "stream": true},
          "model": {"unit_depth": 1, "width": 8, "init_scale": 0.1},
          "train": {"optimizer": "sgd", "batch": 1, "curve_points": 10},
          "analysis": {"lanczos_iters": 20}},
 "grid": {"model.arch": ["decoupled", "resnet"]},
 "zip": {"train.steps": [100, 1000], "train.lr": [0.05, 0.0158]},
 "seeds": 2}
JSON
rsw submit "$T_DIR/gd.json" --wait >/dev/null 2>&1 || bail "job 1 (GD) runs to the end"
rsw submit "$T_DIR/sgd.json" --wait >/dev/null 2>&1 || bail "job 2 (SGD) runs to the end"
is "both jobs done" "$(sq "SELECT group_concat(done || '/' || total) FROM job_progress")" "24/24,8/8"

# --- the files -------------------------------------------------------------

report_ok() {  # job dir
    local out rc=0
    out=$(rsw report "$1" --out "$2" 2>&1) || rc=$?
    if [ "$rc" -eq 0 ] && [ -s "$2/report.md" ] && [ -s "$2/report.html" ]; then
        ok "report $1: exit 0, report.md and report.html written"
    else
        bail "report $1: exit 0, report.md and report.html written" "exit $rc: $out"
    fi
}
# The figures report.md shows, sorted, one line.
figures_of() { grep -o '^!\[[a-z_]*\]([a-z_]*\.png)' "$1/report.md" | sed 's/.*(\(.*\)\.png)/\1/' | sort | tr '\n' ' '; }

check_figures() {  # dir
    local d=$1 f bad="" n=0
    for f in $(figures_of "$d"); do
        n=$((n + 1))
        "$FIGCHECK" svg "$d/$f.svg" >>"$T_DIR/fig.err" 2>&1 || bad="$bad $f.svg"
        "$FIGCHECK" png "$d/$f.png" >>"$T_DIR/fig.err" 2>&1 || bad="$bad $f.png"
        [ -s "$d/$f.gp" ] || bad="$bad $f.gp(missing)"
    done
    if [ -z "$bad" ]; then ok "$d: every figure is a valid SVG and PNG, with its script"
    else not_ok "$d: every figure is a valid SVG and PNG, with its script" "$bad: $(cat "$T_DIR/fig.err")"; fi
    is "$d: no figure file that report.md does not show" \
       "$(cd "$d" && ls -- *.svg *.png 2>/dev/null | wc -l)" "$((2 * n))"
    is "$d: the HTML page inlines each SVG" "$(grep -c '<svg' "$d/report.html")" "$n"
    is "$d: the HTML page embeds each PNG as a data URI" \
       "$(grep -o 'href="data:image/png;base64,[A-Za-z0-9+/=]*"' "$d/report.html" | wc -l)" "$n"
    is "$d: the HTML page loads nothing from outside" \
       "$(grep -cE '(src|href)="(https?:|//|[a-z_]+\.(svg|png|css|js))' "$d/report.html")" "0"
    is "$d: the HTML page's SVG ids are unique" \
       "$(grep -o " id=['\"][^'\"]*['\"]" "$d/report.html" | sort | uniq -d | wc -l)" "0"
}

report_ok 1 "$T_DIR/r1"
report_ok 2 "$T_DIR/r2"
# Job 1's end points span gradient norms (linear runs converge to 1e-8,
# the networks do not in 300 steps), so cert_grad applies; job 2's do not.
is "job 1 (GD, no SGD runs): the figures that apply" "$(figures_of "$T_DIR/r1")" \
   "cert_grad curves gap_cert gap_depth gap_wnorm hess_gap paths slice spectra "
is "job 2 (SGD): the figures that apply, the SGD one included" "$(figures_of "$T_DIR/r2")" \
   "curves gap_cert gap_depth gap_wnorm hess_gap paths sgd spectra "
check_figures "$T_DIR/r1"
check_figures "$T_DIR/r2"

# --- the numbers -----------------------------------------------------------

# Rows of the Markdown table under heading $2 (up to the next heading), as
# cells joined by '|', without the outer bars, bold marks or run ids.
md_table() {  # file heading
    awk -v h="$2" '
        /^#/ { on = (index($0, h) > 0) ; next }
        on && /^\|/ && !/^\|---/ { print }' "$1" |
    sed -e 's/^| //' -e 's/ |$//' -e 's/ | /|/g' -e 's/\*\*//g' \
        -e 's/ (#[0-9]*)//g' -e 's/—//g' | tail -n +2
}

# Compares two files of '|'-separated rows: integers and strings exactly,
# other numbers to 5e-4 relative (the report prints 4 significant digits).
same_rows() {  # desc got want
    local diff
    diff=$(awk -F'|' '
        NR == FNR { want[FNR] = $0; nw = FNR; next }
        { got[FNR] = $0; ng = FNR }
        END {
            if (ng != nw) { print "rows: got " ng ", want " nw; exit }
            for (i = 1; i <= ng; i++) {
                n = split(got[i], g, "|"); m = split(want[i], w, "|")
                if (n != m) { print "row " i ": " got[i] " / " want[i]; continue }
                for (k = 1; k <= n; k++) {
                    if (g[k] == w[k]) continue
                    num = "^-?[0-9.]+(e[-+]?[0-9]+)?$"
                    if (g[k] ~ num && w[k] ~ num) {
                        d = g[k] - w[k]; if (d < 0) d = -d
                        s = w[k] < 0 ? -w[k] : w[k]
                        if (d <= 5e-4 * s || d <= 1e-300) continue
                    }
                    print "row " i " column " k ": got " g[k] ", want " w[k]
                }
            }
        }' "$3" "$2")
    if [ -z "$diff" ]; then ok "$1"; else not_ok "$1" "$diff"; fi
}

# Job 1 varies dist: the split table is gap_summary, group by group.
md_table "$T_DIR/r1/report.md" "By architecture, depth and input distribution" |
    awk -F'|' '{ split($6, s, "/"); split($10, f, "/");
                 print $1 "|" $2 "|" $3 "|" $4 "|" s[1] "|" s[2] "|" s[3] "|" $7 "|" $8 "|" $9 "|" f[1] "|" f[2] "|" $12 "|" $13 }' \
    >"$T_DIR/md1"
sq "SELECT arch, unit_depth, dist, runs, done, failed, diverged,
           printf('%.17g', gap_q1), printf('%.17g', gap_median), printf('%.17g', gap_q3),
           CAST(round(frac_gap_le_1e6 * gap_n) AS INTEGER), gap_n,
           printf('%.17g', gap_min), printf('%.17g', gap_max)
      FROM gap_summary WHERE job_id = 1
     ORDER BY CASE arch WHEN 'resnet' THEN 0 WHEN 'plain' THEN 1 ELSE 4 END, blocks, unit_depth, dist" \
    >"$T_DIR/sql1"
is "job 1: the split table has one row per gap_summary group" "$(wc -l <"$T_DIR/md1")" "12"
same_rows "job 1: runs, states, quartiles, fraction, best and worst equal gap_summary's" "$T_DIR/md1" "$T_DIR/sql1"

# Job 1's seed statistics (docs/theory.md §6.10): two seeds a cell, so the
# bootstrap interval of the mean is [min, max] of the two differences
# exactly (the 2.5% and 97.5% quantiles of resample means that take the
# smaller one with probability 1/4), and the sign test's p is 0.5 when
# both have one sign, else 1.
md_table "$T_DIR/r1/report.md" "Architectures compared seed by seed" |
    awk -F'|' '{ gsub(/[][]/, "", $8); split($8, iv, ", ");
                 print $1 "|" $2 "|" $4 "|" $6 "|" $7 "|" iv[1] "|" iv[2] "|" $9 "|" $10 }' \
    >"$T_DIR/mds"
sq "SELECT s.comparison, s.unit_depth, s.dist, s.pairs, printf('%.17g', s.mean_diff),
           printf('%.17g', min(p.diff)), printf('%.17g', max(p.diff)),
           printf('%.2f', s.frac_le0),
           CASE WHEN s.n_below + s.n_above = 2 AND (s.n_below = 0 OR s.n_above = 0)
                THEN 0.5 ELSE 1 END
      FROM seed_stats s JOIN arch_pairs p ON p.job_id = s.job_id
           AND p.comparison = s.comparison AND p.cell = s.cell
     WHERE s.job_id = 1 GROUP BY s.comparison, s.cell
     ORDER BY s.comparison, s.blocks, s.unit_depth, s.width, s.dist, s.loss, s.cell" \
    >"$T_DIR/sqls"
is "job 1: one row per cell and comparison (resnet-plain, resnet-linear, plain-linear; 2 depths, 2 dists)" \
   "$(wc -l <"$T_DIR/mds")" "12"
same_rows "job 1: pairs, mean, interval, fraction and sign test equal the views' (the interval [min, max] of two)" \
    "$T_DIR/mds" "$T_DIR/sqls"
is "job 1: the slice's centre is each run's F" \
   "$(sq "SELECT count(*) FROM slices s JOIN results x USING (run_id)
           WHERE s.a = 0 AND s.b = 0 AND abs(s.loss - x.train_loss) <= 1e-13 * x.train_loss")" \
   "$(sq "SELECT count(*) FROM runs WHERE job_id = 1 AND status = 'done'")"

# Job 1's pooled table (arch x depth) against SQL over run_results.
md_table "$T_DIR/r1/report.md" "Gap by architecture and depth" |
    awk -F'|' '{ print $1 "|" $2 "|" $3 "|" $4 "|" $5 "|" $10 "|" $11 "|" $12 }' >"$T_DIR/md1p"
sq "SELECT arch, unit_depth, count(*), sum(status = 'done' AND converged = 1),
           sum(status = 'done') || '/' || sum(status = 'failed') || '/' || sum(status = 'diverged'),
           sum(status = 'done' AND gap > cert + 1e-9 * (1 + abs(train_loss))),
           printf('%.17g', min(gap)), printf('%.17g', max(gap))
      FROM run_results WHERE job_id = 1
     GROUP BY arch, unit_depth
     ORDER BY CASE arch WHEN 'resnet' THEN 0 WHEN 'plain' THEN 1 ELSE 4 END, unit_depth" >"$T_DIR/sql1p"
same_rows "job 1: pooled table's runs, converged, states, violations, best and worst equal SQL's" \
    "$T_DIR/md1p" "$T_DIR/sql1p"

# Job 2 varies neither dist nor loss: its main table is gap_summary.
md_table "$T_DIR/r2/report.md" "Gap by architecture and depth" |
    awk -F'|' '{ split($5, s, "/"); split($9, f, "/");
                 print $1 "|" $2 "|" $3 "|" s[1] "|" s[2] "|" s[3] "|" $6 "|" $7 "|" $8 "|" f[1] "|" f[2] "|" $11 "|" $12 }' \
    >"$T_DIR/md2"
sq "SELECT arch, unit_depth, runs, done, failed, diverged,
           printf('%.17g', gap_q1), printf('%.17g', gap_median), printf('%.17g', gap_q3),
           CAST(round(frac_gap_le_1e6 * gap_n) AS INTEGER), gap_n,
           printf('%.17g', gap_min), printf('%.17g', gap_max)
      FROM gap_summary WHERE job_id = 2
     ORDER BY CASE arch WHEN 'resnet' THEN 0 WHEN 'decoupled' THEN 2 ELSE 4 END" >"$T_DIR/sql2"
same_rows "job 2: the main table equals gap_summary" "$T_DIR/md2" "$T_DIR/sql2"

# The SGD table: the §7 bound per arch and T, against SQL.
md_table "$T_DIR/r2/report.md" "SGD against the best linear predictor" |
    awk -F'|' '{ print $1 "|" $2 "|" $3 "|" $4 "|" $7 }' >"$T_DIR/md2s"
sq "SELECT arch, lr, steps, count(*),
           CASE WHEN count(regret_bound) = 0 THEN ''
                ELSE sum(regret_lhs <= regret_bound + 1e-9 * (1 + abs(regret_lhs))) || ' of ' || count(regret_bound) END
      FROM run_results WHERE job_id = 2
     GROUP BY arch, lr, steps
     ORDER BY CASE arch WHEN 'resnet' THEN 0 ELSE 2 END, lr, steps" >"$T_DIR/sql2s"
same_rows "job 2: the SGD table's runs and §7 counts equal SQL's" "$T_DIR/md2s" "$T_DIR/sql2s"

overview=$(grep -m1 '^Job 1 has' "$T_DIR/r1/report.md")
want=$(sq "SELECT 'Job 1 has **' || total || ' runs**: ' || done || ' done, ' || failed || ' failed, ' ||
                  diverged || ' diverged, ' || canceled || ' canceled' FROM job_progress WHERE job_id = 1")
case "$overview" in "$want"*) ok "overview: counts equal job_progress's" ;;
    *) not_ok "overview: counts equal job_progress's" "got:  $overview
want: $want..." ;; esac
viol=$(sq "SELECT count(*) FROM run_results WHERE job_id = 1 AND status = 'done'
             AND gap > cert + 1e-9 * (1 + abs(train_loss))")
case "$overview" in *"**$viol violations**"*) ok "overview: violations ($viol) in bold, as SQL counts them" ;;
    *) not_ok "overview: violations ($viol) in bold, as SQL counts them" "$overview" ;; esac
is "no dist column where the job has one dist (job 2)" \
   "$(grep -c '^| arch | L | dist' "$T_DIR/r2/report.md")" "0"
is "a dist column where the job varies it (job 1)" \
   "$(grep -c '^| arch | L | dist' "$T_DIR/r1/report.md")" "1"

# --- the curvature estimates (issue 9) --------------------------------------

# Job 3: three iterations cannot converge, and with lanczos_memory_mib 0
# no basis is stored: the columns say so, and the report flags both runs.
cat >"$T_DIR/lz.json" <<'JSON'
{"name": "report-lanczos",
 "base": {"data": {"d": 5, "n": 100, "n_test": 0}, "model": {"width": 8},
          "train": {"steps": 50},
          "analysis": {"lanczos_iters": 3, "lanczos_memory_mib": 0}},
 "seeds": 2}
JSON
rsw submit "$T_DIR/lz.json" --wait >/dev/null 2>&1 || bail "job 3 (capped Lanczos) runs to the end"
is "job 3: capped, not converged, every iteration run, as the columns say" \
   "$(sq "SELECT group_concat(lanczos_capped || '/' || hess_converged || '/' || lanczos_iters) FROM run_results WHERE job_id = 3")" \
   "1/0/3,1/0/3"
report_ok 3 "$T_DIR/r3"
# The curvature section's sentences, one line.
curvature() { awk '/^## Curvature estimates/ { on = 1; next } /^## / { on = 0 } on' "$1/report.md" | tr '\n' ' '; }
c3=$(curvature "$T_DIR/r3")
case "$c3" in *"**0 converged**"*"**2 did not**"*"2 were capped"*) ok "job 3: the report counts 0 converged, 2 not, 2 capped" ;;
    *) not_ok "job 3: the report counts 0 converged, 2 not, 2 capped" "$c3" ;; esac
md_table "$T_DIR/r3/report.md" "Estimates that did not converge" >"$T_DIR/md3"
is "job 3: both runs listed as not converged" "$(wc -l <"$T_DIR/md3")" "2"
is "job 3: their λmin written as an upper bound, 'capped' yes" \
   "$(awk -F'|' '$5 ~ /^≤ / && $10 == "yes"' "$T_DIR/md3" | wc -l)" "2"
sed 's/≤ //' "$T_DIR/md3" >"$T_DIR/md3n"
sq "SELECT run_id, arch, unit_depth, seed, printf('%.17g', hess_min), printf('%.17g', hess_min_res),
           printf('%.17g', hess_max), printf('%.17g', hess_max_res), lanczos_iters, 'yes'
      FROM run_results WHERE job_id = 3 ORDER BY run_id" >"$T_DIR/sql3"
same_rows "job 3: the listed estimates equal run_results'" "$T_DIR/md3n" "$T_DIR/sql3"
case "$(grep -m1 '^Job 3 has' "$T_DIR/r3/report.md")" in
    *"2 Hessian estimates did not converge"*) ok "job 3: the overview says the estimates did not converge" ;;
    *) not_ok "job 3: the overview says the estimates did not converge" "$(grep -m1 '^Job 3 has' "$T_DIR/r3/report.md")" ;; esac
# Job 1 stores its bases (20 iterations of at most 106 parameters): its
# counts equal SQL's.
c1=$(curvature "$T_DIR/r1")
want=$(sq "SELECT '**' || sum(hess_converged = 1) || ' converged**' || char(10) || '**' || sum(hess_converged = 0) || ' did not**'
             FROM run_results WHERE job_id = 1 AND status = 'done' AND hess_min IS NOT NULL")
conv=${want%%$'\n'*}; notc=${want#*$'\n'}
case "$c1" in *"$conv"*"$notc"*) ok "job 1: converged and unconverged counts equal SQL's ($conv, $notc)" ;;
    *) not_ok "job 1: converged and unconverged counts equal SQL's" "got: $c1 want: $want" ;; esac
is "job 1: no estimate capped" "$(sq "SELECT count(*) FROM run_results WHERE job_id = 1 AND lanczos_capped != 0")" "0"

# --- defaults and errors ---------------------------------------------------

mkdir "$T_DIR/cwd"
(cd "$T_DIR/cwd" && rsw report 2 >/dev/null 2>&1)
check "without --out the report goes to report-JOB/" test -s "$T_DIR/cwd/report-2/report.html"

err_is() {  # desc want-status want-text cmd...
    local desc=$1 want_rc=$2 want=$3 rc=0 out; shift 3
    out=$("$@" 2>&1 >/dev/null) || rc=$?
    case "$rc:$out" in "$want_rc:"*"$want"*) ok "$desc" ;;
        *) not_ok "$desc" "exit $rc: $out
want exit $want_rc and: $want" ;; esac
}
err_is "unknown job: a sentence naming it, exit 1" 1 "resweep: job: there is no job 99 in $DB" \
    rsw report 99 --out "$T_DIR/r99"
check "unknown job: no directory created" test ! -e "$T_DIR/r99"
err_is "missing database: a sentence, exit 1" 1 "the database $T_DIR/none.db does not exist" \
    "$RESWEEP" --socket "$SOCK" --db "$T_DIR/none.db" report 1 --out "$T_DIR/rx"
sqlite3 "$T_DIR/other.db" "CREATE TABLE t (x)"
err_is "a database of another program: a sentence, exit 1" 1 "is not a resweep database" \
    "$RESWEEP" --socket "$SOCK" --db "$T_DIR/other.db" report 1 --out "$T_DIR/rx"
: >"$T_DIR/afile"
err_is "output directory not writable: a sentence, exit 1" 1 "cannot create the output directory" \
    rsw report 1 --out "$T_DIR/afile/sub"
mkdir "$T_DIR/nobin"
err_is "gnuplot missing: the report is written (exit 0) and says which figures were left out and how to get them" 0 "left out: gap_depth" \
    env PATH="$T_DIR/nobin" "$RESWEEP" --socket "$SOCK" --db "$DB" report 1 --out "$T_DIR/rx"
err=$(env PATH="$T_DIR/nobin" "$RESWEEP" --socket "$SOCK" --db "$DB" report 1 --out "$T_DIR/rx" 2>&1 >/dev/null)
case "$err" in *"install gnuplot-nox"*"resweep report 1"*) ok "naming the package and the command to run again" ;;
    *) not_ok "naming the package and the command to run again" "$err" ;; esac
check "its tables are there" grep -q "^| " "$T_DIR/rx/report.md"
check "each figure's script is written" test -s "$T_DIR/rx/gap_depth.gp"
check "no figure was drawn" test ! -e "$T_DIR/rx/gap_depth.svg"
check "report.md says how to draw them" grep -q "Not drawn: gnuplot was not installed" "$T_DIR/rx/report.md"
(cd "$T_DIR/rx" && gnuplot gap_depth.gp 2>/dev/null)
check "and running the script as it says draws the figure" test -s "$T_DIR/rx/gap_depth.svg"
err_is "no job argument: usage, exit 2" 2 "usage: resweep report" rsw report
err_is "a job argument that is not a number: exit 2" 2 "JOB: must be a job id" rsw report abc
is "the database passes integrity_check after the reports" "$(sq 'PRAGMA integrity_check')" "ok"

stop_daemon
