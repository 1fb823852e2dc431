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
 * interrupt is a LAPACK call (dgelsd, dsyevd, dposv). */
int linfit_solve(enum loss_kind loss, const double *X, const double *y, int n,
                 int d, double *u, linfit_result *out, poller *p, char *err,
                 size_t errlen);

/* Least squares alone: min (1/n) sum (u^T x_i - y_i)^2 / 2, minimum-norm
 * when X is rank deficient. While a copy of X fits in copy_limit bytes it
 * is solved by LAPACK's SVD-based dgelsd on that copy; beyond, by the
 * eigen-decomposition of X^T X accumulated in chunks (pseudo-inverse) with
 * iterative refinement on the true residual, so that memory stays O(d^2)
 * whatever n is. linfit_solve uses LINFIT_COPY_LIMIT. */
#define LINFIT_COPY_LIMIT (32u << 20)
int linfit_lstsq(const double *X, const double *y, int n, int d, double *u,
                 size_t copy_limit, int *rank, poller *p, char *err,
                 size_t errlen);

/* F_lin(u) = (1/n) sum_i l(u^T x_i; y_i); grad (d) if non-NULL. */
double linfit_loss(enum loss_kind loss, const double *X, const double *y,
                   int n, int d, const double *u, double *grad);

#endif
