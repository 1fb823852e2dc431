/* Issue 2 §2 / issue 5: no allocation inside a training step. The program
 * replaces malloc (glibc provides __libc_*) and counts calls between two
 * polls of a run, which bracket hundreds of steps. Sanitizers bring their
 * own allocator, so under them the count is not taken and the test says
 * so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "blas.h"
#include "config.h"
#include "engine.h"

#include "count_alloc.h"

typedef struct bracket { int polls, from, to; } bracket;

static enum run_poll count_between(void *ctx)
{
    bracket *b = ctx;
    b->polls++;
    if (b->polls == b->from)
        counting = 1;
    if (b->polls == b->to)
        counting = 0;
    return RUN_CONTINUE;
}

static void training_steps_do_not_allocate(void **state)
{
    (void)state;
    if (!COUNT_ALLOCS)
        skip();
    const enum arch archs[] = {ARCH_LINEAR, ARCH_RESNET, ARCH_PLAIN, ARCH_DECOUPLED, ARCH_DEEP_RESNET};
    for (int opt = 0; opt < 6; opt++)   /* 3..5: the same in float32 */
        for (int a = 0; a < 5; a++) {
            run_config c;
            config_defaults(&c);
            c.train.precision = opt >= 3 ? PRECISION_FLOAT32 : PRECISION_FLOAT64;
            c.data.n = 3000; /* several chunks per full-batch pass */
            c.model.arch = archs[a];
            c.model.blocks = archs[a] == ARCH_DEEP_RESNET ? 3 : 1;
            c.model.activation = (enum activation)(a % 5);
            c.train.optimizer = opt % 3 == 0 ? OPT_GD : OPT_SGD;
            c.data.stream = opt % 3 == 2;
            c.train.steps = 600;
            c.train.curve_points = 0;
            c.analysis.hessian = false;
            bracket b = {.from = 50, .to = 550};
            run_hooks h = {.ctx = &b, .poll = count_between};
            run_result r;
            char err[256];
            alloc_calls = 0;
            assert_int_equal(engine_run(&c, &h, &r, err, sizeof err), 0);
            counting = 0;
            if (alloc_calls != 0)
                fail_msg("%s, %s%s%s: %d allocations in 500 steps",
                         config_arch_name(archs[a]), opt % 3 ? "sgd" : "gd",
                         opt % 3 == 2 ? " stream" : "",
                         opt >= 3 ? " float32" : "", alloc_calls);
            assert_true(b.polls >= 550);
        }
}

int main(void)
{
    char err[256];
    if (blas_init(err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(training_steps_do_not_allocate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
