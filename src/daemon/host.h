/* host.h — the daemon's side of the worker interface (worker.h): the
 * worker host. A lease takes the next run from the scheduler, records its
 * start with the store thread, and hands the worker the run's canonical
 * configuration and last checkpoint, read through a pool of read-only
 * connections; a worker's reports become store-thread requests. So the
 * workers, local threads or remote processes, never touch the database.
 *
 * Thread-safe: any number of workers call in at once.
 */
#ifndef RESWEEP_HOST_H
#define RESWEEP_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include "scheduler.h"
#include "worker.h"
#include "writer.h"

typedef struct host host;

/* db_path is copied (readers are opened on demand); sc and w are borrowed
 * and must outlive the host. */
int host_new(const char *db_path, sched *sc, writer *w, host **out,
             char *err, size_t errlen);
/* After every worker has left (pool_free). */
void host_free(host *h);

/* The worker_host for local threads: its lease blocks in the scheduler. */
const worker_host *host_worker(host *h);

/* A run for a remote worker, without waiting: 0 with the lease, -EAGAIN
 * when none is queued (or the active bound is reached, or, for a local
 * worker, the next run does not fit in memory), -ESHUTDOWN. local: the
 * worker is on this machine (a Unix-socket peer), so the run counts
 * against the memory limit (scheduler.h). Any thread; it reads the store,
 * so not the loop thread's to call. */
int host_try_lease(host *h, bool local, run_lease *out);

/* The worker of l is gone (why: a sentence): the run ends canceled when a
 * cancel stands, else goes back to the queue or, past its attempts,
 * fails (writer_run_lost). */
void host_lost(host *h, const run_lease *l, const char *why);

#endif
