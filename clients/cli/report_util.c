/* report_util.c — the small pieces report.c and report_fig.c share:
 * growing strings, number formatting, run labels (report.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

void rep_buf_printf(rep_buf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

void rep_buf_free(rep_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void rep_fmt(double v, char *buf, size_t len)
{
    if (isnan(v))
        snprintf(buf, len, "—");
    else if (v == 0)
        snprintf(buf, len, "0");
    else
        snprintf(buf, len, "%.4g", v);
}

bool rep_violates(const rep_run *r)
{
    return strcmp(r->status, "done") == 0 && !isnan(r->gap) &&
           !isnan(r->cert) &&
           r->gap > r->cert + REP_VIOLATION_RTOL * (1 + fabs(r->train_loss));
}

bool rep_hess_open(const rep_run *r)
{
    return strcmp(r->status, "done") == 0 && !isnan(r->hess_min) &&
           r->hess_converged != 1;
}

void rep_fmt_hess_min(const rep_run *r, char *buf, size_t len)
{
    char v[32];
    rep_fmt(r->hess_min, v, sizeof v);
    snprintf(buf, len, "%s%s", rep_hess_open(r) ? "≤ " : "", v);
}

int rep_arch_rank(const char *arch)
{
    static const char *const order[] = {
        "resnet", "plain", "decoupled", "deep_resnet", "linear",
    };
    for (int i = 0; i < (int)(sizeof order / sizeof order[0]); i++)
        if (strcmp(arch, order[i]) == 0)
            return i;
    return 99;
}

void rep_depth_label(const rep_job *j, const rep_run *r, char *buf,
                     size_t len)
{
    if (j->vary_blocks || r->blocks > 1)
        snprintf(buf, len, "%d×%d", r->blocks, r->unit_depth);
    else
        snprintf(buf, len, "%d", r->unit_depth);
}

