/* server.h — the daemon's event loop side (docs/theory.md §8): the Unix socket,
 * connections, request dispatch, job progress and watchers, shutdown.
 *
 * Everything here runs on the loop thread, which alone touches libuv
 * handles. It never trains and never writes to the database: submissions,
 * cancellations, retries and run listings go to the store thread
 * (writer.h), and their replies are sent when the store thread's events
 * come back after the commit. Job counters live here, in memory, restored
 * from the store at start and updated from those events, so `status` and
 * `watch` cost no query.
 *
 * Operations (proto.h gives the framing; every reply echoes "id"):
 *   ping                      -> version, protocol, pid, socket, db,
 *                                workers, uptime_s, store ("ok"|"fault"),
 *                                store_error, jobs, queued, running,
 *                                memory_limit (bytes|null),
 *                                memory_reserved (running runs' estimates)
 *   submit  {spec}            -> job, name, n_runs (after the commit)
 *   status  {job?}            -> job {...} | jobs [...] (newest
 *                                PROTO_MAX_STATUS_JOBS, oldest first)
 *   runs    {job, from?, limit?} -> job, runs [{run, index, state,
 *                                attempts, error, gap}], next (index|null)
 *   cancel  {job}             -> job, canceled (queued runs), stopping
 *                                (running runs told to stop)
 *   retry   {job}             -> job, requeued (failed and canceled
 *                                runs queued again), resumed (running
 *                                runs told to stop that now go on)
 *   watch   {job}             -> events {"event": "progress", job {...}}
 *                                at most every PROTO_WATCH_INTERVAL_MS,
 *                                then {"event": "end", job {...}}
 *   shutdown                  -> ok; then the daemon stops
 * A job object: job, name, priority, state (queued|running|done|failed|
 * canceled), total, queued, running, done, failed, diverged, canceled,
 * finished, rate_per_min, eta_s (null when unknown), created_at.
 *
 * Limits (issue 4 §5; proto.h lists them), each answered with an error
 * reply, never a crash: PROTO_MAX_CONNECTIONS, PROTO_MAX_PENDING_WRITE
 * (a client that does not read its replies is disconnected),
 * PROTO_MAX_INFLIGHT requests awaiting the store per connection,
 * PROTO_MAX_FRAME, PROTO_MAX_DEPTH, the frame timeout (first byte to
 * last) and the idle timeout (no request in flight, no watch). When the
 * table is full the longest-idle connection makes room for a new one, so
 * idle clients never lock the owner out; only busy ones refuse it.
 */
#ifndef RESWEEP_SERVER_H
#define RESWEEP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "auth.h"
#include "host.h"
#include "pairs.h"
#include "pool.h"
#include "scheduler.h"
#include "store.h"
#include "writer.h"

#define SERVER_RATE_WINDOW_S     60     /* runs per minute over this window */
#define SERVER_SHUTDOWN_S        4.5    /* workers suspend + store drains */

typedef struct server server;

typedef struct server_config {
    uv_loop_t *loop;           /* borrowed */
    const char *socket_path;   /* copied */
    const char *db_path;       /* copied; reported by ping */
    int workers;
    sched *sc;                 /* borrowed */
    double idle_timeout_s;     /* a connection doing nothing: closed */
    double frame_timeout_s;    /* a frame's first byte to its last: else closed */
    const char *listen_addr;   /* copied; NULL: no TCP listener */
    const struct auth_key *key;   /* copied; NULL: no token (no TCP) */
    double lease_timeout_s;    /* a remote worker not heard from: its runs requeued */
    int worker_processes;      /* resweep-worker processes to start (procs.h) */
    const char *worker_exe;    /* copied: their binary */
    double checkpoint_s;       /* theirs */
} server_config;

int server_new(const server_config *cfg, server **out, char *err,
               size_t errlen);

/* Restores one job's counters (start-up, before server_start). Has the
 * store_job_fn signature; ctx is the server. */
int server_job_restore(void *server, const store_job_info *job);

/* A writer_notify_fn: wakes the loop to drain the store thread's events.
 * Safe from any thread once server_new returned. */
void server_notify(void *server);

/* The store thread, the pool (NULL without local threads), the worker
 * host remote workers lease through and the seed pairs' thread, stopped
 * before the store thread at shutdown (borrowed; must outlive the loop). */
void server_attach(server *s, writer *w, pool *p, host *hs, pairs *pr);

/* Claims the socket path: its directory private (paths_private_dir), a
 * stale socket of a dead daemon replaced, a live daemon's refused; the
 * socket created 0600. Before the store is opened, so a second daemon
 * fails fast. */
int server_bind(server *s, char *err, size_t errlen);

/* Starts accepting, and acting on the SIGTERM/SIGINT caught since
 * server_new. */
int server_start(server *s, char *err, size_t errlen);

/* Begins the shutdown (signals and the shutdown op call it): stop
 * accepting, suspend running runs, wait for the workers, drain the store
 * thread, close every handle; uv_run then returns. Loop thread. */
void server_shutdown(server *s, const char *why);

/* After uv_run returned; every handle is closed. */
void server_free(server *s);

#endif
