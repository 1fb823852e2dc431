/* lanczos.h — extreme eigenvalues of a symmetric operator known only
 * through products (docs/theory.md §6.3: the Hessian of F via exact
 * Hessian-vector products).
 *
 * Lanczos with full reorthogonalisation (classical Gram-Schmidt, twice),
 * so the tridiagonal matrix has no spurious copies and the result is exact
 * once the iterations reach the dimension. The Ritz pairs at both ends are
 * formed explicitly and their residuals ||A y - theta y|| measured with two
 * further products, so what is reported is checked, not estimated.
 */
#ifndef RESWEEP_LANCZOS_H
#define RESWEEP_LANCZOS_H

#include <stddef.h>

#include "rng.h"

/* The Lanczos basis is the memory cost (iterations x dimension doubles);
 * past this many bytes the iteration count is reduced to fit. */
#define LANCZOS_MAX_BASIS_BYTES (64u << 20)

/* out = A v. Returns 0 or a negative code. */
typedef int (*lanczos_op)(void *ctx, const double *v, double *out);

typedef struct lanczos_result {
    double lmin, lmax;       /* extreme Ritz values */
    double res_min, res_max; /* ||A y - theta y|| of their unit Ritz vectors */
    int iters;               /* iterations done (<= requested, <= dim) */
} lanczos_result;

/* Runs up to `iters` iterations on the dim-dimensional operator, started
 * from a random unit vector drawn from r. */
int lanczos_extremes(size_t dim, lanczos_op op, void *ctx, int iters, rng *r,
                     lanczos_result *out, char *err, size_t errlen);

#endif
