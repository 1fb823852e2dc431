/* replies.c — requests waiting for the store thread (submit, cancel,
 * retry, runs, slurm_record): each gets a tag, and its reply is sent when the store
 * thread's event with that tag comes back after the commit, if the
 * connection that asked is still there (server.h). */
#include "server_internal.h"

#include <errno.h>
#include <stdlib.h>

preq *server__preq_new(server *s, conn *c, const cJSON *id)
{
    preq *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->tag = ++s->next_tag;
    p->conn_id = c->id;
    p->id = id ? cJSON_Duplicate(id, true) : NULL;
    p->next = s->pending;
    s->pending = p;
    c->inflight++;
    return p;
}

/* Unlinks the request of tag; NULL when unknown. */
static preq *preq_take(server *s, uint64_t tag)
{
    for (preq **pp = &s->pending; *pp; pp = &(*pp)->next) {
        if ((*pp)->tag == tag) {
            preq *p = *pp;
            *pp = p->next;
            return p;
        }
    }
    return NULL;
}

static void preq_free(preq *p)
{
    if (p) {
        cJSON_Delete(p->id);
        free(p);
    }
}

/* The connection that asked, or NULL when it went away. */
static conn *preq_conn(server *s, preq *p)
{
    conn *c = server__conn_by_id(s, p->conn_id);
    if (c && c->inflight > 0)
        c->inflight--;
    return c;
}

void server__preq_cancel(server *s, conn *c, preq *p)
{
    preq_take(s, p->tag);
    preq_free(p);
    c->inflight--;
}

static void reply_failure(server *s, preq *p, const writer_event *ev)
{
    conn *c = preq_conn(s, p);
    if (!c)
        return;
    proto_error e;
    const char *msg = ev->error ? ev->error : "failed";
    /* A Slurm record refused by the schema names a job the database no
     * longer has (deleted with sqlite3 under the daemon). */
    bool pause = ev->kind == WEV_PAUSED || ev->kind == WEV_RESUMED;
    if (pause && ev->rc == -EINVAL)   /* the job's state refuses it */
        proto_error_set(&e, ev->rc, PROTO_E_BAD_REQUEST, "job", "%s", msg);
    else if (ev->rc == -ENOENT ||
        (ev->kind == WEV_SLURM_RECORDED && ev->rc == -EINVAL))
        proto_error_set(&e, ev->rc, PROTO_E_NOT_FOUND, "job", "%s", msg);
    else if (ev->rc == -ESHUTDOWN)
        proto_error_set(&e, ev->rc, PROTO_E_SHUTTING_DOWN, NULL, "%s", msg);
    else if (ev->store_error || ev->rc == -EIO || ev->rc == -ENOSPC)
        proto_error_set(&e, ev->rc, PROTO_E_STORE_FAULT, NULL,
                        "the database refused the write: %s", msg);
    else if ((ev->kind == WEV_SUBMIT_FAILED || ev->kind == WEV_EXTENDED) &&
             ev->rc != -ENOMEM)
        proto_error_from_sentence(&e, PROTO_E_INVALID_SPEC, msg);
    else
        proto_error_set(&e, ev->rc, PROTO_E_INTERNAL, NULL, "%s", msg);
    server__reply_error(c, p->id, &e);
}

static cJSON *reply_for(server *s, preq *p, conn **cp)
{
    *cp = preq_conn(s, p);
    return *cp ? proto_reply_new(p->id, true) : NULL;
}

static void reply_runs(server *s, preq *p, const writer_event *ev)
{
    conn *c;
    cJSON *r = reply_for(s, p, &c);
    if (!c)
        return;
    cJSON *arr = r ? cJSON_AddArrayToObject(r, "runs") : NULL;
    for (int i = 0; arr && i < ev->u.runs.nrows; i++) {
        const writer_run_row *row = &ev->u.runs.rows[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddNumberToObject(o, "run", (double)row->run_id);
        cJSON_AddNumberToObject(o, "index", (double)row->index);
        cJSON_AddStringToObject(o, "state", run_state_name(row->state));
        cJSON_AddNumberToObject(o, "attempts", row->attempts);
        if (row->error)
            cJSON_AddStringToObject(o, "error", row->error);
        else
            cJSON_AddNullToObject(o, "error");
        cJSON_AddNumberToObject(o, "gap", row->gap);
        cJSON_AddItemToArray(arr, o);
    }
    if (r) {
        cJSON_AddNumberToObject(r, "job", (double)ev->job_id);
        if (ev->u.runs.next_index >= 0)
            cJSON_AddNumberToObject(r, "next", (double)ev->u.runs.next_index);
        else
            cJSON_AddNullToObject(r, "next");
    }
    server__send(c, r);
}

void server__job_reply(server *s, const writer_event *ev)
{
    preq *p = preq_take(s, ev->tag);
    if (!p)
        return;
    if (ev->rc < 0) {
        reply_failure(s, p, ev);
        preq_free(p);
        return;
    }
    conn *c;
    cJSON *r;
    switch (ev->kind) {
    case WEV_SUBMITTED:
        if ((r = reply_for(s, p, &c))) {
            cJSON_AddNumberToObject(r, "job", (double)ev->job_id);
            cJSON_AddStringToObject(r, "name", ev->u.submitted.name ? ev->u.submitted.name : "");
            cJSON_AddNumberToObject(r, "n_runs", (double)ev->u.submitted.n_runs);
            cJSON_AddNumberToObject(r, "linear_repeats",
                                    (double)ev->u.submitted.linear_repeats);
            cJSON_AddStringToObject(r, "linear_repeat_keys",
                                    ev->u.submitted.linear_keys
                                        ? ev->u.submitted.linear_keys : "");
        }
        if (c)
            server__send(c, r);
        break;
    case WEV_CANCELED:
    case WEV_RETRIED:
        if ((r = reply_for(s, p, &c))) {
            cJSON_AddNumberToObject(r, "job", (double)ev->job_id);
            if (ev->kind == WEV_CANCELED) {
                cJSON_AddNumberToObject(r, "canceled", (double)ev->u.jobop.n);
                cJSON_AddNumberToObject(r, "stopping", (double)p->n);
            } else {
                cJSON_AddNumberToObject(r, "requeued", (double)ev->u.jobop.n);
                cJSON_AddNumberToObject(r, "from_checkpoint",
                                        (double)ev->u.jobop.resumable);
                cJSON_AddNumberToObject(r, "resumed", (double)p->n);
            }
        }
        if (c)
            server__send(c, r);
        break;
    case WEV_PAUSED:
    case WEV_RESUMED:
        if ((r = reply_for(s, p, &c))) {
            cJSON_AddNumberToObject(r, "job", (double)ev->job_id);
            if (ev->kind == WEV_PAUSED) {
                cJSON_AddNumberToObject(r, "held", (double)ev->u.jobop.n);
                cJSON_AddNumberToObject(r, "stopping",
                                        (double)ev->u.jobop.stopping);
            } else {
                cJSON_AddNumberToObject(r, "resumed", (double)ev->u.jobop.n);
            }
        }
        if (c)
            server__send(c, r);
        break;
    case WEV_EXTENDED:
        if ((r = reply_for(s, p, &c))) {
            cJSON_AddNumberToObject(r, "job", (double)ev->job_id);
            cJSON_AddNumberToObject(r, "added", (double)ev->u.jobop.n);
            cJSON_AddNumberToObject(r, "existing",
                                    (double)ev->u.jobop.existing);
            cJSON_AddNumberToObject(r, "total",
                                    (double)ev->u.jobop.counts.total);
        }
        if (c)
            server__send(c, r);
        break;
    case WEV_DELETED:
        if ((r = reply_for(s, p, &c))) {
            cJSON_AddNumberToObject(r, "job", (double)ev->job_id);
            cJSON_AddNumberToObject(r, "deleted_runs", (double)ev->u.jobop.n);
        }
        if (c)
            server__send(c, r);
        break;
    case WEV_RUNS:
        reply_runs(s, p, ev);
        break;
    case WEV_SLURM_RECORDED:
        if ((r = reply_for(s, p, &c))) {
            cJSON_AddNumberToObject(r, "job", (double)ev->job_id);
            cJSON_AddNumberToObject(r, "slurm_job",
                                    (double)ev->u.slurm.slurm_job);
            cJSON_AddNumberToObject(r, "tasks", (double)ev->u.slurm.tasks);
        }
        if (c)
            server__send(c, r);
        break;
    default:
        break;
    }
    preq_free(p);
}

void server__preqs_free(server *s)
{
    for (preq *p = s->pending, *n; p; p = n) {
        n = p->next;
        preq_free(p);
    }
    s->pending = NULL;
}

