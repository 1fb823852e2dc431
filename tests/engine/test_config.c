/* Run configuration (config.h): defaults, the canonical form, round trips
 * on random configurations, and one test per invalid configuration, each
 * asserting the exact sentence (and so the key path) the user sees. */
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

#include <cjson/cJSON.h>

#include "config.h"
#include "consts.h"
#include "err.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

static bool same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0; /* bit for bit, -0 != 0 */
}

static bool same_doubles(const double *a, const double *b, long n)
{
    if (!a || !b)
        return a == b;
    return memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

static bool same_str(const char *a, const char *b)
{
    return (!a || !b) ? a == b : strcmp(a, b) == 0;
}

/* Every field of two configurations, arrays and strings by content. */
static void assert_same_config(const run_config *a, const run_config *b)
{
    const data_config *p = &a->data, *q = &b->data;
    assert_true(a->seed == b->seed);
    assert_int_equal(p->source, q->source);
    assert_int_equal(p->dist, q->dist);
    assert_int_equal(p->d, q->d);
    assert_int_equal(p->n, q->n);
    assert_int_equal(p->n_test, q->n_test);
    assert_true(same_double(p->cond, q->cond));
    assert_true(same_double(p->nu, q->nu));
    assert_int_equal(p->components, q->components);
    assert_int_equal(p->target, q->target);
    assert_int_equal(p->teacher_width, q->teacher_width);
    assert_int_equal(p->parity_k, q->parity_k);
    assert_true(same_double(p->noise, q->noise));
    assert_true(same_double(p->flip, q->flip));
    assert_int_equal(p->intercept, q->intercept);
    assert_int_equal(p->stream, q->stream);
    assert_true(same_str(p->path, q->path));
    assert_true(same_str(p->target_column, q->target_column));
    assert_true(same_double(p->test_fraction, q->test_fraction));
    assert_int_equal(p->inline_n, q->inline_n);
    assert_int_equal(p->inline_n_test, q->inline_n_test);
    assert_int_equal(p->inline_d, q->inline_d);
    assert_true(same_doubles(p->x, q->x, (long)p->inline_n * p->inline_d));
    assert_true(same_doubles(p->y, q->y, p->inline_n));
    assert_true(same_doubles(p->x_test, q->x_test, (long)p->inline_n_test * p->inline_d));
    assert_true(same_doubles(p->y_test, q->y_test, p->inline_n_test));

    const model_config *m = &a->model, *n = &b->model;
    assert_int_equal(m->arch, n->arch);
    assert_int_equal(m->blocks, n->blocks);
    assert_int_equal(m->unit_depth, n->unit_depth);
    assert_int_equal(m->width, n->width);
    assert_int_equal(m->activation, n->activation);
    assert_int_equal(m->init, n->init);
    assert_true(same_double(m->gain, n->gain));
    assert_true(same_double(m->init_scale, n->init_scale));
    assert_true(m->init_seed == n->init_seed);

    assert_int_equal(a->loss, b->loss);
    const train_config *s = &a->train, *t = &b->train;
    assert_int_equal(s->optimizer, t->optimizer);
    assert_true(same_double(s->lr, t->lr));
    assert_true(same_double(s->theta_lr, t->theta_lr));
    assert_int_equal(s->schedule, t->schedule);
    assert_true(same_double(s->gamma, t->gamma));
    assert_int_equal(s->step_every, t->step_every);
    assert_int_equal(s->steps, t->steps);
    assert_int_equal(s->batch, t->batch);
    assert_true(same_double(s->tol, t->tol));
    assert_int_equal(s->curve_points, t->curve_points);
    assert_int_equal(s->precision, t->precision);
    assert_int_equal(a->analysis.hessian, b->analysis.hessian);
    assert_int_equal(a->analysis.lanczos_iters, b->analysis.lanczos_iters);
    assert_int_equal(a->analysis.lanczos_memory_mib, b->analysis.lanczos_memory_mib);
    assert_int_equal(a->analysis.trace_probes, b->analysis.trace_probes);
    assert_int_equal(a->analysis.slq_probes, b->analysis.slq_probes);
    assert_int_equal(a->analysis.slq_iters, b->analysis.slq_iters);
    assert_int_equal(a->analysis.slq_bins, b->analysis.slq_bins);
    assert_int_equal(a->analysis.exact_max_params, b->analysis.exact_max_params);
    assert_true(same_double(a->analysis.eig_tol, b->analysis.eig_tol));
    assert_int_equal(a->analysis.path_points, b->analysis.path_points);
    assert_int_equal(a->analysis.save_params, b->analysis.save_params);
    assert_int_equal(a->analysis.slice_points, b->analysis.slice_points);
    assert_true(a->analysis.slice_radius == b->analysis.slice_radius);
    assert_int_equal(a->analysis.slice_max_params, b->analysis.slice_max_params);
    assert_int_equal(a->analysis.seed_pairs, b->analysis.seed_pairs);
}

/* Parses text that must be valid. */
static void parse_ok(const char *text, run_config *c)
{
    char err[ERR_LEN] = "";
    int rc = config_parse_str(text, c, err, sizeof err);
    if (rc != 0)
        fail_msg("config rejected: %s\n  %s", err, text);
}

/* ------------------------------------------------------------------ */
/* Invalid configurations: one test each, exact sentence.               */
/* ------------------------------------------------------------------ */

struct bad_case {
    const char *json;
    const char *message;
};

static const struct bad_case bad_cases[] = {
    /* unknown keys, with and without a suggestion */
    {"{\"lr\": 1}", "lr: unknown key; did you mean train.lr?"},
    {"{\"modle\": {}}", "modle: unknown key; did you mean model?"},
    {"{\"model\": {\"widht\": 8}}",
     "model.widht: unknown key; did you mean model.width?"},
    {"{\"train\": {\"step\": 8}}",
     "train.step: unknown key; did you mean train.steps?"},
    {"{\"data\": {\"foo\": 1}}",
     "data.foo: unknown key; expected one of source, dist, d, n, n_test, "
     "cond, nu, components, target, teacher_width, parity_k, noise, flip, "
     "intercept, stream, standardize, path, target_column, test_fraction, "
     "x, y, x_test, y_test"},
    {"{\"data\": {\"standardize\": \"features_and_target\"}, "
     "\"loss\": \"logistic\"}",
     "data.standardize: \"features_and_target\" needs a regression loss "
     "(squared, logcosh), not \"logistic\": labels must stay in {-1, +1}; "
     "use \"features\""},
    {"{\"data\": {\"standardize\": \"features\", \"stream\": true}, "
     "\"train\": {\"optimizer\": \"sgd\"}}",
     "data.standardize: must be \"none\" with data.stream true (a stream "
     "has no training split to take the statistics from)"},
    {"{\"data\": {\"standardize\": \"zscore\"}}",
     "data.standardize: unknown value \"zscore\"; expected one of none, "
     "features, features_and_target"},
    {"{\"analysis\": {\"hessian\": true, \"hessian\": false}}",
     "analysis.hessian: duplicate key"},
    /* whole-document and section shapes */
    {"[1]", "config: must be an object, got an array"},
    {"{\"model\": 5}", "model: must be an object, got 5"},
    {"{\"data\": [1]}", "data: must be an object, got an array"},
    {"{\"model\": {\"width\": 8} ", "config: invalid JSON at line 1, column 24"},
    {"{\n  \"seed\": 1,\n  \"loss\": squared\n}",
     "config: invalid JSON at line 3, column 11"},
    /* enums */
    {"{\"loss\": \"hinge\"}",
     "loss: unknown value \"hinge\"; expected one of squared, logistic, "
     "logcosh, softplus_hinge"},
    {"{\"loss\": 3}",
     "loss: must be one of squared, logistic, logcosh, softplus_hinge, got 3"},
    {"{\"data\": {\"source\": \"parquet\"}}",
     "data.source: unknown value \"parquet\"; expected one of synthetic, csv, "
     "inline"},
    {"{\"data\": {\"dist\": \"Gaussian\"}}",
     "data.dist: unknown value \"Gaussian\"; expected one of gaussian, "
     "uniform, sphere, rademacher, student_t, mixture"},
    {"{\"data\": {\"target\": \"cubic\"}}",
     "data.target: unknown value \"cubic\"; expected one of linear, "
     "teacher_mlp, teacher_resnet, quadratic, parity, sine"},
    {"{\"model\": {\"arch\": null}}",
     "model.arch: must be one of linear, resnet, plain, decoupled, "
     "deep_resnet, got null"},
    {"{\"model\": {\"activation\": \"sigmoid\"}}",
     "model.activation: unknown value \"sigmoid\"; expected one of relu, "
     "tanh, softplus, leaky_relu, gelu"},
    {"{\"model\": {\"init\": \"orthogonal\"}}",
     "model.init: unknown value \"orthogonal\"; expected one of he, xavier"},
    {"{\"train\": {\"optimizer\": \"adam\"}}",
     "train.optimizer: unknown value \"adam\"; expected one of gd, sgd"},
    {"{\"train\": {\"schedule\": \"cosine\"}}",
     "train.schedule: unknown value \"cosine\"; expected one of constant, "
     "inv_sqrt, step"},
    {"{\"train\": {\"precision\": \"float16\"}}",
     "train.precision: unknown value \"float16\"; expected one of float64, "
     "float32"},
    {"{\"train\": {\"precision\": 32}}",
     "train.precision: must be one of float64, float32, got 32"},
    {"{\"precision\": \"float32\"}",
     "precision: unknown key; did you mean train.precision?"},
    /* integers: range, fractions, other types */
    {"{\"model\": {\"width\": 0}}",
     "model.width: must be an integer in [1, 4096], got 0"},
    {"{\"model\": {\"width\": 4097}}",
     "model.width: must be an integer in [1, 4096], got 4097"},
    {"{\"model\": {\"width\": 5.5}}",
     "model.width: must be an integer in [1, 4096], got 5.5"},
    {"{\"model\": {\"width\": true}}",
     "model.width: must be an integer in [1, 4096], got true"},
    {"{\"model\": {\"width\": \"8\"}}",
     "model.width: must be an integer in [1, 4096], got \"8\""},
    {"{\"model\": {\"unit_depth\": 257}}",
     "model.unit_depth: must be an integer in [1, 256], got 257"},
    {"{\"model\": {\"arch\": \"deep_resnet\", \"blocks\": 257}}",
     "model.blocks: must be an integer in [1, 256], got 257"},
    {"{\"data\": {\"d\": 0}}", "data.d: must be an integer in [1, 100000], got 0"},
    {"{\"data\": {\"d\": 100001}}",
     "data.d: must be an integer in [1, 100000], got 100001"},
    {"{\"data\": {\"n\": 0}}", "data.n: must be an integer in [1, 120000000], got 0"},
    {"{\"data\": {\"n_test\": -1}}",
     "data.n_test: must be an integer in [0, 120000000], got -1"},
    {"{\"data\": {\"dist\": \"mixture\", \"components\": 1001}}",
     "data.components: must be an integer in [1, 1000], got 1001"},
    {"{\"train\": {\"steps\": 1000000001}}",
     "train.steps: must be an integer in [0, 1000000000], got 1000000001"},
    {"{\"train\": {\"steps\": -1}}",
     "train.steps: must be an integer in [0, 1000000000], got -1"},
    {"{\"train\": {\"step_every\": 1e12}}",
     "train.step_every: must be an integer in [0, 1000000000], got 1000000000000"},
    {"{\"train\": {\"batch\": 0}}",
     "train.batch: must be an integer in [1, 120000000], got 0"},
    {"{\"train\": {\"curve_points\": 100001}}",
     "train.curve_points: must be an integer in [0, 100000], got 100001"},
    {"{\"analysis\": {\"lanczos_iters\": 0}}",
     "analysis.lanczos_iters: must be an integer in [1, 1000], got 0"},
    {"{\"analysis\": {\"lanczos_iters\": 1001}}",
     "analysis.lanczos_iters: must be an integer in [1, 1000], got 1001"},
    {"{\"analysis\": {\"lanczos_memory_mib\": -1}}",
     "analysis.lanczos_memory_mib: must be an integer in [0, 1048576], got -1"},
    {"{\"analysis\": {\"lanczos_memory_mib\": 1048577}}",
     "analysis.lanczos_memory_mib: must be an integer in [0, 1048576], got 1048577"},
    {"{\"analysis\": {\"trace_probes\": 10001}}",
     "analysis.trace_probes: must be an integer in [0, 10000], got 10001"},
    {"{\"analysis\": {\"slq_probes\": -1}}",
     "analysis.slq_probes: must be an integer in [0, 1000], got -1"},
    {"{\"analysis\": {\"slq_iters\": 0}}",
     "analysis.slq_iters: must be an integer in [1, 1000], got 0"},
    {"{\"analysis\": {\"slq_bins\": 201}}",
     "analysis.slq_bins: must be an integer in [1, 200], got 201"},
    {"{\"analysis\": {\"exact_max_params\": 4001}}",
     "analysis.exact_max_params: must be an integer in [0, 4000], got 4001"},
    {"{\"analysis\": {\"eig_tol\": -1e-9}}",
     "analysis.eig_tol: must be a finite number >= 0, got -1e-09"},
    {"{\"analysis\": {\"path_points\": 102}}",
     "analysis.path_points: must be an integer in [0, 101], got 102"},
    {"{\"analysis\": {\"path_points\": 1}}",
     "analysis.path_points: must be 0 (no path) or at least 2 (the two ends), got 1"},
    {"{\"seed\": -1}", "seed: must be an integer in [0, 9007199254740992], got -1"},
    {"{\"seed\": 9007199254740994}",
     "seed: must be an integer in [0, 9007199254740992], got 9007199254740994"},
    {"{\"seed\": 1.5}", "seed: must be an integer in [0, 9007199254740992], got 1.5"},
    /* real numbers */
    {"{\"train\": {\"lr\": 0}}", "train.lr: must be a finite number > 0, got 0"},
    {"{\"train\": {\"lr\": -0.1}}", "train.lr: must be a finite number > 0, got -0.1"},
    {"{\"train\": {\"lr\": 1e999}}", "train.lr: must be a finite number > 0, got inf"},
    {"{\"train\": {\"lr\": \"0.1\"}}",
     "train.lr: must be a finite number > 0, got \"0.1\""},
    {"{\"train\": {\"theta_lr\": -1}}",
     "train.theta_lr: must be null or a finite number >= 0, got -1"},
    {"{\"train\": {\"gamma\": 1.5}}", "train.gamma: must be a number in (0, 1], got 1.5"},
    {"{\"train\": {\"gamma\": 0}}", "train.gamma: must be a number in (0, 1], got 0"},
    {"{\"train\": {\"tol\": -1e-9}}", "train.tol: must be a finite number >= 0, got -1e-09"},
    {"{\"model\": {\"gain\": 0}}", "model.gain: must be a finite number > 0, got 0"},
    {"{\"model\": {\"init_scale\": -0.01}}",
     "model.init_scale: must be a finite number >= 0, got -0.01"},
    {"{\"model\": {\"init_seed\": -1}}",
     "model.init_seed: must be null or an integer in [0, 9007199254740992], got -1"},
    {"{\"model\": {\"init_seed\": 9007199254740994}}",
     "model.init_seed: must be null or an integer in [0, 9007199254740992], "
     "got 9007199254740994"},
    {"{\"model\": {\"init_seed\": 2.5}}",
     "model.init_seed: must be null or an integer in [0, 9007199254740992], got 2.5"},
    {"{\"model\": {\"init_seed\": \"1\"}}",
     "model.init_seed: must be null or an integer in [0, 9007199254740992], got \"1\""},
    {"{\"analysis\": {\"seed_pairs\": 1}}",
     "analysis.seed_pairs: must be true or false, got 1"},
    {"{\"init_seed\": 1}", "init_seed: unknown key; did you mean model.init_seed?"},
    {"{\"data\": {\"cond\": 0.5}}", "data.cond: must be a finite number >= 1, got 0.5"},
    {"{\"data\": {\"dist\": \"student_t\", \"nu\": 0}}",
     "data.nu: must be a finite number >= 0.01, got 0"},
    {"{\"data\": {\"dist\": \"student_t\", \"nu\": 1e-300}}",
     "data.nu: must be a finite number >= 0.01, got 1e-300"},
    {"{\"data\": {\"dist\": \"student_t\", \"nu\": 0.00999}}",
     "data.nu: must be a finite number >= 0.01, got 0.00999"},
    {"{\"data\": {\"noise\": -1}}", "data.noise: must be a finite number >= 0, got -1"},
    {"{\"loss\": \"logistic\", \"data\": {\"flip\": 0.6}}",
     "data.flip: must be a number in [0, 0.5], got 0.6"},
    /* booleans */
    {"{\"data\": {\"stream\": 1}}", "data.stream: must be true or false, got 1"},
    {"{\"analysis\": {\"hessian\": \"yes\"}}",
     "analysis.hessian: must be true or false, got \"yes\""},
    /* keys that mean nothing for this configuration */
    {"{\"data\": {\"components\": 4}}",
     "data.components: only used with data.dist \"mixture\", not \"gaussian\""},
    {"{\"data\": {\"nu\": 4}}",
     "data.nu: only used with data.dist \"student_t\", not \"gaussian\""},
    {"{\"data\": {\"dist\": \"uniform\", \"cond\": 10}}",
     "data.cond: only used with data.dist \"gaussian\", not \"uniform\""},
    {"{\"data\": {\"parity_k\": 2}}",
     "data.parity_k: only used with data.target \"parity\", not \"teacher_mlp\""},
    {"{\"data\": {\"target\": \"linear\", \"teacher_width\": 4}}",
     "data.teacher_width: only used with data.target \"teacher_mlp\" or "
     "\"teacher_resnet\", not \"linear\""},
    {"{\"data\": {\"flip\": 0.1}}",
     "data.flip: only used with classification losses (logistic, "
     "softplus_hinge), not \"squared\"; regression targets take data.noise"},
    {"{\"loss\": \"softplus_hinge\", \"data\": {\"noise\": 0.1}}",
     "data.noise: only used with regression losses (squared, logcosh), not "
     "\"softplus_hinge\"; labels take data.flip"},
    {"{\"data\": {\"path\": \"a.csv\"}}",
     "data.path: only used with data.source \"csv\", not \"synthetic\""},
    {"{\"data\": {\"x\": [[1]]}}",
     "data.x: only used with data.source \"inline\", not \"synthetic\""},
    {"{\"data\": {\"test_fraction\": 0.3}}",
     "data.test_fraction: only used with data.source \"csv\" or \"inline\" "
     "(synthetic data has data.n_test)"},
    {"{\"data\": {\"source\": \"csv\", \"path\": \"a.csv\", \"dist\": \"gaussian\"}}",
     "data.dist: only used with data.source \"synthetic\", not \"csv\""},
    {"{\"data\": {\"source\": \"csv\", \"path\": \"a.csv\", \"y\": [1]}}",
     "data.y: only used with data.source \"inline\", not \"csv\""},
    {"{\"data\": {\"source\": \"inline\", \"x\": [[1]], \"y\": [1], \"d\": 3}}",
     "data.d: only used with data.source \"synthetic\", not \"inline\""},
    {"{\"data\": {\"source\": \"inline\", \"x\": [[1]], \"y\": [1], "
     "\"target_column\": \"y\"}}",
     "data.target_column: only used with data.source \"csv\", not \"inline\""},
    {"{\"data\": {\"source\": \"csv\", \"path\": \"a.csv\", \"stream\": true}, "
     "\"train\": {\"optimizer\": \"sgd\"}}",
     "data.stream: only used with data.source \"synthetic\", not \"csv\""},
    /* combinations */
    {"{\"data\": {\"stream\": true}}",
     "data.stream: needs train.optimizer \"sgd\" (a fresh sample at every "
     "step), not \"gd\""},
    {"{\"data\": {\"target\": \"parity\", \"d\": 3, \"parity_k\": 4}}",
     "data.parity_k: must be at most data.d = 3, got 4"},
    {"{\"model\": {\"blocks\": 2}}",
     "model.blocks: must be 1 unless model.arch is \"deep_resnet\", got 2 "
     "with \"resnet\""},
    {"{\"data\": {\"source\": \"csv\"}}",
     "data.path: required with data.source \"csv\""},
    {"{\"data\": {\"source\": \"csv\", \"path\": \"\"}}",
     "data.path: must be a non-empty string, got \"\""},
    {"{\"data\": {\"source\": \"csv\", \"path\": \"a.csv\", \"test_fraction\": 1}}",
     "data.test_fraction: must be a number in [0, 1), got 1"},
    {"{\"data\": {\"source\": \"csv\", \"path\": \"a.csv\", \"target_column\": 3}}",
     "data.target_column: must be a non-empty string, got 3"},
    /* inline data */
    {"{\"data\": {\"source\": \"inline\", \"y\": [1]}}",
     "data.x: required with data.source \"inline\""},
    {"{\"data\": {\"source\": \"inline\", \"x\": [[1]]}}",
     "data.y: required with data.source \"inline\""},
    {"{\"data\": {\"source\": \"inline\", \"x\": [], \"y\": []}}",
     "data.x: must be a non-empty array of rows (arrays of numbers), got an "
     "empty array"},
    {"{\"data\": {\"source\": \"inline\", \"x\": [1, 2], \"y\": [1, 2]}}",
     "data.x[0]: must be a non-empty array of numbers, got 1"},
    {"{\"data\": {\"source\": \"inline\", \"x\": [[1, 2], [3]], \"y\": [1, 2]}}",
     "data.x[1]: has 1 values, data.x[0] has 2"},
    {"{\"data\": {\"source\": \"inline\", \"x\": [[1, 2], {}], \"y\": [1, 2]}}",
     "data.x[1]: must be an array of numbers, got an object"},
    {"{\"data\": {\"source\": \"inline\", \"x\": [[1, 2], [3, \"a\"]], \"y\": [1, 2]}}",
     "data.x[1][1]: must be a finite number, got \"a\""},
    {"{\"data\": {\"source\": \"inline\", \"x\": [[1, 2], [3, 1e999]], \"y\": [1, 2]}}",
     "data.x[1][1]: must be a finite number, got inf"},
    {"{\"data\": {\"source\": \"inline\", \"x\": [[1]], \"y\": [null]}}",
     "data.y[0]: must be a finite number, got null"},
    {"{\"data\": {\"source\": \"inline\", \"x\": [[1], [2]], \"y\": [1]}}",
     "data.y: has 1 values, data.x has 2 rows"},
    {"{\"data\": {\"source\": \"inline\", \"x\": [[1]], \"y\": [1], \"x_test\": [[1]]}}",
     "data.y_test: required with data.x_test"},
    {"{\"data\": {\"source\": \"inline\", \"x\": [[1]], \"y\": [1], \"y_test\": [1]}}",
     "data.x_test: required with data.y_test"},
    {"{\"data\": {\"source\": \"inline\", \"x\": [[1, 2]], \"y\": [1], "
     "\"x_test\": [[1]], \"y_test\": [1]}}",
     "data.x_test[0]: has 1 values, data.x rows have 2"},
    {"{\"data\": {\"source\": \"inline\", \"x\": [[1]], \"y\": [1], "
     "\"x_test\": [[1], [2]], \"y_test\": [1]}}",
     "data.y_test: has 1 values, data.x_test has 2 rows"},
    {"{\"data\": {\"source\": \"inline\", \"x\": [[1]], \"y\": [1], "
     "\"x_test\": [[1]], \"y_test\": [1], \"test_fraction\": 0.1}}",
     "data.test_fraction: not used when data.x_test gives the test set"},
    {"{\"loss\": \"logistic\", \"data\": {\"source\": \"inline\", "
     "\"x\": [[1], [2]], \"y\": [1, 0.5]}}",
     "data.y[1]: must be -1 or +1 with loss \"logistic\", got 0.5"},
    {"{\"loss\": \"softplus_hinge\", \"data\": {\"source\": \"inline\", "
     "\"x\": [[1]], \"y\": [1], \"x_test\": [[1]], \"y_test\": [0]}}",
     "data.y_test[0]: must be -1 or +1 with loss \"softplus_hinge\", got 0"},
    /* limits: one past each */
    {"{\"data\": {\"d\": 1, \"n\": 120000000, \"n_test\": 1}}",
     "data.n: (n + n_test) * d = (120000000 + 1) * 1 = 120000001 values, more "
     "than the limit of 120000000 per run"},
    {"{\"data\": {\"d\": 99301}, \"model\": {\"width\": 100, \"unit_depth\": 5}}",
     "model.width: a resnet network of width 100, unit_depth 5 and 1 block(s) "
     "on 99301 inputs has 20000001 parameters, more than the limit of 20000000"},
    {"{\"data\": {\"d\": 99100, \"intercept\": true}, "
     "\"model\": {\"width\": 100, \"unit_depth\": 9}}",
     "model.width: a resnet network of width 100, unit_depth 9 and 1 block(s) "
     "on 99101 inputs has 20000201 parameters, more than the limit of 20000000"},
    {"{\"model\": {\"arch\": \"deep_resnet\", \"blocks\": 256, \"unit_depth\": "
     "256, \"width\": 4096}}",
     "model.width: a deep_resnet network of width 4096, unit_depth 256 and 256 "
     "block(s) on 10 inputs has 1095506067466 parameters, more than the limit "
     "of 20000000"},
    {"{\"data\": {\"d\": 100000, \"n\": 100, \"n_test\": 100, "
     "\"teacher_width\": 1201}, \"model\": {\"arch\": \"linear\"}}",
     "data.teacher_width: teacher_width * d = 1201 * 100000 values, more than "
     "the limit of 120000000"},
    {"{\"data\": {\"d\": 2, \"n\": 1, \"n_test\": 0}, \"train\": {\"optimizer\": "
     "\"sgd\", \"batch\": 120000000}}",
     "train.batch: batch * d = 120000000 * 2 values, more than the limit of "
     "120000000"},
};

#define N_BAD (sizeof bad_cases / sizeof bad_cases[0])

static void bad_config_rejected(void **state)
{
    const struct bad_case *bc = *state;
    run_config c;
    char err[ERR_LEN] = "";
    int rc = config_parse_str(bc->json, &c, err, sizeof err);
    if (rc != -EINVAL || strcmp(err, bc->message) != 0)
        fail_msg("config %s\n  rc %d\n  got      \"%s\"\n  expected \"%s\"",
                 bc->json, rc, err, bc->message);
    config_free(&c); /* holds nothing to free, and must say so safely */
}

/* ------------------------------------------------------------------ */
/* Valid configurations                                                  */
/* ------------------------------------------------------------------ */

static const char *const default_json =
    "{\"seed\":0,\"data\":{\"source\":\"synthetic\",\"dist\":\"gaussian\","
    "\"d\":10,\"n\":500,\"n_test\":500,\"cond\":1,\"target\":\"teacher_mlp\","
    "\"teacher_width\":8,\"noise\":0.1,\"intercept\":false,\"stream\":false},"
    "\"model\":{\"arch\":\"resnet\",\"blocks\":1,\"unit_depth\":2,\"width\":16,"
    "\"activation\":\"relu\",\"init\":\"he\",\"gain\":1,\"init_scale\":0.01,"
    "\"init_seed\":null},\"loss\":\"squared\",\"train\":{\"optimizer\":\"gd\",\"lr\":0.05,"
    "\"theta_lr\":null,\"schedule\":\"constant\",\"gamma\":0.1,"
    "\"step_every\":0,\"steps\":2000,\"batch\":32,\"tol\":1e-08,"
    "\"curve_points\":100},\"analysis\":{\"hessian\":true,"
    "\"lanczos_iters\":60,\"lanczos_memory_mib\":64,\"trace_probes\":10,"
    "\"slq_probes\":1,\"slq_iters\":30,\"slq_bins\":40,"
    "\"exact_max_params\":500,\"eig_tol\":0.0001,\"path_points\":11,"
    "\"save_params\":false,\"slice_points\":0,\"slice_radius\":1,\"slice_max_params\":100000,"
    "\"seed_pairs\":true}}";

static void empty_object_gives_defaults(void **state)
{
    (void)state;
    run_config c, d;
    parse_ok("{}", &c);
    config_defaults(&d);
    assert_same_config(&c, &d);
    /* and the documented values, not just "whatever defaults() says" */
    assert_int_equal(c.data.d, 10);
    assert_int_equal(c.data.n, 500);
    assert_int_equal(c.model.arch, ARCH_RESNET);
    assert_int_equal(c.model.width, 16);
    assert_true(c.train.lr == 0.05);
    assert_true(c.train.theta_lr < 0);
    assert_int_equal(c.analysis.lanczos_iters, 60);
    assert_int_equal(c.analysis.lanczos_memory_mib, 64);
    assert_int_equal(c.analysis.trace_probes, 10);
    assert_int_equal(c.analysis.slq_probes, 1);
    assert_int_equal(c.analysis.slq_iters, 30);
    assert_int_equal(c.analysis.slq_bins, 40);
    assert_int_equal(c.analysis.exact_max_params, 500);
    assert_true(c.analysis.eig_tol == 1e-4);
    assert_int_equal(c.analysis.path_points, 11);
    assert_int_equal(c.analysis.slice_points, 0);
    assert_true(c.analysis.slice_radius == 1);
    assert_int_equal(c.analysis.slice_max_params, 100000);
    assert_true(c.model.init_seed < 0);
    assert_true(c.analysis.seed_pairs);
    assert_int_equal(c.train.precision, PRECISION_FLOAT64);
    assert_true(config_init_seed(&c) == c.seed);
    assert_false(config_seed_pair_run(&c));
    assert_false(config_keeps_params(&c));
    char *json = config_to_json(&c);
    assert_non_null(json);
    assert_string_equal(json, default_json);
    free(json);
    parse_ok("{\"data\": {}, \"model\": {}, \"train\": {}, \"analysis\": {}}", &c);
    assert_same_config(&c, &d);
}

/* The canonical forms of older resweeps (config_to_json_gen), against
 * the current one edited by hand: generation 1 lacks the spectrum keys,
 * generation 0 lanczos_memory_mib too; a key an older resweep lacked,
 * set to other than its default, has no older form. */
/* s without the first occurrence of piece, into out. */
static void strip(const char *s, const char *piece, char *out, size_t len)
{
    const char *at = strstr(s, piece);
    assert_non_null(at);
    snprintf(out, len, "%.*s%s", (int)(at - s), s, at + strlen(piece));
}

static void older_canonical_forms(void **state)
{
    (void)state;
    run_config c;
    config_defaults(&c);
    bool ok;
    char want[2048], g4_json[2048];
    /* generation 4 is today's form without model.init_seed and
     * analysis.seed_pairs */
    strip(default_json, ",\"init_seed\":null", want, sizeof want);
    strip(want, ",\"seed_pairs\":true", g4_json, sizeof g4_json);
    char *g4 = config_to_json_gen(&c, CONFIG_GEN_LANDSCAPE, &ok);
    assert_true(ok);
    assert_string_equal(g4, g4_json);
    free(g4);
    c.model.init_seed = 0;
    assert_null(config_to_json_gen(&c, CONFIG_GEN_LANDSCAPE, &ok));
    assert_false(ok);
    c.model.init_seed = -1;
    c.analysis.seed_pairs = false;
    assert_null(config_to_json_gen(&c, CONFIG_GEN_LANDSCAPE, &ok));
    assert_false(ok);
    c.analysis.seed_pairs = true;
    /* generation 3 is generation 4 without the slice keys */
    char *g3 = config_to_json_gen(&c, CONFIG_GEN_SAVE_PARAMS, &ok);
    assert_true(ok);
    const char *cut = strstr(g4_json, ",\"slice_points\"");
    assert_non_null(cut);
    snprintf(want, sizeof want, "%.*s}}", (int)(cut - g4_json), g4_json);
    assert_string_equal(g3, want);
    free(g3);
    c.analysis.slice_points = 3;
    assert_null(config_to_json_gen(&c, CONFIG_GEN_SAVE_PARAMS, &ok));
    assert_false(ok);
    c.analysis.slice_points = 0;
    char *g1 = config_to_json_gen(&c, CONFIG_GEN_LANCZOS_MEMORY, &ok);
    assert_true(ok);
    assert_non_null(g1);
    cut = strstr(g4_json, ",\"trace_probes\"");
    assert_non_null(cut);
    snprintf(want, sizeof want, "%.*s}}", (int)(cut - g4_json), g4_json);
    assert_string_equal(g1, want);
    char *g0 = config_to_json_gen(&c, CONFIG_GEN_0, &ok);
    assert_true(ok);
    cut = strstr(want, ",\"lanczos_memory_mib\"");
    assert_non_null(cut);
    strcpy((char *)cut, "}}");
    assert_string_equal(g0, want);
    char *now = config_to_json_gen(&c, CONFIG_GEN_CURRENT, &ok);
    assert_string_equal(now, default_json);
    free(g0);
    free(g1);
    free(now);
    c.analysis.path_points = 0;
    assert_null(config_to_json_gen(&c, CONFIG_GEN_LANCZOS_MEMORY, &ok));
    assert_false(ok);
    c.analysis.path_points = 11;
    c.analysis.lanczos_memory_mib = 1;
    assert_null(config_to_json_gen(&c, CONFIG_GEN_0, &ok));
    assert_false(ok);
    g1 = config_to_json_gen(&c, CONFIG_GEN_LANCZOS_MEMORY, &ok);
    assert_true(ok);
    assert_non_null(strstr(g1, "\"lanczos_memory_mib\":1}}"));
    free(g1);
    /* generation 2 is generation 3 without analysis.save_params */
    c.analysis.lanczos_memory_mib = 64;
    char *g2 = config_to_json_gen(&c, CONFIG_GEN_SPECTRUM, &ok);
    assert_true(ok);
    cut = strstr(g4_json, ",\"save_params\"");
    assert_non_null(cut);
    snprintf(want, sizeof want, "%.*s}}", (int)(cut - g4_json), g4_json);
    assert_string_equal(g2, want);
    free(g2);
    c.analysis.save_params = true;
    assert_null(config_to_json_gen(&c, CONFIG_GEN_SPECTRUM, &ok));
    assert_false(ok);
}

static void defaults_written_out_parse_back(void **state)
{
    (void)state;
    run_config c, d;
    parse_ok(default_json, &c);
    config_defaults(&d);
    assert_same_config(&c, &d);
}

static void integers_accept_integral_doubles(void **state)
{
    (void)state;
    run_config c;
    parse_ok("{\"model\": {\"width\": 5.0, \"unit_depth\": 3e0}, "
             "\"train\": {\"steps\": 1e6}, \"seed\": 9007199254740992}", &c);
    assert_int_equal(c.model.width, 5);
    assert_int_equal(c.model.unit_depth, 3);
    assert_int_equal(c.train.steps, 1000000);
    assert_true(c.seed == (UINT64_C(1) << 53));
    char *json = config_to_json(&c);
    assert_non_null(strstr(json, "\"seed\":9007199254740992,"));
    assert_non_null(strstr(json, "\"width\":5,"));
    free(json);
}

static void limits_are_inclusive(void **state)
{
    (void)state;
    run_config c;
    /* exactly CONFIG_MAX_PARAMS: d + 2dh + h + (L-1)(h^2 + h) = 20,000,000 */
    parse_ok("{\"data\": {\"d\": 99100}, \"model\": {\"width\": 100, "
             "\"unit_depth\": 9}}", &c);
    /* exactly CONFIG_MAX_CELLS */
    parse_ok("{\"data\": {\"d\": 1, \"n\": 120000000, \"n_test\": 0}}", &c);
    /* teacher_width * d at the limit */
    parse_ok("{\"data\": {\"d\": 100000, \"n\": 100, \"n_test\": 100, "
             "\"teacher_width\": 1200}, \"model\": {\"arch\": \"linear\"}}", &c);
    /* linear has d parameters whatever width says */
    parse_ok("{\"data\": {\"d\": 100000, \"n\": 600, \"n_test\": 600}, "
             "\"model\": {\"width\": 4096, \"unit_depth\": 256, "
             "\"arch\": \"linear\"}}", &c);
    parse_ok("{\"model\": {\"arch\": \"deep_resnet\", \"blocks\": 256, "
             "\"width\": 2}, \"train\": {\"steps\": 1000000000, "
             "\"curve_points\": 100000}, \"analysis\": {\"lanczos_iters\": 1000, "
             "\"lanczos_memory_mib\": 1048576}}",
             &c);
    /* 0: never store the Lanczos basis (the two-pass recurrence) */
    parse_ok("{\"analysis\": {\"lanczos_memory_mib\": 0}}", &c);
    assert_int_equal(c.analysis.lanczos_memory_mib, 0);
    parse_ok("{\"loss\": \"logistic\", \"data\": {\"flip\": 0.5}}", &c);
    assert_true(c.data.flip == 0.5);
    parse_ok("{\"data\": {\"target\": \"parity\", \"d\": 4, \"parity_k\": 4}}", &c);
    assert_int_equal(c.data.parity_k, 4);
    parse_ok("{\"train\": {\"theta_lr\": 0, \"gamma\": 1}}", &c);
    assert_true(c.train.theta_lr == 0);
}

static void sources_keep_only_their_keys(void **state)
{
    (void)state;
    run_config c, back;
    char err[ERR_LEN];
    parse_ok("{\"data\": {\"source\": \"csv\", \"path\": \"dir/my \\\"data\\\".csv\"}}", &c);
    assert_string_equal(c.data.path, "dir/my \"data\".csv");
    assert_string_equal(c.data.target_column, "y");
    assert_true(c.data.test_fraction == 0.2);
    assert_int_equal(c.data.d, 0); /* known only once the file is read */
    char *json = config_to_json(&c);
    assert_non_null(strstr(json, "\"data\":{\"source\":\"csv\",\"intercept\":false,"
                                 "\"path\":\"dir/my \\\"data\\\".csv\","
                                 "\"target_column\":\"y\",\"test_fraction\":0.2}"));
    assert_null(strstr(json, "dist"));
    assert_int_equal(config_parse_str(json, &back, err, sizeof err), 0);
    assert_same_config(&c, &back);
    free(json);
    config_free(&back);
    config_free(&c);

    parse_ok("{\"loss\": \"logistic\", \"data\": {\"source\": \"inline\", "
             "\"x\": [[1, 2.5], [-3, 4]], \"y\": [1, -1], "
             "\"x_test\": [[0, 0]], \"y_test\": [-1]}}", &c);
    assert_int_equal(c.data.inline_n, 2);
    assert_int_equal(c.data.inline_d, 2);
    assert_int_equal(c.data.inline_n_test, 1);
    assert_true(c.data.x[1] == 2.5 && c.data.x[2] == -3 && c.data.y[1] == -1);
    json = config_to_json(&c);
    assert_non_null(strstr(json, "\"data\":{\"source\":\"inline\",\"intercept\":false,"
                                 "\"x\":[[1,2.5],[-3,4]],\"y\":[1,-1],"
                                 "\"x_test\":[[0,0]],\"y_test\":[-1]}"));
    assert_null(strstr(json, "test_fraction"));
    assert_null(strstr(json, "noise"));
    free(json);
    config_free(&c);
}

static void mixture_and_student_keys(void **state)
{
    (void)state;
    run_config c;
    parse_ok("{\"data\": {\"dist\": \"mixture\", \"components\": 7}}", &c);
    assert_int_equal(c.data.components, 7);
    char *json = config_to_json(&c);
    assert_non_null(strstr(json, "\"components\":7"));
    assert_null(strstr(json, "\"cond\""));
    assert_null(strstr(json, "\"nu\""));
    free(json);
    parse_ok("{\"data\": {\"dist\": \"student_t\", \"nu\": 2.5, "
             "\"flip\": 0.25}, \"loss\": \"logistic\"}", &c);
    assert_true(c.data.nu == 2.5 && c.data.flip == 0.25);
    json = config_to_json(&c);
    assert_non_null(strstr(json, "\"nu\":2.5,"));
    assert_non_null(strstr(json, "\"flip\":0.25,"));
    assert_null(strstr(json, "\"noise\""));
    free(json);
}

/* ------------------------------------------------------------------ */
/* Round trips on random configurations                                 */
/* ------------------------------------------------------------------ */

static uint64_t rnd_state = 0x243F6A8885A308D3ull;

static uint64_t rnd(void) /* splitmix64: the test's own generator */
{
    uint64_t z = (rnd_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rnd_unit(void) { return (double)(rnd() >> 11) * 0x1p-53; }
static int rnd_int(int lo, int hi) { return lo + (int)(rnd() % (uint64_t)(hi - lo + 1)); }
static bool coin(void) { return rnd() & 1; }

/* A positive double with a full 53-bit mantissa over many magnitudes. */
static double rnd_pos(double lo_exp, double hi_exp)
{
    return pow(10, lo_exp + (hi_exp - lo_exp) * rnd_unit());
}

/* An arbitrary finite double: full mantissas, huge, tiny, -0. */
static double rnd_any(void)
{
    switch (rnd() % 6) {
    case 0: return -0.0;
    case 1: return (double)rnd_int(-5, 5);
    case 2: return rnd_pos(-300, 300) * (coin() ? 1 : -1);
    default: return (rnd_unit() - 0.5) * 10;
    }
}

static void maybe_num(cJSON *o, const char *key, double v)
{
    if (coin())
        cJSON_AddNumberToObject(o, key, v);
}

static void maybe_str(cJSON *o, const char *key, const char *const *names, int n)
{
    if (coin())
        cJSON_AddStringToObject(o, key, names[rnd() % (uint64_t)n]);
}

static cJSON *rnd_rows(int n, int d)
{
    cJSON *rows = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        cJSON *row = cJSON_CreateArray();
        for (int j = 0; j < d; j++)
            cJSON_AddItemToArray(row, cJSON_CreateNumber(rnd_any()));
        cJSON_AddItemToArray(rows, row);
    }
    return rows;
}

static cJSON *rnd_labels(int n, bool classification)
{
    cJSON *y = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(y, cJSON_CreateNumber(classification ? (coin() ? 1 : -1)
                                                                  : rnd_any()));
    return y;
}

static const char *const dists[] = {"gaussian", "uniform", "sphere",
                                    "rademacher", "student_t", "mixture"};
static const char *const targets[] = {"linear", "teacher_mlp", "teacher_resnet",
                                      "quadratic", "parity", "sine"};
static const char *const archs[] = {"linear", "resnet", "plain", "decoupled",
                                    "deep_resnet"};
static const char *const acts[] = {"relu", "tanh", "softplus", "leaky_relu", "gelu"};
static const char *const inits[] = {"he", "xavier"};
static const char *const losses[] = {"squared", "logistic", "logcosh",
                                     "softplus_hinge"};
static const char *const scheds[] = {"constant", "inv_sqrt", "step"};
static const char *const precisions[] = {"float64", "float32"};
static const char *const paths[] = {"a.csv", "/tmp/x y/\"q\".csv",
                                    "tab\there\\back", "ünïcødé.csv",
                                    "new\nline\x01.csv"};

static void rnd_synthetic(cJSON *data, bool classification, bool sgd)
{
    int di = rnd_int(0, 5), ti = rnd_int(0, 5), d = rnd_int(1, 40);
    cJSON_AddStringToObject(data, "dist", dists[di]);
    cJSON_AddStringToObject(data, "target", targets[ti]);
    cJSON_AddNumberToObject(data, "d", d);
    maybe_num(data, "n", rnd_int(1, 5000));
    maybe_num(data, "n_test", rnd_int(0, 5000));
    if (di == DIST_GAUSSIAN)
        maybe_num(data, "cond", 1 + rnd_pos(-3, 6));
    if (di == DIST_STUDENT_T)
        maybe_num(data, "nu", rnd_pos(-2, 3));
    if (di == DIST_MIXTURE)
        maybe_num(data, "components", rnd_int(1, CONFIG_MAX_COMPONENTS));
    if (ti == TARGET_TEACHER_MLP || ti == TARGET_TEACHER_RESNET)
        maybe_num(data, "teacher_width", rnd_int(1, 200));
    if (ti == TARGET_PARITY && (d < 2 || coin())) /* default k = 2 */
        cJSON_AddNumberToObject(data, "parity_k", rnd_int(1, d));
    if (classification)
        maybe_num(data, "flip", 0.5 * rnd_unit());
    else
        maybe_num(data, "noise", coin() ? 0 : rnd_pos(-4, 1));
    if (sgd && coin())
        cJSON_AddBoolToObject(data, "stream", coin());
}

static void rnd_user_data(cJSON *data, bool classification)
{
    if (coin()) {
        cJSON_AddStringToObject(data, "source", "csv");
        cJSON_AddStringToObject(data, "path", paths[rnd() % 5]);
        if (coin())
            cJSON_AddStringToObject(data, "target_column", coin() ? "label" : "y\"2");
        maybe_num(data, "test_fraction", rnd_unit() * 0.999);
        return;
    }
    int n = rnd_int(1, 6), d = rnd_int(1, 5);
    cJSON_AddStringToObject(data, "source", "inline");
    cJSON_AddItemToObject(data, "x", rnd_rows(n, d));
    cJSON_AddItemToObject(data, "y", rnd_labels(n, classification));
    if (coin()) {
        int m = rnd_int(1, 4);
        cJSON_AddItemToObject(data, "x_test", rnd_rows(m, d));
        cJSON_AddItemToObject(data, "y_test", rnd_labels(m, classification));
    } else {
        maybe_num(data, "test_fraction", rnd_unit() * 0.999);
    }
}

/* A random valid configuration, most keys present, some left to default. */
static cJSON *rnd_config(void)
{
    cJSON *o = cJSON_CreateObject();
    int li = rnd_int(0, 3);
    bool classification = li == LOSS_LOGISTIC || li == LOSS_SOFTPLUS_HINGE;
    bool sgd = coin();
    maybe_num(o, "seed", (double)(rnd() >> 11));
    cJSON_AddStringToObject(o, "loss", losses[li]);

    cJSON *data = cJSON_AddObjectToObject(o, "data");
    if (rnd() % 3)
        rnd_synthetic(data, classification, sgd);
    else
        rnd_user_data(data, classification);
    if (coin())
        cJSON_AddBoolToObject(data, "intercept", coin());

    cJSON *model = cJSON_AddObjectToObject(o, "model");
    int ai = rnd_int(0, 4);
    cJSON_AddStringToObject(model, "arch", archs[ai]);
    if (ai == ARCH_DEEP_RESNET)
        maybe_num(model, "blocks", rnd_int(1, 8));
    maybe_num(model, "unit_depth", rnd_int(1, 8));
    maybe_num(model, "width", rnd_int(1, 64));
    maybe_str(model, "activation", acts, 5);
    maybe_str(model, "init", inits, 2);
    maybe_num(model, "gain", rnd_pos(-2, 1));
    maybe_num(model, "init_scale", coin() ? 0 : rnd_pos(-6, 0));
    if (coin())
        cJSON_AddItemToObject(model, "init_seed", coin() ? cJSON_CreateNull()
                              : cJSON_CreateNumber((double)(rnd() >> 11)));

    cJSON *train = cJSON_AddObjectToObject(o, "train");
    cJSON_AddStringToObject(train, "optimizer", sgd ? "sgd" : "gd");
    maybe_num(train, "lr", rnd_pos(-5, 1));
    if (coin())
        cJSON_AddItemToObject(train, "theta_lr", coin() ? cJSON_CreateNull()
                                                        : cJSON_CreateNumber(rnd_pos(-5, 1)));
    maybe_str(train, "schedule", scheds, 3);
    maybe_num(train, "gamma", 1 - rnd_unit());
    maybe_num(train, "step_every", rnd_int(0, 100000));
    maybe_num(train, "steps", rnd_int(0, 1000000));
    maybe_num(train, "batch", rnd_int(1, 1024));
    maybe_num(train, "tol", coin() ? 0 : rnd_pos(-14, -2));
    maybe_num(train, "curve_points", rnd_int(0, 1000));
    maybe_str(train, "precision", precisions, 2);

    cJSON *an = cJSON_AddObjectToObject(o, "analysis");
    if (coin())
        cJSON_AddBoolToObject(an, "hessian", coin());
    maybe_num(an, "lanczos_iters", rnd_int(1, 1000));
    maybe_num(an, "lanczos_memory_mib", rnd_int(0, 1048576));
    maybe_num(an, "trace_probes", rnd_int(0, 10000));
    maybe_num(an, "slq_probes", rnd_int(0, 1000));
    maybe_num(an, "slq_iters", rnd_int(1, 1000));
    maybe_num(an, "slq_bins", rnd_int(1, 200));
    maybe_num(an, "exact_max_params", rnd_int(0, 4000));
    maybe_num(an, "eig_tol", coin() ? 0 : rnd_pos(-12, 2));
    maybe_num(an, "path_points", coin() ? 0 : rnd_int(2, 101));
    maybe_num(an, "slice_points", coin() ? 0 : 2 * rnd_int(1, 12) + 1);
    maybe_num(an, "slice_radius", rnd_pos(-3, 2));
    maybe_num(an, "slice_max_params", rnd_int(0, 1000000));
    if (coin())
        cJSON_AddBoolToObject(an, "seed_pairs", coin());
    return o;
}

/* parse -> canonical -> parse gives the identical configuration, and the
 * canonical text is a fixed point; copies are deep and identical. */
static void random_configs_round_trip(void **state)
{
    (void)state;
    char err[ERR_LEN];
    int sources[3] = {0};
    for (int i = 0; i < 3000; i++) {
        cJSON *o = rnd_config();
        run_config a, b, copy;
        if (config_parse(o, &a, err, sizeof err) != 0) {
            char *text = cJSON_PrintUnformatted(o);
            fail_msg("random config %d rejected: %s\n  %s", i, err, text);
        }
        cJSON_Delete(o);
        sources[a.data.source]++;
        char *json = config_to_json(&a);
        assert_non_null(json);
        if (config_parse_str(json, &b, err, sizeof err) != 0)
            fail_msg("canonical form rejected: %s\n  %s", err, json);
        assert_same_config(&a, &b);
        char *again = config_to_json(&b);
        assert_string_equal(json, again);
        assert_int_equal(config_copy(&copy, &a), 0);
        config_free(&a); /* the copy must not share anything with a */
        assert_same_config(&copy, &b);
        free(json);
        free(again);
        config_free(&b);
        config_free(&copy);
    }
    /* the generator reached every source */
    assert_true(sources[DATA_SYNTHETIC] > 100 && sources[DATA_CSV] > 100 &&
                sources[DATA_INLINE] > 100);
}

/* Doubles whose 15-digit form is within one ulp: a tolerant printer (as
 * cJSON's own is) would lose the last bit. */
static void numbers_are_exact(void **state)
{
    (void)state;
    const double lrs[] = {0.1, 0.1 + 0x1p-56, 1.0 / 3.0, 5e-324, 1.7976931348623157e308,
                          2.2250738585072014e-308, 0.30000000000000004};
    for (size_t i = 0; i < sizeof lrs / sizeof lrs[0]; i++) {
        run_config a, b;
        char err[ERR_LEN];
        config_defaults(&a);
        a.train.lr = lrs[i];
        a.model.init_scale = nextafter(lrs[i], 0);
        char *json = config_to_json(&a);
        assert_int_equal(config_parse_str(json, &b, err, sizeof err), 0);
        assert_true(same_double(a.train.lr, b.train.lr));
        assert_true(same_double(a.model.init_scale, b.model.init_scale));
        free(json);
    }
}

static void copy_is_deep(void **state)
{
    (void)state;
    run_config a, b;
    parse_ok("{\"data\": {\"source\": \"inline\", \"x\": [[1, 2], [3, 4]], "
             "\"y\": [5, 6]}}", &a);
    assert_int_equal(config_copy(&b, &a), 0);
    assert_ptr_not_equal(a.data.x, b.data.x);
    assert_ptr_not_equal(a.data.y, b.data.y);
    a.data.x[0] = 99;
    assert_true(b.data.x[0] == 1);
    config_free(&a);
    assert_true(b.data.y[1] == 6);
    config_free(&b);
    config_free(&b); /* config_free leaves nothing dangling */
}

static void key_paths_are_checked(void **state)
{
    (void)state;
    char err[ERR_LEN];
    const char *ok[] = {"seed", "data", "model.width", "data.x", "train.theta_lr",
                        "analysis.lanczos_iters", "analysis.lanczos_memory_mib",
                        "analysis.slq_bins", "analysis.path_points",
                        "loss"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_int_equal(config_check_path(ok[i], err, sizeof err), 0);
    assert_int_equal(config_check_path("model.widht", err, sizeof err), -EINVAL);
    assert_string_equal(err, "model.widht: unknown key; did you mean model.width?");
    assert_int_equal(config_check_path("model..width", err, sizeof err), -EINVAL);
    assert_string_equal(err, "model..width: not a key path (empty name between dots)");
    assert_int_equal(config_check_path("", err, sizeof err), -EINVAL);
    assert_int_equal(config_check_path("model.width.x", err, sizeof err), -EINVAL);
    assert_string_equal(err, "model.width.x: unknown key; model.width holds a "
                             "value, not an object");
    assert_int_equal(config_check_path("lr", err, sizeof err), -EINVAL);
    assert_string_equal(err, "lr: unknown key; did you mean train.lr?");
    assert_int_equal(config_check_path("train.zzzzzz", err, sizeof err), -EINVAL);
    assert_string_equal(err, "train.zzzzzz: unknown key; expected one of optimizer, "
                             "lr, theta_lr, schedule, gamma, step_every, steps, "
                             "batch, tol, curve_points, precision");
}

/* data.standardize is kept by the canonical form when it is not the
 * default, and "none" is not written (earlier forms stay the same). */
static void standardize_round_trips(void **state)
{
    (void)state;
    run_config c, back;
    parse_ok("{\"data\": {\"standardize\": \"features_and_target\"}}", &c);
    assert_int_equal(c.data.standardize, STANDARDIZE_FEATURES_AND_TARGET);
    char *json = config_to_json(&c);
    assert_non_null(strstr(json, "\"standardize\":\"features_and_target\""));
    parse_ok(json, &back);
    assert_int_equal(back.data.standardize, STANDARDIZE_FEATURES_AND_TARGET);
    free(json);
    config_free(&back);
    config_free(&c);
    parse_ok("{\"data\": {\"standardize\": \"none\"}}", &c);
    json = config_to_json(&c);
    assert_null(strstr(json, "standardize"));
    free(json);
    config_free(&c);
    parse_ok("{\"data\": {\"standardize\": \"features\"}, \"loss\": "
             "\"logistic\"}", &c);
    assert_int_equal(c.data.standardize, STANDARDIZE_FEATURES);
    config_free(&c);
}

/* config_value_at: each kind typed as the canonical form writes it. */
static void values_at_paths(void **state)
{
    (void)state;
    run_config c;
    config_value v;
    char err[ERR_LEN];
    parse_ok("{\"seed\": 9007199254740992, \"loss\": \"logistic\", "
             "\"model\": {\"width\": 7}, \"train\": {\"lr\": 0.1, "
             "\"steps\": 30}, \"data\": {\"intercept\": true}}", &c);
    assert_int_equal(config_value_at(&c, "seed", &v, err, sizeof err), 0);
    assert_int_equal(v.type, CONFIG_VALUE_INT);
    assert_true(v.i == 9007199254740992LL);
    assert_int_equal(config_value_at(&c, "model.width", &v, err, sizeof err), 0);
    assert_true(v.type == CONFIG_VALUE_INT && v.i == 7);
    assert_int_equal(config_value_at(&c, "train.steps", &v, err, sizeof err), 0);
    assert_true(v.type == CONFIG_VALUE_INT && v.i == 30);
    assert_int_equal(config_value_at(&c, "data.intercept", &v, err, sizeof err), 0);
    assert_true(v.type == CONFIG_VALUE_INT && v.i == 1);
    assert_int_equal(config_value_at(&c, "train.lr", &v, err, sizeof err), 0);
    assert_true(v.type == CONFIG_VALUE_REAL && v.x == 0.1);
    assert_int_equal(config_value_at(&c, "loss", &v, err, sizeof err), 0);
    assert_true(v.type == CONFIG_VALUE_TEXT);
    assert_string_equal(v.text, "logistic");
    assert_int_equal(config_value_at(&c, "data.standardize", &v, err, sizeof err), 0);
    assert_true(v.type == CONFIG_VALUE_TEXT);
    assert_string_equal(v.text, "none");
    /* JSON null, and a key a classification run does not use */
    assert_int_equal(config_value_at(&c, "train.theta_lr", &v, err, sizeof err), 0);
    assert_int_equal(v.type, CONFIG_VALUE_NULL);
    assert_int_equal(config_value_at(&c, "data.noise", &v, err, sizeof err), 0);
    assert_int_equal(v.type, CONFIG_VALUE_NULL);
    assert_int_equal(config_value_at(&c, "model.init_seed", &v, err, sizeof err), 0);
    assert_int_equal(v.type, CONFIG_VALUE_NULL);
    /* a section: its canonical JSON, owned */
    assert_int_equal(config_value_at(&c, "model", &v, err, sizeof err), 0);
    assert_true(v.type == CONFIG_VALUE_TEXT && v.owned == v.text);
    assert_non_null(strstr(v.text, "\"width\":7"));
    assert_int_equal(v.text[0], '{');
    config_value_free(&v);
    assert_int_equal(config_value_at(&c, "train.lrr", &v, err, sizeof err), -EINVAL);
    assert_string_equal(err, "train.lrr: unknown key; did you mean train.lr?");
    config_free(&c);
}

/* model.init_seed: null, absent and set; set, it is the initialisation's
 * seed alone, and a seed pair's end point keeps its parameters. */
static void init_seed_key(void **state)
{
    (void)state;
    run_config c;
    parse_ok("{\"seed\": 7, \"model\": {\"init_seed\": null}}", &c);
    assert_true(c.model.init_seed < 0);
    assert_true(config_init_seed(&c) == 7);
    char *json = config_to_json(&c);
    assert_non_null(strstr(json, "\"init_seed\":null}"));
    free(json);
    parse_ok("{\"seed\": 7, \"model\": {\"init_seed\": 9007199254740992}}", &c);
    assert_true(config_init_seed(&c) == (UINT64_C(1) << 53));
    assert_true(c.seed == 7);
    json = config_to_json(&c);
    assert_non_null(strstr(json, "\"init_seed\":9007199254740992}"));
    free(json);
    config_value v;
    char err[ERR_LEN];
    assert_int_equal(config_value_at(&c, "model.init_seed", &v, err, sizeof err), 0);
    assert_true(v.type == CONFIG_VALUE_INT && v.i == JSON_INT_MAX_I64);
    assert_true(config_seed_pair_run(&c) && config_keeps_params(&c));
    c.analysis.path_points = 0;
    assert_false(config_seed_pair_run(&c) || config_keeps_params(&c));
    c.analysis.path_points = 11;
    c.analysis.seed_pairs = false;
    assert_false(config_seed_pair_run(&c) || config_keeps_params(&c));
    c.analysis.save_params = true;
    assert_true(config_keeps_params(&c));
    parse_ok("{\"model\": {\"init_seed\": 0}}", &c);
    assert_true(c.model.init_seed == 0 && config_seed_pair_run(&c));
}

/* FNV-1a of the canonical form: the hash engine.c ties a checkpoint to
 * its configuration with (config_hash). */
static uint64_t canonical_hash(const run_config *c)
{
    char *json = config_to_json(c);
    assert_non_null(json);
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)json; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    free(json);
    return h;
}

/* train.precision: "float64" is the default and is not written, so the
 * canonical form and hash of every configuration stored before the key
 * are unchanged; "float32" is written after curve_points, parses back,
 * and changes the hash (a float64 checkpoint does not resume a float32
 * run). It is accepted with every architecture, loss, optimizer and data
 * source, and its value is there by path either way. */
static void precision_key(void **state)
{
    (void)state;
    run_config c, back, def;
    config_defaults(&def);
    parse_ok("{\"train\": {\"precision\": \"float64\"}}", &c);
    assert_int_equal(c.train.precision, PRECISION_FLOAT64);
    char *json = config_to_json(&c);
    assert_string_equal(json, default_json);
    free(json);
    assert_true(canonical_hash(&c) == canonical_hash(&def));
    config_value v;
    char err[ERR_LEN];
    assert_int_equal(config_value_at(&c, "train.precision", &v, err, sizeof err), 0);
    assert_true(v.type == CONFIG_VALUE_TEXT);
    assert_string_equal(v.text, "float64");

    parse_ok("{\"train\": {\"precision\": \"float32\"}}", &c);
    assert_int_equal(c.train.precision, PRECISION_FLOAT32);
    assert_string_equal(config_precision_name(c.train.precision), "float32");
    json = config_to_json(&c);
    assert_non_null(strstr(json, "\"curve_points\":100,\"precision\":\"float32\"}"));
    parse_ok(json, &back);
    assert_same_config(&c, &back);
    char *again = config_to_json(&back);
    assert_string_equal(json, again);
    free(again);
    free(json);
    assert_true(canonical_hash(&c) != canonical_hash(&def));
    assert_int_equal(config_value_at(&c, "train.precision", &v, err, sizeof err), 0);
    assert_string_equal(v.text, "float32");

    static const char *const optimizers[] = {"gd", "sgd"};
    static const char *const sources[] = {
        "\"source\": \"synthetic\"", "\"source\": \"csv\", \"path\": \"a.csv\"",
        "\"source\": \"inline\", \"x\": [[1], [2]], \"y\": [1, -1]"};
    char text[512];
    for (int a = 0; a < 5; a++)
        for (int l = 0; l < 4; l++)
            for (int o = 0; o < 2; o++)
                for (int s = 0; s < 3; s++) {
                    snprintf(text, sizeof text,
                             "{\"data\": {%s}, \"model\": {\"arch\": \"%s\"}, "
                             "\"loss\": \"%s\", \"train\": {\"optimizer\": "
                             "\"%s\", \"precision\": \"float32\"}}",
                             sources[s], archs[a], losses[l], optimizers[o]);
                    parse_ok(text, &c);
                    assert_int_equal(c.train.precision, PRECISION_FLOAT32);
                    config_free(&c);
                }
}

static void null_error_buffer_is_fine(void **state)
{
    (void)state;
    run_config c;
    assert_int_equal(config_parse_str("{\"model\": {\"width\": 0}}", &c, NULL, 0),
                     -EINVAL);
    assert_int_equal(config_parse_str("{}", &c, NULL, 0), 0);
    config_free(&c);
}

int main(void)
{
    static struct CMUnitTest tests[N_BAD + 18];
    static char names[N_BAD][64];
    size_t n = 0;
#define ADD(f) tests[n++] = (struct CMUnitTest)cmocka_unit_test(f)
    ADD(empty_object_gives_defaults);
    ADD(defaults_written_out_parse_back);
    ADD(integers_accept_integral_doubles);
    ADD(limits_are_inclusive);
    ADD(sources_keep_only_their_keys);
    ADD(mixture_and_student_keys);
    ADD(random_configs_round_trip);
    ADD(older_canonical_forms);
    ADD(numbers_are_exact);
    ADD(copy_is_deep);
    ADD(key_paths_are_checked);
    ADD(null_error_buffer_is_fine);
    ADD(standardize_round_trips);
    ADD(values_at_paths);
    ADD(init_seed_key);
    ADD(precision_key);
    for (size_t i = 0; i < N_BAD; i++) {
        /* "bad_config_07 model.width": the path the sentence must name */
        int len = (int)strcspn(bad_cases[i].message, ":");
        snprintf(names[i], sizeof names[i], "bad_config_%02zu %.*s", i + 1,
                 len, bad_cases[i].message);
        tests[n++] = (struct CMUnitTest){names[i], bad_config_rejected, NULL,
                                         NULL, (void *)&bad_cases[i]};
    }
    return _cmocka_run_group_tests("config", tests, n, NULL, NULL);
}
