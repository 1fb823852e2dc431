/* The segment between two end points (docs/theory.md §6.9), checked:
 * theta(0) and theta(1) are the two vectors bit for bit (signed zeros
 * included) and the points between are (1 - t) a + t b; the profile's
 * ends are F at the two vectors exactly; the barrier is >= 0 on random
 * networks and 0 to rounding where F is convex along the segment (a
 * linear model under the squared loss); the parameters round-trip
 * through their named arrays for every architecture; and through two
 * real runs that differ only in model.init_seed, the pair's f_a and f_b
 * are the runs' train_loss, with sentences for arrays that are missing or
 * of another network, and a cancel that stops it. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "blas.h"
#include "data.h"
#include "engine.h"
#include "model.h"
#include "path.h"
#include "testutil.h"

static const enum arch all_archs[] = {ARCH_LINEAR, ARCH_RESNET, ARCH_PLAIN,
                                      ARCH_DECOUPLED, ARCH_DEEP_RESNET};

static model *shape_model(enum arch a, int d)
{
    model_shape s = {.arch = a, .d = d, .h = 3, .L = 2,
                     .B = a == ARCH_DEEP_RESNET ? 3 : 1, .act = ACT_TANH};
    char err[256];
    model *m = model_new(&s, 8, err, sizeof err);
    if (!m)
        fail_msg("model_new: %s", err);
    return m;
}

/* Rows X (n x d) and targets y of a random regression problem. */
static void random_data(uint64_t *s, double *X, double *y, int n, int d)
{
    tu_fill_normal(s, X, (size_t)n * d, 1);
    tu_fill_normal(s, y, (size_t)n, 1);
}

static void ends_are_the_vectors_bit_for_bit(void **state)
{
    (void)state;
    /* -0 at either end, and values where the blend would round */
    const double a[] = {-0.0, 0.1, -0.0, 1e-300, 3.0, 0.7};
    const double b[] = {0.3, -0.0, -0.0, 5e-324, 0.1, -0.0};
    enum { N = 6 };
    double at[N];
    assert_int_equal(path_segment_at(a, b, 0, at, N, NULL), 0);
    assert_memory_equal(at, a, sizeof a);
    assert_int_equal(path_segment_at(a, b, 1, at, N, NULL), 0);
    assert_memory_equal(at, b, sizeof b);
    assert_int_equal(path_segment_at(a, b, 0.25, at, N, NULL), 0);
    for (int i = 0; i < N; i++)
        assert_true(at[i] == 0.75 * a[i] + 0.25 * b[i]);
}

static void profile_ends_are_f_at_the_vectors(void **state)
{
    (void)state;
    uint64_t s = 21;
    enum { n = 40, d = 4 };
    double X[n * d], y[n];
    random_data(&s, X, y, n, d);
    for (size_t k = 0; k < sizeof all_archs / sizeof all_archs[0]; k++) {
        model *m = shape_model(all_archs[k], d);
        size_t np = model_nparams(m);
        double *ta = malloc(sizeof *ta * np), *tb = malloc(sizeof *tb * np);
        assert_non_null(ta);
        assert_non_null(tb);
        tu_fill_normal(&s, ta, np, 0.5);
        tu_fill_normal(&s, tb, np, 0.5);
        run_path p;
        double barrier;
        char err[256];
        for (int points = 2; points <= 11; points += 9) {
            assert_int_equal(path_segment(m, ta, tb, LOSS_SQUARED, X, y, n,
                                          points, NULL, &p, &barrier, err,
                                          sizeof err), 0);
            assert_int_equal(p.points, points);
            double fa = model_loss_grad(m, ta, LOSS_SQUARED, X, y, n, NULL, NULL);
            double fb = model_loss_grad(m, tb, LOSS_SQUARED, X, y, n, NULL, NULL);
            assert_true(p.loss[0] == fa);          /* bit for bit */
            assert_true(p.loss[points - 1] == fb);
            assert_true(barrier >= 0);
            double top = -INFINITY;
            for (int i = 0; i < points; i++)
                top = fmax(top, p.loss[i]);
            assert_true(barrier == top - fmax(fa, fb));
        }
        assert_int_equal(path_segment(m, ta, tb, LOSS_SQUARED, X, y, n, 1,
                                      NULL, &p, &barrier, err, sizeof err),
                         -EINVAL);
        assert_string_equal(err, "path: 1 points, must be in [2, 101]");
        free(ta);
        free(tb);
        model_free(m);
    }
}

/* A linear model under the squared loss: F is a convex quadratic in u,
 * so along any segment F(t) <= (1 - t) F(0) + t F(1) <= max of the ends.
 * Two hundred random segments: every barrier is 0 up to rounding. */
static void convex_case_has_no_barrier(void **state)
{
    (void)state;
    uint64_t s = 5;
    enum { n = 30, d = 5 };
    double X[n * d], y[n];
    random_data(&s, X, y, n, d);
    model *m = shape_model(ARCH_LINEAR, d);
    double ta[d], tb[d], worst = 0;
    for (int r = 0; r < 200; r++) {
        tu_fill_normal(&s, ta, d, 3);
        tu_fill_normal(&s, tb, d, 3);
        run_path p;
        double barrier;
        char err[256];
        assert_int_equal(path_segment(m, ta, tb, LOSS_SQUARED, X, y, n, 21,
                                      NULL, &p, &barrier, err, sizeof err), 0);
        double scale = fmax(p.loss[0], p.loss[20]);
        assert_true(barrier >= 0);
        worst = fmax(worst, barrier / scale);
    }
    print_message("# convex: largest barrier / max end %.3g\n", worst);
    assert_true(worst <= 1e-14);
    model_free(m);
}

/* Gathered into named arrays and scattered back: the same bits. */
static void parameters_round_trip_through_arrays(void **state)
{
    (void)state;
    uint64_t s = 8;
    for (size_t k = 0; k < sizeof all_archs / sizeof all_archs[0]; k++) {
        model *m = shape_model(all_archs[k], 4);
        size_t np = model_nparams(m);
        double *t = malloc(sizeof *t * np), *buf = malloc(sizeof *buf * np),
               *back = calloc(np, sizeof *back);
        assert_true(t && buf && back);
        tu_fill_normal(&s, t, np, 1);
        run_arrays as = {0};
        assert_int_equal(model_param_arrays(m, t, buf, &as), 0);
        char err[256];
        assert_int_equal(model_params_from_arrays(m, &as, back, err, sizeof err), 0);
        assert_memory_equal(back, t, sizeof *t * np);
        /* one array missing, one of another shape: sentences */
        run_arrays cut = as;
        cut.n = as.n - 1;   /* the last one gone */
        assert_int_equal(model_params_from_arrays(m, &cut, back, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "no parameter array "));
        as.a[0].shape[0] = 5;
        assert_int_equal(model_params_from_arrays(m, &as, back, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "has shape [5], the network's is [4]"));
        free(t);
        free(buf);
        free(back);
        model_free(m);
    }
}

static int keep_arrays(void *ctx, const run_arrays *a)
{
    run_arrays **out = ctx;
    free(*out);
    *out = run_arrays_copy(a);
    return *out ? 0 : -ENOMEM;
}

static run_config pair_config(int64_t init_seed)
{
    run_config c;
    config_defaults(&c);
    c.seed = 3;
    c.model.init_seed = init_seed;
    c.data.n = 150;
    c.data.n_test = 50;
    c.data.d = 4;
    c.model.width = 6;
    c.train.steps = 150;
    c.analysis.hessian = false;
    return c;
}

static run_result run_keeping(const run_config *c, run_arrays **as)
{
    run_hooks h = {.ctx = as, .arrays = keep_arrays};
    run_result r;
    char err[256] = "";
    if (engine_run(c, &h, &r, err, sizeof err) != 0)
        fail_msg("engine_run: %s", err);
    return r;
}

static enum run_poll cancel_now(void *ctx)
{
    (void)ctx;
    return RUN_CANCEL;
}

/* Two runs of one configuration but model.init_seed: the same data
 * (lin_loss), another start; the pair's ends are their train_loss. */
static void pair_of_real_runs(void **state)
{
    (void)state;
    run_config ca = pair_config(1), cb = pair_config(2);
    assert_true(config_keeps_params(&ca));
    run_arrays *aa = NULL, *ab = NULL;
    run_result ra = run_keeping(&ca, &aa), rb = run_keeping(&cb, &ab);
    assert_true(ra.lin_loss == rb.lin_loss);
    assert_true(ra.train_loss != rb.train_loss);
    assert_int_equal(aa->n, 7);      /* u_star and the resnet's six */
    run_pair p;
    char err[256] = "";
    int rc = engine_pair_segment(&ca, aa, ab, NULL, &p, err, sizeof err);
    if (rc)
        fail_msg("engine_pair_segment: %s", err);
    print_message("# f_a - train_loss %.3g, f_b - train_loss %.3g, "
                  "barrier %.6g\n", p.f_a - ra.train_loss,
                  p.f_b - rb.train_loss, p.barrier);
    assert_true(fabs(p.f_a - ra.train_loss) <= 1e-12 * ra.train_loss);
    assert_true(fabs(p.f_b - rb.train_loss) <= 1e-12 * rb.train_loss);
    assert_int_equal(p.curve.points, ca.analysis.path_points);
    assert_true(p.barrier >= 0);
    assert_true(p.barrier == p.f_max - fmax(p.f_a, p.f_b));
    /* the other order: the same profile reversed */
    run_pair q;
    assert_int_equal(engine_pair_segment(&cb, ab, aa, NULL, &q, err, sizeof err), 0);
    assert_true(q.f_a == p.f_b && q.f_b == p.f_a);

    /* a run that kept only u*: the sentence names the run */
    run_arrays only_u = *aa;
    only_u.n = 1;
    assert_int_equal(engine_pair_segment(&ca, aa, &only_u, NULL, &p, err,
                                         sizeof err), -EINVAL);
    assert_string_equal(err, "the second run: no parameter array w (the run "
                             "kept no parameters)");
    /* arrays of another network */
    run_config wide = ca;
    wide.model.width = 7;
    assert_int_equal(engine_pair_segment(&wide, aa, ab, NULL, &p, err,
                                         sizeof err), -EINVAL);
    assert_non_null(strstr(err, "the first run: parameter array V has shape "
                                "[4,6], the network's is [4,7]"));
    /* no points, and a cancel */
    wide = ca;
    wide.analysis.path_points = 0;
    assert_int_equal(engine_pair_segment(&wide, aa, ab, NULL, &p, err,
                                         sizeof err), -EINVAL);
    run_hooks stop = {.poll = cancel_now};
    ca.data.n = 20000;   /* long enough for the poller to ask */
    err[0] = 'x';
    assert_int_equal(engine_pair_segment(&ca, aa, ab, &stop, &p, err,
                                         sizeof err), ENGINE_ECANCELED);
    assert_string_equal(err, "");
    free(aa);
    free(ab);
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
        cmocka_unit_test(ends_are_the_vectors_bit_for_bit),
        cmocka_unit_test(profile_ends_are_f_at_the_vectors),
        cmocka_unit_test(convex_case_has_no_barrier),
        cmocka_unit_test(parameters_round_trip_through_arrays),
        cmocka_unit_test(pair_of_real_runs),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
