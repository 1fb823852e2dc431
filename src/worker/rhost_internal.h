/* rhost_internal.h — the worker host's state (rhost_state.c), shared by
 * its calls (rhost.c) and its sender thread (rhost_tx.c).
 *
 * A pool thread never waits for the network at a run's end: its finish is
 * queued for the sender, and its next run is already here. The sender
 * sends each finish with "next", so the reply leases the run that replaces
 * it, and while runs are short (under RHOST_SPARE_RUN_S) it keeps one run
 * more than the threads (register's "prefetch"), so the next start does
 * not wait for a round trip either (docs/protocol.md, "Workers").
 */
#ifndef RESWEEP_RHOST_INTERNAL_H
#define RESWEEP_RHOST_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "pool.h"
#include "rhost.h"
#include "uplink.h"

#define RHOST_BACKOFF_MIN_S 0.02   /* nothing queued: ask again after */
#define RHOST_BACKOFF_MAX_S 0.5
/* A run shorter than this keeps a spare leased behind it. */
#define RHOST_SPARE_RUN_S 0.5
#define RHOST_CURVE_HOLD_MAX POOL_CURVE_BATCH

typedef struct slot {
    bool used;
    int64_t run_id;
    int attempt;
    int poll;                  /* enum run_poll the daemon said last */
    bool stale;
    double leased_at, started_at;   /* monotonic; started 0: not yet */
    int nheld;                 /* curve points not yet sent */
    curve_point held[RHOST_CURVE_HOLD_MAX];
} slot;

/* A finish waiting for the sender. */
typedef struct out_msg {
    struct out_msg *next;
    run_lease l;               /* ids only */
    cJSON *req;
    bool next_run;             /* it asks for the next run */
} out_msg;

struct rhost {
    worker_host wh;
    uplink *up;
    atomic_bool stop;          /* hand runs back, lease no more */
    atomic_bool quit;          /* the heartbeat thread leaves */
    int threads;
    double idle_exit_s, deadline;   /* monotonic; deadline 0: none */
    pthread_mutex_t lock;      /* everything below */
    pthread_cond_t cond;       /* a run is ready, a finish queued, ... */
    int nslots;                /* running, ready, or finishing */
    slot *slots;
    run_lease *ready;          /* leased, not yet taken (nslots of room) */
    int nready;
    out_msg *out_head, *out_tail;
    int nout;
    int waiting;               /* pool threads in lease */
    int pending_next;          /* queued or sent finishes asking "next" */
    bool spare;                /* runs are short: keep one ready */
    bool tx_quit;
    int busy;
    double last_busy;
    pthread_t hb, tx;
    bool hb_started, tx_started;
    int fatal;
    char fatal_msg[ERR_LEN];
};

double rhost__now(void);
bool rhost__stopping(rhost *h);
bool rhost__idle_out(rhost *h);
void rhost__set_fatal(rhost *h, int rc, const char *msg);
/* Lock held: a free slot for l (0), or -1 when none is free. */
int rhost__slot_take(rhost *h, const run_lease *l);
/* Lock held: run_id's slot is free again. */
void rhost__slot_free(rhost *h, int64_t run_id);
/* Lock held: the slot of run_id, or NULL. */
slot *rhost__slot_find(rhost *h, int64_t run_id);
/* Lock not held: run_id has no slot, or the daemon no longer leases it
 * to us. */
bool rhost__stale(rhost *h, int64_t run_id);
/* What the daemon said of run_id: "stale", or a poll ("cancel", ...). */
void rhost__slot_set(rhost *h, int64_t run_id, const char *what);
/* {"op": op} with the lease's run and attempt when l is set. */
cJSON *rhost__op_new(const char *op, const run_lease *l);
/* Sends a report and applies the reply's "do" (or marks the run stale);
 * consumes req; the reply goes to *keep when keep is set. */
int rhost__report(rhost *h, const run_lease *l, cJSON *req, cJSON **keep);
int rhost__lease_parse(const cJSON *run, run_lease *out, char *err,
                       size_t errlen);
/* Lock held: queues "finish" of l (ids) with state queued: the run goes
 * back unstarted. Takes l's memory. */
void rhost__hand_back(rhost *h, run_lease *l);
/* Lock held: queues a finish (consumes req). */
void rhost__queue(rhost *h, const run_lease *l, cJSON *req, bool next_run);

/* From a pool thread, before the run's finish (rhost_arrays.c): the
 * arrays of big, each in parts (arrays_part), in order. 0 once the daemon
 * took every part; -ESTALE when the run is no longer ours; another
 * negative code, logged, when a part failed (the daemon then refuses a
 * finish that names them). */
int rhost__arrays_send(rhost *h, const run_lease *l, const run_arrays *big);

/* The sender thread (rhost_tx.c): finishes in order, then leases. */
void *rhost__tx_main(void *arg);

#endif
