/* watch.c — watchers of a job's progress: an event at most every
 * PROTO_WATCH_INTERVAL_MS and at least every PROTO_WATCH_HEARTBEAT_S,
 * none for a watcher that has not read the last ones (it gets the newest
 * state later), and the end always (server.h). */
#include "server_internal.h"

#include <errno.h>
#include <stdlib.h>

cJSON *server__progress_event(const cJSON *id, const job *j, bool end)
{
    cJSON *r = proto_reply_new(id, true);
    if (!r)
        return NULL;
    cJSON_AddStringToObject(r, "event", end ? "end" : "progress");
    cJSON_AddItemToObject(r, "job", server__job_json(j));
    return r;
}

static void watch_remove(conn *c, watch *w)
{
    for (watch **pp = &c->watches; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            c->nwatches--;
            cJSON_Delete(w->id);
            free(w);
            return;
        }
    }
}

int server__watch_add(conn *c, const cJSON *id, const job *j)
{
    if (c->nwatches >= PROTO_MAX_WATCHES) {
        server__reply_errorf(c, id, PROTO_E_TOO_MANY_REQUESTS, NULL,
                             "this connection already watches 16 jobs");
        return -EBUSY;
    }
    watch *w = calloc(1, sizeof *w);
    if (!w || (id && !(w->id = cJSON_Duplicate(id, true)))) {
        free(w);
        server__reply_errorf(c, id, PROTO_E_INTERNAL, NULL, "out of memory");
        return -ENOMEM;
    }
    w->job_id = j->id;
    w->sent_version = j->version;
    w->sent_at = server__now();
    w->next = c->watches;
    c->watches = w;
    c->nwatches++;
    return 0;
}


/* Progress to watchers, throttled: at most one event per interval, none
 * for a watcher that has not read the last ones (it gets the newest state
 * later), and the end always. */
void server__watch_tick(uv_timer_t *t)
{
    server *s = t->data;
    double now = server__now();
    for (conn *c = s->conns, *cn; c; c = cn) {
        cn = c->next;
        for (watch *w = c->watches, *wn; w && !c->closing; w = wn) {
            wn = w->next;
            job *j = server__job_find(s, w->job_id);
            if (!j) {
                /* Deleted (delete waits for the end, which a tick may
                 * not have sent yet). */
                proto_error e;
                proto_error_set(&e, -ENOENT, PROTO_E_NOT_FOUND, "job",
                                "job %lld was deleted", (long long)w->job_id);
                server__reply_error(c, w->id, &e);
                watch_remove(c, w);
                continue;
            }
            /* A held job ends the watch: nothing moves until a resume. */
            bool end = server__job_active(j) == 0 || server__job_held(j);
            bool due = j->version != w->sent_version ||
                       now - w->sent_at >= PROTO_WATCH_HEARTBEAT_S;
            if (!end && (!due || c->write_pending > WATCH_SKIP_BYTES))
                continue;
            w->sent_version = j->version;
            w->sent_at = now;
            cJSON *ev = server__progress_event(w->id, j, end);
            if (end)
                watch_remove(c, w);
            server__send(c, ev);
        }
    }
}
