/* The spectrum beyond its extremes (docs/theory.md §6.6), against exact
 * answers: Hutchinson's trace on a diagonal operator (exact with one
 * probe) and within four standard errors of the dense Hessian's trace;
 * SLQ's bin masses against the dense eigenvalues on networks of at most
 * 200 parameters; each probe's Gauss quadrature within its largest
 * weight of the probe's own spectral measure at every point (the
 * Chebyshev-Markov-Stieltjes inequalities), with fewer steps than the
 * dimension; the dense spectrum's negative count at a constructed saddle
 * whose index is known; the classification rule. */
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

#include "analysis.h"
#include "blas.h"
#include "lanczos.h"
#include "loss.h"
#include "model.h"
#include "spectrum.h"
#include "testutil.h"

/* --- operators ------------------------------------------------------ */

typedef struct diag_op { int n; const double *d; } diag_op;

static int diag_apply(void *ctx, const double *v, double *out)
{
    const diag_op *o = ctx;
    for (int i = 0; i < o->n; i++)
        out[i] = o->d[i] * v[i];
    return 0;
}

typedef struct hess_ctx {
    model *m;
    const double *theta, *X, *y;
    enum loss_kind loss;
    int n;
} hess_ctx;

static int hess_apply(void *ctx, const double *v, double *out)
{
    hess_ctx *h = ctx;
    return model_hvp(h->m, h->theta, h->loss, h->X, h->y, h->n, v, out);
}

/* A network of at most 200 parameters at random parameters, with its
 * dense spectrum (case c picks the arch, loss and activation). */
typedef struct small_net {
    model *m;
    double X[160], y[40], *theta, *w;
    size_t np;
    hess_ctx h;
    const char *name;
} small_net;

static const enum arch archs[] = {ARCH_RESNET, ARCH_PLAIN, ARCH_DECOUPLED,
                                  ARCH_DEEP_RESNET};
static const enum loss_kind losses[] = {LOSS_SQUARED, LOSS_LOGISTIC,
                                        LOSS_LOGCOSH, LOSS_SOFTPLUS_HINGE};

static void small_net_new(small_net *t, int c)
{
    enum arch a = archs[c % 4];
    enum loss_kind l = losses[(c / 4) % 4];
    model_shape s = {.arch = a, .d = 4, .h = 5, .L = 2,
                     .B = a == ARCH_DEEP_RESNET ? 2 : 1,
                     .act = c % 2 ? ACT_TANH : ACT_SOFTPLUS};
    char err[256];
    t->m = model_new(&s, 8, err, sizeof err);
    assert_non_null(t->m);
    t->np = model_nparams(t->m);
    assert_true(t->np <= 200);
    t->name = config_arch_name(a);
    t->theta = malloc(sizeof(double) * t->np);
    t->w = malloc(sizeof(double) * t->np);
    uint64_t st = 500 + (uint64_t)c;
    tu_fill_normal(&st, t->X, 160, 1.0);
    for (int i = 0; i < 40; i++) {
        double v = t->X[4 * i] - t->X[4 * i + 1] * t->X[4 * i + 2] + 0.3 * tu_normal(&st);
        t->y[i] = config_is_classification(l) ? (v > 0 ? 1 : -1) : v;
    }
    tu_fill_normal(&st, t->theta, t->np, 0.6);
    t->h = (hess_ctx){.m = t->m, .theta = t->theta, .X = t->X, .y = t->y,
                      .loss = l, .n = 40};
    assert_int_equal(spectrum_dense(t->np, hess_apply, &t->h, NULL, t->w,
                                    err, sizeof err), 0);
}

static void small_net_free(small_net *t)
{
    free(t->theta);
    free(t->w);
    model_free(t->m);
}

/* --- Hutchinson ----------------------------------------------------- */

/* z_i^2 = 1, so z^T D z = tr D for every Rademacher z: one probe is
 * exact, and several agree to rounding with a standard error of 0. */
static void trace_exact_on_a_diagonal(void **state)
{
    (void)state;
    double d[57], tr = 0;
    for (int i = 0; i < 57; i++)
        tr += d[i] = sin(i + 1.0) * (i + 1);
    diag_op o = {57, d};
    rng r;
    rng_init(&r, 3, RNG_ANALYSIS);
    double t, se;
    char err[256];
    assert_int_equal(spectrum_trace(57, diag_apply, &o, 1, &r, NULL, &t, &se,
                                    err, sizeof err), 0);
    assert_true(fabs(t - tr) <= 1e-12 * fabs(tr) + 1e-12);
    assert_true(isnan(se));
    assert_int_equal(spectrum_trace(57, diag_apply, &o, 5, &r, NULL, &t, &se,
                                    err, sizeof err), 0);
    assert_true(fabs(t - tr) <= 1e-12 * fabs(tr) + 1e-12);
    assert_true(se <= 1e-12 * fabs(tr));
    assert_int_equal(spectrum_trace(57, diag_apply, &o, 0, &r, NULL, &t, &se,
                                    err, sizeof err), -EINVAL);
}

/* On real Hessians the estimate with 400 probes is within four of its
 * standard errors of the dense trace, and the error shrinks as it says:
 * the standard error with 400 probes is about half that with 100. */
static void trace_within_four_standard_errors(void **state)
{
    (void)state;
    for (int c = 0; c < 16; c++) {
        small_net t;
        small_net_new(&t, c);
        double exact = 0;
        for (size_t i = 0; i < t.np; i++)
            exact += t.w[i];
        rng r;
        rng_init(&r, 11 + (uint64_t)c, RNG_ANALYSIS);
        double tr, se, tr100, se100;
        char err[256];
        assert_int_equal(spectrum_trace(t.np, hess_apply, &t.h, 100, &r, NULL,
                                        &tr100, &se100, err, sizeof err), 0);
        assert_int_equal(spectrum_trace(t.np, hess_apply, &t.h, 400, &r, NULL,
                                        &tr, &se, err, sizeof err), 0);
        if (!(fabs(tr - exact) <= 4 * se))
            fail_msg("%s case %d: trace %.6g, exact %.6g, se %.3g", t.name,
                     c, tr, exact, se);
        assert_true(se > 0.3 * se100 && se < 0.8 * se100);
        small_net_free(&t);
    }
}

/* --- SLQ ------------------------------------------------------------ */

/* With as many steps as the dimension the nodes are the eigenvalues, and
 * what is left is the sampling of the weights, E (q_i^T v)^2 = 1/n: the
 * mass of every one of 10 equal bins, and of every interval between
 * deciles of the dense spectrum, within 0.05 of the fraction of the
 * dense eigenvalues in it after 100 probes (the standard deviation of a
 * mass p is about sqrt(2 p / (n probes)), 0.01 at p = 1/2 and n = 80),
 * and the masses sum to 1. With the basis stored and
 * not (the plain recurrence, whose ghost copies split weights but do not
 * add mass). */
static void slq_bins_match_the_dense_spectrum(void **state)
{
    (void)state;
    for (int c = 0; c < 8; c++) {
        small_net t;
        small_net_new(&t, c);
        double lo = t.w[0], hi = t.w[t.np - 1];
        spectrum_quad exact = {.n = (int)t.np, .node = t.w,
                               .weight = malloc(sizeof(double) * t.np)};
        for (size_t i = 0; i < t.np; i++)
            exact.weight[i] = 1.0 / (double)t.np;
        double want[10], got[10];
        spectrum_histogram(&exact, lo, hi, 10, want);
        for (int capped = 0; capped < 2; capped++) {
            rng r;
            rng_init(&r, 77 + (uint64_t)c, RNG_ANALYSIS);
            spectrum_quad q;
            char err[256];
            lanczos_opts o = {.iters = (int)t.np,
                              .basis_bytes = capped ? 0 : SIZE_MAX};
            assert_int_equal(spectrum_slq(t.np, hess_apply, &t.h, 100, &o,
                                          &r, &q, err, sizeof err), 0);
            spectrum_histogram(&q, lo, hi, 10, got);
            double sum = 0;
            for (int b = 0; b < 10; b++) {
                sum += got[b];
                if (!(fabs(got[b] - want[b]) <= 0.05))
                    fail_msg("%s case %d%s: bin %d mass %.4f, dense %.4f",
                             t.name, c, capped ? " capped" : "", b, got[b],
                             want[b]);
            }
            assert_true(fabs(sum - 1) < 1e-12);
            /* Equal bins put most of a Hessian's spectrum near 0 into
             * one bin; the intervals between deciles of the dense
             * spectrum hold a tenth each. Cut midway between two
             * eigenvalues, where a gap leaves no doubt which side each
             * node is on; the count below each cut is what hess_neg_est
             * forms. */
            double prev = 0, prev_exact = 0, scale = fmax(fabs(lo), fabs(hi));
            for (size_t k = 1; k <= 10; k++) {
                size_t i = k * t.np / 10;
                if (i < t.np && t.w[i] - t.w[i - 1] < 1e-8 * scale)
                    continue;
                double x = i < t.np ? 0.5 * (t.w[i - 1] + t.w[i]) : hi + 1;
                double below = spectrum_mass_below(&q, x);
                double exact_below = (double)i / (double)t.np;
                assert_int_equal(spectrum_count_below(t.w, t.np, x), (long)i);
                if (!(fabs(below - exact_below) <= 0.05 &&
                      fabs((below - prev) - (exact_below - prev_exact)) <= 0.05))
                    fail_msg("%s case %d%s: mass below %.4g %.4f (interval "
                             "%.4f), dense %.4f (%.4f)", t.name, c,
                             capped ? " capped" : "", x, below, below - prev,
                             exact_below, exact_below - prev_exact);
                prev = below;
                prev_exact = exact_below;
            }
            spectrum_quad_free(&q);
        }
        free(exact.weight);
        small_net_free(&t);
    }
}

/* Fewer steps than the dimension: for one unit start v, the Gauss
 * quadrature of 12 steps and the measure sum_i (q_i^T v)^2 delta(l_i)
 * have distribution functions within the largest quadrature weight of
 * each other everywhere (Chebyshev-Markov-Stieltjes: the measure's
 * distribution function lies between the partial sums of the weights at
 * the nodes). Checked at every eigenvalue and midway between them. */
static void gauss_quadrature_brackets_the_measure(void **state)
{
    (void)state;
    for (int c = 0; c < 8; c++) {
        small_net t;
        small_net_new(&t, c);
        size_t n = t.np;
        double *Q = malloc(sizeof(double) * n * n), *w = malloc(sizeof(double) * n);
        double *v = malloc(sizeof(double) * n), *e = calloc(n, sizeof(double));
        for (size_t i = 0; i < n; i++) {  /* the dense Hessian, again */
            e[i] = 1;
            assert_int_equal(hess_apply(&t.h, e, Q + i * n), 0);
            e[i] = 0;
        }
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                Q[i * n + j] = Q[j * n + i] = 0.5 * (Q[i * n + j] + Q[j * n + i]);
        assert_int_equal(lapack_syev((int)n, Q, w, true), 0);
        uint64_t st = 900 + (uint64_t)c;
        tu_fill_normal(&st, v, n, 1.0);
        double nv = tu_norm(v, n);
        for (size_t i = 0; i < n; i++)
            v[i] /= nv;
        double alpha[12], beta[12], Z[144];
        bool capped;
        char err[256];
        lanczos_opts lo = {.iters = 12, .basis_bytes = SIZE_MAX, .pl = NULL};
        int m = lanczos_tridiagonal(n, hess_apply, &t.h, v, &lo, alpha, beta,
                                    &capped, err, sizeof err);
        assert_true(m >= 1 && m <= 12);
        assert_false(capped);
        assert_int_equal(lapack_stev(m, alpha, beta, Z), 0);
        double tau[12], tmax = 0;
        for (int k = 0; k < m; k++)
            tmax = fmax(tmax, tau[k] = Z[k * m] * Z[k * m]);
        for (size_t j = 0; j < 2 * n; j++) {
            double x = j % 2 ? (j / 2 + 1 < n ? 0.5 * (w[j / 2] + w[j / 2 + 1])
                                              : w[n - 1] + 1)
                             : w[j / 2];
            double fq = 0, fv = 0;
            for (int k = 0; k < m; k++)
                fq += alpha[k] < x ? tau[k] : 0;
            for (size_t i = 0; i < n; i++) {
                double p = 0;
                for (size_t k = 0; k < n; k++)
                    p += Q[i * n + k] * v[k];
                fv += w[i] < x ? p * p : 0;
            }
            if (!(fabs(fq - fv) <= tmax + 1e-9))
                fail_msg("%s case %d: at %.6g quadrature %.6f, measure %.6f, "
                         "largest weight %.4f", t.name, c, x, fq, fv, tmax);
        }
        free(Q);
        free(w);
        free(v);
        free(e);
        small_net_free(&t);
    }
}

/* The histogram's edges: [lo + b w, lo + (b+1) w), the last closed,
 * outside nodes to the end bins. */
static void histogram_edges(void **state)
{
    (void)state;
    double node[] = {0, 0.999, 1, 3.5, 4, -7, 9};
    double weight[] = {1, 2, 4, 8, 16, 32, 64};
    spectrum_quad q = {7, node, weight};
    double m[4];
    spectrum_histogram(&q, 0, 4, 4, m);
    assert_true(m[0] == 1 + 2 + 32);
    assert_true(m[1] == 4);
    assert_true(m[2] == 0);
    assert_true(m[3] == 8 + 16 + 64);
    assert_true(spectrum_mass_below(&q, 1) == 1 + 2 + 32);
    double lo, hi;
    spectrum_quad_range(&q, &lo, &hi);
    assert_true(lo == -7 && hi == 9);
}

/* --- a saddle of known index ---------------------------------------- */

/* plain at w = 0, V = 0 is stationary whatever theta is (every gradient
 * carries a factor w or V), and its Hessian couples each w_i only with
 * row i of V through g = (1/n) sum l'(0; y_j) f(x_j): d blocks
 * [[0, g^T], [g, 0]], eigenvalues -||g||, +||g|| and zeros, so exactly d
 * eigenvalues are negative (docs/theory.md §6.6). */
static void zero_plain_network_is_a_saddle_of_index_d(void **state)
{
    (void)state;
    for (int d = 1; d <= 5; d++) {
        model_shape s = {.arch = ARCH_PLAIN, .d = d, .h = 6, .L = 2, .B = 1,
                         .act = ACT_TANH};
        char err[256];
        model *m = model_new(&s, 16, err, sizeof err);
        size_t np = model_nparams(m), ov, lv, oo, lo;
        assert_true(np <= 200);
        double *theta = malloc(sizeof(double) * np), *w = malloc(sizeof(double) * np);
        double X[5 * 50], y[50];
        uint64_t st = 40 + (uint64_t)d;
        tu_fill_normal(&st, theta, np, 0.7);
        model_group(m, MODEL_OUT, &oo, &lo);
        model_group(m, MODEL_V, &ov, &lv);
        memset(theta + oo, 0, sizeof(double) * lo);
        memset(theta + ov, 0, sizeof(double) * lv);
        tu_fill_normal(&st, X, (size_t)d * 50, 1.0);
        for (int i = 0; i < 50; i++)
            y[i] = 1 + X[i * d] + 0.2 * tu_normal(&st);
        hess_ctx h = {m, theta, X, y, LOSS_SQUARED, 50};
        assert_int_equal(spectrum_dense(np, hess_apply, &h, NULL, w, err,
                                    sizeof err), 0);
        double tol;
        enum point_class pc = spectrum_classify(w[0], w[np - 1], 1e-4, &tol);
        assert_int_equal(pc, POINT_SADDLE);
        assert_int_equal(spectrum_count_below(w, np, -tol), d);
        /* the spectrum is +-||g|| (d times each) and zeros */
        assert_true(fabs(w[0] + w[np - 1]) <= 1e-12 * w[np - 1]);
        assert_true(fabs(w[d - 1] - w[0]) <= 1e-12 * w[np - 1]);
        assert_true(fabs(w[d]) <= 1e-12 * w[np - 1]);
        free(theta);
        free(w);
        model_free(m);
    }
}

/* --- classification ------------------------------------------------- */

static void classification_rule(void **state)
{
    (void)state;
    double tol;
    assert_int_equal(spectrum_classify(-1e-6, 1e-6, 1e-4, &tol), POINT_FLAT);
    assert_true(tol == 1e-4);
    assert_int_equal(spectrum_classify(-1, 3, 1e-4, &tol), POINT_SADDLE);
    assert_true(fabs(tol - 3e-4) < 1e-18);
    assert_int_equal(spectrum_classify(-2e-4, 3, 1e-4, &tol), POINT_MINIMUM);
    assert_int_equal(spectrum_classify(0, 3, 0, &tol), POINT_MINIMUM);
    assert_int_equal(spectrum_classify(0, 0, 0, &tol), POINT_FLAT);
    assert_int_equal(spectrum_classify(NAN, NAN, 1e-4, &tol),
                     POINT_UNCLASSIFIED);
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
        cmocka_unit_test(trace_exact_on_a_diagonal),
        cmocka_unit_test(trace_within_four_standard_errors),
        cmocka_unit_test(slq_bins_match_the_dense_spectrum),
        cmocka_unit_test(gauss_quadrature_brackets_the_measure),
        cmocka_unit_test(histogram_edges),
        cmocka_unit_test(zero_plain_network_is_a_saddle_of_index_d),
        cmocka_unit_test(classification_rule),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
