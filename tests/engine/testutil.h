/* testutil.h — small helpers shared by the engine tests. */
#ifndef RESWEEP_TESTUTIL_H
#define RESWEEP_TESTUTIL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* A generator private to the tests (splitmix64), so that a test's random
 * instances do not depend on the module under test. */
static inline uint64_t tu_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline double tu_uniform(uint64_t *s)
{
    return (double)(tu_next(s) >> 11) * 0x1.0p-53;
}

static inline double tu_normal(uint64_t *s)
{
    double u = tu_uniform(s), v = tu_uniform(s);
    return sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v);
}

static inline void tu_fill_normal(uint64_t *s, double *x, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = scale * tu_normal(s);
}

static inline double tu_norm(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i] * x[i];
    return sqrt(s);
}

/* ||a - b|| / max(||a||, ||b||, tiny) */
static inline double tu_relerr(const double *a, const double *b, size_t n)
{
    double d = 0, na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        d += (a[i] - b[i]) * (a[i] - b[i]);
        na += a[i] * a[i];
        nb += b[i] * b[i];
    }
    double scale = sqrt(na > nb ? na : nb);
    return sqrt(d) / (scale > 1e-300 ? scale : 1e-300);
}

#endif
