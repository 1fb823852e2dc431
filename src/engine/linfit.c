/* linfit.c — the best linear predictor, docs/theory.md §5. Independent of the
 * network code on purpose: the baseline is checked against it. */
#include "linfit.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "chol.h"
#include "err.h"
#include "loss.h"

#define LINFIT_CHUNK 1024
#define RCOND 1e-12                /* singular values below RCOND*max are 0 */
#define NEWTON_MAX_ITERS 200
#define NEWTON_GRAD_TOL 1e-13      /* stop when ||grad|| is below this */
#define REFINE_STEPS 3
/* The Cholesky path (lstsq_chol) is for well-conditioned X only: past this
 * ratio of the factor's squared diagonal, a lower bound on cond(X^T X),
 * or when the last refinement still moves u by more than CHOL_SETTLED of
 * its norm, the SVD-based paths decide (rank, minimum norm). */
#define CHOL_MAX_COND 1e10
#define CHOL_SETTLED 1e-6
/* dgelsd on a copy of X is one LAPACK call that no cancel reaches: about
 * n d min(n, d) multiply-adds, 5 s at n = d = 2000. Up to this many (some
 * 20 ms) it is used as it always was; beyond, the Cholesky path first. */
#define LAPACK_MAX_UNITS (1u << 26)
#define SEPARABLE_LOSS 1e-12       /* where a separable fit stops */

/* Every loop below over the n rows or the d x d matrices ticks the poller
 * at least once a row (issue 9 §4: a fit at large n or d takes seconds).
 * A helper that returns a value returns a meaningless one when the poller
 * says stop; its caller looks at poller_code() and returns that. */

/* ---- helpers over chunks of rows ---- */

static double fit_loss(enum loss_kind loss, const double *X, const double *y,
                       int n, int d, const double *u, double *grad, poller *pl)
{
    double sum = 0;
    if (grad)
        memset(grad, 0, sizeof *grad * (size_t)d);
    for (int i = 0; i < n; i++) {
        const double *x = X + (size_t)i * d;
        double p = 0, d1;
        for (int k = 0; k < d; k++)
            p += u[k] * x[k];
        sum += loss_eval(loss, p, y[i], grad ? &d1 : NULL, NULL);
        if (grad)
            for (int k = 0; k < d; k++)
                grad[k] += d1 * x[k];
        if (poller_tick(pl, 2 * (uint64_t)d))
            return NAN;
    }
    if (grad)
        for (int k = 0; k < d; k++)
            grad[k] /= n;
    return sum / n;
}

double linfit_loss(enum loss_kind loss, const double *X, const double *y,
                   int n, int d, const double *u, double *grad)
{
    return fit_loss(loss, X, y, n, d, u, grad, NULL);
}

static double norm(const double *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += x[i] * x[i];
    return sqrt(s);
}

/* Rows per rank-k update of a d x d Gram matrix: d^2 k / 2 multiply-adds
 * within POLLER_CALL_UNITS. The whole chunk (the result of earlier
 * versions, bit for bit) up to d = 256; one row per call from d = 8192,
 * where a call is the d^2 / 2 of a rank-one update, about 30 ms at 8192. */
static int gram_rows_per_call(int d)
{
    double r = 2.0 * POLLER_CALL_UNITS / ((double)d * d);
    return r >= LINFIT_CHUNK ? LINFIT_CHUNK : r < 1 ? 1 : (int)r;
}

/* The upper triangle from the lower one, a row at a time. */
static int symmetrise(double *H, int d, poller *pl)
{
    for (int i = 0; i < d; i++) {
        for (int j = i + 1; j < d; j++)
            H[(size_t)i * d + j] = H[(size_t)j * d + i];
        int rc = poller_tick(pl, (uint64_t)(d - i));
        if (rc)
            return rc;
    }
    return 0;
}

/* H = (1/n) sum_i wt_i x_i x_i^T with wt_i = l''(u^T x_i); scratch holds
 * LINFIT_CHUNK x d. 0, or the poller's code. */
static int weighted_gram(enum loss_kind loss, const double *X, const double *y,
                         int n, int d, const double *u, double *H,
                         double *scratch, poller *pl)
{
    int per_call = gram_rows_per_call(d), rc;
    memset(H, 0, sizeof *H * (size_t)d * d);
    for (int i0 = 0; i0 < n; i0 += LINFIT_CHUNK) {
        int rows = n - i0 < LINFIT_CHUNK ? n - i0 : LINFIT_CHUNK;
        for (int i = 0; i < rows; i++) {
            const double *x = X + (size_t)(i0 + i) * d;
            double p = 0, d2 = 1;
            if (u) {
                for (int k = 0; k < d; k++)
                    p += u[k] * x[k];
                loss_eval(loss, p, y[i0 + i], NULL, &d2);
            }
            double s = sqrt(d2 / n);
            for (int k = 0; k < d; k++)
                scratch[(size_t)i * d + k] = s * x[k];
            if ((rc = poller_tick(pl, 2 * (uint64_t)d)))
                return rc;
        }
        for (int r0 = 0; r0 < rows; r0 += per_call) {
            int k = rows - r0 < per_call ? rows - r0 : per_call;
            blas_syrk_lower(true, d, k, 1.0, scratch + (size_t)r0 * d, d, 1.0, H, d);
            if ((rc = poller_tick(pl, (uint64_t)d * d * (uint64_t)k / 2)))
                return rc;
        }
    }
    return symmetrise(H, d, pl);
}

/* ---- least squares ---- */

/* dgelsd on lapack_gelsd's copy of X (the one copy_limit bounds). */
static int lstsq_copy(const double *X, const double *y, int n, int d, double *u,
                      int *rank, char *err, size_t errlen)
{
    size_t ldb = (size_t)(n > d ? n : d);
    double *b = calloc(ldb, sizeof *b);
    int rc = 0;
    if (!b)
        return err_set(err, errlen, -ENOMEM, "linear baseline: out of memory");
    memcpy(b, y, sizeof *b * (size_t)n);
    int info = lapack_gelsd(n, d, X, b, RCOND, rank);
    if (info != 0) {
        rc = err_set(err, errlen, -EDOM,
                     "linear baseline: least squares (dgelsd) failed, info %d", info);
        goto out;
    }
    memcpy(u, b, sizeof *u * (size_t)d);
out:
    free(b);
    return rc;
}

/* u = G^+ r where G = Q diag(lam) Q^T (Q's rows are eigenvectors). */
static int pinv_apply(const double *Q, const double *lam, int d, double cut,
                      const double *r, double *u, double *tmp, poller *pl)
{
    int rc;
    for (int k = 0; k < d; k++) {
        double s = 0;
        for (int j = 0; j < d; j++)
            s += Q[(size_t)k * d + j] * r[j];
        tmp[k] = lam[k] > cut ? s / lam[k] : 0.0;
        if ((rc = poller_tick(pl, (uint64_t)d)))
            return rc;
    }
    for (int j = 0; j < d; j++) {
        double s = 0;
        for (int k = 0; k < d; k++)
            s += Q[(size_t)k * d + j] * tmp[k];
        u[j] = s;
        if ((rc = poller_tick(pl, (uint64_t)d)))
            return rc;
    }
    return 0;
}

/* r = X^T (y - X u) / n */
static int normal_residual(const double *X, const double *y, int n, int d,
                           const double *u, double *r, poller *pl)
{
    memset(r, 0, sizeof *r * (size_t)d);
    for (int i = 0; i < n; i++) {
        const double *x = X + (size_t)i * d;
        double e = y[i];
        for (int k = 0; k < d; k++)
            e -= u[k] * x[k];
        for (int k = 0; k < d; k++)
            r[k] += e * x[k];
        int rc = poller_tick(pl, 2 * (uint64_t)d);
        if (rc)
            return rc;
    }
    for (int k = 0; k < d; k++)
        r[k] /= n;
    return 0;
}

static int lstsq_normal(const double *X, const double *y, int n, int d,
                        double *u, int *rank, poller *pl, char *err,
                        size_t errlen)
{
    size_t dd = (size_t)d * d;
    double *Q = malloc(sizeof *Q * dd), *lam = malloc(sizeof *lam * (size_t)d);
    double *scratch = malloc(sizeof *scratch * (size_t)LINFIT_CHUNK * d);
    double *r = malloc(sizeof *r * (size_t)d * 3);
    int rc = 0;
    if (!Q || !lam || !scratch || !r) {
        rc = err_set(err, errlen, -ENOMEM, "linear baseline: out of memory");
        goto out;
    }
    if ((rc = weighted_gram(LOSS_SQUARED, X, y, n, d, NULL, Q, scratch, pl)))
        goto out;
    int info = lapack_syev(d, Q, lam, true);
    if (info != 0) {
        rc = err_set(err, errlen, -EDOM,
                     "linear baseline: eigen-decomposition failed, info %d", info);
        goto out;
    }
    double cut = RCOND * RCOND * fabs(lam[d - 1]); /* lam = sigma^2 / n */
    *rank = 0;
    for (int k = 0; k < d; k++)
        *rank += lam[k] > cut;
    memset(u, 0, sizeof *u * (size_t)d);
    for (int it = 0; it <= REFINE_STEPS; it++) {
        if ((rc = normal_residual(X, y, n, d, u, r, pl)) ||
            (rc = pinv_apply(Q, lam, d, cut, r, r + d, r + 2 * d, pl)))
            goto out;
        for (int k = 0; k < d; k++)
            u[k] += r[d + k];
    }
out:
    free(Q);
    free(lam);
    free(scratch);
    free(r);
    return rc;
}

/* Largest over smallest squared diagonal entry of the factor. */
static double diag_ratio(const double *L, int d)
{
    double lo = INFINITY, hi = 0;
    for (int k = 0; k < d; k++) {
        double v = L[(size_t)k * d + k] * L[(size_t)k * d + k];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    return lo > 0 ? hi / lo : INFINITY;
}

/* u = G^-1 X^T y / n with G = X^T X / n by its tiled Cholesky factor,
 * refined on the true residual (the corrected seminormal equations): for
 * a well-conditioned X as accurate as dgelsd, and every step ticks the
 * poller. 1 when X is not well-conditioned enough for it (the caller
 * then solves by SVD); 0; or a negative code. */
static int lstsq_chol(const double *X, const double *y, int n, int d,
                      double *u, poller *pl, char *err, size_t errlen)
{
    double *L = malloc(sizeof *L * (size_t)d * d);
    double *scratch = malloc(sizeof *scratch * (size_t)LINFIT_CHUNK * d);
    double *r = malloc(sizeof *r * (size_t)d);
    int rc = 0;
    if (!L || !scratch || !r) {
        rc = err_set(err, errlen, -ENOMEM, "linear baseline: out of memory");
        goto out;
    }
    if ((rc = weighted_gram(LOSS_SQUARED, X, y, n, d, NULL, L, scratch, pl)) ||
        (rc = chol_factor(d, L, pl)))
        goto out;
    if (!(diag_ratio(L, d) <= CHOL_MAX_COND)) {
        rc = 1;
        goto out;
    }
    memset(u, 0, sizeof *u * (size_t)d);
    double step = 0;
    for (int it = 0; it <= REFINE_STEPS; it++) {
        if ((rc = normal_residual(X, y, n, d, u, r, pl)) ||
            (rc = chol_solve(d, L, r, pl)))
            goto out;
        for (int k = 0; k < d; k++)
            u[k] += r[k];
        step = norm(r, d);
    }
    rc = step <= CHOL_SETTLED * norm(u, d) ? 0 : 1;
out:
    free(L);
    free(scratch);
    free(r);
    return rc;
}

/* The paths of linfit_lstsq (linfit.h), chosen in one place for it and
 * for linfit_bytes: *chol when the Cholesky path is tried first, and the
 * SVD-based path that solves it otherwise (or when that one gives up). */
enum lstsq_svd { LSTSQ_COPY, LSTSQ_NORMAL };

static enum lstsq_svd lstsq_plan(int n, int d, size_t copy_limit, bool *chol)
{
    bool fits = (size_t)n * d * sizeof(double) <= copy_limit;
    double lapack = (double)n * d * (n < d ? n : d);
    *chol = n >= d && !(fits && lapack <= LAPACK_MAX_UNITS);
    return fits ? LSTSQ_COPY : LSTSQ_NORMAL;
}

int linfit_lstsq(const double *X, const double *y, int n, int d, double *u,
                 size_t copy_limit, int *rank, poller *pl, char *err,
                 size_t errlen)
{
    bool chol;
    enum lstsq_svd svd = lstsq_plan(n, d, copy_limit, &chol);
    if (chol) {
        int rc = lstsq_chol(X, y, n, d, u, pl, err, errlen);
        *rank = d;
        if (rc <= 0)
            return rc;
    }
    if (svd == LSTSQ_COPY)
        return lstsq_copy(X, y, n, d, u, rank, err, errlen);
    return lstsq_normal(X, y, n, d, u, rank, pl, err, errlen);
}

/* ---- Newton with backtracking for the other losses ---- */

static bool separates(const double *X, const double *y, int n, int d,
                      const double *u, poller *pl)
{
    for (int i = 0; i < n; i++) {
        double p = 0;
        for (int k = 0; k < d; k++)
            p += u[k] * X[(size_t)i * d + k];
        if (y[i] * p <= 0 || poller_tick(pl, (uint64_t)d))
            return false;
    }
    return true;
}

/* The lower triangle of H, plus mu on the diagonal, into work. */
static int shifted_lower(const double *H, int d, double mu, double *work,
                         poller *pl)
{
    for (int i = 0; i < d; i++) {
        memcpy(work + (size_t)i * d, H + (size_t)i * d, sizeof *work * (size_t)(i + 1));
        work[(size_t)i * d + i] += mu;
        int rc = poller_tick(pl, (uint64_t)i + 1);
        if (rc)
            return rc;
    }
    return 0;
}

/* Solves (H + mu I) step = -g, raising mu from 0 until the Cholesky
 * factorisation succeeds (H is singular for rank-deficient X and nearly so
 * on separable data). By tiles (chol.h), not LAPACK's dposv, so that a
 * cancel reaches it. 0, -EDOM, or the poller's code. */
static int newton_step(const double *H, const double *g, int d, double *step,
                       double *work, poller *pl)
{
    double tr = 0;
    for (int k = 0; k < d; k++)
        tr += H[(size_t)k * d + k];
    double mu = 0, base = tr > 0 ? 1e-12 * tr / d : 1e-12;
    for (int attempt = 0; attempt < 40; attempt++) {
        int rc = shifted_lower(H, d, mu, work, pl);
        if (rc || (rc = chol_factor(d, work, pl)) < 0)
            return rc;
        if (rc == 0) {
            for (int k = 0; k < d; k++)
                step[k] = -g[k];
            return chol_solve(d, work, step, pl);
        }
        mu = mu == 0 ? base : mu * 10;
    }
    return -EDOM;
}

typedef struct newton_ws {
    double *g, *H, *step, *trial, *gt, *work, *scratch;
    poller *pl;
} newton_ws;

/* Armijo backtracking along w->step from u. Near the optimum the decrease
 * of a Newton step falls below the rounding of F itself, so a full step
 * that leaves F unchanged to rounding is still taken when it shrinks the
 * gradient: that is where the last digits of u* come from. Updates u, *f
 * and w->g; returns 1 when no step was taken, or the poller's code. */
static int line_search(enum loss_kind loss, const double *X, const double *y,
                       int n, int d, double *u, double *f, double gnorm,
                       newton_ws *w)
{
    double slope = 0;
    for (int k = 0; k < d; k++)
        slope += w->g[k] * w->step[k];
    for (double t = 1; t > 1e-20; t *= 0.5) {
        for (int k = 0; k < d; k++)
            w->trial[k] = u[k] + t * w->step[k];
        double ft = fit_loss(loss, X, y, n, d, w->trial, w->gt, w->pl);
        if (poller_code(w->pl))
            return poller_code(w->pl);
        bool armijo = ft <= *f + 1e-4 * t * slope && ft < *f;
        bool flat = t == 1 && ft <= *f + 1e-14 * fabs(*f) &&
                    norm(w->gt, d) < gnorm;
        if (armijo || flat) {
            memcpy(u, w->trial, sizeof *u * (size_t)d);
            memcpy(w->g, w->gt, sizeof *w->g * (size_t)d);
            *f = ft;
            return 0;
        }
    }
    return 1;
}

/* 0, -EDOM when no descent step is found, or the poller's code. */
static int newton(enum loss_kind loss, const double *X, const double *y, int n,
                  int d, double *u, linfit_result *out, newton_ws *w)
{
    double f = fit_loss(loss, X, y, n, d, u, w->g, w->pl);
    int it, rc = poller_code(w->pl);
    for (it = 0; it < NEWTON_MAX_ITERS && !rc; it++) {
        double gn = norm(w->g, d);
        if (gn < NEWTON_GRAD_TOL)
            break;
        /* Separable: the infimum 0 is approached as ||u|| grows without
         * bound; stop once it is reached to float64 resolution. */
        out->separable = out->separable || separates(X, y, n, d, u, w->pl);
        if ((rc = poller_code(w->pl)))
            break;
        if (out->separable && f < SEPARABLE_LOSS)
            break;
        if ((rc = weighted_gram(loss, X, y, n, d, u, w->H, w->scratch, w->pl)))
            break;
        if ((rc = newton_step(w->H, w->g, d, w->step, w->work, w->pl)))
            break;
        if ((rc = line_search(loss, X, y, n, d, u, &f, gn, w)))
            break; /* 1: no step improves F or its gradient, the optimum */
    }
    if (rc < 0)
        return rc;
    out->iters = it;
    out->separable = out->separable || separates(X, y, n, d, u, w->pl);
    return poller_code(w->pl);
}

static int solve_newton(enum loss_kind loss, const double *X, const double *y,
                        int n, int d, double *u, linfit_result *out,
                        poller *pl, char *err, size_t errlen)
{
    newton_ws w = {.pl = pl};
    size_t dd = (size_t)d * d;
    w.g = malloc(sizeof(double) * (size_t)d);
    w.step = malloc(sizeof(double) * (size_t)d);
    w.trial = malloc(sizeof(double) * (size_t)d);
    w.gt = malloc(sizeof(double) * (size_t)d);
    w.H = malloc(sizeof(double) * dd);
    w.work = malloc(sizeof(double) * dd);
    w.scratch = malloc(sizeof(double) * (size_t)LINFIT_CHUNK * d);
    int rc = 0;
    if (!w.g || !w.step || !w.trial || !w.gt || !w.H || !w.work || !w.scratch) {
        rc = err_set(err, errlen, -ENOMEM, "linear baseline: out of memory");
        goto out;
    }
    /* logcosh is near-quadratic at its optimum: start from least squares */
    if (loss == LOSS_LOGCOSH) {
        int rank;
        rc = linfit_lstsq(X, y, n, d, u, LINFIT_COPY_LIMIT, &rank, pl, err, errlen);
        if (rc)
            goto out;
    } else {
        memset(u, 0, sizeof *u * (size_t)d);
    }
    rc = newton(loss, X, y, n, d, u, out, &w);
    if (rc == -EDOM)
        err_set(err, errlen, rc,
                "linear baseline: Newton's method found no descent step");
out:
    free(w.g);
    free(w.step);
    free(w.trial);
    free(w.gt);
    free(w.H);
    free(w.work);
    free(w.scratch);
    return rc;
}

int linfit_solve(enum loss_kind loss, const double *X, const double *y, int n,
                 int d, double *u, linfit_result *out, poller *pl, char *err,
                 size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->rank = d;
    int rc;
    if (loss == LOSS_SQUARED)
        rc = linfit_lstsq(X, y, n, d, u, LINFIT_COPY_LIMIT, &out->rank, pl,
                          err, errlen);
    else
        rc = solve_newton(loss, X, y, n, d, u, out, pl, err, errlen);
    if (rc)
        return rc;
    double *g = malloc(sizeof *g * (size_t)d);
    if (!g)
        return err_set(err, errlen, -ENOMEM, "linear baseline: out of memory");
    out->loss = fit_loss(loss, X, y, n, d, u, g, pl);
    out->grad_norm = norm(g, d);
    out->u_norm = norm(u, d);
    free(g);
    return poller_code(pl);
}

/* ---- memory (linfit.h): mirrors the allocations above ---- */

/* The path lstsq_plan picks; with the Cholesky path first, the larger of
 * it and the SVD-based one, which runs after it has freed its own when X
 * is not well-conditioned (the data decide, not the shape). */
static size_t lstsq_bytes(int n, int d, size_t copy_limit)
{
    size_t N = (size_t)n, D = (size_t)d, C = (size_t)LINFIT_CHUNK;
    bool chol;
    size_t svd = lstsq_plan(n, d, copy_limit, &chol) == LSTSQ_COPY
                     ? sizeof(double) * (N > D ? N : D) + lapack_gelsd_bytes(n, d)
                     : sizeof(double) * (D * D + D + C * D + 3 * D) +
                           lapack_syev_bytes(d, true);
    size_t tiles = chol ? sizeof(double) * (D * D + C * D + D) : 0;
    return svd > tiles ? svd : tiles;
}

size_t linfit_bytes(enum loss_kind loss, int n, int d)
{
    if (n < 1 || d < 1)
        return 0;
    size_t D = (size_t)d, ws;
    if (loss == LOSS_SQUARED) {
        ws = lstsq_bytes(n, d, LINFIT_COPY_LIMIT);
    } else {
        ws = sizeof(double) * (4 * D + 2 * D * D + (size_t)LINFIT_CHUNK * D);
        if (loss == LOSS_LOGCOSH)
            ws += lstsq_bytes(n, d, LINFIT_COPY_LIMIT);
    }
    /* the final gradient comes after the workspace is freed */
    return ws > sizeof(double) * D ? ws : sizeof(double) * D;
}
