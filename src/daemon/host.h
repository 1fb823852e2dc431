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

#endif
