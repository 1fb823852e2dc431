/* Architectures of docs/theory.md §3: forward pass against a direct per-sample
 * implementation of the formulas, gradients against central differences,
 * Hessian-vector products against differences of gradients, for every
 * arch x loss x activation, with chunking on. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "blas.h"
#include "loss.h"
#include "model.h"
#include "testutil.h"

static const enum arch archs[] = {ARCH_LINEAR, ARCH_RESNET, ARCH_PLAIN,
                                  ARCH_DECOUPLED, ARCH_DEEP_RESNET};
static const enum loss_kind losses[] = {LOSS_SQUARED, LOSS_LOGISTIC,
                                        LOSS_LOGCOSH, LOSS_SOFTPLUS_HINGE};
static const enum activation acts[] = {ACT_RELU, ACT_TANH, ACT_SOFTPLUS,
                                       ACT_LEAKY_RELU, ACT_GELU};

typedef struct instance {
    model_shape s;
    model *m;
    size_t np;
    int n;
    double *theta, *X, *y;
} instance;

static instance make_instance(enum arch a, enum activation act,
                              enum loss_kind loss, uint64_t seed, int chunk)
{
    instance t = {.n = 11};
    t.s = (model_shape){.arch = a, .d = 4, .h = 5, .L = 2,
                        .B = a == ARCH_DEEP_RESNET ? 3 : 1, .act = act};
    if (a == ARCH_LINEAR)
        t.s.h = t.s.L = 0;
    char err[256];
    t.m = model_new(&t.s, chunk, err, sizeof err);
    assert_non_null(t.m);
    t.np = model_nparams(t.m);
    assert_int_equal((long)t.np, model_shape_nparams(&t.s));
    t.theta = malloc(sizeof(double) * t.np);
    t.X = malloc(sizeof(double) * (size_t)t.n * t.s.d);
    t.y = malloc(sizeof(double) * (size_t)t.n);
    uint64_t st = seed;
    tu_fill_normal(&st, t.theta, t.np, 0.6);
    tu_fill_normal(&st, t.X, (size_t)t.n * t.s.d, 1.0);
    for (int i = 0; i < t.n; i++)
        t.y[i] = config_is_classification(loss)
                     ? (tu_uniform(&st) < 0.5 ? -1.0 : 1.0)
                     : tu_normal(&st);
    return t;
}

static void free_instance(instance *t)
{
    model_free(t->m);
    free(t->theta);
    free(t->X);
    free(t->y);
}

/* ---- direct implementation of docs/theory.md §3, one sample at a time ---- */

static double act_ref(enum activation a, double x)
{
    switch (a) {
    case ACT_RELU: return x > 0 ? x : 0;
    case ACT_TANH: return tanh(x);
    case ACT_SOFTPLUS: return log(1 + exp(x));
    case ACT_LEAKY_RELU: return x > 0 ? x : 0.01 * x;
    case ACT_GELU: return 0.5 * x * (1 + erf(x / sqrt(2)));
    }
    return NAN;
}

/* F_theta_b(in) -> out (h), with the layout of model.h */
static void unit_ref(const instance *t, const double *unit, const double *in,
                     double *out)
{
    int d = t->s.d, h = t->s.h;
    double z[64], a[64];
    memcpy(z, in, sizeof(double) * d);
    int k = d;
    const double *q = unit;
    for (int j = 0; j < t->s.L; j++) {
        const double *W = q, *b = q + h * k;
        for (int r = 0; r < h; r++) {
            double s = b[r];
            for (int c = 0; c < k; c++)
                s += W[r * k + c] * z[c];
            a[r] = act_ref(t->s.act, s);
        }
        memcpy(z, a, sizeof(double) * h);
        q += h * k + h;
        k = h;
    }
    memcpy(out, z, sizeof(double) * h);
}

static double predict_ref(const instance *t, const double *x)
{
    int d = t->s.d, h = t->s.h;
    const double *w = t->theta, *V = t->theta + d;
    size_t unit_np = (size_t)h * d + h + (size_t)(t->s.L - 1) * (h * h + h);
    double p = 0, f[64], r[64];
    if (t->s.arch == ARCH_LINEAR || t->s.arch == ARCH_DECOUPLED) {
        for (int c = 0; c < d; c++)
            p += w[c] * x[c];
        if (t->s.arch == ARCH_DECOUPLED) {
            unit_ref(t, t->theta + d + h, x, f);
            for (int c = 0; c < h; c++)
                p += V[c] * f[c];
        }
        return p;
    }
    const double *units = t->theta + d + (size_t)t->s.B * d * h;
    memcpy(r, x, sizeof(double) * d);
    for (int b = 0; b < t->s.B; b++) {
        unit_ref(t, units + b * unit_np, r, f);
        const double *Vb = V + (size_t)b * d * h;
        for (int c = 0; c < d; c++) {
            double s = t->s.arch == ARCH_PLAIN ? 0 : r[c];
            for (int k = 0; k < h; k++)
                s += Vb[c * h + k] * f[k];
            r[c] = s;
        }
    }
    for (int c = 0; c < d; c++)
        p += w[c] * r[c];
    return p;
}

/* ---- tests ---- */

static void forward_matches_formulas(void **state)
{
    (void)state;
    for (size_t a = 0; a < 5; a++)
        for (size_t k = 0; k < 5; k++) {
            instance t = make_instance(archs[a], acts[k], LOSS_SQUARED, 100 + a * 7 + k, 4);
            double p[16];
            model_predict(t.m, t.theta, t.X, t.n, p);
            for (int i = 0; i < t.n; i++) {
                double ref = predict_ref(&t, t.X + i * t.s.d);
                if (fabs(p[i] - ref) > 1e-12 * (1 + fabs(ref)))
                    fail_msg("%s/%s sample %d: %.17g vs %.17g", config_arch_name(archs[a]),
                             config_activation_name(acts[k]), i, p[i], ref);
            }
            free_instance(&t);
        }
}

static double loss_at(instance *t, enum loss_kind loss, const double *theta)
{
    return model_loss_grad(t->m, theta, loss, t->X, t->y, t->n, NULL, NULL);
}

static void gradients_match_central_differences(void **state)
{
    (void)state;
    int checked = 0;
    for (size_t a = 0; a < 5; a++)
        for (size_t l = 0; l < 4; l++)
            for (size_t k = 0; k < 5; k++) {
                instance t = make_instance(archs[a], acts[k], losses[l], 7 + a * 100 + l * 10 + k, 4);
                double *g = malloc(sizeof(double) * t.np), *fd = malloc(sizeof(double) * t.np);
                double *th = malloc(sizeof(double) * t.np);
                model_loss_grad(t.m, t.theta, losses[l], t.X, t.y, t.n, g, NULL);
                memcpy(th, t.theta, sizeof(double) * t.np);
                for (size_t i = 0; i < t.np; i++) {
                    double h = 1e-6 * (1 + fabs(t.theta[i]));
                    th[i] = t.theta[i] + h;
                    double fp = loss_at(&t, losses[l], th);
                    th[i] = t.theta[i] - h;
                    double fm = loss_at(&t, losses[l], th);
                    th[i] = t.theta[i];
                    fd[i] = (fp - fm) / (2 * h);
                }
                double e = tu_relerr(g, fd, t.np);
                if (!(e < 1e-6))
                    fail_msg("%s/%s/%s: gradient relative error %.3g",
                             config_arch_name(archs[a]), config_loss_name(losses[l]),
                             config_activation_name(acts[k]), e);
                checked++;
                free(g);
                free(fd);
                free(th);
                free_instance(&t);
            }
    assert_int_equal(checked, 100);
}

static void hvp_matches_gradient_differences(void **state)
{
    (void)state;
    for (size_t a = 0; a < 5; a++)
        for (size_t l = 0; l < 4; l++)
            for (size_t k = 0; k < 5; k++) {
                instance t = make_instance(archs[a], acts[k], losses[l], 900 + a * 100 + l * 10 + k, 4);
                size_t np = t.np;
                double *v = malloc(sizeof(double) * np), *Hv = malloc(sizeof(double) * np);
                double *gp = malloc(sizeof(double) * np), *gm = malloc(sizeof(double) * np);
                double *th = malloc(sizeof(double) * np), *fd = malloc(sizeof(double) * np);
                uint64_t st = 31 + a + 5 * l + 25 * k;
                tu_fill_normal(&st, v, np, 1.0);
                assert_int_equal(model_hvp(t.m, t.theta, losses[l], t.X, t.y, t.n, v, Hv), 0);
                double eps = 1e-5;
                for (size_t i = 0; i < np; i++)
                    th[i] = t.theta[i] + eps * v[i];
                model_loss_grad(t.m, th, losses[l], t.X, t.y, t.n, gp, NULL);
                for (size_t i = 0; i < np; i++)
                    th[i] = t.theta[i] - eps * v[i];
                model_loss_grad(t.m, th, losses[l], t.X, t.y, t.n, gm, NULL);
                for (size_t i = 0; i < np; i++)
                    fd[i] = (gp[i] - gm[i]) / (2 * eps);
                double e = tu_relerr(Hv, fd, np);
                if (!(e < 1e-6))
                    fail_msg("%s/%s/%s: Hv relative error %.3g",
                             config_arch_name(archs[a]), config_loss_name(losses[l]),
                             config_activation_name(acts[k]), e);
                free(v); free(Hv); free(gp); free(gm); free(th); free(fd);
                free_instance(&t);
            }
}

static void chunking_does_not_change_results(void **state)
{
    (void)state;
    for (size_t a = 0; a < 5; a++) {
        instance t1 = make_instance(archs[a], ACT_TANH, LOSS_LOGCOSH, 5 + a, 3);
        instance t2 = make_instance(archs[a], ACT_TANH, LOSS_LOGCOSH, 5 + a, 64);
        double *g1 = malloc(sizeof(double) * t1.np), *g2 = malloc(sizeof(double) * t1.np);
        double f1 = model_loss_grad(t1.m, t1.theta, LOSS_LOGCOSH, t1.X, t1.y, t1.n, g1, NULL);
        double f2 = model_loss_grad(t2.m, t2.theta, LOSS_LOGCOSH, t2.X, t2.y, t2.n, g2, NULL);
        assert_true(fabs(f1 - f2) <= 1e-14 * fabs(f1));
        assert_true(tu_relerr(g1, g2, t1.np) < 1e-13);
        free(g1);
        free(g2);
        free_instance(&t1);
        free_instance(&t2);
    }
}

static void parameter_groups_tile_theta(void **state)
{
    (void)state;
    for (size_t a = 0; a < 5; a++) {
        instance t = make_instance(archs[a], ACT_RELU, LOSS_SQUARED, 1, 0);
        size_t off, len, next = 0;
        for (int g = 0; g < MODEL_GROUPS; g++) {
            model_group(t.m, (enum model_group)g, &off, &len);
            assert_int_equal(off, next);
            next = off + len;
        }
        assert_int_equal(next, t.np);
        free_instance(&t);
    }
    model_shape big = {.arch = ARCH_DEEP_RESNET, .d = 1000, .h = 4096, .L = 4, .B = 8};
    assert_int_equal(model_shape_nparams(&big), -1);
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    if (blas_init(err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_matches_formulas),
        cmocka_unit_test(gradients_match_central_differences),
        cmocka_unit_test(hvp_matches_gradient_differences),
        cmocka_unit_test(chunking_does_not_change_results),
        cmocka_unit_test(parameter_groups_tile_theta),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
