/* events.c — the store thread's events, drained on the loop thread: they
 * move the jobs' counters and answer the requests that waited for them
 * (server.h). */
#include "server_internal.h"

#include <stdlib.h>

#include "log.h"

static void handle_event(server *s, const writer_event *ev)
{
    job *j = ev->kind == WEV_SUBMITTED || ev->kind == WEV_SUBMIT_FAILED
                 ? NULL
                 : server__job_find(s, ev->job_id);
    switch (ev->kind) {
    case WEV_SUBMITTED:
        if (!server__job_add(s, ev->job_id, ev->u.submitted.name,
                             ev->u.submitted.priority, ev->u.submitted.n_runs,
                             ev->u.submitted.created_at,
                             &ev->u.submitted.counts))
            log_error("job %lld: out of memory tracking its progress",
                      (long long)ev->job_id);
        server__job_reply(s, ev);
        return;
    case WEV_SUBMIT_FAILED:
    case WEV_RUNS:
    case WEV_SLURM_RECORDED:
        server__job_reply(s, ev);
        return;
    case WEV_DELETED:
        if (ev->rc == 0)
            server__job_remove(s, ev->job_id);
        server__job_reply(s, ev);
        return;
    case WEV_CANCELED:
    case WEV_RETRIED:
    case WEV_PAUSED:
    case WEV_RESUMED:
        if (j && ev->rc == 0) {
            j->counts = ev->u.jobop.counts;   /* authoritative, as of the commit */
            if (ev->kind != WEV_RETRIED)   /* a cancel ends a pause */
                j->paused = ev->kind == WEV_PAUSED;
            server__job_changed(j);
        }
        server__job_reply(s, ev);
        return;
    case WEV_EXTENDED:
        if (j && ev->rc == 0) {
            j->counts = ev->u.jobop.counts;
            j->n_runs += ev->u.jobop.n;
            server__job_changed(j);
        }
        server__job_reply(s, ev);
        return;
    case WEV_RUN_STARTED:
        if (j)
            server__job_run_started(j);
        break;
    case WEV_RUN_ENDED:
        if (j)
            server__job_run_ended(j, ev->u.state);
        break;
    case WEV_RUN_REQUEUED:
        if (j)
            server__job_counts_move(j, RUN_RUNNING, RUN_QUEUED);
        break;
    case WEV_FAULT:
    case WEV_FAULT_CLEARED:
        return;   /* the store thread logged it; ping reports it */
    }
    if (j)
        server__job_changed(j);
}

void server__drain_events(server *s)
{
    if (!s->wr)
        return;
    for (writer_event *ev = writer_events(s->wr), *n; ev; ev = n) {
        n = ev->next;
        handle_event(s, ev);
        writer_event_free(ev);
    }
}

void server__on_async(uv_async_t *h)
{
    server__drain_events(h->data);
}

void server_notify(void *server_)
{
    server *s = server_;
    uv_async_send(&s->async);
}
