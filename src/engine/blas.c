/* blas.c — OpenBLAS loaded at run time with a kernel chosen for this CPU.
 * Why dlopen and not -lopenblas: see blas.h. */
#include "blas.h"

#include <cpuid.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "smallgemm.h"

enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112,
       CBLAS_UPPER = 121, CBLAS_LOWER = 122, CBLAS_NON_UNIT = 131,
       CBLAS_LEFT = 141, CBLAS_RIGHT = 142 };

typedef void (*dgemm_fn)(int, int, int, int, int, int, double, const double *,
                         int, const double *, int, double, double *, int);
typedef void (*dgemv_fn)(int, int, int, int, double, const double *, int,
                         const double *, int, double, double *, int);
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *,
                         int, const float *, int, float, float *, int);
typedef void (*sgemv_fn)(int, int, int, int, float, const float *, int,
                         const float *, int, float, float *, int);
typedef void (*dsyrk_fn)(int, int, int, int, int, double, const double *, int,
                         double, double *, int);
typedef void (*dtrsm_fn)(int, int, int, int, int, int, int, double,
                         const double *, int, double *, int);
typedef void (*dtrsv_fn)(int, int, int, int, int, const double *, int,
                         double *, int);
/* Fortran LAPACK: every argument by reference, string lengths appended. */
typedef void (*dgelsd_fn)(const int *, const int *, const int *, double *,
                          const int *, double *, const int *, double *,
                          const double *, int *, double *, const int *, int *,
                          int *);
typedef void (*dpotrf_fn)(const char *, const int *, double *, const int *,
                          int *, size_t);
typedef void (*dsyevd_fn)(const char *, const char *, const int *, double *,
                          const int *, double *, double *, const int *, int *,
                          const int *, int *, size_t, size_t);
typedef void (*dstev_fn)(const char *, const int *, double *, double *,
                         double *, const int *, double *, int *, size_t);
typedef void (*set_threads_fn)(int);
typedef char *(*corename_fn)(void);

static struct {
    pthread_once_t once;
    int rc;
    char err[ERR_LEN];
    char library[256];
    char kernel[64];
    char note[256];
    const char *expected;
    dgemm_fn dgemm;
    dgemv_fn dgemv;
    sgemm_fn sgemm;
    sgemv_fn sgemv;
    dsyrk_fn dsyrk;
    dtrsm_fn dtrsm;
    dtrsv_fn dtrsv;
    dgelsd_fn dgelsd;
    dpotrf_fn dpotrf;
    dsyevd_fn dsyevd;
    dstev_fn dstev;
} B = { .once = PTHREAD_ONCE_INIT };

/* The best OpenBLAS kernel family whose instructions this CPU executes and
 * whose register state the OS saves on context switch (XCR0); NULL to let
 * OpenBLAS decide. */
static const char *cpu_best_kernel(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid_count(1, 0, &a, &b, &c, &d))
        return NULL;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx)
        return NULL;
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 0x6) != 0x6)
        return NULL;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return "Sandybridge";
    int avx2 = (b >> 5) & 1;
    int avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 28) & 1) &&
                 ((b >> 30) & 1) && ((b >> 31) & 1); /* F, DQ, CD, BW, VL */
    if (avx512 && (xcr0_lo & 0xE6) == 0xE6)
        return "SkylakeX";
    if (avx2 && fma)
        return "Haswell";
    return "Sandybridge";
}

static int load_symbols(void *h)
{
#define SYM(field, name)                                                   \
    do {                                                                   \
        *(void **)(&B.field) = dlsym(h, name);                             \
        if (!B.field)                                                      \
            return err_set(B.err, sizeof B.err, -ELIBBAD,                  \
                           "%s has no symbol %s; install libopenblas0",     \
                           B.library, name);                               \
    } while (0)
    SYM(dgemm, "cblas_dgemm");
    SYM(dgemv, "cblas_dgemv");
    SYM(sgemm, "cblas_sgemm");
    SYM(sgemv, "cblas_sgemv");
    SYM(dsyrk, "cblas_dsyrk");
    SYM(dtrsm, "cblas_dtrsm");
    SYM(dtrsv, "cblas_dtrsv");
    SYM(dgelsd, "dgelsd_");
    SYM(dpotrf, "dpotrf_");
    SYM(dsyevd, "dsyevd_");
    SYM(dstev, "dstev_");
#undef SYM
    return 0;
}

/* RESWEEP_BLAS_KERNEL names a kernel to force; unset or "auto" lets the
 * CPU's features decide. An OPENBLAS_CORETYPE inherited from the
 * environment is overridden in the auto case: it is a machine-wide
 * setting aimed at other programs (this one's image sets "Haswell" on an
 * AVX-512 CPU), and resweep only ever picks a kernel the CPU executes. */
static void choose_kernel(void)
{
    const char *force = getenv("RESWEEP_BLAS_KERNEL");
    const char *inherited = getenv("OPENBLAS_CORETYPE");
    B.expected = cpu_best_kernel();
    if (force && *force && strcmp(force, "auto") != 0) {
        B.expected = force;
        setenv("OPENBLAS_CORETYPE", force, 1);
        snprintf(B.note, sizeof B.note, "kernel forced by RESWEEP_BLAS_KERNEL=%s", force);
        return;
    }
    if (!B.expected)
        return;
    if (inherited && *inherited && strcasecmp(inherited, B.expected) != 0)
        snprintf(B.note, sizeof B.note, "OPENBLAS_CORETYPE=%s from the "
                 "environment overridden by this CPU's features (%s); set "
                 "RESWEEP_BLAS_KERNEL=%s to keep it", inherited, B.expected,
                 inherited);
    setenv("OPENBLAS_CORETYPE", B.expected, 1);
}

static void blas_load(void)
{
    const char *lib = getenv("RESWEEP_BLAS_LIB");
    if (!lib || !*lib)
        lib = "libopenblas.so.0";
    snprintf(B.library, sizeof B.library, "%s", lib);
    choose_kernel();
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        B.rc = err_set(B.err, sizeof B.err, -ENOENT,
                       "cannot load %s (%s); install libopenblas0", lib,
                       dlerror());
        return;
    }
    B.rc = load_symbols(h);
    if (B.rc)
        return;
    set_threads_fn set_threads;
    *(void **)(&set_threads) = dlsym(h, "openblas_set_num_threads");
    if (set_threads)
        set_threads(1);
    corename_fn corename;
    *(void **)(&corename) = dlsym(h, "openblas_get_corename");
    snprintf(B.kernel, sizeof B.kernel, "%s",
             corename ? corename() : "unknown");
    if (!B.expected)
        B.expected = B.kernel;
    smallgemm_init();
}

int blas_init(char *err, size_t errlen)
{
    pthread_once(&B.once, blas_load);
    if (B.rc)
        return err_set(err, errlen, B.rc, "%s", B.err);
    return 0;
}

const char *blas_kernel(void) { return B.kernel; }
const char *blas_kernel_expected(void) { return B.expected ? B.expected : ""; }
const char *blas_library(void) { return B.library; }
const char *blas_note(void) { return B.note; }

void blas_gemm(bool trans_a, bool trans_b, int m, int n, int k, double alpha,
               const double *A, int lda, const double *Bm, int ldb,
               double beta, double *C, int ldc)
{
    if (smallgemm_run(trans_a, trans_b, m, n, k, alpha, A, lda, Bm, ldb, beta,
                      C, ldc))
        return;
    B.dgemm(CBLAS_ROW_MAJOR, trans_a ? CBLAS_TRANS : CBLAS_NO_TRANS,
            trans_b ? CBLAS_TRANS : CBLAS_NO_TRANS, m, n, k, alpha, A, lda,
            Bm, ldb, beta, C, ldc);
}

void blas_gemv(bool trans, int m, int n, double alpha, const double *A,
               int lda, const double *x, double beta, double *y)
{
    B.dgemv(CBLAS_ROW_MAJOR, trans ? CBLAS_TRANS : CBLAS_NO_TRANS, m, n,
            alpha, A, lda, x, 1, beta, y, 1);
}

void blas_gemm_f32(bool trans_a, bool trans_b, int m, int n, int k,
                   float alpha, const float *A, int lda, const float *Bm,
                   int ldb, float beta, float *C, int ldc)
{
    if (smallgemm_run_f32(trans_a, trans_b, m, n, k, alpha, A, lda, Bm, ldb,
                          beta, C, ldc))
        return;
    B.sgemm(CBLAS_ROW_MAJOR, trans_a ? CBLAS_TRANS : CBLAS_NO_TRANS,
            trans_b ? CBLAS_TRANS : CBLAS_NO_TRANS, m, n, k, alpha, A, lda,
            Bm, ldb, beta, C, ldc);
}

void blas_gemv_f32(bool trans, int m, int n, float alpha, const float *A,
                   int lda, const float *x, float beta, float *y)
{
    B.sgemv(CBLAS_ROW_MAJOR, trans ? CBLAS_TRANS : CBLAS_NO_TRANS, m, n,
            alpha, A, lda, x, 1, beta, y, 1);
}

void blas_syrk_lower(bool trans, int n, int k, double alpha, const double *A,
                     int lda, double beta, double *C, int ldc)
{
    B.dsyrk(CBLAS_ROW_MAJOR, CBLAS_LOWER, trans ? CBLAS_TRANS : CBLAS_NO_TRANS,
            n, k, alpha, A, lda, beta, C, ldc);
}

void blas_trsm_right_lt(int m, int n, const double *L, int ldl, double *Bm,
                        int ldb)
{
    B.dtrsm(CBLAS_ROW_MAJOR, CBLAS_RIGHT, CBLAS_LOWER, CBLAS_TRANS,
            CBLAS_NON_UNIT, m, n, 1.0, L, ldl, Bm, ldb);
}

void blas_trsv_lower(bool trans, int n, const double *L, int ldl, double *x)
{
    B.dtrsv(CBLAS_ROW_MAJOR, CBLAS_LOWER, trans ? CBLAS_TRANS : CBLAS_NO_TRANS,
            CBLAS_NON_UNIT, n, L, ldl, x, 1);
}

int lapack_potrf_lower(int n, double *A, int lda)
{
    /* Row-major lower is column-major upper: the same numbers. */
    int info = 0;
    B.dpotrf("U", &n, A, &lda, &info, 1);
    return info;
}

int lapack_gelsd(int m, int n, const double *A, double *b, double rcond,
                 int *rank)
{
    /* Row-major A is column-major A^T; LAPACK needs A itself, so transpose. */
    int ldb = m > n ? m : n, nrhs = 1, info = 0, lwork = -1, iwq = 0;
    double *Ac = malloc(sizeof *Ac * (size_t)m * (size_t)n);
    double *s = malloc(sizeof *s * (size_t)(m < n ? m : n));
    if (!Ac || !s) {
        free(Ac);
        free(s);
        return -ENOMEM;
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            Ac[(size_t)j * m + i] = A[(size_t)i * n + j];
    double wq;
    B.dgelsd(&m, &n, &nrhs, Ac, &m, b, &ldb, s, &rcond, rank, &wq, &lwork,
             &iwq, &info);
    lwork = (int)wq;
    double *work = malloc(sizeof *work * (size_t)lwork);
    int *iwork = malloc(sizeof *iwork * (size_t)(iwq > 1 ? iwq : 1));
    if (!work || !iwork)
        info = -ENOMEM;
    else
        B.dgelsd(&m, &n, &nrhs, Ac, &m, b, &ldb, s, &rcond, rank, work,
                 &lwork, iwork, &info);
    free(work);
    free(iwork);
    free(Ac);
    free(s);
    return info;
}

int lapack_syev(int n, double *A, double *w, bool vectors)
{
    int lwork = -1, liwork = -1, info = 0, iwq = 0;
    double wq;
    const char *jobz = vectors ? "V" : "N";
    B.dsyevd(jobz, "L", &n, A, &n, w, &wq, &lwork, &iwq, &liwork, &info, 1, 1);
    lwork = (int)wq;
    liwork = iwq > 1 ? iwq : 1;
    double *work = malloc(sizeof *work * (size_t)lwork);
    int *iwork = malloc(sizeof *iwork * (size_t)liwork);
    if (!work || !iwork)
        info = -ENOMEM;
    else
        B.dsyevd(jobz, "L", &n, A, &n, w, work, &lwork, iwork, &liwork, &info,
                 1, 1);
    free(work);
    free(iwork);
    return info;
}

int lapack_eigvals_lower(int n, double *A, double *w)
{
    /* Row-major lower is column-major upper. */
    int lwork = -1, liwork = -1, info = 0, iwq = 0;
    double wq;
    B.dsyevd("N", "U", &n, A, &n, w, &wq, &lwork, &iwq, &liwork, &info, 1, 1);
    lwork = (int)wq;
    liwork = iwq > 1 ? iwq : 1;
    double *work = malloc(sizeof *work * (size_t)lwork);
    int *iwork = malloc(sizeof *iwork * (size_t)liwork);
    if (!work || !iwork)
        info = -ENOMEM;
    else
        B.dsyevd("N", "U", &n, A, &n, w, work, &lwork, iwork, &liwork, &info,
                 1, 1);
    free(work);
    free(iwork);
    return info;
}

int lapack_stev(int n, double *d, double *e, double *Z)
{
    int info = 0, ldz = n > 0 ? n : 1;
    double *work = NULL;
    if (Z && n > 1) {
        work = malloc(sizeof *work * (size_t)(2 * n - 2));
        if (!work)
            return -ENOMEM;
    }
    B.dstev(Z ? "V" : "N", &n, d, e, Z, &ldz, work, &info, 1);
    free(work);
    return info;
}

/* ---- workspace sizes (blas.h), from LAPACK's documented formulas ---- */

/* dgelsd's NLVL: levels of the divide and conquer tree, SMLSIZ 25. */
static size_t gelsd_levels(size_t mn)
{
    size_t lv = 0;
    for (size_t q = mn / 26; q >= 1; q /= 2)
        lv++;
    return lv;
}

/* The column-major copy Ac and s, dgelsd's work and iwork. Its optimal
 * work is the largest of several terms; their sum bounds it. Past
 * MNTHR = 1.6 MINMN rows (or columns) it factors first (QR or LQ) and
 * works on the MINMN square: MINMN^2 + 4 MINMN + 3 MINMN NB + WLALSD;
 * else it works on the whole matrix: 3 MINMN + (M + N) NB + WLALSD.
 * iwork is 3 MINMN NLVL + 11 MINMN ints. */
size_t lapack_gelsd_bytes(int m, int n)
{
    size_t M = (size_t)(m > 0 ? m : 0), N = (size_t)(n > 0 ? n : 0);
    size_t mn = M < N ? M : N, mx = M < N ? N : M, lv = gelsd_levels(mn);
    size_t wlalsd = 9 * mn + 2 * mn * 25 + 8 * mn * lv + mn + 26 * 26;
    size_t work = 10 * mx >= 16 * mn
                      ? mn * mn + 5 * mn + 3 * mn * BLAS_ESTIMATE_NB + wlalsd
                      : 3 * mn + (M + N) * BLAS_ESTIMATE_NB + wlalsd;
    size_t iwork = 3 * mn * lv + 11 * mn + 1;
    return sizeof(double) * (M * N + mn + work) + sizeof(int) * iwork;
}

/* dsyevd: LWORK 1 + 6N + 2N^2 with vectors (2N + 1 without), or the
 * tridiagonal reduction's 2N + N NB when larger; LIWORK 3 + 5N. */
size_t lapack_syev_bytes(int n, bool vectors)
{
    size_t N = (size_t)(n > 0 ? n : 0);
    size_t lw = vectors ? 1 + 6 * N + 2 * N * N : 2 * N + 1;
    size_t opt = 2 * N + N * BLAS_ESTIMATE_NB;
    return sizeof(double) * (lw > opt ? lw : opt) + sizeof(int) * (3 + 5 * N);
}

size_t lapack_stev_bytes(int n, bool vectors)
{
    return vectors && n > 1 ? sizeof(double) * (size_t)(2 * n - 2) : 0;
}
