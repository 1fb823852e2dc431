/* spectrum.h — the spectrum of a symmetric operator known only through
 * products, beyond its extremes (docs/theory.md §6.6): its trace by
 * Hutchinson's estimator, its spectral density by stochastic Lanczos
 * quadrature (SLQ), its eigenvalues exactly from the dense matrix when it
 * is small, and the classification of a point by them.
 *
 * Every function works on any lanczos_op, so the tests check each against
 * operators with a known spectrum as well as against real Hessians.
 */
#ifndef RESWEEP_SPECTRUM_H
#define RESWEEP_SPECTRUM_H

#include <stddef.h>

#include "engine.h"
#include "lanczos.h"
#include "poller.h"
#include "rng.h"

/* Hutchinson's estimator: the mean of z^T A z over `probes` Rademacher
 * vectors z drawn from r (E z z^T = I, so each is an unbiased estimate
 * of tr A), and its standard error s / sqrt(probes) with s the sample
 * standard deviation (NAN for one probe). For a diagonal A every probe
 * gives tr A exactly (z_i^2 = 1). Memory: 2 vectors; products: probes.
 * 0, a negative code with a sentence, or pl's code without one when it
 * says stop.
 *
 * pl, here and below, may be NULL; it is ticked every 4096 entries of a
 * pass over a vector, and a product that returns -EINTR while pl holds a
 * code (the model's interrupt hook is pl's during the analysis) counts as
 * a stop, not a failure. */
int spectrum_trace(size_t dim, lanczos_op op, void *ctx, int probes, rng *r,
                   poller *pl, double *trace, double *se, char *err,
                   size_t errlen);

/* A discrete measure on the real line: n nodes with weights summing to
 * 1, the SLQ estimate of the spectral measure (1/dim) sum_i delta(l_i).
 * Owned by its holder; spectrum_quad_free releases it. */
typedef struct spectrum_quad {
    int n;
    double *node, *weight;
} spectrum_quad;

void spectrum_quad_free(spectrum_quad *q);

/* SLQ: for each of `probes` normalised Rademacher starts v drawn from r,
 * k = min(opts->iters, dim) Lanczos steps (lanczos_tridiagonal, with
 * opts->basis_bytes as for the extremes, ticking opts->pl) give
 * T = Z diag(theta) Z^T, and the Gauss quadrature nodes theta_k with
 * weights Z_{0k}^2 of the measure sum_i (q_i^T v)^2 delta(l_i), whose
 * expectation over v is the spectral measure (for a normalised Rademacher
 * v, E (q_i^T v)^2 = 1/dim exactly). Each probe's weights are divided by
 * probes. Memory: one vector, 2k + k^2 doubles, 2 probes k for the
 * measure, and lanczos_tridiagonal's workspace; then dstev's. Products:
 * probes * k. Not interrupted: each probe's dstev (k^2 work). 0, a
 * negative code with a sentence, or the poller's code; out is empty on
 * failure. */
int spectrum_slq(size_t dim, lanczos_op op, void *ctx, int probes,
                 const lanczos_opts *opts, rng *r, spectrum_quad *out,
                 char *err, size_t errlen);

/* The weight of the nodes strictly below x. */
double spectrum_mass_below(const spectrum_quad *q, double x);

/* The smallest and largest node (NAN for an empty measure). */
void spectrum_quad_range(const spectrum_quad *q, double *lo, double *hi);

/* The measure as `bins` masses on equal bins of [lo, hi]: bin b is
 * [lo + b w, lo + (b + 1) w) with w = (hi - lo) / bins, the last one
 * closed; nodes outside [lo, hi] go to the nearest end bin, NaN nodes
 * to none. Needs
 * hi > lo and 1 <= bins <= CONFIG_MAX_SLQ_BINS. */
void spectrum_histogram(const spectrum_quad *q, double lo, double hi,
                        int bins, double *mass);

/* Every eigenvalue, ascending, into w (dim of them), from the dense
 * matrix built column by column from dim products with unit vectors,
 * symmetrised ((A + A^T) / 2, which only moves the rounding), by LAPACK's
 * dsyevd without vectors. Memory: dim^2 + dim doubles, then dsyevd's work
 * (lapack_syev_bytes(dim, false)); products: dim. pl is ticked once a
 * row of the symmetrisation and by the products; not interrupted: dsyevd
 * (README, "Reliability", gives its length). 0, a negative code with a
 * sentence, or the poller's code. */
int spectrum_dense(size_t dim, lanczos_op op, void *ctx, poller *pl,
                   double *w, char *err, size_t errlen);

/* The number of the ascending eigenvalues w[0..n-1] below x. */
long spectrum_count_below(const double *w, size_t n, double x);

/* The class of a point whose Hessian has its extreme eigenvalues at (or,
 * from Lanczos, inside) lmin <= lmax: with tol = eig_tol * max(1,
 * max(|lmin|, |lmax|)) (returned in *tol), flat when both are within tol
 * of 0, a saddle when lmin < -tol, else a minimum (docs/theory.md §6.6
 * says what each guarantees). */
enum point_class spectrum_classify(double lmin, double lmax, double eig_tol,
                                   double *tol);

#endif
