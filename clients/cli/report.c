/* report.c — `resweep report JOB [--out DIR] [--db PATH]` (issue 6).
 *
 * Reads one job from the database, read-only and in one read transaction
 * (a consistent snapshot while the daemon writes), and writes DIR/report.md
 * and DIR/report.html with the tables, an overview generated from the
 * numbers, and the figures of report_fig.c. What the job varies decides
 * which columns, tables and figures appear, so a user's own sweep gets a
 * sensible report too.
 *
 * The group tables use the definitions of schema/001_init.sql's
 * gap_summary (states counted over all runs; gap statistics over the runs
 * that are done with a gap; quartiles by linear interpolation, numpy's
 * default), so the numbers equal the view's (tests/integration/
 * test_report.sh checks it).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "consts.h"
#include "cli.h"
#include "err.h"
#include "paths.h"
#include "report.h"

#define REP_ERR_LEN         (2 * PATHS_MAX + ERR_LEN)
#define REP_SPEC_MAX        8000   /* bytes of the job spec quoted */
#define REP_EXTREMES        5      /* best and worst runs listed */
#define REP_VALUES_SHOWN    8      /* values of a varied column named */

/* Columns a job may vary besides the table keys and the seed. */
static const char *const extra_cols[] = {
    "target", "width", "activation", "init", "gain", "init_scale", "source",
    "d", "n", "n_test", "noise", "flip", "intercept", "stream", "optimizer",
    "lr", "theta_lr", "schedule", "steps", "batch", "tol", "precision",
};
#define N_EXTRA_COLS (sizeof extra_cols / sizeof extra_cols[0])

static double col_num(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
               ? NAN : sqlite3_column_double(st, i);
}

static void col_str(sqlite3_stmt *st, int i, char *buf, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(buf, len, "%s", t ? (const char *)t : "");
}

static void val_read(sqlite3_stmt *st, int i, rep_val *v)
{
    memset(v, 0, sizeof *v);
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL:
        v->null = true;
        snprintf(v->str, sizeof v->str, "null");
        break;
    case SQLITE_INTEGER:
        v->num = (double)sqlite3_column_int64(st, i);
        snprintf(v->str, sizeof v->str, "%lld",
                 (long long)sqlite3_column_int64(st, i));
        break;
    case SQLITE_FLOAT:
        v->num = sqlite3_column_double(st, i);
        rep_fmt(v->num, v->str, sizeof v->str);
        break;
    default:
        v->text = true;
        col_str(st, i, v->str, sizeof v->str);
        break;
    }
}

/* --- loading the job ------------------------------------------------- */

static int db_fail(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
    return -EIO;
}

/* Opens path read-only after checking that it exists and is a resweep
 * database, and starts the read transaction the whole report reads in. */
static int open_db(const char *path, sqlite3 **out, char *err, size_t errlen)
{
    struct stat sb;
    if (!path[0]) {
        snprintf(err, errlen, "no database: give --db PATH");
        return -EINVAL;
    }
    if (stat(path, &sb) != 0) {
        int e = errno;
        snprintf(err, errlen, "the database %s %s: give --db PATH, or start "
                 "resweepd once to create it", path,
                 e == ENOENT ? "does not exist" : strerror(e));
        return -e;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open the database %s: %s", path,
                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return -EIO;
    }
    sqlite3_busy_timeout(db, DB_BUSY_MS);
    rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE "
                            "type = 'view' AND name IN ('run_results', "
                            "'gap_summary', 'job_progress')", -1, &st, NULL);
    if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
        rc = db_fail(db, path, err, errlen);
    } else if (sqlite3_column_int(st, 0) != 3) {
        snprintf(err, errlen, "%s is not a resweep database (it lacks the "
                 "run_results, gap_summary and job_progress views)", path);
        rc = -EINVAL;
    } else if (sqlite3_exec(db, "PRAGMA query_only = 1; BEGIN", NULL, NULL,
                            NULL) != SQLITE_OK) {
        rc = db_fail(db, path, err, errlen);
    } else {
        rc = 0;
    }
    sqlite3_finalize(st);
    if (rc < 0) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

static int load_job(sqlite3 *db, const char *path, rep_job *j, char *err,
                    size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db,
        "SELECT p.name, j.spec, p.created_at, p.total, p.queued, p.running, "
        "p.done, p.failed, p.diverged, p.canceled FROM job_progress p "
        "JOIN jobs j USING (job_id) WHERE job_id = ?", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(db, path, err, errlen);
    sqlite3_bind_int64(st, 1, j->id);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        if (rc == SQLITE_DONE)
            snprintf(err, errlen, "job: there is no job %lld in %s", j->id,
                     path);
        else
            db_fail(db, path, err, errlen);
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? -ENOENT : -EIO;
    }
    const unsigned char *name = sqlite3_column_text(st, 0);
    const unsigned char *spec = sqlite3_column_text(st, 1);
    j->name = strdup(name ? (const char *)name : "");
    j->spec = strdup(spec ? (const char *)spec : "");
    j->created_at = sqlite3_column_double(st, 2);
    long *counts[] = {&j->total, &j->queued, &j->running, &j->done,
                      &j->failed, &j->diverged, &j->canceled};
    for (int i = 0; i < 7; i++)
        *counts[i] = (long)sqlite3_column_int64(st, 3 + i);
    sqlite3_finalize(st);
    if (!j->name || !j->spec) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

/* The distinct values of a varied column, for the "varies" sentence. */
static void describe_values(sqlite3 *db, long long job, const char *col,
                            rep_buf *b)
{
    char sql[256];
    sqlite3_stmt *st = NULL;
    snprintf(sql, sizeof sql, "SELECT DISTINCT %s FROM runs WHERE job_id = ? "
             "ORDER BY 1 LIMIT %d", col, REP_VALUES_SHOWN + 1);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, job);
    rep_buf_printf(b, "%s `%s` (", b->len ? "," : "", col);
    rep_val v;
    for (int n = 0; sqlite3_step(st) == SQLITE_ROW; n++) {
        val_read(st, 0, &v);
        rep_buf_printf(b, "%s%s", n ? ", " : "",
                       n < REP_VALUES_SHOWN ? v.str : "...");
    }
    rep_buf_printf(b, ")");
    sqlite3_finalize(st);
}

/* Whether runs has column col. A database an older resweepd made, and no
 * newer one has migrated since, lacks the later versions' columns
 * (runs.precision, schema/013_precision.sql); the report reads it all
 * the same, such a column varying in no job. */
static bool runs_has_column(sqlite3 *db, const char *col)
{
    sqlite3_stmt *st = NULL;
    bool has = sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_table_info"
                                  "('runs') WHERE name = ?", -1, &st,
                                  NULL) == SQLITE_OK &&
               sqlite3_bind_text(st, 1, col, -1, SQLITE_STATIC) == SQLITE_OK &&
               sqlite3_step(st) == SQLITE_ROW &&
               sqlite3_column_int64(st, 0) > 0;
    sqlite3_finalize(st);
    return has;
}

/* Which columns the job varies: the keys decide the table columns, the
 * others (extra) get a table of their own. */
static int load_variation(sqlite3 *db, const char *path, rep_job *j,
                          char *err, size_t errlen)
{
    static const char *const keys[] = {"arch", "blocks", "unit_depth",
                                       "dist", "loss"};
    rep_buf sql = {0}, varies = {0};
    rep_buf_printf(&sql, "SELECT count(DISTINCT seed)");
    for (size_t i = 0; i < 5; i++)
        rep_buf_printf(&sql, ", count(DISTINCT quote(%s))", keys[i]);
    for (size_t i = 0; i < N_EXTRA_COLS; i++) {
        if (runs_has_column(db, extra_cols[i]))
            rep_buf_printf(&sql, ", count(DISTINCT quote(%s))", extra_cols[i]);
        else
            rep_buf_printf(&sql, ", 1");
    }
    rep_buf_printf(&sql, " FROM runs WHERE job_id = ?");
    sqlite3_stmt *st = NULL;
    int rc = -ENOMEM;
    if (sql.oom)
        goto out;
    if (sqlite3_prepare_v2(db, sql.p, -1, &st, NULL) != SQLITE_OK ||
        (sqlite3_bind_int64(st, 1, j->id), sqlite3_step(st)) != SQLITE_ROW) {
        rc = db_fail(db, path, err, errlen);
        goto out;
    }
    j->nseeds = (long)sqlite3_column_int64(st, 0);
    bool *vary[] = {&j->vary_arch, &j->vary_blocks, &j->vary_depth,
                    &j->vary_dist, &j->vary_loss};
    for (int i = 0; i < 5; i++) {
        *vary[i] = sqlite3_column_int64(st, 1 + i) > 1;
        if (*vary[i])
            describe_values(db, j->id, keys[i], &varies);
    }
    for (size_t i = 0; i < N_EXTRA_COLS; i++) {
        if (sqlite3_column_int64(st, 6 + (int)i) <= 1 ||
            j->nextra == REP_MAX_EXTRA)
            continue;
        snprintf(j->extra_names[j->nextra++], sizeof j->extra_names[0], "%s",
                 extra_cols[i]);
        describe_values(db, j->id, extra_cols[i], &varies);
    }
    rc = varies.oom ? -ENOMEM : 0;
    j->varies = varies.p ? strdup(varies.p + (varies.p[0] == ',')) : NULL;
out:
    if (rc == -ENOMEM)
        snprintf(err, errlen, "out of memory");
    sqlite3_finalize(st);
    rep_buf_free(&sql);
    rep_buf_free(&varies);
    return rc;
}

static void run_read(sqlite3_stmt *st, rep_run *r)
{
    r->run_id = sqlite3_column_int64(st, 0);
    col_str(st, 1, r->status, sizeof r->status);
    col_str(st, 2, r->arch, sizeof r->arch);
    r->blocks = sqlite3_column_int(st, 3);
    r->unit_depth = sqlite3_column_int(st, 4);
    col_str(st, 5, r->dist, sizeof r->dist);
    col_str(st, 6, r->loss, sizeof r->loss);
    col_str(st, 7, r->optimizer, sizeof r->optimizer);
    r->seed = sqlite3_column_int64(st, 8);
    r->steps = sqlite3_column_int64(st, 9);
    r->converged = sqlite3_column_type(st, 10) == SQLITE_NULL
                       ? -1 : sqlite3_column_int(st, 10);
    double *nums[] = {&r->init_loss, &r->train_loss, &r->lin_loss, &r->gap,
                      &r->cert, &r->cert_grad, &r->grad_norm, &r->hess_min,
                      &r->w_norm, &r->regret_lhs, &r->regret_lin,
                      &r->regret_bound, &r->grad_out, &r->grad_v,
                      &r->hess_max, &r->hess_min_res, &r->hess_max_res};
    for (int i = 0; i < 17; i++)
        *nums[i] = col_num(st, 11 + i);
    int *ints[] = {&r->lanczos_iters, &r->hess_converged, &r->lanczos_capped};
    for (int i = 0; i < 3; i++)
        *ints[i] = sqlite3_column_type(st, 28 + i) == SQLITE_NULL
                       ? -1 : sqlite3_column_int(st, 28 + i);
}

#define RUN_COLS                                                           \
    "run_id, status, arch, blocks, unit_depth, dist, loss, optimizer, "   \
    "seed, steps, converged, init_loss, train_loss, lin_loss, gap, cert, " \
    "cert_grad, grad_norm, hess_min, w_norm, regret_lhs, regret_lin, "    \
    "regret_bound, grad_out, grad_v, hess_max, hess_min_res, hess_max_res, " \
    "lanczos_iters, hess_converged, lanczos_capped"
#define RUN_NCOLS 31

static int load_runs(sqlite3 *db, const char *path, rep_job *j, char *err,
                     size_t errlen)
{
    rep_buf sql = {0};
    rep_buf_printf(&sql, "SELECT " RUN_COLS);
    for (int e = 0; e < j->nextra; e++)
        rep_buf_printf(&sql, ", %s", j->extra_names[e]);
    rep_buf_printf(&sql, " FROM run_results WHERE job_id = ? ORDER BY run_id");
    size_t cap = (size_t)j->total;
    j->runs = calloc(cap ? cap : 1, sizeof *j->runs);
    j->extra_vals = calloc(cap * (size_t)j->nextra + 1, sizeof(rep_val));
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sql.oom || !j->runs || !j->extra_vals) {
        snprintf(err, errlen, "out of memory for the %zu runs of job %lld",
                 cap, j->id);
        rc = -ENOMEM;
        goto out;
    }
    if (sqlite3_prepare_v2(db, sql.p, -1, &st, NULL) != SQLITE_OK) {
        rc = db_fail(db, path, err, errlen);
        goto out;
    }
    sqlite3_bind_int64(st, 1, j->id);
    /* Runs are stored with their job in one transaction, and this read
     * transaction sees the count job_progress gave: cap holds. */
    while (j->nruns < cap && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rep_run *r = &j->runs[j->nruns];
        run_read(st, r);
        r->extra = j->extra_vals + j->nruns * (size_t)j->nextra;
        for (int e = 0; e < j->nextra; e++)
            val_read(st, RUN_NCOLS + e, &r->extra[e]);
        j->show_blocks = j->show_blocks || r->blocks > 1;
        j->nruns++;
    }
    j->show_blocks = j->show_blocks || j->vary_blocks;
    rc = (rc == SQLITE_ROW || rc == SQLITE_DONE || rc == 0)
             ? 0 : db_fail(db, path, err, errlen);
out:
    sqlite3_finalize(st);
    rep_buf_free(&sql);
    return rc;
}

static void job_free(rep_job *j)
{
    free(j->name);
    free(j->spec);
    free(j->runs);
    free(j->extra_vals);
    free(j->varies);
}

/* --- grouping -------------------------------------------------------- */

/* Which columns form a group: arch always. */
typedef struct rep_key {
    bool depth, dist, loss, extras;
    int nextra;
} rep_key;

static int cmp_val(const rep_val *a, const rep_val *b)
{
    if (a->null != b->null)
        return a->null ? -1 : 1;
    if (a->null)
        return 0;
    if (a->text != b->text)
        return a->text ? 1 : -1;
    if (a->text)
        return strcmp(a->str, b->str);
    return (a->num > b->num) - (a->num < b->num);
}

#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

static int cmp_key(const rep_run *a, const rep_run *b, const rep_key *k)
{
    int c = CMP(rep_arch_rank(a->arch), rep_arch_rank(b->arch));
    if (!c)
        c = strcmp(a->arch, b->arch);
    if (!c && k->depth)
        c = CMP(a->blocks, b->blocks);
    if (!c && k->depth)
        c = CMP(a->unit_depth, b->unit_depth);
    if (!c && k->dist)
        c = strcmp(a->dist, b->dist);
    if (!c && k->loss)
        c = strcmp(a->loss, b->loss);
    for (int e = 0; !c && k->extras && e < k->nextra; e++)
        c = cmp_val(&a->extra[e], &b->extra[e]);
    return c;
}

static int cmp_runs(const void *pa, const void *pb, void *ctx)
{
    const rep_run *a = *(rep_run *const *)pa, *b = *(rep_run *const *)pb;
    int c = cmp_key(a, b, ctx);
    return c ? c : CMP(a->run_id, b->run_id);
}

/* The job's runs as pointers sorted by key (caller frees), or NULL. */
static const rep_run **sorted_runs(const rep_job *j, const rep_key *k)
{
    const rep_run **v = malloc((j->nruns + 1) * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < j->nruns; i++)
        v[i] = &j->runs[i];
    qsort_r(v, j->nruns, sizeof *v, cmp_runs, (void *)k);
    return v;
}

typedef struct rep_stats {
    long runs, done, failed, diverged, canceled, pending, converged;
    long gap_n, gap_small, violations, left;
    long sec7_n, sec7_ok;
    long hess_open;     /* done runs whose Hessian estimate did not converge */
    double mean, q1, median, q3, hess_median, excess_median, bound_median;
    double cert_median;
    const rep_run *best, *worst;
} rep_stats;

static int cmp_double(const void *a, const void *b)
{
    return CMP(*(const double *)a, *(const double *)b);
}

/* Quantile p of sorted x[0..m-1] by linear interpolation between order
 * statistics (numpy's default), as gap_summary computes it. */
static double quantile(const double *x, size_t m, double p)
{
    if (m == 0)
        return NAN;
    double h = (double)(m - 1) * p;
    size_t l = (size_t)h;
    double f = h - (double)l;
    return f > 0 ? (1 - f) * x[l] + f * x[l + 1] : x[l];
}

/* Median of the finite values of the n doubles at v (sorted in place). */
static double median_of(double *v, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i]))
            v[m++] = v[i];
    qsort(v, m, sizeof *v, cmp_double);
    return quantile(v, m, 0.5);
}

static void count_state(rep_stats *s, const rep_run *r)
{
    s->runs++;
    if (!strcmp(r->status, "done"))
        s->done++;
    else if (!strcmp(r->status, "failed"))
        s->failed++;
    else if (!strcmp(r->status, "diverged"))
        s->diverged++;
    else if (!strcmp(r->status, "canceled"))
        s->canceled++;
    else
        s->pending++;
}

/* Statistics of runs g[0..n-1], with the definitions of gap_summary;
 * scratch has room for 3n doubles. */
static void group_stats(const rep_run *const *g, size_t n, double *scratch,
                        rep_stats *s)
{
    double *gaps = scratch, *hess = scratch + n, *ex = scratch + 2 * n;
    memset(s, 0, sizeof *s);
    double sum = 0;
    size_t nh = 0;
    for (size_t i = 0; i < n; i++) {
        const rep_run *r = g[i];
        bool done = !strcmp(r->status, "done");
        count_state(s, r);
        s->converged += done && r->converged == 1;
        s->violations += rep_violates(r);
        /* An unconverged λmin is an upper bound, so a median over it is
         * one too (order statistics are monotone): it stays in, and the
         * median is marked. Leaving it out would bias the median. */
        s->hess_open += rep_hess_open(r);
        if (done && !isnan(r->hess_min))
            hess[nh++] = r->hess_min;
        if (done && r->train_loss < r->init_loss -
                                        1e-6 * (1 + fabs(r->init_loss)))
            s->left++;
        if (!isnan(r->regret_lhs) && !isnan(r->regret_bound)) {
            s->sec7_n++;
            s->sec7_ok += r->regret_lhs <= r->regret_bound +
                          REP_VIOLATION_RTOL * (1 + fabs(r->regret_lhs));
        }
        if (!done || isnan(r->gap))
            continue;
        gaps[s->gap_n++] = r->gap;
        sum += r->gap;
        s->gap_small += r->gap <= 1e-6;
        if (!s->best || r->gap < s->best->gap)
            s->best = r;
        if (!s->worst || r->gap > s->worst->gap)
            s->worst = r;
    }
    qsort(gaps, (size_t)s->gap_n, sizeof *gaps, cmp_double);
    s->mean = s->gap_n ? sum / (double)s->gap_n : NAN;
    s->q1 = quantile(gaps, (size_t)s->gap_n, 0.25);
    s->median = quantile(gaps, (size_t)s->gap_n, 0.5);
    s->q3 = quantile(gaps, (size_t)s->gap_n, 0.75);
    s->hess_median = median_of(hess, nh);
    for (size_t i = 0; i < n; i++)
        ex[i] = strcmp(g[i]->status, "done") ? NAN : g[i]->cert;
    s->cert_median = median_of(ex, n);
    for (size_t i = 0; i < n; i++)
        ex[i] = g[i]->regret_lhs - g[i]->regret_lin;
    s->excess_median = median_of(ex, n);
    for (size_t i = 0; i < n; i++)
        ex[i] = g[i]->regret_bound - g[i]->regret_lin;
    s->bound_median = median_of(ex, n);
}

/* Calls fn for each group of runs under key k, in order. */
typedef void (*group_fn)(void *ctx, const rep_run *const *g, size_t n,
                         const rep_stats *s);

static int for_groups(const rep_job *j, const rep_key *k, group_fn fn,
                      void *ctx, char *err, size_t errlen)
{
    const rep_run **v = sorted_runs(j, k);
    double *scratch = malloc((3 * j->nruns + 1) * sizeof *scratch);
    if (!v || !scratch) {
        free(v);
        free(scratch);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0, end; i < j->nruns; i = end) {
        for (end = i + 1; end < j->nruns && !cmp_key(v[i], v[end], k); end++)
            ;
        rep_stats s;
        group_stats(v + i, end - i, scratch, &s);
        fn(ctx, v + i, end - i, &s);
    }
    free(v);
    free(scratch);
    return 0;
}

/* --- tables ---------------------------------------------------------- */

#define MAX_COLS 40
#define CELL 64

typedef struct table_ctx {
    rep_doc *doc;
    const rep_job *job;
    const rep_key *key;
    bool blocks;      /* show the blocks column */
    char cells[MAX_COLS][CELL];
    int n;
} table_ctx;

static void cell(table_ctx *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void cell(table_ctx *t, const char *fmt, ...)
{
    if (t->n >= MAX_COLS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->cells[t->n++], CELL, fmt, ap);
    va_end(ap);
}

static void cell_num(table_ctx *t, double v)
{
    char buf[32];
    rep_fmt(v, buf, sizeof buf);
    cell(t, "%s", buf);
}

static void cell_count_bold(table_ctx *t, long v)
{
    cell(t, v ? "**%ld**" : "%ld", v);
}

static void cell_run(table_ctx *t, const rep_run *r)
{
    char buf[32];
    if (!r) {
        cell(t, "—");
        return;
    }
    rep_fmt(r->gap, buf, sizeof buf);
    cell(t, "%s (#%lld)", buf, r->run_id);
}

static void emit_row(table_ctx *t)
{
    const char *p[MAX_COLS];
    for (int i = 0; i < t->n; i++)
        p[i] = t->cells[i];
    rep_doc_row(t->doc, p);
    t->n = 0;
}

/* The key cells of a group's first run. */
static void key_cells(table_ctx *t, const rep_run *r)
{
    cell(t, "%s", r->arch);
    if (t->key->depth && t->blocks)
        cell(t, "%d", r->blocks);
    if (t->key->depth)
        cell(t, "%d", r->unit_depth);
    if (t->key->dist)
        cell(t, "%s", r->dist[0] ? r->dist : "—");
    if (t->key->loss)
        cell(t, "%s", r->loss);
    for (int e = 0; t->key->extras && e < t->key->nextra; e++)
        cell(t, "%s", r->extra[e].str);
}

static int key_headers(const table_ctx *t, const char **h, bool *right)
{
    int n = 0;
    h[n++] = "arch";
    if (t->key->depth && t->blocks)
        right[n] = true, h[n++] = "blocks";
    if (t->key->depth)
        right[n] = true, h[n++] = "L";
    if (t->key->dist)
        h[n++] = "dist";
    if (t->key->loss)
        h[n++] = "loss";
    /* Numbers right-aligned, names (target, activation...) left. */
    for (int e = 0; t->key->extras && e < t->key->nextra; e++)
        right[n] = t->job->nruns && !t->job->runs[0].extra[e].text,
        h[n++] = t->job->extra_names[e];
    return n;
}

static void gap_row(void *ctx, const rep_run *const *g, size_t n,
                    const rep_stats *s)
{
    table_ctx *t = ctx;
    key_cells(t, g[0]);
    cell(t, "%ld", s->runs);
    cell(t, "%ld", s->converged);
    cell(t, "%ld/%ld/%ld", s->done, s->failed, s->diverged);
    cell_num(t, s->q1);
    cell_num(t, s->median);
    cell_num(t, s->q3);
    cell(t, "%ld/%ld", s->gap_small, s->gap_n);
    cell_count_bold(t, s->violations);
    cell_run(t, s->best);
    cell_run(t, s->worst);
    emit_row(t);
}

static const char *const gap_headers[] = {
    "runs", "converged", "done/failed/diverged", "gap q1", "gap median",
    "gap q3", "gap ≤ 1e-6", "violations", "best gap (run)", "worst gap (run)",
};

static int gap_table(rep_doc *doc, const rep_job *j, const rep_key *k,
                     char *err, size_t errlen)
{
    table_ctx t = {.doc = doc, .job = j, .key = k, .blocks = j->show_blocks};
    const char *h[MAX_COLS];
    bool right[MAX_COLS] = {0};
    int n = key_headers(&t, h, right);
    for (size_t i = 0; i < sizeof gap_headers / sizeof *gap_headers; i++)
        right[n] = true, h[n++] = gap_headers[i];
    rep_doc_table(doc, n, h, right);
    int rc = for_groups(j, k, gap_row, &t, err, errlen);
    rep_doc_table_end(doc);
    return rc;
}

static void extra_row(void *ctx, const rep_run *const *g, size_t n,
                      const rep_stats *s)
{
    table_ctx *t = ctx;
    key_cells(t, g[0]);
    cell(t, "%ld", s->runs);
    cell(t, "%ld", s->converged);
    cell(t, "%ld/%ld/%ld", s->done, s->failed, s->diverged);
    cell(t, "%ld", s->left);
    cell_num(t, s->q1);
    cell_num(t, s->median);
    cell_num(t, s->q3);
    cell_num(t, s->cert_median);
    char med[32];
    rep_fmt(s->hess_median, med, sizeof med);
    cell(t, "%s%s", s->hess_open && !isnan(s->hess_median) ? "≤ " : "", med);
    cell(t, "%ld", s->hess_open);
    cell_count_bold(t, s->violations);
    emit_row(t);
}

static const char *const extra_headers[] = {
    "runs", "converged", "done/failed/diverged", "left start", "gap q1",
    "gap median", "gap q3", "median cert", "median λmin",
    "λmin not converged", "violations",
};

static int extra_table(rep_doc *doc, const rep_job *j, char *err,
                       size_t errlen)
{
    rep_key k = {.extras = true, .nextra = j->nextra};
    table_ctx t = {.doc = doc, .job = j, .key = &k};
    const char *h[MAX_COLS];
    bool right[MAX_COLS] = {0};
    int n = key_headers(&t, h, right);
    for (size_t i = 0; i < sizeof extra_headers / sizeof *extra_headers; i++)
        right[n] = true, h[n++] = extra_headers[i];
    rep_doc_table(doc, n, h, right);
    int rc = for_groups(j, &k, extra_row, &t, err, errlen);
    rep_doc_table_end(doc);
    return rc;
}

static void sgd_row(void *ctx, const rep_run *const *g, size_t n,
                    const rep_stats *s)
{
    table_ctx *t = ctx;
    if (s->sec7_n == 0 && isnan(s->excess_median))
        return;   /* no SGD runs measured in this group */
    key_cells(t, g[0]);
    cell(t, "%ld", s->runs);
    cell_num(t, s->excess_median);
    cell_num(t, s->bound_median);
    if (s->sec7_n)
        cell(t, s->sec7_ok == s->sec7_n ? "%ld of %ld" : "**%ld of %ld**",
             s->sec7_ok, s->sec7_n);
    else
        cell(t, "—");
    emit_row(t);
}

static const char *const sgd_headers[] = {
    "runs", "median excess", "median bound − F_lin", "§7 bound holds",
};

static int sgd_table(rep_doc *doc, const rep_job *j, char *err,
                     size_t errlen)
{
    rep_key k = {.extras = true, .nextra = j->nextra, .dist = j->vary_dist,
                 .loss = j->vary_loss};
    table_ctx t = {.doc = doc, .job = j, .key = &k};
    const char *h[MAX_COLS];
    bool right[MAX_COLS] = {0};
    int n = key_headers(&t, h, right);
    for (size_t i = 0; i < sizeof sgd_headers / sizeof *sgd_headers; i++)
        right[n] = true, h[n++] = sgd_headers[i];
    rep_doc_table(doc, n, h, right);
    int rc = for_groups(j, &k, sgd_row, &t, err, errlen);
    rep_doc_table_end(doc);
    return rc;
}

/* --- sections -------------------------------------------------------- */

typedef struct arch_ctx {
    rep_buf *b;
    int n;
} arch_ctx;

static void arch_median(void *ctx, const rep_run *const *g, size_t n,
                        const rep_stats *s)
{
    arch_ctx *a = ctx;
    char med[32];
    rep_fmt(s->median, med, sizeof med);
    rep_buf_printf(a->b, "%s%s %s (%ld of %ld runs with gap ≤ 1e-6)",
                   a->n++ ? ", " : "", g[0]->arch, med, s->gap_small,
                   s->gap_n);
}

static long count_if(const rep_job *j, bool (*pred)(const rep_run *))
{
    long n = 0;
    for (size_t i = 0; i < j->nruns; i++)
        n += pred(&j->runs[i]);
    return n;
}

static bool is_converged(const rep_run *r)
{
    return !strcmp(r->status, "done") && r->converged == 1;
}

static bool has_cert(const rep_run *r)
{
    return !strcmp(r->status, "done") && !isnan(r->gap) && !isnan(r->cert);
}

static bool has_sec7(const rep_run *r)
{
    return !isnan(r->regret_lhs) && !isnan(r->regret_bound);
}

static bool sec7_fails(const rep_run *r)
{
    return has_sec7(r) && r->regret_lhs > r->regret_bound +
           REP_VIOLATION_RTOL * (1 + fabs(r->regret_lhs));
}

static int overview(rep_doc *doc, const rep_job *j, char *err, size_t errlen)
{
    long viol = count_if(j, rep_violates), certs = count_if(j, has_cert);
    rep_buf b = {0};
    rep_buf_printf(&b, "Job %lld has **%ld runs**: %ld done, %ld failed, "
                   "%ld diverged, %ld canceled", j->id, j->total, j->done,
                   j->failed, j->diverged, j->canceled);
    if (j->queued + j->running)
        rep_buf_printf(&b, ", and %ld still queued or running (this report "
                       "covers the runs finished so far)",
                       j->queued + j->running);
    rep_buf_printf(&b, ". %ld of the done runs converged (‖∇F‖ below "
                   "`train.tol`). **%ld violation%s**: ", count_if(j,
                   is_converged), viol, viol == 1 ? "" : "s");
    if (viol)
        rep_buf_printf(&b, "%ld of %ld runs end with a gap above their "
                       "certificate by more than rounding (listed below); "
                       "docs/theory.md §6.4 says this cannot happen.", viol, certs);
    else
        rep_buf_printf(&b, "in the %ld done run%s with a certificate, "
                       "gap ≤ cert + 1e-9·(1 + |F|), as docs/theory.md §6.4 "
                       "guarantees.", certs, certs == 1 ? "" : "s");
    long hopen = count_if(j, rep_hess_open);
    if (hopen)
        rep_buf_printf(&b, " %ld Hessian estimate%s did not converge: %s "
                       "λmin is only an upper bound (Curvature estimates, "
                       "below).", hopen, hopen == 1 ? "" : "s",
                       hopen == 1 ? "its" : "their");
    if (j->varies && *j->varies)
        rep_buf_printf(&b, " The job varies%s", j->varies);
    if (j->varies && *j->varies && j->nseeds > 1)
        rep_buf_printf(&b, ", each over %ld seeds.", j->nseeds);
    else if (j->varies && *j->varies)
        rep_buf_printf(&b, ".");
    else if (j->nseeds > 1)
        rep_buf_printf(&b, " The job repeats one configuration over %ld "
                       "seeds.", j->nseeds);
    rep_doc_p(doc, "%s", b.oom ? "(out of memory)" : b.p);
    b.len = 0;
    rep_buf_printf(&b, "Median gap `F − F_lin*` on the training set, by "
                   "architecture: ");
    arch_ctx a = {.b = &b};
    rep_key k = {0};
    int rc = for_groups(j, &k, arch_median, &a, err, errlen);
    rep_buf_printf(&b, ". A negative gap means the network fits the "
                   "training set better than the best linear predictor.");
    long s7 = count_if(j, has_sec7), s7bad = count_if(j, sec7_fails);
    if (s7)
        rep_buf_printf(&b, " The §7 regret bound held in %ld of %ld SGD runs "
                       "that measure it%s.", s7 - s7bad, s7,
                       s7bad ? " (**some did not**)" : "");
    if (rc == 0)
        rep_doc_p(doc, "%s", b.oom ? "(out of memory)" : b.p);
    rep_buf_free(&b);
    return rc;
}

static void run_list_header(rep_doc *doc, const rep_job *j,
                            const char *const *tail, int ntail)
{
    const char *h[MAX_COLS] = {"run", "status", "arch"};
    bool right[MAX_COLS] = {true};
    int n = 3;
    if (j->show_blocks)
        right[n] = true, h[n++] = "blocks";
    right[n] = true, h[n++] = "L";
    h[n++] = "dist";
    h[n++] = "loss";
    for (int e = 0; e < j->nextra; e++)
        right[n] = j->nruns && !j->runs[0].extra[e].text,
        h[n++] = j->extra_names[e];
    right[n] = true, h[n++] = "seed";
    for (int i = 0; i < ntail; i++)
        right[n] = true, h[n++] = tail[i];
    rep_doc_table(doc, n, h, right);
}

static void run_list_row(rep_doc *doc, const rep_job *j, const rep_run *r)
{
    static const rep_key all = {0};
    table_ctx t = {.doc = doc, .job = j, .key = &all};
    cell(&t, "%lld", r->run_id);
    cell(&t, "%s", r->status);
    cell(&t, "%s", r->arch);
    if (j->show_blocks)
        cell(&t, "%d", r->blocks);
    cell(&t, "%d", r->unit_depth);
    cell(&t, "%s", r->dist[0] ? r->dist : "—");
    cell(&t, "%s", r->loss);
    for (int e = 0; e < j->nextra; e++)
        cell(&t, "%s", r->extra[e].str);
    cell(&t, "%lld", r->seed);
    cell_num(&t, r->gap);
    cell_num(&t, r->cert);
    cell_num(&t, r->cert - r->gap);
    cell_num(&t, r->grad_norm);
    char hmin[40];
    rep_fmt_hess_min(r, hmin, sizeof hmin);
    cell(&t, "%s", hmin);
    emit_row(&t);
}

static const char *const run_tail[] = {"gap", "cert", "cert − gap", "‖∇F‖",
                                       "λmin"};

static void violations_section(rep_doc *doc, const rep_job *j)
{
    long viol = count_if(j, rep_violates);
    rep_doc_h(doc, 2, "Certificate check (docs/theory.md §6.4)");
    rep_doc_p(doc, "At every point, `gap = F − F_lin* ≤ cert = c − ⟨a, u*⟩`. "
              "A run violates it when gap > cert + 1e-9·(1 + |F|) (more "
              "than rounding). Violations: **%ld**.", viol);
    if (!viol)
        return;
    run_list_header(doc, j, run_tail, 5);
    long shown = 0;
    for (size_t i = 0; i < j->nruns && shown < REP_LIST_MAX; i++)
        if (rep_violates(&j->runs[i]))
            run_list_row(doc, j, &j->runs[i]), shown++;
    rep_doc_table_end(doc);
    if (viol > shown)
        rep_doc_p(doc, "... and %ld more: `SELECT * FROM run_results WHERE "
                  "job_id = %lld AND gap > cert + 1e-9 * (1 + abs(train_loss))"
                  "`.", viol - shown, j->id);
}

/* Converged runs per architecture: the theorem's own question, a
 * stationary point's gap, with its certificate. */
static void converged_row(rep_doc *doc, const rep_job *j, const char *arch,
                          double *scratch)
{
    long n = 0, pos = 0;
    double max_gap = -INFINITY, max_cert = -INFINITY, max_grad = 0;
    for (size_t i = 0; i < j->nruns; i++) {
        const rep_run *r = &j->runs[i];
        if (strcmp(r->arch, arch) || !is_converged(r))
            continue;
        pos += r->gap > 1e-6;
        max_gap = fmax(max_gap, r->gap);
        max_cert = fmax(max_cert, r->cert);
        max_grad = fmax(max_grad, r->grad_norm);
        scratch[n++] = r->cert;
    }
    if (n == 0)
        return;
    static const rep_key none = {0};
    table_ctx t = {.doc = doc, .job = j, .key = &none};
    cell(&t, "%s", arch);
    cell(&t, "%ld", n);
    cell(&t, "%ld", pos);
    cell_num(&t, max_gap);
    cell_num(&t, median_of(scratch, (size_t)n));
    cell_num(&t, max_cert);
    cell_num(&t, max_grad);
    emit_row(&t);
}

static int converged_section(rep_doc *doc, const rep_job *j, char *err,
                             size_t errlen)
{
    if (count_if(j, is_converged) == 0)
        return 0;
    double *scratch = malloc((j->nruns + 1) * sizeof *scratch);
    const char *seen[16];
    int nseen = 0;
    if (!scratch) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    rep_doc_h(doc, 3, "Runs that converged");
    rep_doc_p(doc, "Runs that stopped because ‖∇F‖ < `train.tol` (over the "
              "trained parameters): approximate stationary points. For a "
              "`resnet` with w ≠ 0 the certificate of a stationary point is 0 "
              "(docs/theory.md §6.4), so `gap ≤ cert ≈ 0`; other architectures have "
              "no such guarantee.");
    const char *h[] = {"arch", "converged", "gap > 1e-6", "max gap",
                       "median cert", "max cert", "max ‖∇F‖"};
    const bool right[] = {false, true, true, true, true, true, true};
    rep_doc_table(doc, 7, h, right);
    for (size_t i = 0; i < j->nruns; i++) {
        const char *a = j->runs[i].arch;
        int k = 0;
        while (k < nseen && strcmp(seen[k], a))
            k++;
        if (k == nseen && nseen < 16)
            seen[nseen++] = a;
    }
    for (int a = 0; a < nseen; a++)   /* in table order */
        for (int b = a + 1; b < nseen; b++)
            if (rep_arch_rank(seen[b]) < rep_arch_rank(seen[a])) {
                const char *x = seen[a];
                seen[a] = seen[b];
                seen[b] = x;
            }
    for (int a = 0; a < nseen; a++)
        converged_row(doc, j, seen[a], scratch);
    rep_doc_table_end(doc);
    free(scratch);
    return 0;
}

static int cmp_gap(const void *pa, const void *pb)
{
    const rep_run *a = *(rep_run *const *)pa, *b = *(rep_run *const *)pb;
    int c = CMP(a->gap, b->gap);
    return c ? c : CMP(a->run_id, b->run_id);
}

static int extremes_section(rep_doc *doc, const rep_job *j, char *err,
                            size_t errlen)
{
    const rep_run **v = malloc((j->nruns + 1) * sizeof *v);
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < j->nruns; i++)
        if (!strcmp(j->runs[i].status, "done") && !isnan(j->runs[i].gap))
            v[m++] = &j->runs[i];
    qsort(v, m, sizeof *v, cmp_gap);
    rep_doc_h(doc, 2, "Best and worst runs");
    if (m == 0) {
        rep_doc_p(doc, "No run is done yet.");
    } else {
        size_t k = m < REP_EXTREMES ? m : REP_EXTREMES;
        rep_doc_p(doc, "The lowest and highest gaps among the %zu done runs "
                  "(`resweep results %lld` lists them all).", m, j->id);
        rep_doc_h(doc, 3, "Lowest gaps");
        run_list_header(doc, j, run_tail, 5);
        for (size_t i = 0; i < k; i++)
            run_list_row(doc, j, v[i]);
        rep_doc_table_end(doc);
        rep_doc_h(doc, 3, "Highest gaps");
        run_list_header(doc, j, run_tail, 5);
        for (size_t i = 0; i < k; i++)
            run_list_row(doc, j, v[m - 1 - i]);
        rep_doc_table_end(doc);
    }
    free(v);
    return 0;
}

static void failures_section(rep_doc *doc, sqlite3 *db, const rep_job *j)
{
    if (!j->failed && !j->diverged)
        return;
    rep_doc_h(doc, 2, "Failed and diverged runs");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT status, coalesce(error, ''), "
                           "count(*), min(run_id) FROM runs WHERE job_id = ? "
                           "AND status IN ('failed', 'diverged') GROUP BY 1, "
                           "2 ORDER BY 3 DESC", -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, j->id);
    const char *h[] = {"status", "error", "runs", "first run"};
    const bool right[] = {false, false, true, true};
    rep_doc_table(doc, 4, h, right);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char c[4][256];
        const char *p[4] = {c[0], c[1], c[2], c[3]};
        col_str(st, 0, c[0], sizeof c[0]);
        col_str(st, 1, c[1], sizeof c[1]);
        col_str(st, 2, c[2], sizeof c[2]);
        col_str(st, 3, c[3], sizeof c[3]);
        rep_doc_row(doc, p);
    }
    rep_doc_table_end(doc);
    sqlite3_finalize(st);
}

static int tables_section(rep_doc *doc, const rep_job *j, char *err,
                          size_t errlen)
{
    rep_key k = {.depth = true};
    int rc;
    rep_doc_h(doc, 2, "Gap by architecture and depth");
    rep_doc_p(doc, "`gap = F − F_lin*`, the training loss minus the best linear "
              "predictor's (docs/theory.md §6.1). `L` is the depth of a residual "
              "unit's MLP%s. Gap statistics are over the runs that are done; "
              "diverged runs are counted but left out. `converged`: GD "
              "stopped because ‖∇F‖ < `train.tol`. `violations`: gap > "
              "cert + 1e-9·(1 + |F|).%s",
              j->vary_blocks ? ", `blocks` the number of units" : "",
              j->vary_dist || j->vary_loss ? " Pooled over the distributions "
              "and losses; the next table splits them." : "");
    if ((rc = gap_table(doc, j, &k, err, errlen)) < 0)
        return rc;
    if (j->vary_dist || j->vary_loss) {
        k.dist = j->vary_dist;
        k.loss = j->vary_loss;
        rep_doc_h(doc, 3, j->vary_dist && j->vary_loss
                  ? "By architecture, depth, input distribution and loss"
                  : j->vary_dist ? "By architecture, depth and input "
                  "distribution" : "By architecture, depth and loss");
        rep_doc_p(doc, "One row per group of the `gap_summary` view.");
        if ((rc = gap_table(doc, j, &k, err, errlen)) < 0)
            return rc;
    }
    if (j->nextra) {
        rep_doc_h(doc, 3, "By the other settings the job varies");
        rep_doc_p(doc, "Pooled over depths%s. `left start`: done runs whose "
                  "final loss is below their initial loss (they moved away "
                  "from the initialisation). `median λmin`: the smallest "
                  "Hessian eigenvalue at the end point; below 0 means the end "
                  "point is not a local minimum. `λmin not converged`: done "
                  "runs whose estimate did not converge, so that their λmin "
                  "is only an upper bound, and the median too (`≤`; see "
                  "Curvature estimates).",
                  j->vary_dist || j->vary_loss ? ", distributions and losses"
                  : "");
        if ((rc = extra_table(doc, j, err, errlen)) < 0)
            return rc;
    }
    return 0;
}

static int sgd_section(rep_doc *doc, const rep_job *j, char *err,
                       size_t errlen)
{
    bool any = false;
    for (size_t i = 0; i < j->nruns && !any; i++)
        any = !isnan(j->runs[i].regret_lhs);
    if (!any)
        return 0;
    rep_doc_h(doc, 2, "SGD against the best linear predictor (docs/theory.md §7)");
    rep_doc_p(doc, "For each SGD run: `excess = (1/T) Σ f_t(z_t) − (1/T) Σ "
              "l(u*ᵀx_t; y_t)`, the average online loss minus that of the best "
              "linear predictor on the same samples; the bound is "
              "`‖z_1 − z*‖²/(2ηT) + (η/2T) Σ ‖g_t‖²`, proven for `decoupled` "
              "with a constant step. `§7 bound holds`: runs whose online "
              "average is at most the bound.");
    return sgd_table(doc, j, err, errlen);
}

static void reproduce_section(rep_doc *doc, const rep_job *j, const char *db)
{
    rep_doc_h(doc, 2, "Reproduce and query");
    rep_buf b = {0};
    rep_buf_printf(&b,
        "resweep --db '%s' report %lld\n"
        "sqlite3 -readonly -box '%s' \"SELECT * FROM gap_summary WHERE "
        "job_id = %lld ORDER BY arch, blocks, unit_depth, dist, loss\"\n"
        "sqlite3 -readonly -box '%s' \"SELECT run_id, arch, unit_depth, "
        "seed, gap, cert, grad_norm, hess_min FROM run_results WHERE "
        "job_id = %lld ORDER BY gap DESC LIMIT 10\"\n",
        db, j->id, db, j->id, db, j->id);
    rep_doc_p(doc, "Every number above comes from the database; these "
              "commands show the same rows. Each figure's gnuplot script, "
              "with its data, is next to it (`NAME.gp`).");
    rep_doc_code(doc, "sh", b.oom ? "" : b.p);
    rep_buf_free(&b);
    if (j->spec && *j->spec) {
        rep_doc_h(doc, 3, "Job specification");
        size_t n = strlen(j->spec);
        if (n > REP_SPEC_MAX) {
            char *cut = strndup(j->spec, REP_SPEC_MAX);
            rep_doc_code(doc, "json", cut ? cut : "");
            rep_doc_p(doc, "(first %d of %zu bytes)", REP_SPEC_MAX, n);
            free(cut);
        } else {
            rep_doc_code(doc, "json", j->spec);
        }
    }
}

static int figures_section(rep_doc *doc, const rep_fig *figs, int n,
                           char *err, size_t errlen)
{
    if (n == 0)
        return 0;
    rep_doc_h(doc, 2, "Figures");
    for (int i = 0; i < n; i++) {
        rep_doc_h(doc, 3, figs[i].title);
        if (!figs[i].drawn) {
            rep_doc_p(doc,
                      "Not drawn: gnuplot was not installed when this report "
                      "was written. Its script and data are in %s.gp; to draw "
                      "it, install gnuplot-nox and run `gnuplot %s.gp` in this "
                      "directory, or write the report again.",
                      figs[i].name, figs[i].name);
            continue;
        }
        int rc = rep_doc_figure(doc, figs[i].name, figs[i].caption, err,
                                errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int write_report(rep_doc *doc, sqlite3 *db, const rep_job *j,
                        const char *dbpath, const rep_fig *figs, int nfigs,
                        char *err, size_t errlen)
{
    char title[512], created[64], now[64];
    time_t t_created = (time_t)j->created_at, t_now = time(NULL);
    struct tm tm;
    snprintf(title, sizeof title, "resweep report: job %lld%s%s", j->id,
             *j->name ? " — " : "", j->name);
    rep_doc_h(doc, 1, title);
    strftime(created, sizeof created, "%Y-%m-%d %H:%M UTC",
             gmtime_r(&t_created, &tm));
    strftime(now, sizeof now, "%Y-%m-%d %H:%M UTC", gmtime_r(&t_now, &tm));
    rep_doc_p(doc, "Submitted %s; report written %s from `%s` by resweep %s.",
              created, now, dbpath, RESWEEP_VERSION);
    int rc = overview(doc, j, err, errlen);
    if (rc == 0)
        rc = tables_section(doc, j, err, errlen);
    if (rc == 0)
        rc = rep_seed_section(doc, db, j, err, errlen);
    if (rc == 0)
        rc = converged_section(doc, j, err, errlen);
    if (rc == 0)
        violations_section(doc, j);
    if (rc == 0)
        rep_curvature_section(doc, j);
    if (rc == 0)
        rc = sgd_section(doc, j, err, errlen);
    if (rc == 0)
        rc = extremes_section(doc, j, err, errlen);
    if (rc == 0)
        failures_section(doc, db, j);
    if (rc == 0)
        rc = figures_section(doc, figs, nfigs, err, errlen);
    if (rc == 0)
        reproduce_section(doc, j, dbpath);
    return rc;
}

/* --- the command ----------------------------------------------------- */

/* Creates dir (and its parents) and checks it is a directory we can
 * write into, with a sentence otherwise. */
static int prepare_dir(const char *dir, char *err, size_t errlen)
{
    char msg[ERR_LEN];
    struct stat sb;
    if (paths_mkdir_p(dir, 0755, msg, sizeof msg) < 0) {
        snprintf(err, errlen, "cannot create the output directory: %s", msg);
        return -EIO;
    }
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "the output directory %s is not a directory",
                 dir);
        return -ENOTDIR;
    }
    return 0;
}

int cmd_report(cli_opts *o, int argc, char **argv)
{
    long long id = cli_job_arg(argv[0]);
    if (id < 0)
        return CLI_USAGE;
    /* Room for two paths in a sentence: they are quoted whole. */
    char dir[PATHS_MAX], err[REP_ERR_LEN] = "";
    if (o->out && *o->out)
        snprintf(dir, sizeof dir, "%s", o->out);
    else
        snprintf(dir, sizeof dir, "report-%lld", id);
    /* Without gnuplot the tables are still worth having: the figures'
     * scripts are written and the report says how to draw them. */
    char nognuplot[REP_ERR_LEN] = "";
    bool draw = rep_gnuplot_check(nognuplot, sizeof nognuplot) == 0;
    cli_resolve_db(o);
    sqlite3 *db = NULL;
    rep_job j = {.id = id};
    rep_doc doc = {0};
    rep_fig figs[REP_MAX_FIGS];
    int nfigs = 0;
    int rc = open_db(o->db, &db, err, sizeof err);
    if (rc == 0)
        rc = load_job(db, o->db, &j, err, sizeof err);
    if (rc == 0)
        rc = load_variation(db, o->db, &j, err, sizeof err);
    if (rc == 0)
        rc = load_runs(db, o->db, &j, err, sizeof err);
    if (rc == 0)
        rc = prepare_dir(dir, err, sizeof err);
    if (rc == 0)
        rc = rep_doc_open(&doc, dir, j.name, err, sizeof err);
    if (rc == 0)
        rc = rep_figures(&j, db, dir, draw, figs, &nfigs, err, sizeof err);
    if (rc == 0) {
        /* after rep_figures, which they draw through (report.h) */
        rep_fig_out lo = {dir, draw, figs, &nfigs, err, sizeof err};
        rc = rep_landscape_figures(&lo, &j, db);
    }
    if (rc == 0)
        rc = write_report(&doc, db, &j, o->db, figs, nfigs, err, sizeof err);
    if (doc.md) {
        char ignored[REP_ERR_LEN];
        int crc = rep_doc_close(&doc, rc == 0 ? err : ignored, sizeof err);
        rc = rc ? rc : crc;
    }
    job_free(&j);
    sqlite3_close(db);   /* ends the read transaction */
    if (rc < 0)
        return cli_fail(CLI_ERROR, "%s", err);
    printf("report for job %lld: %s/report.md, %s/report.html and %d "
           "figure%s\n", id, dir, dir, draw ? nfigs : 0,
           (draw ? nfigs : 0) == 1 ? "" : "s");
    if (!draw && nfigs > 0) {
        fprintf(stderr, "resweep: %d figure%s left out:", nfigs,
                nfigs == 1 ? "" : "s");
        for (int i = 0; i < nfigs; i++)
            fprintf(stderr, "%s %s", i ? "," : "", figs[i].name);
        fprintf(stderr, ". %s, then run `resweep report %lld` again (each "
                "figure's script is in %s)\n", nognuplot, id, dir);
    }
    return CLI_OK;
}
