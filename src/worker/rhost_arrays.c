/* rhost_arrays.c — a run's kept arrays too big for its finish, sent in
 * parts before it (rhost_internal.h; docs/protocol.md, "Workers").
 *
 * The pool thread that ran the run sends them: the arrays are the
 * engine's, borrowed for the finish call, so sending them here needs no
 * copy of up to PROTO_MAX_ARRAYS bytes, and the time is the run's own.
 * The sender thread stays free for the other runs' finishes and leases,
 * and the heartbeat thread's calls take their turn between the parts
 * (uplink.h: calls are served in the order they came), so no other run's
 * lease expires while a large array goes out.
 */
#include "rhost_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "wire.h"

/* One frame of array a: its bytes [off, off + len), le holding them. */
static int send_part(rhost *h, const run_lease *l, const run_array *a,
                     size_t off, size_t total, const unsigned char *le,
                     size_t len)
{
    cJSON *req = rhost__op_new("arrays_part", l);
    char *b64 = wire_base64(le, len);
    if (!req || !b64 || !wire_array_head_to_json(req, a) ||
        !cJSON_AddNumberToObject(req, "offset", (double)off) ||
        !cJSON_AddNumberToObject(req, "total", (double)total) ||
        !cJSON_AddStringToObject(req, "data", b64)) {
        free(b64);
        cJSON_Delete(req);
        return -ENOMEM;
    }
    free(b64);
    return rhost__report(h, l, req, NULL);
}

/* Array a, from offset 0 to its end; buf has room for a part. */
static int send_array(rhost *h, const run_lease *l, const run_array *a,
                      unsigned char *buf)
{
    size_t total = 8 * run_array_count(a), off = 0;
    int rc = 0;
    while (rc == 0 && off < total) {
        if (rhost__stale(h, l->run_id))
            return -ESTALE;
        size_t len = total - off < WIRE_PART_BYTES ? total - off
                                                   : WIRE_PART_BYTES;
        run_array_to_le(a->data + off / 8, len / 8, buf);
        rc = send_part(h, l, a, off, total, buf, len);
        off += len;
    }
    return rc;
}

int rhost__arrays_send(rhost *h, const run_lease *l, const run_arrays *big)
{
    if (big->n == 0)
        return 0;
    unsigned char *buf = malloc(WIRE_PART_BYTES);
    if (!buf) {
        log_error("run %lld: out of memory sending its arrays",
                  (long long)l->run_id);
        return -ENOMEM;
    }
    log_info("run %lld: %d arrays of %zu bytes go in parts before its "
             "finish", (long long)l->run_id, big->n, wire_arrays_bytes(big));
    int rc = 0;
    for (int i = 0; i < big->n && rc == 0; i++)
        rc = send_array(h, l, &big->a[i], buf);
    free(buf);
    if (rc == 0 || rhost__stale(h, l->run_id))
        return rc == 0 ? 0 : -ESTALE;
    log_error("run %lld: its arrays could not be sent (%s); the daemon "
              "runs it again when its lease expires", (long long)l->run_id,
              rc == -ENOMEM ? "out of memory" : "a part did not go through");
    return rc;
}
