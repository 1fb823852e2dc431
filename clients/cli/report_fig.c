/* report_fig.c — the report's figures, drawn by gnuplot (Debian's
 * gnuplot-nox) as SVG and PNG.
 *
 * Each figure is one generated script, DIR/NAME.gp, that holds its data
 * as datablocks and draws NAME.svg and NAME.png; it is left next to the
 * figures, so that a user can restyle one with `cd DIR && gnuplot
 * NAME.gp`. A figure is drawn only when the job has the data for it:
 *
 *   gap_depth  gap against depth per architecture (box plots)
 *   curves     training loss curves coloured by depth, one panel per arch
 *   gap_cert   gap against the certificates cert and cert_grad, with y = x
 *   cert_grad  cert against the (w, V) gradient norm, when the job's end
 *              points span gradient norms
 *   gap_wnorm  gap and cert_grad against ||w|| (docs/theory.md §6.4's 1/||w||)
 *   sgd        SGD excess loss against T with the §7 bound (log-log)
 *   hess_gap   smallest Hessian eigenvalue against gap
 *
 * Axes spanning many decades of both signs use a symmetric log scale
 * (asinh(v/s)), so that gaps of -0.1 and 1e-16 and certificates of 1e-3
 * are all readable on one plot.
 */
#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

extern char **environ;

#define FIG_MAX_ARCHS  8
#define FIG_MAX_PANELS 4
#define FIG_PANEL_W    600
#define FIG_H          420

/* --- gnuplot --------------------------------------------------------- */

int rep_gnuplot_check(char *err, size_t errlen)
{
    const char *path = getenv("PATH");
    char buf[4200];
    for (const char *p = path ? path : ""; p && *p;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        snprintf(buf, sizeof buf, "%.*s/gnuplot", (int)n, n ? p : ".");
        if (access(buf, X_OK) == 0)
            return 0;
        p = end ? end + 1 : NULL;
    }
    snprintf(err, errlen, "gnuplot is not installed (or not on PATH); the "
             "report draws its figures with it: install gnuplot-nox "
             "(apt-get install gnuplot-nox)");
    return -ENOENT;
}

/* Runs `gnuplot NAME.gp` in dir; on failure, the sentence quotes the end
 * of what gnuplot said. */
static int run_gnuplot(const char *dir, const char *name, char *err,
                       size_t errlen)
{
    char script[64], out[1024] = "";
    int fds[2];
    snprintf(script, sizeof script, "%s.gp", name);
    if (pipe(fds) != 0) {
        snprintf(err, errlen, "cannot run gnuplot: %s", strerror(errno));
        return -errno;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addchdir_np(&fa, dir);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    char *argv[] = {"gnuplot", script, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    size_t len = 0;
    ssize_t got;
    char chunk[512];
    /* Keep the last bytes: gnuplot's error is at the end. */
    while ((got = read(fds[0], chunk, sizeof chunk)) > 0) {
        size_t g = (size_t)got, keep = sizeof out - 1 - g;
        if (len > keep) {
            memmove(out, out + (len - keep), keep);
            len = keep;
        }
        memcpy(out + len, chunk, g);
        len += g;
    }
    out[len] = 0;
    close(fds[0]);
    int status = 0;
    if (rc == 0 && waitpid(pid, &status, 0) < 0)
        rc = errno;
    if (rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    for (char *p = out; *p; p++)
        if (*p == '\n' && p[1])
            *p = ' ';
    snprintf(err, errlen, "gnuplot failed on %s/%s: %s", dir, script,
             rc ? strerror(rc) : *out ? out : "no message");
    return -EIO;
}

/* --- axes ------------------------------------------------------------ */

enum axis_mode { AXIS_LINEAR, AXIS_LOG, AXIS_SYMLOG };

typedef struct axis {
    enum axis_mode mode;
    double s;            /* symlog: linear below about s */
    double lo, hi;       /* data range */
} axis;

static int cmp_abs(const void *a, const void *b)
{
    double x = fabs(*(const double *)a), y = fabs(*(const double *)b);
    return (x > y) - (x < y);
}

/* The scale that shows the finite values of v best: log when all are
 * positive and span more than two decades; symlog when they span many
 * decades with both signs (or when outliers would flatten a linear axis,
 * unless prefer_linear); linear otherwise. */
static axis axis_pick(const double *v, size_t n, bool prefer_linear)
{
    axis a = {AXIS_LINEAR, 1, INFINITY, -INFINITY};
    double *m = malloc((n + 1) * sizeof *m);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        a.lo = fmin(a.lo, v[i]);
        a.hi = fmax(a.hi, v[i]);
        if (m)
            m[k++] = v[i];
    }
    if (!m || k < 2 || a.hi == a.lo) {
        free(m);
        return a;
    }
    qsort(m, k, sizeof *m, cmp_abs);
    double big = fabs(m[k - 1]), p90 = fabs(m[(k - 1) * 9 / 10]);
    double small = fabs(m[0]);
    free(m);
    if (a.lo > 0 && a.hi / a.lo > 100)
        a.mode = AXIS_LOG;
    else if (!prefer_linear && a.lo < 0 && a.hi > 0 && big > 1e3 * small)
        a.mode = AXIS_SYMLOG;
    else if (big > 50 * p90)
        a.mode = AXIS_SYMLOG;
    a.s = big * 1e-4;
    return a;
}

/* Widens a to cover b too (scatter plots share one scale on x and y). */
static axis axis_join(axis a, axis b)
{
    axis j = a.mode >= b.mode ? a : b;
    j.lo = fmin(a.lo, b.lo);
    j.hi = fmax(a.hi, b.hi);
    j.s = fmax(a.s, b.s);
    if (j.mode == AXIS_LOG && j.lo <= 0)
        j.mode = AXIS_SYMLOG;
    return j;
}

static void axis_emit(rep_buf *b, char ax, const axis *a, const char *label)
{
    rep_buf_printf(b, "set %clabel \"%s\"\n", ax, label);
    if (a->mode == AXIS_LOG) {
        rep_buf_printf(b, "set logscale %c\nset format %c \"10^{%%L}\"\n",
                       ax, ax);
        return;
    }
    if (a->mode != AXIS_SYMLOG)
        return;
    rep_buf_printf(b, "S%c = %.6g\nset nonlinear %c via asinh(%c/S%c) "
                   "inverse S%c*sinh(%c)\nset %ctics (\"0\" 0",
                   ax, a->s, ax, ax, ax, ax, ax, ax);
    int k0 = (int)ceil(log10(a->s * 3)), k1 = (int)ceil(log10(fmax(
        fabs(a->lo), fabs(a->hi))));
    int step = k1 - k0 > 6 ? 2 : 1;
    for (int k = k1; k >= k0; k -= step) {
        double t = pow(10, k);
        if (t <= a->hi * 3)
            rep_buf_printf(b, ", \"10^{%d}\" %.17g", k, t);
        if (-t >= a->lo * 3)
            rep_buf_printf(b, ", \"-10^{%d}\" %.17g", k, -t);
    }
    rep_buf_printf(b, ")\n");
}

static double ax_fwd(const axis *a, double v)
{
    return a->mode == AXIS_LOG ? log10(v)
           : a->mode == AXIS_SYMLOG ? asinh(v / a->s) : v;
}

static double ax_inv(const axis *a, double t)
{
    return a->mode == AXIS_LOG ? pow(10, t)
           : a->mode == AXIS_SYMLOG ? a->s * sinh(t) : t;
}

/* The data range with 5% of room on each side, measured along the axis
 * as drawn (so that a log axis gets decades of room, not units). */
static void axis_range(rep_buf *b, char ax, const axis *a)
{
    if (!(a->lo <= a->hi) || !isfinite(a->lo) || !isfinite(a->hi))
        return;
    double t0 = ax_fwd(a, a->lo), t1 = ax_fwd(a, a->hi);
    double pad = t1 > t0 ? 0.05 * (t1 - t0) : 0.5;
    rep_buf_printf(b, "set %crange [%.17g:%.17g]\n", ax, ax_inv(a, t0 - pad),
                   ax_inv(a, t1 + pad));
}

/* Dashed lines at x = 0 and/or y = 0, drawn as arrows: gnuplot's zero
 * axes ignore a nonlinear mapping. */
static void zero_lines(rep_buf *b, bool x0, bool y0)
{
    if (x0)
        rep_buf_printf(b, "set arrow from first 0, graph 0 to first 0, graph "
                       "1 nohead dt 2 lw 1.5 lc rgb \"#555555\" back\n");
    if (y0)
        rep_buf_printf(b, "set arrow from graph 0, first 0 to graph 1, first "
                       "0 nohead dt 2 lw 1.5 lc rgb \"#555555\" back\n");
}

/* --- data ------------------------------------------------------------ */

typedef double (*getter)(const rep_run *r);

static double g_gap(const rep_run *r) { return r->gap; }
static double g_cert(const rep_run *r) { return r->cert; }
static double g_cert_grad(const rep_run *r) { return r->cert_grad; }
static double g_hess(const rep_run *r) { return r->hess_min; }
static double g_wnorm(const rep_run *r) { return r->w_norm; }
static double g_steps(const rep_run *r) { return (double)r->steps; }
static double g_excess(const rep_run *r)
{
    return r->regret_lhs - r->regret_lin;
}
static double g_bound(const rep_run *r)
{
    return r->regret_bound - r->regret_lin;
}

/* The gradient in the output weights and V (u and v for decoupled): the
 * part docs/theory.md §6.4's certificate depends on. */
static double g_grad_wv(const rep_run *r)
{
    return isnan(r->grad_out) ? NAN
           : hypot(r->grad_out, isnan(r->grad_v) ? 0 : r->grad_v);
}

static bool is_done(const rep_run *r)
{
    return strcmp(r->status, "done") == 0;
}

static const char *arch_color(const char *arch)
{
    static const char *const colors[] = {
        "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#7f7f7f", "#ff7f0e",
    };
    int r = rep_arch_rank(arch);
    return colors[r < 5 ? r : 5];
}

static int cmp_arch(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int c = rep_arch_rank(x) - rep_arch_rank(y);
    return c ? c : strcmp(x, y);
}

/* The architectures of done runs where x and y are finite, in order. */
static int archs_with(const rep_job *j, getter x, getter y,
                      const char **out)
{
    int n = 0;
    for (size_t i = 0; i < j->nruns; i++) {
        const rep_run *r = &j->runs[i];
        if (!is_done(r) || !isfinite(x(r)) || !isfinite(y(r)))
            continue;
        int k = 0;
        while (k < n && strcmp(out[k], r->arch))
            k++;
        if (k == n && n < FIG_MAX_ARCHS)
            out[n++] = r->arch;
    }
    qsort(out, (size_t)n, sizeof *out, cmp_arch);
    return n;
}

/* Finite (x, y) of done runs of arch into a datablock named $name; the
 * values are also appended to xs/ys (for axis_pick) when given. */
static long points_block(rep_buf *d, const char *name, const rep_job *j,
                         const char *arch, getter x, getter y)
{
    long n = 0;
    rep_buf_printf(d, "$%s << EOD\n", name);
    for (size_t i = 0; i < j->nruns; i++) {
        const rep_run *r = &j->runs[i];
        if (!is_done(r) || strcmp(r->arch, arch) || !isfinite(x(r)) ||
            !isfinite(y(r)))
            continue;
        rep_buf_printf(d, "%.17g %.17g %lld\n", x(r), y(r), r->run_id);
        n++;
    }
    rep_buf_printf(d, "EOD\n");
    return n;
}

/* Values of g over done runs where both g and other are finite. */
static double *values(const rep_job *j, getter g, getter other, size_t *n)
{
    double *v = malloc((j->nruns + 1) * sizeof *v);
    *n = 0;
    for (size_t i = 0; v && i < j->nruns; i++) {
        const rep_run *r = &j->runs[i];
        if (is_done(r) && isfinite(g(r)) && isfinite(other(r)))
            v[(*n)++] = g(r);
    }
    return v;
}

static axis axis_of(const rep_job *j, getter g, getter other,
                    bool prefer_linear)
{
    size_t n;
    double *v = values(j, g, other, &n);
    axis a = axis_pick(v ? v : (double[1]){0}, v ? n : 0, prefer_linear);
    free(v);
    return a;
}

/* --- writing a figure ------------------------------------------------ */

typedef rep_fig_out fig_out;

static const char style[] =
    "set border lw 1 lc rgb \"#444444\"\n"
    "set grid lc rgb \"#e4e4e4\" lw 1\n"
    "set key opaque box lc rgb \"#cccccc\" spacing 1.1\n"
    "set tics nomirror\n"
    "set samples 400\n";

/* Writes DIR/NAME.gp (data, then body for SVG and for PNG), runs it and
 * records the figure. */
static int draw(fig_out *o, const char *name, const char *title,
                const char *caption, const rep_buf *data,
                const rep_buf *body, int panels)
{
    char path[4200];
    int w = FIG_PANEL_W * (panels > 0 ? panels : 1), h = FIG_H;
    if (data->oom || body->oom) {
        snprintf(o->err, o->errlen, "out of memory drawing %s", name);
        return -ENOMEM;
    }
    snprintf(path, sizeof path, "%s/%s.gp", o->dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(o->err, o->errlen, "cannot write %s: %s", path,
                 strerror(errno));
        return -errno;
    }
    fprintf(f, "# %s — written by `resweep report`; run `gnuplot %s.gp` "
            "here to redraw %s.svg and %s.png.\n%s",
            title, name, name, name, data->p ? data->p : "");
    fprintf(f, "set terminal svg size %d,%d dynamic enhanced font "
            "\"sans,12\" background \"#ffffff\"\nset output \"%s.svg\"\n"
            "%s%s\nunset output\n", w, h, name, style, body->p);
    fprintf(f, "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
            "  set terminal pngcairo size %d,%d enhanced font \"sans,10\" "
            "background \"#ffffff\"\n} else {\n  set terminal png size %d,%d "
            "background \"#ffffff\"\n}\nset output \"%s.png\"\n%s%s\n"
            "unset output\n", w, h, w, h, name, style, body->p);
    bool bad = ferror(f) != 0;
    if ((fclose(f) != 0) || bad) {
        snprintf(o->err, o->errlen, "cannot write %s: %s", path,
                 strerror(errno));
        return -EIO;
    }
    int rc = o->draw ? run_gnuplot(o->dir, name, o->err, o->errlen) : 0;
    if (rc < 0 || *o->nfigs >= REP_MAX_FIGS)
        return rc;
    rep_fig *fig = &o->figs[(*o->nfigs)++];
    fig->drawn = o->draw;
    snprintf(fig->name, sizeof fig->name, "%s", name);
    snprintf(fig->title, sizeof fig->title, "%s", title);
    snprintf(fig->caption, sizeof fig->caption, "%s", caption);
    return 0;
}

int rep_fig_draw(rep_fig_out *o, const char *name, const char *title,
                 const char *caption, const rep_buf *data,
                 const rep_buf *body, int panels)
{
    return draw(o, name, title, caption, data, body, panels);
}

const char *rep_arch_color(const char *arch)
{
    return arch_color(arch);
}

/* --- gap against depth ----------------------------------------------- */

typedef struct depth_cat {
    int blocks, unit_depth;
} depth_cat;

static int cmp_cat(const void *a, const void *b)
{
    const depth_cat *x = a, *y = b;
    int c = (x->blocks > y->blocks) - (x->blocks < y->blocks);
    return c ? c : (x->unit_depth > y->unit_depth) -
                   (x->unit_depth < y->unit_depth);
}

/* Distinct (blocks, unit_depth) of done runs with a gap, sorted. */
static int depth_cats(const rep_job *j, depth_cat *out, int max)
{
    int n = 0;
    for (size_t i = 0; i < j->nruns; i++) {
        const rep_run *r = &j->runs[i];
        if (!is_done(r) || isnan(r->gap))
            continue;
        int k = 0;
        while (k < n && (out[k].blocks != r->blocks ||
                         out[k].unit_depth != r->unit_depth))
            k++;
        if (k == n && n < max)
            out[n++] = (depth_cat){r->blocks, r->unit_depth};
    }
    qsort(out, (size_t)n, sizeof *out, cmp_cat);
    return n;
}

#define FIG_MAX_CATS 64

/* The gaps of the done runs of one arch and depth as datablock $G<k>;
 * returns how many. */
static long box_block(rep_buf *d, int k, const rep_job *j, const char *arch,
                      const depth_cat *cat)
{
    long n = 0;
    rep_buf_printf(d, "$G%d << EOD\n", k);
    for (size_t i = 0; i < j->nruns; i++) {
        const rep_run *r = &j->runs[i];
        if (is_done(r) && !isnan(r->gap) && !strcmp(r->arch, arch) &&
            r->blocks == cat->blocks && r->unit_depth == cat->unit_depth) {
            rep_buf_printf(d, "%.17g\n", r->gap);
            n++;
        }
    }
    rep_buf_printf(d, "EOD\n");
    return n;
}

static int fig_gap_depth(fig_out *o, const rep_job *j)
{
    depth_cat cats[FIG_MAX_CATS];
    const char *archs[FIG_MAX_ARCHS];
    int nc = depth_cats(j, cats, FIG_MAX_CATS);
    int na = archs_with(j, g_gap, g_gap, archs);
    if (nc == 0 || na == 0)
        return 0;
    rep_buf data = {0}, body = {0};
    axis ay = axis_of(j, g_gap, g_gap, true);
    bool blocks = j->vary_blocks || cats[nc - 1].blocks > 1;
    double w = 0.8 / na;
    rep_buf_printf(&body, "reset\nset style boxplot outliers pointtype 7\n"
                   "set style fill solid 0.35 border\nset boxwidth %g "
                   "absolute\nset pointsize 0.5\nset xrange [0.4:%g]\n"
                   "set key outside right top\nset xtics (",
                   w * 0.85, nc + 0.6);
    for (int c = 0; c < nc; c++) {
        if (blocks)
            rep_buf_printf(&body, "%s\"%d×%d\" %d", c ? ", " : "",
                           cats[c].blocks, cats[c].unit_depth, c + 1);
        else
            rep_buf_printf(&body, "%s\"%d\" %d", c ? ", " : "",
                           cats[c].unit_depth, c + 1);
    }
    rep_buf_printf(&body, ")\nset xlabel \"%s\"\n", blocks
                   ? "depth: blocks × unit depth L" : "unit depth L");
    axis_emit(&body, 'y', &ay, "gap = F − F_{lin}^*");
    zero_lines(&body, false, true);
    rep_buf_printf(&body, "plot ");
    int k = 0, terms = 0;
    for (int a = 0; a < na; a++) {
        bool titled = false;
        for (int c = 0; c < nc; c++, k++) {
            if (box_block(&data, k, j, archs[a], &cats[c]) == 0)
                continue;
            double x = c + 1 + (a - (na - 1) / 2.0) * w;
            rep_buf_printf(&body, "%s$G%d using (%g):1 with boxplot lc rgb "
                           "\"%s\" ", terms++ ? ", \\\n  " : "", k, x,
                           arch_color(archs[a]));
            if (titled)
                rep_buf_printf(&body, "notitle");
            else
                rep_buf_printf(&body, "title \"%s\" noenhanced", archs[a]);
            titled = true;
        }
    }
    rep_buf_printf(&body, "\n");
    char caption[512];
    snprintf(caption, sizeof caption, "The gap `F − F_lin*` at the end of "
             "training, one box per architecture and depth (median, "
             "quartiles, whiskers to 1.5 IQR, outliers as dots; a group of "
             "fewer than 4 runs is drawn as its points), over the "
             "done runs%s. Below the dashed line the network beats the best "
             "linear predictor on the training set; the theorem says a "
             "`resnet` at a local minimum cannot end above it.",
             j->vary_dist || j->vary_loss || j->nextra
             ? " pooled over the other settings" : "");
    int rc = draw(o, "gap_depth", "Gap against depth", caption, &data, &body,
                  nc > 8 ? 2 : 1);
    rep_buf_free(&data);
    rep_buf_free(&body);
    return rc;
}

/* --- training curves -------------------------------------------------- */

/* Appends up to REP_CURVES_PER_GROUP curves per depth of arch to d as one
 * datablock, a blank line between runs; column 3 is the depth's index.
 * Returns the number of curves, or -1 on a database error. */
static long curves_block(rep_buf *d, int panel, sqlite3 *db,
                         const rep_job *j, const char *arch,
                         const depth_cat *cats, int nc, bool *all_pos)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT step, train_loss FROM curves WHERE "
                           "run_id = ? AND train_loss IS NOT NULL ORDER BY "
                           "step", -1, &st, NULL) != SQLITE_OK)
        return -1;
    long n = 0;
    rep_buf_printf(d, "$C%d << EOD\n", panel);
    for (int c = 0; c < nc; c++) {
        int taken = 0;
        for (size_t i = 0; i < j->nruns && taken < REP_CURVES_PER_GROUP;
             i++) {
            const rep_run *r = &j->runs[i];
            if (strcmp(r->arch, arch) || r->blocks != cats[c].blocks ||
                r->unit_depth != cats[c].unit_depth ||
                (strcmp(r->status, "done") && strcmp(r->status, "diverged")))
                continue;
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, r->run_id);
            int pts = 0;
            while (sqlite3_step(st) == SQLITE_ROW) {
                double loss = sqlite3_column_double(st, 1);
                if (!isfinite(loss))
                    continue;
                *all_pos = *all_pos && loss > 0;
                rep_buf_printf(d, "%lld %.10g %d\n",
                               (long long)sqlite3_column_int64(st, 0) + 1,
                               loss, c);
                pts++;
            }
            if (pts) {
                rep_buf_printf(d, "\n");
                taken++;
                n++;
            }
        }
    }
    rep_buf_printf(d, "EOD\n");
    sqlite3_finalize(st);
    return n;
}

static void curve_palette(rep_buf *b, const depth_cat *cats, int nc,
                          bool blocks)
{
    rep_buf_printf(b, "set palette defined (0 \"#440154\", 1 \"#3b528b\", "
                   "2 \"#21918c\", 3 \"#5ec962\", 4 \"#e2c800\")\n"
                   "set cbrange [%g:%g]\nset cblabel \"%s\"\nset cbtics (",
                   nc > 1 ? 0.0 : -0.5, nc > 1 ? nc - 1.0 : 0.5,
                   blocks ? "blocks × L" : "L");
    for (int c = 0; c < nc; c++) {
        if (blocks)
            rep_buf_printf(b, "%s\"%d×%d\" %d", c ? ", " : "",
                           cats[c].blocks, cats[c].unit_depth, c);
        else
            rep_buf_printf(b, "%s\"%d\" %d", c ? ", " : "",
                           cats[c].unit_depth, c);
    }
    rep_buf_printf(b, ")\n");
}

static int fig_curves(fig_out *o, const rep_job *j, sqlite3 *db)
{
    depth_cat cats[FIG_MAX_CATS];
    const char *archs[FIG_MAX_ARCHS];
    int nc = depth_cats(j, cats, FIG_MAX_CATS);
    int na = archs_with(j, g_gap, g_gap, archs);
    rep_buf data = {0}, body = {0};
    bool all_pos = true, blocks = nc && (j->vary_blocks ||
                                         cats[nc - 1].blocks > 1);
    int panels = 0;
    const char *shown[FIG_MAX_PANELS];
    for (int a = 0; a < na && panels < FIG_MAX_PANELS; a++) {
        long n = curves_block(&data, panels, db, j, archs[a], cats, nc,
                              &all_pos);
        if (n < 0) {
            snprintf(o->err, o->errlen, "reading curves: %s",
                     sqlite3_errmsg(db));
            rep_buf_free(&data);
            return -EIO;
        }
        if (n > 0)
            shown[panels++] = archs[a];
    }
    int rc = 0;
    if (panels == 0)
        goto out;
    rep_buf_printf(&body, "reset\nset multiplot layout 1,%d\n"
                   "set logscale x\nset format x \"10^{%%L}\"\n"
                   "set xlabel \"step + 1\"\nset ylabel \"training loss F\"\n",
                   panels);
    if (all_pos)
        rep_buf_printf(&body, "set logscale y\nset format y \"10^{%%L}\"\n");
    curve_palette(&body, cats, nc, blocks);
    for (int p = 0; p < panels; p++)
        rep_buf_printf(&body, "set title \"%s\" noenhanced\n%splot $C%d using 1:2:3 "
                       "with lines lc palette z lw 1.2 notitle\n", shown[p],
                       p < panels - 1 ? "unset colorbox\n" : "set colorbox\n",
                       p);
    rep_buf_printf(&body, "unset multiplot\n");
    char caption[512];
    snprintf(caption, sizeof caption, "Training loss against step, "
             "coloured by depth; up to %d runs per architecture and depth "
             "(the first by run id)%s.", REP_CURVES_PER_GROUP,
             na > FIG_MAX_PANELS ? "; the first architectures only" : "");
    rc = draw(o, "curves", "Training curves", caption, &data, &body, panels);
out:
    rep_buf_free(&data);
    rep_buf_free(&body);
    return rc;
}

/* --- scatter plots ---------------------------------------------------- */

/* Axis settings of a scatter panel (after whatever a previous panel
 * set). */
static void scatter_axes(rep_buf *body, const axis *ax, const axis *ay,
                         const char *xl, const char *yl)
{
    rep_buf_printf(body, "unset logscale\nunset nonlinear x\n"
                   "unset nonlinear y\nunset arrow\nset xtics autofreq\n"
                   "set ytics autofreq\nset format x \"%%g\"\n"
                   "set format y \"%%g\"\nset key outside right top\n");
    axis_emit(body, 'x', ax, xl);
    axis_emit(body, 'y', ay, yl);
    axis_range(body, 'x', ax);
    axis_range(body, 'y', ay);
}

/* Plot terms of y against x, one colour per architecture, datablocks
 * named $<tag><k>; *terms counts the terms of the plot command so far.
 * pt is gnuplot's point type (7 filled, 6 open circle). */
static void scatter_terms(rep_buf *data, rep_buf *body, const rep_job *j,
                          const char *tag, getter x, getter y, int pt,
                          const char *suffix, int *terms)
{
    const char *archs[FIG_MAX_ARCHS];
    int na = archs_with(j, x, y, archs);
    for (int a = 0; a < na; a++) {
        char name[32];
        snprintf(name, sizeof name, "%s%d", tag, a);
        points_block(data, name, j, archs[a], x, y);
        rep_buf_printf(body, "%s$%s using 1:2 with points pt %d ps 0.6 "
                       "lc rgb \"%s\" title \"%s%s\" noenhanced",
                       (*terms)++ ? ", \\\n  " : "plot ", name, pt,
                       arch_color(archs[a]), archs[a], suffix);
    }
}

/* One scatter panel of y against x; diag adds the line y = x. */
static void scatter(rep_buf *data, rep_buf *body, const rep_job *j,
                    const char *tag, getter x, getter y, const axis *ax,
                    const axis *ay, const char *xl, const char *yl,
                    bool diag)
{
    int terms = 0;
    scatter_axes(body, ax, ay, xl, yl);
    scatter_terms(data, body, j, tag, x, y, 7, "", &terms);
    if (diag)
        rep_buf_printf(body, ", \\\n  x with lines dt 2 lw 1.5 lc rgb "
                       "\"#333333\" title \"y = x\"");
    rep_buf_printf(body, "\n");
}

static long count_finite(const rep_job *j, getter x, getter y)
{
    long n = 0;
    for (size_t i = 0; i < j->nruns; i++)
        n += is_done(&j->runs[i]) && isfinite(x(&j->runs[i])) &&
             isfinite(y(&j->runs[i]));
    return n;
}

static int fig_gap_cert(fig_out *o, const rep_job *j)
{
    long nc = count_finite(j, g_cert, g_gap);
    long ng = count_finite(j, g_cert_grad, g_gap);
    if (nc == 0)
        return 0;
    rep_buf data = {0}, body = {0};
    axis a = axis_join(axis_of(j, g_cert, g_gap, false),
                       axis_of(j, g_gap, g_cert, false));
    if (a.mode == AXIS_LINEAR && a.lo < 0 && a.hi > 0)
        a.mode = AXIS_SYMLOG;   /* both signs: gaps near 0 matter */
    rep_buf_printf(&body, "reset\nset multiplot layout 1,%d\n", ng ? 2 : 1);
    scatter(&data, &body, j, "A", g_cert, g_gap, &a, &a,
            "cert = c − ⟨a, u^*⟩", "gap = F − F_{lin}^*", true);
    if (ng) {
        axis b = axis_join(axis_of(j, g_cert_grad, g_gap, false),
                           axis_of(j, g_gap, g_cert_grad, false));
        if (b.mode != AXIS_SYMLOG && b.lo <= 0)
            b.mode = AXIS_SYMLOG;
        scatter(&data, &body, j, "B", g_cert_grad, g_gap, &b, &b,
                "cert_{grad} (gradient-norm bound)", "gap = F − F_{lin}^*",
                true);
    }
    rep_buf_printf(&body, "unset multiplot\n");
    char caption[512];
    snprintf(caption, sizeof caption, "Gap against its certificate, one "
             "point per done run%s. docs/theory.md §6.4: every point lies on or below "
             "the dashed diagonal; at a stationary point of a `resnet` with "
             "w ≠ 0 the certificate is 0, so the gap is ≤ 0.%s",
             ng ? " (left: cert; right: the gradient-norm bound cert_grad, "
             "where defined)" : "",
             a.mode == AXIS_SYMLOG ? " Axes are symmetric-logarithmic: "
             "linear near 0, logarithmic beyond." : "");
    int rc = draw(o, "gap_cert", "Gap against certificate", caption, &data,
                  &body, ng ? 2 : 1);
    rep_buf_free(&data);
    rep_buf_free(&body);
    return rc;
}

static int fig_gap_wnorm(fig_out *o, const rep_job *j)
{
    if (count_finite(j, g_wnorm, g_cert_grad) == 0)
        return 0;
    rep_buf data = {0}, body = {0};
    axis ax = axis_of(j, g_wnorm, g_gap, false);
    axis ay = axis_join(axis_of(j, g_gap, g_wnorm, false),
                        axis_of(j, g_cert_grad, g_wnorm, false));
    if (ay.mode != AXIS_SYMLOG && ay.lo <= 0)
        ay.mode = AXIS_SYMLOG;
    rep_buf_printf(&body, "reset\n");
    /* The gap as filled dots, cert_grad as open circles, one plot. */
    int terms = 0;
    scatter_axes(&body, &ax, &ay, "‖w‖", "gap (filled), cert_{grad} (open)");
    zero_lines(&body, false, true);
    scatter_terms(&data, &body, j, "W", g_wnorm, g_gap, 7, ": gap", &terms);
    scatter_terms(&data, &body, j, "V", g_wnorm, g_cert_grad, 6,
                  ": cert_grad", &terms);
    rep_buf_printf(&body, "\n");
    int rc = draw(o, "gap_wnorm", "Gap and gradient bound against ‖w‖",
                  "Gap (filled) and the gradient-norm bound cert_grad (open) "
                  "against the norm of the output weights w, for the runs "
                  "where cert_grad is defined. docs/theory.md §6.4: the bound "
                  "degrades like 1/‖w‖ as ‖w‖ → 0, where first-order "
                  "stationarity says nothing.", &data, &body, 1);
    rep_buf_free(&data);
    rep_buf_free(&body);
    return rc;
}

static int fig_hess_gap(fig_out *o, const rep_job *j)
{
    if (count_finite(j, g_gap, g_hess) == 0)
        return 0;
    rep_buf data = {0}, body = {0};
    axis ax = axis_of(j, g_gap, g_hess, false);
    axis ay = axis_of(j, g_hess, g_gap, false);
    if (ax.mode == AXIS_LOG)
        ax.mode = AXIS_SYMLOG;   /* keep gap 0 on the axis */
    int terms = 0;
    rep_buf_printf(&body, "reset\n");
    scatter_axes(&body, &ax, &ay, "gap = F − F_{lin}^*",
                 "λ_{min} of the Hessian");
    zero_lines(&body, true, true);
    scatter_terms(&data, &body, j, "H", g_gap, g_hess, 7, "", &terms);
    rep_buf_printf(&body, "\n");
    long open = 0;
    for (size_t i = 0; i < j->nruns; i++)
        open += rep_hess_open(&j->runs[i]);
    rep_buf cap = {0};
    rep_buf_printf(&cap, "The smallest eigenvalue of the Hessian of F at the "
                   "end point (Lanczos) against the gap, one point per done "
                   "run. λmin < 0 (below the dashed line): the end point is "
                   "not a local minimum, so the theorem does not apply to "
                   "it; a saddle such as w = 0, V = 0 can sit above the "
                   "linear predictor.");
    if (open)
        rep_buf_printf(&cap, " %ld of the points are estimates that did not "
                       "converge: for them the smallest eigenvalue is only "
                       "known to be at most the value drawn (Curvature "
                       "estimates).", open);
    int rc = cap.oom ? -ENOMEM
                     : draw(o, "hess_gap", "Smallest Hessian eigenvalue "
                            "against gap", cap.p, &data, &body, 1);
    if (cap.oom)
        snprintf(o->err, o->errlen, "out of memory drawing hess_gap");
    rep_buf_free(&cap);
    rep_buf_free(&data);
    rep_buf_free(&body);
    return rc;
}

/* Drawn when the job's end points span gradient norms (early stopping, a
 * frozen unit, saddles): there the certificate's dependence on the
 * gradient is visible. */
static int fig_cert_grad(fig_out *o, const rep_job *j)
{
    axis ax = axis_of(j, g_grad_wv, g_cert, false);
    if (count_finite(j, g_grad_wv, g_cert) < 2 || !(ax.hi > 100 * ax.lo))
        return 0;
    rep_buf data = {0}, body = {0};
    axis ay = axis_of(j, g_cert, g_grad_wv, false);
    ax.mode = ax.lo > 0 ? AXIS_LOG : AXIS_SYMLOG;
    if (ax.mode == AXIS_SYMLOG)
        ax.s = fmax(ax.hi * 1e-6, 1e-300);
    if (ay.mode != AXIS_SYMLOG && ay.lo < 0 && ay.hi > 0)
        ay.mode = AXIS_SYMLOG;
    int terms = 0;
    rep_buf_printf(&body, "reset\n");
    scatter_axes(&body, &ax, &ay, "‖(∇_w F, ∇_V F)‖",
                 "cert = c − ⟨a, u^*⟩");
    zero_lines(&body, false, true);
    scatter_terms(&data, &body, j, "G", g_grad_wv, g_cert, 7, "", &terms);
    rep_buf_printf(&body, "\n");
    int rc = draw(o, "cert_grad", "Certificate against gradient norm",
                  "The certificate at the end point against the norm of the "
                  "gradient in the output weights and V (in u and v for "
                  "`decoupled`), one point per done run. docs/theory.md §6.4: for a "
                  "`resnet`, `cert = c − ⟨a, u*⟩` is built from these "
                  "gradients and goes to 0 with them (when w ≠ 0), so a "
                  "stationary point cannot be worse than the best linear "
                  "predictor; for `plain` there is no such link.",
                  &data, &body, 1);
    rep_buf_free(&data);
    rep_buf_free(&body);
    return rc;
}

/* --- SGD -------------------------------------------------------------- */

static bool is_sgd(const rep_run *r)
{
    return !isnan(r->regret_lhs) && !isnan(r->regret_lin);
}

/* Panels of the SGD figure: one per (dist, loss, target) the SGD runs
 * vary over, when there are few; else one. target is the first extra
 * column named "target", if any. */
static int sgd_panel_of(const rep_run *r, int te,
                        const rep_run **firsts, int *n)
{
    for (int p = 0; p < *n; p++) {
        const rep_run *f = firsts[p];
        if (!strcmp(f->dist, r->dist) && !strcmp(f->loss, r->loss) &&
            (te < 0 || !strcmp(f->extra[te].str, r->extra[te].str)))
            return p;
    }
    if (*n == FIG_MAX_PANELS)
        return -1;
    firsts[*n] = r;
    return (*n)++;
}

/* (x, y) pairs by x, then y. */
static int cmp_pt(const void *a, const void *b)
{
    const double *p = a, *q = b;
    int c = (p[0] > q[0]) - (p[0] < q[0]);
    return c ? c : (p[1] > q[1]) - (p[1] < q[1]);
}

/* Median of y per distinct x over pts[0..n-1] (pairs, sorted in place),
 * as "x median" lines. */
static void median_lines(rep_buf *d, double *pts, size_t n)
{
    qsort(pts, n, 2 * sizeof *pts, cmp_pt);
    for (size_t i = 0, e; i < n; i = e) {
        for (e = i; e < n && pts[2 * e] == pts[2 * i]; e++)
            ;
        size_t m = e - i, mid = i + m / 2;
        double med = m % 2 ? pts[2 * mid + 1]
                           : (pts[2 * mid - 1] + pts[2 * mid + 1]) / 2;
        rep_buf_printf(d, "%.17g %.17g\n", pts[2 * i], med);
    }
}

/* Datablocks for one panel and arch: runs ($S), medians ($M), bound
 * medians ($B). Returns the number of runs. */
static long sgd_blocks(rep_buf *d, const rep_job *j, int panel,
                       const int *panel_of, const char *arch, int a,
                       double *pts, long *nbound)
{
    size_t n = 0, nb = 0;
    rep_buf_printf(d, "$S%d_%d << EOD\n", panel, a);
    for (size_t i = 0; i < j->nruns; i++) {
        const rep_run *r = &j->runs[i];
        if (panel_of[i] != panel || strcmp(r->arch, arch) ||
            !isfinite(g_excess(r)))
            continue;
        rep_buf_printf(d, "%lld %.17g %lld\n", r->steps, g_excess(r),
                       r->run_id);
        pts[2 * n] = (double)r->steps;
        pts[2 * n + 1] = g_excess(r);
        n++;
    }
    rep_buf_printf(d, "EOD\n$M%d_%d << EOD\n", panel, a);
    median_lines(d, pts, n);
    rep_buf_printf(d, "EOD\n$B%d_%d << EOD\n", panel, a);
    for (size_t i = 0; i < j->nruns; i++) {
        const rep_run *r = &j->runs[i];
        if (panel_of[i] == panel && !strcmp(r->arch, arch) &&
            isfinite(g_bound(r))) {
            pts[2 * nb] = (double)r->steps;
            pts[2 * nb + 1] = g_bound(r);
            nb++;
        }
    }
    median_lines(d, pts, nb);
    rep_buf_printf(d, "EOD\n");
    *nbound = (long)nb;
    return (long)n;
}

static void sgd_panel_title(rep_buf *b, const rep_job *j, const rep_run *f,
                            int te, int npanels)
{
    if (npanels < 2) {
        rep_buf_printf(b, "unset title\n");
        return;
    }
    rep_buf_printf(b, "set title \"%s%s%s%s%s\" noenhanced\n", j->vary_dist ? f->dist
                   : "", j->vary_dist ? " " : "", j->vary_loss ? f->loss : "",
                   j->vary_loss ? " " : "", te >= 0 ? f->extra[te].str : "");
}

static int sgd_plot(rep_buf *data, rep_buf *body, const rep_job *j,
                    const int *panel_of, const rep_run **firsts,
                    int npanels, int te)
{
    const char *archs[FIG_MAX_ARCHS];
    int na = archs_with(j, g_steps, g_excess, archs);
    double *pts = malloc((2 * j->nruns + 2) * sizeof *pts);
    if (!pts)
        return -ENOMEM;
    for (int p = 0; p < npanels; p++) {
        sgd_panel_title(body, j, firsts[p], te, npanels);
        rep_buf_printf(body, "plot ");
        int terms = 0;
        for (int a = 0; a < na; a++) {
            long nb, n = sgd_blocks(data, j, p, panel_of, archs[a], a, pts,
                                    &nb);
            const char *c = arch_color(archs[a]);
            if (n == 0)
                continue;
            rep_buf_printf(body, "%s$S%d_%d using 1:2 with points pt 7 ps "
                           "0.5 lc rgb \"%s\" notitle, \\\n  $M%d_%d using "
                           "1:2 with linespoints pt 7 lw 2 lc rgb \"%s\" "
                           "title \"%s: median excess\" noenhanced",
                           terms++ ? ", \\\n  " : "", p, a, c, p, a, c,
                           archs[a]);
            if (nb)
                rep_buf_printf(body, ", \\\n  $B%d_%d using 1:2 with lines "
                               "dt 2 lw 2 lc rgb \"%s\" title \"%s: §7 "
                               "bound\" noenhanced", p, a, c, archs[a]);
        }
        rep_buf_printf(body, "%s\n", terms ? "" : "NaN notitle");
    }
    free(pts);
    return 0;
}

static int fig_sgd(fig_out *o, const rep_job *j)
{
    if (count_finite(j, g_steps, g_excess) == 0)
        return 0;
    int te = -1;
    for (int e = 0; e < j->nextra; e++)
        if (!strcmp(j->extra_names[e], "target"))
            te = e;
    int *panel_of = malloc((j->nruns + 1) * sizeof *panel_of);
    const rep_run *firsts[FIG_MAX_PANELS];
    int np = 0;
    if (!panel_of) {
        snprintf(o->err, o->errlen, "out of memory");
        return -ENOMEM;
    }
    bool pooled = false;
    for (size_t i = 0; i < j->nruns; i++) {
        panel_of[i] = is_sgd(&j->runs[i])
            ? sgd_panel_of(&j->runs[i], te, firsts, &np) : -1;
        pooled = pooled || (is_sgd(&j->runs[i]) && panel_of[i] < 0);
    }
    if (pooled)   /* too many combinations for panels: one plot */
        for (size_t i = 0; i < j->nruns; i++)
            panel_of[i] = is_sgd(&j->runs[i]) ? 0 : -1;
    np = pooled ? 1 : np;
    rep_buf data = {0}, body = {0};
    axis ay = axis_join(axis_of(j, g_excess, g_steps, false),
                        axis_of(j, g_bound, g_steps, false));
    if (ay.mode == AXIS_LINEAR)
        ay.mode = ay.lo > 0 ? AXIS_LOG : AXIS_SYMLOG;
    rep_buf_printf(&body, "reset\nset multiplot layout 1,%d\nset key "
                   "bottom left\nset logscale x\nset format x "
                   "\"10^{%%L}\"\n", np);
    axis_emit(&body, 'y', &ay, "(1/T) Σ f_t(z_t) − (1/T) Σ l(u^{*T}x_t; y_t)");
    axis_range(&body, 'y', &ay);
    zero_lines(&body, false, ay.mode != AXIS_LOG);
    rep_buf_printf(&body, "set xlabel \"T (SGD steps)\"\n");
    int rc = sgd_plot(&data, &body, j, panel_of, firsts, np, te);
    free(panel_of);
    rep_buf_printf(&body, "unset multiplot\n");
    char caption[640];
    snprintf(caption, sizeof caption, "SGD: average online loss minus the "
             "best linear predictor's on the same samples, against the number "
             "of steps T (dots: runs; solid: median per T). Dashed: the "
             "median of the docs/theory.md §7 bound `‖z_1 − z*‖²/(2ηT) + (η/2T) Σ "
             "‖g_t‖²`, proven for `decoupled` with a constant step; with "
             "η = c/√T it falls like 1/√T.%s",
             ay.mode == AXIS_SYMLOG ? " The y axis is symmetric-logarithmic "
             "(negative: the network beat the linear predictor)." : "");
    if (rc == 0)
        rc = draw(o, "sgd", "SGD excess loss against T", caption, &data,
                  &body, np);
    else
        snprintf(o->err, o->errlen, "out of memory");
    rep_buf_free(&data);
    rep_buf_free(&body);
    return rc;
}

/* --- all of them ----------------------------------------------------- */

int rep_figures(const rep_job *j, sqlite3 *db, const char *dir, bool draw,
                rep_fig *figs, int *nfigs, char *err, size_t errlen)
{
    fig_out o = {dir, draw, figs, nfigs, err, errlen};
    *nfigs = 0;
    int rc = fig_gap_depth(&o, j);
    if (rc == 0)
        rc = fig_curves(&o, j, db);
    if (rc == 0)
        rc = fig_gap_cert(&o, j);
    if (rc == 0)
        rc = fig_cert_grad(&o, j);
    if (rc == 0)
        rc = fig_gap_wnorm(&o, j);
    if (rc == 0)
        rc = fig_sgd(&o, j);
    if (rc == 0)
        rc = fig_hess_gap(&o, j);
    return rc;
}
