/* Extreme values in the configuration and the data (issue 9 §1): a run
 * whose numbers overflow ends `diverged` (or fails with a sentence naming
 * the field), never crashes and never reads a buffer it did not allocate.
 * Each case is a whole engine_run on a small configuration, parsed from the
 * JSON a user would submit. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "blas.h"
#include "config.h"
#include "engine.h"

/* Parses `json` and runs it; the configuration must be valid. */
static int run_json(const char *json, run_result *r, char *err, size_t errlen)
{
    run_config c;
    if (config_parse_str(json, &c, err, errlen) != 0)
        fail_msg("config %s: %s", json, err);
    err[0] = '\0';
    int rc = engine_run(&c, NULL, r, err, errlen);
    config_free(&c);
    return rc;
}

static void assert_diverged(const char *json)
{
    run_result r;
    char err[512];
    int rc = run_json(json, &r, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: engine_run %d: %s", json, rc, err);
    if (r.status != RUN_DIVERGED)
        fail_msg("%s: status %d (steps %ld, train_loss %g), not diverged", json,
                 (int)r.status, r.steps, r.train_loss);
    assert_true(r.diverged_step >= 0);
}

/* The line: GD's first gradient is NaN, and the curve point of the
 * diverged step must not be measured through SGD's buffer. */
static void huge_lr_diverges(void **state)
{
    (void)state;
    assert_diverged("{\"train\":{\"lr\":1e308,\"steps\":5}}");
    assert_diverged("{\"train\":{\"lr\":1e50,\"steps\":5}}");
    assert_diverged("{\"train\":{\"lr\":1e308,\"steps\":5,\"optimizer\":\"sgd\"}}");
    assert_diverged("{\"train\":{\"lr\":1e308,\"steps\":5,\"curve_points\":0}}");
    assert_diverged("{\"train\":{\"lr\":1e308,\"steps\":5,\"schedule\":\"inv_sqrt\"}}");
}

static void huge_init_diverges(void **state)
{
    (void)state;
    assert_diverged("{\"model\":{\"init_scale\":1e300},\"train\":{\"steps\":5}}");
    assert_diverged("{\"model\":{\"gain\":1e300},\"train\":{\"steps\":5}}");
    assert_diverged("{\"model\":{\"gain\":1e300,\"arch\":\"deep_resnet\",\"blocks\":3},"
                    "\"train\":{\"steps\":5}}");
    assert_diverged("{\"model\":{\"init_scale\":1e300,\"arch\":\"decoupled\"},"
                    "\"train\":{\"steps\":5,\"optimizer\":\"sgd\"}}");
    assert_diverged("{\"model\":{\"init_scale\":1e300},\"loss\":\"logistic\","
                    "\"train\":{\"steps\":5}}");
}

/* Found by fuzz/fuzz_engine.c: with no step taken, training never looked
 * at the loss, and the run ended done with an infinite objective. */
static void a_start_past_overflow_diverges_without_steps(void **state)
{
    (void)state;
    assert_diverged("{\"model\":{\"arch\":\"linear\",\"init_scale\":1e300},"
                    "\"train\":{\"steps\":0,\"optimizer\":\"sgd\"}}");
    assert_diverged("{\"model\":{\"init_scale\":1e300},\"train\":{\"steps\":0}}");
}

static void huge_inline_values_diverge(void **state)
{
    (void)state;
    assert_diverged("{\"data\":{\"source\":\"inline\",\"x\":[[1e308,1],[2,1e308],[3,-1e308],"
                    "[1,2],[0,1]],\"y\":[1e308,2,-1e308,1,0]},\"train\":{\"steps\":5}}");
    assert_diverged("{\"data\":{\"source\":\"inline\",\"x\":[[1e308],[2],[3],[4]],"
                    "\"y\":[1,-1,1,-1]},\"loss\":\"logistic\",\"train\":{\"steps\":5}}");
    assert_diverged("{\"data\":{\"source\":\"inline\",\"x\":[[1e200],[2],[3],[4]],"
                    "\"y\":[1,2,3,4],\"x_test\":[[1e308]],\"y_test\":[1e308]},"
                    "\"model\":{\"arch\":\"linear\"},\"train\":{\"steps\":5}}");
}

static void huge_csv_cells_diverge(void **state)
{
    (void)state;
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/resweep-extreme-%d.csv", dir && *dir ? dir : "/tmp",
             (int)getpid());
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("a,b,y\n", f);
    for (int i = 0; i < 20; i++)
        fprintf(f, "%s,%d,%s\n", i % 7 == 0 ? "1e200" : "1", i, i % 5 == 0 ? "-1e200" : "2");
    fclose(f);
    char json[8192];
    snprintf(json, sizeof json,
             "{\"data\":{\"source\":\"csv\",\"path\":\"%s\"},\"train\":{\"steps\":5}}", path);
    assert_diverged(json);
    snprintf(json, sizeof json,
             "{\"data\":{\"source\":\"csv\",\"path\":\"%s\"},\"train\":{\"steps\":5,"
             "\"optimizer\":\"sgd\",\"batch\":4}}", path);
    assert_diverged(json);
    unlink(path);
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    return blas_init(err, sizeof err) ? -1 : 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(huge_lr_diverges),
        cmocka_unit_test(huge_init_diverges),
        cmocka_unit_test(a_start_past_overflow_diverges_without_steps),
        cmocka_unit_test(huge_inline_values_diverge),
        cmocka_unit_test(huge_csv_cells_diverge),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
