/* chol.c — see chol.h. */
#include "chol.h"

#include "blas.h"

static int tile_len(int n, int k)
{
    return n - k < CHOL_TILE ? n - k : CHOL_TILE;
}

/* The columns right of tile column k, updated by its panel L[k.., k]:
 * A[j.., j] -= L[j.., k] L[j, k]^T for each tile column j > k. */
static int update_right(int n, double *A, int k, int kb, poller *p)
{
    for (int j = k + kb; j < n; j += CHOL_TILE) {
        int jb = tile_len(n, j), below = n - j - jb;
        const double *Ljk = A + (size_t)j * n + k;
        blas_syrk_lower(false, jb, kb, -1.0, Ljk, n, 1.0, A + (size_t)j * n + j, n);
        if (below > 0)
            blas_gemm(false, true, below, jb, kb, -1.0, Ljk + (size_t)jb * n, n,
                      Ljk, n, 1.0, A + (size_t)(j + jb) * n + j, n);
        int rc = poller_tick(p, (uint64_t)(n - j) * (uint64_t)jb * (uint64_t)kb);
        if (rc)
            return rc;
    }
    return 0;
}

int chol_factor(int n, double *A, poller *p)
{
    for (int k = 0; k < n; k += CHOL_TILE) {
        int kb = tile_len(n, k), below = n - k - kb;
        double *Akk = A + (size_t)k * n + k;
        if (lapack_potrf_lower(kb, Akk, n) != 0)
            return 1;
        if (below > 0)
            blas_trsm_right_lt(below, kb, Akk, n, Akk + (size_t)kb * n, n);
        int rc = poller_tick(p, (uint64_t)(below + kb) * (uint64_t)kb * (uint64_t)kb);
        if (rc || (rc = update_right(n, A, k, kb, p)))
            return rc;
    }
    return 0;
}

int chol_solve(int n, const double *L, double *b, poller *p)
{
    int rc;
    /* L y = b, a tile row at a time */
    for (int k = 0; k < n; k += CHOL_TILE) {
        int kb = tile_len(n, k);
        if (k > 0)
            blas_gemv(false, kb, k, -1.0, L + (size_t)k * n, n, b, 1.0, b + k);
        blas_trsv_lower(false, kb, L + (size_t)k * n + k, n, b + k);
        if ((rc = poller_tick(p, (uint64_t)kb * (uint64_t)(k + kb))))
            return rc;
    }
    /* L^T x = y, from the last tile up */
    int last = (n - 1) / CHOL_TILE * CHOL_TILE;
    for (int k = last; k >= 0; k -= CHOL_TILE) {
        int kb = tile_len(n, k), below = n - k - kb;
        if (below > 0)
            blas_gemv(true, below, kb, -1.0, L + (size_t)(k + kb) * n + k, n,
                      b + k + kb, 1.0, b + k);
        blas_trsv_lower(true, kb, L + (size_t)k * n + k, n, b + k);
        if ((rc = poller_tick(p, (uint64_t)kb * (uint64_t)(n - k))))
            return rc;
    }
    return 0;
}
