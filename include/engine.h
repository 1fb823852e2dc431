/* engine.h — one run, start to finish: data -> linear baseline -> training
 * -> end-point analysis (docs/theory.md §2–§7). Knows nothing of sockets or SQLite:
 * the caller sees the run through hooks and a result struct.
 *
 * engine_run() is reentrant: any number of threads may run it at once, each
 * with its own config, hooks and result. It allocates what the run needs up
 * front and frees it before returning.
 */
#ifndef RESWEEP_ENGINE_H
#define RESWEEP_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Return codes of engine_run besides 0 (done or diverged: see status). */
#define ENGINE_ECANCELED  (-1000)  /* the poll hook said cancel */
#define ENGINE_ESUSPENDED (-1001)  /* the poll hook said suspend (see run_hooks.poll) */

enum run_status { RUN_DONE = 0, RUN_DIVERGED = 1 };

/* What the poll hook asks of a running run. */
enum run_poll { RUN_CONTINUE = 0, RUN_CANCEL = 1, RUN_SUSPEND = 2 };

/* The phases of a run, in the order they start (docs/theory.md §2–§7). */
enum run_phase {
    RUN_PHASE_DATA = 0,      /* generating or reading the samples */
    RUN_PHASE_BASELINE = 1,  /* the best linear predictor u* (§5) */
    RUN_PHASE_TRAIN = 2,     /* GD or SGD */
    RUN_PHASE_ANALYSIS = 3,  /* the end-point measurements (§6) */
};

/* A point of the training curve; written at log-spaced steps plus the last.
 * Fields a run does not measure are NAN. */
typedef struct curve_point {
    long step;           /* steps taken so far (0 = initial parameters) */
    double lr;           /* step size of the output layer at this step */
    double train_loss;   /* F over the whole training set */
    double test_loss;    /* F over the test set (NAN without one) */
    double grad_norm;    /* ||grad F|| over the whole training set */
    double online_loss;  /* SGD: running mean of the per-step batch losses */
} curve_point;

/* Saved training state, in an opaque, versioned byte string that
 * engine_run accepts back through run_hooks.resume. The bytes are owned by
 * the engine during the checkpoint callback only: copy them to keep them. */
typedef struct checkpoint {
    const void *data;
    size_t len;
    long step;
} checkpoint;

/* An array a run keeps beside its columns (table run_arrays,
 * schema/011_arrays.sql): float64, row-major, at most RUN_ARRAY_MAX_DIMS
 * dimensions. */
#define RUN_ARRAY_MAX_DIMS 4
#define RUN_ARRAY_NAME_LEN 16     /* bytes of a name, NUL included */
#define RUN_ARRAYS_MAX     8      /* u_star and at most 7 parameter arrays */
typedef struct run_array {
    char name[RUN_ARRAY_NAME_LEN];
    int ndim;                     /* 1 .. RUN_ARRAY_MAX_DIMS */
    long shape[RUN_ARRAY_MAX_DIMS];
    double *data;                 /* shape[0] * ... * shape[ndim-1] values */
} run_array;

/* What a finished run keeps (docs/theory.md §5 and §3): "u_star" (d), the
 * best linear predictor, always; with analysis.save_params, or as a seed
 * pair's end point (config_keeps_params), its trained
 * parameters, named as model.h lays them out: "w" or "u" (d), "V" (d, h),
 * "v" (h, decoupled), "W1" (h, d), "b1" (h) and, when unit_depth L > 1,
 * "W_hidden" (L-1, h, h) and "b_hidden" (L-1, h) for layers 2..L; a
 * deep_resnet's V, W1, b1, W_hidden and b_hidden carry its B blocks as a
 * first dimension. */
typedef struct run_arrays {
    int n;
    run_array a[RUN_ARRAYS_MAX];
} run_arrays;

/* Values of one array (the product of its shape). */
size_t run_array_count(const run_array *a);
/* A deep copy in a single allocation (release it with free()); NULL when
 * out of memory. */
run_arrays *run_arrays_copy(const run_arrays *src);
/* The stored form of values (table run_arrays, the wire, .npy files):
 * little-endian IEEE 754 float64, 8 bytes each. run_array_host_le: the
 * host's doubles already are that. */
bool run_array_host_le(void);
void run_array_to_le(const double *src, size_t n, unsigned char *dst);
void run_array_from_le(const unsigned char *src, size_t n, double *dst);
/* The array named name, or NULL. */
const run_array *run_arrays_find(const run_arrays *as, const char *name);

typedef struct run_hooks {
    void *ctx;
    /* A curve point was measured. May be NULL. */
    void (*curve)(void *ctx, const curve_point *pt);
    /* Training state worth keeping; called every checkpoint_s seconds of
     * training and before returning ENGINE_ESUSPENDED. Return 0, or a
     * negative code to fail the run. May be NULL (no checkpoints). */
    int (*checkpoint)(void *ctx, const checkpoint *ck);
    /* Asked at least every 100 ms of work in every phase: between
     * training steps and chunks of a step, and, in the other phases, at
     * most every 10 ms between rows and blocks (src/engine/poller.h; the
     * README's reliability section lists the LAPACK calls that cannot be
     * split). RUN_CANCEL ends the run with ENGINE_ECANCELED. RUN_SUSPEND
     * ends it with ENGINE_ESUSPENDED after handing the training state to
     * `checkpoint`: during training, the state reached; during the
     * analysis, the finished training (a resume goes straight to the
     * analysis); before training, none (there is no state worth keeping:
     * the data and the baseline are recomputed from the configuration, so
     * a resume starts from its last checkpoint or the beginning). May be
     * NULL (never cancelled). */
    enum run_poll (*poll)(void *ctx);
    /* The run's arrays (run_arrays), once, just before engine_run returns
     * 0 (done or diverged); borrowed for the call: copy them to keep
     * them. Return 0, or a negative code to fail the run (out of memory
     * for the copy). May be NULL. */
    int (*arrays)(void *ctx, const run_arrays *a);
    /* The run enters a phase; for logs and tests. May be NULL. */
    void (*phase)(void *ctx, enum run_phase phase);
    double checkpoint_s;       /* <= 0: only on suspend */
    const checkpoint *resume;  /* borrowed; NULL to start from scratch */
} run_hooks;

/* A run's measurements, as X(field, column, TYPE, doc): the one list that
 * makes the struct below, the results table's insert and read-back in the
 * store, and the check of schema/ against it (tests/store). TYPE is REAL
 * (double; NAN = not measured, stored NULL), COUNT (long) or INT (int),
 * both stored NULL when negative, or BOOL. Adding a field here needs a
 * migration adding its column to `results` (schema/). */
#define RUN_RESULT_COLUMNS(X)                                                  \
    X(steps, steps_done, COUNT, "steps taken")                                 \
    X(diverged_step, diverged_step, COUNT, "step at which divergence was seen, or -1") \
    X(converged, converged, BOOL, "GD stopped because ||grad F|| < tol")      \
    X(n_params, n_params, COUNT, "parameters of the network")                 \
    X(n, n_used, INT, "training samples used")                                \
    X(n_test, n_test_used, INT, "test samples used")                          \
    X(d, d_used, INT, "input dimension used (with the intercept)")            \
    /* docs/theory.md §6.1 */                                                          \
    X(init_loss, init_loss, REAL, "F at the initial parameters")              \
    X(train_loss, train_loss, REAL, "F at the end point")                     \
    X(test_loss, test_loss, REAL, "F over the test set")                      \
    X(lin_loss, lin_loss, REAL, "F_lin*, the best linear predictor's loss")   \
    X(lin_test_loss, lin_test_loss, REAL, "the test loss of u*")              \
    X(gap, gap, REAL, "train_loss - lin_loss")                                \
    X(err01, err01, REAL, "0-1 error (classification; NAN for regression)")   \
    X(test_err01, test_err01, REAL, "test 0-1 error")                         \
    X(lin_err01, lin_err01, REAL, "0-1 error of u*")                          \
    X(lin_test_err01, lin_test_err01, REAL, "test 0-1 error of u*")           \
    X(separable, separable, BOOL, "§5: logistic-type loss, separable data")   \
    X(lin_grad_norm, lin_grad_norm, REAL, "||grad F_lin(u*)||")               \
    X(u_norm, u_norm, REAL, "||u*||")                                         \
    /* §6.2 */                                                                 \
    X(grad_norm, grad_norm, REAL, "||grad F||")                               \
    X(grad_out, grad_out, REAL, "||grad F|| of the output weights w (or u)")  \
    X(grad_v, grad_v, REAL, "||grad F|| of V (or v)")                         \
    X(grad_theta, grad_theta, REAL, "||grad F|| of theta")                    \
    /* §6.3: NAN (NULL) when analysis.hessian is false */                      \
    X(hess_min, hess_min, REAL, "smallest Hessian eigenvalue (Lanczos)")      \
    X(hess_max, hess_max, REAL, "largest Hessian eigenvalue (Lanczos)")       \
    X(hess_min_res, hess_min_res, REAL, "residual of hess_min")               \
    X(hess_max_res, hess_max_res, REAL, "residual of hess_max")               \
    X(lanczos_iters, lanczos_iters, INT, "Lanczos iterations run")            \
    X(hess_converged, hess_converged, INT, "1: both residuals within LANCZOS_RTOL of max(|hess_min|, |hess_max|); 0: not, hess_min only bounds the smallest eigenvalue from above") \
    X(lanczos_capped, lanczos_capped, INT, "1: the basis exceeded analysis.lanczos_memory_mib: two passes, no reorthogonalisation") \
    /* §6.6: NAN/NULL without analysis.hessian or with the key at 0 */          \
    X(hess_trace, hess_trace, REAL, "tr H by Hutchinson's estimator (analysis.trace_probes Rademacher probes)") \
    X(hess_trace_se, hess_trace_se, REAL, "standard error of hess_trace (NAN with one probe)") \
    X(class_tol, class_tol, REAL, "tolerance of the classification: eig_tol * max(1, ||H||)") \
    X(hess_neg_est, hess_neg_est, REAL, "n_params * SLQ mass below -class_tol: estimated number of eigenvalues below it") \
    X(hess_neg_exact, hess_neg_exact, COUNT, "eigenvalues below -class_tol of the dense Hessian; -1 (NULL) above analysis.exact_max_params") \
    X(point_class, point_class, INT, "enum point_class: 0 minimum, 1 saddle, 2 flat; -1 (NULL) not classified") \
    /* §6.4 */                                                                 \
    X(cert, cert, REAL, "the certificate c - <a, u*> >= gap")                 \
    X(cert_grad, cert_grad, REAL, "gradient-norm bound; NAN where §6.4 gives none") \
    X(w_norm, w_norm, REAL, "||w|| (output weights)")                         \
    X(v_norm, v_norm, REAL, "||V||_2 (or ||v||)")                             \
    /* §6.7: resnet and decoupled with analysis.path_points > 0 */           \
    X(path_barrier, path_barrier, REAL, "max of F on the segment to the linear point, minus its larger end; >= 0") \
    /* §7: SGD runs; the bound terms only for decoupled, constant schedule */  \
    X(regret_lhs, regret_lhs, REAL, "(1/T) sum_t f_t(z_t)")                   \
    X(regret_lin, regret_lin, REAL, "(1/T) sum_t l(u*^T x_t; y_t)")           \
    X(regret_dist, regret_dist, REAL, "||z_1 - z*||^2 / (2 eta T)")           \
    X(regret_grad, regret_grad, REAL, "(eta / 2T) sum_t ||g_t||^2")           \
    X(regret_bound, regret_bound, REAL, "regret_lin + regret_dist + regret_grad") \
    X(train_s, train_s, REAL, "seconds of training")                          \
    X(analysis_s, analysis_s, REAL, "seconds of end-point analysis")          \
    X(total_s, total_s, REAL, "seconds in all")

#define RUN_RESULT_CTYPE_REAL  double
#define RUN_RESULT_CTYPE_COUNT long
#define RUN_RESULT_CTYPE_INT   int
#define RUN_RESULT_CTYPE_BOOL  bool

/* docs/theory.md §6.6: what the curvature at the end point says. */
enum point_class {
    POINT_UNCLASSIFIED = -1,  /* no Hessian analysis */
    POINT_MINIMUM = 0,        /* no eigenvalue below -class_tol */
    POINT_SADDLE = 1,         /* one below -class_tol, certified */
    POINT_FLAT = 2            /* every eigenvalue within class_tol of 0 */
};

/* The curves of §6.6 and §6.7 (and the slice of §6.8), beside the columns: fixed-size, so that a
 * run_result stays a value the writer copies (tables spectra and paths;
 * 2.5 KB). */
typedef struct run_spectrum {
    int bins;                  /* 0: no density */
    double lo, hi;             /* the grid: bin b is [lo + b w, lo + (b+1) w) */
    double mass[CONFIG_MAX_SLQ_BINS];  /* fraction of eigenvalues per bin */
} run_spectrum;

typedef struct run_path {
    int points;                /* 0: no path; else t_i = i / (points - 1) */
    double loss[CONFIG_MAX_PATH_POINTS];
} run_path;

/* §6.8: F on the points x points grid, loss[i * points + j] at
 * theta + a_i d1 + b_j d2 (slice.h gives a_i); table slices (5 KB). */
typedef struct run_slice {
    int points;                /* 0: no slice; else odd, centre at the end point */
    double radius;
    double loss[CONFIG_MAX_SLICE_POINTS * CONFIG_MAX_SLICE_POINTS];
} run_slice;

typedef struct run_result {
    enum run_status status;
#define X(field, column, type, doc) RUN_RESULT_CTYPE_##type field;
    RUN_RESULT_COLUMNS(X)
#undef X
    run_spectrum spectrum;
    run_path path;
    run_slice slice;
} run_result;

/* Loads and configures the BLAS (one thread per run, the kernel for this
 * CPU); engine_run calls it too, so this only moves its cost and its
 * failure to start-up. 0, or a negative code with a sentence. */
int engine_init(char *err, size_t errlen);
/* "kernel (library)" of the BLAS in use, for logs; after engine_init. */
void engine_blas_describe(char *buf, size_t len);

/* Fills every field with its "not measured" value: NAN, false, 0, and -1
 * for diverged_step, hess_converged, lanczos_capped, hess_neg_exact and
 * point_class; no spectrum, no path. */
void run_result_clear(run_result *r);

/* Runs cfg to the end. Returns 0 with out->status RUN_DONE or RUN_DIVERGED;
 * ENGINE_ECANCELED or ENGINE_ESUSPENDED when the poll hook asked; or a
 * negative errno code with a sentence (bad data file, resume state that
 * does not match the configuration, out of memory). hooks may be NULL. */
int engine_run(const run_config *cfg, const run_hooks *hooks, run_result *out,
               char *err, size_t errlen);

/* A run's peak memory in bytes, estimated from its configuration before
 * it runs, for admitting runs under a memory budget (issue 9): an upper
 * bound on what engine_run(cfg) allocates at its peak (data, linear fit,
 * model and training buffers, the Hessian's workspace and Lanczos basis)
 * plus what a worker holds for the run (the configuration's text, its
 * parsed inline arrays and parse tree, copies of its checkpoint) plus
 * ENGINE_ESTIMATE_BASE_BYTES. Tested to be at least what a run uses and
 * at most twice that plus the base (tests/engine/test_estimate.c).
 *
 * Synthetic and inline sizes come from the configuration. A CSV file is
 * measured: its header and its lines, read without parsing (one pass over
 * the file, repeated only when the file changes); a file that cannot be
 * read counts as empty, since the run will fail on it. cfg is a parsed,
 * valid configuration. Thread-safe. */
#define ENGINE_ESTIMATE_BASE_BYTES ((size_t)4 << 20)
size_t engine_estimate_bytes(const run_config *cfg);

/* What engine_run would refuse in cfg's data file, found by reading its
 * header and at most its first ENGINE_CHECK_ROWS rows (a file that is
 * missing, unreadable or not a regular file; a missing target column; a
 * cell that is not a number; a label not in {-1, +1} for a
 * classification loss), with the sentence and line the run would fail
 * with. 0 for sources other than csv. The run checks the whole file
 * again: it may change after submission. */
#define ENGINE_CHECK_ROWS 10000

/* A run's training and test samples, row-major (X[i*d + j]; d counts the
 * intercept column). Owned: release with engine_data_free. */
typedef struct run_data {
    int n, d, n_test;
    double *X, *y, *X_test, *y_test;   /* the test pair NULL when n_test is 0 */
} run_data;

/* The samples engine_run(cfg) trains and tests on, made again from the
 * configuration alone: synthetic data from its seed, inline data from
 * its arrays, a CSV file read and split again (the same file gives the
 * same split; a changed file, another one). 0, or data_load's error
 * sentence (a missing file, a bad cell with its line). For `resweep
 * export`, which stores no rows (README, "Exporting a run"). */
int engine_regenerate_data(const run_config *cfg, run_data *out, char *err,
                           size_t errlen);
void engine_data_free(run_data *rd);
/* F_lin(u) = (1/n) sum_i l(u^T x_i; y_i) over rd's training rows
 * (docs/theory.md §5): at the stored u* it is the run's lin_loss to
 * rounding when rd are the run's rows, the export's check. */
double engine_linear_loss(enum loss_kind loss, const run_data *rd,
                          const double *u);
int engine_check_data(const run_config *cfg, char *err, size_t errlen);

/* docs/theory.md §6.9: F along the segment between the end points of two
 * runs whose configurations differ only in model.init_seed (a seed pair;
 * table pairs, schema/012_pairs.sql). */
typedef struct run_pair {
    double f_a, f_b;   /* F at theta_a and theta_b: the runs' train_loss */
    double f_max;      /* the largest F of the points (NAN if one is) */
    double barrier;    /* f_max - max(f_a, f_b) >= 0 (NAN if a point is) */
    run_path curve;    /* F at t_i = i / (points - 1) */
} run_pair;

/* The segment (1 - t) theta_a + t theta_b at cfg's analysis.path_points
 * points t_i = i / (points - 1), where theta_a and theta_b are the
 * parameters in the arrays a and b (engine.h's names; a finished run
 * keeps them under config_keeps_params), on the training rows of cfg made
 * again as engine_regenerate_data makes them. cfg is either run's
 * configuration: a pair's differ only in model.init_seed, which the data
 * do not draw from. The ends are the vectors bit for bit and the network
 * is sized as the run's was, so f_a and f_b are the runs' train_loss.
 * hooks may be NULL; only its poll is asked (RUN_CANCEL or RUN_SUSPEND
 * stop it: ENGINE_ECANCELED / ENGINE_ESUSPENDED, no sentence). 0, or a
 * negative code with a sentence: path_points 0, an array missing or of
 * another shape (naming which run), data that cannot be made again (a
 * CSV file that is gone), out of memory. Reentrant, as engine_run. */
int engine_pair_segment(const run_config *cfg, const run_arrays *a,
                        const run_arrays *b, const run_hooks *hooks,
                        run_pair *out, char *err, size_t errlen);

#endif
