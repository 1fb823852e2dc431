/* remote.h — the daemon's book of remote workers and their leases
 * (docs/protocol.md, "Workers"). Loop thread only.
 *
 * A worker registers on a connection and leases runs one at a time. Each
 * lease carries the run's attempt, its fencing number: a report is taken
 * only from the worker that holds the lease of that run and attempt, so a
 * worker whose lease expired, or a daemon restart's older attempt, can
 * never write a result twice or over a newer one. Leases are renewed by
 * every message of their worker that names them; one not renewed for the
 * lease timeout expires, and the daemon requeues its run. Only logging
 * leaves this file. A worker whose
 * connection drops keeps its leases until they expire, so a worker that
 * reconnects in time (register with "resume") carries on.
 *
 * What a lease's worker sends in parts (a checkpoint, the run's kept
 * arrays) is held here while the lease lives, and dropped when it ends.
 */
#ifndef RESWEEP_REMOTE_H
#define RESWEEP_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "worker.h"

typedef struct rlease {
    int64_t run_id, job_id;
    int priority, attempt;
    double deadline;           /* monotonic seconds */
} rlease;

typedef struct rworker {
    struct rworker *next;
    uint64_t id;
    uint64_t conn_id;          /* 0 once its connection closed */
    char host[128];
    long pid;
    int threads;
    int prefetch;              /* leases it may hold beyond threads */
    double since, last_heard;  /* monotonic */
    long finished;             /* runs it reported the end of */
    int leasing;               /* lease requests being served */
    int nleases, cap;
    rlease *leases;
} rworker;

typedef struct remote remote;

int remote_new(double lease_timeout_s, remote **out);
void remote_free(remote *rm);
double remote_lease_timeout(const remote *rm);

/* A new worker on connection conn_id; NULL when out of memory. */
rworker *remote_worker_add(remote *rm, uint64_t conn_id, const char *host,
                           long pid, int threads, double now);
rworker *remote_worker_find(remote *rm, uint64_t id);
/* The worker registered on conn_id, or NULL. */
rworker *remote_worker_by_conn(remote *rm, uint64_t conn_id);
/* The worker whose process is pid on this machine (over the Unix
 * socket), or NULL. */
rworker *remote_worker_by_pid(remote *rm, long pid);
/* Its connection closed: it keeps its leases until they expire; one
 * without leases is forgotten. */
void remote_conn_closed(remote *rm, uint64_t conn_id);
/* Forgets w when its connection is gone and it holds and awaits no lease
 * (after a lease request it awaited was answered). */
void remote_worker_settle(remote *rm, rworker *w);
/* The first worker (NULL to start) and the next, for listings. */
rworker *remote_workers(remote *rm, rworker *after);
/* Registered workers that have a connection. */
int remote_connected(const remote *rm);

/* A lease of l for w, due now + the timeout. 0 or -ENOMEM. */
int remote_lease_add(remote *rm, rworker *w, const run_lease *l, double now);
/* w's lease of run at attempt, renewed to now + timeout; NULL when w holds
 * none (expired, ended, or never its). */
rlease *remote_lease_renew(remote *rm, rworker *w, int64_t run_id,
                           int attempt, double now);
/* Moves the lease of run at attempt, whichever disconnected worker holds
 * it, to w (a worker that reconnected); false when nobody does. */
bool remote_lease_adopt(remote *rm, rworker *w, int64_t run_id, int attempt,
                        double now);
/* Ends w's lease of run (it reported the outcome). */
void remote_lease_end(remote *rm, rworker *w, int64_t run_id);
/* Removes and returns, one at a time, the leases due before now (every
 * lease when now is INFINITY); *owner receives the worker (which may be
 * freed before the next call, so copy what you need). False when none is
 * left. */
bool remote_lease_expired(remote *rm, double now, rlease *out, rworker *owner);
/* Removes and returns one of w's leases; false when it holds none. */
bool remote_lease_pop(remote *rm, rworker *w, rlease *out);
/* Leases held in all. */
long remote_nleases(const remote *rm);

/* A part of lease l's checkpoint (parts.h): 1 with *whole once complete
 * (its bytes held until remote_ck_done or the lease's end), 0 while parts
 * are due, -EINVAL out of order, -ENOMEM. */
int remote_ck_part(remote *rm, const rlease *l, long step, size_t offset,
                   size_t total, const void *data, size_t len,
                   checkpoint *whole);
void remote_ck_done(remote *rm, const rlease *l);
/* A checkpoint too big for the lease reply, kept for checkpoint_get:
 * remote_ck_keep takes data (0, or -ENOMEM with data freed); remote_ck_get
 * gives it (1) or says none is kept (0). */
int remote_ck_keep(remote *rm, int64_t run_id, void *data, size_t len);
int remote_ck_get(remote *rm, const rlease *l, checkpoint *whole);

/* A part of lease l's kept array head (name, ndim and shape; its data
 * unused), total bytes of little-endian float64 in all: 0, -EINVAL out of
 * order or of another shape, -EFBIG when the run's arrays in parts would
 * pass PROTO_MAX_ARRAYS, -ENOMEM. Held until the lease ends. */
int remote_array_part(remote *rm, const rlease *l, const run_array *head,
                      size_t offset, size_t total, const void *data,
                      size_t len);
/* Lease l's array name, once whole: 1 with *head (name, ndim, shape) and
 * *le its values' bytes (little-endian, held until the lease ends), or 0
 * when it has not arrived whole. */
int remote_array_get(remote *rm, const rlease *l, const char *name,
                     run_array *head, const void **le);

#endif
