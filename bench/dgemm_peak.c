/* dgemm_peak — this core's DGEMM rate through resweep's BLAS (the kernel
 * blas_init chose, one thread): the "peak" the benchmark table compares
 * training throughput with. Prints one JSON line.
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

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2048;
    char err[ERR_LEN];
    if (n < 64 || blas_init(err, sizeof err)) {
        fprintf(stderr, "dgemm_peak: %s\n", n < 64 ? "N must be >= 64" : err);
        return 1;
    }
    size_t nn = (size_t)n * n;
    double *A = malloc(sizeof(double) * nn), *B = malloc(sizeof(double) * nn),
           *C = calloc(nn, sizeof(double));
    if (!A || !B || !C)
        return 1;
    for (size_t i = 0; i < nn; i++) {
        A[i] = (double)(i % 17) / 17.0;
        B[i] = (double)(i % 13) / 13.0;
    }
    blas_gemm(false, false, n, n, n, 1, A, n, B, n, 0, C, n); /* warm up */
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t = now_s();
        blas_gemm(false, false, n, n, n, 1, A, n, B, n, 0, C, n);
        t = now_s() - t;
        double g = 2.0 * n * (double)n * n / t / 1e9;
        if (g > best)
            best = g;
    }
    printf("{\"n\": %d, \"gflops\": %.2f, \"kernel\": \"%s\", \"expected\": \"%s\", "
           "\"small\": \"%s\"}\n", n, best, blas_kernel(), blas_kernel_expected(),
           smallgemm_enabled() ? smallgemm_target() : "off");
    free(A);
    free(B);
    free(C);
    return 0;
}
