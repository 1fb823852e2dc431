/* lanczos.c — see lanczos.h. */
#include "lanczos.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "err.h"

#define LANCZOS_BREAKDOWN 1e-10

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* w -= Q_k (Q_k^T w), twice (one pass loses orthogonality to rounding
 * when w has shrunk a lot; the second restores it). */
static void reorthogonalise(const double *Q, int k, size_t dim, double *w,
                            double *coef)
{
    for (int pass = 0; pass < 2; pass++) {
        blas_gemv(false, k, (int)dim, 1.0, Q, (int)dim, w, 0.0, coef);
        blas_gemv(true, k, (int)dim, -1.0, Q, (int)dim, coef, 1.0, w);
    }
}

typedef struct lanczos_ws {
    double *Q, *alpha, *beta, *coef, *w, *Z, *d, *e;
} lanczos_ws;

static void ws_free(lanczos_ws *s)
{
    free(s->Q);
    free(s->alpha);
    free(s->beta);
    free(s->coef);
    free(s->w);
    free(s->Z);
    free(s->d);
    free(s->e);
}

static int ws_alloc(lanczos_ws *s, size_t dim, int k)
{
    memset(s, 0, sizeof *s);
    s->Q = malloc(sizeof *s->Q * dim * (size_t)(k + 1));
    s->alpha = malloc(sizeof(double) * (size_t)k);
    s->beta = malloc(sizeof(double) * (size_t)k);
    s->coef = malloc(sizeof(double) * (size_t)(k + 1));
    s->w = malloc(sizeof(double) * dim * 2);
    s->Z = malloc(sizeof(double) * (size_t)k * (size_t)k);
    s->d = malloc(sizeof(double) * (size_t)k);
    s->e = malloc(sizeof(double) * (size_t)k);
    if (!s->Q || !s->alpha || !s->beta || !s->coef || !s->w || !s->Z ||
        !s->d || !s->e) {
        ws_free(s);
        return -ENOMEM;
    }
    return 0;
}

/* The recurrence; returns the number of steps taken (stops early on an
 * invariant subspace) or a negative code. */
static int iterate(size_t dim, lanczos_op op, void *ctx, int k, rng *r,
                   lanczos_ws *s)
{
    double *q = s->Q, *w = s->w;
    for (size_t i = 0; i < dim; i++)
        q[i] = rng_normal(r);
    double nq = sqrt(dot(q, q, dim));
    for (size_t i = 0; i < dim; i++)
        q[i] /= nq;
    int j;
    double anorm = 0; /* running estimate of ||A|| from T's rows */
    for (j = 0; j < k; j++) {
        double *qj = s->Q + (size_t)j * dim;
        int rc = op(ctx, qj, w);
        if (rc)
            return rc;
        s->alpha[j] = dot(qj, w, dim);
        reorthogonalise(s->Q, j + 1, dim, w, s->coef);
        s->beta[j] = sqrt(dot(w, w, dim));
        double row = fabs(s->alpha[j]) + s->beta[j] + (j ? s->beta[j - 1] : 0);
        anorm = row > anorm ? row : anorm;
        /* An invariant subspace: what is left of w is rounding, relative
         * to ||A|| (not to this row, which is itself rounding once the
         * Krylov space is exhausted, e.g. by a Hessian's null space). */
        if (j + 1 == k || s->beta[j] <= LANCZOS_BREAKDOWN * (anorm > 0 ? anorm : 1))
            return j + 1;
        double *qn = qj + dim;
        for (size_t i = 0; i < dim; i++)
            qn[i] = w[i] / s->beta[j];
    }
    return j;
}

/* Unit Ritz vector Q z for row `row` of Z, and its residual. */
static int ritz_residual(size_t dim, lanczos_op op, void *ctx, int m,
                         lanczos_ws *s, int row, double theta, double *res)
{
    double *y = s->w, *Ay = s->w + dim;
    blas_gemv(true, m, (int)dim, 1.0, s->Q, (int)dim, s->Z + (size_t)row * m,
              0.0, y);
    double ny = sqrt(dot(y, y, dim));
    for (size_t i = 0; i < dim; i++)
        y[i] /= ny;
    int rc = op(ctx, y, Ay);
    if (rc)
        return rc;
    double sum = 0;
    for (size_t i = 0; i < dim; i++)
        sum += (Ay[i] - theta * y[i]) * (Ay[i] - theta * y[i]);
    *res = sqrt(sum);
    return 0;
}

int lanczos_extremes(size_t dim, lanczos_op op, void *ctx, int iters, rng *r,
                     lanczos_result *out, char *err, size_t errlen)
{
    size_t cap = LANCZOS_MAX_BASIS_BYTES / (sizeof(double) * (dim ? dim : 1));
    int k = iters;
    if ((size_t)k > dim)
        k = (int)dim;
    if ((size_t)k + 1 > cap)
        k = cap > 1 ? (int)cap - 1 : 1;
    if (k < 1 || dim == 0)
        return err_set(err, errlen, -EINVAL, "lanczos: nothing to iterate on");
    lanczos_ws s;
    if (ws_alloc(&s, dim, k))
        return err_set(err, errlen, -ENOMEM, "lanczos: out of memory for %d "
                       "basis vectors of %zu entries", k, dim);
    int rc = iterate(dim, op, ctx, k, r, &s);
    if (rc < 0) {
        err_set(err, errlen, rc, "lanczos: Hessian-vector product failed");
        goto out;
    }
    int m = rc;
    rc = 0;
    memcpy(s.d, s.alpha, sizeof(double) * (size_t)m);
    memcpy(s.e, s.beta, sizeof(double) * (size_t)m);
    int info = lapack_stev(m, s.d, s.e, s.Z);
    if (info != 0) {
        rc = err_set(err, errlen, -EDOM, "lanczos: tridiagonal eigensolver "
                     "failed, info %d", info);
        goto out;
    }
    out->iters = m;
    out->lmin = s.d[0];
    out->lmax = s.d[m - 1];
    rc = ritz_residual(dim, op, ctx, m, &s, 0, out->lmin, &out->res_min);
    if (!rc)
        rc = ritz_residual(dim, op, ctx, m, &s, m - 1, out->lmax, &out->res_max);
    if (rc)
        err_set(err, errlen, rc, "lanczos: Hessian-vector product failed");
out:
    ws_free(&s);
    return rc;
}
