/* The seed statistics (include/stats.h, docs/theory.md §6.10): the sign
 * test's p-value against exact values (rational sums of binomial
 * coefficients, computed outside resweep); the bootstrap interval's
 * coverage of a known mean on synthetic paired data. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "rng.h"
#include "stats.h"

static void close_to(double got, double want, double rtol)
{
    if (!(fabs(got - want) <= rtol * fabs(want)))
        fail_msg("got %.17g, want %.17g", got, want);
}

/* Exact: 2 * sum_{i<=k} C(n,i) / 2^n, from Python's fractions. */
static void sign_test_exact_values(void **state)
{
    (void)state;
    close_to(stats_sign_test_p(0, 10), 2.0 / 1024, 1e-13);
    close_to(stats_sign_test_p(2, 8), 112.0 / 1024, 1e-13);
    close_to(stats_sign_test_p(8, 2), 112.0 / 1024, 1e-13);
    close_to(stats_sign_test_p(7, 18), 0.043285250663757324, 1e-12);
    close_to(stats_sign_test_p(40, 60), 0.056887933640980791, 1e-12);
    close_to(stats_sign_test_p(450, 550), 0.0017305360849763176, 1e-10);
    assert_true(stats_sign_test_p(150, 151) == 1);
    assert_true(stats_sign_test_p(2, 2) == 1);
    assert_true(stats_sign_test_p(0, 0) == 1);
    close_to(stats_sign_test_p(0, 1), 1, 0);
    /* 2^-1000 * 2: representable, not flushed to zero */
    close_to(stats_sign_test_p(0, 1000), 2 * pow(2, -1000), 1e-10);
}

/* P(X <= c) for X ~ Binomial(n, p), summed directly. */
static double binom_cdf(int n, double p, int c)
{
    double s = 0;
    for (int i = 0; i <= c; i++)
        s += exp(lgamma(n + 1.0) - lgamma(i + 1.0) - lgamma(n - i + 1.0) +
                 i * log(p) + (n - i) * log1p(-p));
    return s;
}

/* 400 replications of 40 pairs with differences N(0.3, 1): the number
 * of intervals covering 0.3 must lie in [lo, hi], lo the largest count
 * with P(X < lo) < 5e-7 under Binomial(400, 0.93) and hi the smallest
 * with P(X > hi) < 5e-7 under Binomial(400, 0.96). The percentile
 * interval's true coverage at n = 40 is a little under 0.95 (about
 * 0.94 for normal data); any implementation whose coverage lies in
 * [0.93, 0.96] fails with probability below 1e-6, while one whose
 * interval is a third too narrow (coverage ~0.83) or twice too wide
 * (~1.0 at 400 of 400 only with a real chance) fails. The replications
 * are seeded: the test is deterministic. */
static void bootstrap_covers_at_its_nominal_rate(void **state)
{
    (void)state;
    const int reps = 400, n = 40;
    int lo = 0, hi = reps;
    while (binom_cdf(reps, 0.93, lo) < 5e-7)
        lo++;
    while (1 - binom_cdf(reps, 0.96, hi - 1) < 5e-7)
        hi--;
    rng data, boot;
    rng_init(&data, 7, 1);
    rng_init(&boot, 7, 2);
    double x[40];
    int covered = 0;
    double width = 0;
    for (int k = 0; k < reps; k++) {
        for (int i = 0; i < n; i++)
            x[i] = 0.3 + rng_normal(&data);
        double a, b;
        assert_int_equal(stats_bootstrap_mean(x, n, 1000, 0.95, &boot, &a, &b), 0);
        assert_true(a <= b);
        covered += a <= 0.3 && 0.3 <= b;
        width += (b - a) / reps;
    }
    print_message("covered %d of %d (accepted %d to %d), mean width %.4f "
                  "(normal theory %.4f)\n", covered, reps, lo, hi, width,
                  2 * 1.96 / sqrt(n));
    assert_true(covered >= lo && covered <= hi);
    /* the width is the standard error's: 2 * 1.96 / sqrt(40) = 0.62 */
    assert_true(fabs(width - 2 * 1.96 / sqrt(n)) < 0.1);
}

static void bootstrap_edges(void **state)
{
    (void)state;
    rng r;
    rng_init(&r, 1, 1);
    double x[3] = {2, 2, 2}, a, b;
    assert_int_equal(stats_bootstrap_mean(x, 3, 100, 0.95, &r, &a, &b), 0);
    assert_true(a == 2 && b == 2);
    assert_int_equal(stats_bootstrap_mean(x, 1, 100, 0.95, &r, &a, &b), 0);
    assert_true(a == 2 && b == 2);
    assert_int_equal(stats_bootstrap_mean(x, 0, 100, 0.95, &r, &a, &b), -EINVAL);
    assert_int_equal(stats_bootstrap_mean(x, 3, 1, 0.95, &r, &a, &b), -EINVAL);
    assert_int_equal(stats_bootstrap_mean(x, 3, 100, 1.0, &r, &a, &b), -EINVAL);
    /* the same generator state gives the same interval */
    double y[5] = {1, -2, 3, 0.5, 7}, a2, b2;
    rng r1, r2;
    rng_init(&r1, 3, 9);
    rng_init(&r2, 3, 9);
    assert_int_equal(stats_bootstrap_mean(y, 5, 500, 0.95, &r1, &a, &b), 0);
    assert_int_equal(stats_bootstrap_mean(y, 5, 500, 0.95, &r2, &a2, &b2), 0);
    assert_true(a == a2 && b == b2 && a >= -2 && b <= 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sign_test_exact_values),
        cmocka_unit_test(bootstrap_covers_at_its_nominal_rate),
        cmocka_unit_test(bootstrap_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
