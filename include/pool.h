/* pool.h — N worker threads executing runs in this process (docs/theory.md §8).
 *
 * Each worker plays the worker interface of worker.h against a host: it
 * leases a run (which carries the run's canonical configuration and last
 * checkpoint), parses the configuration (config_parse_str), runs
 * engine_run with hooks that buffer
 * curve points into batches of POOL_CURVE_BATCH (reported when full or
 * POOL_CURVE_FLUSH_S after their first point), hand checkpoints over,
 * and answer the engine's poll from the host, and reports the outcome.
 * It knows only worker.h and engine.h: the same pool serves the daemon's
 * own threads and a resweep-worker process on another machine.
 * Workers exit when the host's lease returns -ESHUTDOWN.
 */
#ifndef RESWEEP_POOL_H
#define RESWEEP_POOL_H

#include <stddef.h>

#include "worker.h"

#define POOL_MAX_WORKERS 1024
#define POOL_CURVE_BATCH 64      /* curve points per report, at most */
#define POOL_CURVE_FLUSH_S 1.0   /* a point waits at most this long */

typedef struct pool pool;

typedef struct pool_config {
    int workers;                  /* 1 .. POOL_MAX_WORKERS */
    double checkpoint_s;          /* engine checkpoint period; <= 0: only on suspend */
    const worker_host *host;      /* borrowed: must outlive the pool */
} pool_config;

/* Starts the threads. On error *out is
 * NULL, or, when some threads had started before one failed, the pool:
 * those threads wait in the host's lease, so stop the host, then
 * pool_free it. */
int pool_new(const pool_config *cfg, pool **out, char *err, size_t errlen);

/* Workers that have not exited yet. */
int pool_running(pool *p);

/* Joins every worker, then frees the pool. The host must already refuse
 * leases (-ESHUTDOWN), or this waits for it to. */
void pool_free(pool *p);

#endif
