/* lanczos.h — extreme eigenvalues of a symmetric operator known only
 * through products (docs/theory.md §6.3: the Hessian of F via exact
 * Hessian-vector products).
 *
 * Two ways, chosen by memory. When the basis of the requested iterations
 * fits in the caller's budget, Lanczos with full reorthogonalisation
 * (classical Gram-Schmidt, twice), so the tridiagonal matrix has no
 * spurious copies and the result is exact once the iterations reach the
 * dimension. When it does not fit (16.9M parameters and 60 iterations
 * would be 8 GB), the plain three-term recurrence keeps three vectors and
 * runs twice: the first pass gives the tridiagonal matrix, the second
 * regenerates the same vectors from the same start to form the two Ritz
 * vectors. No iteration is given up for memory; what is lost is
 * reorthogonalisation (spurious copies of converged eigenvalues, which do
 * not move the extremes) and the exactness at the dimension, for twice the
 * products.
 *
 * Either way the Ritz vectors at both ends are formed explicitly, and what
 * is reported is their Rayleigh quotient and true residual
 * ||A y - rho y||, measured with two further products: so what is reported
 * is checked, not estimated. For a unit y, A has an eigenvalue within the
 * residual of rho; and lmin >= the smallest eigenvalue (lmax <= the
 * largest) whatever the convergence, as a Rayleigh quotient. That an
 * eigenvalue near lmin is the smallest one is not certified: a Krylov
 * method can miss an eigenvalue whose direction the start vector barely
 * contains (for a random start, almost never, and less with more
 * iterations).
 */
#ifndef RESWEEP_LANCZOS_H
#define RESWEEP_LANCZOS_H

#include <stdbool.h>
#include <stddef.h>

#include "consts.h"
#include "poller.h"
#include "rng.h"

/* out = A v. Returns 0 or a negative code. */
typedef int (*lanczos_op)(void *ctx, const double *v, double *out);

typedef struct lanczos_opts {
    int iters;           /* iterations to run (fewer only when the Krylov
                            space is exhausted, or the dimension is lower) */
    size_t basis_bytes;  /* memory the stored basis may take; past it, the
                            two-pass recurrence that stores none */
    poller *pl;          /* ticked between passes over a vector and BLAS
                            calls over the basis; may be NULL. When it says
                            stop, its code is returned, without a sentence */
} lanczos_opts;

typedef struct lanczos_result {
    double lmin, lmax;       /* Rayleigh quotients of the extreme Ritz vectors */
    double res_min, res_max; /* ||A y - l y|| of those unit vectors */
    int iters;               /* iterations done (<= requested, <= dim) */
    bool capped;             /* the basis did not fit: two passes, no
                                reorthogonalisation */
    bool converged;          /* both residuals within LANCZOS_RTOL (consts.h)
                                of max(|lmin|, |lmax|) */
} lanczos_result;

/* Runs Lanczos on the dim-dimensional operator, started from a random unit
 * vector drawn from r. Memory, for k = min(iters, dim): k + 2 vectors of
 * dim doubles when k of them fit in basis_bytes, else 5; plus k^2 doubles
 * for T's eigenvectors. Products: k + 2, or 2k + 2 when capped. 0, or a
 * negative code with a sentence (the operator's code when a product
 * failed; -ENOMEM; -EDOM when the tridiagonal eigensolver fails, e.g. on
 * products that are not finite). */
int lanczos_extremes(size_t dim, lanczos_op op, void *ctx,
                     const lanczos_opts *opts, rng *r, lanczos_result *out,
                     char *err, size_t errlen);

/* The tridiagonal matrix T of k = min(opts->iters, dim) Lanczos steps
 * from the unit vector q0 (borrowed), by the same method lanczos_extremes
 * would choose for opts->basis_bytes (*capped: the plain recurrence, no
 * reorthogonalisation), ticking opts->pl as it does: alpha[0..m-1] its
 * diagonal, beta[0..m-2] its off-diagonal (beta[m-1] the norm of what
 * was left). Returns m, fewer than the steps asked when the Krylov space
 * of q0 is exhausted; or a negative code with a sentence (the poller's
 * code without one). alpha and beta hold k. Memory: lanczos_extremes's
 * workspace (k + 2 vectors, or 5 when capped, and k^2 doubles) without
 * dstev's. Products: m. For stochastic Lanczos quadrature (spectrum.h,
 * docs/theory.md §6.6). */
int lanczos_tridiagonal(size_t dim, lanczos_op op, void *ctx,
                        const double *q0, const lanczos_opts *opts,
                        double *alpha, double *beta, bool *capped, char *err,
                        size_t errlen);

#endif
