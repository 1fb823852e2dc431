/* ops.c — the protocol's operations (proto.h PROTO_OPS), each a handler
 * op_<name> found through the op table; those that write go to the store
 * thread and are answered from replies.c (server.h). */
#include "server_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consts.h"
#include "err.h"
#include "jobctl.h"
#include "log.h"
#include "spec.h"

/* Operations handled in their own files (server_internal.h). */
#define op_hello      server__op_hello
#define op_auth       server__op_auth
#define op_register   server__op_register
#define op_lease      server__op_lease
#define op_heartbeat  server__op_heartbeat
#define op_curve      server__op_curve
#define op_checkpoint server__op_checkpoint
#define op_checkpoint_get server__op_checkpoint_get
#define op_arrays_part server__op_arrays_part
#define op_finish     server__op_finish
#define op_workers    server__op_workers

static const cJSON *member(const request *rq, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(rq->pr->root, key);
}

static job *want_job(const request *rq)
{
    proto_error e;
    int64_t id = 0;
    int rc = proto_get_int(rq->pr->root, "job", 1, (int64_t)1 << 53, &id, &e);
    if (rc == 1)
        rc = proto_error_set(&e, -EINVAL, PROTO_E_BAD_REQUEST, "job",
                             "missing; give the job's id");
    if (rc != 0) {
        server__reply_error(rq->c, rq->pr->id, &e);
        return NULL;
    }
    job *j = server__job_find(rq->c->srv, id);
    if (!j) {
        proto_error_set(&e, -ENOENT, PROTO_E_NOT_FOUND, "job",
                        "there is no job %lld", (long long)id);
        server__reply_error(rq->c, rq->pr->id, &e);
    }
    return j;
}

/* Common refusals of operations that need the store thread. */
static bool store_op_refused(const request *rq, bool writes)
{
    server *s = rq->c->srv;
    proto_error e;
    char msg[ERR_LEN];
    if (s->stopping) {
        proto_error_set(&e, -ESHUTDOWN, PROTO_E_SHUTTING_DOWN, NULL,
                        "the daemon is shutting down");
    } else if (writes && writer_faulted(s->wr, msg, sizeof msg)) {
        proto_error_set(&e, -EIO, PROTO_E_STORE_FAULT, NULL,
                        "the database refuses writes (%s); nothing was "
                        "changed, try again once it is fixed",
                        msg);
    } else if (rq->c->inflight >= PROTO_MAX_INFLIGHT) {
        proto_error_set(&e, -EBUSY, PROTO_E_TOO_MANY_REQUESTS, NULL,
                        "more than %d requests of this connection await "
                        "the database; wait for their replies",
                        PROTO_MAX_INFLIGHT);
    } else {
        return false;
    }
    server__reply_error(rq->c, rq->pr->id, &e);
    return true;
}

static void posted(const request *rq, preq *p, int rc)
{
    if (rc == 0)
        return;
    server__preq_cancel(rq->c->srv, rq->c, p);
    server__reply_errorf(rq->c, rq->pr->id,
                 rc == -ESHUTDOWN ? PROTO_E_SHUTTING_DOWN : PROTO_E_INTERNAL,
                 NULL,
                 rc == -ESHUTDOWN ? "the daemon is shutting down"
                                  : "out of memory");
}

static void op_ping(const request *rq)
{
    server *s = rq->c->srv;
    cJSON *r = proto_reply_new(rq->pr->id, true);
    if (!r)
        return (void)server__send(rq->c, NULL);
    char msg[ERR_LEN];
    bool faulted = writer_faulted(s->wr, msg, sizeof msg);
    sched_stats st;
    sched_get_stats(s->sc, &st);
    cJSON_AddStringToObject(r, "version", RESWEEP_VERSION);
    cJSON_AddNumberToObject(r, "protocol", PROTO_VERSION);
    cJSON_AddNumberToObject(r, "pid", (double)getpid());
    cJSON_AddStringToObject(r, "socket", s->socket_path);
    cJSON_AddStringToObject(r, "db", s->db_path);
    cJSON_AddNumberToObject(r, "workers", s->workers);
    cJSON_AddNumberToObject(r, "remote_workers", s->rm ? remote_connected(s->rm) : 0);
    if (s->listen_addr)
        cJSON_AddStringToObject(r, "listen", s->listen_addr);
    else
        cJSON_AddNullToObject(r, "listen");
    cJSON_AddNumberToObject(r, "uptime_s", server__now() - s->t_start);
    cJSON_AddStringToObject(r, "store", faulted ? "fault" : "ok");
    if (faulted)
        cJSON_AddStringToObject(r, "store_error", msg);
    else
        cJSON_AddNullToObject(r, "store_error");
    cJSON_AddNumberToObject(r, "jobs", (double)s->njobs);
    cJSON_AddNumberToObject(r, "queued", (double)st.queued);
    cJSON_AddNumberToObject(r, "held", (double)st.held);
    cJSON_AddNumberToObject(r, "running", (double)st.active);
    if (st.mem_limit)
        cJSON_AddNumberToObject(r, "memory_limit", (double)st.mem_limit);
    else
        cJSON_AddNullToObject(r, "memory_limit");
    cJSON_AddNumberToObject(r, "memory_reserved", (double)st.mem_reserved);
    server__send(rq->c, r);
}

static void op_submit(const request *rq)
{
    server *s = rq->c->srv;
    const cJSON *spec = member(rq, "spec");
    if (!cJSON_IsObject(spec))
        return server__reply_errorf(rq->c, rq->pr->id, PROTO_E_BAD_REQUEST, "spec",
                            "missing or not an object; give the job "
                            "specification");
    if (store_op_refused(rq, true))
        return;
    job_spec *sp = NULL;
    char err[ERR_LEN] = "";
    int rc = spec_parse(spec, &sp, err, sizeof err);
    if (rc < 0) {
        proto_error e;
        proto_error_from_sentence(&e, rc == -ENOMEM ? PROTO_E_INTERNAL
                                                    : PROTO_E_INVALID_SPEC,
                                  err);
        return server__reply_error(rq->c, rq->pr->id, &e);
    }
    preq *p = server__preq_new(s, rq->c, rq->pr->id);
    if (!p) {
        spec_free(sp);
        return server__reply_errorf(rq->c, rq->pr->id, PROTO_E_INTERNAL, NULL,
                            "out of memory");
    }
    posted(rq, p, writer_submit(s->wr, p->tag, sp));
}

static void op_status(const request *rq)
{
    server *s = rq->c->srv;
    cJSON *r;
    if (member(rq, "job") && !cJSON_IsNull(member(rq, "job"))) {
        job *j = want_job(rq);
        if (!j)
            return;
        r = proto_reply_new(rq->pr->id, true);
        if (r)
            cJSON_AddItemToObject(r, "job", server__job_json(j));
        return (void)server__send(rq->c, r);
    }
    r = proto_reply_new(rq->pr->id, true);
    cJSON *arr = r ? cJSON_AddArrayToObject(r, "jobs") : NULL;
    if (!arr) {
        cJSON_Delete(r);
        return (void)server__send(rq->c, NULL);
    }
    size_t from = s->njobs > PROTO_MAX_STATUS_JOBS
                      ? s->njobs - PROTO_MAX_STATUS_JOBS
                      : 0;
    for (size_t i = from; i < s->njobs; i++)
        cJSON_AddItemToArray(arr, server__job_json(&s->jobs[i]));
    cJSON_AddBoolToObject(r, "truncated", from > 0);
    server__send(rq->c, r);
}

static void op_runs(const request *rq)
{
    server *s = rq->c->srv;
    job *j = want_job(rq);
    if (!j || store_op_refused(rq, false))
        return;
    proto_error e;
    int64_t from = 0, limit = 100;
    if (proto_get_int(rq->pr->root, "from", 0, (int64_t)1 << 53, &from,
                      &e) < 0 ||
        proto_get_int(rq->pr->root, "limit", 1, WRITER_MAX_RUNS_PAGE, &limit,
                      &e) < 0)
        return server__reply_error(rq->c, rq->pr->id, &e);
    preq *p = server__preq_new(s, rq->c, rq->pr->id);
    if (!p)
        return server__reply_errorf(rq->c, rq->pr->id, PROTO_E_INTERNAL, NULL,
                            "out of memory");
    posted(rq, p, writer_runs(s->wr, p->tag, j->id, (long)from, (int)limit));
}

static void op_cancel(const request *rq)
{
    server *s = rq->c->srv;
    job *j = want_job(rq);
    if (!j || store_op_refused(rq, true))
        return;
    preq *p = server__preq_new(s, rq->c, rq->pr->id);
    if (!p)
        return server__reply_errorf(rq->c, rq->pr->id, PROTO_E_INTERNAL, NULL,
                                    "out of memory");
    posted(rq, p, jobctl_cancel(s->sc, s->wr, p->tag, j->id, &p->n));
}


static void op_retry(const request *rq)
{
    server *s = rq->c->srv;
    job *j = want_job(rq);
    if (!j || store_op_refused(rq, true))
        return;
    preq *p = server__preq_new(s, rq->c, rq->pr->id);
    if (!p)
        return server__reply_errorf(rq->c, rq->pr->id, PROTO_E_INTERNAL, NULL,
                                    "out of memory");
    posted(rq, p, jobctl_retry(s->sc, s->wr, p->tag, j->id, &p->n));
}

static void op_delete(const request *rq)
{
    server *s = rq->c->srv;
    job *j = want_job(rq);
    if (!j || store_op_refused(rq, true))
        return;
    if (server__job_active(j) > 0 && !server__job_held(j)) {
        proto_error e;
        proto_error_set(&e, -EBUSY, PROTO_E_BAD_REQUEST, "job",
                        "job %lld has %ld queued or running runs: cancel it "
                        "(resweep cancel %lld) and delete it once they have "
                        "ended", (long long)j->id, server__job_active(j),
                        (long long)j->id);
        return server__reply_error(rq->c, rq->pr->id, &e);
    }
    preq *p = server__preq_new(s, rq->c, rq->pr->id);
    if (!p)
        return server__reply_errorf(rq->c, rq->pr->id, PROTO_E_INTERNAL, NULL,
                                    "out of memory");
    posted(rq, p, writer_delete(s->wr, p->tag, j->id));
}

/* extend {job, seeds} or {job, spec}: exactly one of them. */
static void op_extend(const request *rq)
{
    server *s = rq->c->srv;
    job *j = want_job(rq);
    if (!j)
        return;
    proto_error e;
    int64_t seeds = 0;
    const cJSON *spec = member(rq, "spec");
    int rc = proto_get_int(rq->pr->root, "seeds", 1, SPEC_MAX_RUNS, &seeds,
                           &e);
    if (rc < 0)
        return server__reply_error(rq->c, rq->pr->id, &e);
    if ((rc == 1) == (spec == NULL || cJSON_IsNull(spec)))
        return server__reply_errorf(rq->c, rq->pr->id, PROTO_E_BAD_REQUEST,
                                    rc == 1 ? "spec" : "seeds",
                                    "give either seeds (new seeds for every "
                                    "cell of the job) or spec (runs to add), "
                                    "one of them");
    if (rc == 1 && !cJSON_IsObject(spec))
        return server__reply_errorf(rq->c, rq->pr->id, PROTO_E_BAD_REQUEST,
                                    "spec", "not an object; give a job "
                                    "specification");
    if (store_op_refused(rq, true))
        return;
    job_spec *sp = NULL;
    char err[ERR_LEN] = "";
    if (rc == 1 && (rc = spec_parse(spec, &sp, err, sizeof err)) < 0) {
        proto_error_from_sentence(&e, rc == -ENOMEM ? PROTO_E_INTERNAL
                                                    : PROTO_E_INVALID_SPEC,
                                  err);
        return server__reply_error(rq->c, rq->pr->id, &e);
    }
    preq *p = server__preq_new(s, rq->c, rq->pr->id);
    if (!p) {
        spec_free(sp);
        return server__reply_errorf(rq->c, rq->pr->id, PROTO_E_INTERNAL, NULL,
                                    "out of memory");
    }
    posted(rq, p, writer_extend(s->wr, p->tag, j->id, j->priority, sp,
                                (long)seeds));
}

/* The loop's view refuses what it can name at once (the store thread
 * checks again, in the commit's order: store_job_pause). */
static bool pause_refused(const request *rq, const job *j, bool pause)
{
    proto_error e;
    long long id = (long long)j->id;
    if (pause && j->paused)
        proto_error_set(&e, -EINVAL, PROTO_E_BAD_REQUEST, "job",
                        "job %lld is already paused (resweep resume %lld)",
                        id, id);
    else if (pause && server__job_active(j) == 0)
        proto_error_set(&e, -EINVAL, PROTO_E_BAD_REQUEST, "job",
                        "job %lld has ended: it has no queued or running "
                        "run to pause", id);
    else if (!pause && !j->paused)
        proto_error_set(&e, -EINVAL, PROTO_E_BAD_REQUEST, "job",
                        "job %lld is not paused; there is nothing to resume",
                        id);
    else
        return false;
    server__reply_error(rq->c, rq->pr->id, &e);
    return true;
}

static void pause_op(const request *rq, bool pause)
{
    server *s = rq->c->srv;
    job *j = want_job(rq);
    if (!j || pause_refused(rq, j, pause) || store_op_refused(rq, true))
        return;
    preq *p = server__preq_new(s, rq->c, rq->pr->id);
    if (!p)
        return server__reply_errorf(rq->c, rq->pr->id, PROTO_E_INTERNAL, NULL,
                                    "out of memory");
    posted(rq, p, pause ? jobctl_pause(s->wr, p->tag, j->id, j->priority)
                        : jobctl_resume(s->wr, p->tag, j->id, j->priority));
}

static void op_pause(const request *rq)
{
    pause_op(rq, true);
}

static void op_resume(const request *rq)
{
    pause_op(rq, false);
}

/* `resweep slurm` submitted a job array for the job: the daemon, the
 * database's only writer, records it (schema/005_slurm.sql). */
static void op_slurm_record(const request *rq)
{
    server *s = rq->c->srv;
    job *j = want_job(rq);
    if (!j)
        return;
    proto_error e;
    int64_t slurm_job = 0, tasks = 0;
    const cJSON *script = member(rq, "script");
    int rc = proto_get_int(rq->pr->root, "slurm_job", 1, JSON_INT_MAX_I64,
                           &slurm_job, &e);
    if (rc == 0)
        rc = proto_get_int(rq->pr->root, "tasks", 1, PROTO_MAX_SLURM_TASKS,
                           &tasks, &e);
    if (rc == 1)
        rc = proto_error_set(&e, -EINVAL, PROTO_E_BAD_REQUEST,
                             slurm_job ? "tasks" : "slurm_job",
                             "missing; give the Slurm job id and its "
                             "number of array tasks");
    else if (rc == 0 && !cJSON_IsString(script))
        rc = proto_error_set(&e, -EINVAL, PROTO_E_BAD_REQUEST, "script",
                             "missing or not a string; give the batch "
                             "script as submitted");
    else if (rc == 0 && strlen(script->valuestring) > PROTO_MAX_SLURM_SCRIPT)
        rc = proto_error_set(&e, -EINVAL, PROTO_E_BAD_REQUEST, "script",
                             "longer than %u bytes", PROTO_MAX_SLURM_SCRIPT);
    if (rc != 0)
        return server__reply_error(rq->c, rq->pr->id, &e);
    if (store_op_refused(rq, true))
        return;
    preq *p = server__preq_new(s, rq->c, rq->pr->id);
    if (!p)
        return server__reply_errorf(rq->c, rq->pr->id, PROTO_E_INTERNAL, NULL,
                                    "out of memory");
    posted(rq, p, writer_slurm_record(s->wr, p->tag, j->id, slurm_job,
                                      (long)tasks, script->valuestring));
}

static void op_watch(const request *rq)
{
    conn *c = rq->c;
    job *j = want_job(rq);
    if (!j)
        return;
    if (server__job_active(j) == 0 || server__job_held(j))
        return (void)server__send(c, server__progress_event(rq->pr->id, j,
                                                            true));
    if (c->srv->stopping)
        return server__reply_errorf(c, rq->pr->id, PROTO_E_SHUTTING_DOWN,
                                    NULL, "the daemon is shutting down");
    if (server__watch_add(c, rq->pr->id, j) == 0)
        server__send(c, server__progress_event(rq->pr->id, j, false));
}


static void op_shutdown(const request *rq)
{
    server *s = rq->c->srv;
    server__send(rq->c, proto_reply_new(rq->pr->id, true));
    server_shutdown(s, "shutdown requested by a client");
}

/* One handler per operation of the list: a missing op_<name> does not
 * compile. */
static void (*const ops[PROTO_OP_COUNT])(const request *rq) = {
#define X(name, doc) [PROTO_OP_##name] = op_##name,
    PROTO_OPS(X)
#undef X
};


void server__on_frame(conn *c, const char *text, size_t len)
{
    proto_request pr;
    proto_error e;
    int rc = proto_request_parse(text, len, &pr, &e);
    if (rc < 0) {
        server__reply_error(c, pr.id, &e);
        if (rc == -EPROTO) {
            log_info("client %llu speaks another protocol version; "
                     "disconnected",
                     (unsigned long long)c->id);
            server__close_when_flushed(c);
        }
        proto_request_free(&pr);
        return;
    }
    request rq = {c, &pr};
    enum proto_op op = proto_op_find(pr.op);
    if (!c->authed && op != PROTO_OP_hello && op != PROTO_OP_auth) {
        log_warn("client %llu: \"%.64s\" before authenticating; "
                 "disconnected", (unsigned long long)c->id, pr.op);
        proto_error_set(&e, -EACCES, PROTO_E_UNAUTHENTICATED, NULL,
                        "authenticate first: hello, then auth with the "
                        "daemon's token");
        server__reply_error(c, pr.id, &e);
        server__close_when_flushed(c);
    } else if (op < PROTO_OP_COUNT) {
        log_debug("client %llu: %s", (unsigned long long)c->id, pr.op);
        ops[op](&rq);
    } else {
        char list[256];
        proto_op_list(list, sizeof list);
        proto_error_set(&e, -EINVAL, PROTO_E_UNKNOWN_OP, "op",
                        "unknown operation \"%.64s\"; expected %s", pr.op,
                        list);
        server__reply_error(c, pr.id, &e);
    }
    proto_request_free(&pr);
}

