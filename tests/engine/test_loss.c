/* Losses of docs/theory.md §4: derivatives against central differences, stability
 * for |p| up to 1e3, convexity. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "loss.h"

static const enum loss_kind all_losses[] = {LOSS_SQUARED, LOSS_LOGISTIC,
                                            LOSS_LOGCOSH, LOSS_SOFTPLUS_HINGE};

static void derivatives_match_differences(void **state)
{
    (void)state;
    const double ps[] = {-3.1, -0.7, 0.0, 0.4, 2.9, 7.5};
    const double ys[] = {-1.0, 1.0, 0.3};
    for (size_t k = 0; k < 4; k++)
        for (size_t i = 0; i < 6; i++)
            for (size_t j = 0; j < 3; j++) {
                enum loss_kind L = all_losses[k];
                double p = ps[i], y = ys[j], d1, d2, h = 1e-5;
                loss_eval(L, p, y, &d1, &d2);
                double fd1 = (loss_value(L, p + h, y) - loss_value(L, p - h, y)) / (2 * h);
                double g1, g2;
                loss_eval(L, p + h, y, &g1, NULL);
                loss_eval(L, p - h, y, &g2, NULL);
                double fd2 = (g1 - g2) / (2 * h);
                assert_true(fabs(d1 - fd1) < 1e-8 * (1 + fabs(d1)));
                assert_true(fabs(d2 - fd2) < 1e-8 * (1 + fabs(d2)));
                assert_true(d2 >= 0); /* convex */
            }
}

static void stable_for_large_predictions(void **state)
{
    (void)state;
    for (size_t k = 0; k < 4; k++)
        for (double p = -1e3; p <= 1e3; p += 250) {
            double d1, d2, v = loss_eval(all_losses[k], p, 1.0, &d1, &d2);
            assert_true(isfinite(v) && isfinite(d1) && isfinite(d2));
        }
    /* log(1 + e^-1000) is e^-1000 = 0 in float64, e^1000 overflows naively */
    assert_true(loss_value(LOSS_LOGISTIC, 1e3, 1.0) == 0.0);
    assert_true(fabs(loss_value(LOSS_LOGISTIC, -1e3, 1.0) - 1e3) < 1e-9);
    assert_true(fabs(loss_value(LOSS_LOGCOSH, 1e3, 0.0) - (1e3 - M_LN2)) < 1e-9);
    assert_true(fabs(loss_value(LOSS_SOFTPLUS_HINGE, -1e3, 1.0) - 1001.0) < 1e-9);
}

static void known_values(void **state)
{
    (void)state;
    assert_true(fabs(loss_value(LOSS_SQUARED, 3.0, 1.0) - 2.0) < 1e-15);
    assert_true(fabs(loss_value(LOSS_LOGISTIC, 0.0, 1.0) - M_LN2) < 1e-15);
    assert_true(fabs(loss_value(LOSS_LOGCOSH, 0.5, 0.0) - log(cosh(0.5))) < 1e-15);
    assert_true(fabs(loss_value(LOSS_SOFTPLUS_HINGE, 1.0, 1.0) - M_LN2) < 1e-15);
    const double p[] = {0.5, -0.2, 0.1}, y[] = {1, 1, -1};
    assert_true(fabs(loss_error01(p, y, 3) - 2.0 / 3.0) < 1e-15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(derivatives_match_differences),
        cmocka_unit_test(stable_for_large_predictions),
        cmocka_unit_test(known_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
