/* config.c — run configuration: defaults, names, JSON parsing and
 * canonical form (see config.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "consts.h"
#include "err.h"
#include "suggest.h"

static const char *const source_names[] = {"synthetic", "csv", "inline"};
static const char *const dist_names[] = {"gaussian", "uniform", "sphere",
                                         "rademacher", "student_t", "mixture"};
static const char *const target_names[] = {"linear", "teacher_mlp",
                                           "teacher_resnet", "quadratic",
                                           "parity", "sine"};
static const char *const arch_names[] = {"linear", "resnet", "plain",
                                         "decoupled", "deep_resnet"};
static const char *const activation_names[] = {"relu", "tanh", "softplus",
                                               "leaky_relu", "gelu"};
static const char *const init_names[] = {"he", "xavier"};
static const char *const loss_names[] = {"squared", "logistic", "logcosh",
                                         "softplus_hinge"};
static const char *const optimizer_names[] = {"gd", "sgd"};
static const char *const schedule_names[] = {"constant", "inv_sqrt", "step"};
static const char *const standardize_names[] = {"none", "features",
                                                "features_and_target"};
static const char *const precision_names[] = {"float64", "float32"};

#define NAME_OF(table, v)                                                  \
    ((unsigned)(v) < sizeof table / sizeof table[0] ? table[v] : "?")

const char *config_source_name(enum data_source v) { return NAME_OF(source_names, v); }
const char *config_dist_name(enum data_dist v) { return NAME_OF(dist_names, v); }
const char *config_target_name(enum data_target v) { return NAME_OF(target_names, v); }
const char *config_arch_name(enum arch v) { return NAME_OF(arch_names, v); }
const char *config_activation_name(enum activation v) { return NAME_OF(activation_names, v); }
const char *config_init_name(enum init_kind v) { return NAME_OF(init_names, v); }
const char *config_loss_name(enum loss_kind v) { return NAME_OF(loss_names, v); }
const char *config_optimizer_name(enum optimizer v) { return NAME_OF(optimizer_names, v); }
const char *config_schedule_name(enum schedule v) { return NAME_OF(schedule_names, v); }
const char *config_standardize_name(enum standardize v) { return NAME_OF(standardize_names, v); }
const char *config_precision_name(enum precision v) { return NAME_OF(precision_names, v); }

bool config_is_classification(enum loss_kind loss)
{
    return loss == LOSS_LOGISTIC || loss == LOSS_SOFTPLUS_HINGE;
}

void config_defaults(run_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 0;
    cfg->data = (data_config){
        .source = DATA_SYNTHETIC, .dist = DIST_GAUSSIAN, .d = 10, .n = 500,
        .n_test = 500, .cond = 1, .nu = 3, .components = 3,
        .target = TARGET_TEACHER_MLP, .teacher_width = 8, .parity_k = 2,
        .noise = 0.1, .flip = 0, .intercept = false, .stream = false,
        .test_fraction = 0.2, .standardize = STANDARDIZE_NONE,
    };
    cfg->model = (model_config){
        .arch = ARCH_RESNET, .blocks = 1, .unit_depth = 2, .width = 16,
        .activation = ACT_RELU, .init = INIT_HE, .gain = 1,
        .init_scale = 0.01, .init_seed = -1,
    };
    cfg->loss = LOSS_SQUARED;
    cfg->train = (train_config){
        .optimizer = OPT_GD, .lr = 0.05, .theta_lr = -1,
        .schedule = SCHED_CONSTANT, .gamma = 0.1, .step_every = 0,
        .steps = 2000, .batch = 32, .tol = 1e-8, .curve_points = 100,
        .precision = PRECISION_FLOAT64,
    };
    /* trace_probes, slq_*: the default run's analysis within 20% of its
     * training (README, Performance) */
    cfg->analysis = (analysis_config){
        .hessian = true, .lanczos_iters = 60, .lanczos_memory_mib = 64,
        .trace_probes = 10, .slq_probes = 1, .slq_iters = 30, .slq_bins = 40,
        .exact_max_params = 500, .eig_tol = 1e-4, .path_points = 11,
        .save_params = false,
        .slice_points = 0, .slice_radius = 1, .slice_max_params = 100000,
        .seed_pairs = true,
    };
}

uint64_t config_init_seed(const run_config *cfg)
{
    return cfg->model.init_seed >= 0 ? (uint64_t)cfg->model.init_seed
                                     : cfg->seed;
}

bool config_seed_pair_run(const run_config *cfg)
{
    return cfg->model.init_seed >= 0 && cfg->analysis.seed_pairs &&
           cfg->analysis.path_points > 0;
}

bool config_keeps_params(const run_config *cfg)
{
    return cfg->analysis.save_params || config_seed_pair_run(cfg);
}

void config_free(run_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->data.path);
    free(cfg->data.target_column);
    free(cfg->data.x);
    free(cfg->data.y);
    free(cfg->data.x_test);
    free(cfg->data.y_test);
    cfg->data.path = cfg->data.target_column = NULL;
    cfg->data.x = cfg->data.y = cfg->data.x_test = cfg->data.y_test = NULL;
}

/* ---------------------------------------------------------------------
 * The key table. One row per JSON key, in canonical order: parsing,
 * the "is this key meaningful here" rule and config_to_json all walk it,
 * so the three cannot drift apart.
 * ------------------------------------------------------------------- */

/* 2^53: every seed up to it is exact in a JSON (double) number. */
/* Bytes of data.path and data.target_column (limits are explicit). */
#define CONFIG_MAX_PATH   4096
#define CONFIG_MAX_COLUMN 1024
/* Longest unknown key we try to match against known ones. */
#define SUGGEST_MAX 64

/* Enums are stored through an int-sized slot of the struct. */
_Static_assert(sizeof(enum arch) == sizeof(int), "enums are int-sized");

enum section { SEC_TOP, SEC_DATA, SEC_MODEL, SEC_TRAIN, SEC_ANALYSIS };
static const char *const section_names[] = {"", "data", "model", "train",
                                            "analysis"};

enum kind {
    T_SECTION,  /* an object holding the keys of `sub` */
    T_SEED,     /* uint64_t, integer in [0, 2^53] */
    T_SEED_NULL,/* int64_t, null (stored as -1) or as T_SEED */
    T_INT,      /* int, integer in [lo, hi] */
    T_LONG,     /* long, integer in [lo, hi] */
    T_NUM,      /* double, finite, within the bounds */
    T_NUM_NULL, /* double, null (stored as -1) or as T_NUM */
    T_BOOL,
    T_ENUM,     /* int-sized enum, a name of `names` */
    T_STR,      /* char *, non-empty, at most hi bytes */
    T_ROWS,     /* inline matrix: data.x, data.x_test */
    T_VALUES    /* inline vector: data.y, data.y_test */
};

enum key_id {
    K_SEED, K_DATA, K_MODEL, K_LOSS, K_TRAIN, K_ANALYSIS,
    K_SOURCE, K_DIST, K_D, K_N, K_N_TEST, K_COND, K_NU, K_COMPONENTS,
    K_TARGET, K_TEACHER_WIDTH, K_PARITY_K, K_NOISE, K_FLIP, K_INTERCEPT,
    K_STREAM, K_STANDARDIZE, K_PATH, K_TARGET_COLUMN, K_TEST_FRACTION, K_X, K_Y, K_X_TEST,
    K_Y_TEST,
    K_ARCH, K_BLOCKS, K_UNIT_DEPTH, K_WIDTH, K_ACTIVATION, K_INIT, K_GAIN,
    K_INIT_SCALE, K_INIT_SEED,
    K_OPTIMIZER, K_LR, K_THETA_LR, K_SCHEDULE, K_GAMMA, K_STEP_EVERY,
    K_STEPS, K_BATCH, K_TOL, K_CURVE_POINTS, K_PRECISION,
    K_HESSIAN, K_LANCZOS_ITERS, K_LANCZOS_MEMORY_MIB,
    K_TRACE_PROBES, K_SLQ_PROBES, K_SLQ_ITERS, K_SLQ_BINS,
    K_EXACT_MAX_PARAMS, K_EIG_TOL, K_PATH_POINTS, K_SAVE_PARAMS,
    K_SLICE_POINTS, K_SLICE_RADIUS, K_SLICE_MAX_PARAMS, K_SEED_PAIRS,
    K_COUNT
};

struct key_def {
    enum section sec;            /* where the key lives */
    const char *name;
    enum kind kind;
    size_t off;                  /* offset of the field in run_config */
    double lo, hi;               /* bounds (T_STR: hi = max bytes) */
    bool lo_open, hi_open;       /* strict bounds */
    const char *const *names;    /* T_ENUM */
    unsigned nnames;
    enum section sub;            /* T_SECTION */
    int since;                   /* CONFIG_GEN_* that added the key */
};

#define OFF(f) offsetof(run_config, f)
#define ENUM_OF(f, t) .kind = T_ENUM, .off = OFF(f), .names = t,           \
                      .nnames = sizeof t / sizeof t[0]
#define INT_IN(f, a, b) .kind = T_INT, .off = OFF(f), .lo = a, .hi = b
#define LONG_IN(f, a, b) .kind = T_LONG, .off = OFF(f), .lo = a, .hi = b
#define NUM_IN(f, a, b) .kind = T_NUM, .off = OFF(f), .lo = a, .hi = b
#define BOOL_AT(f) .kind = T_BOOL, .off = OFF(f)

static const struct key_def keys[K_COUNT] = {
    [K_SEED] = {SEC_TOP, "seed", .kind = T_SEED, .off = OFF(seed), .lo = 0, .hi = JSON_INT_MAX},
    [K_DATA] = {SEC_TOP, "data", .kind = T_SECTION, .sub = SEC_DATA},
    [K_MODEL] = {SEC_TOP, "model", .kind = T_SECTION, .sub = SEC_MODEL},
    [K_LOSS] = {SEC_TOP, "loss", ENUM_OF(loss, loss_names)},
    [K_TRAIN] = {SEC_TOP, "train", .kind = T_SECTION, .sub = SEC_TRAIN},
    [K_ANALYSIS] = {SEC_TOP, "analysis", .kind = T_SECTION, .sub = SEC_ANALYSIS},

    [K_SOURCE] = {SEC_DATA, "source", ENUM_OF(data.source, source_names)},
    [K_DIST] = {SEC_DATA, "dist", ENUM_OF(data.dist, dist_names)},
    [K_D] = {SEC_DATA, "d", INT_IN(data.d, 1, CONFIG_MAX_D)},
    [K_N] = {SEC_DATA, "n", INT_IN(data.n, 1, CONFIG_MAX_CELLS)},
    [K_N_TEST] = {SEC_DATA, "n_test", INT_IN(data.n_test, 0, CONFIG_MAX_CELLS)},
    [K_COND] = {SEC_DATA, "cond", NUM_IN(data.cond, 1, INFINITY)},
    [K_NU] = {SEC_DATA, "nu", NUM_IN(data.nu, CONFIG_MIN_NU, INFINITY)},
    [K_COMPONENTS] = {SEC_DATA, "components", INT_IN(data.components, 1, CONFIG_MAX_COMPONENTS)},
    [K_TARGET] = {SEC_DATA, "target", ENUM_OF(data.target, target_names)},
    [K_TEACHER_WIDTH] = {SEC_DATA, "teacher_width", INT_IN(data.teacher_width, 1, CONFIG_MAX_WIDTH)},
    [K_PARITY_K] = {SEC_DATA, "parity_k", INT_IN(data.parity_k, 1, CONFIG_MAX_D)},
    [K_NOISE] = {SEC_DATA, "noise", NUM_IN(data.noise, 0, INFINITY)},
    [K_FLIP] = {SEC_DATA, "flip", NUM_IN(data.flip, 0, 0.5)},
    [K_INTERCEPT] = {SEC_DATA, "intercept", BOOL_AT(data.intercept)},
    [K_STREAM] = {SEC_DATA, "stream", BOOL_AT(data.stream)},
    [K_STANDARDIZE] = {SEC_DATA, "standardize", ENUM_OF(data.standardize, standardize_names)},
    [K_PATH] = {SEC_DATA, "path", .kind = T_STR, .off = OFF(data.path), .hi = CONFIG_MAX_PATH},
    [K_TARGET_COLUMN] = {SEC_DATA, "target_column", .kind = T_STR, .off = OFF(data.target_column), .hi = CONFIG_MAX_COLUMN},
    [K_TEST_FRACTION] = {SEC_DATA, "test_fraction", NUM_IN(data.test_fraction, 0, 1), .hi_open = true},
    [K_X] = {SEC_DATA, "x", .kind = T_ROWS},
    [K_Y] = {SEC_DATA, "y", .kind = T_VALUES},
    [K_X_TEST] = {SEC_DATA, "x_test", .kind = T_ROWS},
    [K_Y_TEST] = {SEC_DATA, "y_test", .kind = T_VALUES},

    [K_ARCH] = {SEC_MODEL, "arch", ENUM_OF(model.arch, arch_names)},
    [K_BLOCKS] = {SEC_MODEL, "blocks", INT_IN(model.blocks, 1, CONFIG_MAX_BLOCKS)},
    [K_UNIT_DEPTH] = {SEC_MODEL, "unit_depth", INT_IN(model.unit_depth, 1, CONFIG_MAX_UNIT_DEPTH)},
    [K_WIDTH] = {SEC_MODEL, "width", INT_IN(model.width, 1, CONFIG_MAX_WIDTH)},
    [K_ACTIVATION] = {SEC_MODEL, "activation", ENUM_OF(model.activation, activation_names)},
    [K_INIT] = {SEC_MODEL, "init", ENUM_OF(model.init, init_names)},
    [K_GAIN] = {SEC_MODEL, "gain", NUM_IN(model.gain, 0, INFINITY), .lo_open = true},
    [K_INIT_SCALE] = {SEC_MODEL, "init_scale", NUM_IN(model.init_scale, 0, INFINITY)},
    [K_INIT_SEED] = {SEC_MODEL, "init_seed", .kind = T_SEED_NULL, .off = OFF(model.init_seed), .lo = 0, .hi = JSON_INT_MAX, .since = CONFIG_GEN_INIT_SEED},

    [K_OPTIMIZER] = {SEC_TRAIN, "optimizer", ENUM_OF(train.optimizer, optimizer_names)},
    [K_LR] = {SEC_TRAIN, "lr", NUM_IN(train.lr, 0, INFINITY), .lo_open = true},
    [K_THETA_LR] = {SEC_TRAIN, "theta_lr", .kind = T_NUM_NULL, .off = OFF(train.theta_lr), .lo = 0, .hi = INFINITY},
    [K_SCHEDULE] = {SEC_TRAIN, "schedule", ENUM_OF(train.schedule, schedule_names)},
    [K_GAMMA] = {SEC_TRAIN, "gamma", NUM_IN(train.gamma, 0, 1), .lo_open = true},
    [K_STEP_EVERY] = {SEC_TRAIN, "step_every", LONG_IN(train.step_every, 0, CONFIG_MAX_STEPS)},
    [K_STEPS] = {SEC_TRAIN, "steps", LONG_IN(train.steps, 0, CONFIG_MAX_STEPS)},
    [K_BATCH] = {SEC_TRAIN, "batch", INT_IN(train.batch, 1, CONFIG_MAX_CELLS)},
    [K_TOL] = {SEC_TRAIN, "tol", NUM_IN(train.tol, 0, INFINITY)},
    [K_CURVE_POINTS] = {SEC_TRAIN, "curve_points", INT_IN(train.curve_points, 0, CONFIG_MAX_CURVE_POINTS)},
    [K_PRECISION] = {SEC_TRAIN, "precision", ENUM_OF(train.precision, precision_names)},

    [K_HESSIAN] = {SEC_ANALYSIS, "hessian", BOOL_AT(analysis.hessian)},
    [K_LANCZOS_ITERS] = {SEC_ANALYSIS, "lanczos_iters", INT_IN(analysis.lanczos_iters, 1, CONFIG_MAX_LANCZOS)},
    [K_LANCZOS_MEMORY_MIB] = {SEC_ANALYSIS, "lanczos_memory_mib", INT_IN(analysis.lanczos_memory_mib, 0, CONFIG_MAX_LANCZOS_MIB), .since = CONFIG_GEN_LANCZOS_MEMORY},
    [K_TRACE_PROBES] = {SEC_ANALYSIS, "trace_probes", INT_IN(analysis.trace_probes, 0, CONFIG_MAX_PROBES), .since = CONFIG_GEN_SPECTRUM},
    [K_SLQ_PROBES] = {SEC_ANALYSIS, "slq_probes", INT_IN(analysis.slq_probes, 0, CONFIG_MAX_SLQ_PROBES), .since = CONFIG_GEN_SPECTRUM},
    [K_SLQ_ITERS] = {SEC_ANALYSIS, "slq_iters", INT_IN(analysis.slq_iters, 1, CONFIG_MAX_LANCZOS), .since = CONFIG_GEN_SPECTRUM},
    [K_SLQ_BINS] = {SEC_ANALYSIS, "slq_bins", INT_IN(analysis.slq_bins, 1, CONFIG_MAX_SLQ_BINS), .since = CONFIG_GEN_SPECTRUM},
    [K_EXACT_MAX_PARAMS] = {SEC_ANALYSIS, "exact_max_params", INT_IN(analysis.exact_max_params, 0, CONFIG_MAX_EXACT_PARAMS), .since = CONFIG_GEN_SPECTRUM},
    [K_EIG_TOL] = {SEC_ANALYSIS, "eig_tol", NUM_IN(analysis.eig_tol, 0, INFINITY), .since = CONFIG_GEN_SPECTRUM},
    [K_PATH_POINTS] = {SEC_ANALYSIS, "path_points", INT_IN(analysis.path_points, 0, CONFIG_MAX_PATH_POINTS), .since = CONFIG_GEN_SPECTRUM},
    [K_SAVE_PARAMS] = {SEC_ANALYSIS, "save_params", BOOL_AT(analysis.save_params), .since = CONFIG_GEN_SAVE_PARAMS},
    [K_SLICE_POINTS] = {SEC_ANALYSIS, "slice_points", INT_IN(analysis.slice_points, 0, CONFIG_MAX_SLICE_POINTS), .since = CONFIG_GEN_LANDSCAPE},
    [K_SLICE_RADIUS] = {SEC_ANALYSIS, "slice_radius", NUM_IN(analysis.slice_radius, 0, CONFIG_MAX_SLICE_RADIUS), .lo_open = true, .since = CONFIG_GEN_LANDSCAPE},
    [K_SLICE_MAX_PARAMS] = {SEC_ANALYSIS, "slice_max_params", INT_IN(analysis.slice_max_params, 0, CONFIG_MAX_PARAMS), .since = CONFIG_GEN_LANDSCAPE},
    [K_SEED_PAIRS] = {SEC_ANALYSIS, "seed_pairs", BOOL_AT(analysis.seed_pairs), .since = CONFIG_GEN_INIT_SEED},
};

#define FIELD(c, k, type) ((type *)((char *)(c) + keys[k].off))
#define CFIELD(c, k, type) ((const type *)((const char *)(c) + keys[k].off))

/* "model.width" (or "seed") into buf. */
static const char *key_path(enum key_id k, char *buf, size_t len)
{
    if (keys[k].sec == SEC_TOP)
        snprintf(buf, len, "%s", keys[k].name);
    else
        snprintf(buf, len, "%s.%s", section_names[keys[k].sec], keys[k].name);
    return buf;
}

static int find_key(enum section sec, const char *name)
{
    for (int k = 0; k < K_COUNT; k++)
        if (keys[k].sec == sec && strcmp(keys[k].name, name) == 0)
            return k;
    return -1;
}

/* ---------------------------------------------------------------------
 * Numbers and values in messages and in the canonical form.
 * ------------------------------------------------------------------- */

/* Shortest of %.15g, %.16g, %.17g that reads back as the identical double:
 * the canonical form must reproduce a run bit for bit (%.17g always does;
 * the shorter forms keep 0.1 as "0.1"). Non-finite values never reach the
 * canonical form; in messages they print as inf/nan. */
static void fmt_num(char *buf, size_t len, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (!isfinite(v) || strtod(buf, NULL) == v)
            return;
    }
}

/* A JSON value as a message shows it: 0.5, "gauss", true, null, an array. */
static const char *describe(const cJSON *v, char *buf, size_t len)
{
    if (cJSON_IsNumber(v))
        fmt_num(buf, len, v->valuedouble);
    else if (cJSON_IsString(v))
        snprintf(buf, len, "\"%.40s%s\"", v->valuestring,
                 strlen(v->valuestring) > 40 ? "..." : "");
    else if (cJSON_IsBool(v))
        snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNull(v))
        snprintf(buf, len, "null");
    else if (cJSON_IsArray(v))
        snprintf(buf, len, "%s", v->child ? "an array" : "an empty array");
    else if (cJSON_IsObject(v))
        snprintf(buf, len, "an object");
    else
        snprintf(buf, len, "an invalid value");
    return buf;
}

/* "an integer in [1, 4096]", "a finite number > 0", "a number in [0, 1)". */
static const char *expectation(enum key_id k, char *buf, size_t len)
{
    const struct key_def *kd = &keys[k];
    char lo[32], hi[32];
    fmt_num(lo, sizeof lo, kd->lo);
    fmt_num(hi, sizeof hi, kd->hi);
    if (kd->kind == T_SEED || kd->kind == T_INT || kd->kind == T_LONG)
        snprintf(buf, len, "an integer in [%s, %s]", lo, hi);
    else if (kd->kind == T_SEED_NULL)
        snprintf(buf, len, "null or an integer in [%s, %s]", lo, hi);
    else if (isinf(kd->hi))
        snprintf(buf, len, "%sa finite number %s %s",
                 kd->kind == T_NUM_NULL ? "null or " : "",
                 kd->lo_open ? ">" : ">=", lo);
    else
        snprintf(buf, len, "a number in %c%s, %s%c", kd->lo_open ? '(' : '[',
                 lo, hi, kd->hi_open ? ')' : ']');
    return buf;
}


/* The key a misspelt `name` in section `sec` most likely meant: a key of
 * the same section within a small edit distance, else a key of that exact
 * name in another section ("lr" at the top means train.lr). -1 if none. */
static int suggest(enum section sec, const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > SUGGEST_MAX)
        return -1;
    int best = -1, best_d = len <= 4 ? 2 : 3; /* accept 1 edit, 2 if longer */
    for (int k = 0; k < K_COUNT; k++) {
        if (keys[k].sec != sec || strlen(keys[k].name) > SUGGEST_MAX)
            continue;
        int dist = suggest_distance(name, keys[k].name);
        if (dist < best_d && dist < (int)len) {
            best = k;
            best_d = dist;
        }
    }
    if (best >= 0)
        return best;
    for (int k = 0; k < K_COUNT; k++)
        if (keys[k].sec != sec && strcmp(keys[k].name, name) == 0)
            return k;
    return -1;
}

/* "<path>: unknown key; did you mean model.width?" or, with no near key,
 * the list of the section's keys. */
static int unknown_key(char *err, size_t errlen, const char *path,
                       enum section sec, const char *name)
{
    char buf[64];
    int k = suggest(sec, name);
    if (k >= 0)
        return err_set(err, errlen, -EINVAL,
                       "%s: unknown key; did you mean %s?", path,
                       key_path(k, buf, sizeof buf));
    char list[400] = "";
    size_t used = 0;
    for (int j = 0; j < K_COUNT && used < sizeof list; j++)
        if (keys[j].sec == sec)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                     used ? ", " : "", keys[j].name);
    return err_set(err, errlen, -EINVAL, "%s: unknown key; expected one of %s",
                   path, list);
}

/* The key a dotted path names (*key), or -EINVAL with the sentence. */
static int path_key(const char *path, int *key, char *err, size_t errlen)
{
    enum section sec = SEC_TOP;
    const char *seg = path;
    for (;;) {
        const char *dot = strchr(seg, '.');
        size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
        char name[SUGGEST_MAX + 2];
        if (len == 0)
            return err_set(err, errlen, -EINVAL,
                           "%s: not a key path (empty name between dots)", path);
        snprintf(name, sizeof name, "%.*s", (int)(len < SUGGEST_MAX + 1 ? len : SUGGEST_MAX + 1), seg);
        int k = len <= SUGGEST_MAX ? find_key(sec, name) : -1;
        if (k < 0)
            return unknown_key(err, errlen, path, sec, name);
        *key = k;
        if (!dot)
            return 0;
        if (keys[k].kind != T_SECTION) {
            char kp[64];
            return err_set(err, errlen, -EINVAL,
                           "%s: unknown key; %s holds a value, not an object",
                           path, key_path(k, kp, sizeof kp));
        }
        sec = keys[k].sub;
        seg = dot + 1;
    }
}

int config_check_path(const char *path, char *err, size_t errlen)
{
    int k;
    return path_key(path, &k, err, errlen);
}

/* ---------------------------------------------------------------------
 * Parsing.
 * ------------------------------------------------------------------- */

struct parse {
    run_config *c;
    bool seen[K_COUNT];
    int x_test_d;              /* row length of data.x_test */
    long y_len, y_test_len;    /* lengths of data.y, data.y_test */
    char *err;
    size_t errlen;
};

static int bad_value(struct parse *p, enum key_id k, const cJSON *v,
                     const char *expected)
{
    char path[64], got[64];
    return err_set(p->err, p->errlen, -EINVAL, "%s: must be %s, got %s",
                   key_path(k, path, sizeof path), expected,
                   describe(v, got, sizeof got));
}

static bool in_bounds(const struct key_def *kd, double x)
{
    if (!isfinite(x) || x < kd->lo || x > kd->hi)
        return false;
    return !(kd->lo_open && x == kd->lo) && !(kd->hi_open && x == kd->hi);
}

/* Integers may be written 5 or 5.0, never 5.5 or true. */
static int parse_integer(struct parse *p, enum key_id k, const cJSON *v)
{
    const struct key_def *kd = &keys[k];
    char exp[128];
    if (kd->kind == T_SEED_NULL && cJSON_IsNull(v)) {
        *FIELD(p->c, k, int64_t) = -1; /* config.h: -1 means "the seed" */
        return 0;
    }
    if (!cJSON_IsNumber(v) || !in_bounds(kd, v->valuedouble) ||
        v->valuedouble != floor(v->valuedouble))
        return bad_value(p, k, v, expectation(k, exp, sizeof exp));
    double x = v->valuedouble;
    if (kd->kind == T_SEED)
        *FIELD(p->c, k, uint64_t) = (uint64_t)x;
    else if (kd->kind == T_SEED_NULL)
        *FIELD(p->c, k, int64_t) = (int64_t)x;
    else if (kd->kind == T_LONG)
        *FIELD(p->c, k, long) = (long)x;
    else
        *FIELD(p->c, k, int) = (int)x;
    return 0;
}

static int parse_number(struct parse *p, enum key_id k, const cJSON *v)
{
    char exp[128];
    if (keys[k].kind == T_NUM_NULL && cJSON_IsNull(v)) {
        *FIELD(p->c, k, double) = -1; /* config.h: -1 means "same as lr" */
        return 0;
    }
    if (!cJSON_IsNumber(v) || !in_bounds(&keys[k], v->valuedouble))
        return bad_value(p, k, v, expectation(k, exp, sizeof exp));
    *FIELD(p->c, k, double) = v->valuedouble;
    return 0;
}

static int parse_enum(struct parse *p, enum key_id k, const cJSON *v)
{
    const struct key_def *kd = &keys[k];
    char list[200] = "", path[64], got[64];
    size_t used = 0;
    for (unsigned i = 0; i < kd->nnames; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                 i ? ", " : "", kd->names[i]);
    if (!cJSON_IsString(v))
        return err_set(p->err, p->errlen, -EINVAL,
                       "%s: must be one of %s, got %s",
                       key_path(k, path, sizeof path), list,
                       describe(v, got, sizeof got));
    for (unsigned i = 0; i < kd->nnames; i++)
        if (strcmp(v->valuestring, kd->names[i]) == 0) {
            *FIELD(p->c, k, int) = (int)i;
            return 0;
        }
    return err_set(p->err, p->errlen, -EINVAL,
                   "%s: unknown value %s; expected one of %s",
                   key_path(k, path, sizeof path),
                   describe(v, got, sizeof got), list);
}

static int parse_string(struct parse *p, enum key_id k, const cJSON *v)
{
    char path[64], exp[64];
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
        return bad_value(p, k, v, "a non-empty string");
    size_t len = strlen(v->valuestring);
    if (len > (size_t)keys[k].hi) {
        snprintf(exp, sizeof exp, "at most %.0f bytes long", keys[k].hi);
        return err_set(p->err, p->errlen, -EINVAL, "%s: must be %s, got %zu",
                       key_path(k, path, sizeof path), exp, len);
    }
    char **slot = FIELD(p->c, k, char *);
    char *s = strdup(v->valuestring);
    if (!s)
        return err_set(p->err, p->errlen, -ENOMEM, "%s: out of memory",
                       key_path(k, path, sizeof path));
    free(*slot);
    *slot = s;
    return 0;
}

/* Reads the numbers of array `v` into dst[0..n-1]; `path` names the array
 * in messages ("data.x[3]"), elements get "[j]" appended. */
static int read_numbers(struct parse *p, const cJSON *v, const char *path,
                        double *dst, long n)
{
    long j = 0;
    for (const cJSON *e = v->child; e; e = e->next, j++) {
        char got[64];
        if (j >= n || !cJSON_IsNumber(e) || !isfinite(e->valuedouble))
            return err_set(p->err, p->errlen, -EINVAL,
                           "%s[%ld]: must be a finite number, got %s", path, j,
                           describe(e, got, sizeof got));
        dst[j] = e->valuedouble;
    }
    return 0;
}

static long array_len(const cJSON *v, long cap)
{
    long n = 0;
    for (const cJSON *e = v->child; e && n <= cap; e = e->next)
        n++;
    return n;
}

/* data.x and data.x_test: a non-empty array of non-empty rows, all of the
 * same length, at most CONFIG_MAX_CELLS numbers in all. */
static int parse_rows(struct parse *p, enum key_id k, const cJSON *v)
{
    char path[64], got[64], row[96];
    key_path(k, path, sizeof path);
    if (!cJSON_IsArray(v) || !v->child)
        return err_set(p->err, p->errlen, -EINVAL,
                       "%s: must be a non-empty array of rows (arrays of "
                       "numbers), got %s", path, describe(v, got, sizeof got));
    const cJSON *first = v->child;
    if (!cJSON_IsArray(first) || !first->child)
        return err_set(p->err, p->errlen, -EINVAL,
                       "%s[0]: must be a non-empty array of numbers, got %s",
                       path, describe(first, got, sizeof got));
    long d = array_len(first, CONFIG_MAX_D);
    if (d > CONFIG_MAX_D)
        return err_set(p->err, p->errlen, -EINVAL,
                       "%s[0]: has more than %d values (features), the limit",
                       path, CONFIG_MAX_D);
    long n = array_len(v, CONFIG_MAX_CELLS / d);
    if (n > CONFIG_MAX_CELLS / d)
        return err_set(p->err, p->errlen, -EINVAL,
                       "%s: more than %ld rows of %ld values, above the limit "
                       "of %ld values per run", path, CONFIG_MAX_CELLS / d, d,
                       CONFIG_MAX_CELLS);
    double *m = malloc((size_t)(n * d) * sizeof *m);
    if (!m)
        return err_set(p->err, p->errlen, -ENOMEM, "%s: out of memory", path);
    double **slot = k == K_X ? &p->c->data.x : &p->c->data.x_test;
    free(*slot);
    *slot = m;
    long i = 0;
    for (const cJSON *r = v->child; r; r = r->next, i++) {
        snprintf(row, sizeof row, "%s[%ld]", path, i);
        if (!cJSON_IsArray(r))
            return err_set(p->err, p->errlen, -EINVAL,
                           "%s: must be an array of numbers, got %s", row,
                           describe(r, got, sizeof got));
        long len = array_len(r, LONG_MAX - 1);
        if (len != d)
            return err_set(p->err, p->errlen, -EINVAL,
                           "%s: has %ld values, %s[0] has %ld", row, len,
                           path, d);
        int rc = read_numbers(p, r, row, m + i * d, d);
        if (rc < 0)
            return rc;
    }
    if (k == K_X) {
        p->c->data.inline_n = (int)n;
        p->c->data.inline_d = (int)d;
    } else {
        p->c->data.inline_n_test = (int)n;
        p->x_test_d = (int)d;
    }
    return 0;
}

/* data.y and data.y_test: a non-empty array of finite numbers. */
static int parse_values(struct parse *p, enum key_id k, const cJSON *v)
{
    char path[64], got[64];
    key_path(k, path, sizeof path);
    if (!cJSON_IsArray(v) || !v->child)
        return err_set(p->err, p->errlen, -EINVAL,
                       "%s: must be a non-empty array of numbers, got %s", path,
                       describe(v, got, sizeof got));
    long n = array_len(v, CONFIG_MAX_CELLS);
    if (n > CONFIG_MAX_CELLS)
        return err_set(p->err, p->errlen, -EINVAL,
                       "%s: more than %ld values, the limit per run", path,
                       CONFIG_MAX_CELLS);
    double *y = malloc((size_t)n * sizeof *y);
    if (!y)
        return err_set(p->err, p->errlen, -ENOMEM, "%s: out of memory", path);
    double **slot = k == K_Y ? &p->c->data.y : &p->c->data.y_test;
    free(*slot);
    *slot = y;
    *(k == K_Y ? &p->y_len : &p->y_test_len) = n;
    return read_numbers(p, v, path, y, n);
}

static int parse_section(struct parse *p, enum section sec, const cJSON *obj);

static int parse_value(struct parse *p, enum key_id k, const cJSON *v)
{
    switch (keys[k].kind) {
    case T_SECTION: return parse_section(p, keys[k].sub, v);
    case T_SEED:
    case T_SEED_NULL:
    case T_INT:
    case T_LONG: return parse_integer(p, k, v);
    case T_NUM:
    case T_NUM_NULL: return parse_number(p, k, v);
    case T_BOOL:
        if (!cJSON_IsBool(v))
            return bad_value(p, k, v, "true or false");
        *FIELD(p->c, k, bool) = cJSON_IsTrue(v);
        return 0;
    case T_ENUM: return parse_enum(p, k, v);
    case T_STR: return parse_string(p, k, v);
    case T_ROWS: return parse_rows(p, k, v);
    case T_VALUES: return parse_values(p, k, v);
    }
    return -EINVAL;
}

static int parse_section(struct parse *p, enum section sec, const cJSON *obj)
{
    const char *sname = sec == SEC_TOP ? "config" : section_names[sec];
    char got[64], path[96];
    if (!cJSON_IsObject(obj))
        return err_set(p->err, p->errlen, -EINVAL,
                       "%s: must be an object, got %s", sname,
                       describe(obj, got, sizeof got));
    for (const cJSON *e = obj->child; e; e = e->next) {
        const char *name = e->string ? e->string : "";
        int k = find_key(sec, name);
        if (sec == SEC_TOP)
            snprintf(path, sizeof path, "%.80s", name);
        else
            snprintf(path, sizeof path, "%s.%.80s", sname, name);
        if (k < 0)
            return unknown_key(p->err, p->errlen, path, sec, name);
        if (p->seen[k])
            return err_set(p->err, p->errlen, -EINVAL,
                           "%s: duplicate key", path);
        p->seen[k] = true;
        int rc = parse_value(p, (enum key_id)k, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------------
 * Which keys mean something for a configuration. A key that does not is
 * rejected when written (it would be silently ignored) and left out of
 * the canonical form. Model and train keys always apply: a sweep over
 * arch or optimizer shares one base, and linear simply has no width.
 * ------------------------------------------------------------------- */

static const char *unused_reason(const run_config *c, enum key_id k,
                                 char *buf, size_t len)
{
    const data_config *dc = &c->data;
    bool synthetic = dc->source == DATA_SYNTHETIC;
    const char *src = config_source_name(dc->source);
    switch (k) {
    case K_DIST: case K_D: case K_N: case K_N_TEST: case K_TARGET:
    case K_STREAM: case K_COND: case K_NU: case K_COMPONENTS:
    case K_TEACHER_WIDTH: case K_PARITY_K: case K_NOISE: case K_FLIP:
        if (!synthetic) {
            snprintf(buf, len, "only used with data.source \"synthetic\", "
                     "not \"%s\"", src);
            return buf;
        }
        break;
    case K_PATH: case K_TARGET_COLUMN:
        if (dc->source != DATA_CSV) {
            snprintf(buf, len, "only used with data.source \"csv\", not \"%s\"", src);
            return buf;
        }
        return NULL;
    case K_X: case K_Y: case K_X_TEST: case K_Y_TEST:
        if (dc->source != DATA_INLINE) {
            snprintf(buf, len, "only used with data.source \"inline\", not \"%s\"", src);
            return buf;
        }
        return NULL;
    case K_TEST_FRACTION:
        if (synthetic) {
            snprintf(buf, len, "only used with data.source \"csv\" or "
                     "\"inline\" (synthetic data has data.n_test)");
            return buf;
        }
        if (dc->source == DATA_INLINE && dc->x_test) {
            snprintf(buf, len, "not used when data.x_test gives the test set");
            return buf;
        }
        return NULL;
    default:
        return NULL;
    }
    /* synthetic from here: keys tied to one distribution, target or loss */
    const char *dist = config_dist_name(dc->dist);
    const char *target = config_target_name(dc->target);
    const char *loss = config_loss_name(c->loss);
    bool classification = config_is_classification(c->loss);
    if (k == K_COND && dc->dist != DIST_GAUSSIAN)
        snprintf(buf, len, "only used with data.dist \"gaussian\", not \"%s\"", dist);
    else if (k == K_NU && dc->dist != DIST_STUDENT_T)
        snprintf(buf, len, "only used with data.dist \"student_t\", not \"%s\"", dist);
    else if (k == K_COMPONENTS && dc->dist != DIST_MIXTURE)
        snprintf(buf, len, "only used with data.dist \"mixture\", not \"%s\"", dist);
    else if (k == K_TEACHER_WIDTH && dc->target != TARGET_TEACHER_MLP &&
             dc->target != TARGET_TEACHER_RESNET)
        snprintf(buf, len, "only used with data.target \"teacher_mlp\" or "
                 "\"teacher_resnet\", not \"%s\"", target);
    else if (k == K_PARITY_K && dc->target != TARGET_PARITY)
        snprintf(buf, len, "only used with data.target \"parity\", not \"%s\"", target);
    else if (k == K_NOISE && classification)
        snprintf(buf, len, "only used with regression losses (squared, "
                 "logcosh), not \"%s\"; labels take data.flip", loss);
    else if (k == K_FLIP && !classification)
        snprintf(buf, len, "only used with classification losses (logistic, "
                 "softplus_hinge), not \"%s\"; regression targets take "
                 "data.noise", loss);
    else
        return NULL;
    return buf;
}

static int check_presence(struct parse *p)
{
    char why[160], path[64];
    for (int k = 0; k < K_COUNT; k++)
        if (p->seen[k] && unused_reason(p->c, k, why, sizeof why))
            return err_set(p->err, p->errlen, -EINVAL, "%s: %s",
                           key_path(k, path, sizeof path), why);
    return 0;
}

int64_t config_param_count(enum arch arch, int64_t d, int64_t h, int64_t L,
                           int64_t B)
{
    int64_t unit = h * d + h + (L - 1) * (h * h + h);
    switch (arch) {
    case ARCH_LINEAR: return d;
    case ARCH_DECOUPLED: return d + h + unit;
    case ARCH_DEEP_RESNET: return d + B * (d * h + unit);
    default: return d + d * h + unit; /* resnet, plain */
    }
}

static int check_inline(struct parse *p)
{
    run_config *c = p->c;
    data_config *dc = &c->data;
    if (!dc->x)
        return err_set(p->err, p->errlen, -EINVAL,
                       "data.x: required with data.source \"inline\"");
    if (!dc->y)
        return err_set(p->err, p->errlen, -EINVAL,
                       "data.y: required with data.source \"inline\"");
    if (p->y_len != dc->inline_n)
        return err_set(p->err, p->errlen, -EINVAL,
                       "data.y: has %ld values, data.x has %d rows", p->y_len,
                       dc->inline_n);
    if (dc->x_test && !dc->y_test)
        return err_set(p->err, p->errlen, -EINVAL,
                       "data.y_test: required with data.x_test");
    if (dc->y_test && !dc->x_test)
        return err_set(p->err, p->errlen, -EINVAL,
                       "data.x_test: required with data.y_test");
    if (dc->x_test) {
        if (p->x_test_d != dc->inline_d)
            return err_set(p->err, p->errlen, -EINVAL,
                           "data.x_test[0]: has %d values, data.x rows have %d",
                           p->x_test_d, dc->inline_d);
        if (p->y_test_len != dc->inline_n_test)
            return err_set(p->err, p->errlen, -EINVAL,
                           "data.y_test: has %ld values, data.x_test has %d rows",
                           p->y_test_len, dc->inline_n_test);
        if ((int64_t)(dc->inline_n + dc->inline_n_test) * dc->inline_d >
            CONFIG_MAX_CELLS)
            return err_set(p->err, p->errlen, -EINVAL,
                           "data.x_test: data.x and data.x_test hold %lld "
                           "values together, more than the limit of %ld per run",
                           (long long)(dc->inline_n + dc->inline_n_test) *
                               dc->inline_d, CONFIG_MAX_CELLS);
    }
    if (!config_is_classification(c->loss))
        return 0;
    /* labels are checked here, at submission, not when a worker loads them */
    for (int pass = 0; pass < 2; pass++) {
        const double *y = pass ? dc->y_test : dc->y;
        int n = pass ? dc->inline_n_test : dc->inline_n;
        for (int i = 0; y && i < n; i++)
            if (y[i] != 1 && y[i] != -1) {
                char got[32];
                fmt_num(got, sizeof got, y[i]);
                return err_set(p->err, p->errlen, -EINVAL,
                               "data.%s[%d]: must be -1 or +1 with loss \"%s\", "
                               "got %s", pass ? "y_test" : "y", i,
                               config_loss_name(c->loss), got);
            }
    }
    return 0;
}

/* Sizes: parameters within CONFIG_MAX_PARAMS, samples x features within
 * CONFIG_MAX_CELLS. A csv file's d is known only when it is read, so its
 * network is checked then (model_new). */
static int check_sizes(struct parse *p)
{
    const run_config *c = p->c;
    const data_config *dc = &c->data;
    if (dc->source == DATA_SYNTHETIC && (dc->target == TARGET_TEACHER_MLP ||
                                         dc->target == TARGET_TEACHER_RESNET) &&
        (int64_t)dc->teacher_width * dc->d > CONFIG_MAX_CELLS)
        return err_set(p->err, p->errlen, -EINVAL,
                       "data.teacher_width: teacher_width * d = %d * %d values, "
                       "more than the limit of %ld", dc->teacher_width, dc->d,
                       CONFIG_MAX_CELLS);
    if (dc->source == DATA_SYNTHETIC) {
        int64_t cells = ((int64_t)dc->n + dc->n_test) * dc->d;
        if (cells > CONFIG_MAX_CELLS)
            return err_set(p->err, p->errlen, -EINVAL,
                           "data.n: (n + n_test) * d = (%d + %d) * %d = %lld "
                           "values, more than the limit of %ld per run",
                           dc->n, dc->n_test, dc->d, (long long)cells,
                           CONFIG_MAX_CELLS);
    }
    if (dc->source == DATA_CSV)
        return 0;
    int64_t d = (dc->source == DATA_SYNTHETIC ? dc->d : dc->inline_d) +
                (dc->intercept ? 1 : 0);
    int64_t np = config_param_count(c->model.arch, d, c->model.width,
                                    c->model.unit_depth, c->model.blocks);
    if (np > CONFIG_MAX_PARAMS)
        return err_set(p->err, p->errlen, -EINVAL,
                       "model.width: a %s network of width %d, unit_depth %d "
                       "and %d block(s) on %lld inputs has %lld parameters, "
                       "more than the limit of %ld",
                       config_arch_name(c->model.arch), c->model.width,
                       c->model.unit_depth, c->model.blocks, (long long)d,
                       (long long)np, CONFIG_MAX_PARAMS);
    if (c->train.optimizer == OPT_SGD && (int64_t)c->train.batch * d > CONFIG_MAX_CELLS)
        return err_set(p->err, p->errlen, -EINVAL,
                       "train.batch: batch * d = %d * %lld values, more than "
                       "the limit of %ld", c->train.batch, (long long)d,
                       CONFIG_MAX_CELLS);
    return 0;
}

static int check_combinations(struct parse *p)
{
    const run_config *c = p->c;
    const data_config *dc = &c->data;
    if (dc->stream && c->train.optimizer != OPT_SGD)
        return err_set(p->err, p->errlen, -EINVAL,
                       "data.stream: needs train.optimizer \"sgd\" (a fresh "
                       "sample at every step), not \"%s\"",
                       config_optimizer_name(c->train.optimizer));
    if (dc->standardize == STANDARDIZE_FEATURES_AND_TARGET &&
        config_is_classification(c->loss))
        return err_set(p->err, p->errlen, -EINVAL,
                       "data.standardize: \"features_and_target\" needs a "
                       "regression loss (squared, logcosh), not \"%s\": "
                       "labels must stay in {-1, +1}; use \"features\"",
                       config_loss_name(c->loss));
    if (dc->standardize != STANDARDIZE_NONE && dc->stream)
        return err_set(p->err, p->errlen, -EINVAL,
                       "data.standardize: must be \"none\" with data.stream "
                       "true (a stream has no training split to take the "
                       "statistics from)");
    if (dc->source == DATA_SYNTHETIC && dc->target == TARGET_PARITY &&
        dc->parity_k > dc->d)
        return err_set(p->err, p->errlen, -EINVAL,
                       "data.parity_k: must be at most data.d = %d, got %d",
                       dc->d, dc->parity_k);
    if (c->model.blocks > 1 && c->model.arch != ARCH_DEEP_RESNET)
        return err_set(p->err, p->errlen, -EINVAL,
                       "model.blocks: must be 1 unless model.arch is "
                       "\"deep_resnet\", got %d with \"%s\"", c->model.blocks,
                       config_arch_name(c->model.arch));
    if (dc->source == DATA_CSV && !dc->path)
        return err_set(p->err, p->errlen, -EINVAL,
                       "data.path: required with data.source \"csv\"");
    if (c->analysis.path_points == 1)
        return err_set(p->err, p->errlen, -EINVAL,
                       "analysis.path_points: must be 0 (no path) or at "
                       "least 2 (the two ends), got 1");
    int sp = c->analysis.slice_points;
    if (sp != 0 && (sp < 3 || sp % 2 == 0))
        return err_set(p->err, p->errlen, -EINVAL,
                       "analysis.slice_points: must be 0 (no slice) or odd "
                       "and at least 3 (a grid with the end point at its "
                       "centre), got %d", sp);
    if (dc->source == DATA_INLINE) {
        int rc = check_inline(p);
        if (rc < 0)
            return rc;
    }
    return check_sizes(p);
}

/* Fields that are not the user's to set: a csv column name defaults to
 * "y"; d, n, n_test of user data are unknown (0) until data_load reads it. */
static int finish(struct parse *p)
{
    data_config *dc = &p->c->data;
    if (dc->source == DATA_CSV && !dc->target_column) {
        dc->target_column = strdup("y");
        if (!dc->target_column)
            return err_set(p->err, p->errlen, -ENOMEM,
                           "data.target_column: out of memory");
    }
    if (dc->source != DATA_SYNTHETIC)
        dc->d = dc->n = dc->n_test = 0;
    return 0;
}

int config_parse(const cJSON *json, run_config *out, char *err, size_t errlen)
{
    run_config c;
    config_defaults(&c);
    struct parse p = {.c = &c, .err = err, .errlen = errlen};
    int rc = parse_section(&p, SEC_TOP, json);
    if (rc == 0)
        rc = check_presence(&p);
    if (rc == 0)
        rc = check_combinations(&p);
    if (rc == 0)
        rc = finish(&p);
    if (rc < 0) {
        config_free(&c);
        config_defaults(out);
        return rc;
    }
    *out = c;
    return 0;
}

int config_parse_str(const char *text, run_config *out, char *err,
                     size_t errlen)
{
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithOpts(text, &end, 1);
    if (!json) {
        int line = 1, col = 1;
        for (const char *s = text; end && s < end && *s; s++)
            if (*s == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        config_defaults(out);
        return err_set(err, errlen, -EINVAL,
                       "config: invalid JSON at line %d, column %d", line, col);
    }
    int rc = config_parse(json, out, err, errlen);
    cJSON_Delete(json);
    return rc;
}

/* ---------------------------------------------------------------------
 * Canonical form: every meaningful key, in table order, numbers that read
 * back as the identical double.
 * ------------------------------------------------------------------- */

struct sb {
    char *buf;
    size_t len, cap;
    bool oom;
    int gen;   /* emit only the keys of this generation (CONFIG_GEN_*) */
};

static void sb_add(struct sb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_add(struct sb *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        /* no pointer arithmetic on the NULL of an empty buffer */
        int n = vsnprintf(b->buf ? b->buf + b->len : NULL, b->cap - b->len,
                          fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *nb = realloc(b->buf, cap);
        if (!nb) {
            b->oom = true;
            return;
        }
        b->buf = nb;
        b->cap = cap;
    }
}

/* A configuration built in code may hold a non-finite number: write null,
 * which keeps the text JSON and makes config_parse name the key. */
static void sb_num(struct sb *b, double v)
{
    char num[40];
    fmt_num(num, sizeof num, v);
    sb_add(b, "%s", isfinite(v) ? num : "null");
}

static void sb_string(struct sb *b, const char *s)
{
    sb_add(b, "\"");
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
        if (*u == '"' || *u == '\\')
            sb_add(b, "\\%c", *u);
        else if (*u < 0x20)
            sb_add(b, "\\u%04x", *u);
        else
            sb_add(b, "%c", *u);
    }
    sb_add(b, "\"");
}

static void sb_vector(struct sb *b, const double *v, long n)
{
    sb_add(b, "[");
    for (long i = 0; i < n; i++) {
        if (i)
            sb_add(b, ",");
        sb_num(b, v[i]);
    }
    sb_add(b, "]");
}

static void sb_rows(struct sb *b, const double *m, long n, long d)
{
    sb_add(b, "[");
    for (long i = 0; i < n; i++) {
        if (i)
            sb_add(b, ",");
        sb_vector(b, m + i * d, d);
    }
    sb_add(b, "]");
}

/* Keys the canonical form writes only when they are not at their
 * default (data.standardize "none", train.precision "float64"): the forms
 * of runs stored before the key existed stay byte for byte what they were
 * (their hashes, their checkpoints), so the key needs no CONFIG_GEN_*.
 * config_value_at still gives their value, the default included. */
static bool default_unwritten(enum key_id k)
{
    return k == K_STANDARDIZE || k == K_PRECISION;
}

/* False for keys left out: not meaningful here, optional and absent, or
 * at a default that is not written (default_unwritten). */
static bool emit_key(const run_config *c, enum key_id k)
{
    char why[160];
    if (unused_reason(c, k, why, sizeof why))
        return false;
    const data_config *dc = &c->data;
    switch (k) {
    case K_PATH: return dc->path != NULL;
    case K_STANDARDIZE: return dc->standardize != STANDARDIZE_NONE;
    case K_PRECISION: return c->train.precision != PRECISION_FLOAT64;
    case K_X: case K_Y: return dc->x && dc->y;
    case K_X_TEST: case K_Y_TEST: return dc->x_test && dc->y_test;
    default: return true;
    }
}

static void emit_value(struct sb *b, const run_config *c, enum key_id k);

static void emit_section(struct sb *b, const run_config *c, enum section sec)
{
    bool first = true;
    sb_add(b, "{");
    for (int k = 0; k < K_COUNT; k++) {
        if (keys[k].sec != sec || keys[k].since > b->gen || !emit_key(c, k))
            continue;
        sb_add(b, "%s\"%s\":", first ? "" : ",", keys[k].name);
        first = false;
        emit_value(b, c, k);
    }
    sb_add(b, "}");
}

static void emit_value(struct sb *b, const run_config *c, enum key_id k)
{
    const data_config *dc = &c->data;
    switch (keys[k].kind) {
    case T_SECTION: emit_section(b, c, keys[k].sub); break;
    case T_SEED: sb_add(b, "%" PRIu64, *CFIELD(c, k, uint64_t)); break;
    case T_SEED_NULL:
        if (*CFIELD(c, k, int64_t) < 0)
            sb_add(b, "null");
        else
            sb_add(b, "%" PRId64, *CFIELD(c, k, int64_t));
        break;
    case T_INT: sb_add(b, "%d", *CFIELD(c, k, int)); break;
    case T_LONG: sb_add(b, "%ld", *CFIELD(c, k, long)); break;
    case T_NUM: sb_num(b, *CFIELD(c, k, double)); break;
    case T_NUM_NULL:
        if (*CFIELD(c, k, double) < 0)
            sb_add(b, "null");
        else
            sb_num(b, *CFIELD(c, k, double));
        break;
    case T_BOOL: sb_add(b, "%s", *CFIELD(c, k, bool) ? "true" : "false"); break;
    case T_ENUM: {
        unsigned v = (unsigned)*CFIELD(c, k, int);
        sb_string(b, v < keys[k].nnames ? keys[k].names[v] : "?");
        break;
    }
    case T_STR: {
        const char *s = *CFIELD(c, k, char *);
        sb_string(b, s ? s : "y"); /* only target_column may be unset */
        break;
    }
    case T_ROWS:
        if (k == K_X)
            sb_rows(b, dc->x, dc->inline_n, dc->inline_d);
        else
            sb_rows(b, dc->x_test, dc->inline_n_test, dc->inline_d);
        break;
    case T_VALUES:
        if (k == K_Y)
            sb_vector(b, dc->y, dc->inline_n);
        else
            sb_vector(b, dc->y_test, dc->inline_n_test);
        break;
    }
}

static char *to_json_gen(const run_config *cfg, int gen)
{
    struct sb b = {.gen = gen};
    emit_section(&b, cfg, SEC_TOP);
    if (b.oom) {
        free(b.buf);
        return NULL;
    }
    return b.buf;
}

char *config_to_json(const run_config *cfg)
{
    return to_json_gen(cfg, CONFIG_GEN_CURRENT);
}

/* Key k of a and b written the same (1), not (0), or out of memory (-1). */
static int same_value(const run_config *a, const run_config *b, enum key_id k)
{
    struct sb x = {0}, y = {0};
    emit_value(&x, a, k);
    emit_value(&y, b, k);
    int r = x.oom || y.oom ? -1 : strcmp(x.buf, y.buf) == 0;
    free(x.buf);
    free(y.buf);
    return r;
}

char *config_to_json_gen(const run_config *cfg, int gen, bool *representable)
{
    run_config def;
    config_defaults(&def);
    *representable = true;
    for (int k = 0; k < K_COUNT; k++) {
        if (keys[k].since <= gen || keys[k].kind == T_SECTION)
            continue;
        int r = same_value(cfg, &def, k);
        if (r <= 0) {
            *representable = r == 0 ? false : true;
            return NULL;
        }
    }
    return to_json_gen(cfg, gen);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

int config_hash(const run_config *cfg, int gen, uint64_t *out)
{
    bool representable = true;
    char *json = gen >= CONFIG_GEN_CURRENT
                 ? config_to_json(cfg) : config_to_json_gen(cfg, gen, &representable);
    *out = json ? fnv1a(json) : 0;
    free(json);
    return json || !representable ? 0 : -ENOMEM;
}

/* Sections, inline arrays and strings that need JSON text: emitted as
 * the canonical form writes them. */
static int value_json(const run_config *c, int k, config_value *out)
{
    struct sb b = {.gen = CONFIG_GEN_CURRENT};
    emit_value(&b, c, k);
    if (b.oom) {
        free(b.buf);
        return -ENOMEM;
    }
    out->type = CONFIG_VALUE_TEXT;
    out->text = out->owned = b.buf;
    return 0;
}

int config_value_at(const run_config *cfg, const char *path,
                    config_value *out, char *err, size_t errlen)
{
    *out = (config_value){.type = CONFIG_VALUE_NULL};
    int k, rc = path_key(path, &k, err, errlen);
    char why[160];
    if (rc < 0 || unused_reason(cfg, k, why, sizeof why) ||
        (!default_unwritten(k) && !emit_key(cfg, k)))
        return rc;
    switch (keys[k].kind) {
    case T_SEED:
        out->type = CONFIG_VALUE_INT;
        out->i = (int64_t)*CFIELD(cfg, k, uint64_t);
        return 0;
    case T_SEED_NULL:
        if (*CFIELD(cfg, k, int64_t) >= 0) {
            out->type = CONFIG_VALUE_INT;
            out->i = *CFIELD(cfg, k, int64_t);
        }
        return 0;
    case T_INT: out->type = CONFIG_VALUE_INT; out->i = *CFIELD(cfg, k, int); return 0;
    case T_LONG: out->type = CONFIG_VALUE_INT; out->i = *CFIELD(cfg, k, long); return 0;
    case T_BOOL: out->type = CONFIG_VALUE_INT; out->i = *CFIELD(cfg, k, bool); return 0;
    case T_NUM_NULL:
        if (*CFIELD(cfg, k, double) < 0)
            return 0;
        /* fall through */
    case T_NUM:
        out->type = CONFIG_VALUE_REAL;
        out->x = *CFIELD(cfg, k, double);
        return 0;
    case T_ENUM: {
        unsigned v = (unsigned)*CFIELD(cfg, k, int);
        out->type = CONFIG_VALUE_TEXT;
        out->text = v < keys[k].nnames ? keys[k].names[v] : "?";
        return 0;
    }
    case T_STR: {
        const char *s = *CFIELD(cfg, k, char *);
        out->type = CONFIG_VALUE_TEXT;
        out->text = s ? s : "y";   /* as emit_value: only target_column */
        return 0;
    }
    default:
        rc = value_json(cfg, k, out);
        return rc < 0 ? err_set(err, errlen, rc, "%s: out of memory", path)
                      : 0;
    }
}

void config_value_free(config_value *v)
{
    free(v->owned);
    v->owned = NULL;
    v->text = NULL;
}

/* ---------------------------------------------------------------------
 * Copy.
 * ------------------------------------------------------------------- */

static bool dup_str(char **dst, const char *src)
{
    *dst = NULL;
    return !src || (*dst = strdup(src)) != NULL;
}

static bool dup_doubles(double **dst, const double *src, long n)
{
    *dst = NULL;
    if (!src)
        return true;
    *dst = malloc((size_t)(n > 0 ? n : 1) * sizeof **dst);
    if (*dst && n > 0)
        memcpy(*dst, src, (size_t)n * sizeof **dst);
    return *dst != NULL;
}

int config_copy(run_config *dst, const run_config *src)
{
    const data_config *s = &src->data;
    run_config c = *src;
    data_config *d = &c.data;
    bool ok = dup_str(&d->path, s->path);
    ok = dup_str(&d->target_column, s->target_column) && ok;
    ok = dup_doubles(&d->x, s->x, (long)s->inline_n * s->inline_d) && ok;
    ok = dup_doubles(&d->y, s->y, s->inline_n) && ok;
    ok = dup_doubles(&d->x_test, s->x_test, (long)s->inline_n_test * s->inline_d) && ok;
    ok = dup_doubles(&d->y_test, s->y_test, s->inline_n_test) && ok;
    if (!ok) {
        config_free(&c);
        config_defaults(dst);
        return -ENOMEM;
    }
    *dst = c;
    return 0;
}
