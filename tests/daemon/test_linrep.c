/* Linear runs a sweep repeats (linrep.h): the keys the linear model
 * ignores make repeats and are named; the ones it uses (init_scale, the
 * data, the seed) do not; networks never count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "linrep.h"

static run_config linear(void)
{
    run_config c;
    config_defaults(&c);
    c.model.arch = ARCH_LINEAR;
    return c;
}

static void ignored_keys_repeat_and_are_named(void **state)
{
    (void)state;
    linrep lr = {0};
    char keys[200];
    for (int depth = 1; depth <= 3; depth++)
        for (int width = 4; width <= 8; width *= 2)
            for (uint64_t seed = 0; seed < 2; seed++) {
                run_config c = linear();
                c.model.unit_depth = depth;
                c.model.width = width;
                c.seed = seed;
                assert_int_equal(linrep_note(&lr, &c), 0);
            }
    assert_int_equal(lr.repeated, 12 - 2);   /* one per seed is new */
    linrep_keys(&lr, keys, sizeof keys);
    assert_string_equal(keys, "model.unit_depth, model.width");
    /* A network of the same keys is no repeat, and changes nothing. */
    run_config net;
    config_defaults(&net);
    net.model.arch = ARCH_RESNET;
    net.model.gain = 3;
    assert_int_equal(linrep_note(&lr, &net), 0);
    assert_int_equal(lr.repeated, 10);
    linrep_keys(&lr, keys, sizeof keys);
    assert_string_equal(keys, "model.unit_depth, model.width");
    linrep_free(&lr);
}

static void keys_the_model_uses_are_no_repeat(void **state)
{
    (void)state;
    linrep lr = {0};
    char keys[200];
    run_config a = linear(), b = linear(), c = linear(), d = linear();
    b.model.init_scale = 0.5;       /* w's standard deviation */
    c.data.d = 7;
    d.model.activation = ACT_TANH;  /* ignored: d repeats a */
    d.model.init = INIT_XAVIER;
    d.model.blocks = 1;
    assert_int_equal(linrep_note(&lr, &a), 0);
    assert_int_equal(linrep_note(&lr, &b), 0);
    assert_int_equal(linrep_note(&lr, &c), 0);
    assert_int_equal(lr.repeated, 0);
    linrep_keys(&lr, keys, sizeof keys);
    assert_string_equal(keys, "");
    assert_int_equal(linrep_note(&lr, &d), 0);
    assert_int_equal(lr.repeated, 1);
    linrep_keys(&lr, keys, sizeof keys);
    assert_string_equal(keys, "model.activation, model.init");
    /* Cut to the buffer, terminated. */
    linrep_keys(&lr, keys, 8);
    assert_int_equal(strlen(keys), 7);
    linrep_free(&lr);
}

/* Past the table's first growth (64 slots, half full): every run is
 * still told apart. */
static void many_distinct_runs_stay_distinct(void **state)
{
    (void)state;
    linrep lr = {0};
    for (uint64_t seed = 0; seed < 1000; seed++) {
        run_config c = linear();
        c.seed = seed;
        assert_int_equal(linrep_note(&lr, &c), 0);
        c.model.width = 99;
        assert_int_equal(linrep_note(&lr, &c), 0);
    }
    assert_int_equal(lr.repeated, 1000);
    assert_int_equal(lr.count, 1000);
    linrep_free(&lr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ignored_keys_repeat_and_are_named),
        cmocka_unit_test(keys_the_model_uses_are_no_repeat),
        cmocka_unit_test(many_distinct_runs_stay_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
