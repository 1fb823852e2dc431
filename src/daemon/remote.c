/* remote.c — the book of remote workers and leases (remote.h). */
#include "remote.h"

#include "parts.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"

struct remote {
    double timeout_s;
    uint64_t next_id;
    rworker *workers;          /* newest first */
    long nleases;
    parts *ck;                 /* checkpoints in parts, by run (name CK) */
    parts *arrays;             /* kept arrays in parts, by run and name */
};

int remote_new(double lease_timeout_s, remote **out)
{
    remote *rm = calloc(1, sizeof *rm);
    if (!rm)
        return -ENOMEM;
    rm->timeout_s = lease_timeout_s;
    *out = rm;
    return 0;
}

static void worker_free(rworker *w)
{
    free(w->leases);
    free(w);
}

void remote_free(remote *rm)
{
    if (!rm)
        return;
    for (rworker *w = rm->workers, *n; w; w = n) {
        n = w->next;
        worker_free(w);
    }
    parts_free(&rm->ck);
    parts_free(&rm->arrays);
    free(rm);
}

double remote_lease_timeout(const remote *rm)
{
    return rm->timeout_s;
}

rworker *remote_worker_add(remote *rm, uint64_t conn_id, const char *host,
                           long pid, int threads, double now)
{
    rworker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->id = ++rm->next_id;
    w->conn_id = conn_id;
    snprintf(w->host, sizeof w->host, "%s", host);
    w->pid = pid;
    w->threads = threads;
    w->since = w->last_heard = now;
    w->next = rm->workers;
    rm->workers = w;
    return w;
}

rworker *remote_worker_find(remote *rm, uint64_t id)
{
    for (rworker *w = rm->workers; w; w = w->next)
        if (w->id == id)
            return w;
    return NULL;
}

rworker *remote_worker_by_conn(remote *rm, uint64_t conn_id)
{
    for (rworker *w = rm->workers; conn_id && w; w = w->next)
        if (w->conn_id == conn_id)
            return w;
    return NULL;
}

rworker *remote_worker_by_pid(remote *rm, long pid)
{
    for (rworker *w = rm->workers; w; w = w->next)
        if (w->pid == pid)
            return w;
    return NULL;
}

static void worker_unlink(remote *rm, rworker *gone)
{
    for (rworker **pp = &rm->workers; *pp; pp = &(*pp)->next)
        if (*pp == gone) {
            *pp = gone->next;
            worker_free(gone);
            return;
        }
}

void remote_conn_closed(remote *rm, uint64_t conn_id)
{
    rworker *w = remote_worker_by_conn(rm, conn_id);
    if (!w)
        return;
    log_info("worker %llu (%s pid %ld) disconnected with %d runs leased",
             (unsigned long long)w->id, w->host, w->pid, w->nleases);
    w->conn_id = 0;
    if (w->nleases == 0 && w->leasing == 0)
        worker_unlink(rm, w);
}

void remote_worker_settle(remote *rm, rworker *w)
{
    if (w->conn_id == 0 && w->nleases == 0 && w->leasing == 0)
        worker_unlink(rm, w);
}

rworker *remote_workers(remote *rm, rworker *after)
{
    return after ? after->next : rm->workers;
}

int remote_connected(const remote *rm)
{
    int n = 0;
    for (const rworker *w = rm->workers; w; w = w->next)
        n += w->conn_id != 0;
    return n;
}

static int lease_push(remote *rm, rworker *w, const rlease *l)
{
    if (w->nleases == w->cap) {
        int cap = w->cap ? 2 * w->cap : 4;
        rlease *nl = realloc(w->leases, (size_t)cap * sizeof *nl);
        if (!nl)
            return -ENOMEM;
        w->leases = nl;
        w->cap = cap;
    }
    w->leases[w->nleases++] = *l;
    rm->nleases++;
    return 0;
}

static void lease_remove(remote *rm, rworker *w, int i)
{
    w->leases[i] = w->leases[--w->nleases];
    rm->nleases--;
}

/* A lease ends: what of its run was arriving in parts is dropped, so a
 * run holds memory here only while its lease lives. (A lease that moves
 * to its reconnected worker keeps them: the same run and attempt go on
 * sending.) */
static void lease_drop(remote *rm, rworker *w, int i)
{
    parts_drop(&rm->ck, w->leases[i].run_id, NULL);
    parts_drop(&rm->arrays, w->leases[i].run_id, NULL);
    lease_remove(rm, w, i);
}

int remote_lease_add(remote *rm, rworker *w, const run_lease *l, double now)
{
    rlease r = {l->run_id, l->job_id, l->priority, l->attempt,
                now + rm->timeout_s};
    return lease_push(rm, w, &r);
}

static int lease_index(const rworker *w, int64_t run_id)
{
    for (int i = 0; i < w->nleases; i++)
        if (w->leases[i].run_id == run_id)
            return i;
    return -1;
}

rlease *remote_lease_renew(remote *rm, rworker *w, int64_t run_id,
                           int attempt, double now)
{
    int i = lease_index(w, run_id);
    if (i < 0 || w->leases[i].attempt != attempt)
        return NULL;
    w->leases[i].deadline = now + rm->timeout_s;
    return &w->leases[i];
}

bool remote_lease_adopt(remote *rm, rworker *w, int64_t run_id, int attempt,
                        double now)
{
    for (rworker *o = rm->workers; o; o = o->next) {
        int i = o == w || o->conn_id ? -1 : lease_index(o, run_id);
        if (i < 0 || o->leases[i].attempt != attempt)
            continue;
        rlease l = o->leases[i];
        l.deadline = now + rm->timeout_s;
        if (lease_push(rm, w, &l) < 0)
            return false;
        lease_remove(rm, o, i);
        if (o->nleases == 0 && o->leasing == 0)
            worker_unlink(rm, o);
        return true;
    }
    return false;
}

void remote_lease_end(remote *rm, rworker *w, int64_t run_id)
{
    int i = lease_index(w, run_id);
    if (i >= 0)
        lease_drop(rm, w, i);
}

bool remote_lease_expired(remote *rm, double now, rlease *out, rworker *owner)
{
    for (rworker *w = rm->workers; w; w = w->next) {
        for (int i = 0; i < w->nleases; i++) {
            if (!(w->leases[i].deadline < now || isinf(now)))
                continue;
            *out = w->leases[i];
            *owner = *w;
            owner->leases = NULL;
            owner->next = NULL;
            lease_drop(rm, w, i);
            if (w->nleases == 0 && w->conn_id == 0 && w->leasing == 0)
                worker_unlink(rm, w);
            return true;
        }
    }
    return false;
}

bool remote_lease_pop(remote *rm, rworker *w, rlease *out)
{
    if (w->nleases == 0)
        return false;
    *out = w->leases[w->nleases - 1];
    lease_drop(rm, w, w->nleases - 1);
    return true;
}

/* The checkpoint's name in its list: one per run. */
#define CK "checkpoint"

int remote_ck_part(remote *rm, const rlease *l, long step, size_t offset,
                   size_t total, const void *data, size_t len,
                   checkpoint *whole)
{
    parts_part p = {l->run_id, CK, {{step}}, offset, total, data, len};
    parts_whole w;
    int rc = parts_add(&rm->ck, &p, PROTO_MAX_CHECKPOINT, &w);
    if (rc == 1)
        *whole = (checkpoint){w.data, w.len, w.tag.v[0]};
    return rc == -EFBIG ? -EINVAL : rc;
}

void remote_ck_done(remote *rm, const rlease *l)
{
    parts_drop(&rm->ck, l->run_id, CK);
}

int remote_ck_keep(remote *rm, int64_t run_id, void *data, size_t len)
{
    return parts_keep(&rm->ck, run_id, CK, data, len);
}

int remote_ck_get(remote *rm, const rlease *l, checkpoint *whole)
{
    parts_whole w;
    if (!parts_get(&rm->ck, l->run_id, CK, &w))
        return 0;
    *whole = (checkpoint){w.data, w.len, w.tag.v[0]};
    return 1;
}

/* An array's dimensions and shape, as every part of it repeats them. */
static parts_tag shape_tag(const run_array *head)
{
    parts_tag t = {{head->ndim}};
    for (int k = 0; k < head->ndim && k < RUN_ARRAY_MAX_DIMS; k++)
        t.v[1 + k] = head->shape[k];
    return t;
}

int remote_array_part(remote *rm, const rlease *l, const run_array *head,
                      size_t offset, size_t total, const void *data,
                      size_t len)
{
    parts_part p = {l->run_id, head->name, shape_tag(head), offset, total,
                    data, len};
    parts_whole w;
    int rc = parts_add(&rm->arrays, &p, PROTO_MAX_ARRAYS, &w);
    return rc < 0 ? rc : 0;
}

int remote_array_get(remote *rm, const rlease *l, const char *name,
                     run_array *head, const void **le)
{
    parts_whole w;
    if (!parts_get(&rm->arrays, l->run_id, name, &w))
        return 0;
    *head = (run_array){.ndim = (int)w.tag.v[0]};
    snprintf(head->name, sizeof head->name, "%s", name);
    for (int k = 0; k < head->ndim; k++)
        head->shape[k] = w.tag.v[1 + k];
    *le = w.data;
    return 1;
}

long remote_nleases(const remote *rm)
{
    return rm->nleases;
}
