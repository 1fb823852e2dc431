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

static void axpy(double a, const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

static void start_vector(double *q, size_t dim, rng *r)
{
    for (size_t i = 0; i < dim; i++)
        q[i] = rng_normal(r);
    double nq = sqrt(dot(q, q, dim));
    for (size_t i = 0; i < dim; i++)
        q[i] /= nq;
}

/* An invariant subspace: what is left of w (beta) is rounding, relative to
 * ||A|| (not to this row, which is itself rounding once the Krylov space
 * is exhausted, e.g. by a Hessian's null space). anorm is the running
 * estimate of ||A|| from T's rows. */
static bool breakdown(double alpha, double beta, double beta_prev,
                      double *anorm)
{
    double row = fabs(alpha) + beta + beta_prev;
    if (row > *anorm)
        *anorm = row;
    return beta <= LANCZOS_BREAKDOWN * (*anorm > 0 ? *anorm : 1);
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

/* The tridiagonal matrix T (alpha, beta), its eigen-decomposition (d, Z),
 * and the vectors: with the basis stored (full), Q holds k vectors and w
 * two (a Ritz vector and its product); capped, Q holds q_{j-1} and q_j,
 * w one, and y the two Ritz vectors being accumulated. */
typedef struct lanczos_ws {
    double *Q, *w, *y, *coef, *alpha, *beta, *Z, *d, *e;
} lanczos_ws;

static void ws_free(lanczos_ws *s)
{
    free(s->Q);
    free(s->w);
    free(s->y);
    free(s->coef);
    free(s->alpha);
    free(s->beta);
    free(s->Z);
    free(s->d);
    free(s->e);
}

static int ws_alloc(lanczos_ws *s, size_t dim, int k, bool capped)
{
    size_t kk = (size_t)k;
    memset(s, 0, sizeof *s);
    s->Q = malloc(sizeof(double) * dim * (capped ? 2 : kk));
    s->w = malloc(sizeof(double) * dim * (capped ? 1 : 2));
    s->y = capped ? malloc(sizeof(double) * dim * 2) : NULL;
    s->coef = capped ? NULL : malloc(sizeof(double) * kk);
    s->alpha = malloc(sizeof(double) * kk);
    s->beta = malloc(sizeof(double) * kk);
    s->Z = malloc(sizeof(double) * kk * kk);
    s->d = malloc(sizeof(double) * kk);
    s->e = malloc(sizeof(double) * kk);
    if (!s->Q || !s->w || (capped ? !s->y : !s->coef) || !s->alpha ||
        !s->beta || !s->Z || !s->d || !s->e) {
        ws_free(s);
        return -ENOMEM;
    }
    return 0;
}

/* The recurrence with full reorthogonalisation against the stored basis;
 * returns the number of steps taken (stops early on an invariant
 * subspace) or a negative code. */
static int iterate(size_t dim, lanczos_op op, void *ctx, int k, rng *r,
                   lanczos_ws *s)
{
    double *w = s->w, anorm = 0;
    start_vector(s->Q, dim, r);
    for (int j = 0; j < k; j++) {
        double *qj = s->Q + (size_t)j * dim;
        int rc = op(ctx, qj, w);
        if (rc)
            return rc;
        s->alpha[j] = dot(qj, w, dim);
        reorthogonalise(s->Q, j + 1, dim, w, s->coef);
        s->beta[j] = sqrt(dot(w, w, dim));
        if (j + 1 == k || breakdown(s->alpha[j], s->beta[j],
                                    j ? s->beta[j - 1] : 0, &anorm))
            return j + 1;
        double *qn = qj + dim;
        for (size_t i = 0; i < dim; i++)
            qn[i] = w[i] / s->beta[j];
    }
    return k;
}

/* The plain three-term recurrence (Paige's form) from the start drawn
 * from r, keeping q_{j-1}, q_j and w only; returns the steps taken or a
 * negative code. The first pass (zlo == NULL) records T and stops early
 * on an invariant subspace. The second runs the same k steps from the
 * same start, so it regenerates the same vectors (the products are
 * deterministic; were they not, the measured residuals would show it),
 * and accumulates the Ritz vectors Q z for the eigenvectors zlo and zhi
 * of T into s->y. */
static int plain_pass(size_t dim, lanczos_op op, void *ctx, int k, rng *r,
                      lanczos_ws *s, const double *zlo, const double *zhi)
{
    double *prev = s->Q, *q = s->Q + dim, *w = s->w;
    double anorm = 0, beta_prev = 0;
    start_vector(q, dim, r);
    if (zlo)
        memset(s->y, 0, sizeof(double) * dim * 2);
    for (int j = 0; j < k; j++) {
        int rc = op(ctx, q, w);
        if (rc)
            return rc;
        if (j)
            axpy(-beta_prev, prev, w, dim);
        double a = dot(q, w, dim);
        axpy(-a, q, w, dim);
        double b = sqrt(dot(w, w, dim));
        if (zlo) {
            axpy(zlo[j], q, s->y, dim);
            axpy(zhi[j], q, s->y + dim, dim);
        } else {
            s->alpha[j] = a;
            s->beta[j] = b;
            if (breakdown(a, b, beta_prev, &anorm))
                return j + 1;
        }
        if (j + 1 == k || b == 0)
            return j + 1;
        /* q_{j+1} overwrites q_{j-1} */
        for (size_t i = 0; i < dim; i++)
            prev[i] = w[i] / b;
        double *t = prev;
        prev = q;
        q = t;
        beta_prev = b;
    }
    return k;
}

/* Normalises y and measures it: *l = y^T A y, *res = ||A y - l y||, with
 * Ay as scratch. A zero y (nothing to normalise) has an infinite
 * residual. */
static int rayleigh(size_t dim, lanczos_op op, void *ctx, double *y,
                    double *Ay, double *l, double *res)
{
    double ny = sqrt(dot(y, y, dim));
    if (!(ny > 0)) {
        *res = INFINITY;
        return 0;
    }
    for (size_t i = 0; i < dim; i++)
        y[i] /= ny;
    int rc = op(ctx, y, Ay);
    if (rc)
        return rc;
    *l = dot(y, Ay, dim);
    double sum = 0;
    for (size_t i = 0; i < dim; i++)
        sum += (Ay[i] - *l * y[i]) * (Ay[i] - *l * y[i]);
    *res = sqrt(sum);
    return 0;
}

/* The Ritz pairs at both ends of the m-step T, measured. */
static int measure_ends(size_t dim, lanczos_op op, void *ctx, int m,
                        bool capped, rng *start, lanczos_ws *s,
                        lanczos_result *out)
{
    const double *zlo = s->Z, *zhi = s->Z + (size_t)(m - 1) * m;
    out->lmin = s->d[0];
    out->lmax = s->d[m - 1];
    if (capped) {
        int rc = plain_pass(dim, op, ctx, m, start, s, zlo, zhi);
        if (rc < 0 || (rc = rayleigh(dim, op, ctx, s->y, s->Q, &out->lmin,
                                     &out->res_min)))
            return rc;
        return rayleigh(dim, op, ctx, s->y + dim, s->Q, &out->lmax,
                        &out->res_max);
    }
    double *y = s->w, *Ay = s->w + dim;
    blas_gemv(true, m, (int)dim, 1.0, s->Q, (int)dim, zlo, 0.0, y);
    int rc = rayleigh(dim, op, ctx, y, Ay, &out->lmin, &out->res_min);
    if (rc)
        return rc;
    blas_gemv(true, m, (int)dim, 1.0, s->Q, (int)dim, zhi, 0.0, y);
    return rayleigh(dim, op, ctx, y, Ay, &out->lmax, &out->res_max);
}

int lanczos_extremes(size_t dim, lanczos_op op, void *ctx,
                     const lanczos_opts *opts, rng *r, lanczos_result *out,
                     char *err, size_t errlen)
{
    if (dim == 0 || opts->iters < 1)
        return err_set(err, errlen, -EINVAL, "lanczos: nothing to iterate on");
    int k = (size_t)opts->iters > dim ? (int)dim : opts->iters;
    bool capped = (size_t)k > opts->basis_bytes / (sizeof(double) * dim);
    lanczos_ws s;
    if (ws_alloc(&s, dim, k, capped))
        return err_set(err, errlen, -ENOMEM, "lanczos: out of memory for "
                       "%d iterations on %zu parameters", k, dim);
    rng start = *r;
    int rc = capped ? plain_pass(dim, op, ctx, k, r, &s, NULL, NULL)
                    : iterate(dim, op, ctx, k, r, &s);
    if (rc < 0) {
        err_set(err, errlen, rc, "lanczos: Hessian-vector product failed");
        goto out;
    }
    int m = rc;
    memcpy(s.d, s.alpha, sizeof(double) * (size_t)m);
    memcpy(s.e, s.beta, sizeof(double) * (size_t)m);
    int info = lapack_stev(m, s.d, s.e, s.Z);
    if (info != 0) {
        rc = err_set(err, errlen, -EDOM, "lanczos: tridiagonal eigensolver "
                     "failed, info %d", info);
        goto out;
    }
    out->iters = m;
    out->capped = capped;
    if ((rc = measure_ends(dim, op, ctx, m, capped, &start, &s, out)) < 0) {
        err_set(err, errlen, rc, "lanczos: Hessian-vector product failed");
        goto out;
    }
    double tol = LANCZOS_RTOL * fmax(fabs(out->lmin), fabs(out->lmax));
    out->converged = out->res_min <= tol && out->res_max <= tol;
    rc = 0;
out:
    ws_free(&s);
    return rc;
}
