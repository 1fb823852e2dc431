/* server.c — the loop thread's life: creating the server, starting it,
 * signals, freeing it (server.h). The rest of the loop thread is in the
 * files server_internal.h lists. */
#include "server_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"

static void on_tick(uv_timer_t *t)
{
    server *s = t->data;
    double now = server__now();
    server__conns_sweep(s, now);
    if (!s->stopping)
        server__leases_sweep(s, now);
}

static void on_signal(uv_signal_t *h, int signum)
{
    server *s = h->data;
    if (!s->started)
        return;   /* a start-up that failed: the process is leaving anyway */
    if (s->stopping) {
        log_info("%s again: already shutting down", strsignal(signum));
        return;
    }
    server_shutdown(s, strsignal(signum));
}

int server_new(const server_config *cfg, server **out, char *err,
               size_t errlen)
{
    server *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(err, errlen, -ENOMEM, "out of memory");
    s->loop = cfg->loop;
    s->socket_path = strdup(cfg->socket_path);
    s->db_path = strdup(cfg->db_path);
    s->workers = cfg->workers;
    s->idle_timeout_s = cfg->idle_timeout_s;
    s->frame_timeout_s = cfg->frame_timeout_s;
    s->sc = cfg->sc;
    if (cfg->key) {
        s->key = *cfg->key;
        s->has_key = true;
    }
    s->nprocs = cfg->worker_processes;
    s->checkpoint_s = cfg->checkpoint_s;
    if (cfg->worker_exe && !(s->worker_exe = strdup(cfg->worker_exe))) {
        free(s);
        return err_set(err, errlen, -ENOMEM, "out of memory");
    }
    if (cfg->listen_addr && !(s->listen_addr = strdup(cfg->listen_addr))) {
        free(s->worker_exe);
        free(s);
        return err_set(err, errlen, -ENOMEM, "out of memory");
    }
    if (remote_new(cfg->lease_timeout_s, &s->rm) < 0) {
        free(s->worker_exe);
        free(s->listen_addr);
        free(s);
        return err_set(err, errlen, -ENOMEM, "out of memory");
    }
    s->t_start = server__now();
    s->on_frame = server__on_frame;
    if (!s->socket_path || !s->db_path) {
        free(s->socket_path);
        free(s->db_path);
        free(s->listen_addr);
        free(s->worker_exe);
        remote_free(s->rm);
        free(s);
        return err_set(err, errlen, -ENOMEM, "out of memory");
    }
    uv_pipe_init(s->loop, &s->listener, 0);
    uv_async_init(s->loop, &s->async, server__on_async);
    uv_timer_init(s->loop, &s->tick);
    uv_timer_init(s->loop, &s->watch_timer);
    uv_timer_init(s->loop, &s->stop_timer);
    uv_signal_init(s->loop, &s->sigterm);
    uv_signal_init(s->loop, &s->sigint);
    s->listener.data = s->async.data = s->tick.data = s;
    s->watch_timer.data = s->stop_timer.data = s;
    s->sigterm.data = s->sigint.data = s;
    /* Caught from before the socket exists (server_bind): whoever sees it
     * may send SIGTERM at once, and that must be a clean shutdown, not the
     * default action's death. Such a signal waits for the loop, which
     * server_start's success begins. */
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    *out = s;
    return 0;
}

void server_attach(server *s, writer *w, pool *p, host *hs, pairs *pr)
{
    s->wr = w;
    s->pl = p;
    s->hs = hs;
    s->pairs = pr;
}

int server_start(server *s, char *err, size_t errlen)
{
    int rc = server__listen(s, err, errlen);
    if (rc == 0 && s->nprocs > 0 &&
        (rc = procs_new(s->loop, s->nprocs, s->worker_exe, s->socket_path,
                        s->checkpoint_s, s->rm, s->hs, &s->pr, err,
                        errlen)) == 0)
        rc = procs_start(s->pr, err, errlen);
    if (rc < 0)
        return rc;
    uv_timer_start(&s->tick, on_tick, 1000, 1000);
    uv_timer_start(&s->watch_timer, server__watch_tick,
                   PROTO_WATCH_INTERVAL_MS, PROTO_WATCH_INTERVAL_MS);
    s->started = true;
    return 0;
}

void server_free(server *s)
{
    if (!s)
        return;
    if (!s->handles_closed) {
        /* Start-up failed before the loop ran: close and let libuv finish
         * the closes. */
        server__close_handles(s);
        uv_run(s->loop, UV_RUN_DEFAULT);
    }
    server__preqs_free(s);
    server__jobs_free(s);
    free(s->socket_path);
    free(s->db_path);
    free(s->listen_addr);
    free(s->worker_exe);
    procs_free(s->pr);
    remote_free(s->rm);
    free(s);
}
