/* lanczos.c — see lanczos.h. */
#include "lanczos.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "err.h"
#include "polled.h"

#define LANCZOS_BREAKDOWN 1e-10

/* The poller (issue 9 §4). The basis can be as large as
 * analysis.lanczos_memory_mib allows and a vector has up to 1.7e7
 * entries, so Lanczos's own work between two products is ticked too: a
 * BLAS call over the basis takes at most POLLER_CALL_UNITS multiply-adds,
 * and a pass over a vector ticks every POLLED_BLOCK entries (one pass at
 * 1.7e7 is 15 ms, 60 ms where it first touches the pages, and an
 * iteration makes several). A helper that returns a value returns a
 * meaningless one when the poller says stop, and its caller returns
 * poller_code(); one that returns an int returns 0 or that code. The
 * blocks of a pass do not change the order of any sum, and a basis of up
 * to 2^25 entries (256 MiB, four times the default) is one BLAS call as
 * before: only past that may the numbers differ, in their last bits,
 * from those of a single call. */
static void axpy(double a, const double *x, double *y, size_t n, poller *pl)
{
    for (size_t i0 = 0; i0 < n; i0 += POLLED_BLOCK) {
        size_t end = polled_block_end(i0, n);
        for (size_t i = i0; i < end; i++)
            y[i] += a * x[i];
        if (poller_tick(pl, end - i0))
            return;
    }
}

/* dst = src / a (dst may be src). */
static int divide_into(double *dst, const double *src, double a, size_t n,
                       poller *pl)
{
    for (size_t i0 = 0; i0 < n; i0 += POLLED_BLOCK) {
        size_t end = polled_block_end(i0, n);
        for (size_t i = i0; i < end; i++)
            dst[i] = src[i] / a;
        int rc = poller_tick(pl, end - i0);
        if (rc)
            return rc;
    }
    return 0;
}

/* q0 when given (a caller's unit vector), else a random unit vector
 * drawn from r. */
static int start_vector(double *q, size_t dim, rng *r, const double *q0,
                        poller *pl)
{
    for (size_t i0 = 0; i0 < dim; i0 += POLLED_BLOCK) {
        size_t end = polled_block_end(i0, dim);
        if (q0)
            memcpy(q + i0, q0 + i0, sizeof(double) * (end - i0));
        else
            for (size_t i = i0; i < end; i++)
                q[i] = rng_normal(r);
        int rc = poller_tick(pl, end - i0);
        if (rc)
            return rc;
    }
    if (q0)
        return 0;
    double nq = sqrt(polled_dot(q, q, dim, pl));
    return poller_code(pl) ? poller_code(pl) : divide_into(q, q, nq, dim, pl);
}

/* Basis vectors per BLAS call: within POLLER_CALL_UNITS multiply-adds
 * (all of the default 64 MiB basis in one call, as before the poller). */
static int vectors_per_call(size_t dim)
{
    size_t v = POLLER_CALL_UNITS / dim;
    return v < 1 ? 1 : v > INT_MAX ? INT_MAX : (int)v;
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
static int reorthogonalise(const double *Q, int k, size_t dim, double *w,
                           double *coef, poller *pl)
{
    int per = vectors_per_call(dim), rc;
    for (int pass = 0; pass < 2; pass++) {
        for (int j0 = 0; j0 < k; j0 += per) {
            int m = k - j0 < per ? k - j0 : per;
            blas_gemv(false, m, (int)dim, 1.0, Q + (size_t)j0 * dim, (int)dim,
                      w, 0.0, coef + j0);
            if ((rc = poller_tick(pl, (uint64_t)m * dim)))
                return rc;
        }
        for (int j0 = 0; j0 < k; j0 += per) {
            int m = k - j0 < per ? k - j0 : per;
            blas_gemv(true, m, (int)dim, -1.0, Q + (size_t)j0 * dim, (int)dim,
                      coef + j0, 1.0, w);
            if ((rc = poller_tick(pl, (uint64_t)m * dim)))
                return rc;
        }
    }
    return 0;
}

/* y = Q_m^T z: the Ritz vector of T's eigenvector z. */
static int ritz_vector(const double *Q, int m, size_t dim, const double *z,
                       double *y, poller *pl)
{
    int per = vectors_per_call(dim), rc;
    for (int j0 = 0; j0 < m; j0 += per) {
        int b = m - j0 < per ? m - j0 : per;
        blas_gemv(true, b, (int)dim, 1.0, Q + (size_t)j0 * dim, (int)dim,
                  z + j0, j0 ? 1.0 : 0.0, y);
        if ((rc = poller_tick(pl, (uint64_t)b * dim)))
            return rc;
    }
    return 0;
}

/* The tridiagonal matrix T (alpha, beta), its eigen-decomposition (d, Z),
 * and the vectors: with the basis stored (full), Q holds k vectors and w
 * two (a Ritz vector and its product); capped, Q holds q_{j-1} and q_j,
 * w one, and y the two Ritz vectors being accumulated. */
typedef struct lanczos_ws {
    double *Q, *w, *y, *coef, *alpha, *beta, *Z, *d, *e;
    poller *pl;   /* borrowed, may be NULL */
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

static int ws_alloc(lanczos_ws *s, size_t dim, int k, bool capped, poller *pl)
{
    size_t kk = (size_t)k;
    memset(s, 0, sizeof *s);
    s->pl = pl;
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

/* The recurrence with full reorthogonalisation against the stored basis,
 * from q0 (or a start drawn from r when it is NULL); returns the number of steps taken (stops early on an invariant
 * subspace) or a negative code. */
static int iterate(size_t dim, lanczos_op op, void *ctx, int k, rng *r,
                   const double *q0, lanczos_ws *s)
{
    double *w = s->w, anorm = 0;
    int rc = start_vector(s->Q, dim, r, q0, s->pl);
    if (rc)
        return rc;
    for (int j = 0; j < k; j++) {
        double *qj = s->Q + (size_t)j * dim;
        if ((rc = op(ctx, qj, w)))
            return rc;
        s->alpha[j] = polled_dot(qj, w, dim, s->pl);
        if ((rc = poller_code(s->pl)) ||
            (rc = reorthogonalise(s->Q, j + 1, dim, w, s->coef, s->pl)))
            return rc;
        s->beta[j] = sqrt(polled_dot(w, w, dim, s->pl));
        if ((rc = poller_code(s->pl)))
            return rc;
        if (j + 1 == k || breakdown(s->alpha[j], s->beta[j],
                                    j ? s->beta[j - 1] : 0, &anorm))
            return j + 1;
        if ((rc = divide_into(qj + dim, w, s->beta[j], dim, s->pl)))
            return rc;
    }
    return k;
}

/* The plain three-term recurrence (Paige's form) from q0 (or the start
 * drawn from r when it is NULL), keeping q_{j-1}, q_j and w only; returns the steps taken or a
 * negative code. The first pass (zlo == NULL) records T and stops early
 * on an invariant subspace. The second runs the same k steps from the
 * same start, so it regenerates the same vectors (the products are
 * deterministic; were they not, the measured residuals would show it),
 * and accumulates the Ritz vectors Q z for the eigenvectors zlo and zhi
 * of T into s->y. */
static int plain_pass(size_t dim, lanczos_op op, void *ctx, int k, rng *r,
                      const double *q0, lanczos_ws *s, const double *zlo,
                      const double *zhi)
{
    double *prev = s->Q, *q = s->Q + dim, *w = s->w;
    double anorm = 0, beta_prev = 0;
    int rc = start_vector(q, dim, r, q0, s->pl);
    if (rc)
        return rc;
    for (size_t i0 = 0; zlo && i0 < 2 * dim; i0 += POLLED_BLOCK) {
        size_t end = polled_block_end(i0, 2 * dim);
        memset(s->y + i0, 0, sizeof(double) * (end - i0));
        if ((rc = poller_tick(s->pl, end - i0)))
            return rc;
    }
    for (int j = 0; j < k; j++) {
        if ((rc = op(ctx, q, w)))
            return rc;
        if (j)
            axpy(-beta_prev, prev, w, dim, s->pl);
        double a = polled_dot(q, w, dim, s->pl);
        axpy(-a, q, w, dim, s->pl);
        double b = sqrt(polled_dot(w, w, dim, s->pl));
        if ((rc = poller_code(s->pl)))
            return rc;
        if (zlo) {
            axpy(zlo[j], q, s->y, dim, s->pl);
            axpy(zhi[j], q, s->y + dim, dim, s->pl);
            if ((rc = poller_code(s->pl)))
                return rc;
        } else {
            s->alpha[j] = a;
            s->beta[j] = b;
            if (breakdown(a, b, beta_prev, &anorm))
                return j + 1;
        }
        if (j + 1 == k || b == 0)
            return j + 1;
        /* q_{j+1} overwrites q_{j-1} */
        if ((rc = divide_into(prev, w, b, dim, s->pl)))
            return rc;
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
                    double *Ay, double *l, double *res, poller *pl)
{
    double ny = sqrt(polled_dot(y, y, dim, pl));
    int rc = poller_code(pl);
    if (rc)
        return rc;
    if (!(ny > 0)) {
        *res = INFINITY;
        return 0;
    }
    if ((rc = divide_into(y, y, ny, dim, pl)) || (rc = op(ctx, y, Ay)))
        return rc;
    *l = polled_dot(y, Ay, dim, pl);
    double sum = 0;
    for (size_t i0 = 0; i0 < dim && !rc; i0 += POLLED_BLOCK) {
        size_t end = polled_block_end(i0, dim);
        for (size_t i = i0; i < end; i++)
            sum += (Ay[i] - *l * y[i]) * (Ay[i] - *l * y[i]);
        rc = poller_tick(pl, end - i0);
    }
    *res = sqrt(sum);
    return rc;
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
        int rc = plain_pass(dim, op, ctx, m, start, NULL, s, zlo, zhi);
        if (rc < 0 || (rc = rayleigh(dim, op, ctx, s->y, s->Q, &out->lmin,
                                     &out->res_min, s->pl)))
            return rc;
        return rayleigh(dim, op, ctx, s->y + dim, s->Q, &out->lmax,
                        &out->res_max, s->pl);
    }
    double *y = s->w, *Ay = s->w + dim;
    int rc = ritz_vector(s->Q, m, dim, zlo, y, s->pl);
    if (rc ||
        (rc = rayleigh(dim, op, ctx, y, Ay, &out->lmin, &out->res_min, s->pl)) ||
        (rc = ritz_vector(s->Q, m, dim, zhi, y, s->pl)))
        return rc;
    return rayleigh(dim, op, ctx, y, Ay, &out->lmax, &out->res_max, s->pl);
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
    if (ws_alloc(&s, dim, k, capped, opts->pl))
        return err_set(err, errlen, -ENOMEM, "lanczos: out of memory for "
                       "%d iterations on %zu parameters", k, dim);
    rng start = *r;
    int rc = capped ? plain_pass(dim, op, ctx, k, r, NULL, &s, NULL, NULL)
                    : iterate(dim, op, ctx, k, r, NULL, &s);
    if (rc < 0) {
        if (rc != poller_code(opts->pl))
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
        if (rc != poller_code(opts->pl))
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

/* The same first pass as lanczos_extremes, from the caller's start; T is
 * all that is kept. */
int lanczos_tridiagonal(size_t dim, lanczos_op op, void *ctx,
                        const double *q0, const lanczos_opts *opts,
                        double *alpha, double *beta, bool *capped, char *err,
                        size_t errlen)
{
    if (dim == 0 || opts->iters < 1)
        return err_set(err, errlen, -EINVAL, "lanczos: nothing to iterate on");
    int k = (size_t)opts->iters > dim ? (int)dim : opts->iters;
    *capped = (size_t)k > opts->basis_bytes / (sizeof(double) * dim);
    lanczos_ws s;
    if (ws_alloc(&s, dim, k, *capped, opts->pl))
        return err_set(err, errlen, -ENOMEM, "lanczos: out of memory for "
                       "%d iterations on %zu parameters", k, dim);
    int m = *capped ? plain_pass(dim, op, ctx, k, NULL, q0, &s, NULL, NULL)
                    : iterate(dim, op, ctx, k, NULL, q0, &s);
    if (m < 0) {
        /* a product the model's interrupt hook stopped says -EINTR */
        if (poller_code(opts->pl))
            m = poller_code(opts->pl);
        else
            err_set(err, errlen, m, "lanczos: Hessian-vector product failed");
    } else {
        memcpy(alpha, s.alpha, sizeof(double) * (size_t)m);
        memcpy(beta, s.beta, sizeof(double) * (size_t)m);
    }
    ws_free(&s);
    return m;
}
