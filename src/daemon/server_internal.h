/* server_internal.h — what the loop thread's files share (server.h). Not
 * for the rest of the daemon. Internal names carry the server__ prefix.
 *
 * The files, each using only those above it:
 *   jobs.c     the jobs' counters in memory, rates, ETAs, their JSON
 *   remote.c   the book of remote workers and leases (remote.h)
 *   conn.c     a connection: reading frames, queueing replies, closing
 *   listen.c   the socket: binding, stale sockets, accepting, peers
 *   replies.c  requests waiting for the store thread, and their replies
 *   watch.c    watchers: progress events, throttled
 *   events.c   the store thread's events: counters moved, replies sent
 *   shutdown.c stopping: suspend runs, wait for workers, close handles
 *   authops.c  hello and auth: TCP peers prove the token
 *   workerops.c  the workers' operations: register, lease, heartbeat,
 *              curve, checkpoint, finish, workers; expiring leases
 *   ops.c      the operations (proto.h's PROTO_OPS), dispatched by name
 *   server.c   life cycle: create, start, signals, free
 */
#ifndef RESWEEP_SERVER_INTERNAL_H
#define RESWEEP_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "auth.h"
#include "host.h"
#include "procs.h"
#include "proto.h"
#include "remote.h"
#include "server.h"

#define SERVER_READ_CHUNK   65536
#define WATCH_SKIP_BYTES    (256u * 1024u)  /* unread bytes past which a watcher misses a progress event */
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
    bool paused;               /* its runs are held (resweep pause) */
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
    union {                    /* first: handle pointers cast to conn */
        uv_handle_t handle;
        uv_stream_t stream;
        uv_pipe_t pipe;
        uv_tcp_t tcp;
    } h;
    server *srv;
    struct conn *next;
    uint64_t id;
    proto_decoder dec;
    size_t write_pending;      /* bytes handed to uv_write, not yet written */
    int inflight;              /* requests awaiting the store thread */
    int nwatches;
    watch *watches;
    double frame_since;        /* first byte of an unfinished frame; 0 if none */
    double last_active;        /* last byte received (monotonic) */
    double since;              /* accepted (monotonic) */
    bool closing, close_when_flushed;
    bool tcp;                  /* over the TCP listener */
    bool authed;               /* may use every operation (a Unix peer of
                                  our uid, or a TCP peer that proved the token) */
    bool nonce_sent;           /* hello answered; auth may follow, once */
    unsigned char nonce[AUTH_NONCE_LEN];
    long peer_pid;             /* SO_PEERCRED of a Unix peer, else 0 */
    uint64_t worker_id;        /* registered as this worker; 0 if not */
} conn;

/* One request as the operations see it. */
typedef struct request {
    conn *c;
    const proto_request *pr;
} request;

/* A request waiting for the store thread's event. */
typedef struct preq {
    struct preq *next;
    uint64_t tag, conn_id;
    cJSON *id;                 /* owned copy */
    long n;                    /* cancel: running runs told to stop;
                                  retry: stopping runs taken back */
} preq;

/* Called by conn.c for each whole frame a connection received. */
typedef void (*server_frame_fn)(conn *c, const char *text, size_t len);

struct server {
    uv_loop_t *loop;
    char *socket_path, *db_path;
    int workers;
    double idle_timeout_s, frame_timeout_s;
    sched *sc;
    writer *wr;
    pool *pl;
    server_frame_fn on_frame;

    uv_pipe_t listener;
    uv_tcp_t tcp_listener;     /* --listen; tcp_listening when open */
    bool tcp_listening;
    char *listen_addr;
    bool has_key;
    auth_key key;
    remote *rm;
    host *hs;
    pairs *pairs;              /* the seed pairs' thread; NULL in tests */
    procs *pr;                 /* --worker-processes, or NULL */
    int nprocs;
    char *worker_exe;
    double checkpoint_s;
    int nworkers;              /* registered worker connections */
    uv_async_t async;
    uv_timer_t tick, watch_timer, stop_timer;
    uv_signal_t sigterm, sigint;
    bool bound, listening, handles_closed;
    bool started;   /* server_start succeeded: signals are acted on */

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

/* Monotonic seconds (the loop's clock). */
double server__now(void);

/* --- jobs.c --- */
job *server__job_find(server *s, int64_t id);
/* The job (created when new; NULL when out of memory). */
job *server__job_add(server *s, int64_t id, const char *name, int priority,
                     long n_runs, double created_at, const job_counts *counts);
/* Runs queued or running: 0 once the job has ended. */
long server__job_active(const job *j);
/* Paused with no run running: nothing of it moves until a resume. */
bool server__job_held(const job *j);
/* The job is gone from the database (delete): from the table too. */
void server__job_remove(server *s, int64_t id);
/* Every change bumps the version watchers compare. */
void server__job_changed(job *j);
void server__job_counts_move(job *j, enum run_state from, enum run_state to);
void server__job_run_started(job *j);
void server__job_run_ended(job *j, enum run_state state);
/* The job object of status and watch replies (server.h). */
cJSON *server__job_json(const job *j);
void server__jobs_free(server *s);

/* --- conn.c --- */
/* A new connection on s's loop (its handle initialised by the caller's
 * accept); NULL when out of memory. */
conn *server__conn_new(server *s);
/* Starts reading; closes the connection on failure. */
void server__conn_start(conn *c);
/* Unlinked at once, so replies for it are dropped; freed once libuv has
 * called back every pending write. */
void server__conn_close(conn *c);
void server__close_when_flushed(conn *c);
conn *server__conn_by_id(server *s, uint64_t id);
/* Disconnects clients that sat idle past the idle timeout, or took longer
 * than the frame timeout to send one frame. */
void server__conns_sweep(server *s, double now);
/* Closes the connection that has been idle longest to let `except` in;
 * false when every other connection is busy (watching or awaiting a
 * reply). */
bool server__conn_evict_idle(server *s, const conn *except);
/* Sends obj (consumed) as one frame. A client with more than
 * PROTO_MAX_PENDING_WRITE bytes unread is disconnected. */
int server__send(conn *c, cJSON *obj);
void server__reply_error(conn *c, const cJSON *id, const proto_error *e);
void server__reply_errorf(conn *c, const cJSON *id, const char *code,
                          const char *field, const char *msg);
void server__watches_free(conn *c);

/* --- listen.c --- */
int server__listen(server *s, char *err, size_t errlen);

/* --- replies.c --- */
/* A request awaiting the store thread, with a fresh tag; NULL when out
 * of memory. */
preq *server__preq_new(server *s, conn *c, const cJSON *id);
/* Forgets a request the store thread will never answer (posting failed). */
void server__preq_cancel(server *s, conn *c, preq *p);
/* The reply to the request ev answers (its connection may be gone). */
void server__job_reply(server *s, const writer_event *ev);
void server__preqs_free(server *s);

/* --- watch.c --- */
/* A progress (or, end true, the final) event for a watch of j. */
cJSON *server__progress_event(const cJSON *id, const job *j, bool end);
/* 0, or a negative code with the error reply sent. */
int server__watch_add(conn *c, const cJSON *id, const job *j);
void server__watch_tick(uv_timer_t *t);

/* --- events.c --- */
void server__drain_events(server *s);
void server__on_async(uv_async_t *h);

/* --- shutdown.c --- */
void server__close_handles(server *s);

/* --- authops.c --- */
void server__op_hello(const request *rq);
void server__op_auth(const request *rq);

/* --- workerreq.c --- */
/* The registered worker of rq's connection, or NULL with the error sent. */
rworker *server__want_worker(const request *rq);
/* The lease rq names (run, attempt), renewed; NULL with the error sent
 * when it is not w's (stale_lease). */
rlease *server__want_lease(const request *rq, rworker *w);
/* "continue", "cancel" or "suspend": a reply's "do". */
const char *server__poll_name(enum run_poll p);
/* An ok reply telling the worker what to do with run_id next. */
void server__reply_do(const request *rq, int64_t run_id);

/* --- workerops.c --- */
void server__op_register(const request *rq);
void server__op_lease(const request *rq);
void server__op_heartbeat(const request *rq);
void server__op_curve(const request *rq);
void server__op_checkpoint(const request *rq);
void server__op_checkpoint_get(const request *rq);
void server__op_finish(const request *rq);
void server__op_workers(const request *rq);
/* Leases past their deadline: their runs requeued (every second). */
void server__leases_sweep(server *s, double now);
/* At the end of a shutdown: runs still leased go back to the queue,
 * as suspended runs do. */
void server__leases_suspend(server *s);

/* --- arrayops.c --- */
/* A finish's arrays: those of the message and those sent in parts. */
typedef struct finish_arrays {
    run_arrays as;             /* borrows from both */
    double *conv[RUN_ARRAYS_MAX];   /* owned: values of parts on a
                                       big-endian host */
} finish_arrays;
void server__op_arrays_part(const request *rq);
/* inl (the finish's "arrays", may be NULL) and the arrays its
 * "arrays_parts" names, whole under lease l, into *all: 1, or 0 when the
 * finish has neither; -EINVAL with a sentence when a named array has not
 * arrived whole, is named twice, or there are more than RUN_ARRAYS_MAX;
 * -ENOMEM. *all borrows from inl and from l's parts: use it before the
 * lease ends. */
int server__arrays_join(const request *rq, const rlease *l,
                        const run_arrays *inl, finish_arrays *all,
                        char *err, size_t errlen);
void server__arrays_free(finish_arrays *all);

/* --- ops.c --- */
void server__on_frame(conn *c, const char *text, size_t len);

#endif
