/* rhost_state.c — the worker host's shared state (rhost_internal.h): its
 * slots, its queue of finishes, and the report round trip. */
#include "rhost_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "wire.h"

double rhost__now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

bool rhost__stopping(rhost *h)
{
    if (!atomic_load(&h->stop) && h->deadline > 0 &&
        rhost__now() >= h->deadline) {
        log_info("time limit reached: handing the runs back");
        atomic_store(&h->stop, true);
    }
    return atomic_load(&h->stop);
}

slot *rhost__slot_find(rhost *h, int64_t run_id)
{
    for (int i = 0; i < h->nslots; i++)
        if (h->slots[i].used && h->slots[i].run_id == run_id)
            return &h->slots[i];
    return NULL;
}

int rhost__slot_take(rhost *h, const run_lease *l)
{
    for (int i = 0; i < h->nslots; i++) {
        if (!h->slots[i].used) {
            h->slots[i] = (slot){.used = true, .run_id = l->run_id,
                                 .attempt = l->attempt, .poll = RUN_CONTINUE,
                                 .leased_at = rhost__now()};
            h->busy++;
            return 0;
        }
    }
    return -1;
}

void rhost__slot_free(rhost *h, int64_t run_id)
{
    slot *s = rhost__slot_find(h, run_id);
    if (s) {
        s->used = false;
        h->busy--;
    }
    h->last_busy = rhost__now();
    pthread_cond_broadcast(&h->cond);
}

bool rhost__stale(rhost *h, int64_t run_id)
{
    pthread_mutex_lock(&h->lock);
    slot *s = rhost__slot_find(h, run_id);
    bool stale = !s || s->stale;
    pthread_mutex_unlock(&h->lock);
    return stale;
}

void rhost__slot_set(rhost *h, int64_t run_id, const char *what)
{
    pthread_mutex_lock(&h->lock);
    slot *s = rhost__slot_find(h, run_id);
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

cJSON *rhost__op_new(const char *op, const run_lease *l)
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

int rhost__report(rhost *h, const run_lease *l, cJSON *req, cJSON **keep)
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
        rhost__slot_set(h, l->run_id, cJSON_IsString(d) ? d->valuestring : NULL);
    } else if (rc == -EREMOTEIO && strcmp(e.code, PROTO_E_STALE_LEASE) == 0) {
        rhost__slot_set(h, l->run_id, "stale");
    } else if (rc == -EACCES) {
        rhost__set_fatal(h, rc, e.message);
    } else {
        log_warn("run %lld: %s failed: %s", (long long)l->run_id, op,
                 e.message);
    }
    if (keep && rc == 0)
        *keep = rep;
    else
        cJSON_Delete(rep);
    return rc;
}

int rhost__lease_parse(const cJSON *run, run_lease *out, char *err,
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

/* Idle past --idle-exit (leased nothing, or could not reach the daemon):
 * stops the worker. */
bool rhost__idle_out(rhost *h)
{
    pthread_mutex_lock(&h->lock);
    bool idle = h->idle_exit_s > 0 && h->busy == 0 &&
                rhost__now() - h->last_busy >= h->idle_exit_s;
    pthread_mutex_unlock(&h->lock);
    if (idle && !atomic_exchange(&h->stop, true))
        log_info("nothing to run for %g s: leaving", h->idle_exit_s);
    return idle;
}

void rhost__set_fatal(rhost *h, int rc, const char *msg)
{
    pthread_mutex_lock(&h->lock);
    if (!h->fatal) {
        h->fatal = rc;
        snprintf(h->fatal_msg, sizeof h->fatal_msg, "%s", msg);
    }
    pthread_mutex_unlock(&h->lock);
    atomic_store(&h->stop, true);
}

void rhost__queue(rhost *h, const run_lease *l, cJSON *req, bool next_run)
{
    out_msg *m = calloc(1, sizeof *m);
    if (!m) {
        log_error("run %lld: out of memory reporting its end; the daemon "
                  "runs it again when the lease expires", (long long)l->run_id);
        cJSON_Delete(req);
        rhost__slot_free(h, l->run_id);
        return;
    }
    if (next_run && !cJSON_AddTrueToObject(req, "next"))
        next_run = false;   /* out of memory: the sender leases apart */
    *m = (out_msg){.l = {.run_id = l->run_id, .job_id = l->job_id,
                         .priority = l->priority, .attempt = l->attempt},
                   .req = req, .next_run = next_run};
    if (h->out_tail)
        h->out_tail->next = m;
    else
        h->out_head = m;
    h->out_tail = m;
    h->nout++;
    h->pending_next += next_run;
    pthread_cond_broadcast(&h->cond);
}

void rhost__hand_back(rhost *h, run_lease *l)
{
    cJSON *req = rhost__op_new("finish", l);
    if (req && !cJSON_AddStringToObject(req, "state", "queued")) {
        cJSON_Delete(req);
        req = NULL;
    }
    if (req)
        rhost__queue(h, l, req, false);
    else
        rhost__slot_free(h, l->run_id);
    run_lease_clear(l);
}
