/* The LIBXSMM path of blas_gemm (src/engine/smallgemm.c) against a
 * long-double triple loop, on the shapes it takes and at the edges of its
 * row blocks (SMALLGEMM_ROWS - 1, SMALLGEMM_ROWS, + 1), with strided
 * operands, beta 0 over a C full of NaN (which must not leak) and beta 1;
 * and the shapes it must leave to OpenBLAS. The float path (train.precision
 * float32) likewise, through LIBXSMM's s-kernels and OpenBLAS's SGEMM. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "blas.h"
#include "smallgemm.h"
#include "testutil.h"

/* C = op(A) op(B) (+ C0 when beta is 1), op(A) m x k, op(B) k x n. */
static void naive(bool ta, bool tb, int m, int n, int k, const double *A,
                  int lda, const double *B, int ldb, double beta,
                  const double *C0, int ldc, double *ref)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            long double s = beta == 1.0 ? C0[(size_t)i * ldc + j] : 0;
            for (int p = 0; p < k; p++)
                s += (long double)(ta ? A[(size_t)p * lda + i]
                                      : A[(size_t)i * lda + p]) *
                     (tb ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j]);
            ref[(size_t)i * n + j] = (double)s;
        }
}

/* One product: true if smallgemm took it; checks it to 1e-14 relative
 * (sums of k terms of O(1): k eps is the scale; k <= 1000 here). */
static bool check(bool ta, bool tb, int m, int n, int k, double beta,
                  uint64_t seed)
{
    int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
    int lda = ac + 3, ldb = bc + 2, ldc = n + 5;
    double *A = malloc(sizeof *A * (size_t)ar * lda);
    double *B = malloc(sizeof *B * (size_t)br * ldb);
    double *C = malloc(sizeof *C * (size_t)m * ldc);
    double *C0 = malloc(sizeof *C0 * (size_t)m * ldc);
    double *ref = malloc(sizeof *ref * (size_t)m * n);
    double *got = malloc(sizeof *got * (size_t)m * n);
    uint64_t s = seed;
    tu_fill_normal(&s, A, (size_t)ar * lda, 1);
    tu_fill_normal(&s, B, (size_t)br * ldb, 1);
    tu_fill_normal(&s, C0, (size_t)m * ldc, 1);
    for (size_t i = 0; i < (size_t)m * ldc; i++)
        C[i] = beta == 0.0 ? NAN : C0[i];
    naive(ta, tb, m, n, k, A, lda, B, ldb, beta, C0, ldc, ref);
    bool took = smallgemm_run(ta, tb, m, n, k, 1.0, A, lda, B, ldb, beta,
                              C, ldc);
    if (took) {
        for (int i = 0; i < m; i++) {
            memcpy(got + (size_t)i * n, C + (size_t)i * ldc, sizeof *got * n);
            for (int j = n; j < ldc; j++) /* the padding is not written */
                assert_true(beta == 0.0 ? isnan(C[(size_t)i * ldc + j])
                                        : C[(size_t)i * ldc + j] == C0[(size_t)i * ldc + j]);
        }
        double e = tu_relerr(got, ref, (size_t)m * n);
        if (!(e < 1e-14))
            fail_msg("%s%s m %d n %d k %d beta %g: relative error %.3g",
                     ta ? "T" : "N", tb ? "T" : "N", m, n, k, beta, e);
    }
    free(A), free(B), free(C), free(C0), free(ref), free(got);
    return took;
}

static void forward_shapes_match_the_naive_product(void **state)
{
    (void)state;
    const int rows[] = {1, 31, 32, 33, 100, 1000};
    const int dims[] = {1, 5, 16, 64};
    uint64_t seed = 1;
    for (size_t r = 0; r < sizeof rows / sizeof *rows; r++)
        for (size_t a = 0; a < 4; a++)
            for (size_t b = 0; b < 4; b++)
                for (int beta = 0; beta < 2; beta++)
                    assert_true(check(false, true, rows[r], dims[a], dims[b],
                                      beta, seed++));
}

static void reduction_shapes_match_the_naive_product(void **state)
{
    (void)state;
    const int rows[] = {1, 31, 32, 33, 64, 65, 1000};
    const int dims[] = {1, 5, 16, 64};
    uint64_t seed = 100;
    for (size_t r = 0; r < sizeof rows / sizeof *rows; r++)
        for (size_t a = 0; a < 4; a++)
            for (size_t b = 0; b < 4; b++)
                for (int beta = 0; beta < 2; beta++)
                    assert_true(check(true, false, dims[a], dims[b], rows[r],
                                      beta, seed++));
}

/* What LIBXSMM's kernels cannot do, or where OpenBLAS is faster, is left
 * alone: the call returns false and blas_gemm falls through. */
static void other_shapes_are_left_to_openblas(void **state)
{
    (void)state;
    assert_false(check(false, true, 100, 65, 10, 0, 7));
    assert_false(check(false, true, 100, 10, 65, 1, 8));
    assert_false(check(true, false, 65, 10, 100, 0, 9));
    assert_false(check(false, false, 100, 10, 10, 0, 10));
    assert_false(check(true, true, 10, 10, 10, 0, 11));
    double A[4] = {1, 2, 3, 4}, C[4] = {0};
    assert_false(smallgemm_run(false, true, 2, 2, 2, 2.0, A, 2, A, 2, 0.0, C, 2));
    assert_false(smallgemm_run(false, true, 2, 2, 2, 1.0, A, 2, A, 2, 0.5, C, 2));
}

/* The same product twice gives the same bits (the kernel is cached, the
 * order of its sums fixed). */
static void repeated_products_are_identical(void **state)
{
    (void)state;
    enum { M = 333, N = 16, K = 10 };
    static double A[M * K], B[N * K], C1[M * N], C2[M * N];
    uint64_t s = 5;
    tu_fill_normal(&s, A, M * K, 1);
    tu_fill_normal(&s, B, N * K, 1);
    blas_gemm(false, true, M, N, K, 1.0, A, K, B, K, 0.0, C1, N);
    blas_gemm(false, true, M, N, K, 1.0, A, K, B, K, 0.0, C2, N);
    assert_memory_equal(C1, C2, sizeof C1);
}

/* The float product of float-rounded operands against the long-double
 * loop on the same values: relative error (in norm) below 2e-5, about
 * 160 eps32; a sum of k <= 1000 float products of O(1) carries about
 * sqrt(k) eps32 for random signs (at most k eps32 in the worst case). */
static bool check_f32(bool ta, bool tb, int m, int n, int k, float beta,
                      uint64_t seed, bool via_blas)
{
    int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
    size_t na = (size_t)ar * ac, nb = (size_t)br * bc, nc = (size_t)m * n;
    double *A = malloc(sizeof *A * na), *B = malloc(sizeof *B * nb);
    double *C0 = malloc(sizeof *C0 * nc), *ref = malloc(sizeof *ref * nc);
    double *got = malloc(sizeof *got * nc);
    float *A32 = malloc(sizeof *A32 * na), *B32 = malloc(sizeof *B32 * nb);
    float *C32 = malloc(sizeof *C32 * nc);
    uint64_t s = seed;
    tu_fill_normal(&s, A, na, 1);
    tu_fill_normal(&s, B, nb, 1);
    tu_fill_normal(&s, C0, nc, 1);
    for (size_t i = 0; i < na; i++)
        A[i] = A32[i] = (float)A[i];
    for (size_t i = 0; i < nb; i++)
        B[i] = B32[i] = (float)B[i];
    for (size_t i = 0; i < nc; i++) {
        C0[i] = (float)C0[i];
        C32[i] = beta == 0 ? NAN : (float)C0[i];
    }
    naive(ta, tb, m, n, k, A, ac, B, bc, beta, C0, n, ref);
    bool took = true;
    if (via_blas)
        blas_gemm_f32(ta, tb, m, n, k, 1, A32, ac, B32, bc, beta, C32, n);
    else
        took = smallgemm_run_f32(ta, tb, m, n, k, 1, A32, ac, B32, bc, beta,
                                 C32, n);
    if (took) {
        for (size_t i = 0; i < nc; i++)
            got[i] = C32[i];
        double e = tu_relerr(got, ref, nc);
        if (!(e < 2e-5))
            fail_msg("float %s%s m %d n %d k %d beta %g: relative error %.3g",
                     ta ? "T" : "N", tb ? "T" : "N", m, n, k, beta, e);
    }
    free(A), free(B), free(C0), free(ref), free(got);
    free(A32), free(B32), free(C32);
    return took;
}

static void float_products_match_the_naive_product(void **state)
{
    (void)state;
    const int rows[] = {1, 31, 32, 33, 1000};
    const int dims[] = {1, 5, 16, 64};
    uint64_t seed = 500;
    for (size_t r = 0; r < sizeof rows / sizeof *rows; r++)
        for (size_t a = 0; a < 4; a++)
            for (size_t b = 0; b < 4; b++)
                for (int beta = 0; beta < 2; beta++) {
                    assert_true(check_f32(false, true, rows[r], dims[a],
                                          dims[b], (float)beta, seed++, false));
                    assert_true(check_f32(true, false, dims[a], dims[b],
                                          rows[r], (float)beta, seed++, false));
                }
    /* shapes past LIBXSMM's go to OpenBLAS's SGEMM, which must be right */
    assert_false(check_f32(false, true, 100, 65, 10, 0, 7, false));
    assert_true(check_f32(false, true, 300, 200, 150, 0, 8, true));
    assert_true(check_f32(true, false, 130, 90, 700, 1, 9, true));
    assert_true(check_f32(false, false, 100, 10, 10, 0, 10, true));
}

int main(void)
{
    char err[256];
    if (blas_init(err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (!smallgemm_enabled()) {
        fprintf(stderr, "RESWEEP_SMALLGEMM=off: nothing to test\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_shapes_match_the_naive_product),
        cmocka_unit_test(reduction_shapes_match_the_naive_product),
        cmocka_unit_test(other_shapes_are_left_to_openblas),
        cmocka_unit_test(repeated_products_are_identical),
        cmocka_unit_test(float_products_match_the_naive_product),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
