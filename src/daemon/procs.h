/* procs.h — resweepd --worker-processes N: N resweep-worker processes on
 * this machine, over the Unix socket, as defence in depth. A run that
 * crashes its process, or exhausts its memory, takes down that process,
 * not the daemon: its runs are lost to it at once (host_lost: retried,
 * and past the job's attempts failed with the signal named), and the
 * process is started again. Loop thread only.
 */
#ifndef RESWEEP_PROCS_H
#define RESWEEP_PROCS_H

#include <uv.h>

#include "host.h"
#include "remote.h"

#define PROCS_RESTART_S      0.2   /* a process that died: started again after */
#define PROCS_RESTART_SLOW_S 2.0   /* ... or after this, when it lived under PROCS_STABLE_S */
#define PROCS_STABLE_S       5.0

typedef struct procs procs;

/* exe: the resweep-worker binary; socket: the daemon's. Copied. */
int procs_new(uv_loop_t *loop, int n, const char *exe, const char *socket,
              double checkpoint_s, remote *rm, host *hs, procs **out,
              char *err, size_t errlen);
/* Starts the processes (once the daemon listens). */
int procs_start(procs *p, char *err, size_t errlen);
/* SIGTERM to each: they hand their runs back and exit; none is restarted. */
void procs_stop(procs *p);
/* Processes still alive. */
int procs_alive(const procs *p);
/* SIGKILL to those still alive, and closes the handles (uv_run then
 * finishes the closes); procs_free after the loop returned. */
void procs_close(procs *p);
void procs_free(procs *p);

#endif
