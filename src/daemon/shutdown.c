/* shutdown.c — stopping the daemon from the loop thread: stop accepting,
 * suspend the running runs, wait for the workers (at most
 * STOP_WORKERS_S), drain the store thread, close every handle; uv_run
 * then returns (server.h). */
#include "server_internal.h"

#include <errno.h>

#include "log.h"

static void close_handle(uv_handle_t *h)
{
    if (h->type != UV_UNKNOWN_HANDLE && !uv_is_closing(h))
        uv_close(h, NULL);
}

void server__close_handles(server *s)
{
    if (s->handles_closed)
        return;
    s->handles_closed = true;
    while (s->conns)
        server__conn_close(s->conns);
    close_handle((uv_handle_t *)&s->listener);   /* libuv unlinks the socket */
    close_handle((uv_handle_t *)&s->tcp_listener);
    if (s->pr)
        procs_close(s->pr);
    close_handle((uv_handle_t *)&s->async);
    close_handle((uv_handle_t *)&s->tick);
    close_handle((uv_handle_t *)&s->watch_timer);
    close_handle((uv_handle_t *)&s->stop_timer);
    close_handle((uv_handle_t *)&s->sigterm);
    close_handle((uv_handle_t *)&s->sigint);
}

static void on_stop_tick(uv_timer_t *t)
{
    server *s = t->data;
    double elapsed = server__now() - s->stop_t0;
    int running = s->pl ? pool_running(s->pl) : 0;
    long leased = s->rm ? remote_nleases(s->rm) : 0;
    int nprocs = s->pr ? procs_alive(s->pr) : 0;
    server__drain_events(s);
    if ((running > 0 || leased > 0 || nprocs > 0) && elapsed < STOP_WORKERS_S)
        return;
    uv_timer_stop(t);
    if (running > 0)
        log_warn("%d workers did not stop within %.1f s; their runs stay "
                 "running in the database and resume at the next start",
                 running, STOP_WORKERS_S);
    if (leased > 0) {
        /* Their last checkpoints are kept; a late report finds no lease. */
        log_warn("%ld runs of remote workers were not handed back within "
                 "%.1f s; they go back to the queue", leased, STOP_WORKERS_S);
        server__leases_suspend(s);
    }
    /* it posts to the store thread: stopped first (a pair abandoned here
     * has no row, and the next start computes it) */
    pairs_stop(s->pairs);
    if (s->wr) {
        double grace = SERVER_SHUTDOWN_S - (server__now() - s->stop_t0);
        writer_stop(s->wr, grace > 0.2 ? grace : 0.2);
        server__drain_events(s);
    }
    log_info("stopped in %.2f s", server__now() - s->stop_t0);
    server__close_handles(s);
}

void server_shutdown(server *s, const char *why)
{
    if (s->stopping)
        return;
    s->stopping = true;
    s->stop_t0 = server__now();
    log_info("shutting down (%s): running runs are checkpointed and "
             "resume at the next start",
             why);
    sched_stop(s->sc);
    if (s->pr)
        procs_stop(s->pr);   /* they hand their runs back, then exit */
    if (s->listening) {
        uv_close((uv_handle_t *)&s->listener, NULL);
        s->listening = false;
    }
    if (s->tcp_listening) {
        uv_close((uv_handle_t *)&s->tcp_listener, NULL);
        s->tcp_listening = false;
    }
    for (conn *c = s->conns; c; c = c->next) {
        for (watch *w = c->watches; w; w = w->next) {
            proto_error e;
            proto_error_set(&e, -ESHUTDOWN, PROTO_E_SHUTTING_DOWN, NULL,
                            "the daemon is shutting down; job %lld goes on "
                            "when it is started again",
                            (long long)w->job_id);
            server__reply_error(c, w->id, &e);
        }
        server__watches_free(c);
    }
    uv_timer_start(&s->stop_timer, on_stop_tick, 0, 20);
}
