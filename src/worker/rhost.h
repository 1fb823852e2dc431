/* rhost.h — the worker interface (worker.h) played over the protocol, for
 * resweep-worker: the pool (pool.h) runs on it exactly as it runs on the
 * daemon's own host, each call becoming an operation on the uplink
 * (docs/protocol.md, "Workers").
 *
 * The engine asks "go on?" between steps, far too often for a round trip:
 * poll answers from what the daemon said last about the run, in the reply
 * to any report or to the heartbeat a thread of the rhost sends every
 * heartbeat_s. A run whose lease the daemon no longer knows (it expired,
 * or the daemon restarted and gave the run a new attempt) is stale: it is
 * canceled here and nothing more of it is reported.
 */
#ifndef RESWEEP_RHOST_H
#define RESWEEP_RHOST_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "worker.h"

typedef struct rhost rhost;

typedef struct rhost_config {
    const char *addr;          /* the daemon: HOST:PORT or unix:PATH */
    const auth_key *key;       /* NULL over a Unix socket without a token */
    int threads;               /* runs at once */
    double idle_exit_s;        /* > 0: stop after this long with no run */
    double time_limit_s;       /* > 0: hand every run back and stop after this long */
} rhost_config;

int rhost_new(const rhost_config *cfg, rhost **out, char *err, size_t errlen);
const worker_host *rhost_worker(rhost *h);
/* Asks every run to checkpoint and go back to the daemon, and the pool's
 * threads to leave (async-signal-safe: sets a flag). */
void rhost_stop(rhost *h);
/* Why the worker stopped: 0 (asked, idle, time limit) or a negative code
 * with the sentence (the daemon refused the token). */
int rhost_status(rhost *h, char *err, size_t errlen);
/* After the pool's threads have left. */
void rhost_free(rhost *h);

#endif
