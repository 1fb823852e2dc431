/* data.c — a run's samples: synthetic distributions and targets, CSV files
 * and inline arrays (see data.h; docs/theory.md §2; docs/data.md has the same
 * definitions for users).
 *
 * Synthetic inputs x in R^d (d = data.d, the intercept column comes after):
 *   gaussian    x_j = s_j z_j, z ~ N(0, I), s_j^2 = cond^(-j/(d-1)),
 *               j = 0..d-1: eigenvalues 1 down to 1/cond (1 when d = 1)
 *   uniform     x_j ~ U[-1, 1) independently
 *   sphere      x = sqrt(d) z / ||z||: uniform on the sphere of radius
 *               sqrt(d), so E xx^T = I
 *   rademacher  x_j = +-1 with probability 1/2 each
 *   student_t   x = z / sqrt(g / nu), g = 2 Gamma(nu/2) ~ chi2_nu, one g per
 *               sample (multivariate t: coordinates uncorrelated, not
 *               independent); covariance nu/(nu-2) I for nu > 2
 *   mixture     x = mu_c + z, c uniform in {0..components-1}, means
 *               mu_c ~ N(0, I) drawn once per run
 *
 * Targets t(x) of the raw d features; their parameters are drawn once per
 * run from RNG_TEACHER, in the order listed, and do not depend on n, n_test,
 * the input distribution, the noise or the loss (docs/theory.md §2 leaves the
 * scalings open; each is chosen so that Var t(x) is of order 1 when
 * E xx^T = I):
 *   linear          t = u^T x,                     u ~ N(0, I/d)
 *   teacher_mlp     t = a^T relu(U x + c),         U ~ N(0, 1/d)^{k x d},
 *                   c ~ N(0, 0.01 I_k), a ~ N(0, I_k/k), k = teacher_width
 *                   (the recipe of bench/torch_ref.py)
 *   teacher_resnet  t = w^T (x + V relu(U x + c)), U, c as teacher_mlp,
 *                   w ~ N(0, I/d), V ~ N(0, 1/k)^{d x k}: the residual
 *                   branch has per-coordinate variance about 1/2, the same
 *                   order as the skip, and a resnet of unit_depth 1 and
 *                   width >= k represents t exactly
 *   quadratic       t = u^T x + ((b^T x)^2 - ||b||^2) / sqrt(2),
 *                   u, b ~ N(0, I/d) (u is linear's u): mean 0 and the two
 *                   parts of about equal variance when x ~ N(0, I)
 *   parity          t = prod_{j<parity_k} sign(x_j), and +1 if any of
 *                   those x_j is 0 (the sign of their product)
 *   sine            t = sqrt(2) sin(2 u^T x), u as linear: a single-index
 *                   target whose best linear fit explains about 15% of its
 *                   variance under N(0, I)
 *
 * Labels: regression y = t(x) + noise * N(0, 1); classification
 * (config_is_classification) y = sign(t(x)) in {-1, +1} with sign(0) = +1,
 * flipped with probability flip. Each sample consumes its input draws, then
 * exactly one normal (regression) or one uniform (classification) whatever
 * noise or flip is, so the inputs do not move when those change.
 */
#include "data.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "err.h"

/* Rejection loops are bounded (issue 9 §3): past this many redraws the
 * last draw is replaced by a fixed value (below), so a sample always ends.
 * At the smallest valid nu (CONFIG_MIN_NU) a chi-square draw underflows
 * with probability about exp(-372 nu) = 0.024, so all of them do with
 * probability below 1e-100; a zero Gaussian vector is rarer still. */
#define DRAW_MAX_TRIES 64

/* The mixture means come from their own sub-stream of RNG_TEACHER, so that
 * the target's parameters are the same whatever the input distribution. */
#define RNG_TEACHER_MEANS ((uint64_t)RNG_TEACHER | (1ull << 32))

/* Parameter draws between two ticks of the poller (issue 9 §4): a teacher
 * can have 1.2e8 of them, a second or more of drawing. */
#define FILL_BLOCK 4096

struct data_gen {
    enum data_dist dist;
    enum data_target target;
    int d;             /* raw features */
    int dim;           /* d, plus 1 with the intercept */
    bool intercept, classification;
    double noise, flip, nu;
    int k, parity_k, components;
    double *scale;     /* gaussian: d standard deviations */
    double *means;     /* mixture: components x d */
    double *u;         /* linear, quadratic, sine: u; teacher_resnet: w (d) */
    double *b;         /* quadratic (d) */
    double bb;         /* quadratic: ||b||^2 */
    double *U, *c, *a; /* teacher_mlp, teacher_resnet: k x d, k, k; for the
                        * resnet a = V^T w, so t = w^T x + a^T relu(U x + c) */
    double *block;     /* the one allocation all the arrays above live in */
};

/* ---- validation ------------------------------------------------------ */

static bool cells_ok(double rows, double cols)
{
    return rows * cols <= (double)CONFIG_MAX_CELLS;
}

/* What config_parse checks too, checked again because data_load is also
 * called on configurations built in code (tests, benchmarks). */
static int check_synthetic(const data_config *dc, char *err, size_t errlen)
{
    if ((unsigned)dc->dist > DIST_MIXTURE)
        return err_set(err, errlen, -EINVAL, "data.dist: unknown distribution %d", (int)dc->dist);
    if ((unsigned)dc->target > TARGET_SINE)
        return err_set(err, errlen, -EINVAL, "data.target: unknown target %d", (int)dc->target);
    if (dc->d < 1 || dc->d > CONFIG_MAX_D)
        return err_set(err, errlen, -EINVAL, "data.d: must be an integer in [1, %d], got %d",
                       CONFIG_MAX_D, dc->d);
    if (dc->dist == DIST_GAUSSIAN && !(isfinite(dc->cond) && dc->cond >= 1))
        return err_set(err, errlen, -EINVAL, "data.cond: must be a number >= 1, got %g",
                       dc->cond);
    if (dc->dist == DIST_STUDENT_T && !(isfinite(dc->nu) && dc->nu >= CONFIG_MIN_NU))
        return err_set(err, errlen, -EINVAL, "data.nu: must be a finite number >= %g, got %g",
                       CONFIG_MIN_NU, dc->nu);
    if (dc->dist == DIST_MIXTURE &&
        (dc->components < 1 || dc->components > CONFIG_MAX_COMPONENTS ||
         !cells_ok(dc->components, dc->d)))
        return err_set(err, errlen, -EINVAL,
                       "data.components: must be an integer in [1, %d] with components x d "
                       "at most %ld, got %d",
                       CONFIG_MAX_COMPONENTS, CONFIG_MAX_CELLS, dc->components);
    if ((dc->target == TARGET_TEACHER_MLP || dc->target == TARGET_TEACHER_RESNET) &&
        (dc->teacher_width < 1 || !cells_ok(dc->teacher_width, dc->d)))
        return err_set(err, errlen, -EINVAL,
                       "data.teacher_width: must be an integer >= 1 with teacher_width x d "
                       "at most %ld, got %d",
                       CONFIG_MAX_CELLS, dc->teacher_width);
    if (dc->target == TARGET_PARITY && (dc->parity_k < 1 || dc->parity_k > dc->d))
        return err_set(err, errlen, -EINVAL,
                       "data.parity_k: must be an integer in [1, d = %d], got %d", dc->d,
                       dc->parity_k);
    if (!(isfinite(dc->noise) && dc->noise >= 0))
        return err_set(err, errlen, -EINVAL, "data.noise: must be a number >= 0, got %g",
                       dc->noise);
    if (!(dc->flip >= 0 && dc->flip <= 0.5))
        return err_set(err, errlen, -EINVAL, "data.flip: must be a number in [0, 0.5], got %g",
                       dc->flip);
    return 0;
}

/* ---- the generating distribution ------------------------------------- */

static size_t param_count(const data_gen *g)
{
    size_t d = (size_t)g->d, k = (size_t)g->k, n = 0;
    if (g->dist == DIST_GAUSSIAN)
        n += d;
    if (g->dist == DIST_MIXTURE)
        n += (size_t)g->components * d;
    switch (g->target) {
    case TARGET_LINEAR: case TARGET_SINE: n += d; break;
    case TARGET_QUADRATIC: n += 2 * d; break;
    case TARGET_TEACHER_MLP: n += k * d + 2 * k; break;
    case TARGET_TEACHER_RESNET: n += k * d + 2 * k + d; break;
    case TARGET_PARITY: break;
    }
    return n;
}

/* 0, or the poller's code when the run is to stop (x is then partial). */
static int fill_normal(rng *r, double *x, size_t n, double std, poller *p)
{
    for (size_t i0 = 0; i0 < n; i0 += FILL_BLOCK) {
        size_t end = n - i0 < FILL_BLOCK ? n : i0 + FILL_BLOCK;
        for (size_t i = i0; i < end; i++)
            x[i] = std * rng_normal(r);
        int rc = poller_tick(p, end - i0);
        if (rc)
            return rc;
    }
    return 0;
}

/* Carves the arrays out of g->block, in the order they are drawn. */
static void layout(data_gen *g)
{
    double *p = g->block;
    size_t d = (size_t)g->d, k = (size_t)g->k;
    if (g->dist == DIST_GAUSSIAN)
        g->scale = p, p += d;
    if (g->dist == DIST_MIXTURE)
        g->means = p, p += (size_t)g->components * d;
    switch (g->target) {
    case TARGET_LINEAR: case TARGET_SINE: g->u = p; break;
    case TARGET_QUADRATIC: g->u = p, g->b = p + d; break;
    case TARGET_TEACHER_MLP: g->U = p, g->c = p + k * d, g->a = p + k * d + k; break;
    case TARGET_TEACHER_RESNET:
        g->U = p, g->c = p + k * d, g->a = p + k * d + k, g->u = p + k * d + 2 * k;
        break;
    case TARGET_PARITY: break;
    }
}

/* docs/theory.md §2 targets; the draw order is part of the definition (data.c
 * header): changing it changes every run's teacher. */
static int draw_teacher(data_gen *g, uint64_t seed, poller *p)
{
    rng r;
    rng_init(&r, seed, RNG_TEACHER);
    size_t d = (size_t)g->d, k = (size_t)g->k;
    double sd = sqrt(1.0 / (double)d), sk = sqrt(1.0 / (double)k);
    int rc = 0;
    switch (g->target) {
    case TARGET_LINEAR: case TARGET_SINE:
        rc = fill_normal(&r, g->u, d, sd, p);
        break;
    case TARGET_QUADRATIC:
        if ((rc = fill_normal(&r, g->u, d, sd, p)) ||
            (rc = fill_normal(&r, g->b, d, sd, p)))
            break;
        g->bb = 0;
        for (size_t j = 0; j < d; j++)
            g->bb += g->b[j] * g->b[j];
        break;
    case TARGET_TEACHER_MLP:
        if (!(rc = fill_normal(&r, g->U, k * d, sd, p)) &&
            !(rc = fill_normal(&r, g->c, k, 0.1, p)))
            rc = fill_normal(&r, g->a, k, sk, p);
        break;
    case TARGET_TEACHER_RESNET:
        if ((rc = fill_normal(&r, g->U, k * d, sd, p)) ||
            (rc = fill_normal(&r, g->c, k, 0.1, p)) ||
            (rc = fill_normal(&r, g->u, d, sd, p))) /* w */
            break;
        /* V (d x k, row-major) is only needed through a = V^T w. */
        memset(g->a, 0, k * sizeof *g->a);
        for (size_t i = 0; i < d && !rc; i++) {
            for (size_t j = 0; j < k; j++)
                g->a[j] += sk * rng_normal(&r) * g->u[i];
            rc = poller_tick(p, k);
        }
        break;
    case TARGET_PARITY:
        break;
    }
    return rc;
}

/* Covariance eigenvalues cond^(-j/(d-1)): geometric from 1 to 1/cond. */
static void set_scales(data_gen *g, double cond)
{
    for (int j = 0; j < g->d; j++)
        g->scale[j] = g->d == 1 ? 1.0 : pow(cond, -0.5 * j / (double)(g->d - 1));
}

static int draw_means(data_gen *g, uint64_t seed, poller *p)
{
    rng r;
    rng_init(&r, seed, RNG_TEACHER_MEANS);
    return fill_normal(&r, g->means, (size_t)g->components * (size_t)g->d, 1.0, p);
}

static int gen_create(const run_config *cfg, data_gen **out, poller *p, char *err,
                      size_t errlen)
{
    const data_config *dc = &cfg->data;
    *out = NULL;
    if (dc->source != DATA_SYNTHETIC)
        return err_set(err, errlen, -EINVAL,
                       "data.source: %s data have no generating distribution (stream mode "
                       "needs synthetic data)",
                       config_source_name(dc->source));
    int rc = check_synthetic(dc, err, errlen);
    if (rc)
        return rc;
    data_gen *g = calloc(1, sizeof *g);
    if (!g)
        return err_set(err, errlen, -ENOMEM, "data: out of memory for the generator");
    *g = (data_gen){
        .dist = dc->dist, .target = dc->target, .d = dc->d,
        .dim = dc->d + (dc->intercept ? 1 : 0), .intercept = dc->intercept,
        .classification = config_is_classification(cfg->loss), .noise = dc->noise,
        .flip = dc->flip, .nu = dc->nu, .k = dc->teacher_width,
        .parity_k = dc->parity_k, .components = dc->components,
    };
    size_t count = param_count(g);
    if (count > 0) {
        g->block = malloc(count * sizeof *g->block);
        if (!g->block) {
            free(g);
            return err_set(err, errlen, -ENOMEM,
                           "data: out of memory for %zu teacher and input parameters", count);
        }
    }
    layout(g);
    if (g->dist == DIST_GAUSSIAN)
        set_scales(g, dc->cond);
    if ((g->dist == DIST_MIXTURE && (rc = draw_means(g, cfg->seed, p))) ||
        (rc = draw_teacher(g, cfg->seed, p))) {
        data_gen_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

data_gen *data_gen_new(const run_config *cfg, poller *p, char *err, size_t errlen)
{
    data_gen *g;
    gen_create(cfg, &g, p, err, errlen);
    return g;
}

void data_gen_free(data_gen *g)
{
    if (!g)
        return;
    free(g->block);
    free(g);
}

int data_gen_dim(const data_gen *g)
{
    return g->dim;
}

/* ---- drawing ----------------------------------------------------------- */

static double dot(const double *a, const double *b, int n)
{
    double s = 0;
    for (int j = 0; j < n; j++)
        s += a[j] * b[j];
    return s;
}

/* One input (the first d entries of x), from the distribution of the
 * data.c header. */
static void draw_input(const data_gen *g, rng *r, double *x)
{
    int d = g->d;
    switch (g->dist) {
    case DIST_GAUSSIAN:
        for (int j = 0; j < d; j++)
            x[j] = g->scale[j] * rng_normal(r);
        break;
    case DIST_UNIFORM:
        for (int j = 0; j < d; j++)
            x[j] = 2.0 * rng_uniform(r) - 1.0;
        break;
    case DIST_SPHERE: {
        double ss = 0;
        /* z = 0 has probability 0; redraw rather than divide by it */
        for (int tries = 0; ss == 0 && tries < DRAW_MAX_TRIES; tries++) {
            for (int j = 0; j < d; j++)
                x[j] = rng_normal(r);
            ss = dot(x, x, d);
        }
        if (ss == 0) { /* a point of the sphere all the same: the pole */
            x[0] = 1;
            ss = 1;
        }
        double f = sqrt((double)d / ss);
        for (int j = 0; j < d; j++)
            x[j] *= f;
        break;
    }
    case DIST_RADEMACHER:
        for (int j = 0; j < d; j++)
            x[j] = rng_sign(r);
        break;
    case DIST_STUDENT_T: {
        for (int j = 0; j < d; j++)
            x[j] = rng_normal(r);
        double chi2 = 0;
        /* 0 only by underflow, for nu below about 0.02 (rng.h) */
        for (int tries = 0; chi2 == 0 && tries < DRAW_MAX_TRIES; tries++)
            chi2 = 2.0 * rng_gamma(r, 0.5 * g->nu);
        if (chi2 == 0)
            chi2 = DBL_MIN; /* the smallest normal double: x is huge, as it would be */
        double f = sqrt(g->nu / chi2);
        for (int j = 0; j < d; j++)
            x[j] *= f;
        break;
    }
    case DIST_MIXTURE: {
        const double *mu = g->means + (size_t)rng_below(r, (uint64_t)g->components) * d;
        for (int j = 0; j < d; j++)
            x[j] = mu[j] + rng_normal(r);
        break;
    }
    }
}

static double relu_layer(const data_gen *g, const double *x)
{
    double s = 0;
    for (int i = 0; i < g->k; i++) {
        double pre = g->c[i] + dot(g->U + (size_t)i * g->d, x, g->d);
        s += g->a[i] * (pre > 0 ? pre : 0);
    }
    return s;
}

/* sign(x_0 * ... * x_{k-1}) with sign(0) = +1, without forming the product
 * (which can underflow to 0 for many small coordinates). */
static double parity(const double *x, int k)
{
    int negative = 0;
    for (int j = 0; j < k; j++) {
        if (x[j] == 0)
            return 1.0;
        negative ^= x[j] < 0;
    }
    return negative ? -1.0 : 1.0;
}

static double target_value(const data_gen *g, const double *x)
{
    switch (g->target) {
    case TARGET_LINEAR:
        return dot(g->u, x, g->d);
    case TARGET_TEACHER_MLP:
        return relu_layer(g, x);
    case TARGET_TEACHER_RESNET:
        return dot(g->u, x, g->d) + relu_layer(g, x);
    case TARGET_QUADRATIC: {
        double bx = dot(g->b, x, g->d);
        return dot(g->u, x, g->d) + (bx * bx - g->bb) * M_SQRT1_2;
    }
    case TARGET_PARITY:
        return parity(x, g->parity_k);
    case TARGET_SINE:
        return M_SQRT2 * sin(2.0 * dot(g->u, x, g->d));
    }
    return 0;
}

double data_gen_target(const data_gen *g, const double *x)
{
    return target_value(g, x);
}

/* Exactly one draw per sample whatever noise and flip are (data.c header). */
static double draw_label(const data_gen *g, rng *r, double t)
{
    if (!g->classification)
        return t + g->noise * rng_normal(r);
    double y = t >= 0 ? 1.0 : -1.0;
    return rng_uniform(r) < g->flip ? -y : y;
}

static void draw_sample(const data_gen *g, rng *r, double *x, double *y)
{
    draw_input(g, r, x);
    if (g->intercept)
        x[g->d] = 1.0;
    *y = draw_label(g, r, target_value(g, x));
}

void data_gen_draw(const data_gen *g, rng *r, int m, double *X, double *y)
{
    for (int i = 0; i < m; i++)
        draw_sample(g, r, X + (size_t)i * (size_t)g->dim, y + i);
}

/* Work of one sample for the poller: its draws, and the teacher's k x d
 * products where there is one. */
static uint64_t sample_units(const data_gen *g)
{
    bool teacher = g->target == TARGET_TEACHER_MLP || g->target == TARGET_TEACHER_RESNET;
    return (uint64_t)g->dim * (teacher ? (uint64_t)g->k + 1 : 2);
}

/* data_gen_draw for a data set: the same samples, with the poller ticked
 * after each (a sample is at most a teacher's 1.2e8 multiply-adds). */
static int draw_rows(const data_gen *g, rng *r, int m, double *X, double *y, poller *p)
{
    uint64_t units = sample_units(g);
    for (int i = 0; i < m; i++) {
        draw_sample(g, r, X + (size_t)i * (size_t)g->dim, y + i);
        int rc = poller_tick(p, units);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- data sets ----------------------------------------------------------- */

/* Allocates the arrays of an n x d training and n_test x d test set, after
 * the CONFIG_MAX_CELLS check. */
static int dataset_alloc(dataset *ds, int n, int n_test, int d, char *err, size_t errlen)
{
    if (!cells_ok((double)n + n_test, d))
        return err_set(err, errlen, -EINVAL,
                       "data: (n + n_test) x d = (%d + %d) x %d cells is more than the "
                       "limit of %ld",
                       n, n_test, d, CONFIG_MAX_CELLS);
    ds->n = n;
    ds->d = d;
    ds->n_test = n_test;
    ds->X = malloc((size_t)n * (size_t)d * sizeof *ds->X);
    ds->y = malloc((size_t)n * sizeof *ds->y);
    if (n_test > 0) {
        ds->X_test = malloc((size_t)n_test * (size_t)d * sizeof *ds->X_test);
        ds->y_test = malloc((size_t)n_test * sizeof *ds->y_test);
    }
    if (!ds->X || !ds->y || (n_test > 0 && (!ds->X_test || !ds->y_test)))
        return err_set(err, errlen, -ENOMEM,
                       "data: out of memory for %d training and %d test samples of %d "
                       "features",
                       n, n_test, d);
    return 0;
}

static int load_synthetic(const run_config *cfg, dataset *ds, poller *p, char *err,
                          size_t errlen)
{
    const data_config *dc = &cfg->data;
    if (dc->n < 1)
        return err_set(err, errlen, -EINVAL, "data.n: must be an integer >= 1, got %d", dc->n);
    if (dc->n_test < 0)
        return err_set(err, errlen, -EINVAL, "data.n_test: must be an integer >= 0, got %d",
                       dc->n_test);
    data_gen *g;
    int rc = gen_create(cfg, &g, p, err, errlen);
    if (rc)
        return rc;
    rc = dataset_alloc(ds, dc->n, dc->n_test, g->dim, err, errlen);
    if (rc)
        goto out;
    /* The same code as stream mode, so both see one distribution. */
    rng r;
    rng_init(&r, cfg->seed, RNG_TRAIN);
    if ((rc = draw_rows(g, &r, ds->n, ds->X, ds->y, p)))
        goto out;
    rng_init(&r, cfg->seed, RNG_TEST);
    rc = draw_rows(g, &r, ds->n_test, ds->X_test, ds->y_test, p);
out:
    data_gen_free(g);
    return rc;
}

/* User data, whatever its source: row i has `stride` values at
 * feat + i * stride, of which column `skip` (-1: none) is not a feature, and
 * its label at y[i * ystride]. */
typedef struct user_rows {
    const double *feat;
    int stride, skip;
    const double *y;
    int ystride;
} user_rows;

static void copy_row(const user_rows *u, int i, double *dst, bool intercept)
{
    const double *src = u->feat + (size_t)i * (size_t)u->stride;
    int k = 0;
    for (int j = 0; j < u->stride; j++)
        if (j != u->skip)
            dst[k++] = src[j];
    if (intercept)
        dst[k] = 1.0;
}

static int copy_rows(const user_rows *u, const int *idx, int m, double *X, double *y,
                     int d, bool intercept, poller *p)
{
    for (int i = 0; i < m; i++) {
        int src = idx ? idx[i] : i;
        copy_row(u, src, X + (size_t)i * (size_t)d, intercept);
        y[i] = u->y[(size_t)src * (size_t)u->ystride];
        int rc = poller_tick(p, (uint64_t)d);
        if (rc)
            return rc;
    }
    return 0;
}

/* Shuffles rows with Fisher–Yates on RNG_SPLIT and makes the last
 * round(test_fraction * rows) of them the test set (docs/theory.md §2). */
static int split_rows(const run_config *cfg, const user_rows *u, int rows, int d,
                      dataset *ds, poller *p, char *err, size_t errlen)
{
    double tf = cfg->data.test_fraction;
    if (!(tf >= 0 && tf < 1))
        return err_set(err, errlen, -EINVAL,
                       "data.test_fraction: must be a number in [0, 1), got %g", tf);
    int n_test = (int)lround(tf * rows);
    if (rows - n_test < 1)
        return err_set(err, errlen, -EINVAL,
                       "data.test_fraction: %g of %d rows leaves no training rows", tf, rows);
    int rc = dataset_alloc(ds, rows - n_test, n_test, d, err, errlen);
    if (rc)
        return rc;
    int *perm = malloc((size_t)rows * sizeof *perm);
    if (!perm)
        return err_set(err, errlen, -ENOMEM, "data: out of memory shuffling %d rows", rows);
    for (int i = 0; i < rows; i++)
        perm[i] = i;
    rng r;
    rng_init(&r, cfg->seed, RNG_SPLIT);
    for (int i = rows - 1; i > 0 && !rc; i--) {
        int j = (int)rng_below(&r, (uint64_t)i + 1);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        rc = poller_tick(p, 1);
    }
    bool ic = cfg->data.intercept;
    if (!rc)
        rc = copy_rows(u, perm, ds->n, ds->X, ds->y, d, ic, p);
    if (!rc)
        rc = copy_rows(u, perm + ds->n, ds->n_test, ds->X_test, ds->y_test, d, ic, p);
    free(perm);
    return rc;
}

static bool is_label(double y)
{
    return y == 1.0 || y == -1.0;
}

/* What a run needs of its table: the target column, a feature beside
 * it, rows, and labels in {-1, +1} for a classification loss. */
static int csv_table_check(const run_config *cfg, const csv_table *t,
                           poller *p, char *err, size_t errlen)
{
    const data_config *dc = &cfg->data;
    const char *path = dc->path, *tcol = dc->target_column ? dc->target_column : "y";
    int tc = csv_column(t, tcol);
    int d = t->cols - 1 + (dc->intercept ? 1 : 0);
    if (tc < 0)
        return err_set(err, errlen, -EINVAL,
                       "data.target_column: %s has no column \"%s\"", path, tcol);
    if (d < 1)
        return err_set(err, errlen, -EINVAL,
                       "data.path: %s has no feature column besides \"%s\"", path, tcol);
    if (t->rows == 0)
        return err_set(err, errlen, -EINVAL,
                       "data.path: %s has a header but no data rows", path);
    bool cls = config_is_classification(cfg->loss);
    for (int i = 0; cls && i < t->rows; i++) {
        double y = t->cells[(size_t)i * (size_t)t->cols + (size_t)tc];
        int rc = poller_tick(p, 1);
        if (rc)
            return rc;
        if (!is_label(y))
            return err_set(err, errlen, -EINVAL,
                           "data.path: %s line %ld: column \"%s\": label %g is not "
                           "-1 or +1 (loss %s needs labels in {-1, +1})",
                           path, t->lines[i], tcol, y, config_loss_name(cfg->loss));
    }
    return 0;
}

static int load_csv(const run_config *cfg, dataset *ds, poller *p, char *err, size_t errlen)
{
    const data_config *dc = &cfg->data;
    const char *path = dc->path, *tcol = dc->target_column ? dc->target_column : "y";
    if (!path || !*path)
        return err_set(err, errlen, -EINVAL, "data.path: required for source csv");
    csv_table t;
    int rc = csv_read(path, CONFIG_MAX_D + 1, CONFIG_MAX_CELLS, &t, p, err, errlen);
    if (rc)
        return poller_code(p) ? rc : err_prefix(err, errlen, rc, "data.path");
    rc = csv_table_check(cfg, &t, p, err, errlen);
    if (rc == 0) {
        int tc = csv_column(&t, tcol);
        int d = t.cols - 1 + (dc->intercept ? 1 : 0);
        user_rows u = {.feat = t.cells, .stride = t.cols, .skip = tc,
                       .y = t.cells + tc, .ystride = t.cols};
        rc = split_rows(cfg, &u, t.rows, d, ds, p, err, errlen);
    }
    csv_free(&t);
    return rc;
}

int data_check(const run_config *cfg, long max_rows, char *err, size_t errlen)
{
    const char *path = cfg->data.path;
    if (cfg->data.source != DATA_CSV)
        return 0;
    if (!path || !*path)
        return err_set(err, errlen, -EINVAL, "data.path: required for source csv");
    csv_table t;
    int rc = csv_read_head(path, CONFIG_MAX_D + 1, max_rows, &t, err, errlen);
    if (rc)
        return err_prefix(err, errlen, rc, "data.path");
    rc = csv_table_check(cfg, &t, NULL, err, errlen);
    csv_free(&t);
    return rc;
}

/* Inline arrays: finite values, and labels in {-1, +1} for classification;
 * `key` names the array ("data.x" or "data.x_test"). */
static int check_inline(const run_config *cfg, const char *xkey, const char *ykey,
                        const double *x, const double *y, int n, int d, char *err,
                        size_t errlen)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
            if (!isfinite(x[(size_t)i * (size_t)d + (size_t)j]))
                return err_set(err, errlen, -EINVAL, "%s[%d][%d]: is not a finite number",
                               xkey, i, j);
    bool cls = config_is_classification(cfg->loss);
    for (int i = 0; i < n; i++) {
        if (!isfinite(y[i]))
            return err_set(err, errlen, -EINVAL, "%s[%d]: is not a finite number", ykey, i);
        if (cls && !is_label(y[i]))
            return err_set(err, errlen, -EINVAL,
                           "%s[%d]: label %g is not -1 or +1 (loss %s needs labels in "
                           "{-1, +1})",
                           ykey, i, y[i], config_loss_name(cfg->loss));
    }
    return 0;
}

static int load_inline(const run_config *cfg, dataset *ds, poller *p, char *err,
                       size_t errlen)
{
    const data_config *dc = &cfg->data;
    int n = dc->inline_n, n_test = dc->inline_n_test, f = dc->inline_d;
    if (!dc->x || !dc->y || n < 1 || f < 1)
        return err_set(err, errlen, -EINVAL,
                       "data.x: source inline needs x (n x d, n >= 1, d >= 1) and y");
    bool has_test = dc->x_test && n_test > 0;
    if (has_test && !dc->y_test)
        return err_set(err, errlen, -EINVAL, "data.y_test: required with x_test");
    int rc = check_inline(cfg, "data.x", "data.y", dc->x, dc->y, n, f, err, errlen);
    if (rc == 0 && has_test)
        rc = check_inline(cfg, "data.x_test", "data.y_test", dc->x_test, dc->y_test, n_test,
                          f, err, errlen);
    if (rc)
        return rc;
    int d = f + (dc->intercept ? 1 : 0);
    user_rows u = {.feat = dc->x, .stride = f, .skip = -1, .y = dc->y, .ystride = 1};
    if (!has_test)
        return split_rows(cfg, &u, n, d, ds, p, err, errlen);
    rc = dataset_alloc(ds, n, n_test, d, err, errlen);
    if (rc)
        return rc;
    user_rows ut = {.feat = dc->x_test, .stride = f, .skip = -1, .y = dc->y_test,
                    .ystride = 1};
    rc = copy_rows(&u, NULL, n, ds->X, ds->y, d, dc->intercept, p);
    return rc ? rc : copy_rows(&ut, NULL, n_test, ds->X_test, ds->y_test, d, dc->intercept, p);
}

int data_load(const run_config *cfg, dataset *out, poller *p, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc;
    switch (cfg->data.source) {
    case DATA_SYNTHETIC: rc = load_synthetic(cfg, out, p, err, errlen); break;
    case DATA_CSV: rc = load_csv(cfg, out, p, err, errlen); break;
    case DATA_INLINE: rc = load_inline(cfg, out, p, err, errlen); break;
    default:
        rc = err_set(err, errlen, -EINVAL, "data.source: unknown source %d",
                     (int)cfg->data.source);
    }
    out->classification = config_is_classification(cfg->loss);
    if (rc == 0)
        rc = data_standardize(out, cfg->data.standardize,
                              cfg->data.intercept, err, errlen);
    if (rc)
        data_free(out);
    return rc;
}

void data_free(dataset *ds)
{
    if (!ds)
        return;
    free(ds->X);
    free(ds->y);
    free(ds->X_test);
    free(ds->y_test);
    memset(ds, 0, sizeof *ds);
}

/* ---- sizes before loading (data.h) ----------------------------------- */

void data_shape_csv(const run_config *cfg, long rows, int cols,
                    size_t header_bytes, data_shape *out)
{
    const data_config *dc = &cfg->data;
    if (rows > CONFIG_MAX_CELLS)
        rows = CONFIG_MAX_CELLS;   /* csv_read stops there */
    double tf = dc->test_fraction >= 0 && dc->test_fraction < 1 ? dc->test_fraction : 0;
    *out = (data_shape){.file_rows = rows, .file_cols = cols,
                        .header_bytes = header_bytes};
    out->n_test = (int)lround(tf * (double)rows);
    out->n = (int)rows - out->n_test;
    out->d = cols - 1 + (dc->intercept ? 1 : 0);
}

static int csv_shape_of(const run_config *cfg, data_shape *out, char *err,
                        size_t errlen)
{
    const data_config *dc = &cfg->data;
    if (!dc->path || !*dc->path)
        return err_set(err, errlen, -EINVAL, "data.path: required for source csv");
    csv_shape cs;
    int rc = csv_measure(dc->path, &cs, err, errlen);
    if (rc)
        return err_prefix(err, errlen, rc, "data.path");
    data_shape_csv(cfg, cs.rows, cs.cols, cs.header_bytes, out);
    return 0;
}

int data_shape_of(const run_config *cfg, data_shape *out, char *err,
                  size_t errlen)
{
    const data_config *dc = &cfg->data;
    memset(out, 0, sizeof *out);
    int ic = dc->intercept ? 1 : 0, rc = 0;
    switch (dc->source) {
    case DATA_SYNTHETIC:
        *out = (data_shape){.n = dc->n, .n_test = dc->n_test, .d = dc->d + ic};
        break;
    case DATA_INLINE: {
        bool has_test = dc->x_test && dc->inline_n_test > 0;
        double tf = dc->test_fraction >= 0 && dc->test_fraction < 1 ? dc->test_fraction : 0;
        int nt = has_test ? dc->inline_n_test : (int)lround(tf * dc->inline_n);
        *out = (data_shape){.n = has_test ? dc->inline_n : dc->inline_n - nt,
                            .n_test = nt, .d = dc->inline_d + ic};
        break;
    }
    case DATA_CSV:
        rc = csv_shape_of(cfg, out, err, errlen);
        break;
    }
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

size_t data_gen_bytes(const run_config *cfg)
{
    const data_config *dc = &cfg->data;
    data_gen g = {.dist = dc->dist, .target = dc->target, .d = dc->d,
                  .k = dc->teacher_width, .components = dc->components};
    if (g.d < 0 || g.k < 0 || g.components < 0)
        return sizeof g;
    return sizeof g + sizeof(double) * param_count(&g);
}

size_t data_load_bytes(const run_config *cfg, const data_shape *sh, size_t *kept)
{
    size_t n = (size_t)(sh->n > 0 ? sh->n : 0), nt = (size_t)(sh->n_test > 0 ? sh->n_test : 0);
    size_t d = (size_t)(sh->d > 0 ? sh->d : 0);
    *kept = sizeof(double) * (n + nt) * (d + 1);
    switch (cfg->data.source) {
    case DATA_SYNTHETIC:
        return *kept + data_gen_bytes(cfg);
    case DATA_INLINE:   /* split_rows' permutation, when it splits */
        return *kept + sizeof(int) * (n + nt);
    case DATA_CSV: {
        csv_shape cs = {sh->file_rows, sh->file_cols, sh->header_bytes};
        size_t table, reading = csv_read_bytes(&cs, CONFIG_MAX_CELLS, &table);
        size_t split = table + *kept + sizeof(int) * (size_t)sh->file_rows;
        return reading > split ? reading : split;
    }
    }
    return *kept;
}
