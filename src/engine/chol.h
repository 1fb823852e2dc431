/* chol.h — the Cholesky factorisation of a dense symmetric positive
 * definite matrix, and its solves, by tiles: a poller is ticked between
 * BLAS calls of bounded size, so a cancel reaches it (issue 9 §4; LAPACK's
 * dposv is one call of d^3 / 3 multiply-adds, 0.5 s at d = 4000, that no
 * poll can interrupt). Right-looking: each tile column is factored
 * (dpotrf on its diagonal tile, a triangular solve below it), then the
 * columns to its right are updated one tile column at a time.
 *
 * Matrices are row-major, n x n with leading dimension n.
 */
#ifndef RESWEEP_CHOL_H
#define RESWEEP_CHOL_H

#include "poller.h"

/* Tile order: small enough that one update call (n x CHOL_TILE^2
 * multiply-adds) stays within a few milliseconds at the largest d, large
 * enough for the BLAS to run near its peak. */
#define CHOL_TILE 128

/* A = L L^T, with L in the lower triangle of A (the upper triangle is not
 * read or written). 0; 1 when A is not positive definite (L is then
 * partial); or the poller's code. */
int chol_factor(int n, double *A, poller *p);

/* b = (L L^T)^-1 b for the L of chol_factor. 0 or the poller's code. */
int chol_solve(int n, const double *L, double *b, poller *p);

#endif
