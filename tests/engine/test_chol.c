/* The tiled Cholesky factorisation (chol.h): solves match an independent
 * elimination at orders below, at and across the tile size; a matrix that
 * is not positive definite is told; a cancel stops it (issue 9 §4). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "blas.h"
#include "chol.h"
#include "testutil.h"

/* A = M M^T / n + I for a random n x n M: positive definite, cond ~ 5. */
static double *random_spd(int n, uint64_t seed)
{
    uint64_t s = seed;
    double *M = malloc(sizeof *M * (size_t)n * n), *A = calloc((size_t)n * n, sizeof *A);
    assert_non_null(M);
    assert_non_null(A);
    tu_fill_normal(&s, M, (size_t)n * n, 1.0);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double v = 0;
            for (int k = 0; k < n; k++)
                v += M[(size_t)i * n + k] * M[(size_t)j * n + k];
            A[(size_t)i * n + j] = v / n + (i == j);
        }
    free(M);
    return A;
}

static void solves_match_the_matrix(void **state)
{
    (void)state;
    const int orders[] = {1, 2, 7, CHOL_TILE - 1, CHOL_TILE, CHOL_TILE + 1, 2 * CHOL_TILE + 37};
    for (size_t t = 0; t < sizeof orders / sizeof *orders; t++) {
        int n = orders[t];
        double *A = random_spd(n, 11 + (uint64_t)n), *L = malloc(sizeof *L * (size_t)n * n);
        double *x = malloc(sizeof *x * (size_t)n), *b = malloc(sizeof *b * (size_t)n);
        uint64_t s = 5;
        tu_fill_normal(&s, x, (size_t)n, 1.0);
        for (int i = 0; i < n; i++) {
            b[i] = 0;
            for (int j = 0; j < n; j++)
                b[i] += A[(size_t)i * n + j] * x[j];
        }
        memcpy(L, A, sizeof *L * (size_t)n * n);
        /* the upper triangle is neither read nor written */
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                L[(size_t)i * n + j] = NAN;
        assert_int_equal(chol_factor(n, L, NULL), 0);
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                assert_true(isnan(L[(size_t)i * n + j]));
        assert_int_equal(chol_solve(n, L, b, NULL), 0);
        if (!(tu_relerr(b, x, (size_t)n) < 1e-12))
            fail_msg("n = %d: relative error %g", n, tu_relerr(b, x, (size_t)n));
        free(A);
        free(L);
        free(x);
        free(b);
    }
}

static void an_indefinite_matrix_is_told(void **state)
{
    (void)state;
    int n = CHOL_TILE + 20;
    double *A = random_spd(n, 3);
    A[(size_t)(n - 1) * n + (n - 1)] = -1; /* in the last tile */
    assert_int_equal(chol_factor(n, A, NULL), 1);
    free(A);
}

static enum run_poll always_cancel(void *ctx)
{
    (void)ctx;
    return RUN_CANCEL;
}

static void a_cancel_stops_it(void **state)
{
    (void)state;
    int n = 3 * CHOL_TILE;
    double *A = random_spd(n, 4), b[3 * CHOL_TILE] = {0};
    run_hooks h = {.poll = always_cancel};
    poller p;
    poller_init(&p, &h);
    p.next_s = 0; /* ask at the first clock read, not 10 ms on */
    assert_int_equal(chol_factor(n, A, &p), ENGINE_ECANCELED);
    assert_int_equal(chol_solve(n, A, b, &p), ENGINE_ECANCELED);
    free(A);
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
        cmocka_unit_test(solves_match_the_matrix),
        cmocka_unit_test(an_indefinite_matrix_is_told),
        cmocka_unit_test(a_cancel_stops_it),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
