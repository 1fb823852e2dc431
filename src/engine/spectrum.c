/* spectrum.c — see spectrum.h; the mathematics is docs/theory.md §6.6. */
#include "spectrum.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "err.h"

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static void rademacher(double *z, size_t dim, rng *r)
{
    for (size_t i = 0; i < dim; i++)
        z[i] = rng_sign(r);
}

int spectrum_trace(size_t dim, lanczos_op op, void *ctx, int probes, rng *r,
                   double *trace, double *se, char *err, size_t errlen)
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
        rademacher(z, dim, r);
        if ((rc = op(ctx, z, Az))) {
            err_set(err, errlen, rc, "trace: Hessian-vector product failed");
            goto out;
        }
        double x = dot(z, Az, dim), delta = x - mean;
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
static int slq_probe(size_t dim, lanczos_op op, void *ctx, int k,
                     size_t basis_bytes, rng *r, double scale, double *v,
                     double *ab, double *Z, spectrum_quad *out, char *err,
                     size_t errlen)
{
    rademacher(v, dim, r);
    double inv = 1 / sqrt((double)dim);
    for (size_t i = 0; i < dim; i++)
        v[i] *= inv;
    bool capped;
    lanczos_opts lo = {.iters = k, .basis_bytes = basis_bytes, .pl = NULL};
    int m = lanczos_tridiagonal(dim, op, ctx, v, &lo, ab, ab + k, &capped,
                                err, errlen);
    if (m < 0)
        return m;
    if (quad_append(m, ab, ab + k, Z, scale, out))
        return err_set(err, errlen, -EDOM, "slq: tridiagonal eigensolver "
                       "failed (products not finite?)");
    return 0;
}

int spectrum_slq(size_t dim, lanczos_op op, void *ctx, int probes, int iters,
                 size_t basis_bytes, rng *r, spectrum_quad *out, char *err,
                 size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (dim == 0 || probes < 1 || iters < 1)
        return err_set(err, errlen, -EINVAL, "slq: nothing to iterate on");
    int k = (size_t)iters > dim ? (int)dim : iters;
    size_t total = (size_t)probes * (size_t)k, kk = (size_t)k;
    double *v = malloc(sizeof *v * dim), *ab = malloc(sizeof *ab * 2 * kk);
    double *Z = malloc(sizeof *Z * kk * kk);
    out->node = malloc(sizeof *out->node * total);
    out->weight = malloc(sizeof *out->weight * total);
    int rc = 0;
    if (!v || !ab || !Z || !out->node || !out->weight) {
        rc = err_set(err, errlen, -ENOMEM, "slq: out of memory for %d "
                     "probes of %d steps", probes, k);
        goto out;
    }
    for (int p = 0; p < probes && rc == 0; p++)
        rc = slq_probe(dim, op, ctx, k, basis_bytes, r, 1.0 / probes, v, ab,
                       Z, out, err, errlen);
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
        int k = b < 0 ? 0 : b >= bins ? bins - 1 : (int)b;
        mass[k] += q->weight[i];
    }
}

int spectrum_dense(size_t dim, lanczos_op op, void *ctx, double *w, char *err,
                   size_t errlen)
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
            err_set(err, errlen, rc, "dense Hessian: product failed");
            goto out;
        }
        e[i] = 0;
    }
    for (size_t i = 0; i < dim; i++)
        for (size_t j = i + 1; j < dim; j++)
            A[i * dim + j] = A[j * dim + i] =
                0.5 * (A[i * dim + j] + A[j * dim + i]);
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
