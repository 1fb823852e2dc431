/* uplink.h — a resweep-worker's one connection to the daemon: connect,
 * prove the token, register, and call operations, reconnecting with
 * backoff whenever the connection is lost (the daemon restarted, the
 * network dropped). Thread-safe: calls are served one at a time, in the
 * order they came.
 */
#ifndef RESWEEP_UPLINK_H
#define RESWEEP_UPLINK_H

#include <stdatomic.h>
#include <stdbool.h>

#include "auth.h"
#include "proto.h"

#define UPLINK_CALL_TIMEOUT_MS 30000
#define UPLINK_BACKOFF_MIN_S   0.1
#define UPLINK_BACKOFF_MAX_S   5.0

typedef struct uplink uplink;

/* Called (in the turn of the call that reconnects) to fill register's
 * "resume" array with the leases the worker still holds, and with
 * register's reply (adopted, refused). */
typedef struct uplink_hooks {
    void *ctx;
    void (*resume)(void *ctx, struct cJSON *arr);
    void (*registered)(void *ctx, const struct cJSON *reply);
    /* Asked between reconnection attempts: true to stop trying (the
     * worker's idle time or time limit ran out while the daemon was
     * away). May be NULL. */
    bool (*give_up)(void *ctx);
} uplink_hooks;

/* addr as proto_connect_addr takes it; key NULL over a Unix socket of our
 * own uid. threads and prefetch go to register: the worker may hold
 * threads + prefetch leases. stop is borrowed: once true, calls give up reconnecting. */
int uplink_new(const char *addr, const auth_key *key, int threads,
               int prefetch,
               const uplink_hooks *hooks, const atomic_bool *stop,
               uplink **out, char *err, size_t errlen);
void uplink_free(uplink *u);

/* Sends req (its "v" and "id" are added) and waits for the reply: 0 with
 * *reply (caller frees), -EREMOTEIO with *reply and e holding the
 * daemon's error, -EACCES when the daemon refuses the token (no use
 * retrying), or -ESHUTDOWN once stop is set. Transport failures
 * reconnect and resend, so a request may reach the daemon twice: only
 * send requests that are safe to repeat (every worker operation is: the
 * daemon fences by lease and attempt). */
int uplink_call(uplink *u, struct cJSON *req, struct cJSON **reply,
                proto_error *e);

/* The heartbeat period the daemon asked for at register (seconds). */
double uplink_heartbeat_s(uplink *u);

#endif
