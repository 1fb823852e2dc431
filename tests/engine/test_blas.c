/* Issue 5's regression check: the engine must not fall back silently to a
 * slow BLAS kernel. Asserts which kernel OpenBLAS runs (not how long it
 * takes): the widest family the CPU's features allow, unless a kernel was
 * forced on purpose with RESWEEP_BLAS_KERNEL. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "blas.h"
#include "smallgemm.h"
#include "testutil.h"

static const char *cpu_family(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
    if (__builtin_cpu_supports("avx"))
        return "Sandybridge";
    return NULL;
}

static void kernel_matches_the_cpu(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(blas_init(err, sizeof err), 0);
    const char *forced = getenv("RESWEEP_BLAS_KERNEL");
    if (forced && *forced && strcmp(forced, "auto") != 0) {
        assert_string_equal(blas_kernel_expected(), forced);
        skip(); /* forced on purpose: nothing to regress against */
    }
    const char *want = cpu_family();
    if (!want)
        skip(); /* a CPU without AVX: OpenBLAS decides alone */
    assert_string_equal(blas_kernel_expected(), want);
    if (strcasecmp(blas_kernel(), want) != 0)
        fail_msg("OpenBLAS runs the %s kernel on a CPU that supports %s (%s)",
                 blas_kernel(), want, blas_note());
}

/* The same for LIBXSMM's small products (src/engine/smallgemm.h): the
 * code path its CPU detection picked must be the widest the CPU runs,
 * never "generic" (no generated code: every small product would go back
 * to OpenBLAS) on a machine with AVX2. */
static void small_products_use_the_cpus_vector_code(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(blas_init(err, sizeof err), 0);
    const char *fam = cpu_family(), *t = smallgemm_target();
    if (!fam || strcmp(fam, "Sandybridge") == 0 || !smallgemm_enabled())
        skip();
    static const char *const avx512[] = {"skx", "clx", "cpx", "spr"};
    bool wide = false;
    for (size_t i = 0; i < sizeof avx512 / sizeof *avx512; i++)
        wide |= strcmp(t, avx512[i]) == 0;
    if (strcmp(fam, "SkylakeX") == 0 && !wide)
        fail_msg("LIBXSMM generates %s code on a CPU with AVX-512", t);
    if (strcmp(fam, "Haswell") == 0 && strcmp(t, "hsw") != 0)
        fail_msg("LIBXSMM generates %s code on a CPU with AVX2", t);
}

/* The loaded routines compute what they should (row-major conventions). */
static void gemm_matches_naive_product(void **state)
{
    (void)state;
    int m = 7, n = 5, k = 3;
    double A[21], B[15], C[35], ref[35];
    uint64_t s = 9;
    tu_fill_normal(&s, A, 21, 1);
    tu_fill_normal(&s, B, 15, 1);
    for (int tb = 0; tb < 2; tb++) {
        /* B as k x n (tb = 0) or its transpose stored n x k (tb = 1) */
        double Bt[15];
        for (int p = 0; p < k; p++)
            for (int j = 0; j < n; j++)
                Bt[j * k + p] = B[p * n + j];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                ref[i * n + j] = 0;
                for (int p = 0; p < k; p++)
                    ref[i * n + j] += A[i * k + p] * B[p * n + j];
            }
        blas_gemm(false, tb, m, n, k, 1.0, A, k, tb ? Bt : B, tb ? k : n, 0.0, C, n);
        assert_true(tu_relerr(C, ref, 35) < 1e-15);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kernel_matches_the_cpu),
        cmocka_unit_test(small_products_use_the_cpus_vector_code),
        cmocka_unit_test(gemm_matches_naive_product),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
