/* host.c — the worker host (host.h): leases from the scheduler with the
 * run's configuration and checkpoint, reports to the store thread. */
#include "host.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jobctl.h"
#include "log.h"
#include "memlimit.h"

/* Readers not in use; at most one per worker leasing at the same time. */
typedef struct reader_slot {
    struct reader_slot *next;
    store_reader *r;
} reader_slot;

struct host {
    worker_host wh;
    char *db_path;
    sched *sc;
    writer *w;
    pthread_mutex_t lock;         /* free */
    reader_slot *free;
};

static writer_run run_of(const run_lease *l)
{
    return (writer_run){l->job_id, l->run_id, l->priority};
}

static reader_slot *reader_get(host *h, char *err, size_t errlen)
{
    pthread_mutex_lock(&h->lock);
    reader_slot *s = h->free;
    if (s)
        h->free = s->next;
    pthread_mutex_unlock(&h->lock);
    if (s)
        return s;
    if (!(s = calloc(1, sizeof *s))) {
        err_set(err, errlen, -ENOMEM, "out of memory");
        return NULL;
    }
    if (store_reader_open(h->db_path, &s->r, err, errlen) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

static void reader_put(host *h, reader_slot *s)
{
    pthread_mutex_lock(&h->lock);
    s->next = h->free;
    h->free = s;
    pthread_mutex_unlock(&h->lock);
}

/* The run's configuration and checkpoint into the lease. */
static int lease_read(host *h, run_lease *l, char *err, size_t errlen)
{
    reader_slot *s = reader_get(h, err, errlen);
    if (!s)
        return -EIO;
    int rc = store_reader_run(s->r, l->run_id, &l->config_json, &l->ck_data,
                              &l->ck_len, &l->attempt, err, errlen);
    reader_put(h, s);
    return rc;
}

/* Runs under the scheduler's lock (see sched_take): the start is posted
 * before a cancel of the run's job can be. */
static void record_start(void *ctx, const sched_run *sr)
{
    host *h = ctx;
    writer_run run = {sr->job_id, sr->run_id, sr->priority};
    writer_run_start(h->w, &run);
}

/* A run queued under a larger --memory-limit than the daemon has now, or
 * before there was one: submissions refuse such runs. */
static int over_limit(host *h, const sched_run *sr, char *err, size_t errlen)
{
    char need[32], lim[32];
    memlimit_format(sr->mem_bytes, need, sizeof need);
    memlimit_format(sched_memory_limit(h->sc), lim, sizeof lim);
    return err_set(err, errlen, -E2BIG,
                   "the run needs about %s of memory, more than the daemon's "
                   "memory limit of %s (--memory-limit, larger or absent when "
                   "the job was submitted); restart resweepd with a larger "
                   "limit and retry the job", need, lim);
}

/* The next run, waiting at most timeout_ms (-1: until one comes);
 * metered for a worker of this machine (memory admission). */
static int take(host *h, bool metered, int timeout_ms, run_lease *out)
{
    for (;;) {
        sched_run sr;
        int rc = metered ? sched_take(h->sc, timeout_ms, &sr, record_start, h)
                         : sched_take_remote(h->sc, timeout_ms, &sr,
                                             record_start, h);
        if (rc < 0)
            return rc;
        *out = (run_lease){.run_id = sr.run_id, .job_id = sr.job_id,
                           .priority = sr.priority};
        char err[ERR_LEN];
        if (sr.over_limit) {
            over_limit(h, &sr, err, sizeof err);
        } else if ((rc = lease_read(h, out, err, sizeof err)) == 0) {
            return 0;
        } else {
            err_prefix(err, sizeof err, rc, "cannot read the run's configuration");
        }
        /* The run cannot start: it fails with the reason, and the worker
         * gets the next one. */
        log_error("run %lld: %s", (long long)sr.run_id, err);
        writer_run run = run_of(out);
        writer_run_finish(h->w, &run, RUN_FAILED, NULL, NULL, err);
        sched_finished(h->sc, sr.run_id);
        run_lease_clear(out);
    }
}

static int host_lease(void *ctx, run_lease *out)
{
    return take(ctx, true, -1, out);
}

int host_try_lease(host *h, bool local, run_lease *out)
{
    return take(h, local, 0, out);
}

void host_lost(host *h, const run_lease *l, const char *why)
{
    writer_run run = run_of(l);
    if (sched_poll(h->sc, l->run_id) == RUN_CANCEL) {
        char msg[ERR_LEN];
        snprintf(msg, sizeof msg, "canceled on request; %s", why);
        jobctl_run_stopped(h->sc, h->w, &run, msg);
    } else if (writer_run_lost(h->w, &run, why) < 0) {
        log_error("run %lld: out of memory; it is recovered at the next "
                  "start", (long long)l->run_id);
    }
}

static enum run_poll host_poll(void *ctx, const run_lease *run)
{
    host *h = ctx;
    return sched_poll(h->sc, run->run_id);
}

static void host_curve(void *ctx, const run_lease *l, const curve_point *pts,
                       int n)
{
    host *h = ctx;
    writer_run run = run_of(l);
    writer_run_curve(h->w, &run, pts, n);
}

static int host_checkpoint(void *ctx, const run_lease *l,
                           const checkpoint *ck)
{
    host *h = ctx;
    writer_run run = run_of(l);
    return writer_run_checkpoint(h->w, &run, ck);
}

static void host_finish(void *ctx, const run_lease *l, const run_outcome *o)
{
    host *h = ctx;
    writer_run run = run_of(l);
    if (o->state == RUN_QUEUED)
        jobctl_run_suspended(h->sc, h->w, &run);
    else if (o->state == RUN_CANCELED)
        jobctl_run_stopped(h->sc, h->w, &run, o->error);
    else
        writer_run_finish(h->w, &run, o->state, o->result, o->arrays,
                          o->error);
    /* The engine has let go of the run's memory (its result is small).
     * After the report is posted: a run admitted in its place is
     * recorded started after this one's end, as the store then shows. */
    sched_finished(h->sc, l->run_id);
}

int host_new(const char *db_path, sched *sc, writer *w, host **out,
             char *err, size_t errlen)
{
    host *h = calloc(1, sizeof *h);
    if (!h || !(h->db_path = strdup(db_path))) {
        free(h);
        return err_set(err, errlen, -ENOMEM, "out of memory");
    }
    h->sc = sc;
    h->w = w;
    pthread_mutex_init(&h->lock, NULL);
    h->wh = (worker_host){h, host_lease, host_poll, host_curve,
                          host_checkpoint, host_finish};
    /* One reader now, so that a database the daemon cannot read fails
     * the start, not the first run. */
    reader_slot *s = reader_get(h, err, errlen);
    if (!s) {
        host_free(h);
        return -EIO;
    }
    reader_put(h, s);
    *out = h;
    return 0;
}

void host_free(host *h)
{
    if (!h)
        return;
    for (reader_slot *s = h->free, *n; s; s = n) {
        n = s->next;
        store_reader_close(s->r);
        free(s);
    }
    pthread_mutex_destroy(&h->lock);
    free(h->db_path);
    free(h);
}

const worker_host *host_worker(host *h)
{
    return &h->wh;
}
