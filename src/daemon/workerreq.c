/* workerreq.c — what every report of a remote worker checks first
 * (docs/protocol.md, "Workers"): that a registered worker sent it, that
 * it names a lease the worker holds (the fencing of remote.h), and the
 * reply that says what to do with the run next. For workerops.c and
 * arrayops.c alike. */
#include "server_internal.h"

#include <errno.h>

#include "log.h"

rworker *server__want_worker(const request *rq)
{
    conn *c = rq->c;
    rworker *w = c->worker_id ? remote_worker_find(c->srv->rm, c->worker_id)
                              : NULL;
    if (!w) {
        server__reply_errorf(c, rq->pr->id, PROTO_E_BAD_REQUEST, NULL,
                             "only a registered worker may do this; send "
                             "register first");
        return NULL;
    }
    w->last_heard = server__now();
    return w;
}

const char *server__poll_name(enum run_poll p)
{
    return p == RUN_CANCEL ? "cancel" : p == RUN_SUSPEND ? "suspend"
                                                         : "continue";
}

/* The lease a report names (run, attempt), renewed; NULL with the
 * error sent when it is not this worker's (stale_lease). */
rlease *server__want_lease(const request *rq, rworker *w)
{
    proto_error e;
    int64_t run = 0, attempt = 0;
    int rc = proto_get_int(rq->pr->root, "run", 1, (int64_t)1 << 53, &run, &e);
    if (rc == 0)
        rc = proto_get_int(rq->pr->root, "attempt", 1, 1 << 30, &attempt, &e);
    if (rc == 1)
        rc = proto_error_set(&e, -EINVAL, PROTO_E_BAD_REQUEST, NULL,
                             "\"run\" and \"attempt\" are required");
    if (rc != 0) {
        server__reply_error(rq->c, rq->pr->id, &e);
        return NULL;
    }
    rlease *l = remote_lease_renew(rq->c->srv->rm, w, run, (int)attempt,
                                   server__now());
    if (!l) {
        log_warn("worker %llu (%s pid %ld): %s of run %lld attempt %lld "
                 "refused: it holds no such lease (expired, or run again "
                 "elsewhere)",
                 (unsigned long long)w->id, w->host, w->pid, rq->pr->op,
                 (long long)run, (long long)attempt);
        proto_error_set(&e, -ESTALE, PROTO_E_STALE_LEASE, "run",
                        "run %lld attempt %lld is not leased to this worker "
                        "(the lease expired, or the run went to another "
                        "attempt); drop the run",
                        (long long)run, (long long)attempt);
        server__reply_error(rq->c, rq->pr->id, &e);
    }
    return l;
}

/* An ok reply telling the worker what to do with the run next. */
void server__reply_do(const request *rq, int64_t run_id)
{
    cJSON *r = proto_reply_new(rq->pr->id, true);
    enum run_poll p = sched_poll(rq->c->srv->sc, run_id);
    if (r && !cJSON_AddStringToObject(r, "do", server__poll_name(p))) {
        cJSON_Delete(r);
        r = NULL;
    }
    server__send(rq->c, r);
}
