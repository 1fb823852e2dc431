/* pool.c — worker threads executing runs (pool.h). */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "log.h"

typedef struct worker {
    struct pool *pool;
    int index;
    pthread_t thread;
    bool started;
    run_lease lease;                       /* the run being executed */
    curve_point curve[POOL_CURVE_BATCH];   /* buffered, not yet reported */
    int ncurve;
    double first_at;                       /* monotonic: curve[0] buffered */
    run_arrays *arrays;                    /* owned: the run's, until finish */
} worker;

struct pool {
    const worker_host *host;
    double checkpoint_s;
    int n;
    atomic_int running;
    worker *workers;
};

static void flush_curve(worker *w)
{
    if (w->ncurve == 0)
        return;
    const worker_host *h = w->pool->host;
    h->curve(h->ctx, &w->lease, w->curve, w->ncurve);
    w->ncurve = 0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* A batch is reported when full, or once its first point is
 * POOL_CURVE_FLUSH_S old (checked here and at every poll), so a long run's
 * curve reaches the database while it trains. */
static void flush_if_due(worker *w)
{
    if (w->ncurve == POOL_CURVE_BATCH ||
        (w->ncurve > 0 && now_s() - w->first_at >= POOL_CURVE_FLUSH_S))
        flush_curve(w);
}

static void hook_curve(void *ctx, const curve_point *pt)
{
    worker *w = ctx;
    if (w->ncurve == 0)
        w->first_at = now_s();
    w->curve[w->ncurve++] = *pt;
    flush_if_due(w);
}

/* Curve points before a checkpoint are reported first, so that a resumed
 * run never lacks the points up to its checkpoint. */
static int hook_checkpoint(void *ctx, const checkpoint *ck)
{
    worker *w = ctx;
    flush_curve(w);
    const worker_host *h = w->pool->host;
    return h->checkpoint(h->ctx, &w->lease, ck);
}

static enum run_poll hook_poll(void *ctx)
{
    worker *w = ctx;
    flush_if_due(w);
    const worker_host *h = w->pool->host;
    return h->poll(h->ctx, &w->lease);
}

/* The engine's arrays are borrowed for the call: the copy rides in the
 * run's finish. */
static int hook_arrays(void *ctx, const run_arrays *a)
{
    worker *w = ctx;
    free(w->arrays);
    w->arrays = run_arrays_copy(a);
    return w->arrays ? 0 : -ENOMEM;
}

static void report(worker *w, enum run_state state, const run_result *res,
                   const char *error)
{
    const worker_host *h = w->pool->host;
    run_outcome o = {.state = state, .result = res, .error = error,
                     .arrays = res ? w->arrays : NULL};
    h->finish(h->ctx, &w->lease, &o);
    free(w->arrays);
    w->arrays = NULL;
}

static void execute(worker *w)
{
    char err[ERR_LEN] = "";
    run_config cfg;
    int rc = config_parse_str(w->lease.config_json, &cfg, err, sizeof err);
    if (rc < 0) {
        /* The store holds only validated configurations; a failure here is
         * a version skew, and the sentence says which key. */
        report(w, RUN_FAILED, NULL, err);
        return;
    }
    /* The engine's state format carries its own step; step here is only
     * informative. */
    checkpoint resume = {w->lease.ck_data, w->lease.ck_len, 0};
    run_hooks hooks = {
        .ctx = w, .curve = hook_curve, .checkpoint = hook_checkpoint,
        .poll = hook_poll, .arrays = hook_arrays,
        .checkpoint_s = w->pool->checkpoint_s,
        .resume = w->lease.ck_data ? &resume : NULL,
    };
    run_result res;
    run_result_clear(&res);
    w->ncurve = 0;
    err[0] = '\0';
    rc = engine_run(&cfg, &hooks, &res, err, sizeof err);
    flush_curve(w);
    if (rc == 0)
        report(w, res.status == RUN_DIVERGED ? RUN_STATE_DIVERGED
                                             : RUN_STATE_DONE,
               &res, NULL);
    else if (rc == ENGINE_ECANCELED)
        report(w, RUN_CANCELED, NULL, "canceled on request");
    else if (rc == ENGINE_ESUSPENDED)
        report(w, RUN_QUEUED, NULL, NULL);
    else
        report(w, RUN_FAILED, NULL,
               err[0] ? err : "the engine failed without a reason");
    config_free(&cfg);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    const worker_host *h = w->pool->host;
    for (;;) {
        int rc = h->lease(h->ctx, &w->lease);
        if (rc == -ESHUTDOWN)
            break;
        if (rc < 0) {
            nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
            continue;
        }
        log_debug("worker %d: run %lld of job %lld", w->index,
                  (long long)w->lease.run_id, (long long)w->lease.job_id);
        execute(w);
        run_lease_clear(&w->lease);
    }
    atomic_fetch_sub(&w->pool->running, 1);
    return NULL;
}

static void pool_join(pool *p)
{
    for (int i = 0; i < p->n; i++) {
        worker *w = &p->workers[i];
        if (w->started)
            pthread_join(w->thread, NULL);
        w->started = false;
    }
}

int pool_new(const pool_config *cfg, pool **out, char *err, size_t errlen)
{
    if (cfg->workers < 1 || cfg->workers > POOL_MAX_WORKERS)
        return err_set(err, errlen, -EINVAL,
                       "workers: must be an integer in [1, %d], got %d",
                       POOL_MAX_WORKERS, cfg->workers);
    pool *p = calloc(1, sizeof *p);
    worker *ws = calloc((size_t)cfg->workers, sizeof *ws);
    if (!p || !ws) {
        free(p);
        free(ws);
        return err_set(err, errlen, -ENOMEM, "out of memory");
    }
    p->host = cfg->host;
    p->checkpoint_s = cfg->checkpoint_s;
    p->n = cfg->workers;
    p->workers = ws;
    int rc = 0;
    for (int i = 0; i < p->n; i++) {
        ws[i].pool = p;
        ws[i].index = i;
    }
    for (int i = 0; i < p->n && rc == 0; i++) {
        atomic_fetch_add(&p->running, 1);
        int e = pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
        if (e != 0) {
            atomic_fetch_sub(&p->running, 1);
            rc = err_set(err, errlen, -e, "cannot start worker %d: %s", i,
                         strerror(e));
        }
        ws[i].started = e == 0;
    }
    if (rc < 0) {
        /* Started workers wait in the host's lease; joining them here
         * would wait forever, so the caller gets them (see pool.h). */
        bool any = false;
        for (int i = 0; i < p->n; i++)
            any = any || ws[i].started;
        if (any) {
            *out = p;
            return rc;
        }
        *out = NULL;
        pool_join(p);
        free(ws);
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int pool_running(pool *p)
{
    return atomic_load(&p->running);
}

void pool_free(pool *p)
{
    if (!p)
        return;
    pool_join(p);
    free(p->workers);
    free(p);
}
