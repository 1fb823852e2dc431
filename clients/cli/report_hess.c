/* report_hess.c — the report's section on the Hessian estimates
 * (docs/theory.md §6.3, issue 9): which converged, which were capped by
 * analysis.lanczos_memory_mib, and what λmin does and does not certify
 * (report.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "consts.h"
#include "report.h"

typedef struct hess_counts {
    long done, with, converged, open, capped, negative;
} hess_counts;

/* λmin below 0 by more than the estimate's tolerance: negative curvature
 * whatever the convergence, since λmin is a Rayleigh quotient. */
static bool certainly_negative(const rep_run *r)
{
    double scale = fmax(fabs(r->hess_min), fabs(r->hess_max));
    return r->hess_min < -LANCZOS_RTOL * scale;
}

static void count(const rep_job *j, hess_counts *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < j->nruns; i++) {
        const rep_run *r = &j->runs[i];
        if (strcmp(r->status, "done"))
            continue;
        c->done++;
        if (isnan(r->hess_min))
            continue;
        c->with++;
        c->converged += r->hess_converged == 1;
        c->open += rep_hess_open(r);
        c->capped += r->lanczos_capped == 1;
        c->negative += certainly_negative(r);
    }
}

/* LANCZOS_RTOL as a reader writes it: "1e-6", not printf's "1e-06". */
static void fmt_rtol(char *buf, size_t len)
{
    int e = (int)floor(log10(LANCZOS_RTOL) + 0.5);
    double m = LANCZOS_RTOL / pow(10, e);
    if (fabs(m - 1) < 1e-9)
        snprintf(buf, len, "1e%d", e);
    else
        snprintf(buf, len, "%ge%d", m, e);
}

static void summary(rep_doc *doc, const hess_counts *c)
{
    char tol[32];
    fmt_rtol(tol, sizeof tol);
    char capped[512] = "";
    if (c->capped)
        snprintf(capped, sizeof capped, " %ld %s capped: the basis of "
                 "`analysis.lanczos_iters` vectors would have passed "
                 "`analysis.lanczos_memory_mib`, so Lanczos ran the plain "
                 "recurrence twice instead of storing it (no "
                 "reorthogonalisation, which converges more slowly).",
                 c->capped, c->capped == 1 ? "was" : "were");
    rep_doc_p(doc, "Of the %ld done runs, %ld have a Hessian estimate "
              "(Lanczos on exact Hessian-vector products): **%ld converged** "
              "(both Ritz residuals ≤ %s·max(|λmin|, |λmax|)) and **%ld did "
              "not**.%s", c->done, c->with, c->converged, tol, c->open,
              capped);
    rep_doc_p(doc, "Reading λmin: it is a Rayleigh quotient, so the "
              "Hessian's smallest eigenvalue is at most λmin whether or not "
              "the estimate converged. %ld run%s %s λmin < −%s·max(|λmin|, "
              "|λmax|): negative curvature, so %s not local minima. For a "
              "converged estimate an eigenvalue lies within its residual of "
              "λmin (that it is the smallest is likely, not certified); for "
              "one that did not converge, a λmin ≥ 0 says nothing. Such "
              "values are written `≤ λmin` in this report, and so are medians "
              "over them (a median of upper bounds is one).", c->negative,
              c->negative == 1 ? "" : "s", c->negative == 1 ? "has" : "have",
              tol, c->negative == 1 ? "its end point is" :
              "their end points are");
}

static void open_row(rep_doc *doc, const rep_run *r)
{
    char c[10][40];
    snprintf(c[0], sizeof c[0], "%lld", r->run_id);
    snprintf(c[1], sizeof c[1], "%s", r->arch);
    snprintf(c[2], sizeof c[2], "%d", r->unit_depth);
    snprintf(c[3], sizeof c[3], "%lld", r->seed);
    rep_fmt_hess_min(r, c[4], sizeof c[4]);
    rep_fmt(r->hess_min_res, c[5], sizeof c[5]);
    rep_fmt(r->hess_max, c[6], sizeof c[6]);
    rep_fmt(r->hess_max_res, c[7], sizeof c[7]);
    snprintf(c[8], sizeof c[8], "%d", r->lanczos_iters);
    snprintf(c[9], sizeof c[9], "%s", r->lanczos_capped == 1 ? "yes" :
             r->lanczos_capped == 0 ? "no" : "—");
    const char *p[10];
    for (int i = 0; i < 10; i++)
        p[i] = c[i];
    rep_doc_row(doc, p);
}

static void open_list(rep_doc *doc, const rep_job *j, long open)
{
    static const char *const h[] = {"run", "arch", "L", "seed", "λmin",
                                    "residual", "λmax", "residual",
                                    "iterations", "capped"};
    static const bool right[] = {true, false, true, true, true, true, true,
                                 true, true, false};
    rep_doc_h(doc, 3, "Estimates that did not converge");
    rep_doc_table(doc, 10, h, right);
    long shown = 0;
    for (size_t i = 0; i < j->nruns && shown < REP_LIST_MAX; i++)
        if (rep_hess_open(&j->runs[i]))
            open_row(doc, &j->runs[i]), shown++;
    rep_doc_table_end(doc);
    if (open > shown)
        rep_doc_p(doc, "... and %ld more: `SELECT run_id, hess_min, "
                  "hess_min_res, hess_max, hess_max_res, lanczos_iters, "
                  "lanczos_capped FROM run_results WHERE job_id = %lld AND "
                  "status = 'done' AND hess_converged = 0`.", open - shown,
                  j->id);
    rep_doc_p(doc, "More iterations (`analysis.lanczos_iters`, up to 1000) "
              "shrink the residuals; for capped runs, so does a larger "
              "`analysis.lanczos_memory_mib`, which lets the basis be "
              "stored.");
}

void rep_curvature_section(rep_doc *doc, const rep_job *j)
{
    hess_counts c;
    count(j, &c);
    if (c.with == 0)
        return;
    rep_doc_h(doc, 2, "Curvature estimates (docs/theory.md §6.3)");
    summary(doc, &c);
    if (c.open)
        open_list(doc, j, c.open);
}
