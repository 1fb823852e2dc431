/* wevent.c — events from the store thread to the loop thread: gathered
 * while a commit is applied, published only after it (writer.h). */
#include "writer_internal.h"

#include <stdlib.h>

#include "log.h"

void writer_event_free(writer_event *ev)
{
    if (!ev)
        return;
    if (ev->kind == WEV_RUNS) {
        for (int i = 0; i < ev->u.runs.nrows; i++)
            free(ev->u.runs.rows[i].error);
        free(ev->u.runs.rows);
    } else if (ev->kind == WEV_SUBMITTED) {
        free(ev->u.submitted.name);
        free(ev->u.submitted.linear_keys);
    }
    free(ev->error);
    free(ev);
}

writer_event *wev_add(writer *w, writer_event_kind kind, const wreq *r)
{
    writer_event *ev = calloc(1, sizeof *ev);
    if (!ev) {
        log_error("out of memory queueing an event; a client may miss a "
                  "reply or a progress count");
        return NULL;
    }
    ev->kind = kind;
    if (r) {
        ev->tag = r->tag;
        ev->job_id = r->job_id;
        ev->run_id = r->run_id;
    }
    if (w->out_tail)
        w->out_tail->next = ev;
    else
        w->out_head = ev;
    w->out_tail = ev;
    return ev;
}

void wev_discard(writer *w)
{
    for (writer_event *ev = w->out_head, *n; ev; ev = n) {
        n = ev->next;
        writer_event_free(ev);
    }
    w->out_head = w->out_tail = NULL;
}

void wev_publish(writer *w)
{
    if (!w->out_head)
        return;
    pthread_mutex_lock(&w->evlock);
    if (w->ev_tail)
        w->ev_tail->next = w->out_head;
    else
        w->ev_head = w->out_head;
    w->ev_tail = w->out_tail;
    pthread_mutex_unlock(&w->evlock);
    w->out_head = w->out_tail = NULL;
    if (w->notify)
        w->notify(w->notify_ctx);
}

writer_event *writer_events(writer *w)
{
    pthread_mutex_lock(&w->evlock);
    writer_event *ev = w->ev_head;
    w->ev_head = w->ev_tail = NULL;
    pthread_mutex_unlock(&w->evlock);
    return ev;
}
