/* spectrum.c — see spectrum.h; the mathematics is docs/theory.md §6.6. */
#include "spectrum.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "err.h"
#include "polled.h"

/* The poller (issue 9 §4): a product polls through the model's interrupt
 * hook, and the passes here over a vector (up to 1.7e7 entries: a
 * Rademacher draw of that size is 50 ms) tick it every POLLED_BLOCK
 * entries, as lanczos.c's do. A product stopped by the hook returns
 * -EINTR; the functions here then return the poller's code, without a
 * sentence (polled.h). */

/* z = a Rademacher vector times scale. 0 or the poller's code. */
static int rademacher(double *z, size_t dim, double scale, rng *r, poller *pl)
{
    for (size_t i0 = 0; i0 < dim; i0 += POLLED_BLOCK) {
        size_t end = polled_block_end(i0, dim);
        for (size_t i = i0; i < end; i++)
            z[i] = scale * rng_sign(r);
        int rc = poller_tick(pl, end - i0);
        if (rc)
            return rc;
    }
    return 0;
}

/* A failed product: the poller's code when it stopped it, else rc with
 * a sentence. */
static int product_failed(int rc, poller *pl, const char *what, char *err,
                          size_t errlen)
{
    if (poller_code(pl))
        return poller_code(pl);
    return err_set(err, errlen, rc, "%s: Hessian-vector product failed", what);
}

int spectrum_trace(size_t dim, lanczos_op op, void *ctx, int probes, rng *r,
                   poller *pl, double *trace, double *se, char *err,
                   size_t errlen)
{
    if (dim == 0 || probes < 1)
        return err_set(err, errlen, -EINVAL, "trace: no probes to take");
    double *z = malloc(sizeof *z * dim), *Az = malloc(sizeof *Az * dim);
    int rc = 0;
    if (!z || !Az) {
        rc = err_set(err, errlen, -ENOMEM, "trace: out of memory for %zu "
                     "parameters", dim);
        goto out;
    }
    /* Welford's running mean and sum of squares: no cancellation when
     * the estimates are large and nearly equal */
    double mean = 0, m2 = 0;
    for (int k = 0; k < probes; k++) {
        if ((rc = rademacher(z, dim, 1.0, r, pl)))
            goto out;
        if ((rc = op(ctx, z, Az))) {
            rc = product_failed(rc, pl, "trace", err, errlen);
            goto out;
        }
        double x = polled_dot(z, Az, dim, pl), delta = x - mean;
        if ((rc = poller_code(pl)))
            goto out;
        mean += delta / (k + 1);
        m2 += delta * (x - mean);
    }
    *trace = mean;
    *se = probes > 1 ? sqrt(m2 / (probes - 1) / probes) : NAN;
out:
    free(z);
    free(Az);
    return rc;
}

void spectrum_quad_free(spectrum_quad *q)
{
    free(q->node);
    free(q->weight);
    memset(q, 0, sizeof *q);
}

/* Nodes and weights of one probe's T (m steps) appended to out. Z is
 * m x m scratch; alpha, beta are consumed. */
static int quad_append(int m, double *alpha, double *beta, double *Z,
                       double scale, spectrum_quad *out)
{
    int info = lapack_stev(m, alpha, beta, Z);
    if (info != 0)
        return -EDOM;
    for (int k = 0; k < m; k++) {
        /* row k of Z is the eigenvector of alpha[k]; its first component
         * is the projection of the start vector on the Ritz vector */
        double z0 = Z[(size_t)k * m];
        out->node[out->n] = alpha[k];
        out->weight[out->n] = scale * z0 * z0;
        out->n++;
    }
    return 0;
}

/* One probe: a normalised Rademacher start (||z|| = sqrt(dim) exactly),
 * Lanczos, and its quadrature into out. */
static int slq_probe(size_t dim, lanczos_op op, void *ctx,
                     const lanczos_opts *lo, rng *r, double scale, double *v,
                     double *ab, double *Z, spectrum_quad *out, char *err,
                     size_t errlen)
{
    int rc = rademacher(v, dim, 1 / sqrt((double)dim), r, lo->pl);
    if (rc)
        return rc;
    bool capped;
    int m = lanczos_tridiagonal(dim, op, ctx, v, lo, ab, ab + lo->iters,
                                &capped, err, errlen);
    if (m < 0)
        return m;
    if (quad_append(m, ab, ab + lo->iters, Z, scale, out))
        return err_set(err, errlen, -EDOM, "slq: tridiagonal eigensolver "
                       "failed (products not finite?)");
    return 0;
}

int spectrum_slq(size_t dim, lanczos_op op, void *ctx, int probes,
                 const lanczos_opts *opts, rng *r, spectrum_quad *out,
                 char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (dim == 0 || probes < 1 || opts->iters < 1)
        return err_set(err, errlen, -EINVAL, "slq: nothing to iterate on");
    lanczos_opts lo = *opts;
    if ((size_t)lo.iters > dim)
        lo.iters = (int)dim;
    size_t kk = (size_t)lo.iters, total = (size_t)probes * kk;
    double *v = malloc(sizeof *v * dim), *ab = malloc(sizeof *ab * 2 * kk);
    double *Z = malloc(sizeof *Z * kk * kk);
    out->node = malloc(sizeof *out->node * total);
    out->weight = malloc(sizeof *out->weight * total);
    int rc = 0;
    if (!v || !ab || !Z || !out->node || !out->weight) {
        rc = err_set(err, errlen, -ENOMEM, "slq: out of memory for %d "
                     "probes of %d steps", probes, lo.iters);
        goto out;
    }
    for (int p = 0; p < probes && rc == 0; p++)
        rc = slq_probe(dim, op, ctx, &lo, r, 1.0 / probes, v, ab, Z, out, err,
                       errlen);
out:
    if (rc)
        spectrum_quad_free(out);
    free(v);
    free(ab);
    free(Z);
    return rc;
}

double spectrum_mass_below(const spectrum_quad *q, double x)
{
    double s = 0;
    for (int i = 0; i < q->n; i++)
        if (q->node[i] < x)
            s += q->weight[i];
    return s;
}

void spectrum_quad_range(const spectrum_quad *q, double *lo, double *hi)
{
    *lo = *hi = NAN;
    for (int i = 0; i < q->n; i++) {
        if (!(q->node[i] >= *lo))
            *lo = q->node[i];
        if (!(q->node[i] <= *hi))
            *hi = q->node[i];
    }
}

void spectrum_histogram(const spectrum_quad *q, double lo, double hi,
                        int bins, double *mass)
{
    double w = (hi - lo) / bins;
    memset(mass, 0, sizeof *mass * (size_t)bins);
    for (int i = 0; i < q->n; i++) {
        double b = floor((q->node[i] - lo) / w);
        if (isnan(b))
            continue;   /* a node that is not a number has no bin */
        int k = b < 0 ? 0 : b >= bins ? bins - 1 : (int)b;
        mass[k] += q->weight[i];
    }
}

int spectrum_dense(size_t dim, lanczos_op op, void *ctx, poller *pl,
                   double *w, char *err, size_t errlen)
{
    if (dim == 0 || dim > (size_t)CONFIG_MAX_EXACT_PARAMS)
        return err_set(err, errlen, -EINVAL, "dense Hessian: %zu parameters, "
                       "the limit is %d", dim, CONFIG_MAX_EXACT_PARAMS);
    double *A = malloc(sizeof *A * dim * dim), *e = calloc(dim, sizeof *e);
    int rc = 0;
    if (!A || !e) {
        rc = err_set(err, errlen, -ENOMEM, "dense Hessian: out of memory for "
                     "%zu parameters", dim);
        goto out;
    }
    for (size_t i = 0; i < dim; i++) {
        e[i] = 1;
        if ((rc = op(ctx, e, A + i * dim))) {
            rc = product_failed(rc, pl, "dense Hessian", err, errlen);
            goto out;
        }
        e[i] = 0;
    }
    /* a row at a time: the column half of each pair is a cache miss, and
     * at 4000 parameters the whole is 8e6 of them */
    for (size_t i = 0; i < dim; i++) {
        for (size_t j = i + 1; j < dim; j++)
            A[i * dim + j] = A[j * dim + i] =
                0.5 * (A[i * dim + j] + A[j * dim + i]);
        if ((rc = poller_tick(pl, dim - i)))
            goto out;
    }
    int info = lapack_syev((int)dim, A, w, false);
    if (info != 0)
        rc = err_set(err, errlen, -EDOM, "dense Hessian: dsyev failed, info "
                     "%d (products not finite?)", info);
out:
    free(A);
    free(e);
    return rc;
}

long spectrum_count_below(const double *w, size_t n, double x)
{
    long c = 0;
    for (size_t i = 0; i < n; i++)
        c += w[i] < x;
    return c;
}

enum point_class spectrum_classify(double lmin, double lmax, double eig_tol,
                                   double *tol)
{
    double norm = fmax(fabs(lmin), fabs(lmax));
    *tol = eig_tol * fmax(1.0, norm);
    if (!isfinite(norm))
        return POINT_UNCLASSIFIED;
    if (norm <= *tol)
        return POINT_FLAT;
    return lmin < -*tol ? POINT_SADDLE : POINT_MINIMUM;
}
