/* report.h — `resweep report JOB` (issue 6), internal to clients/cli.
 *
 *   report.c      the command: reads the job from the database (read-only),
 *                 groups its runs and writes the tables and the overview
 *   report_doc.c  one writer for report.md and report.html
 *   report_fig.c  figures drawn by gnuplot, SVG and PNG
 *   report_hess.c the curvature estimates: converged, capped, what λmin
 *                 certifies
 *   report_land.c the landscape figures: spectral densities, paths to
 *                 the linear point, slices (docs/theory.md §6.6-§6.8)
 *   report_seeds.c the paired comparisons over seeds (§6.10)
 *
 * Errors are negative codes with a sentence in an error buffer, like the
 * rest of resweep; cmd_report turns them into exit codes.
 */
#ifndef RESWEEP_REPORT_H
#define RESWEEP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <sqlite3.h>

/* Columns of `runs` a job may vary besides the table keys (arch, blocks,
 * unit_depth, dist, loss) and the seed. */
#define REP_MAX_EXTRA 24

/* Violation: the certificate of docs/theory.md §6.4 exceeded by more than
 * rounding. The slack scales with |F| because gap and cert are both
 * differences of O(|F|) numbers. */
#define REP_VIOLATION_RTOL 1e-9

/* Runs listed (violations, unconverged estimates) before "and N more". */
#define REP_LIST_MAX 50

/* Curves drawn per (arch, blocks, unit_depth): enough to see the spread,
 * few enough that a 3000-run job gives a readable, small SVG. */
#define REP_CURVES_PER_GROUP 8

/* A value of a varied configuration column, for grouping and display. */
typedef struct rep_val {
    bool null;
    bool text;          /* else a number in num */
    double num;
    char str[32];       /* as displayed */
} rep_val;

/* One run of the job: its key columns and the measurements the report
 * uses. Unmeasured values (SQL NULL) are NAN. */
typedef struct rep_run {
    long long run_id;
    char status[12];
    char arch[16];
    int blocks, unit_depth;
    char dist[16];      /* "" for csv and inline data */
    char loss[16];
    char optimizer[8];
    long long seed, steps;
    int converged;      /* 0/1, -1 without a result */
    double init_loss, train_loss, lin_loss, gap, cert, cert_grad;
    double grad_norm, grad_out, grad_v, hess_min, w_norm;
    double hess_max, hess_min_res, hess_max_res;   /* docs/theory.md §6.3 */
    int lanczos_iters;  /* -1 without an estimate */
    int hess_converged; /* 0/1, -1 without an estimate */
    int lanczos_capped; /* 0/1, -1 without one or from before schema 2 */
    double regret_lhs, regret_lin, regret_bound;
    rep_val *extra;     /* nextra values, inside rep_job.extra_vals */
} rep_run;

typedef struct rep_job {
    long long id;
    char *name, *spec;                 /* owned */
    double created_at;
    long total, queued, running, done, failed, diverged, canceled;
    rep_run *runs;                     /* owned, nruns of them */
    size_t nruns;
    int nextra;                        /* varied columns besides the keys */
    char extra_names[REP_MAX_EXTRA][16];
    rep_val *extra_vals;               /* owned, nruns * nextra */
    bool vary_blocks, vary_depth, vary_dist, vary_loss, vary_arch;
    bool show_blocks;                  /* some run has blocks > 1, or they vary */
    long nseeds;
    char *varies;                      /* owned: "arch (resnet, plain), ..." */
} rep_job;

/* True when r is done and gap > cert + 1e-9 (1 + |F|). */
bool rep_violates(const rep_run *r);
/* True when r is done with a Hessian estimate that is not known to have
 * converged: its λmin is then only an upper bound on the smallest
 * eigenvalue. */
bool rep_hess_open(const rep_run *r);
/* r's λmin for a table: the number when its estimate converged, "≤ x"
 * when it did not (a Rayleigh quotient bounds the smallest eigenvalue
 * from above), "—" without one. */
void rep_fmt_hess_min(const rep_run *r, char *buf, size_t len);
/* "L" or "B×L" label of a run's depth (blocks shown when the job varies
 * them or any run has more than one). */
void rep_depth_label(const rep_job *j, const rep_run *r, char *buf,
                     size_t len);
/* Rank of an architecture for ordering tables and legends. */
int rep_arch_rank(const char *arch);
/* Numbers for reading: 4 significant digits, "—" for NAN. */
void rep_fmt(double v, char *buf, size_t len);

/* A growing string (gnuplot scripts, sentences). Out of memory sticks:
 * later appends do nothing and oom stays set. */
typedef struct rep_buf {
    char *p;
    size_t len, cap;
    bool oom;
} rep_buf;
void rep_buf_printf(rep_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rep_buf_free(rep_buf *b);

/* --- report_doc.c: Markdown and HTML at once ------------------------- */

typedef struct rep_doc {
    FILE *md, *html;
    const char *dir;          /* borrowed */
    int nfig;
    int ncols;                /* of the table being written */
    bool *right;
} rep_doc;

/* Creates DIR/report.md and DIR/report.html; 0 or -errno. */
int rep_doc_open(rep_doc *d, const char *dir, const char *title, char *err,
                 size_t errlen);
void rep_doc_h(rep_doc *d, int level, const char *text);
/* A paragraph; text may use **bold** and `code` (Markdown syntax, turned
 * into HTML for the page). */
void rep_doc_p(rep_doc *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rep_doc_code(rep_doc *d, const char *lang, const char *text);
void rep_doc_table(rep_doc *d, int ncols, const char *const *headers,
                   const bool *right);
void rep_doc_row(rep_doc *d, const char *const *cells);
void rep_doc_table_end(rep_doc *d);
/* Figure DIR/name.svg inline and DIR/name.png as a data URI in the page;
 * the PNG by reference in the Markdown. 0 or -errno. */
int rep_doc_figure(rep_doc *d, const char *name, const char *caption,
                   char *err, size_t errlen);
/* Ends both files; 0, or -EIO when a write failed. Always closes. */
int rep_doc_close(rep_doc *d, char *err, size_t errlen);

/* --- report_hess.c: the curvature estimates ------------------------- */

/* The section on the Hessian estimates (docs/theory.md §6.3): how many
 * converged, how many were capped, what λmin does and does not certify,
 * and the runs whose estimate did not converge. Nothing when no run has
 * one. */
void rep_curvature_section(rep_doc *doc, const rep_job *j);

/* --- report_fig.c: gnuplot ------------------------------------------- */

#define REP_MAX_FIGS 12

typedef struct rep_fig {
    char name[32];            /* DIR/name.svg, .png, .gp */
    bool drawn;               /* false: only its script and data were written */
    char title[96];
    char caption[1024];
} rep_fig;

/* 0 when gnuplot is on PATH; else -ENOENT and a sentence. */
int rep_gnuplot_check(char *err, size_t errlen);

/* Writes every figure that applies to the job into dir (its gnuplot
 * script and data) and, when draw is true, draws it; fills figs and
 * *nfigs. 0, or a negative code with a sentence (gnuplot failed, a file
 * could not be written). */
int rep_figures(const rep_job *j, sqlite3 *db, const char *dir, bool draw,
                rep_fig *figs, int *nfigs, char *err, size_t errlen);

/* Where a figure goes and what was drawn (report_fig.c). */
typedef struct rep_fig_out {
    const char *dir;
    bool draw;
    rep_fig *figs;
    int *nfigs;
    char *err;
    size_t errlen;
} rep_fig_out;

/* Writes DIR/NAME.gp (data, then body for SVG and for PNG), runs it when
 * o->draw and records the figure; panels side by side. 0 or a negative
 * code with a sentence. */
int rep_fig_draw(rep_fig_out *o, const char *name, const char *title,
                 const char *caption, const rep_buf *data,
                 const rep_buf *body, int panels);
/* The colour an architecture has in every figure. */
const char *rep_arch_color(const char *arch);

/* --- report_land.c --------------------------------------------------- */

/* The spectral densities per architecture, the paths to the linear
 * point, and the slice as a contour plot, each only when some run of the
 * job has the rows (tables spectra, paths, slices). */
int rep_landscape_figures(rep_fig_out *o, const rep_job *j, sqlite3 *db);

/* --- report_seeds.c -------------------------------------------------- */

/* The table of seed_stats (schema/009_landscape.sql) with each cell's
 * bootstrap 95% interval of the mean paired difference and the sign
 * test's p-value (include/stats.h), from a generator of fixed seed so
 * that a report is reproducible. Nothing when the job has no pairs; a
 * database of before schema 9 has none. 0 or a negative code with a
 * sentence. */
int rep_seed_section(rep_doc *doc, sqlite3 *db, const rep_job *j, char *err,
                     size_t errlen);

#endif
