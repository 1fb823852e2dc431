/* The slice around the end point (docs/theory.md §6.8), checked: the
 * filters cover theta exactly once for every architecture; each
 * normalised block of both directions has the norm of the matching block
 * of theta (zero where theta's is zero); the grid's points are theta +
 * a_i d1 + b_j d2 (a corner recomputed here from the directions); the
 * centre's loss is the run's F; the slice is the same for the same seed
 * and changes with it; the size limit and the odd count are enforced. */
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

#include "engine.h"
#include "loss.h"
#include "model.h"
#include "slice.h"
#include "runutil.h"
#include "testutil.h"

static const enum arch all_archs[] = {ARCH_LINEAR, ARCH_RESNET, ARCH_PLAIN,
                                      ARCH_DECOUPLED, ARCH_DEEP_RESNET};

static model *shape_model(enum arch a)
{
    model_shape s = {.arch = a, .d = 4, .h = 3, .L = 2,
                     .B = a == ARCH_DEEP_RESNET ? 3 : 1, .act = ACT_TANH};
    char err[256];
    model *m = model_new(&s, 8, err, sizeof err);
    if (!m)
        fail_msg("model_new: %s", err);
    return m;
}

static double block_norm(const double *x, model_filter f)
{
    double s = 0;
    for (size_t i = 0; i < f.len; i++)
        s += x[f.off + i] * x[f.off + i];
    if (f.bias != MODEL_NO_BIAS)
        s += x[f.bias] * x[f.bias];
    return sqrt(s);
}

static void filters_cover_theta_once(void **state)
{
    (void)state;
    for (size_t a = 0; a < sizeof all_archs / sizeof all_archs[0]; a++) {
        model *m = shape_model(all_archs[a]);
        size_t np = model_nparams(m);
        int *seen = calloc(np, sizeof *seen);
        assert_non_null(seen);
        for (size_t k = 0; k < model_filter_count(m); k++) {
            model_filter f = model_filter_at(m, k);
            assert_true(f.len > 0 && f.off + f.len <= np);
            for (size_t i = 0; i < f.len; i++)
                seen[f.off + i]++;
            if (f.bias != MODEL_NO_BIAS) {
                assert_true(f.bias < np);
                seen[f.bias]++;
            }
        }
        for (size_t i = 0; i < np; i++)
            assert_int_equal(seen[i], 1);
        free(seen);
        model_free(m);
    }
}

static void normalised_blocks_have_the_parameters_norms(void **state)
{
    (void)state;
    uint64_t s = 13;
    for (size_t a = 0; a < sizeof all_archs / sizeof all_archs[0]; a++) {
        model *m = shape_model(all_archs[a]);
        size_t np = model_nparams(m);
        double *th = malloc(sizeof *th * np), *d1 = malloc(sizeof *d1 * np);
        double *d2 = malloc(sizeof *d2 * np);
        assert_true(th && d1 && d2);
        tu_fill_normal(&s, th, np, 0.7);
        /* one zero filter of theta: its direction block must be zero */
        model_filter z = model_filter_at(m, model_filter_count(m) - 1);
        for (size_t i = 0; i < z.len; i++)
            th[z.off + i] = 0;
        if (z.bias != MODEL_NO_BIAS)
            th[z.bias] = 0;
        rng r;
        rng_init(&r, 5, RNG_SLICE);
        assert_int_equal(slice_directions(m, th, &r, d1, d2, NULL), 0);
        for (size_t k = 0; k < model_filter_count(m); k++) {
            model_filter f = model_filter_at(m, k);
            double nt = block_norm(th, f);
            assert_true(fabs(block_norm(d1, f) - nt) <= 1e-14 * nt);
            assert_true(fabs(block_norm(d2, f) - nt) <= 1e-14 * nt);
        }
        assert_true(block_norm(d1, z) == 0 && block_norm(d2, z) == 0);
        free(th);
        free(d1);
        free(d2);
        model_free(m);
    }
}

static run_config slice_config(void)
{
    run_config c;
    config_defaults(&c);
    c.data.n = 150;
    c.data.n_test = 50;
    c.data.d = 4;
    c.model.width = 6;
    c.train.steps = 150;
    c.analysis.hessian = false;
    c.analysis.path_points = 0;
    c.analysis.slice_points = 5;
    c.analysis.slice_radius = 0.5;
    return c;
}

/* Every architecture: the centre is F (to rounding: the same pass at the
 * same theta, with and without the gradient), the grid is finite, and
 * the same seed gives the same grid bit for bit. */
static void centre_is_the_runs_loss_and_seeded(void **state)
{
    (void)state;
    for (size_t a = 0; a < sizeof all_archs / sizeof all_archs[0]; a++) {
        run_config c = slice_config();
        c.model.arch = all_archs[a];
        c.model.blocks = all_archs[a] == ARCH_DEEP_RESNET ? 2 : 1;
        run_result r = tu_run_ok(&c, NULL), r2 = tu_run_ok(&c, NULL);
        assert_int_equal(r.slice.points, 5);
        assert_true(r.slice.radius == 0.5);
        double centre = r.slice.loss[2 * 5 + 2];
        assert_true(fabs(centre - r.train_loss) <= 1e-13 * r.train_loss);
        for (int k = 0; k < 25; k++)
            assert_true(isfinite(r.slice.loss[k]));
        assert_memory_equal(r.slice.loss, r2.slice.loss, sizeof(double) * 25);
        c.seed = 1;
        run_result r3 = tu_run_ok(&c, NULL);
        assert_true(memcmp(r.slice.loss, r3.slice.loss, sizeof(double) * 25));
    }
}

/* A corner of the grid recomputed from the directions: theta + a_0 d1 +
 * b_{k-1} d2 with a_0 = -r, b_{k-1} = r. */
static void grid_points_are_theta_plus_the_directions(void **state)
{
    (void)state;
    uint64_t s = 99;
    model *m = shape_model(ARCH_RESNET);
    size_t np = model_nparams(m);
    double X[40 * 4], y[40];
    tu_fill_normal(&s, X, 40 * 4, 1);
    tu_fill_normal(&s, y, 40, 1);
    double *th = malloc(sizeof *th * np), *d1 = malloc(sizeof *d1 * np);
    double *d2 = malloc(sizeof *d2 * np), *at = malloc(sizeof *at * np);
    run_slice *sl = malloc(sizeof *sl);
    assert_true(th && d1 && d2 && at && sl);
    tu_fill_normal(&s, th, np, 0.5);
    char err[256];
    assert_int_equal(slice_grid(m, th, LOSS_SQUARED, X, y, 40, 7, 2.0, 42,
                                NULL, sl, err, sizeof err), 0);
    rng r;
    rng_init(&r, 42, RNG_SLICE);
    assert_int_equal(slice_directions(m, th, &r, d1, d2, NULL), 0);
    assert_true(slice_coord(0, 7, 2.0) == -2.0 && slice_coord(6, 7, 2.0) == 2.0 &&
                slice_coord(3, 7, 2.0) == 0.0);
    for (size_t i = 0; i < np; i++)
        at[i] = th[i] - 2.0 * d1[i] + 2.0 * d2[i];
    double want = model_loss_grad(m, at, LOSS_SQUARED, X, y, 40, NULL, NULL);
    assert_true(fabs(sl->loss[0 * 7 + 6] - want) <= 1e-12 * want);
    double centre = model_loss_grad(m, th, LOSS_SQUARED, X, y, 40, NULL, NULL);
    assert_true(sl->loss[3 * 7 + 3] == centre);
    /* even or out-of-range counts, bad radii */
    int bad[] = {2, 4, 1, CONFIG_MAX_SLICE_POINTS + 2};
    for (int k = 0; k < 4; k++)
        assert_int_equal(slice_grid(m, th, LOSS_SQUARED, X, y, 40, bad[k],
                                    1.0, 1, NULL, sl, err, sizeof err),
                         -EINVAL);
    assert_int_equal(slice_grid(m, th, LOSS_SQUARED, X, y, 40, 3, 0.0, 1,
                                NULL, sl, err, sizeof err), -EINVAL);
    free(th);
    free(d1);
    free(d2);
    free(at);
    free(sl);
    model_free(m);
}

/* Off by default; over slice_max_params no slice; an even count is a
 * configuration error naming the key. */
static void off_by_default_and_limited(void **state)
{
    (void)state;
    run_config c = slice_config();
    c.analysis.slice_max_params = 10;
    run_result r = tu_run_ok(&c, NULL);
    assert_int_equal(r.slice.points, 0);
    config_defaults(&c);
    assert_int_equal(c.analysis.slice_points, 0);
    run_config p;
    char err[256];
    assert_int_equal(config_parse_str("{\"analysis\": {\"slice_points\": 4}}",
                                      &p, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "analysis.slice_points"));
    assert_int_equal(config_parse_str("{\"analysis\": {\"slice_radius\": 0}}",
                                      &p, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "analysis.slice_radius"));
    assert_int_equal(config_parse_str("{\"analysis\": {\"slice_points\": 25}}",
                                      &p, err, sizeof err), 0);
    config_free(&p);
    assert_int_equal(config_parse_str("{\"analysis\": {\"slice_points\": 27}}",
                                      &p, err, sizeof err), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(filters_cover_theta_once),
        cmocka_unit_test(normalised_blocks_have_the_parameters_norms),
        cmocka_unit_test(centre_is_the_runs_loss_and_seeded),
        cmocka_unit_test(grid_points_are_theta_plus_the_directions),
        cmocka_unit_test(off_by_default_and_limited),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
