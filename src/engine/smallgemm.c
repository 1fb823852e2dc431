/* smallgemm.c — small products through LIBXSMM (why and which: see
 * smallgemm.h). */
#include "smallgemm.h"

#include <libxsmm.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool enabled;

static void start(void)
{
    const char *e = getenv("RESWEEP_SMALLGEMM");
    enabled = !(e && strcmp(e, "off") == 0);
    libxsmm_init();
}

void smallgemm_init(void) { pthread_once(&once, start); }

bool smallgemm_enabled(void)
{
    smallgemm_init();
    return enabled;
}

const char *smallgemm_target(void)
{
    smallgemm_init();
    return libxsmm_get_target_arch();
}

/* Column-major M x N = (M x K)(K x N), B^T'd when trans_b; NULL when
 * LIBXSMM generates no code for it (then OpenBLAS does the product). */
static libxsmm_dmmfunction kernel(int M, int N, int K, int lda, int ldb,
                                  int ldc, bool beta0, bool trans_b)
{
    const double one = 1.0, zero = 0.0;
    const int flags = (beta0 ? LIBXSMM_GEMM_FLAG_BETA_0 : 0) |
                      (trans_b ? LIBXSMM_GEMM_FLAG_TRANS_B : 0);
    const libxsmm_blasint la = lda, lb = ldb, lc = ldc;
    return libxsmm_dmmdispatch(M, N, K, &la, &lb, &lc, &one,
                               beta0 ? &zero : &one, &flags, NULL);
}

/* C (rows x n) = A (rows x k) B^T (B n x k), row-major. */
static bool run_nt(int rows, int n, int k, const double *A, int lda,
                   const double *Bm, int ldb, bool beta0, double *C, int ldc)
{
    static _Thread_local double T[SMALLGEMM_MAX * SMALLGEMM_MAX];
    int full = rows / SMALLGEMM_ROWS * SMALLGEMM_ROWS, rest = rows - full;
    libxsmm_dmmfunction f = full ? kernel(n, SMALLGEMM_ROWS, k, n, lda, ldc,
                                          beta0, false) : NULL;
    libxsmm_dmmfunction g = rest ? kernel(n, rest, k, n, lda, ldc, beta0,
                                          false) : NULL;
    if ((full && !f) || (rest && !g))
        return false;
    for (int j = 0; j < n; j++)
        for (int c = 0; c < k; c++)
            T[(size_t)c * n + j] = Bm[(size_t)j * ldb + c];
    for (int r = 0; r < full; r += SMALLGEMM_ROWS)
        f(T, A + (size_t)r * lda, C + (size_t)r * ldc);
    if (rest)
        g(T, A + (size_t)full * lda, C + (size_t)full * ldc);
    return true;
}

/* C (m x n) = A^T B (A rows x m, B rows x n), row-major: summed over
 * blocks of rows, the first block with the caller's beta. */
static bool run_tn(int m, int n, int rows, const double *A, int lda,
                   const double *Bm, int ldb, bool beta0, double *C, int ldc)
{
    int full = rows / SMALLGEMM_ROWS * SMALLGEMM_ROWS, rest = rows - full;
    libxsmm_dmmfunction first = kernel(n, m, full ? SMALLGEMM_ROWS : rest,
                                       ldb, lda, ldc, beta0, true);
    libxsmm_dmmfunction f = full > SMALLGEMM_ROWS
        ? kernel(n, m, SMALLGEMM_ROWS, ldb, lda, ldc, false, true) : NULL;
    libxsmm_dmmfunction g = full && rest
        ? kernel(n, m, rest, ldb, lda, ldc, false, true) : NULL;
    if (!first || (full > SMALLGEMM_ROWS && !f) || (full && rest && !g))
        return false;
    first(Bm, A, C);
    for (int r = SMALLGEMM_ROWS; r < full; r += SMALLGEMM_ROWS)
        f(Bm + (size_t)r * ldb, A + (size_t)r * lda, C);
    if (full && rest)
        g(Bm + (size_t)full * ldb, A + (size_t)full * lda, C);
    return true;
}

/* LIBXSMM's generated kernels end without VZEROUPPER; the upper halves
 * of the vector registers they leave dirty make every later SSE
 * instruction (libm's exp, tanh, erfc in the activations) wait on them.
 * Measured: tests/engine/test_noalloc (smooth activations) took 118 s
 * with LIBXSMM and 30 s without before this, 15 s after. Only reached
 * after a kernel ran, so the CPU has AVX. */
__attribute__((target("avx"))) static void clean_upper(void)
{
    __builtin_ia32_vzeroupper();
}

static bool ran(bool done)
{
    if (done)
        clean_upper();
    return done;
}

bool smallgemm_run(bool trans_a, bool trans_b, int m, int n, int k,
                   double alpha, const double *A, int lda, const double *B,
                   int ldb, double beta, double *C, int ldc)
{
    if (!smallgemm_enabled() || alpha != 1.0 || (beta != 0.0 && beta != 1.0)
        || m <= 0 || n <= 0 || k <= 0)
        return false;
    if (!trans_a && trans_b && n <= SMALLGEMM_MAX && k <= SMALLGEMM_MAX)
        return ran(run_nt(m, n, k, A, lda, B, ldb, beta == 0.0, C, ldc));
    if (trans_a && !trans_b && m <= SMALLGEMM_MAX && n <= SMALLGEMM_MAX)
        return ran(run_tn(m, n, k, A, lda, B, ldb, beta == 0.0, C, ldc));
    return false;
}
