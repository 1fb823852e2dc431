/* report_seeds.c — the paired comparisons of architectures over seeds
 * (docs/theory.md §6.10): one row per cell of the seed_stats view
 * (schema/009_landscape.sql), with the bootstrap interval of the mean
 * paired difference and the sign test's p-value (include/stats.h)
 * computed here from the cell's pairs in arch_pairs. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "rng.h"
#include "stats.h"

/* The bootstrap's generator: a fixed seed, stream = the row's index, so
 * that the same database gives the same report. */
#define SEEDS_BOOT_SEED 13

/* Cells listed before "and N more". */
#define SEEDS_MAX_ROWS 200

static const char cells_sql[] =
    "SELECT comparison, cell, unit_depth, width, dist, loss, pairs,"
    " mean_diff, frac_le0, n_below, n_above FROM seed_stats"
    " WHERE job_id = ?1 ORDER BY comparison, blocks, unit_depth, width, dist,"
    " loss, cell";
static const char diffs_sql[] =
    "SELECT diff FROM arch_pairs WHERE job_id = ?1 AND comparison = ?2"
    " AND cell = ?3 AND diff IS NOT NULL";

static bool has_view(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    bool yes = sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE"
                                  " type = 'view' AND name = 'seed_stats'",
                                  -1, &st, NULL) == SQLITE_OK &&
               sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

static int db_err(sqlite3 *db, char *err, size_t errlen)
{
    snprintf(err, errlen, "reading the seed statistics: %s",
             sqlite3_errmsg(db));
    return -EIO;
}

/* The cell's differences (malloc'd, *n of them) from arch_pairs. */
static int cell_diffs(sqlite3 *db, long long job, sqlite3_stmt *cell,
                      double **out, size_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, diffs_sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(db, err, errlen);
    sqlite3_bind_int64(st, 1, job);
    sqlite3_bind_value(st, 2, sqlite3_column_value(cell, 0));
    sqlite3_bind_value(st, 3, sqlite3_column_value(cell, 1));
    size_t cap = 16, k = 0;
    double *x = malloc(sizeof *x * cap);
    int rc;
    while (x && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == cap) {
            double *nx = realloc(x, sizeof *x * (cap *= 2));
            if (!nx) {
                free(x);
                x = NULL;
                break;
            }
            x = nx;
        }
        x[k++] = sqlite3_column_double(st, 0);
    }
    sqlite3_finalize(st);
    if (!x) {
        snprintf(err, errlen, "out of memory reading the seed statistics");
        return -ENOMEM;
    }
    *out = x;
    *n = k;
    return 0;
}

static const char *const headers[] = {
    "comparison", "L", "h", "dist", "loss", "pairs", "mean Δgap",
    "95% interval", "Δ ≤ 0", "sign test p",
};
static const bool right[] = {
    false, true, true, false, false, true, true, true, true, true,
};

static int seed_row(rep_doc *doc, sqlite3 *db, const rep_job *j,
                    sqlite3_stmt *st, int idx, char *err, size_t errlen)
{
    double *x = NULL, lo = NAN, hi = NAN;
    size_t n = 0;
    int rc = cell_diffs(db, j->id, st, &x, &n, err, errlen);
    if (rc < 0)
        return rc;
    rng r;
    rng_init(&r, SEEDS_BOOT_SEED, (uint64_t)idx);
    if (n > 0 && (rc = stats_bootstrap_mean(x, n, STATS_BOOTSTRAP_REPS, 0.95,
                                           &r, &lo, &hi)) < 0) {
        free(x);
        snprintf(err, errlen, "out of memory in the bootstrap");
        return rc;
    }
    free(x);
    char c[10][96], a[32], b[32];
    const char *cells[10];
    snprintf(c[0], sizeof c[0], "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(c[1], sizeof c[1], "%d", sqlite3_column_int(st, 2));
    snprintf(c[2], sizeof c[2], "%d", sqlite3_column_int(st, 3));
    snprintf(c[3], sizeof c[3], "%s", sqlite3_column_type(st, 4) == SQLITE_NULL
             ? "—" : (const char *)sqlite3_column_text(st, 4));
    snprintf(c[4], sizeof c[4], "%s", (const char *)sqlite3_column_text(st, 5));
    snprintf(c[5], sizeof c[5], "%d", sqlite3_column_int(st, 6));
    rep_fmt(sqlite3_column_double(st, 7), c[6], sizeof c[6]);
    rep_fmt(lo, a, sizeof a);
    rep_fmt(hi, b, sizeof b);
    snprintf(c[7], sizeof c[7], "[%s, %s]", a, b);
    snprintf(c[8], sizeof c[8], "%.2f", sqlite3_column_double(st, 8));
    rep_fmt(stats_sign_test_p(sqlite3_column_int64(st, 9),
                              sqlite3_column_int64(st, 10)), c[9], sizeof c[9]);
    for (int k = 0; k < 10; k++)
        cells[k] = c[k];
    rep_doc_row(doc, cells);
    return 0;
}

int rep_seed_section(rep_doc *doc, sqlite3 *db, const rep_job *j, char *err,
                     size_t errlen)
{
    if (!has_view(db))
        return 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, cells_sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(db, err, errlen);
    sqlite3_bind_int64(st, 1, j->id);
    int rc = 0, src, idx = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (idx == 0) {
            rep_doc_h(doc, 2, "Architectures compared seed by seed");
            rep_doc_p(doc, "Pairs of runs on the same seed, data and training "
                      "(docs/theory.md §6.10; views `arch_pairs` and "
                      "`seed_stats`): `resnet-plain` compares configurations "
                      "equal but for the architecture, `X-linear` a network "
                      "with the linear predictor trained on the same data. "
                      "`Δgap` = gap of the first minus gap of the second; "
                      "the interval is the percentile bootstrap of the mean "
                      "(%d resamples, fixed seed), `Δ ≤ 0` the fraction of "
                      "pairs where the first is no worse, and `sign test p` "
                      "the exact two-sided binomial p-value of as many "
                      "pairs below 0 as above (ties dropped).",
                      STATS_BOOTSTRAP_REPS);
            rep_doc_table(doc, 10, headers, right);
        }
        if (idx < SEEDS_MAX_ROWS &&
            (rc = seed_row(doc, db, j, st, idx, err, errlen)) < 0)
            break;
        idx++;
    }
    if (idx > 0)
        rep_doc_table_end(doc);
    if (rc == 0 && src != SQLITE_DONE)
        rc = db_err(db, err, errlen);
    if (rc == 0 && idx > SEEDS_MAX_ROWS)
        rep_doc_p(doc, "And %d more cells (`SELECT * FROM seed_stats WHERE "
                  "job_id = %lld`).", idx - SEEDS_MAX_ROWS, j->id);
    sqlite3_finalize(st);
    return rc;
}
