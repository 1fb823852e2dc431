/* Random streams of docs/theory.md §2 (rng.h): the xoshiro256** reference
 * sequence, reproducibility and independence of (seed, stream) pairs, and
 * the laws of uniform, below, normal, gamma and sign. Seeds are fixed, so
 * each statistical check is deterministic; bounds are about 5 standard
 * errors, so a correct generator passes with any seed and a wrong law
 * (a biased modulo, a missing Box–Muller factor, a wrong gamma boost)
 * fails by many. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rng.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Kolmogorov–Smirnov distance between the sample (sorted in place) and cdf. */
static double ks_distance(double *x, size_t n, double (*cdf)(double))
{
    qsort(x, n, sizeof *x, cmp_double);
    double dmax = 0;
    for (size_t i = 0; i < n; i++) {
        double f = cdf(x[i]);
        double lo = f - (double)i / (double)n, hi = (double)(i + 1) / (double)n - f;
        dmax = fmax(dmax, fmax(lo, hi));
    }
    return dmax;
}

static double uniform_cdf(double x) { return x < 0 ? 0 : x > 1 ? 1 : x; }
static double normal_cdf(double x) { return 0.5 * erfc(-x / M_SQRT2); }

/* 1.95 / sqrt(n) is the KS critical value at the 0.1% level. */
#define KS_BOUND(n) (1.95 / sqrt((double)(n)))

static void xoshiro_reference_sequence(void **state)
{
    (void)state;
    /* xoshiro256** from state {1, 2, 3, 4}, from the reference C code. */
    const uint64_t want[] = {0x2d00, 0x0, 0x5a007080, 0x10e0000000009d80,
                             0x10e0b61ce1009d80, 0x870021ce143ad00};
    rng r = {.s = {1, 2, 3, 4}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_int_equal(rng_u64(&r), want[i]);
}

static void same_seed_and_stream_reproduce(void **state)
{
    (void)state;
    rng a, b;
    rng_init(&a, 12345, RNG_TRAIN);
    rng_init(&b, 12345, RNG_TRAIN);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(rng_u64(&a), rng_u64(&b));
    /* The four words are the whole state: a copy taken mid-stream (after
     * normals and gammas) continues identically, as a checkpoint needs. */
    for (int i = 0; i < 77; i++) {
        rng_normal(&a);
        rng_gamma(&a, 0.7);
    }
    rng c = a;
    for (int i = 0; i < 1000; i++) {
        assert_true(rng_normal(&a) == rng_normal(&c));
        assert_true(rng_gamma(&a, 2.5) == rng_gamma(&c, 2.5));
    }
}

static void seeds_and_streams_give_distinct_generators(void **state)
{
    (void)state;
    enum { SEEDS = 256, STREAMS = 10 };
    uint64_t first[SEEDS * STREAMS];
    size_t k = 0;
    for (uint64_t s = 0; s < SEEDS; s++)
        for (uint64_t t = 0; t < STREAMS; t++) {
            rng r;
            rng_init(&r, s, t);
            first[k++] = rng_u64(&r);
        }
    qsort(first, k, sizeof first[0], cmp_u64);
    for (size_t i = 1; i < k; i++)
        assert_true(first[i] != first[i - 1]);
}

/* Neighbouring seeds and streams must look unrelated: the correlation of
 * their uniforms is within noise, and their bits agree half the time. */
static void streams_are_uncorrelated(void **state)
{
    (void)state;
    const uint64_t pairs[][4] = {
        {0, RNG_TRAIN, 0, RNG_TEST},   {0, RNG_TRAIN, 1, RNG_TRAIN},
        {7, RNG_TEACHER, 7, RNG_INIT}, {1ull << 53, RNG_SPLIT, (1ull << 53) - 1, RNG_SPLIT},
    };
    const int n = 200000;
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
        rng a, b;
        rng_init(&a, pairs[p][0], pairs[p][1]);
        rng_init(&b, pairs[p][2], pairs[p][3]);
        double sab = 0, sa = 0, sb = 0, saa = 0, sbb = 0;
        long same_bits = 0;
        for (int i = 0; i < n; i++) {
            uint64_t ua = rng_u64(&a), ub = rng_u64(&b);
            same_bits += 64 - __builtin_popcountll(ua ^ ub);
            double x = (double)(ua >> 11) * 0x1.0p-53, y = (double)(ub >> 11) * 0x1.0p-53;
            sa += x, sb += y, sab += x * y, saa += x * x, sbb += y * y;
        }
        double cov = sab / n - (sa / n) * (sb / n);
        double corr = cov / sqrt((saa / n - sa * sa / n / n) * (sbb / n - sb * sb / n / n));
        assert_true(fabs(corr) < 5 / sqrt((double)n));
        double bits = 64.0 * n, frac = (double)same_bits / bits;
        assert_true(fabs(frac - 0.5) < 5 * 0.5 / sqrt(bits));
    }
}

static void uniform_is_uniform_on_unit_interval(void **state)
{
    (void)state;
    enum { N = 200000 };
    double *x = malloc(N * sizeof *x);
    assert_non_null(x);
    rng r;
    rng_init(&r, 3, RNG_TRAIN);
    double s = 0;
    for (int i = 0; i < N; i++) {
        x[i] = rng_uniform(&r);
        assert_true(x[i] >= 0 && x[i] < 1);
        /* 53 bits: every value is a multiple of 2^-53 */
        assert_true(ldexp(x[i], 53) == floor(ldexp(x[i], 53)));
        s += x[i];
    }
    assert_true(fabs(s / N - 0.5) < 5 * sqrt(1.0 / 12 / N));
    assert_true(ks_distance(x, N, uniform_cdf) < KS_BOUND(N));
    free(x);
}

static void below_stays_in_range(void **state)
{
    (void)state;
    rng r;
    rng_init(&r, 5, RNG_BATCH);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(rng_below(&r, 1), 0);
    const uint64_t ns[] = {2, 3, 7, 1000, (1ull << 63) + 1, UINT64_MAX};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
        for (int i = 0; i < 10000; i++)
            assert_true(rng_below(&r, ns[k]) < ns[k]);
}

/* Counts over 7 cells against a chi-square bound, and a modulus near
 * (2/3) 2^64 where `x % n` would put 2/3 of the mass in the lower half. */
static void below_is_unbiased(void **state)
{
    (void)state;
    rng r;
    rng_init(&r, 6, RNG_BATCH);
    enum { N = 700000, K = 7 };
    long count[K] = {0};
    for (int i = 0; i < N; i++)
        count[rng_below(&r, K)]++;
    double chi2 = 0, e = (double)N / K;
    for (int k = 0; k < K; k++)
        chi2 += (count[k] - e) * (count[k] - e) / e;
    assert_true(chi2 < 22.5); /* chi-square, 6 dof, p = 0.001 */

    const uint64_t n = 0xAAAAAAAAAAAAAAABull;
    long low = 0;
    const int m = 100000;
    for (int i = 0; i < m; i++)
        low += rng_below(&r, n) < n / 2;
    assert_true(fabs((double)low / m - 0.5) < 5 * 0.5 / sqrt((double)m));
}

static void normal_is_standard_normal(void **state)
{
    (void)state;
    enum { N = 200000 };
    double *x = malloc(N * sizeof *x);
    assert_non_null(x);
    rng r;
    rng_init(&r, 8, RNG_TRAIN);
    double s1 = 0, s2 = 0, s4 = 0;
    long tail = 0;
    for (int i = 0; i < N; i++) {
        x[i] = rng_normal(&r);
        assert_true(isfinite(x[i]));
        s1 += x[i], s2 += x[i] * x[i], s4 += x[i] * x[i] * x[i] * x[i];
        tail += fabs(x[i]) > 2;
    }
    assert_true(fabs(s1 / N) < 5 / sqrt((double)N));
    assert_true(fabs(s2 / N - 1) < 5 * sqrt(2.0 / N));
    assert_true(fabs(s4 / N - 3) < 5 * sqrt(96.0 / N)); /* Var z^4 = 105 - 9 */
    double p = erfc(2 / M_SQRT2);                          /* 0.0455 */
    assert_true(fabs((double)tail / N - p) < 5 * sqrt(p * (1 - p) / N));
    assert_true(ks_distance(x, N, normal_cdf) < KS_BOUND(N));
    free(x);
}

/* Gamma(k): mean k, variance k, third central moment 2k; the shapes below
 * 1 exercise the boost. */
static void gamma_has_its_moments(void **state)
{
    (void)state;
    const double shapes[] = {0.05, 0.3, 0.5, 1.0, 2.5, 10.0};
    const int n = 400000;
    rng r;
    rng_init(&r, 9, RNG_TRAIN);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        double k = shapes[s], m1 = 0, m2 = 0, m3 = 0;
        double *x = malloc((size_t)n * sizeof *x);
        assert_non_null(x);
        for (int i = 0; i < n; i++) {
            x[i] = rng_gamma(&r, k);
            assert_true(x[i] >= 0 && isfinite(x[i]));
            m1 += x[i];
        }
        m1 /= n;
        for (int i = 0; i < n; i++) {
            double c = x[i] - m1;
            m2 += c * c, m3 += c * c * c;
        }
        m2 /= n, m3 /= n;
        /* SEs from the Gamma cumulants: Var x = k, Var (x-k)^2 = 6k + 2k^2 */
        assert_true(fabs(m1 - k) < 5 * sqrt(k / n));
        assert_true(fabs(m2 - k) < 5 * sqrt((6 * k + 2 * k * k) / n));
        assert_true(fabs(m3 - 2 * k) < 0.15 * 2 * k); /* skewness 2/sqrt(k) */
        free(x);
    }
    assert_true(isnan(rng_gamma(&r, 0)));
    assert_true(isnan(rng_gamma(&r, -1)));
    assert_true(isnan(rng_gamma(&r, NAN)));
}

static void sign_is_fair_and_independent(void **state)
{
    (void)state;
    rng r;
    rng_init(&r, 10, RNG_TRAIN);
    const int n = 200000;
    double s = 0, lag = 0, prev = rng_sign(&r);
    for (int i = 0; i < n; i++) {
        double v = rng_sign(&r);
        assert_true(v == 1.0 || v == -1.0);
        s += v, lag += v * prev, prev = v;
    }
    assert_true(fabs(s / n) < 5 / sqrt((double)n));
    assert_true(fabs(lag / n) < 5 / sqrt((double)n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(xoshiro_reference_sequence),
        cmocka_unit_test(same_seed_and_stream_reproduce),
        cmocka_unit_test(seeds_and_streams_give_distinct_generators),
        cmocka_unit_test(streams_are_uncorrelated),
        cmocka_unit_test(uniform_is_uniform_on_unit_interval),
        cmocka_unit_test(below_stays_in_range),
        cmocka_unit_test(below_is_unbiased),
        cmocka_unit_test(normal_is_standard_normal),
        cmocka_unit_test(gamma_has_its_moments),
        cmocka_unit_test(sign_is_fair_and_independent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
