/* smallgemm.h — the training step's small products through LIBXSMM.
 *
 * A step multiplies a tall block of samples by a small weight matrix
 * (rows x k by k x h, h and k at most a few dozen) and reduces two such
 * blocks over the samples (h x rows by rows x k). OpenBLAS spends most of
 * such a product packing its operands; LIBXSMM generates, at run time, a
 * kernel for exactly one (m, n, k) with the operands in place. Measured
 * on the step's shapes (bench/xsmm_bench.c, README "Dense algebra"), it
 * wins while the small dimensions are at most SMALLGEMM_MAX and loses
 * beyond; so blas_gemm() asks smallgemm_run() first and keeps OpenBLAS
 * for everything else.
 *
 * LIBXSMM is column-major, resweep row-major: a row-major m x n matrix is
 * the column-major n x m one. The two shapes handled:
 *   C = A B^T  (A rows x k, B n x k): B is copied, transposed, into a
 *              per-thread buffer, so that in column-major terms
 *              C^T = B A^T is a plain product, in blocks of
 *              SMALLGEMM_ROWS rows;
 *   C = A^T B  (A rows x m, B rows x n): C^T = B^T A summed over blocks
 *              of SMALLGEMM_ROWS rows, LIBXSMM's transposed-B kernel.
 * Only alpha = 1 and beta in {0, 1}, the values the step uses: LIBXSMM's
 * kernels take no other scalars. Results are deterministic for a given
 * CPU target (the same kernel, the same order of sums), as OpenBLAS's are
 * for a given kernel; they differ from OpenBLAS's in the last bits.
 */
#ifndef RESWEEP_SMALLGEMM_H
#define RESWEEP_SMALLGEMM_H

#include <stdbool.h>

enum { SMALLGEMM_MAX = 64, SMALLGEMM_ROWS = 32 };

/* Starts LIBXSMM (idempotent; blas_init calls it). */
void smallgemm_init(void);

/* Computes C = alpha op(A) op(B) + beta C as blas_gemm() would and
 * returns true when the shape and scalars are ones it handles; returns
 * false, having touched nothing, otherwise. Allocation-free once a
 * shape's kernel exists (the first call of a shape generates it). */
bool smallgemm_run(bool trans_a, bool trans_b, int m, int n, int k,
                   double alpha, const double *A, int lda, const double *B,
                   int ldb, double beta, double *C, int ldc);

/* The same for float operands (training in float32, train.precision). */
bool smallgemm_run_f32(bool trans_a, bool trans_b, int m, int n, int k,
                       float alpha, const float *A, int lda, const float *B,
                       int ldb, float beta, float *C, int ldc);

/* LIBXSMM's code path for this CPU ("hsw" for AVX2, "skx"... for
 * AVX-512, "generic" when it generates no code). */
const char *smallgemm_target(void);

/* False when RESWEEP_SMALLGEMM=off, for benchmarks against OpenBLAS. */
bool smallgemm_enabled(void);

#endif
