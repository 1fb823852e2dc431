/* train.c — GD and SGD with curves, checkpoints, cancellation and the §7
 * regret terms. Nothing here allocates inside the step loop: buffers are
 * made in train_run before the first step. */
#include "train.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "loss.h"

#define CKPT_MAGIC "RSWCKPT1"
#define DIVERGE_FACTOR 1e6     /* F above this times its start: diverged */
#define DIVERGE_FLOOR 1e-6     /* ...but never a threshold below this */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double train_lr(const train_config *tc, long t)
{
    if (t < 1)
        t = 1;
    switch (tc->schedule) {
    case SCHED_CONSTANT: return tc->lr;
    case SCHED_INV_SQRT: return tc->lr / sqrt((double)t);
    case SCHED_STEP: {
        long every = tc->step_every > 0 ? tc->step_every : tc->steps / 3;
        if (every < 1)
            every = 1;
        return tc->lr * pow(tc->gamma, (double)((t - 1) / every));
    }
    }
    return NAN;
}

long train_curve_step(int k, int K, long T)
{
    if (k <= 0 || T <= 0)
        return 0;
    if (k >= K - 1)
        return T;
    return (long)floor(pow((double)T, (double)k / (K - 1)));
}

/* ---- the mutable context of one training session ---- */

typedef struct session {
    const train_ctx *tc;
    train_state *st;
    run_result *res;
    size_t np;
    double *grad, *gfull;        /* np */
    double *Xb, *yb;             /* SGD batch */
    /* train.precision float32: the training split (GD) or the batch
     * (SGD) rounded to float, what the steps read */
    float *X32, *y32;
    unsigned char *ckpt;         /* checkpoint buffer */
    double t_start, t_ckpt;
    enum run_poll poll;          /* what the poll hook last said */
} session;

static bool poll_interrupt(void *ctx)
{
    session *s = ctx;
    const run_hooks *h = s->tc->hooks;
    s->poll = h && h->poll ? h->poll(h->ctx) : RUN_CONTINUE;
    return s->poll != RUN_CONTINUE;
}

int train_hash_get(const train_ctx *tc, uint64_t *out)
{
    if (tc->hash && tc->hash->known) {
        *out = tc->hash->value;
        return 0;
    }
    int rc = config_hash(tc->cfg, CONFIG_GEN_CURRENT, out);
    if (rc == 0 && tc->hash)
        *tc->hash = (train_hash){.known = true, .value = *out};
    return rc;
}

static int save_checkpoint(session *s)
{
    const run_hooks *h = s->tc->hooks;
    if (!h || !h->checkpoint)
        return 0;
    uint64_t hash;
    int rc = train_hash_get(s->tc, &hash);
    if (rc)
        return rc;
    s->st->elapsed_s += now_s() - s->t_start;
    s->t_start = now_s();
    train_state_pack(s->st, s->np, hash, s->ckpt);
    checkpoint ck = {.data = s->ckpt, .len = train_state_size(s->np),
                     .step = s->st->step};
    s->t_ckpt = s->t_start;
    return h->checkpoint(h->ctx, &ck);
}

/* At the top of each step: cancel, suspend, or a periodic checkpoint. */
static int between_steps(session *s, char *err, size_t errlen)
{
    const run_hooks *h = s->tc->hooks;
    if (!h)
        return 0;
    if (s->poll == RUN_CONTINUE)
        poll_interrupt(s);
    if (s->poll == RUN_CANCEL)
        return ENGINE_ECANCELED;
    if (s->poll == RUN_SUSPEND) {
        int rc = save_checkpoint(s);
        return rc ? err_set(err, errlen, rc, "checkpoint could not be saved")
                  : ENGINE_ESUSPENDED;
    }
    if (h->checkpoint && h->checkpoint_s > 0 &&
        now_s() - s->t_ckpt >= h->checkpoint_s) {
        int rc = save_checkpoint(s);
        if (rc)
            return err_set(err, errlen, rc, "checkpoint could not be saved");
    }
    return 0;
}

static bool diverging(const train_state *st, double F)
{
    double limit = DIVERGE_FACTOR * st->init_loss;
    return !isfinite(F) || F > (limit > DIVERGE_FLOOR ? limit : DIVERGE_FLOOR);
}

static double norm_range(const double *x, size_t off, size_t len)
{
    double s = 0;
    for (size_t i = off; i < off + len; i++)
        s += x[i] * x[i];
    return s;
}

static bool is_f32(const train_ctx *tc)
{
    return tc->cfg->train.precision == PRECISION_FLOAT32;
}

/* float32 training holds its parameters in float (docs/theory.md
 * §6.11): each update is rounded to float, so theta stays exactly what
 * the float steps read, and a checkpoint (doubles) resumes bit for bit. */
static void round_f32(double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)x[i];
}

static void to_f32(float *dst, const double *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (float)src[i];
}

/* F and grad F of the step over the n rows X, y (the training split for
 * GD, the batch for SGD), in the run's precision: in float32 over their
 * float copies X32, y32 (f32_alloc rounds GD's split once, run_sgd each
 * batch). */
static double step_loss_grad(session *s, const double *X, const double *y,
                             int n)
{
    const train_ctx *tc = s->tc;
    if (is_f32(tc))
        return model_loss_grad_f32(tc->m, s->st->theta, tc->cfg->loss,
                                   s->X32, s->y32, n, s->grad);
    return model_loss_grad(tc->m, s->st->theta, tc->cfg->loss, X, y, n,
                           s->grad, NULL);
}

/* theta -= lr * grad, with theta_lr for the residual unit's parameters. */
static void descend(const train_ctx *tc, double *theta, const double *grad,
                    long t)
{
    const train_config *c = &tc->cfg->train;
    double lr = train_lr(c, t);
    double tlr = c->theta_lr >= 0 ? lr * c->theta_lr / c->lr : lr;
    size_t off, len, np = model_nparams(tc->m);
    model_group(tc->m, MODEL_THETA, &off, &len);
    for (size_t i = 0; i < off; i++)
        theta[i] -= lr * grad[i];
    for (size_t i = off; i < np; i++)
        theta[i] -= tlr * grad[i];
    if (is_f32(tc))
        round_f32(theta, np);
}

/* A curve point at the current step if one is due (or `force`). F and
 * ||grad F|| over the training set are passed in when `known` (GD, whose
 * step measured them, NaN or not), else measured here into SGD's gfull
 * (these passes are not interruptible: a point is measured whole or not at
 * all, so a resumed run stores the same points). Whether they are known is
 * said, not inferred from a NaN: a diverged GD step's NaN norm once sent
 * GD, which has no gfull, to measure into NULL (issue 9 §1). */
static void emit_curve(session *s, bool force, bool known, double F, double gnorm)
{
    const train_ctx *tc = s->tc;
    train_state *st = s->st;
    int K = tc->cfg->train.curve_points;
    long T = tc->cfg->train.steps, t = st->step;
    bool due = K > 0 && st->curve_k < K && train_curve_step(st->curve_k, K, T) <= t;
    if ((!due && !force) || st->curve_last == t || K <= 0)
        return;
    while (st->curve_k < K && train_curve_step(st->curve_k, K, T) <= t)
        st->curve_k++;
    st->curve_last = t;
    const dataset *ds = tc->ds;
    enum loss_kind loss = tc->cfg->loss;
    if (!known) {
        F = model_loss_grad(tc->m, st->theta, loss, ds->X, ds->y, ds->n, s->gfull, NULL);
        gnorm = sqrt(norm_range(s->gfull, 0, s->np));
    }
    curve_point pt = {.step = t, .lr = train_lr(&tc->cfg->train, t),
                      .train_loss = F, .grad_norm = gnorm, .test_loss = NAN,
                      .online_loss = t > 0 && tc->cfg->train.optimizer == OPT_SGD
                                         ? st->sum_f / (double)t : NAN};
    if (ds->n_test > 0)
        pt.test_loss = model_loss_grad(tc->m, st->theta, loss, ds->X_test,
                                       ds->y_test, ds->n_test, NULL, NULL);
    if (tc->hooks && tc->hooks->curve)
        tc->hooks->curve(tc->hooks->ctx, &pt);
}

/* ---- gradient descent ---- */

/* ||grad F|| over the parameters being trained: with theta_lr = 0 the
 * residual unit is frozen, its gradient cannot shrink, and stationarity in
 * (w, V) alone is what docs/theory.md §6.4's certificate needs. */
static double trained_grad_norm(const session *s, double gnorm)
{
    if (s->tc->cfg->train.theta_lr != 0)
        return gnorm;
    size_t off, len;
    model_group(s->tc->m, MODEL_THETA, &off, &len);
    return sqrt(norm_range(s->grad, 0, off));
}

static int run_gd(session *s, char *err, size_t errlen)
{
    const train_ctx *tc = s->tc;
    train_state *st = s->st;
    const dataset *ds = tc->ds;
    long T = tc->cfg->train.steps;
    for (;;) {
        int rc = between_steps(s, err, errlen);
        if (rc)
            return rc;
        /* a long full-batch pass may be abandoned between chunks */
        model_set_interrupt(tc->m, poll_interrupt, s);
        double F = step_loss_grad(s, ds->X, ds->y, ds->n);
        model_set_interrupt(tc->m, NULL, NULL);
        if (isnan(F) && s->poll != RUN_CONTINUE)
            continue; /* handled at the top of the loop */
        double gnorm = sqrt(norm_range(s->grad, 0, s->np));
        if (st->step == 0)
            st->init_loss = F;
        if (diverging(st, F) || !isfinite(gnorm)) {
            s->res->status = RUN_DIVERGED;
            s->res->diverged_step = st->step;
            emit_curve(s, true, true, F, gnorm);
            return 0;
        }
        bool converged = trained_grad_norm(s, gnorm) < tc->cfg->train.tol;
        bool last = converged || st->step >= T;
        emit_curve(s, last, true, F, gnorm);
        if (last) {
            s->res->converged = converged;
            return 0;
        }
        descend(tc, st->theta, s->grad, st->step + 1);
        st->step++;
    }
}

/* ---- stochastic gradient descent ---- */

/* The next mini-batch: fresh samples in stream mode, else rows drawn with
 * replacement from the training set. */
static void draw_batch(session *s, int b)
{
    const train_ctx *tc = s->tc;
    const dataset *ds = tc->ds;
    if (tc->gen) {
        data_gen_draw(tc->gen, &s->st->stream, b, s->Xb, s->yb);
        return;
    }
    for (int i = 0; i < b; i++) {
        uint64_t j = rng_below(&s->st->batch, (uint64_t)ds->n);
        memcpy(s->Xb + (size_t)i * ds->d, ds->X + j * ds->d, sizeof(double) * (size_t)ds->d);
        s->yb[i] = ds->y[j];
    }
}

/* §7 bookkeeping for one step: the linear predictor's loss on the same
 * samples and ||g_t||^2 over z = (output weights, V group). */
static void regret_step(session *s, int b, double f)
{
    const train_ctx *tc = s->tc;
    int d = tc->ds->d;
    double lin = 0;
    for (int i = 0; i < b; i++) {
        double p = 0;
        for (int k = 0; k < d; k++)
            p += tc->u_star[k] * s->Xb[(size_t)i * d + k];
        lin += loss_value(tc->cfg->loss, p, s->yb[i]);
    }
    size_t off, len;
    model_group(tc->m, MODEL_THETA, &off, &len);
    s->st->sum_f += f;
    s->st->sum_lin += lin / b;
    s->st->sum_g2 += norm_range(s->grad, 0, off);
}

static int run_sgd(session *s, char *err, size_t errlen)
{
    const train_ctx *tc = s->tc;
    train_state *st = s->st;
    const dataset *ds = tc->ds;
    long T = tc->cfg->train.steps;
    int b = tc->cfg->train.batch;
    if (st->step == 0) {
        st->init_loss = model_loss_grad(tc->m, st->theta, tc->cfg->loss, ds->X,
                                        ds->y, ds->n, NULL, NULL);
    }
    for (;;) {
        int rc = between_steps(s, err, errlen);
        if (rc)
            return rc;
        emit_curve(s, st->step >= T, false, NAN, NAN);
        if (st->step >= T)
            return 0;
        draw_batch(s, b);
        if (is_f32(tc)) {
            to_f32(s->X32, s->Xb, (size_t)b * (size_t)ds->d);
            to_f32(s->y32, s->yb, (size_t)b);
        }
        double f = step_loss_grad(s, s->Xb, s->yb, b);
        if (diverging(st, f)) {
            s->res->status = RUN_DIVERGED;
            s->res->diverged_step = st->step;
            return 0;
        }
        regret_step(s, b, f);
        descend(tc, st->theta, s->grad, st->step + 1);
        st->step++;
    }
}

/* ---- state ---- */

void train_state_begin(train_state *st, const train_ctx *tc, double *theta)
{
    memset(st, 0, sizeof *st);
    st->theta = theta;
    if (is_f32(tc))
        round_f32(theta, model_nparams(tc->m));
    st->curve_last = -1;
    rng_init(&st->batch, tc->cfg->seed, RNG_BATCH);
    rng_init(&st->stream, tc->cfg->seed, RNG_STREAM);
    /* §7: z_1 = (output weights, V group), z* = (u*, 0) */
    size_t off, len;
    model_group(tc->m, MODEL_V, &off, &len);
    const double *u = theta;
    for (int k = 0; k < tc->ds->d; k++)
        st->z1_dist2 += (u[k] - tc->u_star[k]) * (u[k] - tc->u_star[k]);
    st->z1_dist2 += norm_range(theta, off, len);
}

/* §7 totals, for SGD runs: both sides, and the bound's two terms for
 * decoupled with a constant step (the only case the bound covers). */
static void regret_totals(const train_ctx *tc, const train_state *st,
                          run_result *res)
{
    const train_config *c = &tc->cfg->train;
    if (c->optimizer != OPT_SGD || st->step == 0)
        return;
    double T = (double)st->step;
    res->regret_lhs = st->sum_f / T;
    res->regret_lin = st->sum_lin / T;
    if (tc->cfg->model.arch == ARCH_DECOUPLED && c->schedule == SCHED_CONSTANT) {
        res->regret_dist = st->z1_dist2 / (2 * c->lr * T);
        res->regret_grad = c->lr / (2 * T) * st->sum_g2;
        res->regret_bound = res->regret_lin + res->regret_dist + res->regret_grad;
    }
}

/* The float rows the steps read and the model's float workspace; GD's
 * training split is rounded here, once. */
static int f32_alloc(session *s, const train_ctx *tc)
{
    const dataset *ds = tc->ds;
    bool sgd = tc->cfg->train.optimizer == OPT_SGD;
    size_t rows = sgd ? (size_t)tc->cfg->train.batch : (size_t)ds->n;
    s->X32 = malloc(sizeof(float) * rows * (size_t)ds->d);
    s->y32 = malloc(sizeof(float) * rows);
    if (!s->X32 || !s->y32 || model_use_f32(tc->m) < 0)
        return -ENOMEM;
    if (!sgd) {
        to_f32(s->X32, ds->X, rows * (size_t)ds->d);
        to_f32(s->y32, ds->y, rows);
    }
    return 0;
}

static int session_alloc(session *s, const train_ctx *tc)
{
    size_t np = s->np, d = (size_t)tc->ds->d, b = (size_t)tc->cfg->train.batch;
    s->grad = malloc(sizeof(double) * np);
    if (tc->cfg->train.optimizer == OPT_SGD) {
        /* GD's curve points reuse the step's full gradient */
        s->gfull = malloc(sizeof(double) * np);
        s->Xb = malloc(sizeof(double) * b * d);
        s->yb = malloc(sizeof(double) * b);
    }
    if (tc->hooks && tc->hooks->checkpoint)
        s->ckpt = malloc(train_state_size(np));
    if (is_f32(tc) && f32_alloc(s, tc) < 0)
        return -ENOMEM;
    bool sgd_ok = tc->cfg->train.optimizer != OPT_SGD ||
                  (s->gfull && s->Xb && s->yb);
    bool ck_ok = !(tc->hooks && tc->hooks->checkpoint) || s->ckpt;
    return s->grad && sgd_ok && ck_ok ? 0 : -ENOMEM;
}

/* Mirrors session_alloc and f32_alloc (the model's float workspace is
 * model_f32_bytes, counted by the caller). */
size_t train_bytes(const run_config *cfg, size_t np, int d, int n_train)
{
    size_t n = np, b = (size_t)(cfg->train.batch > 0 ? cfg->train.batch : 0);
    size_t dd = (size_t)(d > 0 ? d : 0), f32 = 0;
    if (cfg->train.optimizer == OPT_SGD)
        n += np + b * dd + b;
    if (cfg->train.precision == PRECISION_FLOAT32) {
        size_t rows = cfg->train.optimizer == OPT_SGD
                      ? b : (size_t)(n_train > 0 ? n_train : 0);
        f32 = sizeof(float) * (rows * dd + rows);
    }
    return sizeof(double) * n + f32 + train_state_size(np);
}

int train_run(const train_ctx *tc, train_state *st, run_result *res,
              char *err, size_t errlen)
{
    session s = {.tc = tc, .st = st, .res = res, .np = model_nparams(tc->m),
                 .poll = RUN_CONTINUE};
    int rc = session_alloc(&s, tc);
    if (rc) {
        err_set(err, errlen, rc, "training: out of memory for %zu parameters", s.np);
        goto out;
    }
    s.t_start = s.t_ckpt = now_s();
    res->status = RUN_DONE;
    rc = tc->cfg->train.optimizer == OPT_GD ? run_gd(&s, err, errlen)
                                             : run_sgd(&s, err, errlen);
    st->elapsed_s += now_s() - s.t_start;
    res->steps = st->step;
    res->init_loss = st->init_loss;
    res->train_s = st->elapsed_s;
    regret_totals(tc, st, res);
out:
    free(s.grad);
    free(s.gfull);
    free(s.Xb);
    free(s.yb);
    free(s.X32);
    free(s.y32);
    free(s.ckpt);
    return rc;
}

int train_checkpoint(const train_ctx *tc, const train_state *st, char *err,
                     size_t errlen)
{
    const run_hooks *h = tc->hooks;
    if (!h || !h->checkpoint)
        return 0;
    size_t np = model_nparams(tc->m);
    uint64_t hash;
    unsigned char *buf = malloc(train_state_size(np));
    if (!buf || train_hash_get(tc, &hash) < 0) {
        free(buf);
        return err_set(err, errlen, -ENOMEM, "checkpoint: out of memory for %zu "
                       "parameters", np);
    }
    train_state_pack(st, np, hash, buf);
    checkpoint ck = {.data = buf, .len = train_state_size(np), .step = st->step};
    int rc = h->checkpoint(h->ctx, &ck);
    free(buf);
    return rc ? err_set(err, errlen, rc, "checkpoint could not be saved") : 0;
}

/* ---- checkpoint bytes: magic, hash, np, then the fields in order ---- */

typedef struct ckpt_head {
    char magic[8];
    uint64_t config_hash, np;
    int64_t step, curve_last;
    int64_t curve_k;
    rng batch, stream;
    double init_loss, sum_f, sum_lin, sum_g2, z1_dist2, elapsed_s;
} ckpt_head;

size_t train_state_size(size_t np)
{
    return sizeof(ckpt_head) + np * sizeof(double);
}

void train_state_pack(const train_state *st, size_t np, uint64_t config_hash,
                      unsigned char *buf)
{
    ckpt_head h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, CKPT_MAGIC, 8);
    h.config_hash = config_hash;
    h.np = np;
    h.step = st->step;
    h.curve_last = st->curve_last;
    h.curve_k = st->curve_k;
    h.batch = st->batch;
    h.stream = st->stream;
    h.init_loss = st->init_loss;
    h.sum_f = st->sum_f;
    h.sum_lin = st->sum_lin;
    h.sum_g2 = st->sum_g2;
    h.z1_dist2 = st->z1_dist2;
    h.elapsed_s = st->elapsed_s;
    memcpy(buf, &h, sizeof h);
    memcpy(buf + sizeof h, st->theta, np * sizeof(double));
}

int train_state_unpack(train_state *st, size_t np, uint64_t config_hash,
                       const unsigned char *buf, size_t len, char *err,
                       size_t errlen)
{
    ckpt_head h;
    if (len != train_state_size(np))
        return err_set(err, errlen, -EINVAL, "checkpoint: %zu bytes, expected "
                       "%zu for %zu parameters", len, train_state_size(np), np);
    memcpy(&h, buf, sizeof h);
    if (memcmp(h.magic, CKPT_MAGIC, 8) != 0)
        return err_set(err, errlen, -EINVAL, "checkpoint: not a resweep checkpoint");
    if (h.config_hash != config_hash || h.np != np)
        return err_set(err, errlen, -EINVAL, "checkpoint: saved for another "
                       "configuration of this run");
    st->step = h.step;
    st->curve_last = h.curve_last;
    st->curve_k = (int)h.curve_k;
    st->batch = h.batch;
    st->stream = h.stream;
    st->init_loss = h.init_loss;
    st->sum_f = h.sum_f;
    st->sum_lin = h.sum_lin;
    st->sum_g2 = h.sum_g2;
    st->z1_dist2 = h.z1_dist2;
    st->elapsed_s = h.elapsed_s;
    memcpy(st->theta, buf + sizeof h, np * sizeof(double));
    return 0;
}
