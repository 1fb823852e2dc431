/* blas.h — dense linear algebra, with the kernel chosen at start-up.
 *
 * resweep does its matrix products and factorisations through OpenBLAS
 * (which bundles LAPACK), loaded with dlopen() by blas_init() rather than
 * linked. The reason is measured (README, "Performance"): OpenBLAS 0.3.21
 * picks its kernel from a CPU table that predates recent CPUs and falls back
 * to slow AVX2 kernels on AVX-512 machines (Zen 4/5, Sapphire and Emerald
 * Rapids), 45 against 75 GFLOP/s here. OpenBLAS reads OPENBLAS_CORETYPE only
 * while it loads, so blas_init() first checks the CPU's features itself
 * (cpuid and the OS's saved-state mask), sets OPENBLAS_CORETYPE to the best
 * kernel the CPU can run (RESWEEP_BLAS_KERNEL=<name> forces one), then loads
 * the library and pins it to one thread: the worker pool provides the
 * parallelism.
 *
 * All matrices are row-major. Every routine here requires blas_init() to
 * have succeeded (it is idempotent and thread-safe).
 */
#ifndef RESWEEP_BLAS_H
#define RESWEEP_BLAS_H

#include <stdbool.h>
#include <stddef.h>

/* Loads OpenBLAS and chooses its kernel. 0, or -ENOENT/-ELIBBAD with a
 * sentence saying which library or symbol is missing. */
int blas_init(char *err, size_t errlen);

/* The kernel OpenBLAS runs ("SkylakeX", "Haswell", ...) and the kernel the
 * CPU's features call for; equal unless the user forced OPENBLAS_CORETYPE. */
const char *blas_kernel(void);
const char *blas_kernel_expected(void);
/* The library path that was loaded. */
const char *blas_library(void);
/* A sentence on how the kernel was chosen when it was not the plain
 * default (forced, or an inherited OPENBLAS_CORETYPE overridden); "" else.
 * The daemon logs it at start-up. */
const char *blas_note(void);

/* C = alpha * op(A) op(B) + beta * C, op(A) m x k, op(B) k x n. */
void blas_gemm(bool trans_a, bool trans_b, int m, int n, int k, double alpha,
               const double *A, int lda, const double *B, int ldb,
               double beta, double *C, int ldc);

/* y = alpha * op(A) x + beta * y, A m x n. */
void blas_gemv(bool trans, int m, int n, double alpha, const double *A,
               int lda, const double *x, double beta, double *y);

/* The same two in single precision, for training in float32
 * (train.precision): SGEMM through LIBXSMM's s-kernels where smallgemm.h
 * says, OpenBLAS's otherwise. */
void blas_gemm_f32(bool trans_a, bool trans_b, int m, int n, int k,
                   float alpha, const float *A, int lda, const float *B,
                   int ldb, float beta, float *C, int ldc);
void blas_gemv_f32(bool trans, int m, int n, float alpha, const float *A,
                   int lda, const float *x, float beta, float *y);

/* C = alpha * op(A) op(A)^T + beta * C into the lower triangle of the
 * n x n C only (j <= i; the upper one is left as it was), op(A) n x k:
 * A^T for trans (A k x n), else A (n x k). For sums over many calls,
 * completed once at the end. */
void blas_syrk_lower(bool trans, int n, int k, double alpha, const double *A,
                     int lda, double beta, double *C, int ldc);

/* B = B L^-T for the m x n B and the n x n lower triangular L. */
void blas_trsm_right_lt(int m, int n, const double *L, int ldl, double *Bm,
                        int ldb);

/* x = L^-1 x (or L^-T x with trans) for the n x n lower triangular L. */
void blas_trsv_lower(bool trans, int n, const double *L, int ldl, double *x);

/* LAPACK. Each returns LAPACK's info (0 success, < 0 bad argument, > 0
 * numerical failure as documented by LAPACK). */

/* Minimum-norm least squares min ||A x - b|| for A m x n (row-major,
 * read only: dgelsd works on a column-major copy, which this allocates);
 * b is overwritten, x returned in b[0..n-1] (b must hold max(m, n));
 * *rank receives the effective rank for rcond. */
int lapack_gelsd(int m, int n, const double *A, double *b, double rcond,
                 int *rank);

/* A = L L^T, L into the lower triangle of the n x n A (leading dimension
 * lda; the upper triangle is not touched). > 0 when A is not positive
 * definite. */
int lapack_potrf_lower(int n, double *A, int lda);

/* All eigenvalues (ascending, in w) and, if vectors, orthonormal
 * eigenvectors in the rows of A, of the symmetric n x n A. */
int lapack_syev(int n, double *A, double *w, bool vectors);

/* The eigenvalues (ascending, in w) of the symmetric n x n A given by its
 * lower triangle (the upper one is not read); A is destroyed. */
int lapack_eigvals_lower(int n, double *A, double *w);

/* Eigen-decomposition of the symmetric tridiagonal matrix with diagonal
 * d (n) and off-diagonal e (n-1): eigenvalues ascending in d, and when
 * Z != NULL the unit eigenvector of eigenvalue d[k] in row k of Z (n x n).
 * e is destroyed. */
int lapack_stev(int n, double *d, double *e, double *Z);

/* Bytes each routine above allocates for its workspace (its LAPACK
 * work arrays and copies), upper bounds for engine_estimate_bytes. The
 * block size LAPACK's ILAENV picks (32 in the reference LAPACK that
 * OpenBLAS bundles) is taken as BLAS_ESTIMATE_NB, twice that.
 * lapack_eigvals_lower is dsyevd without vectors, lapack_syev_bytes(n,
 * false); lapack_potrf_lower allocates nothing. */
#define BLAS_ESTIMATE_NB 64
size_t lapack_gelsd_bytes(int m, int n);
size_t lapack_syev_bytes(int n, bool vectors);
size_t lapack_stev_bytes(int n, bool vectors);

#endif
