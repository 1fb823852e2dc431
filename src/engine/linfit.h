/* linfit.h — the best linear predictor of docs/theory.md §5.
 *
 * F_lin* = min_u (1/n) sum_i l(u^T x_i; y_i), computed independently of the
 * network's training: least squares by LAPACK (minimum-norm solution when X
 * is rank deficient), the other losses by Newton's method with a
 * backtracking line search on the exact Hessian. Separable data under the
 * logistic or softplus-hinge loss has no minimiser: the solver stops when
 * the loss stops decreasing usefully along a growing direction and reports
 * the infimum reached, with `separable` set.
 */
#ifndef RESWEEP_LINFIT_H
#define RESWEEP_LINFIT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "poller.h"

typedef struct linfit_result {
    double loss;       /* F_lin* (or the infimum reached when separable) */
    double grad_norm;  /* ||grad F_lin(u*)|| at the returned u */
    double u_norm;     /* ||u*|| */
    int iters;         /* Newton iterations (0 for least squares) */
    int rank;          /* numerical rank of X (least squares), else d */
    bool separable;
} linfit_result;

/* Fits u (d entries, caller-allocated) to the n x d rows of X and y.
 * Returns 0, or a negative code and a sentence; or, when the poller p (may
 * be NULL) says stop, its code without one. p is ticked at least once a
 * row of every pass over X or over a d x d matrix; what it cannot
 * interrupt is a LAPACK call (dgelsd, dsyevd). */
int linfit_solve(enum loss_kind loss, const double *X, const double *y, int n,
                 int d, double *u, linfit_result *out, poller *p, char *err,
                 size_t errlen);

/* Least squares alone: min (1/n) sum (u^T x_i - y_i)^2 / 2, minimum-norm
 * when X is rank deficient. A small problem whose copy of X fits in
 * copy_limit bytes is solved by LAPACK's SVD-based dgelsd on that copy.
 * A larger one with n >= d is first solved by the Cholesky factor of
 * X^T X, by tiles, refined on the true residual: every step of it can be
 * interrupted, and for a well-conditioned X it is as accurate. When X is
 * rank deficient or ill-conditioned (cond(X^T X) > 1e10), or has more
 * columns than rows: dgelsd on the copy if it fits, else the
 * eigen-decomposition of X^T X accumulated in chunks (pseudo-inverse) with
 * iterative refinement on the true residual, so that memory stays O(d^2)
 * whatever n is; those two LAPACK calls cannot be interrupted.
 * linfit_solve uses LINFIT_COPY_LIMIT. */
#define LINFIT_COPY_LIMIT (32u << 20)
int linfit_lstsq(const double *X, const double *y, int n, int d, double *u,
                 size_t copy_limit, int *rank, poller *p, char *err,
                 size_t errlen);

/* Peak bytes linfit_solve(loss, ., ., n, d, ...) allocates (its
 * workspaces and LAPACK's): for least squares on a copy of X about
 * n d, beyond the copy limit about 3 d^2 (the Gram matrix and dsyevd's
 * work); where the Cholesky path comes first, the larger of its d^2 and
 * the path it falls back to, since the data decide which runs; for
 * Newton 2 d^2. For engine_estimate_bytes. */
size_t linfit_bytes(enum loss_kind loss, int n, int d);

/* F_lin(u) = (1/n) sum_i l(u^T x_i; y_i); grad (d) if non-NULL. */
double linfit_loss(enum loss_kind loss, const double *X, const double *y,
                   int n, int d, const double *u, double *grad);

#endif
