/* engine.c — one run: data -> linear baseline -> training -> analysis
 * (docs/theory.md §2–§7). */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis.h"
#include "blas.h"
#include "data.h"
#include "err.h"
#include "linfit.h"
#include "loss.h"
#include "model.h"
#include "poller.h"
#include "smallgemm.h"
#include "train.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void run_result_clear(run_result *r)
{
    memset(r, 0, sizeof *r);
#define X(field, column, type, doc)                                          \
    r->field = _Generic(r->field, double: (double)NAN, default: r->field);
    RUN_RESULT_COLUMNS(X)
#undef X
    r->diverged_step = -1;
    r->hess_converged = -1;
    r->lanczos_capped = -1;
    r->hess_neg_exact = -1;
    r->point_class = POINT_UNCLASSIFIED;
}

/* Everything one run holds; freed in one place. */
typedef struct run_env {
    dataset ds;
    data_gen *gen;
    model *m;
    double *theta, *u_star;
    train_hash hash;           /* the train_ctx's, filled on first need */
} run_env;

static void env_free(run_env *e)
{
    data_free(&e->ds);
    data_gen_free(e->gen);
    model_free(e->m);
    free(e->theta);
    free(e->u_star);
}

/* §5: F_lin*, u*, and their train/0-1 measures. */
static int baseline(const run_config *cfg, run_env *e, run_result *out,
                    poller *pl, char *err, size_t errlen)
{
    const dataset *ds = &e->ds;
    e->u_star = calloc((size_t)ds->d, sizeof *e->u_star);
    if (!e->u_star)
        return err_set(err, errlen, -ENOMEM, "out of memory");
    linfit_result lf;
    int rc = linfit_solve(cfg->loss, ds->X, ds->y, ds->n, ds->d, e->u_star,
                          &lf, pl, err, errlen);
    if (rc)
        return rc;
    out->lin_loss = lf.loss;
    out->lin_grad_norm = lf.grad_norm;
    out->u_norm = lf.u_norm;
    out->separable = lf.separable;
    if (ds->classification) {
        int wrong = 0;
        for (int i = 0; i < ds->n; i++) {
            double p = 0;
            for (int k = 0; k < ds->d; k++)
                p += e->u_star[k] * ds->X[(size_t)i * ds->d + k];
            wrong += ((p >= 0) ? 1.0 : -1.0) != ds->y[i];
            if ((rc = poller_tick(pl, (uint64_t)ds->d)))
                return rc;
        }
        out->lin_err01 = (double)wrong / ds->n;
    }
    return 0;
}

static int build_model(const run_config *cfg, run_env *e, run_result *out,
                       char *err, size_t errlen)
{
    model_shape sh = model_shape_from_config(&cfg->model, e->ds.d);
    int rows = model_run_rows(cfg, e->ds.n, e->ds.n_test);
    e->m = model_new(&sh, model_chunk_for(&sh, rows), err, errlen);
    if (!e->m)
        return -ENOMEM;
    out->n_params = (long)model_nparams(e->m);
    e->theta = malloc(sizeof *e->theta * model_nparams(e->m));
    if (!e->theta)
        return err_set(err, errlen, -ENOMEM, "out of memory for %ld parameters",
                       out->n_params);
    return 0;
}

/* Fresh initialisation, or the state of hooks->resume. */
static int start_state(const run_config *cfg, const run_hooks *hooks,
                       const train_ctx *tc, run_env *e, train_state *st,
                       char *err, size_t errlen)
{
    rng r;
    rng_init(&r, config_init_seed(cfg), RNG_INIT);
    model_init_params(e->m, &cfg->model, &r, e->theta);
    train_state_begin(st, tc, e->theta);
    if (!hooks || !hooks->resume)
        return 0;
    /* A checkpoint is accepted by the configuration that wrote it: by
     * its canonical form's hash, or, for one written by an older resweep
     * before an upgrade (SIGTERM checkpoints every running run), by the
     * hash that resweep's generation g (config.h) wrote for the same
     * configuration, when it could have run it. */
    uint64_t h;
    int rc = train_hash_get(tc, &h);
    if (rc)
        return err_set(err, errlen, rc, "out of memory");
    rc = train_state_unpack(st, model_nparams(e->m), h, hooks->resume->data,
                            hooks->resume->len, err, errlen);
    for (int g = CONFIG_GEN_CURRENT - 1; rc == -EINVAL && g >= 0; g--) {
        int hr = config_hash(cfg, g, &h);
        if (hr)
            return err_set(err, errlen, hr, "out of memory");
        if (h)
            rc = train_state_unpack(st, model_nparams(e->m), h,
                                    hooks->resume->data, hooks->resume->len,
                                    err, errlen);
    }
    return rc;
}

/* A diverged run keeps the loss it reached; no analysis is meaningful. */
static void diverged_end(const run_config *cfg, run_env *e, run_result *out)
{
    out->train_loss = model_loss_grad(e->m, e->theta, cfg->loss, e->ds.X,
                                      e->ds.y, e->ds.n, NULL, NULL);
    out->gap = out->train_loss - out->lin_loss;
}

/* u* and, under analysis.save_params or as a seed pair's end point
 * (config_keeps_params), the parameters, to the arrays hook (engine.h). The gathered copy of theta lives for the call only. */
static int hand_arrays(const run_config *cfg, const run_hooks *hooks,
                       run_env *e, char *err, size_t errlen)
{
    if (!hooks || !hooks->arrays)
        return 0;
    run_arrays as = {.n = 1};
    as.a[0] = (run_array){.name = "u_star", .ndim = 1,
                          .shape = {e->ds.d}, .data = e->u_star};
    double *buf = NULL;
    if (config_keeps_params(cfg)) {
        if (!(buf = malloc(sizeof *buf * model_nparams(e->m))))
            return err_set(err, errlen, -ENOMEM, "out of memory for a copy "
                           "of the %zu parameters (analysis.save_params)",
                           model_nparams(e->m));
        model_param_arrays(e->m, e->theta, buf, &as);
    }
    int rc = hooks->arrays(hooks->ctx, &as);
    free(buf);
    if (rc < 0 && err && errlen && !err[0])
        err_set(err, errlen, rc, "the run's arrays could not be kept (out "
                "of memory)");
    return rc;
}

int engine_init(char *err, size_t errlen)
{
    return blas_init(err, errlen);
}

void engine_blas_describe(char *buf, size_t len)
{
    snprintf(buf, len, "%s (%s); small products: %s", blas_kernel(),
             blas_library(), smallgemm_enabled()
                 ? smallgemm_target() : "OpenBLAS (RESWEEP_SMALLGEMM=off)");
}

static void enter(const run_hooks *hooks, enum run_phase phase)
{
    if (hooks && hooks->phase)
        hooks->phase(hooks->ctx, phase);
}

/* The end-point analysis; a suspend there hands over the finished
 * training, so that the resumed run only analyses (engine.h). */
static int analyse(const run_config *cfg, run_env *e, const train_ctx *tc,
                   const train_state *st, poller *pl, run_result *out,
                   char *err, size_t errlen)
{
    enter(tc->hooks, RUN_PHASE_ANALYSIS);
    double t1 = now_s();
    rng ra;
    rng_init(&ra, cfg->seed, RNG_ANALYSIS);
    int rc = analysis_endpoint(e->m, e->theta, cfg->loss, &e->ds, e->u_star,
                               &cfg->analysis, cfg->seed, &ra, out, pl, err,
                               errlen);
    out->analysis_s = now_s() - t1;
    if (rc == ENGINE_ESUSPENDED) {
        int ck = train_checkpoint(tc, st, err, errlen);
        return ck ? ck : rc;
    }
    return rc;
}

int engine_run(const run_config *cfg, const run_hooks *hooks, run_result *out,
               char *err, size_t errlen)
{
    double t0 = now_s();
    run_env e = {0};
    poller pl;
    poller_init(&pl, hooks);
    run_result_clear(out);
    enter(hooks, RUN_PHASE_DATA);
    int rc = blas_init(err, errlen);
    if (!rc)
        rc = data_load(cfg, &e.ds, &pl, err, errlen);
    if (rc)
        goto out;
    out->n = e.ds.n;
    out->n_test = e.ds.n_test;
    out->d = e.ds.d;
    if (cfg->data.stream && !(e.gen = data_gen_new(cfg, &pl, err, errlen))) {
        rc = poller_code(&pl) ? poller_code(&pl) : -EINVAL;
        goto out;
    }
    enter(hooks, RUN_PHASE_BASELINE);
    if ((rc = baseline(cfg, &e, out, &pl, err, errlen)) ||
        (rc = build_model(cfg, &e, out, err, errlen)))
        goto out;
    train_ctx tc = {.cfg = cfg, .m = e.m, .ds = &e.ds, .gen = e.gen,
                    .u_star = e.u_star, .hooks = hooks, .hash = &e.hash};
    train_state st;
    if ((rc = start_state(cfg, hooks, &tc, &e, &st, err, errlen)))
        goto out;
    enter(hooks, RUN_PHASE_TRAIN);
    if ((rc = train_run(&tc, &st, out, err, errlen)))
        goto out;
    /* Training checks the loss at its steps; a run of zero steps, or one
     * whose start was already past overflow (init_scale 1e300), reaches
     * here with parameters no analysis can use: that is divergence too,
     * seen at the last step. One forward pass, a fraction of a step. */
    if (out->status != RUN_DIVERGED &&
        !isfinite(model_loss_grad(e.m, e.theta, cfg->loss, e.ds.X, e.ds.y,
                                  e.ds.n, NULL, NULL))) {
        out->status = RUN_DIVERGED;
        out->diverged_step = out->steps > 0 ? out->steps : 0;
    }
    if (out->status == RUN_DIVERGED)
        diverged_end(cfg, &e, out);
    else
        rc = analyse(cfg, &e, &tc, &st, &pl, out, err, errlen);
    if (rc == 0)
        rc = hand_arrays(cfg, hooks, &e, err, errlen);
out:
    /* A stop leaves no sentence: whatever a phase wrote on its way out
     * ("Hessian-vector product failed") is not the reason. */
    if (rc && rc == poller_code(&pl) && err && errlen)
        err[0] = '\0';
    out->total_s = now_s() - t0;
    env_free(&e);
    return rc;
}
