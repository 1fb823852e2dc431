/* train.h — full-batch gradient descent and mini-batch SGD (issue 2 §4),
 * with the online-regret bookkeeping of docs/theory.md §7.
 *
 * The whole state of a training run is a train_state: with the run's
 * configuration and data (which are deterministic functions of the seed),
 * it determines every later step bit for bit, so a checkpoint is that
 * struct serialised, and resuming from it gives the uninterrupted result.
 */
#ifndef RESWEEP_TRAIN_H
#define RESWEEP_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "data.h"
#include "engine.h"
#include "model.h"
#include "rng.h"

typedef struct train_state {
    long step;              /* updates done */
    double *theta;          /* parameters, np entries (borrowed) */
    rng batch;              /* SGD sample indices */
    rng stream;             /* fresh samples (stream mode) */
    double init_loss;       /* F at step 0 */
    double sum_f;           /* §7: sum_t f_t(z_t) */
    double sum_lin;         /* §7: sum_t l(u*^T x_t; y_t) */
    double sum_g2;          /* §7: sum_t ||g_t||^2 */
    double z1_dist2;        /* §7: ||z_1 - z*||^2 */
    int curve_k;            /* index of the next log-spaced curve point */
    long curve_last;        /* step of the last curve point, -1 if none */
    double elapsed_s;       /* training seconds before this session */
} train_state;

/* A configuration's checkpoint hash (config_hash), made on first need
 * (train_hash_get): few runs ever take a checkpoint, and writing the
 * canonical form was a tenth of a tiny run's time. */
typedef struct train_hash {
    bool known;
    uint64_t value;
} train_hash;

typedef struct train_ctx {
    const run_config *cfg;
    model *m;
    const dataset *ds;
    const data_gen *gen;      /* stream mode only, else NULL */
    const double *u_star;     /* best linear predictor, ds->d entries */
    const run_hooks *hooks;   /* may be NULL */
    train_hash *hash;         /* ties checkpoints to their configuration;
                               * NULL: computed at each use */
} train_ctx;

/* The hash of tc->cfg's canonical form, cached in tc->hash: 0, or
 * -ENOMEM. */
int train_hash_get(const train_ctx *tc, uint64_t *out);

/* A fresh state at step 0 for theta (already initialised). */
void train_state_begin(train_state *st, const train_ctx *tc, double *theta);

/* Trains from st to the end. Returns 0 with res->status, res->steps,
 * res->converged, res->init_loss and (SGD) the §7 fields set;
 * ENGINE_ECANCELED; ENGINE_ESUSPENDED after handing a checkpoint to the
 * hooks; or a negative code with a sentence. */
int train_run(const train_ctx *tc, train_state *st, run_result *res,
              char *err, size_t errlen);

/* Bytes train_run allocates for a model of np parameters on d inputs
 * and n_train training rows under cfg (gradients, SGD's batch, float32's
 * rows, the checkpoint buffer, which is counted whether or not the hooks
 * take checkpoints); not the model's float workspace (model_f32_bytes).
 * For engine_estimate_bytes. */
size_t train_bytes(const run_config *cfg, size_t np, int d, int n_train);

/* Hands st to tc->hooks->checkpoint (if any): for a run suspended after
 * its training, whose resume then trains no further. 0, or a negative code
 * with a sentence. */
int train_checkpoint(const train_ctx *tc, const train_state *st, char *err,
                     size_t errlen);

/* Checkpoint bytes of a state with np parameters. */
size_t train_state_size(size_t np);
void train_state_pack(const train_state *st, size_t np, uint64_t config_hash,
                      unsigned char *buf);
/* Restores st (st->theta must hold np entries) from bytes; -EINVAL with a
 * sentence when they are not a checkpoint of this configuration. */
int train_state_unpack(train_state *st, size_t np, uint64_t config_hash,
                       const unsigned char *buf, size_t len, char *err,
                       size_t errlen);

/* Step size of update t (1-based) for the output layer and V/v. */
double train_lr(const train_config *tc, long t);

/* Step of curve point k of K over a run of T steps (log-spaced, from 0 to
 * T); increasing in k, with repeats that the caller skips. */
long train_curve_step(int k, int K, long T);

#endif
