/* config.h — one run's configuration (docs/theory.md §2–§7) and its JSON form.
 *
 * A run_config is a plain value struct: every field has a default, every
 * enum has a name table, and config_parse() turns the JSON object a user
 * writes (or a sweep expands to) into one, rejecting unknown keys and bad
 * values with a sentence that names the key path ("model.width: must be an
 * integer in [1, 4096], got 0"). config_to_json() gives the canonical form
 * with every default spelled out; that is what the store keeps, so a run
 * can be re-executed bit for bit from its row.
 *
 * The two defaults not spelled out are data.standardize "none" and
 * train.precision "float64" (see CONFIG_GEN_CURRENT): an absent key means
 * its default.
 *
 * Ownership: a parsed run_config owns its strings and inline arrays;
 * release them with config_free(). config_copy() makes an independent copy.
 */
#ifndef RESWEEP_CONFIG_H
#define RESWEEP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

/* Limits, each enforced with an error naming the key (issue 4 §5). */
#define CONFIG_MAX_D          100000      /* input features */
#define CONFIG_MAX_WIDTH      4096        /* hidden width h */
#define CONFIG_MAX_UNIT_DEPTH 256         /* layers per residual unit L */
#define CONFIG_MAX_BLOCKS     256         /* residual units B */
#define CONFIG_MAX_PARAMS     20000000L   /* parameters per model */
#define CONFIG_MAX_CELLS      120000000L  /* (n + n_test) * d per run */
#define CONFIG_MAX_STEPS      1000000000L /* training steps */
#define CONFIG_MAX_CURVE_POINTS 100000
#define CONFIG_MAX_LANCZOS    1000
#define CONFIG_MAX_LANCZOS_MIB 1048576    /* MiB of stored Lanczos basis (1 TiB) */
#define CONFIG_MAX_PROBES     10000       /* Hutchinson probes (each one product) */
#define CONFIG_MAX_SLQ_PROBES 1000        /* SLQ probes (slq_iters products each) */
#define CONFIG_MAX_SLQ_BINS   200         /* bins of a stored spectral density */
#define CONFIG_MAX_EXACT_PARAMS 4000      /* dense Hessian: n^2 doubles, 128 MB */
#define CONFIG_MAX_PATH_POINTS 101        /* points of a stored loss path */
#define CONFIG_MAX_SLICE_POINTS 25        /* points a side of a stored slice */
#define CONFIG_MAX_SLICE_RADIUS 1000.0    /* half-width of a slice's grid */
#define CONFIG_MAX_COMPONENTS 1000        /* mixture components */
/* Smallest student_t nu: below it the chi-square draw underflows to 0 in
 * most tries (at nu = 1e-300 in all of them, issue 9 §3). */
#define CONFIG_MIN_NU         0.01

enum data_source { DATA_SYNTHETIC, DATA_CSV, DATA_INLINE };
enum data_dist {
    DIST_GAUSSIAN, DIST_UNIFORM, DIST_SPHERE, DIST_RADEMACHER,
    DIST_STUDENT_T, DIST_MIXTURE
};
enum data_target {
    TARGET_LINEAR, TARGET_TEACHER_MLP, TARGET_TEACHER_RESNET,
    TARGET_QUADRATIC, TARGET_PARITY, TARGET_SINE
};
enum arch { ARCH_LINEAR, ARCH_RESNET, ARCH_PLAIN, ARCH_DECOUPLED, ARCH_DEEP_RESNET };
enum activation { ACT_RELU, ACT_TANH, ACT_SOFTPLUS, ACT_LEAKY_RELU, ACT_GELU };
enum init_kind { INIT_HE, INIT_XAVIER };
enum loss_kind { LOSS_SQUARED, LOSS_LOGISTIC, LOSS_LOGCOSH, LOSS_SOFTPLUS_HINGE };
enum optimizer { OPT_GD, OPT_SGD };
enum schedule { SCHED_CONSTANT, SCHED_INV_SQRT, SCHED_STEP };
/* train.precision: the arithmetic of the training steps; the end-point
 * analysis is float64 either way (docs/theory.md §6.11). */
enum precision { PRECISION_FLOAT64, PRECISION_FLOAT32 };
/* data.standardize (docs/data.md): centre and scale by the training
 * split's mean and standard deviation. */
enum standardize { STANDARDIZE_NONE, STANDARDIZE_FEATURES,
                   STANDARDIZE_FEATURES_AND_TARGET };

/* docs/theory.md §2. For csv and inline sources, d/n/n_test are filled in when the
 * data are loaded (data_load), not by config_parse. */
typedef struct data_config {
    enum data_source source;     /* "source", default synthetic */
    enum data_dist dist;         /* "dist", default gaussian */
    int d;                       /* "d", default 10 (synthetic) */
    int n;                       /* "n", default 500 */
    int n_test;                  /* "n_test", default 500 */
    double cond;                 /* "cond", default 1: covariance condition number (gaussian) */
    double nu;                   /* "nu", default 3: student_t degrees of freedom, >= CONFIG_MIN_NU */
    int components;              /* "components", default 3 (mixture) */
    enum data_target target;     /* "target", default teacher_mlp */
    int teacher_width;           /* "teacher_width", default 8 */
    int parity_k;                /* "parity_k", default 2, 1 <= k <= d */
    double noise;                /* "noise", default 0.1, regression only */
    double flip;                 /* "flip", default 0, classification only, in [0, 0.5] */
    bool intercept;              /* "intercept", default false: append a constant 1 */
    bool stream;                 /* "stream", default false; needs optimizer sgd */
    char *path;                  /* "path" (csv), owned */
    char *target_column;         /* "target_column" (csv), default "y", owned */
    double test_fraction;        /* "test_fraction", default 0.2 (csv; inline without x_test) */
    enum standardize standardize; /* "standardize", default none; features_and_target
                                    only with a regression loss, none with stream */
    /* inline arrays, row-major, owned; NULL unless source is inline */
    double *x, *y, *x_test, *y_test;
    int inline_n, inline_n_test, inline_d;
} data_config;

/* docs/theory.md §3. */
typedef struct model_config {
    enum arch arch;              /* "arch", default resnet */
    int blocks;                  /* "blocks" B, default 1 (> 1 only for deep_resnet) */
    int unit_depth;              /* "unit_depth" L, default 2 */
    int width;                   /* "width" h, default 16 */
    enum activation activation;  /* "activation", default relu */
    enum init_kind init;         /* "init", default he */
    double gain;                 /* "gain", default 1: multiplies the He/Xavier std */
    double init_scale;           /* "init_scale", default 0.01: std of V, w (and v, u); 0 = zero init */
    int64_t init_seed;           /* "init_seed", default null (-1): the seed of
                                    the initialisation alone (RNG_INIT);
                                    null: the run's seed (config_init_seed) */
} model_config;

/* Training (issue 2 §4). theta_lr < 0 means "same as lr" (JSON null). */
typedef struct train_config {
    enum optimizer optimizer;    /* "optimizer", default gd */
    double lr;                   /* "lr", default 0.05 */
    double theta_lr;             /* "theta_lr", default null (= lr) */
    enum schedule schedule;      /* "schedule", default constant */
    double gamma;                /* "gamma", default 0.1: factor of the step schedule */
    long step_every;             /* "step_every", default 0 = steps/3: period of the step schedule */
    long steps;                  /* "steps", default 2000 */
    int batch;                   /* "batch", default 32 (sgd) */
    double tol;                  /* "tol", default 1e-8: GD stops when ||grad F|| < tol */
    int curve_points;            /* "curve_points", default 100 */
    enum precision precision;    /* "precision", default float64 */
} train_config;

/* docs/theory.md §6.3, §6.6, §6.7, §6.8. Everything but path_points and
 * the slice needs hessian; each of the others is off at 0. */
typedef struct analysis_config {
    bool hessian;                /* "hessian", default true */
    int lanczos_iters;           /* "lanczos_iters", default 60 */
    int lanczos_memory_mib;      /* "lanczos_memory_mib", default 64: past it
                                    the basis is not stored (lanczos.h) */
    int trace_probes;            /* "trace_probes", default 10: Hutchinson */
    int slq_probes;              /* "slq_probes", default 1: SLQ start vectors */
    int slq_iters;               /* "slq_iters", default 30: Lanczos steps each */
    int slq_bins;                /* "slq_bins", default 40: density grid */
    int exact_max_params;        /* "exact_max_params", default 500: dense
                                    Hessian up to this many parameters */
    double eig_tol;              /* "eig_tol", default 1e-4: classification
                                    tolerance, relative to max(1, ||H||) */
    int path_points;             /* "path_points", default 11 (0 off, else
                                    >= 2): path to the linear predictor */
    bool save_params;            /* "save_params", default false: keep the
                                    trained parameters (table run_arrays,
                                    8 bytes each; u* is always kept) */
    int slice_points;            /* "slice_points", default 0 (off; else odd,
                                    >= 3): the 2-D slice's points a side */
    double slice_radius;         /* "slice_radius", default 1: the grid spans
                                    [-r, r]^2 in filter-normalised units */
    int slice_max_params;        /* "slice_max_params", default 100000: no
                                    slice for bigger networks */
    bool seed_pairs;             /* "seed_pairs", default true: the segment
                                    between this run's end point and those
                                    of its job's runs that differ only in
                                    model.init_seed (docs/theory.md §6.9) */
} analysis_config;

typedef struct run_config {
    uint64_t seed;               /* "seed", default 0; any integer in [0, 2^53] */
    data_config data;
    model_config model;
    enum loss_kind loss;         /* "loss", default squared */
    train_config train;
    analysis_config analysis;
} run_config;

/* Fills cfg with every default (a valid configuration on its own). */
void config_defaults(run_config *cfg);

/* Parses and validates a JSON object into *out (defaults for absent keys).
 * Unknown keys, wrong types, out-of-range values and inconsistent
 * combinations (stream without sgd, parity_k > d, blocks > 1 without
 * deep_resnet, keys of another data source...) are rejected: returns
 * -EINVAL and a sentence naming the key path. On error *out holds nothing
 * to free. */
int config_parse(const struct cJSON *json, run_config *out, char *err, size_t errlen);

/* Same, from text. */
int config_parse_str(const char *text, run_config *out, char *err, size_t errlen);

/* Generations of the canonical form: an older resweep's form lacks the
 * keys added since. CONFIG_GEN_0 had neither analysis.lanczos_memory_mib
 * (added in 1) nor the spectrum and path keys (added in 2) nor
 * analysis.save_params (added in 3) nor the slice keys (added in 4)
 * nor model.init_seed and analysis.seed_pairs (added in 5).
 * data.standardize and train.precision need no generation: each is
 * written only when it is not at its default ("none", "float64"), so
 * every earlier form, and its hash, is still the current one. */
enum { CONFIG_GEN_0 = 0, CONFIG_GEN_LANCZOS_MEMORY = 1,
       CONFIG_GEN_SPECTRUM = 2, CONFIG_GEN_SAVE_PARAMS = 3,
       CONFIG_GEN_LANDSCAPE = 4, CONFIG_GEN_INIT_SEED = 5,
       CONFIG_GEN_CURRENT = 5 };

/* The canonical form a resweep of generation gen wrote for cfg: without
 * the keys added after gen. NULL with *representable false when one of
 * those keys is not at its default (no such resweep could have run cfg);
 * NULL with *representable true only when out of memory. For checkpoints
 * written before an upgrade (engine.c). */
char *config_to_json_gen(const run_config *cfg, int gen, bool *representable);

/* FNV-1a of the canonical form of generation gen (CONFIG_GEN_CURRENT:
 * config_to_json's), the value a checkpoint written by a resweep of that
 * generation is tied to. 0 with *out 0 when no resweep of gen could have
 * run cfg (config_to_json_gen's representable false); -ENOMEM. */
int config_hash(const run_config *cfg, int gen, uint64_t *out);

/* Checks that a dotted path ("model.width", "data", "seed") names a key or
 * section of the configuration, for callers that address keys by path (job
 * sweeps). Returns 0, or -EINVAL with "model.widht: unknown key; did you
 * mean model.width?". */
int config_check_path(const char *path, char *err, size_t errlen);

/* Canonical JSON (every key, defaults included), newly allocated; caller
 * frees with free(). NULL only when out of memory. */
char *config_to_json(const run_config *cfg);

/* Deep copy; returns -ENOMEM on failure (dst then holds nothing to free). */
int config_copy(run_config *dst, const run_config *src);

void config_free(run_config *cfg);

/* Parameters of a docs/theory.md §3 network on d inputs (intercept included),
 * width h, L layers per unit, B units: with unit = h d + h + (L-1)(h^2 + h),
 * linear d; resnet and plain d + d h + unit; decoupled d + h + unit;
 * deep_resnet d + B (d h + unit). The one place this count is written. */
int64_t config_param_count(enum arch arch, int64_t d, int64_t h, int64_t L,
                           int64_t B);

/* The seed of the initialisation's stream RNG_INIT: model.init_seed when
 * set, else the run's seed (so a configuration without the key draws the
 * initialisation it always drew). */
uint64_t config_init_seed(const run_config *cfg);

/* Whether the run is an end point of seed pairs (docs/theory.md §6.9):
 * model.init_seed set, analysis.seed_pairs true and analysis.path_points
 * > 0. Such a run keeps its trained parameters as analysis.save_params
 * does (the pair's segment is computed from them after both runs end). */
bool config_seed_pair_run(const run_config *cfg);

/* Whether a finished run keeps its trained parameters (table run_arrays):
 * analysis.save_params, or config_seed_pair_run. */
bool config_keeps_params(const run_config *cfg);

/* True for losses whose targets are labels in {-1, +1}. */
bool config_is_classification(enum loss_kind loss);

/* Names as they appear in JSON and in the store's columns. */
const char *config_source_name(enum data_source v);
const char *config_dist_name(enum data_dist v);
const char *config_target_name(enum data_target v);
const char *config_arch_name(enum arch v);
const char *config_activation_name(enum activation v);
const char *config_init_name(enum init_kind v);
const char *config_loss_name(enum loss_kind v);
const char *config_optimizer_name(enum optimizer v);
const char *config_schedule_name(enum schedule v);
const char *config_standardize_name(enum standardize v);
const char *config_precision_name(enum precision v);

/* The value at a dotted key path ("train.lr", "seed", "data") of cfg as
 * its canonical form writes it, typed for a database column: integers
 * and booleans (0/1) as CONFIG_VALUE_INT, reals as CONFIG_VALUE_REAL,
 * names and strings as CONFIG_VALUE_TEXT, a section or an inline array
 * as CONFIG_VALUE_TEXT holding its JSON; CONFIG_VALUE_NULL for JSON null
 * (train.theta_lr "same as lr", model.init_seed "the seed") and for a key the canonical form leaves
 * out (data.noise of a classification loss). text is borrowed from cfg
 * or a name table, or is `owned`: config_value_free releases that.
 * -EINVAL with a sentence for a path that names no key, -ENOMEM. */
typedef struct config_value {
    enum { CONFIG_VALUE_NULL, CONFIG_VALUE_INT, CONFIG_VALUE_REAL,
           CONFIG_VALUE_TEXT } type;
    int64_t i;
    double x;
    const char *text;
    char *owned;
} config_value;
int config_value_at(const run_config *cfg, const char *path,
                    config_value *out, char *err, size_t errlen);
void config_value_free(config_value *v);

#endif
