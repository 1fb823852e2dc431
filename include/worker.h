/* worker.h — what "a worker" is to the daemon (docs/theory.md §8, last bullet).
 *
 * A worker leases a run, executes it (engine_run) and reports back: curve
 * points in batches, checkpoints, and exactly one outcome, which ends the
 * lease. The daemon's side of that conversation is a worker_host. The
 * local pool's threads (pool.h) are one kind of worker; a remote process
 * (a Slurm array task) is meant to be another, each call below becoming a
 * protocol operation ("lease", "curve", "checkpoint", "finish", with poll
 * answered in the replies), the run's configuration and checkpoint
 * carried in the lease. So the host never assumes more than these calls:
 * it stores what is reported, and it is the database's only writer; a
 * worker never touches the database.
 *
 * Every call may come from any worker thread at any time; the host
 * serialises. Pointers passed in are borrowed for the call only.
 */
#ifndef RESWEEP_WORKER_H
#define RESWEEP_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "engine.h"
#include "run_state.h"

typedef struct run_lease {
    int64_t run_id;
    int64_t job_id;
    int priority;       /* the job's, so a suspended run can be requeued */
    int attempt;        /* 1 for the first start; the fencing number: a
                           report of an older attempt is refused */
    char *config_json;  /* owned: the run's canonical configuration */
    void *ck_data;      /* owned: its last checkpoint, or NULL */
    size_t ck_len;
} run_lease;

/* Frees what a lease owns; the ids stay. */
static inline void run_lease_clear(run_lease *l)
{
    free(l->config_json);
    free(l->ck_data);
    l->config_json = NULL;
    l->ck_data = NULL;
    l->ck_len = 0;
}

/* How a leased run ended. */
typedef struct run_outcome {
    /* RUN_STATE_DONE or RUN_STATE_DIVERGED (result set), RUN_FAILED or
     * RUN_CANCELED (error may be set), or RUN_QUEUED: the run was suspended
     * (shutdown) and goes back to the queue, its last checkpoint kept. */
    enum run_state state;
    const run_result *result;   /* done/diverged only; else NULL */
    const run_arrays *arrays;   /* done/diverged: u* and, with
                                   analysis.save_params, the parameters;
                                   may be NULL */
    const char *error;          /* a sentence, or NULL */
} run_outcome;

typedef struct worker_host {
    void *ctx;
    /* Blocks until a run is leased (0) or the host stops (-ESHUTDOWN);
     * another negative code is a transient failure to retry after a
     * pause. On 0 the lease carries the run's configuration and last
     * checkpoint, which the worker frees (run_lease_clear) after finish. */
    int (*lease)(void *ctx, run_lease *out);
    /* Asked at least every 100 ms of the run's work, in every phase
     * (engine.h, run_hooks.poll): go on, cancel, or suspend. */
    enum run_poll (*poll)(void *ctx, const run_lease *run);
    /* Curve points measured since the last call, in step order. */
    void (*curve)(void *ctx, const run_lease *run, const curve_point *pts,
                  int n);
    /* Training state to keep (replaces the previous one). 0, or a negative
     * code: the host could not take it (the run goes on). */
    int (*checkpoint)(void *ctx, const run_lease *run, const checkpoint *ck);
    /* The run's end; the lease ends with it. */
    void (*finish)(void *ctx, const run_lease *run, const run_outcome *o);
} worker_host;

#endif
