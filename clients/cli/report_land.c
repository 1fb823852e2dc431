/* report_land.c — the landscape figures (docs/theory.md §6.6-§6.8): the
 * SLQ spectral densities per architecture, the paths to the linear
 * point, and the slice around an end point as a contour plot. Each is
 * drawn only when some run of the job has the rows, like the others
 * (report_fig.c). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

#define LAND_ARCHS 5
#define LAND_PANELS 4

static const char *const land_archs[LAND_ARCHS] = {
    "resnet", "plain", "decoupled", "deep_resnet", "linear",
};

/* The job's first REP_CURVES_PER_GROUP done runs of ?2 with rows in the
 * table named in the outer query, as the IN list. */
#define FIRST_RUNS(table)                                                     \
    "SELECT r2.run_id FROM runs r2 WHERE r2.job_id = ?1 AND r2.arch = ?2"    \
    " AND r2.status = 'done' AND EXISTS (SELECT 1 FROM " table " t2"         \
    " WHERE t2.run_id = r2.run_id) ORDER BY r2.run_id LIMIT ?3"

static const char spectra_sql[] =
    "SELECT s.run_id, (s.lo + s.hi) / 2, s.density FROM spectra s"
    " WHERE s.run_id IN (" FIRST_RUNS("spectra") ") ORDER BY s.run_id, s.bin";
static const char paths_sql[] =
    "SELECT p.run_id, p.t, p.loss FROM paths p"
    " WHERE p.run_id IN (" FIRST_RUNS("paths") ") ORDER BY p.run_id, p.point";
/* one run: the first of the architecture with a slice; i breaks rows */
static const char slices_sql[] =
    "SELECT s.i, s.a, s.b, s.loss FROM slices s"
    " WHERE s.run_id IN (" FIRST_RUNS("slices") ") ORDER BY s.i, s.j";

/* Datablock $<tag><k> of the rows of sql for arch: columns 1.. of each
 * row, a blank line where column 0 changes (a new run's curve, a new
 * row of a grid); NULL as NaN (a gap). The number of rows, or -1 with
 * the database's sentence. */
static long rows_block(rep_buf *d, sqlite3 *db, const char *sql,
                       long long job, const char *arch, int limit,
                       const char *tag, int k, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        /* a database of before the table (schema 6, 9): nothing to draw */
        if (strstr(sqlite3_errmsg(db), "no such table"))
            return 0;
        snprintf(err, errlen, "reading the landscape tables: %s",
                 sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_int64(st, 1, job);
    sqlite3_bind_text(st, 2, arch, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, limit);
    rep_buf_printf(d, "$%s%d << EOD\n", tag, k);
    long n = 0;
    long long prev = 0;
    int rc, cols = sqlite3_column_count(st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        long long id = sqlite3_column_int64(st, 0);
        if (n++ && id != prev)
            rep_buf_printf(d, "\n");
        prev = id;
        for (int c = 1; c < cols; c++) {
            if (sqlite3_column_type(st, c) == SQLITE_NULL)
                rep_buf_printf(d, "%sNaN", c > 1 ? " " : "");
            else
                rep_buf_printf(d, "%s%.17g", c > 1 ? " " : "",
                               sqlite3_column_double(st, c));
        }
        rep_buf_printf(d, "\n");
    }
    rep_buf_printf(d, "EOD\n");
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "reading the landscape tables: %s",
                 sqlite3_errmsg(db));
        n = -1;
    }
    sqlite3_finalize(st);
    return n;
}

/* One datablock per architecture with rows; their names in shown. */
static int blocks_per_arch(rep_buf *d, sqlite3 *db, const rep_job *j,
                           const char *sql, int limit, const char *tag,
                           const char **shown, char *err, size_t errlen)
{
    int panels = 0;
    for (int a = 0; a < LAND_ARCHS && panels < LAND_PANELS; a++) {
        long n = rows_block(d, db, sql, j->id, land_archs[a], limit, tag,
                            panels, err, errlen);
        if (n < 0)
            return -EIO;
        if (n > 0)
            shown[panels++] = land_archs[a];
    }
    return panels;
}

typedef struct land_fig {
    const char *sql, *tag, *name, *title, *caption;
    int limit;
    /* the gnuplot of panel p, architecture arch */
    void (*panel)(rep_buf *body, int p, const char *arch);
    const char *setup;
} land_fig;

static void spectrum_panel(rep_buf *b, int p, const char *arch)
{
    rep_buf_printf(b, "set title \"%s\" noenhanced\nplot $S%d using 1:2 "
                   "with histeps lw 1.2 lc rgb \"%s\" notitle\n", arch, p,
                   rep_arch_color(arch));
}

static void path_panel(rep_buf *b, int p, const char *arch)
{
    rep_buf_printf(b, "set title \"%s\" noenhanced\nplot $P%d using 1:2 "
                   "with linespoints pt 7 ps 0.4 lw 1.2 lc rgb \"%s\" "
                   "notitle\n", arch, p, rep_arch_color(arch));
}

static void slice_panel(rep_buf *b, int p, const char *arch)
{
    rep_buf_printf(b, "set title \"%s\" noenhanced\nsplot $L%d using 1:2:3 "
                   "with pm3d notitle, $L%d using 1:2:3 with lines nosurface "
                   "lc rgb \"#222222\" notitle\n", arch, p, p);
}

static const land_fig figs[] = {
    {spectra_sql, "S", "spectra", "Spectral densities of the Hessian",
     "SLQ estimate of the Hessian's spectral density at the end point "
     "(docs/theory.md §6.6), up to 8 runs per architecture (the first by "
     "run id), one line each.", REP_CURVES_PER_GROUP, spectrum_panel,
     "set xlabel \"eigenvalue λ\"\nset ylabel \"density\"\n"},
    {paths_sql, "P", "paths", "Paths to the linear point",
     "F along the straight segment from the end point (t = 0) to the point "
     "of the same network realising u* (t = 1; docs/theory.md §6.7), up to "
     "8 runs per architecture; a bump above both ends is a barrier.",
     REP_CURVES_PER_GROUP, path_panel,
     "set xlabel \"t\"\nset ylabel \"training loss F\"\nset xrange [0:1]\n"},
    {slices_sql, "L", "slice", "Slices around the end point",
     "F on the grid θ + a d₁ + b d₂ around the end point (the centre) "
     "along two random filter-normalised directions (docs/theory.md "
     "§6.8), for the first run of each architecture with a slice; colour "
     "and contour lines are F (log scale).", 1, slice_panel,
     "set view map\nset pm3d at b\nset contour base\n"
     "set cntrparam levels 10\nunset clabel\nset logscale cb\n"
     "set xlabel \"a\"\nset ylabel \"b\"\nset size ratio -1\n"},
};

static int land_draw(rep_fig_out *o, const rep_job *j, sqlite3 *db,
                     const land_fig *f)
{
    rep_buf data = {0}, body = {0};
    const char *shown[LAND_PANELS];
    int panels = blocks_per_arch(&data, db, j, f->sql, f->limit, f->tag,
                                 shown, o->err, o->errlen);
    int rc = panels < 0 ? panels : 0;
    if (panels > 0) {
        rep_buf_printf(&body, "reset\nset multiplot layout 1,%d\n%s", panels,
                       f->setup);
        for (int p = 0; p < panels; p++)
            f->panel(&body, p, shown[p]);
        rep_buf_printf(&body, "unset multiplot\n");
        rc = rep_fig_draw(o, f->name, f->title, f->caption, &data, &body,
                          panels);
    }
    rep_buf_free(&data);
    rep_buf_free(&body);
    return rc;
}

int rep_landscape_figures(rep_fig_out *o, const rep_job *j, sqlite3 *db)
{
    int rc = 0;
    for (size_t k = 0; k < sizeof figs / sizeof figs[0] && rc == 0; k++)
        rc = land_draw(o, j, db, &figs[k]);
    return rc;
}
