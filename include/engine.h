/* engine.h — one run, start to finish: data -> linear baseline -> training
 * -> end-point analysis (DESIGN §2–§7). Knows nothing of sockets or SQLite:
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
#define ENGINE_ESUSPENDED (-1001)  /* the poll hook said suspend; a checkpoint was handed over */

enum run_status { RUN_DONE = 0, RUN_DIVERGED = 1 };

/* What the poll hook asks of a running run. */
enum run_poll { RUN_CONTINUE = 0, RUN_CANCEL = 1, RUN_SUSPEND = 2 };

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

typedef struct run_hooks {
    void *ctx;
    /* A curve point was measured. May be NULL. */
    void (*curve)(void *ctx, const curve_point *pt);
    /* Training state worth keeping; called every checkpoint_s seconds of
     * training and before returning ENGINE_ESUSPENDED. Return 0, or a
     * negative code to fail the run. May be NULL (no checkpoints). */
    int (*checkpoint)(void *ctx, const checkpoint *ck);
    /* Asked between steps and chunks, at least every 100 ms of work. May be
     * NULL (never cancelled). */
    enum run_poll (*poll)(void *ctx);
    double checkpoint_s;       /* <= 0: only on suspend */
    const checkpoint *resume;  /* borrowed; NULL to start from scratch */
} run_hooks;

typedef struct run_result {
    enum run_status status;
    long steps;              /* steps taken */
    long diverged_step;      /* step at which divergence was seen, or -1 */
    bool converged;          /* GD stopped because ||grad F|| < tol */
    long n_params;
    int n, n_test, d;        /* data set actually used (d with intercept) */

    /* DESIGN §6.1 */
    double init_loss;        /* F at the initial parameters */
    double train_loss, test_loss;
    double lin_loss, lin_test_loss;   /* F_lin*, and the test loss of u* */
    double gap;                       /* train_loss - lin_loss */
    double err01, test_err01, lin_err01, lin_test_err01; /* NAN for regression */
    bool separable;                   /* §5, logistic-type losses */
    double lin_grad_norm;             /* ||grad F_lin(u*)|| */
    double u_norm;                    /* ||u*|| */

    /* §6.2 */
    double grad_norm, grad_out, grad_v, grad_theta;
    /* §6.3: NAN when analysis.hessian is false */
    double hess_min, hess_max, hess_min_res, hess_max_res;
    int lanczos_iters;
    /* §6.4 */
    double cert;                      /* c - <a, u*> */
    double cert_grad;                 /* gradient-norm bound; NAN where §6.4 gives none */
    double w_norm, v_norm;            /* ||w|| (output weights), ||V||_2 (or ||v||) */

    /* §7: SGD runs. regret_* NAN otherwise; the bound terms only for
     * decoupled with a constant schedule. */
    double regret_lhs;       /* (1/T) sum_t f_t(z_t) */
    double regret_lin;       /* (1/T) sum_t l(u*^T x_t; y_t) */
    double regret_dist;      /* ||z_1 - z*||^2 / (2 eta T) */
    double regret_grad;      /* (eta / 2T) sum_t ||g_t||^2 */
    double regret_bound;     /* regret_lin + regret_dist + regret_grad */

    double train_s, analysis_s, total_s;
} run_result;

/* Fills every field with its "not measured" value (NAN, -1, false). */
void run_result_clear(run_result *r);

/* Runs cfg to the end. Returns 0 with out->status RUN_DONE or RUN_DIVERGED;
 * ENGINE_ECANCELED or ENGINE_ESUSPENDED when the poll hook asked; or a
 * negative errno code with a sentence (bad data file, resume state that
 * does not match the configuration, out of memory). hooks may be NULL. */
int engine_run(const run_config *cfg, const run_hooks *hooks, run_result *out,
               char *err, size_t errlen);

#endif
