/* rhost.c — the worker interface over the protocol (rhost.h); the sender
 * thread that takes runs' ends to the daemon is rhost_tx.c. */
#include "rhost_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "wire.h"

/* A run younger than this keeps its curve points for its finish message,
 * so a short run's whole report is one message. */
#define CURVE_HOLD_S 1.0

static void sleep_s(double s)
{
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&t, NULL);
}

static bool give_up(void *ctx)
{
    rhost *h = ctx;
    return rhost__stopping(h) || rhost__idle_out(h);
}

/* Waits for a run the sender leased; the wait wakes every 50 ms to notice
 * a stop (rhost_stop may come from a signal handler, which cannot
 * signal a condition variable). */
static int rh_lease(void *ctx, run_lease *out)
{
    rhost *h = ctx;
    pthread_mutex_lock(&h->lock);
    h->waiting++;
    pthread_cond_broadcast(&h->cond);
    while (!rhost__stopping(h) && h->nready == 0) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 50 * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&h->cond, &h->lock, &t);
    }
    h->waiting--;
    int rc = -ESHUTDOWN;
    if (!rhost__stopping(h)) {
        *out = h->ready[0];   /* in the order the daemon leased them */
        memmove(h->ready, h->ready + 1, (size_t)--h->nready * sizeof *h->ready);
        slot *s = rhost__slot_find(h, out->run_id);
        if (s)
            s->started_at = rhost__now();
        rc = 0;
    }
    while (rc < 0 && h->nready > 0)
        rhost__hand_back(h, &h->ready[--h->nready]);
    pthread_mutex_unlock(&h->lock);
    return rc;
}

static enum run_poll rh_poll(void *ctx, const run_lease *l)
{
    rhost *h = ctx;
    if (rhost__stopping(h))
        return RUN_SUSPEND;
    pthread_mutex_lock(&h->lock);
    slot *s = rhost__slot_find(h, l->run_id);
    enum run_poll p = !s || s->stale ? RUN_CANCEL : (enum run_poll)s->poll;
    pthread_mutex_unlock(&h->lock);
    return p;
}

/* Keeps pts in the run's slot while the run is young and they fit: true.
 * Otherwise (always with flush) moves what it held to buf (room for
 * RHOST_CURVE_HOLD_MAX) and returns false with *nheld set. */
static bool hold_curve(rhost *h, int64_t run_id, const curve_point *pts,
                       int n, bool flush, curve_point *buf, int *nheld)
{
    pthread_mutex_lock(&h->lock);
    slot *s = rhost__slot_find(h, run_id);
    bool hold = s && !flush && s->nheld + n <= RHOST_CURVE_HOLD_MAX &&
                rhost__now() - s->started_at < CURVE_HOLD_S;
    *nheld = 0;
    if (hold) {
        memcpy(s->held + s->nheld, pts, (size_t)n * sizeof *pts);
        s->nheld += n;
    } else if (s) {
        memcpy(buf, s->held, (size_t)s->nheld * sizeof *buf);
        *nheld = s->nheld;
        s->nheld = 0;
    }
    pthread_mutex_unlock(&h->lock);
    return hold;
}

/* A "points" array of the held points followed by pts. */
static cJSON *points_json(const curve_point *held, int nheld,
                          const curve_point *pts, int n)
{
    curve_point *all = malloc((size_t)(nheld + n) * sizeof *all + 1);
    if (!all)
        return NULL;
    memcpy(all, held, (size_t)nheld * sizeof *all);
    if (n > 0)
        memcpy(all + nheld, pts, (size_t)n * sizeof *all);
    cJSON *arr = wire_curve_to_json(all, nheld + n);
    free(all);
    return arr;
}

static void send_curve(rhost *h, const run_lease *l, const curve_point *pts,
                       int n, bool flush)
{
    curve_point held[RHOST_CURVE_HOLD_MAX];
    int nheld;
    if (hold_curve(h, l->run_id, pts, n, flush, held, &nheld) || nheld + n == 0)
        return;
    cJSON *req = rhost__op_new("curve", l);
    cJSON *arr = points_json(held, nheld, pts, n);
    if (!req || !arr || !cJSON_AddItemToObject(req, "points", arr)) {
        cJSON_Delete(arr);
        cJSON_Delete(req);
        log_error("run %lld: out of memory; %d curve points dropped",
                  (long long)l->run_id, nheld + n);
        return;
    }
    rhost__report(h, l, req, NULL);
}

static void rh_curve(void *ctx, const run_lease *l, const curve_point *pts,
                     int n)
{
    rhost *h = ctx;
    if (!rhost__stale(h, l->run_id))
        send_curve(h, l, pts, n, false);
}

/* One frame of checkpoint ck: bytes [off, off + len) of it. */
static int send_ck_part(rhost *h, const run_lease *l, const checkpoint *ck,
                        size_t off, size_t len)
{
    cJSON *req = rhost__op_new("checkpoint", l);
    char *b64 = wire_base64((const char *)ck->data + off, len);
    if (!req || !b64 || !cJSON_AddNumberToObject(req, "step", (double)ck->step) ||
        !cJSON_AddNumberToObject(req, "offset", (double)off) ||
        !cJSON_AddNumberToObject(req, "total", (double)ck->len) ||
        !cJSON_AddStringToObject(req, "data", b64)) {
        free(b64);
        cJSON_Delete(req);
        return -ENOMEM;
    }
    free(b64);
    return rhost__report(h, l, req, NULL) == 0 ? 0 : -EIO;
}

/* A checkpoint larger than a frame goes in parts, in order; the daemon
 * keeps it once the last part is there. */
static int rh_checkpoint(void *ctx, const run_lease *l, const checkpoint *ck)
{
    rhost *h = ctx;
    if (rhost__stale(h, l->run_id))
        return -ESTALE;
    if (ck->len > PROTO_MAX_CHECKPOINT) {
        log_warn("run %lld: a checkpoint of %zu bytes is over the protocol's "
                 "%zu; the run goes on without it", (long long)l->run_id,
                 ck->len, (size_t)PROTO_MAX_CHECKPOINT);
        return -EMSGSIZE;
    }
    /* The points up to the checkpoint are stored before it. */
    send_curve(h, l, NULL, 0, true);
    size_t off = 0;
    int rc = 0;
    do {
        size_t len = ck->len - off < WIRE_PART_BYTES ? ck->len - off
                                                          : WIRE_PART_BYTES;
        rc = send_ck_part(h, l, ck, off, len);
        off += len;
    } while (rc == 0 && off < ck->len && !rhost__stale(h, l->run_id));
    return rc;
}

/* The finish's arrays: inl in the message, and the names of those sent
 * in parts before it. */
static bool add_arrays(cJSON *req, const run_arrays *inl,
                       const run_arrays *big)
{
    cJSON *arr = wire_arrays_to_json(inl), *names = NULL;
    if (!arr || !cJSON_AddItemToObject(req, "arrays", arr)) {
        cJSON_Delete(arr);
        return false;
    }
    if (big->n > 0 && !(names = cJSON_AddArrayToObject(req, "arrays_parts")))
        return false;
    for (int i = 0; i < big->n; i++)
        if (!cJSON_AddItemToArray(names, cJSON_CreateString(big->a[i].name)))
            return false;
    return true;
}

/* finish, with the run's held curve points; "next" is the sender's to
 * add. */
static cJSON *finish_req(rhost *h, const run_lease *l, const run_outcome *o,
                         const run_arrays *inl, const run_arrays *big)
{
    curve_point held[RHOST_CURVE_HOLD_MAX];
    int nheld;
    hold_curve(h, l->run_id, NULL, 0, true, held, &nheld);
    cJSON *req = rhost__op_new("finish", l);
    cJSON *pts = req && nheld > 0 ? points_json(held, nheld, NULL, 0) : NULL;
    if (pts && !cJSON_AddItemToObject(req, "points", pts)) {
        cJSON_Delete(pts);
        pts = NULL;
    }
    if (!req || (nheld > 0 && !pts) ||
        !cJSON_AddStringToObject(req, "state", run_state_name(o->state)) ||
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
    if (o->result && o->arrays && !add_arrays(req, inl, big)) {
        cJSON_Delete(req);
        return NULL;
    }
    return req;
}

/* A remote run's arrays travel up to PROTO_MAX_ARRAYS: a run whose arrays
 * are more fails, saying so, rather than sending parts the daemon refuses
 * (its result would be lost either way). */
static const run_outcome *fitting(const run_outcome *o, run_outcome *alt,
                                  char *why, size_t len)
{
    size_t bytes = wire_arrays_bytes(o->arrays);
    if (!o->result || bytes <= PROTO_MAX_ARRAYS)
        return o;
    snprintf(why, len, "analysis.save_params: the run's arrays are %zu "
             "bytes, more than the %zu a remote worker sends "
             "(PROTO_MAX_ARRAYS); run it on resweepd's own workers, or "
             "without save_params (a seed pair's end point: without "
             "model.init_seed or with analysis.seed_pairs false)",
             bytes, PROTO_MAX_ARRAYS);
    *alt = (run_outcome){.state = RUN_FAILED, .error = why};
    return alt;
}

/* The arrays too big for the finish go first, from this thread
 * (rhost_arrays.c); the finish is queued for the sender, and the pool
 * thread goes on to its next run. */
static void rh_finish(void *ctx, const run_lease *l, const run_outcome *o)
{
    rhost *h = ctx;
    run_outcome alt;
    run_arrays inl, big;
    char why[ERR_LEN];
    o = fitting(o, &alt, why, sizeof why);
    wire_arrays_split(o->result ? o->arrays : NULL, &inl, &big);
    int rc = rhost__stale(h, l->run_id) ? -ESTALE
                                        : rhost__arrays_send(h, l, &big);
    cJSON *req = rc == 0 ? finish_req(h, l, o, &inl, &big) : NULL;
    pthread_mutex_lock(&h->lock);
    slot *s = rhost__slot_find(h, l->run_id);
    if (s && s->started_at > 0)
        h->spare = rhost__now() - s->started_at < RHOST_SPARE_RUN_S;
    if (req) {
        rhost__queue(h, l, req, !rhost__stopping(h));
    } else {
        /* A failed part was logged where it failed. */
        if (rc == 0 && s && !s->stale)
            log_error("run %lld: out of memory reporting its end; the daemon "
                      "runs it again when the lease expires",
                      (long long)l->run_id);
        rhost__slot_free(h, l->run_id);
    }
    pthread_mutex_unlock(&h->lock);
}

/* register's "resume": the runs this worker holds (running, ready, or
 * ending). */
static void on_resume(void *ctx, cJSON *arr)
{
    rhost *h = ctx;
    pthread_mutex_lock(&h->lock);
    for (int i = 0; i < h->nslots; i++) {
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
            rhost__slot_set(ctx, (int64_t)it->valuedouble, "stale");
    }
}

static cJSON *heartbeat_req(rhost *h)
{
    cJSON *req = rhost__op_new("heartbeat", NULL);
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
            rhost__slot_set(h, (int64_t)run->valuedouble, d->valuestring);
    }
    if (rc == -EACCES)
        rhost__set_fatal(h, rc, e.message);
    cJSON_Delete(rep);
}

static void *heartbeat_main(void *arg)
{
    rhost *h = arg;
    double next = rhost__now();
    while (!atomic_load(&h->quit)) {
        sleep_s(0.05);
        rhost__stopping(h);   /* the time limit is noticed even while idle */
        if (rhost__now() < next)
            continue;
        heartbeat_once(h);
        next = rhost__now() + uplink_heartbeat_s(h->up);
    }
    return NULL;
}

static int start_threads(rhost *h, char *err, size_t errlen)
{
    int rc = -pthread_create(&h->hb, NULL, heartbeat_main, h);
    h->hb_started = rc == 0;
    if (rc == 0) {
        rc = -pthread_create(&h->tx, NULL, rhost__tx_main, h);
        h->tx_started = rc == 0;
    }
    return rc < 0 ? err_set(err, errlen, rc, "cannot start a thread: %s",
                            strerror(-rc))
                  : 0;
}

int rhost_new(const rhost_config *cfg, rhost **out, char *err, size_t errlen)
{
    /* A slot per thread's run, per run ending, and per run ready. */
    int nslots = 3 * cfg->threads + 1;
    rhost *h = calloc(1, sizeof *h);
    slot *slots = calloc((size_t)nslots, sizeof *slots);
    run_lease *ready = calloc((size_t)nslots, sizeof *ready);
    if (!h || !slots || !ready) {
        free(h);
        free(slots);
        free(ready);
        return err_set(err, errlen, -ENOMEM, "out of memory");
    }
    h->slots = slots;
    h->ready = ready;
    h->nslots = nslots;
    h->threads = cfg->threads;
    h->idle_exit_s = cfg->idle_exit_s;
    h->last_busy = rhost__now();
    h->deadline = cfg->time_limit_s > 0 ? rhost__now() + cfg->time_limit_s : 0;
    atomic_init(&h->stop, false);
    atomic_init(&h->quit, false);
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cond, NULL);
    uplink_hooks hooks = {h, on_resume, on_registered, give_up};
    int rc = uplink_new(cfg->addr, cfg->key, cfg->threads, 1, &hooks,
                        &h->stop, &h->up, err, errlen);
    if (rc == 0)
        rc = start_threads(h, err, errlen);
    if (rc < 0) {
        atomic_store(&h->stop, true);
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

/* The sender first: it sends what is queued, then leaves. */
void rhost_free(rhost *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->tx_quit = true;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    if (h->tx_started)
        pthread_join(h->tx, NULL);
    atomic_store(&h->quit, true);
    if (h->hb_started)
        pthread_join(h->hb, NULL);
    uplink_free(h->up);
    for (int i = 0; i < h->nready; i++)
        run_lease_clear(&h->ready[i]);
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->lock);
    free(h->ready);
    free(h->slots);
    free(h);
}
