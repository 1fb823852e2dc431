/* dgemm_peak — this core's DGEMM and SGEMM rates through resweep's BLAS
 * (the kernel blas_init chose, one thread): the "peaks" the benchmark
 * tables compare float64 and float32 training throughput with. Prints
 * one JSON line ("gflops" DGEMM's, "sgflops" SGEMM's).
 *   build/bench/dgemm_peak [N] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "blas.h"
#include "err.h"
#include "smallgemm.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The best of five n x n x n products, in GFLOP/s; -1 out of memory. */
#define PEAK_OF(name, T, gemm)                                              \
    static double name(int n)                                              \
    {                                                                      \
        size_t nn = (size_t)n * n;                                         \
        T *A = malloc(sizeof(T) * nn), *B = malloc(sizeof(T) * nn),        \
          *C = calloc(nn, sizeof(T));                                      \
        double best = -1;                                                  \
        if (A && B && C) {                                                 \
            for (size_t i = 0; i < nn; i++) {                              \
                A[i] = (T)(i % 17) / 17;                                   \
                B[i] = (T)(i % 13) / 13;                                   \
            }                                                              \
            gemm(false, false, n, n, n, 1, A, n, B, n, 0, C, n);           \
            for (int rep = 0; rep < 5; rep++) {                            \
                double t = now_s();                                        \
                gemm(false, false, n, n, n, 1, A, n, B, n, 0, C, n);       \
                double g = 2.0 * n * (double)n * n / (now_s() - t) / 1e9;  \
                best = g > best ? g : best;                                \
            }                                                              \
        }                                                                  \
        free(A);                                                           \
        free(B);                                                           \
        free(C);                                                           \
        return best;                                                       \
    }
PEAK_OF(peak_f64, double, blas_gemm)
PEAK_OF(peak_f32, float, blas_gemm_f32)

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2048;
    char err[ERR_LEN];
    if (n < 64 || blas_init(err, sizeof err)) {
        fprintf(stderr, "dgemm_peak: %s\n", n < 64 ? "N must be >= 64" : err);
        return 1;
    }
    double dg = peak_f64(n), sg = peak_f32(n);
    if (dg < 0 || sg < 0)
        return 1;
    printf("{\"n\": %d, \"gflops\": %.2f, \"sgflops\": %.2f, \"kernel\": "
           "\"%s\", \"expected\": \"%s\", \"small\": \"%s\"}\n", n, dg, sg,
           blas_kernel(), blas_kernel_expected(),
           smallgemm_enabled() ? smallgemm_target() : "off");
    return 0;
}
