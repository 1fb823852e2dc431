/* rhost.c — the worker interface over the protocol (rhost.h). */
#include "rhost.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "log.h"
#include "uplink.h"
#include "wire.h"

#define LEASE_BACKOFF_MIN_S 0.02   /* nothing queued: ask again after */
#define LEASE_BACKOFF_MAX_S 0.5
/* A checkpoint travels in one frame, as base64 (4/3 of its bytes). */
#define CHECKPOINT_MAX_BYTES ((PROTO_MAX_FRAME - 4096) / 4 * 3)

typedef struct slot {
    bool used;
    int64_t run_id;
    int attempt;
    int poll;                  /* enum run_poll the daemon said last */
    bool stale;
} slot;

struct rhost {
    worker_host wh;
    uplink *up;
    atomic_bool stop;          /* hand runs back, lease no more */
    atomic_bool quit;          /* the heartbeat thread leaves */
    int threads;
    double idle_exit_s, deadline;   /* monotonic; deadline 0: none */
    pthread_mutex_t lock;      /* slots, busy, last_busy, fatal */
    slot *slots;
    int busy;
    double last_busy;
    pthread_t hb;
    bool hb_started;
    int fatal;
    char fatal_msg[ERR_LEN];
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&t, NULL);
}

static bool stopping(rhost *h)
{
    if (!atomic_load(&h->stop) && h->deadline > 0 && now_s() >= h->deadline) {
        log_info("time limit reached: handing the runs back");
        atomic_store(&h->stop, true);
    }
    return atomic_load(&h->stop);
}

/* The slot of run (lock held); NULL when none. */
static slot *slot_find(rhost *h, int64_t run_id)
{
    for (int i = 0; i < h->threads; i++)
        if (h->slots[i].used && h->slots[i].run_id == run_id)
            return &h->slots[i];
    return NULL;
}

static void slot_set(rhost *h, int64_t run_id, const char *what)
{
    pthread_mutex_lock(&h->lock);
    slot *s = slot_find(h, run_id);
    if (s && what) {
        if (strcmp(what, "stale") == 0) {
            if (!s->stale)
                log_warn("run %lld: the daemon gave it to another attempt; "
                         "dropping it", (long long)run_id);
            s->stale = true;
        } else {
            s->poll = strcmp(what, "cancel") == 0    ? RUN_CANCEL
                      : strcmp(what, "suspend") == 0 ? RUN_SUSPEND
                                                     : RUN_CONTINUE;
        }
    }
    pthread_mutex_unlock(&h->lock);
}

static cJSON *op_new(const char *op, const run_lease *l)
{
    cJSON *r = cJSON_CreateObject();
    if (r && (!cJSON_AddStringToObject(r, "op", op) ||
              (l && (!cJSON_AddNumberToObject(r, "run", (double)l->run_id) ||
                     !cJSON_AddNumberToObject(r, "attempt", l->attempt))))) {
        cJSON_Delete(r);
        return NULL;
    }
    return r;
}

/* Sends a report of run l; applies the reply's "do", or marks the run
 * stale when the daemon refuses the lease. Consumes req. */
static int report(rhost *h, const run_lease *l, cJSON *req)
{
    if (!req)
        return -ENOMEM;
    cJSON *rep = NULL;
    proto_error e;
    char op[16];
    snprintf(op, sizeof op, "%s",
             cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "op")));
    int rc = uplink_call(h->up, req, &rep, &e);
    cJSON_Delete(req);
    if (rc == 0) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(rep, "do");
        slot_set(h, l->run_id, cJSON_IsString(d) ? d->valuestring : NULL);
    } else if (rc == -EREMOTEIO && strcmp(e.code, PROTO_E_STALE_LEASE) == 0) {
        slot_set(h, l->run_id, "stale");
    } else {
        log_warn("run %lld: %s failed: %s", (long long)l->run_id, op,
                 e.message);
    }
    cJSON_Delete(rep);
    return rc;
}

static bool is_stale(rhost *h, int64_t run_id)
{
    pthread_mutex_lock(&h->lock);
    slot *s = slot_find(h, run_id);
    bool stale = !s || s->stale;
    pthread_mutex_unlock(&h->lock);
    return stale;
}

static int lease_parse(const cJSON *run, run_lease *out, char *err,
                       size_t errlen)
{
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(run, "config");
    const cJSON *ck = cJSON_GetObjectItemCaseSensitive(run, "checkpoint");
    proto_error e;
    int64_t id = 0, job = 0, attempt = 0, prio = 0;
    if (proto_get_int(run, "run", 1, (int64_t)1 << 53, &id, &e) != 0 ||
        proto_get_int(run, "job", 1, (int64_t)1 << 53, &job, &e) != 0 ||
        proto_get_int(run, "attempt", 1, 1 << 30, &attempt, &e) != 0 ||
        proto_get_int(run, "priority", INT32_MIN, INT32_MAX, &prio, &e) < 0 ||
        !cJSON_IsString(cfg))
        return err_set(err, errlen, -EPROTO, "a lease without run, job, "
                       "attempt and config");
    *out = (run_lease){.run_id = id, .job_id = job, .attempt = (int)attempt,
                       .priority = (int)prio};
    if (!(out->config_json = strdup(cfg->valuestring)))
        return err_set(err, errlen, -ENOMEM, "out of memory");
    if (cJSON_IsString(ck) &&
        wire_unbase64(ck->valuestring, &out->ck_data, &out->ck_len) < 0) {
        run_lease_clear(out);
        return err_set(err, errlen, -EPROTO, "run %lld: a checkpoint that is "
                       "not base64", (long long)id);
    }
    return 0;
}

static void slot_take(rhost *h, const run_lease *l)
{
    pthread_mutex_lock(&h->lock);
    for (int i = 0; i < h->threads; i++) {
        if (!h->slots[i].used) {
            h->slots[i] = (slot){true, l->run_id, l->attempt, RUN_CONTINUE,
                                 false};
            break;
        }
    }
    h->busy++;
    pthread_mutex_unlock(&h->lock);
}

/* Idle past --idle-exit (leased nothing, or could not reach the daemon):
 * stops the worker. */
static bool idle_out(rhost *h)
{
    pthread_mutex_lock(&h->lock);
    bool idle = h->idle_exit_s > 0 && h->busy == 0 &&
                now_s() - h->last_busy >= h->idle_exit_s;
    pthread_mutex_unlock(&h->lock);
    if (idle && !atomic_exchange(&h->stop, true))
        log_info("nothing to run for %g s: leaving", h->idle_exit_s);
    return idle;
}

static bool give_up(void *ctx)
{
    rhost *h = ctx;
    return stopping(h) || idle_out(h);
}

/* Nothing to lease: stop when idle long enough, else wait a little. */
static bool idle_wait(rhost *h, double *backoff)
{
    if (idle_out(h))
        return true;
    sleep_s(*backoff);
    *backoff = fmin(*backoff * 2, LEASE_BACKOFF_MAX_S);
    return false;
}

static void set_fatal(rhost *h, int rc, const char *msg)
{
    pthread_mutex_lock(&h->lock);
    if (!h->fatal) {
        h->fatal = rc;
        snprintf(h->fatal_msg, sizeof h->fatal_msg, "%s", msg);
    }
    pthread_mutex_unlock(&h->lock);
    atomic_store(&h->stop, true);
}

/* One lease request: 1 with a run, 0 to ask again, -ESHUTDOWN. */
static int lease_once(rhost *h, run_lease *out, double *backoff)
{
    cJSON *req = op_new("lease", NULL), *rep = NULL;
    proto_error e;
    char err[ERR_LEN];
    int rc = req ? uplink_call(h->up, req, &rep, &e) : -ENOMEM;
    cJSON_Delete(req);
    const cJSON *run = rc == 0 ? cJSON_GetObjectItemCaseSensitive(rep, "run") : NULL;
    int out_rc = 0;
    if (rc == -ESHUTDOWN) {
        out_rc = -ESHUTDOWN;
    } else if (rc == -EACCES) {
        set_fatal(h, rc, e.message);
        out_rc = -ESHUTDOWN;
    } else if (rc < 0) {
        /* The daemon is stopping, or busy: ask again later. */
        log_debug("lease: %s", rc == -ENOMEM ? "out of memory" : e.message);
        sleep_s(LEASE_BACKOFF_MAX_S);
    } else if (cJSON_IsObject(run)) {
        if ((rc = lease_parse(run, out, err, sizeof err)) == 0)
            out_rc = 1;
        else
            log_error("%s", err);
    } else if (idle_wait(h, backoff)) {
        out_rc = -ESHUTDOWN;
    }
    cJSON_Delete(rep);
    return out_rc;
}

static int rh_lease(void *ctx, run_lease *out)
{
    rhost *h = ctx;
    double backoff = LEASE_BACKOFF_MIN_S;
    while (!stopping(h)) {
        int rc = lease_once(h, out, &backoff);
        if (rc == 1) {
            slot_take(h, out);
            return 0;
        }
        if (rc < 0)
            return rc;
    }
    return -ESHUTDOWN;
}

static enum run_poll rh_poll(void *ctx, const run_lease *l)
{
    rhost *h = ctx;
    if (stopping(h))
        return RUN_SUSPEND;
    pthread_mutex_lock(&h->lock);
    slot *s = slot_find(h, l->run_id);
    enum run_poll p = !s || s->stale ? RUN_CANCEL : (enum run_poll)s->poll;
    pthread_mutex_unlock(&h->lock);
    return p;
}

static void rh_curve(void *ctx, const run_lease *l, const curve_point *pts,
                     int n)
{
    rhost *h = ctx;
    if (is_stale(h, l->run_id))
        return;
    cJSON *req = op_new("curve", l);
    cJSON *arr = wire_curve_to_json(pts, n);
    if (!req || !arr || !cJSON_AddItemToObject(req, "points", arr)) {
        cJSON_Delete(arr);
        cJSON_Delete(req);
        log_error("run %lld: out of memory; %d curve points dropped",
                  (long long)l->run_id, n);
        return;
    }
    report(h, l, req);
}

static int rh_checkpoint(void *ctx, const run_lease *l, const checkpoint *ck)
{
    rhost *h = ctx;
    if (is_stale(h, l->run_id))
        return -ESTALE;
    if (ck->len > CHECKPOINT_MAX_BYTES) {
        log_warn("run %lld: a checkpoint of %zu bytes does not fit in one "
                 "frame; the run goes on without it", (long long)l->run_id,
                 ck->len);
        return -EMSGSIZE;
    }
    cJSON *req = op_new("checkpoint", l);
    char *b64 = wire_base64(ck->data, ck->len);
    if (!req || !b64 || !cJSON_AddNumberToObject(req, "step", (double)ck->step) ||
        !cJSON_AddStringToObject(req, "data", b64)) {
        free(b64);
        cJSON_Delete(req);
        return -ENOMEM;
    }
    free(b64);
    return report(h, l, req) == 0 ? 0 : -EIO;
}

static cJSON *finish_req(const run_lease *l, const run_outcome *o)
{
    cJSON *req = op_new("finish", l);
    if (!req || !cJSON_AddStringToObject(req, "state", run_state_name(o->state)) ||
        (o->error && !cJSON_AddStringToObject(req, "error", o->error))) {
        cJSON_Delete(req);
        return NULL;
    }
    if (o->result) {
        cJSON *res = wire_result_to_json(o->result);
        if (!res || !cJSON_AddItemToObject(req, "result", res)) {
            cJSON_Delete(res);
            cJSON_Delete(req);
            return NULL;
        }
    }
    return req;
}

static void slot_release(rhost *h, int64_t run_id)
{
    pthread_mutex_lock(&h->lock);
    slot *s = slot_find(h, run_id);
    if (s)
        s->used = false;
    h->busy--;
    h->last_busy = now_s();
    pthread_mutex_unlock(&h->lock);
}

static void rh_finish(void *ctx, const run_lease *l, const run_outcome *o)
{
    rhost *h = ctx;
    if (!is_stale(h, l->run_id)) {
        cJSON *req = finish_req(l, o);
        if (!req)
            log_error("run %lld: out of memory reporting its end; the daemon "
                      "runs it again when the lease expires",
                      (long long)l->run_id);
        report(h, l, req);
    }
    slot_release(h, l->run_id);
}

/* register's "resume": the runs this worker still executes. */
static void on_resume(void *ctx, cJSON *arr)
{
    rhost *h = ctx;
    pthread_mutex_lock(&h->lock);
    for (int i = 0; i < h->threads; i++) {
        const slot *s = &h->slots[i];
        if (!s->used || s->stale)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, o);
        cJSON_AddNumberToObject(o, "run", (double)s->run_id);
        cJSON_AddNumberToObject(o, "attempt", s->attempt);
    }
    pthread_mutex_unlock(&h->lock);
}

static void on_registered(void *ctx, const cJSON *reply)
{
    const cJSON *it, *refused = cJSON_GetObjectItemCaseSensitive(reply, "refused");
    if (!cJSON_IsArray(refused))
        refused = NULL;
    cJSON_ArrayForEach(it, refused) {
        if (cJSON_IsNumber(it))
            slot_set(ctx, (int64_t)it->valuedouble, "stale");
    }
}

static cJSON *heartbeat_req(rhost *h)
{
    cJSON *req = op_new("heartbeat", NULL);
    cJSON *arr = req ? cJSON_AddArrayToObject(req, "runs") : NULL;
    if (!arr) {
        cJSON_Delete(req);
        return NULL;
    }
    on_resume(h, arr);
    return req;
}

static void heartbeat_once(rhost *h)
{
    cJSON *req = heartbeat_req(h), *rep = NULL;
    proto_error e;
    if (!req)
        return;
    int rc = uplink_call(h->up, req, &rep, &e);
    cJSON_Delete(req);
    const cJSON *it, *runs = rc == 0 ? cJSON_GetObjectItemCaseSensitive(rep, "runs") : NULL;
    if (!cJSON_IsArray(runs))
        runs = NULL;
    cJSON_ArrayForEach(it, runs) {
        const cJSON *run = cJSON_GetObjectItemCaseSensitive(it, "run");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(it, "do");
        if (cJSON_IsNumber(run) && cJSON_IsString(d))
            slot_set(h, (int64_t)run->valuedouble, d->valuestring);
    }
    if (rc == -EACCES)
        set_fatal(h, rc, e.message);
    cJSON_Delete(rep);
}

static void *heartbeat_main(void *arg)
{
    rhost *h = arg;
    double next = now_s();
    while (!atomic_load(&h->quit)) {
        sleep_s(0.05);
        stopping(h);   /* the time limit is noticed even while idle */
        if (now_s() < next)
            continue;
        heartbeat_once(h);
        next = now_s() + uplink_heartbeat_s(h->up);
    }
    return NULL;
}

int rhost_new(const rhost_config *cfg, rhost **out, char *err, size_t errlen)
{
    rhost *h = calloc(1, sizeof *h);
    slot *slots = calloc((size_t)cfg->threads, sizeof *slots);
    if (!h || !slots) {
        free(h);
        free(slots);
        return err_set(err, errlen, -ENOMEM, "out of memory");
    }
    h->slots = slots;
    h->threads = cfg->threads;
    h->idle_exit_s = cfg->idle_exit_s;
    h->last_busy = now_s();
    h->deadline = cfg->time_limit_s > 0 ? now_s() + cfg->time_limit_s : 0;
    atomic_init(&h->stop, false);
    atomic_init(&h->quit, false);
    pthread_mutex_init(&h->lock, NULL);
    uplink_hooks hooks = {h, on_resume, on_registered, give_up};
    int rc = uplink_new(cfg->addr, cfg->key, cfg->threads, &hooks, &h->stop,
                        &h->up, err, errlen);
    if (rc == 0 && (rc = -pthread_create(&h->hb, NULL, heartbeat_main, h)) < 0)
        err_set(err, errlen, rc, "cannot start the heartbeat thread");
    h->hb_started = rc == 0;
    if (rc < 0) {
        rhost_free(h);
        return rc;
    }
    h->wh = (worker_host){h, rh_lease, rh_poll, rh_curve, rh_checkpoint,
                          rh_finish};
    *out = h;
    return 0;
}

const worker_host *rhost_worker(rhost *h)
{
    return &h->wh;
}

void rhost_stop(rhost *h)
{
    atomic_store(&h->stop, true);
}

int rhost_status(rhost *h, char *err, size_t errlen)
{
    pthread_mutex_lock(&h->lock);
    int rc = h->fatal;
    if (rc)
        err_set(err, errlen, rc, "%s", h->fatal_msg);
    pthread_mutex_unlock(&h->lock);
    return rc;
}

void rhost_free(rhost *h)
{
    if (!h)
        return;
    atomic_store(&h->quit, true);
    if (h->hb_started)
        pthread_join(h->hb, NULL);
    uplink_free(h->up);
    pthread_mutex_destroy(&h->lock);
    free(h->slots);
    free(h);
}
