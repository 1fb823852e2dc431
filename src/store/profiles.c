/* profiles.c — a result's curves beside its columns (docs/theory.md §6.6,
 * §6.7, §6.8): the SLQ density as rows of spectra, the path to the linear
 * predictor as rows of paths, the slice as rows of slices (see internal.h,
 * schema/006_spectrum.sql and schema/009_landscape.sql). */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "err.h"

/* Bin b's edges, written the same way the engine bins (spectrum.h). */
static void bin_edges(const run_spectrum *sp, int b, double *lo, double *hi)
{
    double w = (sp->hi - sp->lo) / sp->bins;
    *lo = sp->lo + b * w;
    *hi = b + 1 == sp->bins ? sp->hi : sp->lo + (b + 1) * w;
}

static int spectrum_insert(struct conn *c, int64_t run_id,
                           const run_spectrum *sp, char *err, size_t errlen)
{
    for (int b = 0; b < sp->bins; b++) {
        sqlite3_stmt *st;
        int rc = store__stmt(c, ST_SPECTRUM_INSERT, &st, err, errlen);
        if (rc < 0)
            return rc;
        double lo, hi;
        bin_edges(sp, b, &lo, &hi);
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int(st, 2, b);
        sqlite3_bind_double(st, 3, lo);
        sqlite3_bind_double(st, 4, hi);
        sqlite3_bind_double(st, 5, sp->mass[b]);
        sqlite3_bind_double(st, 6, sp->mass[b] / (hi - lo));
        if ((rc = store__step_done(c, st, err, errlen, "storing the spectrum "
                                   "of run %lld", (long long)run_id)) < 0)
            return rc;
    }
    return 0;
}

static int path_insert(struct conn *c, int64_t run_id, const run_path *p,
                       char *err, size_t errlen)
{
    for (int i = 0; i < p->points; i++) {
        sqlite3_stmt *st;
        int rc = store__stmt(c, ST_PATH_INSERT, &st, err, errlen);
        if (rc < 0)
            return rc;
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int(st, 2, i);
        sqlite3_bind_double(st, 3, (double)i / (p->points - 1));
        store__bind_real(st, 4, p->loss[i]);
        if ((rc = store__step_done(c, st, err, errlen, "storing the path of "
                                   "run %lld", (long long)run_id)) < 0)
            return rc;
    }
    return 0;
}

/* The coordinate of grid index i, written as slice.h's slice_coord. */
static double slice_coord(int i, int points, double radius)
{
    return radius * (2.0 * i - (points - 1)) / (points - 1);
}

static int slice_insert(struct conn *c, int64_t run_id, const run_slice *sl,
                        char *err, size_t errlen)
{
    for (int i = 0; i < sl->points; i++)
        for (int j = 0; j < sl->points; j++) {
            sqlite3_stmt *st;
            int rc = store__stmt(c, ST_SLICE_INSERT, &st, err, errlen);
            if (rc < 0)
                return rc;
            sqlite3_bind_int64(st, 1, run_id);
            sqlite3_bind_int(st, 2, i);
            sqlite3_bind_int(st, 3, j);
            sqlite3_bind_double(st, 4, slice_coord(i, sl->points, sl->radius));
            sqlite3_bind_double(st, 5, slice_coord(j, sl->points, sl->radius));
            store__bind_real(st, 6, sl->loss[i * sl->points + j]);
            if ((rc = store__step_done(c, st, err, errlen, "storing the "
                                       "slice of run %lld",
                                       (long long)run_id)) < 0)
                return rc;
        }
    return 0;
}

static bool slice_valid(const run_slice *sl)
{
    return sl->points == 0 ||
           (sl->points >= 3 && sl->points % 2 == 1 &&
            sl->points <= CONFIG_MAX_SLICE_POINTS && sl->radius > 0 &&
            isfinite(sl->radius));
}

int store__profiles_insert(struct conn *c, int64_t run_id,
                           const run_result *res, char *err, size_t errlen)
{
    const run_spectrum *sp = &res->spectrum;
    const run_path *p = &res->path;
    /* the engine never makes others; a hand-made result must not write
     * past the arrays or divide by zero */
    if (sp->bins < 0 || sp->bins > CONFIG_MAX_SLQ_BINS ||
        (sp->bins > 0 && !(sp->hi > sp->lo)))
        return err_set(err, errlen, -EINVAL, "run %lld: a spectrum of %d "
                       "bins over [%g, %g]", (long long)run_id, sp->bins,
                       sp->lo, sp->hi);
    if (p->points < 0 || p->points == 1 || p->points > CONFIG_MAX_PATH_POINTS)
        return err_set(err, errlen, -EINVAL, "run %lld: a path of %d points",
                       (long long)run_id, p->points);
    if (!slice_valid(&res->slice))
        return err_set(err, errlen, -EINVAL, "run %lld: a slice of %d points "
                       "a side, radius %g", (long long)run_id,
                       res->slice.points, res->slice.radius);
    int rc = spectrum_insert(c, run_id, sp, err, errlen);
    if (rc == 0)
        rc = path_insert(c, run_id, p, err, errlen);
    return rc < 0 ? rc : slice_insert(c, run_id, &res->slice, err, errlen);
}

/* The rows come back numbered 0, 1, ... as the writer stores them;
 * anything else was edited by hand (SQLITE_CORRUPT marks it here). */
static int spectrum_read(struct conn *c, int64_t run_id, run_spectrum *sp,
                         char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int rc = store__stmt(c, ST_SPECTRUM_SELECT, &st, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    int src, n = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == CONFIG_MAX_SLQ_BINS || sqlite3_column_int(st, 0) != n) {
            src = SQLITE_CORRUPT;
            break;
        }
        if (n == 0)
            sp->lo = sqlite3_column_double(st, 1);
        sp->hi = sqlite3_column_double(st, 2);
        sp->mass[n++] = sqlite3_column_double(st, 3);
    }
    sqlite3_reset(st);
    sp->bins = n;
    if (src == SQLITE_CORRUPT)
        return err_set(err, errlen, -EIO,
                       "database %s: the spectra rows of run %lld are not "
                       "bins 0, 1, ... (at most %d)", c->path,
                       (long long)run_id, CONFIG_MAX_SLQ_BINS);
    if (src != SQLITE_DONE)
        return store__fail(c, src, err, errlen, "reading the spectrum of run "
                           "%lld", (long long)run_id);
    return 0;
}

static int path_read(struct conn *c, int64_t run_id, run_path *p, char *err,
                     size_t errlen)
{
    sqlite3_stmt *st;
    int rc = store__stmt(c, ST_PATH_SELECT, &st, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    int src, n = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == CONFIG_MAX_PATH_POINTS || sqlite3_column_int(st, 0) != n) {
            src = SQLITE_CORRUPT;
            break;
        }
        p->loss[n++] = store__column_real(st, 1);
    }
    sqlite3_reset(st);
    p->points = n;
    if (src == SQLITE_CORRUPT || n == 1)
        return err_set(err, errlen, -EIO, "database %s: the paths rows of "
                       "run %lld are not points 0, 1, ... (2 to %d)", c->path,
                       (long long)run_id, CONFIG_MAX_PATH_POINTS);
    if (src != SQLITE_DONE)
        return store__fail(c, src, err, errlen, "reading the path of run "
                           "%lld", (long long)run_id);
    return 0;
}

/* Rows (i, j) in order: k^2 of them, k odd; the radius from the last
 * row's a (a_{k-1} = r). */
static int slice_read(struct conn *c, int64_t run_id, run_slice *sl,
                      char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int rc = store__stmt(c, ST_SLICE_SELECT, &st, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    int src, n = 0, max = CONFIG_MAX_SLICE_POINTS * CONFIG_MAX_SLICE_POINTS;
    double a_last = NAN;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == max) {
            src = SQLITE_CORRUPT;
            break;
        }
        a_last = sqlite3_column_double(st, 2);
        sl->loss[n++] = store__column_real(st, 3);
    }
    sqlite3_reset(st);
    int k = 0;
    while (k * k < n)
        k++;
    sl->points = k;
    sl->radius = n ? a_last : 0;
    if (src == SQLITE_CORRUPT || k * k != n || !slice_valid(sl))
        return err_set(err, errlen, -EIO, "database %s: the slices rows of "
                       "run %lld are not a k x k grid (k odd, 3 to %d)",
                       c->path, (long long)run_id, CONFIG_MAX_SLICE_POINTS);
    if (src != SQLITE_DONE)
        return store__fail(c, src, err, errlen, "reading the slice of run "
                           "%lld", (long long)run_id);
    return 0;
}

int store__profiles_read(struct conn *c, int64_t run_id, run_result *out,
                         char *err, size_t errlen)
{
    int rc = spectrum_read(c, run_id, &out->spectrum, err, errlen);
    if (rc == 0)
        rc = path_read(c, run_id, &out->path, err, errlen);
    return rc < 0 ? rc : slice_read(c, run_id, &out->slice, err, errlen);
}
