/* The best linear predictor of docs/theory.md §5: least squares against the normal
 * equations, minimum-norm solutions for rank-deficient X, Newton's method
 * for the other losses to a gradient below 1e-10, separability. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "blas.h"
#include "linfit.h"
#include "testutil.h"

/* Solves the d x d system A x = b by Gaussian elimination with partial
 * pivoting (A, b destroyed), independently of LAPACK. */
static void gauss_solve(double *A, double *b, int d)
{
    for (int c = 0; c < d; c++) {
        int piv = c;
        for (int r = c + 1; r < d; r++)
            if (fabs(A[r * d + c]) > fabs(A[piv * d + c]))
                piv = r;
        for (int k = 0; k < d; k++) {
            double t = A[c * d + k];
            A[c * d + k] = A[piv * d + k];
            A[piv * d + k] = t;
        }
        double t = b[c];
        b[c] = b[piv];
        b[piv] = t;
        for (int r = c + 1; r < d; r++) {
            double f = A[r * d + c] / A[c * d + c];
            for (int k = c; k < d; k++)
                A[r * d + k] -= f * A[c * d + k];
            b[r] -= f * b[c];
        }
    }
    for (int c = d - 1; c >= 0; c--) {
        for (int k = c + 1; k < d; k++)
            b[c] -= A[c * d + k] * b[k];
        b[c] /= A[c * d + c];
    }
}

static void normal_equations(const double *X, const double *y, int n, int d,
                             double *u)
{
    double *A = calloc((size_t)d * d, sizeof *A);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            for (int k = 0; k < d; k++)
                A[j * d + k] += X[i * d + j] * X[i * d + k];
        }
    for (int j = 0; j < d; j++) {
        u[j] = 0;
        for (int i = 0; i < n; i++)
            u[j] += X[i * d + j] * y[i];
    }
    gauss_solve(A, u, d);
    free(A);
}

static void least_squares_match_normal_equations(void **state)
{
    (void)state;
    int n = 60, d = 6;
    double X[360], y[60], u[6], u2[6], ref[6];
    uint64_t s = 11;
    tu_fill_normal(&s, X, 360, 1.0);
    tu_fill_normal(&s, y, 60, 1.0);
    normal_equations(X, y, n, d, ref);
    int rank;
    char err[256];
    assert_int_equal(linfit_lstsq(X, y, n, d, u, LINFIT_COPY_LIMIT, &rank, NULL, err, sizeof err), 0);
    assert_int_equal(rank, d);
    assert_true(tu_relerr(u, ref, d) < 1e-12);
    /* without a copy of X: the Cholesky path (X is well-conditioned) */
    assert_int_equal(linfit_lstsq(X, y, n, d, u2, 0, &rank, NULL, err, sizeof err), 0);
    assert_int_equal(rank, d);
    assert_true(tu_relerr(u2, ref, d) < 1e-12);
    linfit_result r;
    assert_int_equal(linfit_solve(LOSS_SQUARED, X, y, n, d, u, &r, NULL, err, sizeof err), 0);
    assert_true(r.grad_norm < 1e-13);
    assert_false(r.separable);
}

/* Past LAPACK_MAX_UNITS of dgelsd work, a well-conditioned X is solved by
 * the tiled Cholesky factor with refinement (issue 9 §4: dgelsd cannot be
 * interrupted): the same solution as dgelsd on a copy, to rounding. */
static void large_problems_take_the_cholesky_path(void **state)
{
    (void)state;
    int n = 2000, d = 200; /* n d^2 = 8e7 > 2^26 */
    double *X = malloc(sizeof *X * (size_t)n * d), *y = malloc(sizeof *y * (size_t)n);
    double *A = malloc(sizeof *A * (size_t)n * d), *b = malloc(sizeof *b * (size_t)n);
    double *u = malloc(sizeof *u * (size_t)d);
    uint64_t s = 21;
    tu_fill_normal(&s, X, (size_t)n * d, 1.0);
    tu_fill_normal(&s, y, (size_t)n, 1.0);
    memcpy(A, X, sizeof *A * (size_t)n * d);
    memcpy(b, y, sizeof *b * (size_t)n);
    int rank;
    char err[256];
    assert_int_equal(lapack_gelsd(n, d, A, b, 1e-12, &rank), 0);
    assert_int_equal(linfit_lstsq(X, y, n, d, u, LINFIT_COPY_LIMIT, &rank, NULL, err, sizeof err), 0);
    assert_int_equal(rank, d);
    assert_true(tu_relerr(u, b, (size_t)d) < 1e-13);
    free(X);
    free(y);
    free(A);
    free(b);
    free(u);
}

/* Column 3 = column 0 + column 1, so z = (1, 1, 0, -1, 0) spans the null
 * space; the minimum-norm solution is orthogonal to z. */
static void rank_deficient_gives_minimum_norm(void **state)
{
    (void)state;
    int n = 40, d = 5;
    double X[200], y[40], u[5], u2[5];
    uint64_t s = 5;
    tu_fill_normal(&s, X, 200, 1.0);
    tu_fill_normal(&s, y, 40, 1.0);
    for (int i = 0; i < n; i++)
        X[i * d + 3] = X[i * d + 0] + X[i * d + 1];
    const double z[5] = {1, 1, 0, -1, 0};
    int rank;
    char err[256];
    for (int path = 0; path < 2; path++) {
        double *v = path ? u2 : u;
        assert_int_equal(linfit_lstsq(X, y, n, d, v, path ? 0 : LINFIT_COPY_LIMIT,
                                      &rank, NULL, err, sizeof err), 0);
        assert_int_equal(rank, 4);
        double dot = 0;
        for (int k = 0; k < d; k++)
            dot += v[k] * z[k];
        assert_true(fabs(dot) < 1e-10 * tu_norm(v, d));
        double g[5];
        linfit_loss(LOSS_SQUARED, X, y, n, d, v, g);
        assert_true(tu_norm(g, d) < 1e-12);
    }
    assert_true(tu_relerr(u, u2, d) < 1e-10);
}

static void newton_reaches_tiny_gradient(void **state)
{
    (void)state;
    int n = 300, d = 5;
    double *X = malloc(sizeof(double) * n * d), *y = malloc(sizeof(double) * n);
    double u[5];
    uint64_t s = 77;
    tu_fill_normal(&s, X, (size_t)n * d, 1.0);
    const enum loss_kind ls[] = {LOSS_LOGISTIC, LOSS_SOFTPLUS_HINGE, LOSS_LOGCOSH};
    for (int l = 0; l < 3; l++) {
        for (int i = 0; i < n; i++) {
            double t = X[i * d] - 0.5 * X[i * d + 1];
            y[i] = ls[l] == LOSS_LOGCOSH ? t + 2 * tu_normal(&s)
                                         : ((t + tu_normal(&s)) > 0 ? 1 : -1); /* noisy: not separable */
        }
        linfit_result r;
        char err[256];
        assert_int_equal(linfit_solve(ls[l], X, y, n, d, u, &r, NULL, err, sizeof err), 0);
        if (!(r.grad_norm < 1e-10))
            fail_msg("%s: ||grad|| = %.3g", config_loss_name(ls[l]), r.grad_norm);
        assert_false(r.separable);
        /* it is a minimum: moving u in any coordinate raises the loss */
        for (int k = 0; k < d; k++) {
            double v[5];
            memcpy(v, u, sizeof v);
            v[k] += 1e-4;
            assert_true(linfit_loss(ls[l], X, y, n, d, v, NULL) > r.loss);
        }
    }
    free(X);
    free(y);
}

static void separable_data_is_flagged(void **state)
{
    (void)state;
    int n = 100, d = 3;
    double X[300], y[100], u[3];
    uint64_t s = 3;
    tu_fill_normal(&s, X, 300, 1.0);
    for (int i = 0; i < n; i++)
        y[i] = X[i * d] + 0.3 * X[i * d + 2] > 0 ? 1 : -1;
    const enum loss_kind ls[] = {LOSS_LOGISTIC, LOSS_SOFTPLUS_HINGE};
    for (int l = 0; l < 2; l++) {
        linfit_result r;
        char err[256];
        assert_int_equal(linfit_solve(ls[l], X, y, n, d, u, &r, NULL, err, sizeof err), 0);
        assert_true(r.separable);
        assert_true(r.loss < 1e-10);
    }
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    return blas_init(err, sizeof err) ? -1 : 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(least_squares_match_normal_equations),
        cmocka_unit_test(rank_deficient_gives_minimum_norm),
        cmocka_unit_test(large_problems_take_the_cholesky_path),
        cmocka_unit_test(newton_reaches_tiny_gradient),
        cmocka_unit_test(separable_data_is_flagged),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
