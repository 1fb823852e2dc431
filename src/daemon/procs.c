/* procs.c — the daemon's own worker processes (procs.h). */
#include "procs.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"

typedef struct proc {
    uv_process_t h;            /* first: the handle's pointer is the slot's */
    uv_timer_t restart;
    struct procs *owner;
    bool alive, closing;
    long pid;
    double started;
} proc;

struct procs {
    uv_loop_t *loop;
    int n;
    char *exe, *addr;
    char checkpoint[32];
    remote *rm;
    host *hs;
    bool stopping;
    proc *ps;
};

static int spawn(proc *p);

/* Every run the dead process held is lost to it. */
static void runs_lost(procs *ps, long pid, const char *why)
{
    rworker *w = remote_worker_by_pid(ps->rm, pid);
    rlease l;
    while (w && remote_lease_pop(ps->rm, w, &l)) {
        log_warn("run %lld attempt %d: %s", (long long)l.run_id, l.attempt, why);
        run_lease rl = {.run_id = l.run_id, .job_id = l.job_id,
                        .priority = l.priority, .attempt = l.attempt};
        host_lost(ps->hs, &rl, why);
    }
    if (w)
        remote_worker_settle(ps->rm, w);
}

static void on_closed(uv_handle_t *h)
{
    ((proc *)h)->closing = false;
}

static void on_restart(uv_timer_t *t)
{
    proc *p = t->data;
    if (!p->owner->stopping && (p->closing || spawn(p) < 0))
        uv_timer_start(&p->restart, on_restart, 1000 * PROCS_RESTART_SLOW_S, 0);
}

static void on_exit_cb(uv_process_t *h, int64_t status, int sig)
{
    proc *p = (proc *)h;
    procs *ps = p->owner;
    char why[160];
    if (sig)
        snprintf(why, sizeof why, "its worker process (pid %ld) was killed by "
                 "signal %d (SIG%s)", p->pid, sig, sigabbrev_np(sig) ?: "?");
    else
        snprintf(why, sizeof why, "its worker process (pid %ld) exited with "
                 "status %lld", p->pid, (long long)status);
    if (!ps->stopping || sig || status)
        log_warn("%s", why + 4);
    runs_lost(ps, p->pid, why);
    p->alive = false;
    p->closing = true;
    uv_close((uv_handle_t *)h, on_closed);
    if (ps->stopping)
        return;
    double lived = uv_now(ps->loop) / 1000.0 - p->started;
    double after = lived < PROCS_STABLE_S ? PROCS_RESTART_SLOW_S : PROCS_RESTART_S;
    uv_timer_start(&p->restart, on_restart, (uint64_t)(1000 * after), 0);
}

static int spawn(proc *p)
{
    procs *ps = p->owner;
    char *args[] = {ps->exe, "--connect", ps->addr, "--threads", "1",
                    "--checkpoint-s", ps->checkpoint, NULL};
    uv_stdio_container_t io[3] = {{.flags = UV_IGNORE},
                                  {.flags = UV_INHERIT_FD, .data.fd = 1},
                                  {.flags = UV_INHERIT_FD, .data.fd = 2}};
    uv_process_options_t o = {.exit_cb = on_exit_cb, .file = ps->exe,
                              .args = args, .stdio_count = 3, .stdio = io};
    memset(&p->h, 0, sizeof p->h);
    int rc = uv_spawn(ps->loop, &p->h, &o);
    if (rc < 0) {
        log_error("cannot start %s: %s", ps->exe, uv_strerror(rc));
        p->closing = true;
        uv_close((uv_handle_t *)&p->h, on_closed);
        return rc;
    }
    p->alive = true;
    p->pid = p->h.pid;
    p->started = uv_now(ps->loop) / 1000.0;
    log_info("worker process %ld started", p->pid);
    return 0;
}

int procs_new(uv_loop_t *loop, int n, const char *exe, const char *socket,
              double checkpoint_s, remote *rm, host *hs, procs **out,
              char *err, size_t errlen)
{
    procs *ps = calloc(1, sizeof *ps);
    if (ps) {
        ps->ps = calloc((size_t)n, sizeof *ps->ps);
        ps->exe = strdup(exe);
        if (asprintf(&ps->addr, "unix:%s", socket) < 0)
            ps->addr = NULL;
    }
    if (!ps || !ps->ps || !ps->exe || !ps->addr) {
        procs_free(ps);
        return err_set(err, errlen, -ENOMEM, "out of memory");
    }
    *ps = (procs){loop, n, ps->exe, ps->addr, "", rm, hs, false, ps->ps};
    snprintf(ps->checkpoint, sizeof ps->checkpoint, "%g", checkpoint_s);
    for (int i = 0; i < n; i++) {
        ps->ps[i].owner = ps;
        uv_timer_init(loop, &ps->ps[i].restart);
        ps->ps[i].restart.data = &ps->ps[i];
    }
    *out = ps;
    return 0;
}

int procs_start(procs *ps, char *err, size_t errlen)
{
    for (int i = 0; i < ps->n; i++) {
        int rc = spawn(&ps->ps[i]);
        if (rc < 0)
            return err_set(err, errlen, rc, "--worker-processes: cannot start "
                           "%s: %s", ps->exe, uv_strerror(rc));
    }
    return 0;
}

void procs_stop(procs *ps)
{
    ps->stopping = true;
    for (int i = 0; i < ps->n; i++) {
        uv_timer_stop(&ps->ps[i].restart);
        if (ps->ps[i].alive)
            uv_process_kill(&ps->ps[i].h, SIGTERM);
    }
}

int procs_alive(const procs *ps)
{
    int n = 0;
    for (int i = 0; i < ps->n; i++)
        n += ps->ps[i].alive;
    return n;
}

void procs_close(procs *ps)
{
    ps->stopping = true;
    for (int i = 0; i < ps->n; i++) {
        proc *p = &ps->ps[i];
        if (p->alive) {
            log_warn("worker process %ld did not stop; killed", p->pid);
            uv_process_kill(&p->h, SIGKILL);
            p->alive = false;
            p->closing = true;
            uv_close((uv_handle_t *)&p->h, on_closed);
        }
        if (!uv_is_closing((uv_handle_t *)&p->restart))
            uv_close((uv_handle_t *)&p->restart, NULL);
    }
}

void procs_free(procs *ps)
{
    if (!ps)
        return;
    free(ps->ps);
    free(ps->exe);
    free(ps->addr);
    free(ps);
}
