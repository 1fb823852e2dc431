/* test_standardize.c — data.standardize (src/engine/standardize.c,
 * docs/data.md): the training split's columns come out with mean 0 and
 * standard deviation 1, the test split is transformed with the training
 * statistics (checked against a hand computation on the raw data), a
 * constant column gives no NaN, and the linear baseline on the
 * standardized data is the closed-form least squares of the transformed
 * data. */
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
#include "data.h"
#include "err.h"
#include "linfit.h"

#define ROWS 60
static char csv_path[4096];

/* Features of very different scales (a around 5000, b around 300), a
 * constant column c, and y a noisy linear function of them: the raw
 * scikit-learn-like case that makes plain GD diverge. */
static int write_csv(void **state)
{
    (void)state;
    const char *dir = getenv("TMPDIR");
    snprintf(csv_path, sizeof csv_path, "%s/resweep-std-%d.csv",
             dir && *dir ? dir : "/tmp", (int)getpid());
    char err[ERR_LEN];
    FILE *f = blas_init(err, sizeof err) ? NULL : fopen(csv_path, "w");
    if (!f)
        return -1;
    fprintf(f, "a,b,c,y\n");
    for (int i = 0; i < ROWS; i++) {
        double a = 5000 + 37 * (i % 13) + 0.5 * i, b = 300 * sin(i);
        fprintf(f, "%.17g,%.17g,7,%.17g\n", a, b,
                0.3 * a - 2 * b + 11 * cos(3 * i));
    }
    return fclose(f);
}

static int remove_csv(void **state)
{
    (void)state;
    unlink(csv_path);
    return 0;
}

static run_config cfg_of(enum standardize kind, bool intercept)
{
    run_config c;
    config_defaults(&c);
    c.seed = 5;
    c.data.source = DATA_CSV;
    c.data.path = csv_path;                /* borrowed: never config_free'd */
    c.data.target_column = (char *)"y";
    c.data.test_fraction = 0.25;
    c.data.intercept = intercept;
    c.data.standardize = kind;
    return c;
}

static dataset load_ok(const run_config *c)
{
    dataset ds;
    char err[ERR_LEN] = "";
    if (data_load(c, &ds, NULL, err, sizeof err))
        fail_msg("data_load: %s", err);
    return ds;
}

/* Population mean and standard deviation of column j of n rows. */
static void stats(const double *v, int n, int stride, int j, double *mean,
                  double *std)
{
    long double s = 0, q = 0;
    for (int i = 0; i < n; i++)
        s += v[(size_t)i * stride + j];
    long double m = s / n;
    for (int i = 0; i < n; i++)
        q += (v[(size_t)i * stride + j] - m) * (v[(size_t)i * stride + j] - m);
    *mean = (double)m;
    *std = (double)sqrtl(q / n);
}

static void train_columns_have_mean_0_std_1(void **state)
{
    (void)state;
    run_config c = cfg_of(STANDARDIZE_FEATURES_AND_TARGET, true);
    dataset ds = load_ok(&c);
    assert_int_equal(ds.n, 45);
    assert_int_equal(ds.n_test, 15);
    assert_int_equal(ds.d, 4);            /* a, b, c and the intercept */
    double m, s;
    for (int j = 0; j < 2; j++) {
        stats(ds.X, ds.n, ds.d, j, &m, &s);
        assert_true(fabs(m) < 1e-13);
        assert_true(fabs(s - 1) < 1e-13);
    }
    /* c is constant: centred to 0, not divided by its std of 0 */
    for (int i = 0; i < ds.n; i++)
        assert_true(ds.X[(size_t)i * ds.d + 2] == 0);
    for (int i = 0; i < ds.n_test; i++)
        assert_true(ds.X_test[(size_t)i * ds.d + 2] == 0);
    /* the intercept stays the constant 1 */
    for (int i = 0; i < ds.n; i++)
        assert_true(ds.X[(size_t)i * ds.d + 3] == 1);
    stats(ds.y, ds.n, 1, 0, &m, &s);
    assert_true(fabs(m) < 1e-13);
    assert_true(fabs(s - 1) < 1e-13);
    data_free(&ds);
}

/* The same split raw and standardized (the split's RNG does not depend
 * on standardize): the test rows are (raw - train mean) / train std. */
static void test_split_takes_the_training_statistics(void **state)
{
    (void)state;
    run_config rc = cfg_of(STANDARDIZE_NONE, false);
    run_config sc = cfg_of(STANDARDIZE_FEATURES_AND_TARGET, false);
    dataset raw = load_ok(&rc), st = load_ok(&sc);
    assert_int_equal(raw.n_test, st.n_test);
    for (int j = 0; j < 2; j++) {
        double m, s, tm, ts;
        stats(raw.X, raw.n, raw.d, j, &m, &s);
        stats(raw.X_test, raw.n_test, raw.d, j, &tm, &ts);
        assert_true(fabs(tm - m) > 1e-3 * s);  /* the test split's own differ */
        for (int i = 0; i < raw.n_test; i++) {
            double want = (raw.X_test[(size_t)i * raw.d + j] - m) / s;
            assert_true(fabs(st.X_test[(size_t)i * st.d + j] - want) <=
                        1e-12 * (1 + fabs(want)));
        }
    }
    double m, s;
    stats(raw.y, raw.n, 1, 0, &m, &s);
    for (int i = 0; i < raw.n_test; i++) {
        double want = (raw.y_test[i] - m) / s;
        assert_true(fabs(st.y_test[i] - want) <= 1e-12 * (1 + fabs(want)));
    }
    data_free(&raw);
    data_free(&st);
}

static void features_leave_the_target(void **state)
{
    (void)state;
    run_config rc = cfg_of(STANDARDIZE_NONE, false);
    run_config fc = cfg_of(STANDARDIZE_FEATURES, false);
    dataset raw = load_ok(&rc), f = load_ok(&fc);
    assert_memory_equal(raw.y, f.y, sizeof *f.y * (size_t)f.n);
    assert_memory_equal(raw.y_test, f.y_test, sizeof *f.y * (size_t)f.n_test);
    double m, s;
    stats(f.X, f.n, f.d, 0, &m, &s);
    assert_true(fabs(m) < 1e-13 && fabs(s - 1) < 1e-13);
    data_free(&raw);
    data_free(&f);
}

/* min_u (1/2n) |Xu - y|^2 by the normal equations of a d x d system
 * (d <= 4), solved by Gaussian elimination with partial pivoting. */
static double closed_form(const double *X, const double *y, int n, int d,
                          double *u)
{
    double A[4][5] = {{0}};
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            A[j][d] += X[i * d + j] * y[i];
            for (int k = 0; k < d; k++)
                A[j][k] += X[i * d + j] * X[i * d + k];
        }
    for (int p = 0; p < d; p++) {
        int best = p;
        for (int r = p + 1; r < d; r++)
            if (fabs(A[r][p]) > fabs(A[best][p]))
                best = r;
        for (int k = 0; k <= d; k++) {
            double t = A[p][k];
            A[p][k] = A[best][k];
            A[best][k] = t;
        }
        for (int r = p + 1; r < d; r++) {
            double f = A[r][p] / A[p][p];
            for (int k = p; k <= d; k++)
                A[r][k] -= f * A[p][k];
        }
    }
    for (int j = d - 1; j >= 0; j--) {
        double v = A[j][d];
        for (int k = j + 1; k < d; k++)
            v -= A[j][k] * u[k];
        u[j] = v / A[j][j];
    }
    double rss = 0;
    for (int i = 0; i < n; i++) {
        double r = -y[i];
        for (int j = 0; j < d; j++)
            r += X[i * d + j] * u[j];
        rss += r * r;
    }
    return rss / (2.0 * n);
}

/* linfit on the standardized data set against the closed form on the
 * raw training rows transformed by hand (a, b and y; with the
 * intercept, whose column stays 1). */
static void linear_baseline_is_the_closed_form(void **state)
{
    (void)state;
    run_config rc = cfg_of(STANDARDIZE_NONE, true);
    run_config sc = cfg_of(STANDARDIZE_FEATURES_AND_TARGET, true);
    dataset raw = load_ok(&rc), st = load_ok(&sc);
    int n = raw.n, d = 3;                  /* a, b, intercept: c dropped */
    double *X = malloc(sizeof *X * (size_t)n * d), *y = malloc(sizeof *y * n);
    double ma, sa, mb, sb, my, sy;
    stats(raw.X, n, raw.d, 0, &ma, &sa);
    stats(raw.X, n, raw.d, 1, &mb, &sb);
    stats(raw.y, n, 1, 0, &my, &sy);
    for (int i = 0; i < n; i++) {
        X[i * d] = (raw.X[(size_t)i * raw.d] - ma) / sa;
        X[i * d + 1] = (raw.X[(size_t)i * raw.d + 1] - mb) / sb;
        X[i * d + 2] = 1;
        y[i] = (raw.y[i] - my) / sy;
    }
    double want_u[3], want = closed_form(X, y, n, d, want_u);
    /* the standardized set has c's zero column too: linfit's minimum-norm
     * solution gives it weight 0 and the same loss */
    double u[4];
    linfit_result lr;
    char err[ERR_LEN];
    assert_int_equal(linfit_solve(LOSS_SQUARED, st.X, st.y, st.n, st.d, u,
                                  &lr, NULL, err, sizeof err), 0);
    assert_true(fabs(lr.loss - want) <= 1e-12 * (1 + want));
    assert_true(want > 0 && want < 0.05);  /* y is nearly linear in a, b */
    assert_true(fabs(u[0] - want_u[0]) < 1e-9);
    assert_true(fabs(u[1] - want_u[1]) < 1e-9);
    assert_true(fabs(u[2]) < 1e-12);       /* the zero column */
    assert_true(fabs(u[3] - want_u[2]) < 1e-9);
    assert_true(fabs(linfit_loss(LOSS_SQUARED, X, y, n, d, want_u, NULL) - want)
                <= 1e-12);
    free(X);
    free(y);
    data_free(&raw);
    data_free(&st);
}

/* Synthetic data too: a gaussian of condition 100 has columns of
 * different scales; standardized, each has mean 0 and std 1 on the
 * training split, and labels of a classification loss stay signs. */
static void synthetic_and_labels(void **state)
{
    (void)state;
    run_config c;
    config_defaults(&c);
    c.data.d = 5;
    c.data.n = 200;
    c.data.n_test = 50;
    c.data.cond = 100;
    c.data.standardize = STANDARDIZE_FEATURES;
    c.loss = LOSS_LOGISTIC;
    dataset ds = load_ok(&c);
    for (int j = 0; j < ds.d; j++) {
        double m, s;
        stats(ds.X, ds.n, ds.d, j, &m, &s);
        assert_true(fabs(m) < 1e-13 && fabs(s - 1) < 1e-13);
    }
    for (int i = 0; i < ds.n; i++)
        assert_true(ds.y[i] == 1 || ds.y[i] == -1);
    char err[ERR_LEN];
    assert_int_equal(data_standardize(&ds, STANDARDIZE_FEATURES_AND_TARGET,
                                      false, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "data.standardize"));
    data_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(train_columns_have_mean_0_std_1),
        cmocka_unit_test(test_split_takes_the_training_statistics),
        cmocka_unit_test(features_leave_the_target),
        cmocka_unit_test(linear_baseline_is_the_closed_form),
        cmocka_unit_test(synthetic_and_labels),
    };
    return cmocka_run_group_tests(tests, write_csv, remove_csv);
}
