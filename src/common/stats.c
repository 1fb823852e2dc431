/* stats.c — see stats.h; docs/theory.md §6.10. */
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Type 7 (linear between order statistics) quantile of sorted v. */
static double quantile(const double *v, int m, double p)
{
    double h = p * (m - 1);
    int i = (int)floor(h);
    if (i >= m - 1)
        return v[m - 1];
    return v[i] + (h - i) * (v[i + 1] - v[i]);
}

int stats_bootstrap_mean(const double *x, size_t n, int reps, double level,
                         rng *r, double *lo, double *hi)
{
    if (n < 1 || reps < 2 || !(level > 0 && level < 1))
        return -EINVAL;
    double *m = malloc(sizeof *m * (size_t)reps);
    if (!m)
        return -ENOMEM;
    for (int b = 0; b < reps; b++) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += x[rng_below(r, n)];
        m[b] = s / n;
    }
    qsort(m, (size_t)reps, sizeof *m, cmp_double);
    *lo = quantile(m, reps, (1 - level) / 2);
    *hi = quantile(m, reps, (1 + level) / 2);
    free(m);
    return 0;
}

/* log C(n, k) 2^-n */
static double log_pmf(long n, long k)
{
    return lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0) -
           n * log(2.0);
}

double stats_sign_test_p(long below, long above)
{
    long n = below + above, k = below < above ? below : above;
    /* 2k + 1 >= n: P(X <= k) >= 1/2 by symmetry, exactly 1/2 at 2k + 1 = n */
    if (n <= 0 || 2 * k + 1 >= n)
        return 1;
    /* sum_{i <= k} pmf(i), scaled by the largest term (i = k) */
    double top = log_pmf(n, k), s = 0;
    for (long i = 0; i <= k; i++)
        s += exp(log_pmf(n, i) - top);
    double p = 2 * exp(top) * s;
    return p < 1 ? p : 1;
}
