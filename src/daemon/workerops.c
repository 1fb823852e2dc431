/* workerops.c — the operations of remote workers (docs/protocol.md,
 * "Workers"): they lease runs and report on them as local threads do
 * through the worker host (host.h), fenced by their leases (remote.h). */
#include "server_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "wire.h"

#define WORKER_MAX_CURVE 4096    /* points per curve message */

static const cJSON *member(const request *rq, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(rq->pr->root, key);
}

static run_lease lease_of(const rlease *l)
{
    return (run_lease){.run_id = l->run_id, .job_id = l->job_id,
                       .priority = l->priority, .attempt = l->attempt};
}

/* register's "resume": leases a reconnecting worker still holds. */
static void adopt(const request *rq, rworker *w, cJSON *adopted,
                  cJSON *refused)
{
    const cJSON *it, *arr = member(rq, "resume");
    if (!cJSON_IsArray(arr))
        arr = NULL;
    cJSON_ArrayForEach(it, arr) {
        proto_error e;
        int64_t run = 0, attempt = 0;
        if (proto_get_int(it, "run", 1, (int64_t)1 << 53, &run, &e) != 0 ||
            proto_get_int(it, "attempt", 1, 1 << 30, &attempt, &e) != 0)
            continue;
        bool ok = remote_lease_adopt(rq->c->srv->rm, w, run, (int)attempt,
                                     server__now());
        cJSON_AddItemToArray(ok ? adopted : refused,
                             cJSON_CreateNumber((double)run));
    }
}

typedef struct register_args {
    const char *host;
    int64_t pid, threads, prefetch;
} register_args;

static int register_parse(const request *rq, register_args *a, proto_error *e)
{
    const cJSON *h = member(rq, "host");
    *a = (register_args){cJSON_IsString(h) ? h->valuestring : "?", 0, 1, 0};
    int rc = proto_get_int(rq->pr->root, "pid", 0, INT32_MAX, &a->pid, e);
    if (rc >= 0)
        rc = proto_get_int(rq->pr->root, "threads", 1, POOL_MAX_WORKERS,
                           &a->threads, e);
    if (rc >= 0)
        rc = proto_get_int(rq->pr->root, "prefetch", 0, a->threads,
                           &a->prefetch, e);
    return rc < 0 ? rc : 0;
}

void server__op_register(const request *rq)
{
    conn *c = rq->c;
    server *s = c->srv;
    register_args a;
    proto_error e;
    if (c->worker_id)
        return server__reply_errorf(c, rq->pr->id, PROTO_E_BAD_REQUEST, NULL,
                                    "this connection is already a worker");
    if (register_parse(rq, &a, &e) < 0)
        return server__reply_error(c, rq->pr->id, &e);
    if (s->nworkers >= PROTO_MAX_WORKERS) {
        proto_error_set(&e, -EMFILE, PROTO_E_TOO_MANY_CONNECTIONS, NULL,
                        "the daemon already has %d workers",
                        PROTO_MAX_WORKERS);
        return server__reply_error(c, rq->pr->id, &e);
    }
    /* A Unix peer's pid is the kernel's word, not its own. */
    rworker *w = remote_worker_add(s->rm, c->id, a.host,
                                   c->peer_pid ? c->peer_pid : (long)a.pid,
                                   (int)a.threads, server__now());
    cJSON *r = w ? proto_reply_new(rq->pr->id, true) : NULL;
    if (!r)
        return (void)server__send(c, NULL);
    c->worker_id = w->id;
    w->prefetch = (int)a.prefetch;
    s->nworkers++;
    double t = remote_lease_timeout(s->rm);
    cJSON_AddNumberToObject(r, "worker", (double)w->id);
    cJSON_AddNumberToObject(r, "lease_timeout_s", t);
    cJSON_AddNumberToObject(r, "heartbeat_s", t / 4 < 1.0 ? t / 4 : 1.0);
    adopt(rq, w, cJSON_AddArrayToObject(r, "adopted"),
          cJSON_AddArrayToObject(r, "refused"));
    log_info("worker %llu registered: %s pid %ld, %d threads",
             (unsigned long long)w->id, w->host, w->pid, w->threads);
    server__send(c, r);
}

typedef struct lease_work {
    uv_work_t req;
    server *s;
    uint64_t conn_id, worker_id;
    bool local;              /* a Unix-socket peer: on this machine */
    bool finished;           /* the reply to a finish: it succeeded */
    cJSON *id;
    int rc;
    run_lease l;
} lease_work;

static void lease_run(uv_work_t *req)
{
    lease_work *lw = req->data;
    lw->rc = host_try_lease(lw->s->hs, lw->local, &lw->l);
}

/* The lease reply: the run, its configuration and its checkpoint; one
 * too big for the reply (big bytes, kept) is fetched with
 * checkpoint_get. */
static cJSON *lease_reply(const lease_work *lw, size_t big)
{
    cJSON *r = proto_reply_new(lw->id, true);
    cJSON *o = r ? cJSON_AddObjectToObject(r, "run") : NULL;
    char *ck = lw->l.ck_data ? wire_base64(lw->l.ck_data, lw->l.ck_len) : NULL;
    bool ok = o && (!lw->l.ck_data || ck) &&
              cJSON_AddNumberToObject(o, "run", (double)lw->l.run_id) &&
              cJSON_AddNumberToObject(o, "job", (double)lw->l.job_id) &&
              cJSON_AddNumberToObject(o, "attempt", lw->l.attempt) &&
              cJSON_AddNumberToObject(o, "priority", lw->l.priority) &&
              cJSON_AddStringToObject(o, "config", lw->l.config_json) &&
              (ck ? cJSON_AddStringToObject(o, "checkpoint", ck)
                  : cJSON_AddNullToObject(o, "checkpoint")) &&
              (!big || cJSON_AddNumberToObject(o, "checkpoint_total",
                                               (double)big));
    free(ck);
    if (!ok) {
        cJSON_Delete(r);
        return NULL;
    }
    return r;
}

/* A run leased for a worker that left meanwhile goes back as a suspended
 * run does. */
static void lease_give_back(server *s, const run_lease *l)
{
    const worker_host *wh = host_worker(s->hs);
    run_outcome o = {.state = RUN_QUEUED};
    wh->finish(wh->ctx, l, &o);
}

static void lease_done(uv_work_t *req, int status)
{
    lease_work *lw = req->data;
    server *s = lw->s;
    conn *c = server__conn_by_id(s, lw->conn_id);
    rworker *w = remote_worker_find(s->rm, lw->worker_id);
    if (c)
        c->inflight--;
    if (w)
        w->leasing--;
    if (lw->rc == 0 && (!c || !w || w->conn_id != lw->conn_id ||
                        remote_lease_add(s->rm, w, &lw->l, server__now()) < 0)) {
        lease_give_back(s, &lw->l);
        lw->rc = -ECONNRESET;
    }
    if (c && lw->rc == 0) {
        size_t big = 0;
        if (lw->l.ck_data && lw->l.ck_len > WIRE_PART_BYTES) {
            /* Out of memory keeping it, the run starts from scratch. */
            big = remote_ck_keep(s->rm, lw->l.run_id, lw->l.ck_data,
                                 lw->l.ck_len) == 0 ? lw->l.ck_len : 0;
            lw->l.ck_data = NULL;
            lw->l.ck_len = 0;
        }
        cJSON *r = lease_reply(lw, big);
        if (!r) {
            remote_lease_end(s->rm, w, lw->l.run_id);
            lease_give_back(s, &lw->l);
        }
        server__send(c, r);
    } else if (c && (lw->rc == -EAGAIN || lw->finished)) {
        cJSON *r = proto_reply_new(lw->id, true);
        if (r)
            cJSON_AddNullToObject(r, "run");
        server__send(c, r);
    } else if (c) {
        server__reply_errorf(c, lw->id, PROTO_E_SHUTTING_DOWN, NULL,
                             "the daemon is shutting down");
    }
    if (w)
        remote_worker_settle(s->rm, w);
    run_lease_clear(&lw->l);
    cJSON_Delete(lw->id);
    free(lw);
}

/* Leases w a run through the thread pool (the store may be read); the
 * reply to rq, a lease or a finish with "next", waits for it. */
static void queue_lease(const request *rq, rworker *w, bool finished)
{
    conn *c = rq->c;
    server *s = c->srv;
    lease_work *lw = calloc(1, sizeof *lw);
    if (lw && rq->pr->id && !(lw->id = cJSON_Duplicate(rq->pr->id, true))) {
        free(lw);
        lw = NULL;
    }
    if (!lw)
        return server__reply_errorf(c, rq->pr->id, PROTO_E_INTERNAL, NULL,
                                    "out of memory");
    /* A TCP peer may be on this machine too, but nothing says so; its
     * memory is its machine's to manage (README, "Memory admission"). */
    *lw = (lease_work){.s = s, .conn_id = c->id, .worker_id = w->id,
                       .local = !c->tcp, .finished = finished,
                       .id = lw->id};
    lw->req.data = lw;
    int rc = uv_queue_work(s->loop, &lw->req, lease_run, lease_done);
    if (rc < 0) {
        cJSON_Delete(lw->id);
        free(lw);
        return server__reply_errorf(c, rq->pr->id, PROTO_E_INTERNAL, NULL,
                                    uv_strerror(rc));
    }
    c->inflight++;
    w->leasing++;
}

static bool lease_room(const rworker *w)
{
    return w->nleases + w->leasing < w->threads + w->prefetch;
}

void server__op_lease(const request *rq)
{
    conn *c = rq->c;
    rworker *w = server__want_worker(rq);
    if (!w)
        return;
    if (c->srv->stopping)
        return server__reply_errorf(c, rq->pr->id, PROTO_E_SHUTTING_DOWN,
                                    NULL, "the daemon is shutting down");
    if (!lease_room(w))
        return server__reply_errorf(c, rq->pr->id, PROTO_E_TOO_MANY_REQUESTS,
                                    NULL, "this worker already holds a run "
                                    "for each of its threads, and its "
                                    "prefetch");
    queue_lease(rq, w, false);
}

void server__op_heartbeat(const request *rq)
{
    rworker *w = server__want_worker(rq);
    if (!w)
        return;
    server *s = rq->c->srv;
    cJSON *r = proto_reply_new(rq->pr->id, true);
    cJSON *out = r ? cJSON_AddArrayToObject(r, "runs") : NULL;
    const cJSON *it, *arr = member(rq, "runs");
    double now = server__now();
    if (!out || !cJSON_IsArray(arr))
        arr = NULL;
    cJSON_ArrayForEach(it, arr) {
        proto_error e;
        int64_t run = 0, attempt = 0;
        if (proto_get_int(it, "run", 1, (int64_t)1 << 53, &run, &e) != 0 ||
            proto_get_int(it, "attempt", 1, 1 << 30, &attempt, &e) != 0)
            continue;
        rlease *l = remote_lease_renew(s->rm, w, run, (int)attempt, now);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(out, o);
        cJSON_AddNumberToObject(o, "run", (double)run);
        cJSON_AddStringToObject(o, "do",
                                l ? server__poll_name(sched_poll(s->sc, run))
                                  : "stale");
    }
    server__send(rq->c, r);
}

/* The report's "points" (absent: none) go to the host's curve; -1 with
 * the error sent. */
static int take_points(const request *rq, const run_lease *rl, bool required)
{
    const cJSON *arr = member(rq, "points");
    if (!arr && !required)
        return 0;
    curve_point *pts = malloc(WORKER_MAX_CURVE * sizeof *pts);
    char err[ERR_LEN];
    int n = pts ? wire_curve_from_json(arr, pts, WORKER_MAX_CURVE, err,
                                       sizeof err)
                : err_set(err, sizeof err, -ENOMEM, "out of memory");
    if (n < 0) {
        free(pts);
        server__reply_errorf(rq->c, rq->pr->id, PROTO_E_BAD_REQUEST,
                             "points", err);
        return -1;
    }
    const worker_host *wh = host_worker(rq->c->srv->hs);
    if (n > 0)
        wh->curve(wh->ctx, rl, pts, n);
    free(pts);
    return 0;
}

void server__op_curve(const request *rq)
{
    rworker *w = server__want_worker(rq);
    rlease *l = w ? server__want_lease(rq, w) : NULL;
    if (!l)
        return;
    run_lease rl = lease_of(l);
    if (take_points(rq, &rl, true) == 0)
        server__reply_do(rq, rl.run_id);
}

void server__op_checkpoint(const request *rq)
{
    rworker *w = server__want_worker(rq);
    rlease *l = w ? server__want_lease(rq, w) : NULL;
    if (!l)
        return;
    proto_error e;
    int64_t step = 0, offset = 0, total = -1;
    const cJSON *data = member(rq, "data");
    void *bytes = NULL;
    size_t len = 0;
    if (proto_get_int(rq->pr->root, "step", 0, (int64_t)1 << 53, &step, &e) < 0 ||
        proto_get_int(rq->pr->root, "offset", 0, PROTO_MAX_CHECKPOINT, &offset,
                      &e) < 0 ||
        proto_get_int(rq->pr->root, "total", 1, PROTO_MAX_CHECKPOINT, &total,
                      &e) < 0)
        return server__reply_error(rq->c, rq->pr->id, &e);
    if (!cJSON_IsString(data) || wire_unbase64(data->valuestring, &bytes, &len) < 0)
        return server__reply_errorf(rq->c, rq->pr->id, PROTO_E_BAD_REQUEST,
                                    "data", "must be the state in base64");
    checkpoint ck = {bytes, len, (long)step};
    int part = 1;
    if (total >= 0 && (offset > 0 || (size_t)total != len))
        part = remote_ck_part(rq->c->srv->rm, l, (long)step, (size_t)offset,
                              (size_t)total, bytes, len, &ck);
    if (part == -EINVAL || part == -ENOMEM) {
        free(bytes);
        return server__reply_errorf(rq->c, rq->pr->id,
                                    part == -ENOMEM ? PROTO_E_INTERNAL
                                                    : PROTO_E_BAD_REQUEST,
                                    "offset", part == -ENOMEM
                                    ? "out of memory assembling the checkpoint"
                                    : "a part out of order: parts of a "
                                      "checkpoint come in order from offset "
                                      "0, with the same step and total");
    }
    run_lease rl = lease_of(l);
    const worker_host *wh = host_worker(rq->c->srv->hs);
    int rc = part == 1 ? wh->checkpoint(wh->ctx, &rl, &ck) : 0;
    if (part == 1 && ck.data != bytes)
        remote_ck_done(rq->c->srv->rm, l);
    free(bytes);
    if (rc < 0)
        return server__reply_errorf(rq->c, rq->pr->id, PROTO_E_INTERNAL, NULL,
                                    "the checkpoint was not kept (out of "
                                    "memory); the run goes on");
    server__reply_do(rq, rl.run_id);
}

void server__op_checkpoint_get(const request *rq)
{
    rworker *w = server__want_worker(rq);
    rlease *l = w ? server__want_lease(rq, w) : NULL;
    if (!l)
        return;
    proto_error e;
    int64_t offset = 0;
    checkpoint ck;
    if (proto_get_int(rq->pr->root, "offset", 0, PROTO_MAX_CHECKPOINT, &offset,
                      &e) < 0)
        return server__reply_error(rq->c, rq->pr->id, &e);
    remote *rm = rq->c->srv->rm;
    if (!remote_ck_get(rm, l, &ck) || (size_t)offset >= ck.len)
        return server__reply_errorf(rq->c, rq->pr->id, PROTO_E_NOT_FOUND,
                                    "offset", "no checkpoint of this lease "
                                    "waits to be fetched at this offset");
    size_t len = ck.len - (size_t)offset < WIRE_PART_BYTES
                     ? ck.len - (size_t)offset : WIRE_PART_BYTES;
    char *b64 = wire_base64((const char *)ck.data + offset, len);
    cJSON *r = b64 ? proto_reply_new(rq->pr->id, true) : NULL;
    if (r && (!cJSON_AddStringToObject(r, "data", b64) ||
              !cJSON_AddNumberToObject(r, "offset", (double)offset) ||
              !cJSON_AddNumberToObject(r, "total", (double)ck.len))) {
        cJSON_Delete(r);
        r = NULL;
    }
    free(b64);
    /* Fetched to the end: the worker holds it now. */
    if (r && (size_t)offset + len == ck.len)
        remote_ck_done(rm, l);
    server__send(rq->c, r);
}

/* A done or diverged run's result, and its arrays when it sent them:
 * those of the message in *arrays (owned by the caller), joined with
 * those it sent in parts into *all (arrayops.c). */
static int finish_args(const request *rq, const rlease *l, run_outcome *o,
                       run_result *res, run_arrays **arrays,
                       finish_arrays *all, char *err, size_t errlen)
{
    const cJSON *st = member(rq, "state"), *msg = member(rq, "error");
    enum run_state state;
    if (!cJSON_IsString(st) || run_state_from_name(st->valuestring, &state) < 0 ||
        state == RUN_RUNNING)
        return err_set(err, errlen, -EINVAL,
                       "state: must be done, diverged, failed, canceled or "
                       "queued");
    *o = (run_outcome){.state = state,
                       .error = cJSON_IsString(msg) ? msg->valuestring : NULL};
    if (state == RUN_STATE_DONE || state == RUN_STATE_DIVERGED) {
        const cJSON *arr = member(rq, "arrays");
        int rc = arr ? wire_arrays_from_json(arr, arrays, err, errlen) : 0;
        if (rc < 0 ||
            (rc = server__arrays_join(rq, l, *arrays, all, err, errlen)) < 0)
            return rc;
        o->arrays = rc > 0 ? &all->as : NULL;
        if ((rc = wire_result_from_json(member(rq, "result"), res, err,
                                        errlen)) < 0)
            return rc;
        o->result = res;
    }
    return 0;
}

/* finish may carry the run's last curve points, and with "next" asks for
 * the worker's next run in its reply: one round trip per run instead of
 * three (docs/protocol.md, "Workers"). The lease ends after the store
 * thread has its copy of the arrays, some of which it holds (remote.h). */
void server__op_finish(const request *rq)
{
    rworker *w = server__want_worker(rq);
    rlease *l = w ? server__want_lease(rq, w) : NULL;
    if (!l)
        return;
    run_outcome o;
    run_result res;
    run_arrays *arrays = NULL;
    finish_arrays all = {0};
    char err[ERR_LEN];
    run_lease rl = lease_of(l);
    int rc = finish_args(rq, l, &o, &res, &arrays, &all, err, sizeof err);
    if (rc < 0)
        server__reply_errorf(rq->c, rq->pr->id, rc == -ENOMEM
                             ? PROTO_E_INTERNAL : PROTO_E_BAD_REQUEST,
                             NULL, err);
    if (rc < 0 || take_points(rq, &rl, false) < 0) {
        server__arrays_free(&all);
        free(arrays);
        return;
    }
    if (o.state != RUN_QUEUED)
        w->finished++;
    const worker_host *wh = host_worker(rq->c->srv->hs);
    wh->finish(wh->ctx, &rl, &o);
    remote_lease_end(rq->c->srv->rm, w, rl.run_id);
    server__arrays_free(&all);
    free(arrays);
    if (cJSON_IsTrue(member(rq, "next")) && !rq->c->srv->stopping &&
        lease_room(w))
        return queue_lease(rq, w, true);
    server__send(rq->c, proto_reply_new(rq->pr->id, true));
}

static cJSON *worker_json(const rworker *w, double now)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "worker", (double)w->id);
    cJSON_AddStringToObject(o, "host", w->host);
    cJSON_AddNumberToObject(o, "pid", (double)w->pid);
    cJSON_AddNumberToObject(o, "threads", w->threads);
    cJSON_AddNumberToObject(o, "prefetch", w->prefetch);
    cJSON_AddBoolToObject(o, "connected", w->conn_id != 0);
    cJSON *runs = cJSON_AddArrayToObject(o, "runs");
    for (int i = 0; runs && i < w->nleases; i++)
        cJSON_AddItemToArray(runs,
                             cJSON_CreateNumber((double)w->leases[i].run_id));
    cJSON_AddNumberToObject(o, "finished", (double)w->finished);
    cJSON_AddNumberToObject(o, "last_heard_s", now - w->last_heard);
    cJSON_AddNumberToObject(o, "connected_s", now - w->since);
    return o;
}

void server__op_workers(const request *rq)
{
    server *s = rq->c->srv;
    cJSON *r = proto_reply_new(rq->pr->id, true);
    cJSON *arr = r ? cJSON_AddArrayToObject(r, "workers") : NULL;
    double now = server__now();
    for (rworker *w = remote_workers(s->rm, NULL); arr && w;
         w = remote_workers(s->rm, w))
        cJSON_AddItemToArray(arr, worker_json(w, now));
    if (r)
        cJSON_AddNumberToObject(r, "threads", s->workers);
    server__send(rq->c, r);
}

void server__leases_sweep(server *s, double now)
{
    rlease l;
    rworker owner;
    while (remote_lease_expired(s->rm, now, &l, &owner)) {
        char why[ERR_LEN];
        snprintf(why, sizeof why,
                 "its worker (%s pid %ld) was not heard from for %.0f s",
                 owner.host, owner.pid, remote_lease_timeout(s->rm));
        log_warn("run %lld attempt %d: %s; the lease expired", (long long)l.run_id,
                 l.attempt, why);
        run_lease rl = lease_of(&l);
        host_lost(s->hs, &rl, why);
    }
}

void server__leases_suspend(server *s)
{
    rlease l;
    rworker owner;
    while (remote_lease_expired(s->rm, INFINITY, &l, &owner)) {
        run_lease rl = lease_of(&l);
        lease_give_back(s, &rl);
    }
}
