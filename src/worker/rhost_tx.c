/* rhost_tx.c — the sender thread of the worker host (rhost_internal.h):
 * sends the runs' finishes in the order they came, each asking for the
 * run that replaces it, and leases what the pool's threads and the spare
 * still lack. */
#include "rhost_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "wire.h"

/* Lock held: a lease request would bring a run someone waits for. */
static bool want_lease(rhost *h)
{
    int want = h->waiting + (h->spare ? 1 : 0);
    return !h->tx_quit && !rhost__stopping(h) && h->busy < h->nslots &&
           h->nready + h->pending_next < want;
}

/* Lock held: a run the daemon leased waits for a pool thread, or goes
 * back when the worker is stopping. Takes l's memory. */
static void accept_run(rhost *h, run_lease *l)
{
    if (h->tx_quit || rhost__stopping(h) || rhost__slot_take(h, l) < 0) {
        rhost__hand_back(h, l);
        return;
    }
    h->ready[h->nready++] = *l;
    pthread_cond_broadcast(&h->cond);
}

/* One part of l's checkpoint from offset, appended to buf (total bytes
 * of room); the bytes it added, or a negative code. */
static long fetch_part(rhost *h, const run_lease *l, size_t offset,
                       unsigned char *buf, size_t total)
{
    cJSON *req = rhost__op_new("checkpoint_get", l), *rep = NULL;
    if (!req || !cJSON_AddNumberToObject(req, "offset", (double)offset)) {
        cJSON_Delete(req);
        return -ENOMEM;
    }
    int rc = rhost__report(h, l, req, &rep);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(rep, "data");
    void *bytes = NULL;
    size_t len = 0;
    long got = rc < 0 ? rc : -EPROTO;
    if (rc == 0 && cJSON_IsString(data) &&
        wire_unbase64(data->valuestring, &bytes, &len) == 0 && len > 0 &&
        len <= total - offset) {
        memcpy(buf + offset, bytes, len);
        got = (long)len;
    }
    free(bytes);
    cJSON_Delete(rep);
    return got;
}

/* A checkpoint too big for the lease reply, fetched in parts; on failure
 * the run starts from its beginning instead. */
static void fetch_checkpoint(rhost *h, run_lease *l, size_t total)
{
    unsigned char *buf = malloc(total);
    size_t have = 0;
    long got = buf ? 0 : -ENOMEM;
    while (buf && have < total && (got = fetch_part(h, l, have, buf, total)) > 0)
        have += (size_t)got;
    if (have == total) {
        l->ck_data = buf;
        l->ck_len = total;
        return;
    }
    free(buf);
    log_warn("run %lld: its checkpoint of %zu bytes could not be fetched "
             "(%s); the run starts from its beginning", (long long)l->run_id,
             total, strerror(got < 0 ? (int)-got : EPROTO));
}

/* The run a reply carries: 0 with *out, or -1 (none, or not valid). */
static int reply_run(rhost *h, const cJSON *rep, run_lease *out)
{
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(rep, "run");
    const cJSON *big = cJSON_GetObjectItemCaseSensitive(run, "checkpoint_total");
    char err[ERR_LEN];
    if (!cJSON_IsObject(run))
        return -1;
    if (rhost__lease_parse(run, out, err, sizeof err) == 0) {
        if (!out->ck_data && cJSON_IsNumber(big) && big->valuedouble >= 1 &&
            big->valuedouble <= (double)PROTO_MAX_CHECKPOINT)
            fetch_checkpoint(h, out, (size_t)big->valuedouble);
        return 0;
    }
    /* The daemon's lease of it expires and the run goes to a worker. */
    log_error("%s", err);
    return -1;
}

static void send_finish(rhost *h, out_msg *m)
{
    cJSON *rep = NULL;
    run_lease next;
    int rc = rhost__report(h, &m->l, m->req, &rep);
    bool got = rc == 0 && m->next_run && reply_run(h, rep, &next) == 0;
    cJSON_Delete(rep);
    pthread_mutex_lock(&h->lock);
    h->pending_next -= m->next_run;
    rhost__slot_free(h, m->l.run_id);
    if (got)
        accept_run(h, &next);
    pthread_mutex_unlock(&h->lock);
    free(m);
}

typedef struct lease_pace {
    double backoff;            /* after the next empty reply */
    double until;              /* monotonic: no lease request before */
} lease_pace;

/* An empty or failed lease: when to ask again. */
static void lease_wait(rhost *h, int rc, const proto_error *e, lease_pace *p)
{
    double now = rhost__now();
    if (rc == 0) {
        if (!rhost__idle_out(h)) {
            p->until = now + p->backoff;
            p->backoff = fmin(p->backoff * 2, RHOST_BACKOFF_MAX_S);
        }
    } else if (rc == -EACCES) {
        rhost__set_fatal(h, rc, e->message);
    } else if (rc == -EREMOTEIO &&
               strcmp(e->code, PROTO_E_TOO_MANY_REQUESTS) == 0) {
        /* A daemon that allows no spare (register's prefetch). */
        pthread_mutex_lock(&h->lock);
        h->spare = false;
        pthread_mutex_unlock(&h->lock);
        p->until = now + RHOST_BACKOFF_MIN_S;
    } else if (rc != -ESHUTDOWN) {
        /* The daemon is stopping, or busy: ask again later. */
        log_debug("lease: %s", rc == -ENOMEM ? "out of memory" : e->message);
        p->until = now + RHOST_BACKOFF_MAX_S;
    }
}

static void tx_lease(rhost *h, lease_pace *p)
{
    cJSON *req = cJSON_CreateObject(), *rep = NULL;
    proto_error e = {0};
    int rc = req && cJSON_AddStringToObject(req, "op", "lease")
                 ? uplink_call(h->up, req, &rep, &e)
                 : proto_error_set(&e, -ENOMEM, PROTO_E_INTERNAL, NULL,
                                   "out of memory");
    cJSON_Delete(req);
    run_lease l;
    if (rc == 0 && reply_run(h, rep, &l) == 0) {
        pthread_mutex_lock(&h->lock);
        accept_run(h, &l);
        pthread_mutex_unlock(&h->lock);
        p->backoff = RHOST_BACKOFF_MIN_S;
    } else {
        lease_wait(h, rc, &e, p);
    }
    cJSON_Delete(rep);
}

/* Lock held: waits for work, at most until t (monotonic) or 50 ms. */
static void tx_wait(rhost *h, double until)
{
    double dt = fmin(fmax(until - rhost__now(), 0.001), 0.05);
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    long ns = t.tv_nsec + (long)(dt * 1e9);
    t.tv_sec += ns / 1000000000L;
    t.tv_nsec = ns % 1000000000L;
    pthread_cond_timedwait(&h->cond, &h->lock, &t);
}

/* Lock held: the next finish to send, or NULL. */
static out_msg *pop(rhost *h)
{
    out_msg *m = h->out_head;
    if (m) {
        h->out_head = m->next;
        if (!h->out_head)
            h->out_tail = NULL;
        h->nout--;
    }
    return m;
}

void *rhost__tx_main(void *arg)
{
    rhost *h = arg;
    lease_pace pace = {RHOST_BACKOFF_MIN_S, 0};
    pthread_mutex_lock(&h->lock);
    for (;;) {
        out_msg *m = pop(h);
        if (m) {
            pthread_mutex_unlock(&h->lock);
            send_finish(h, m);
            pthread_mutex_lock(&h->lock);
        } else if (h->tx_quit && h->nready > 0) {
            /* The pool's threads left before taking these. */
            while (h->nready > 0)
                rhost__hand_back(h, &h->ready[--h->nready]);
        } else if (h->tx_quit) {
            break;
        } else if (want_lease(h) && rhost__now() >= pace.until) {
            pthread_mutex_unlock(&h->lock);
            tx_lease(h, &pace);
            pthread_mutex_lock(&h->lock);
        } else {
            /* Woken by the condition when there is something to do; a
             * stale pace.until would make this a 1 ms spin. */
            tx_wait(h, want_lease(h) ? pace.until : rhost__now() + 0.05);
        }
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}
