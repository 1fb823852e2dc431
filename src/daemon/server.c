/* server.c — the loop thread: socket, connections, dispatch, progress,
 * shutdown (server.h). */
#include "server.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "log.h"
#include "paths.h"
#include "proto.h"
#include "spec.h"

#define SERVER_READ_CHUNK   65536
#define SERVER_MAX_WATCHES  16          /* per connection */
#define WATCH_SKIP_BYTES    (256u * 1024u)  /* unread bytes past which a watcher misses a progress event */
#define WATCH_HEARTBEAT_S   2.0         /* progress at least this often */
#define STOP_WORKERS_S      3.5         /* of SERVER_SHUTDOWN_S, for the workers */

/* Runs ended per second over the last SERVER_RATE_WINDOW_S seconds; only
 * for jobs active in this session. */
typedef struct job_rate {
    double t_first;                          /* first start seen (monotonic) */
    int64_t sec[SERVER_RATE_WINDOW_S];
    uint32_t count[SERVER_RATE_WINDOW_S];
} job_rate;

typedef struct job {
    int64_t id;
    char *name;
    int priority;
    long n_runs;
    double created_at;         /* Unix seconds, NAN when unknown */
    job_counts counts;
    uint64_t version;          /* bumped on every change, for watchers */
    job_rate *rate;
} job;

typedef struct watch {
    struct watch *next;
    cJSON *id;                 /* the watch request's id, owned */
    int64_t job_id;
    uint64_t sent_version;
    double sent_at;
} watch;

typedef struct conn {
    uv_pipe_t pipe;            /* first: handle pointers cast to conn */
    server *srv;
    struct conn *next;
    uint64_t id;
    proto_decoder dec;
    size_t write_pending;      /* bytes handed to uv_write, not yet written */
    int inflight;              /* requests awaiting the store thread */
    int nwatches;
    watch *watches;
    double partial_since;      /* last byte of an unfinished frame; 0 if none */
    bool closing, close_when_flushed;
} conn;

/* A request waiting for the store thread's event. */
typedef struct preq {
    struct preq *next;
    uint64_t tag, conn_id;
    cJSON *id;                 /* owned copy */
    long n;                    /* cancel: running runs told to stop;
                                  retry: stopping runs taken back */
} preq;

typedef struct wbuf {
    uv_write_t req;
    conn *c;
    char *data;
    size_t len;
} wbuf;

struct server {
    uv_loop_t *loop;
    char *socket_path, *db_path;
    int workers;
    sched *sc;
    writer *wr;
    pool *pl;

    uv_pipe_t listener;
    uv_async_t async;
    uv_timer_t tick, watch_timer, stop_timer;
    uv_signal_t sigterm, sigint;
    bool bound, listening, handles_closed;

    conn *conns;
    int nconns;
    uint64_t next_conn_id;
    preq *pending;
    uint64_t next_tag;

    job *jobs;                 /* ascending id */
    size_t njobs, cap;

    double t_start;
    bool stopping;
    double stop_t0;
    char readbuf[SERVER_READ_CHUNK];
};

static double mono_s(void)
{
    return (double)uv_hrtime() * 1e-9;
}

/* ------------------------------------------------------------------ */
/* jobs */

static job *job_find(server *s, int64_t id)
{
    size_t lo = 0, hi = s->njobs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->jobs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->njobs && s->jobs[lo].id == id ? &s->jobs[lo] : NULL;
}

static job *job_add(server *s, int64_t id, const char *name, int priority,
                    long n_runs, double created_at, const job_counts *counts)
{
    job *j = job_find(s, id);
    if (j)
        return j;
    if (s->njobs == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        job *p = realloc(s->jobs, cap * sizeof *p);
        if (!p)
            return NULL;
        s->jobs = p;
        s->cap = cap;
    }
    size_t at = s->njobs;   /* ids grow: appending is the rule */
    while (at > 0 && s->jobs[at - 1].id > id)
        at--;
    memmove(&s->jobs[at + 1], &s->jobs[at], (s->njobs - at) * sizeof *s->jobs);
    j = &s->jobs[at];
    *j = (job){.id = id, .name = strdup(name ? name : ""),
               .priority = priority, .n_runs = n_runs,
               .created_at = created_at, .counts = *counts, .version = 1};
    s->njobs++;
    return j;
}

static long active_runs(const job *j)
{
    return j->counts.by_state[RUN_QUEUED] + j->counts.by_state[RUN_RUNNING];
}

static long finished_runs(const job *j)
{
    const long *b = j->counts.by_state;
    return b[RUN_STATE_DONE] + b[RUN_FAILED] + b[RUN_STATE_DIVERGED] +
           b[RUN_CANCELED];
}

static const char *job_state(const job *j)
{
    const long *b = j->counts.by_state;
    if (active_runs(j) > 0)
        return b[RUN_RUNNING] > 0 || finished_runs(j) > 0 ? "running"
                                                          : "queued";
    if (b[RUN_CANCELED] > 0)
        return "canceled";
    return b[RUN_FAILED] > 0 ? "failed" : "done";
}

static void rate_note_end(job *j, double now)
{
    if (!j->rate && !(j->rate = calloc(1, sizeof *j->rate)))
        return;
    if (j->rate->t_first == 0)
        j->rate->t_first = now;
    int64_t sec = (int64_t)now;
    int i = (int)(sec % SERVER_RATE_WINDOW_S);
    if (j->rate->sec[i] != sec) {
        j->rate->sec[i] = sec;
        j->rate->count[i] = 0;
    }
    j->rate->count[i]++;
}

/* Runs ended per minute over the window (or since the job's first start
 * in this session, when that is shorter); NAN when nothing ended yet. */
static double rate_per_min(const job *j, double now)
{
    if (!j->rate || j->rate->t_first == 0)
        return NAN;
    int64_t sec = (int64_t)now;
    long n = 0;
    for (int i = 0; i < SERVER_RATE_WINDOW_S; i++)
        if (j->rate->count[i] && sec - j->rate->sec[i] < SERVER_RATE_WINDOW_S)
            n += j->rate->count[i];
    double span = now - j->rate->t_first;
    if (span > SERVER_RATE_WINDOW_S)
        span = SERVER_RATE_WINDOW_S;
    if (span < 1)
        span = 1;
    return n > 0 ? (double)n * 60.0 / span : 0.0;
}

static void job_changed(job *j)
{
    j->version++;
    if (active_runs(j) == 0 && j->rate) {
        free(j->rate);   /* ended: its rate is of no more use */
        j->rate = NULL;
    }
}

static void counts_move(job *j, enum run_state from, enum run_state to)
{
    if (j->counts.by_state[from] > 0)
        j->counts.by_state[from]--;
    j->counts.by_state[to]++;
}

static cJSON *job_json(const job *j)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    const long *b = j->counts.by_state;
    double now = mono_s();
    double rate = rate_per_min(j, now);
    long left = active_runs(j);
    cJSON_AddNumberToObject(o, "job", (double)j->id);
    cJSON_AddStringToObject(o, "name", j->name);
    cJSON_AddNumberToObject(o, "priority", j->priority);
    cJSON_AddStringToObject(o, "state", job_state(j));
    cJSON_AddNumberToObject(o, "total", (double)j->counts.total);
    cJSON_AddNumberToObject(o, "queued", (double)b[RUN_QUEUED]);
    cJSON_AddNumberToObject(o, "running", (double)b[RUN_RUNNING]);
    cJSON_AddNumberToObject(o, "done", (double)b[RUN_STATE_DONE]);
    cJSON_AddNumberToObject(o, "failed", (double)b[RUN_FAILED]);
    cJSON_AddNumberToObject(o, "diverged", (double)b[RUN_STATE_DIVERGED]);
    cJSON_AddNumberToObject(o, "canceled", (double)b[RUN_CANCELED]);
    cJSON_AddNumberToObject(o, "finished", (double)finished_runs(j));
    cJSON_AddNumberToObject(o, "rate_per_min", isnan(rate) ? NAN : rate);
    cJSON_AddNumberToObject(o, "eta_s",
                            left == 0 ? 0
                            : rate > 0 ? (double)left * 60.0 / rate
                                       : NAN);
    cJSON_AddNumberToObject(o, "created_at", j->created_at);
    return o;   /* cJSON writes NAN as null */
}

int server_job_restore(void *server_, const store_job_info *ji)
{
    server *s = server_;
    if (!job_add(s, ji->job_id, ji->name, ji->priority, ji->n_runs,
                 ji->created_at, &ji->counts))
        return -ENOMEM;
    return 0;
}

/* ------------------------------------------------------------------ */
/* connections: writing */

static void on_conn_closed(uv_handle_t *h)
{
    conn *c = (conn *)h;
    proto_decoder_free(&c->dec);
    free(c);
}

static void watches_free(conn *c)
{
    for (watch *w = c->watches, *n; w; w = n) {
        n = w->next;
        cJSON_Delete(w->id);
        free(w);
    }
    c->watches = NULL;
    c->nwatches = 0;
}

/* Unlinked at once, so replies for it are dropped; freed once libuv has
 * called back every pending write. */
static void conn_close(conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    server *s = c->srv;
    for (conn **pp = &s->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            s->nconns--;
            break;
        }
    }
    watches_free(c);
    uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

static void close_when_flushed(conn *c)
{
    if (c->closing)
        return;
    c->close_when_flushed = true;
    uv_read_stop((uv_stream_t *)&c->pipe);
    if (c->write_pending == 0)
        conn_close(c);
}

static void on_written(uv_write_t *req, int status)
{
    wbuf *wb = (wbuf *)req;
    conn *c = wb->c;
    c->write_pending -= wb->len;
    free(wb->data);
    free(wb);
    if (status < 0)
        conn_close(c);
    else if (c->close_when_flushed && c->write_pending == 0)
        conn_close(c);
}

/* Sends obj (consumed) as one frame. A client with more than
 * SERVER_MAX_PENDING_WRITE bytes unread is disconnected. */
static int send_obj(conn *c, cJSON *obj)
{
    if (!obj) {
        log_error("out of memory building a reply; closing client %llu",
                  (unsigned long long)c->id);
        conn_close(c);
        return -ENOMEM;
    }
    char *data = NULL;
    size_t len = 0;
    int rc = proto_encode(obj, &data, &len);
    cJSON_Delete(obj);
    if (rc < 0 || c->closing) {
        if (rc < 0)
            log_error("client %llu: reply not sent: %s",
                      (unsigned long long)c->id, strerror(-rc));
        free(data);
        return rc < 0 ? rc : -EPIPE;
    }
    if (c->write_pending + len > SERVER_MAX_PENDING_WRITE) {
        log_warn("client %llu does not read its replies (%zu bytes "
                 "unread); disconnecting it",
                 (unsigned long long)c->id, c->write_pending);
        free(data);
        conn_close(c);
        return -ENOBUFS;
    }
    wbuf *wb = malloc(sizeof *wb);
    if (!wb) {
        free(data);
        conn_close(c);
        return -ENOMEM;
    }
    *wb = (wbuf){.c = c, .data = data, .len = len};
    uv_buf_t b = uv_buf_init(data, (unsigned)len);
    rc = uv_write(&wb->req, (uv_stream_t *)&c->pipe, &b, 1, on_written);
    if (rc < 0) {
        free(data);
        free(wb);
        conn_close(c);
        return rc;
    }
    c->write_pending += len;
    return 0;
}

static void reply_error(conn *c, const cJSON *id, const proto_error *e)
{
    send_obj(c, proto_reply_error(id, e));
}

static void reply_errorf(conn *c, const cJSON *id, const char *code,
                         const char *field, const char *msg)
{
    proto_error e;
    proto_error_set(&e, -EINVAL, code, field, "%s", msg);
    reply_error(c, id, &e);
}

static conn *conn_by_id(server *s, uint64_t id)
{
    for (conn *c = s->conns; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* requests awaiting the store thread */

static preq *preq_new(server *s, conn *c, const cJSON *id)
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
    conn *c = conn_by_id(s, p->conn_id);
    if (c && c->inflight > 0)
        c->inflight--;
    return c;
}

static void preq_cancel(server *s, conn *c, preq *p)
{
    preq_take(s, p->tag);
    preq_free(p);
    c->inflight--;
}

/* ------------------------------------------------------------------ */
/* operations */

typedef struct request {
    conn *c;
    const proto_request *pr;
} request;

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
        reply_error(rq->c, rq->pr->id, &e);
        return NULL;
    }
    job *j = job_find(rq->c->srv, id);
    if (!j) {
        proto_error_set(&e, -ENOENT, PROTO_E_NOT_FOUND, "job",
                        "there is no job %lld", (long long)id);
        reply_error(rq->c, rq->pr->id, &e);
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
    } else if (rq->c->inflight >= SERVER_MAX_INFLIGHT) {
        proto_error_set(&e, -EBUSY, PROTO_E_TOO_MANY_REQUESTS, NULL,
                        "more than %d requests of this connection await "
                        "the database; wait for their replies",
                        SERVER_MAX_INFLIGHT);
    } else {
        return false;
    }
    reply_error(rq->c, rq->pr->id, &e);
    return true;
}

static void posted(const request *rq, preq *p, int rc)
{
    if (rc == 0)
        return;
    preq_cancel(rq->c->srv, rq->c, p);
    reply_errorf(rq->c, rq->pr->id,
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
        return (void)send_obj(rq->c, NULL);
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
    cJSON_AddNumberToObject(r, "uptime_s", mono_s() - s->t_start);
    cJSON_AddStringToObject(r, "store", faulted ? "fault" : "ok");
    if (faulted)
        cJSON_AddStringToObject(r, "store_error", msg);
    else
        cJSON_AddNullToObject(r, "store_error");
    cJSON_AddNumberToObject(r, "jobs", (double)s->njobs);
    cJSON_AddNumberToObject(r, "queued", (double)st.queued);
    cJSON_AddNumberToObject(r, "running", (double)st.active);
    send_obj(rq->c, r);
}

static void op_submit(const request *rq)
{
    server *s = rq->c->srv;
    const cJSON *spec = member(rq, "spec");
    if (!cJSON_IsObject(spec))
        return reply_errorf(rq->c, rq->pr->id, PROTO_E_BAD_REQUEST, "spec",
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
        return reply_error(rq->c, rq->pr->id, &e);
    }
    preq *p = preq_new(s, rq->c, rq->pr->id);
    if (!p) {
        spec_free(sp);
        return reply_errorf(rq->c, rq->pr->id, PROTO_E_INTERNAL, NULL,
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
            cJSON_AddItemToObject(r, "job", job_json(j));
        return (void)send_obj(rq->c, r);
    }
    r = proto_reply_new(rq->pr->id, true);
    cJSON *arr = r ? cJSON_AddArrayToObject(r, "jobs") : NULL;
    if (!arr) {
        cJSON_Delete(r);
        return (void)send_obj(rq->c, NULL);
    }
    size_t from = s->njobs > SERVER_MAX_STATUS_JOBS
                      ? s->njobs - SERVER_MAX_STATUS_JOBS
                      : 0;
    for (size_t i = from; i < s->njobs; i++)
        cJSON_AddItemToArray(arr, job_json(&s->jobs[i]));
    cJSON_AddBoolToObject(r, "truncated", from > 0);
    send_obj(rq->c, r);
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
        return reply_error(rq->c, rq->pr->id, &e);
    preq *p = preq_new(s, rq->c, rq->pr->id);
    if (!p)
        return reply_errorf(rq->c, rq->pr->id, PROTO_E_INTERNAL, NULL,
                            "out of memory");
    posted(rq, p, writer_runs(s->wr, p->tag, j->id, (long)from, (int)limit));
}

static void op_cancel(const request *rq)
{
    server *s = rq->c->srv;
    job *j = want_job(rq);
    if (!j || store_op_refused(rq, true))
        return;
    preq *p = preq_new(s, rq->c, rq->pr->id);
    if (!p)
        return reply_errorf(rq->c, rq->pr->id, PROTO_E_INTERNAL, NULL,
                            "out of memory");
    /* The scheduler first: no queued run of the job starts from now on,
     * and running ones stop at their next poll. */
    long dropped = 0;
    sched_cancel_job(s->sc, j->id, &dropped, &p->n);
    posted(rq, p, writer_cancel(s->wr, p->tag, j->id));
}

static void op_retry(const request *rq)
{
    server *s = rq->c->srv;
    job *j = want_job(rq);
    if (!j || store_op_refused(rq, true))
        return;
    preq *p = preq_new(s, rq->c, rq->pr->id);
    if (!p)
        return reply_errorf(rq->c, rq->pr->id, PROTO_E_INTERNAL, NULL,
                            "out of memory");
    /* Before the retry is queued to the store thread: a run that stopped
     * before this point ends canceled ahead of the retry, which requeues
     * it; one that stops after goes back to the queue itself; one still
     * training goes on (sched_end_canceled). */
    sched_resume_job(s->sc, j->id, &p->n);
    int rc = writer_retry(s->wr, p->tag, j->id);
    if (rc < 0 && p->n > 0)
        sched_cancel_job(s->sc, j->id, NULL, NULL);  /* the cancel stands */
    posted(rq, p, rc);
}

static cJSON *progress_event(const cJSON *id, const job *j, bool end)
{
    cJSON *r = proto_reply_new(id, true);
    if (!r)
        return NULL;
    cJSON_AddStringToObject(r, "event", end ? "end" : "progress");
    cJSON_AddItemToObject(r, "job", job_json(j));
    return r;
}

static void op_watch(const request *rq)
{
    conn *c = rq->c;
    job *j = want_job(rq);
    if (!j)
        return;
    if (active_runs(j) == 0)
        return (void)send_obj(c, progress_event(rq->pr->id, j, true));
    if (c->srv->stopping)
        return reply_errorf(c, rq->pr->id, PROTO_E_SHUTTING_DOWN, NULL,
                            "the daemon is shutting down");
    if (c->nwatches >= SERVER_MAX_WATCHES)
        return reply_errorf(c, rq->pr->id, PROTO_E_TOO_MANY_REQUESTS, NULL,
                            "this connection already watches 16 jobs");
    watch *w = calloc(1, sizeof *w);
    if (!w)
        return reply_errorf(c, rq->pr->id, PROTO_E_INTERNAL, NULL,
                            "out of memory");
    w->id = rq->pr->id ? cJSON_Duplicate(rq->pr->id, true) : NULL;
    w->job_id = j->id;
    w->sent_version = j->version;
    w->sent_at = mono_s();
    w->next = c->watches;
    c->watches = w;
    c->nwatches++;
    send_obj(c, progress_event(rq->pr->id, j, false));
}

static void op_shutdown(const request *rq)
{
    server *s = rq->c->srv;
    send_obj(rq->c, proto_reply_new(rq->pr->id, true));
    server_shutdown(s, "shutdown requested by a client");
}

static const struct {
    const char *name;
    void (*fn)(const request *rq);
} ops[] = {
    {"ping", op_ping},     {"submit", op_submit}, {"status", op_status},
    {"runs", op_runs},     {"cancel", op_cancel}, {"retry", op_retry},
    {"watch", op_watch},   {"shutdown", op_shutdown},
};

static void on_frame(conn *c, const char *text, size_t len)
{
    proto_request pr;
    proto_error e;
    int rc = proto_request_parse(text, len, &pr, &e);
    if (rc < 0) {
        reply_error(c, pr.id, &e);
        if (rc == -EPROTO) {
            log_info("client %llu speaks another protocol version; "
                     "disconnected",
                     (unsigned long long)c->id);
            close_when_flushed(c);
        }
        proto_request_free(&pr);
        return;
    }
    request rq = {c, &pr};
    size_t i = 0;
    while (i < sizeof ops / sizeof ops[0] && strcmp(ops[i].name, pr.op) != 0)
        i++;
    if (i < sizeof ops / sizeof ops[0]) {
        log_debug("client %llu: %s", (unsigned long long)c->id, pr.op);
        ops[i].fn(&rq);
    } else {
        proto_error_set(&e, -EINVAL, PROTO_E_UNKNOWN_OP, "op",
                        "unknown operation \"%.64s\"; expected ping, submit, "
                        "status, runs, cancel, retry, watch or shutdown",
                        pr.op);
        reply_error(c, pr.id, &e);
    }
    proto_request_free(&pr);
}

/* ------------------------------------------------------------------ */
/* connections: reading and accepting */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    /* One buffer for all connections: libuv reads into it and calls
     * on_read before the next allocation; the decoder copies. */
    conn *c = (conn *)h;
    *buf = uv_buf_init(c->srv->readbuf, sizeof c->srv->readbuf);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    conn *c = (conn *)st;
    if (n < 0) {
        if (n != UV_EOF)
            log_debug("client %llu: %s", (unsigned long long)c->id,
                      uv_strerror((int)n));
        conn_close(c);
        return;
    }
    size_t off = 0;
    while (off < (size_t)n && !c->closing && !c->close_when_flushed) {
        size_t used = 0, flen = 0;
        char *frame = NULL;
        proto_error e;
        int rc = proto_decoder_feed(&c->dec, buf->base + off, (size_t)n - off,
                                    &used, &frame, &flen, &e);
        off += used;
        if (rc < 0) {
            /* The stream is out of step: answer, then hang up. */
            log_info("client %llu: %s; disconnected",
                     (unsigned long long)c->id, e.message);
            reply_error(c, NULL, &e);
            close_when_flushed(c);
            return;
        }
        if (rc == 1) {
            on_frame(c, frame, flen);
            free(frame);
        }
    }
    c->partial_since = proto_decoder_partial(&c->dec) ? mono_s() : 0;
}

static bool peer_allowed(conn *c)
{
    uv_os_fd_t fd;
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
        log_warn("client %llu: cannot read its credentials; refused",
                 (unsigned long long)c->id);
        return false;
    }
    if (cr.uid != geteuid()) {
        log_warn("refused a connection from uid %lu (pid %ld): only uid %lu "
                 "may use this daemon",
                 (unsigned long)cr.uid, (long)cr.pid,
                 (unsigned long)geteuid());
        return false;
    }
    return true;
}

static void on_connection(uv_stream_t *l, int status)
{
    server *s = l->data;
    if (status < 0) {
        log_warn("accept: %s", uv_strerror(status));
        return;
    }
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        log_error("out of memory accepting a connection");
        return;
    }
    uv_pipe_init(s->loop, &c->pipe, 0);
    c->srv = s;
    c->id = ++s->next_conn_id;
    proto_decoder_init(&c->dec, PROTO_MAX_FRAME);
    if (uv_accept(l, (uv_stream_t *)&c->pipe) != 0) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
        return;
    }
    c->next = s->conns;
    s->conns = c;
    s->nconns++;
    if (!peer_allowed(c)) {
        reply_errorf(c, NULL, PROTO_E_PERMISSION, NULL,
                     "this daemon serves only its own user");
        return close_when_flushed(c);
    }
    if (s->nconns > SERVER_MAX_CONNECTIONS) {
        log_warn("refused client %llu: %d connections are open already",
                 (unsigned long long)c->id, SERVER_MAX_CONNECTIONS);
        proto_error e;
        proto_error_set(&e, -EMFILE, PROTO_E_TOO_MANY_CONNECTIONS, NULL,
                        "the daemon already serves %d connections; close "
                        "one and try again",
                        SERVER_MAX_CONNECTIONS);
        reply_error(c, NULL, &e);
        return close_when_flushed(c);
    }
    log_debug("client %llu connected", (unsigned long long)c->id);
    int rc = uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
    if (rc < 0)
        conn_close(c);
}

/* ------------------------------------------------------------------ */
/* the store thread's events */

static void reply_failure(server *s, preq *p, const writer_event *ev)
{
    conn *c = preq_conn(s, p);
    if (!c)
        return;
    proto_error e;
    const char *msg = ev->error ? ev->error : "failed";
    if (ev->rc == -ENOENT)
        proto_error_set(&e, ev->rc, PROTO_E_NOT_FOUND, "job", "%s", msg);
    else if (ev->rc == -ESHUTDOWN)
        proto_error_set(&e, ev->rc, PROTO_E_SHUTTING_DOWN, NULL, "%s", msg);
    else if (ev->store_error || ev->rc == -EIO || ev->rc == -ENOSPC)
        proto_error_set(&e, ev->rc, PROTO_E_STORE_FAULT, NULL,
                        "the database refused the write: %s", msg);
    else if (ev->kind == WEV_SUBMIT_FAILED && ev->rc != -ENOMEM)
        proto_error_from_sentence(&e, PROTO_E_INVALID_SPEC, msg);
    else
        proto_error_set(&e, ev->rc, PROTO_E_INTERNAL, NULL, "%s", msg);
    reply_error(c, p->id, &e);
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
    for (int i = 0; arr && i < ev->nrows; i++) {
        const writer_run_row *row = &ev->rows[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddNumberToObject(o, "run", (double)row->run_id);
        cJSON_AddNumberToObject(o, "index", (double)row->index);
        cJSON_AddStringToObject(o, "state", store_state_name(row->state));
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
        if (ev->next_index >= 0)
            cJSON_AddNumberToObject(r, "next", (double)ev->next_index);
        else
            cJSON_AddNullToObject(r, "next");
    }
    send_obj(c, r);
}

static void on_job_reply(server *s, const writer_event *ev)
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
            cJSON_AddStringToObject(r, "name", ev->name ? ev->name : "");
            cJSON_AddNumberToObject(r, "n_runs", (double)ev->n_runs);
        }
        if (c)
            send_obj(c, r);
        break;
    case WEV_CANCELED:
    case WEV_RETRIED:
        if ((r = reply_for(s, p, &c))) {
            cJSON_AddNumberToObject(r, "job", (double)ev->job_id);
            if (ev->kind == WEV_CANCELED) {
                cJSON_AddNumberToObject(r, "canceled", (double)ev->n);
                cJSON_AddNumberToObject(r, "stopping", (double)p->n);
            } else {
                cJSON_AddNumberToObject(r, "requeued", (double)ev->n);
                cJSON_AddNumberToObject(r, "resumed", (double)p->n);
            }
        }
        if (c)
            send_obj(c, r);
        break;
    case WEV_RUNS:
        reply_runs(s, p, ev);
        break;
    default:
        break;
    }
    preq_free(p);
}

static void handle_event(server *s, const writer_event *ev)
{
    job *j = ev->kind == WEV_SUBMITTED || ev->kind == WEV_SUBMIT_FAILED
                 ? NULL
                 : job_find(s, ev->job_id);
    switch (ev->kind) {
    case WEV_SUBMITTED:
        if (!job_add(s, ev->job_id, ev->name, ev->priority, ev->n_runs,
                     ev->created_at, &ev->counts))
            log_error("job %lld: out of memory tracking its progress",
                      (long long)ev->job_id);
        on_job_reply(s, ev);
        return;
    case WEV_SUBMIT_FAILED:
    case WEV_RUNS:
        on_job_reply(s, ev);
        return;
    case WEV_CANCELED:
    case WEV_RETRIED:
        if (j && ev->rc == 0) {
            j->counts = ev->counts;   /* authoritative, as of the commit */
            job_changed(j);
        }
        on_job_reply(s, ev);
        return;
    case WEV_RUN_STARTED:
        if (j) {
            counts_move(j, RUN_QUEUED, RUN_RUNNING);
            if (!j->rate && (j->rate = calloc(1, sizeof *j->rate)))
                j->rate->t_first = mono_s();
        }
        break;
    case WEV_RUN_ENDED:
        if (j) {
            counts_move(j, RUN_RUNNING, ev->state);
            rate_note_end(j, mono_s());
        }
        break;
    case WEV_RUN_REQUEUED:
        if (j)
            counts_move(j, RUN_RUNNING, RUN_QUEUED);
        break;
    case WEV_FAULT:
    case WEV_FAULT_CLEARED:
        return;   /* the store thread logged it; ping reports it */
    }
    if (j)
        job_changed(j);
}

static void drain_events(server *s)
{
    if (!s->wr)
        return;
    for (writer_event *ev = writer_events(s->wr), *n; ev; ev = n) {
        n = ev->next;
        handle_event(s, ev);
        writer_event_free(ev);
    }
}

static void on_async(uv_async_t *h)
{
    drain_events(h->data);
}

void server_notify(void *server_)
{
    server *s = server_;
    uv_async_send(&s->async);
}

/* ------------------------------------------------------------------ */
/* timers */

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

/* Progress to watchers, throttled: at most one event per interval, none
 * for a watcher that has not read the last ones (it gets the newest state
 * later), and the end always. */
static void on_watch_tick(uv_timer_t *t)
{
    server *s = t->data;
    double now = mono_s();
    for (conn *c = s->conns, *cn; c; c = cn) {
        cn = c->next;
        for (watch *w = c->watches, *wn; w && !c->closing; w = wn) {
            wn = w->next;
            job *j = job_find(s, w->job_id);
            if (!j)
                continue;
            bool end = active_runs(j) == 0;
            bool due = j->version != w->sent_version ||
                       now - w->sent_at >= WATCH_HEARTBEAT_S;
            if (!end && (!due || c->write_pending > WATCH_SKIP_BYTES))
                continue;
            w->sent_version = j->version;
            w->sent_at = now;
            cJSON *ev = progress_event(w->id, j, end);
            if (end)
                watch_remove(c, w);
            send_obj(c, ev);
        }
    }
}

static void on_tick(uv_timer_t *t)
{
    server *s = t->data;
    double now = mono_s();
    for (conn *c = s->conns, *n; c; c = n) {
        n = c->next;
        if (c->partial_since > 0 &&
            now - c->partial_since > SERVER_PARTIAL_TIMEOUT_S) {
            log_info("client %llu sent part of a frame and nothing for "
                     "%.0f s; disconnected",
                     (unsigned long long)c->id, SERVER_PARTIAL_TIMEOUT_S);
            conn_close(c);
        }
    }
}

/* ------------------------------------------------------------------ */
/* shutdown */

static void close_handle(uv_handle_t *h)
{
    if (h->type != UV_UNKNOWN_HANDLE && !uv_is_closing(h))
        uv_close(h, NULL);
}

static void close_handles(server *s)
{
    if (s->handles_closed)
        return;
    s->handles_closed = true;
    while (s->conns)
        conn_close(s->conns);
    close_handle((uv_handle_t *)&s->listener);   /* libuv unlinks the socket */
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
    double elapsed = mono_s() - s->stop_t0;
    int running = s->pl ? pool_running(s->pl) : 0;
    drain_events(s);
    if (running > 0 && elapsed < STOP_WORKERS_S)
        return;
    uv_timer_stop(t);
    if (running > 0)
        log_warn("%d workers did not stop within %.1f s; their runs stay "
                 "running in the database and resume at the next start",
                 running, STOP_WORKERS_S);
    if (s->wr) {
        double grace = SERVER_SHUTDOWN_S - (mono_s() - s->stop_t0);
        writer_stop(s->wr, grace > 0.2 ? grace : 0.2);
        drain_events(s);
    }
    log_info("stopped in %.2f s", mono_s() - s->stop_t0);
    close_handles(s);
}

void server_shutdown(server *s, const char *why)
{
    if (s->stopping)
        return;
    s->stopping = true;
    s->stop_t0 = mono_s();
    log_info("shutting down (%s): running runs are checkpointed and "
             "resume at the next start",
             why);
    sched_stop(s->sc);
    if (s->listening) {
        uv_close((uv_handle_t *)&s->listener, NULL);
        s->listening = false;
    }
    for (conn *c = s->conns; c; c = c->next) {
        for (watch *w = c->watches; w; w = w->next) {
            proto_error e;
            proto_error_set(&e, -ESHUTDOWN, PROTO_E_SHUTTING_DOWN, NULL,
                            "the daemon is shutting down; job %lld goes on "
                            "when it is started again",
                            (long long)w->job_id);
            reply_error(c, w->id, &e);
        }
        watches_free(c);
    }
    uv_timer_start(&s->stop_timer, on_stop_tick, 0, 20);
}

static void on_signal(uv_signal_t *h, int signum)
{
    server *s = h->data;
    if (s->stopping) {
        log_info("%s again: already shutting down", strsignal(signum));
        return;
    }
    server_shutdown(s, strsignal(signum));
}

/* ------------------------------------------------------------------ */
/* life cycle */

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
    s->sc = cfg->sc;
    s->t_start = mono_s();
    if (!s->socket_path || !s->db_path) {
        free(s->socket_path);
        free(s->db_path);
        free(s);
        return err_set(err, errlen, -ENOMEM, "out of memory");
    }
    uv_pipe_init(s->loop, &s->listener, 0);
    uv_async_init(s->loop, &s->async, on_async);
    uv_timer_init(s->loop, &s->tick);
    uv_timer_init(s->loop, &s->watch_timer);
    uv_timer_init(s->loop, &s->stop_timer);
    uv_signal_init(s->loop, &s->sigterm);
    uv_signal_init(s->loop, &s->sigint);
    s->listener.data = s->async.data = s->tick.data = s;
    s->watch_timer.data = s->stop_timer.data = s;
    s->sigterm.data = s->sigint.data = s;
    *out = s;
    return 0;
}

void server_attach(server *s, writer *w, pool *p)
{
    s->wr = w;
    s->pl = p;
}

/* A socket file at path: refused if a daemon answers on it, removed if
 * none does. */
static int clear_stale_socket(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0
                               : err_set(err, errlen, -errno, "%s: %s", path,
                                         strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return err_set(err, errlen, -EEXIST,
                       "%s exists and is not a socket; remove it or choose "
                       "another --socket",
                       path);
    int fd;
    char cerr[ERR_LEN];
    int rc = proto_connect(path, &fd, cerr, sizeof cerr);
    if (rc == 0) {
        close(fd);
        return err_set(err, errlen, -EADDRINUSE,
                       "a daemon is already listening on %s", path);
    }
    if (rc != -ECONNREFUSED)
        return err_set(err, errlen, rc, "%s", cerr);
    log_info("replacing the stale socket %s of a daemon that is gone", path);
    if (unlink(path) != 0 && errno != ENOENT)
        return err_set(err, errlen, -errno, "%s: cannot remove: %s", path,
                       strerror(errno));
    return 0;
}

int server_bind(server *s, char *err, size_t errlen)
{
    if (strlen(s->socket_path) > PATHS_SOCKET_MAX)
        return err_set(err, errlen, -ENAMETOOLONG,
                       "%s: a socket path may have at most %d bytes",
                       s->socket_path, PATHS_SOCKET_MAX);
    char dir[PATHS_MAX];
    int rc = paths_dirname(s->socket_path, dir, sizeof dir);
    if (rc < 0)
        return err_set(err, errlen, rc, "%s: path too long", s->socket_path);
    rc = paths_private_dir(dir, err, errlen);
    if (rc < 0)
        return rc;
    rc = clear_stale_socket(s->socket_path, err, errlen);
    if (rc < 0)
        return rc;
    /* Created 0600 from the start: no moment where another user could
     * connect. (The directory is private too.) */
    mode_t old = umask(0177);
    rc = uv_pipe_bind(&s->listener, s->socket_path);
    umask(old);
    if (rc < 0)
        return err_set(err, errlen, rc, "cannot bind %s: %s", s->socket_path,
                       uv_strerror(rc));
    s->bound = true;
    return 0;
}

int server_start(server *s, char *err, size_t errlen)
{
    int rc = uv_listen((uv_stream_t *)&s->listener, 64, on_connection);
    if (rc < 0)
        return err_set(err, errlen, rc, "cannot listen on %s: %s",
                       s->socket_path, uv_strerror(rc));
    s->listening = true;
    uv_timer_start(&s->tick, on_tick, 1000, 1000);
    uv_timer_start(&s->watch_timer, on_watch_tick, SERVER_WATCH_INTERVAL_MS,
                   SERVER_WATCH_INTERVAL_MS);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    log_info("listening on %s", s->socket_path);
    return 0;
}

void server_free(server *s)
{
    if (!s)
        return;
    if (!s->handles_closed) {
        /* Start-up failed before the loop ran: close and let libuv finish
         * the closes. */
        close_handles(s);
        uv_run(s->loop, UV_RUN_DEFAULT);
    }
    for (preq *p = s->pending, *n; p; p = n) {
        n = p->next;
        preq_free(p);
    }
    for (size_t i = 0; i < s->njobs; i++) {
        free(s->jobs[i].name);
        free(s->jobs[i].rate);
    }
    free(s->jobs);
    free(s->socket_path);
    free(s->db_path);
    free(s);
}
