/* runutil.h — running a configuration in the engine tests: include after
 * cmocka.h (its fail_msg and assert_memory_equal) and engine.h. */
#ifndef RESWEEP_RUNUTIL_H
#define RESWEEP_RUNUTIL_H

/* engine_run that must succeed: its result, or the test fails with the
 * engine's sentence. */
static inline run_result tu_run_ok(const run_config *c, const run_hooks *h)
{
    run_result r;
    char err[512] = "";
    int rc = engine_run(c, h, &r, err, sizeof err);
    if (rc != 0)
        fail_msg("engine_run: %d %s", rc, err);
    return r;
}

/* Two results equal bit for bit but for their timings. */
static inline void tu_assert_same_numbers(const run_result *a,
                                          const run_result *b)
{
    run_result x = *a, y = *b;
    x.train_s = y.train_s = x.analysis_s = y.analysis_s = 0;
    x.total_s = y.total_s = 0;
    assert_memory_equal(&x, &y, sizeof x);
}

#endif
