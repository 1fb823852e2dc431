/* arrayops.c — a remote run's kept arrays that do not fit in its finish
 * (docs/protocol.md, "Workers"): they come first, in parts (arrays_part),
 * held with the run's lease (remote.h); the finish names them in
 * "arrays_parts", and they go to the store thread with its result, to be
 * written in the same transaction (writer.h, writer_run_finish). A finish
 * that names an array not here whole is refused: a result is never stored
 * without its arrays. */
#include "server_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static const cJSON *member(const request *rq, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(rq->pr->root, key);
}

/* A required integer member in [lo, hi]; 0, or -1 with the error sent. */
static int want_size(const request *rq, const char *key, int64_t lo,
                     int64_t hi, size_t *out)
{
    proto_error e;
    int64_t v = 0;
    int rc = proto_get_int(rq->pr->root, key, lo, hi, &v, &e);
    if (rc == 1)
        rc = proto_error_set(&e, -EINVAL, PROTO_E_BAD_REQUEST, key,
                             "required");
    if (rc != 0) {
        server__reply_error(rq->c, rq->pr->id, &e);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

static void part_refused(const request *rq, int rc)
{
    proto_error e;
    if (rc == -ENOMEM)
        proto_error_set(&e, rc, PROTO_E_INTERNAL, NULL,
                        "out of memory assembling the array");
    else if (rc == -EFBIG)
        proto_error_set(&e, rc, PROTO_E_BAD_REQUEST, "total",
                        "the run's arrays in parts would be more than %zu "
                        "bytes (PROTO_MAX_ARRAYS)", PROTO_MAX_ARRAYS);
    else
        proto_error_set(&e, rc, PROTO_E_BAD_REQUEST, "offset",
                        "a part out of order: the parts of an array come in "
                        "order from offset 0, each with the same shape and "
                        "total");
    server__reply_error(rq->c, rq->pr->id, &e);
}

void server__op_arrays_part(const request *rq)
{
    rworker *w = server__want_worker(rq);
    rlease *l = w ? server__want_lease(rq, w) : NULL;
    if (!l)
        return;
    char err[ERR_LEN];
    run_array head;
    size_t n, offset, total;
    if (wire_array_head_from_json(rq->pr->root, "arrays_part",
                                  PROTO_MAX_ARRAYS / 8, &head, &n, err,
                                  sizeof err) < 0)
        return server__reply_errorf(rq->c, rq->pr->id, PROTO_E_BAD_REQUEST,
                                    NULL, err);
    if (want_size(rq, "offset", 0, PROTO_MAX_ARRAYS, &offset) < 0 ||
        want_size(rq, "total", 1, PROTO_MAX_ARRAYS, &total) < 0)
        return;
    if (total != 8 * n) {
        proto_error e;
        proto_error_set(&e, -EINVAL, PROTO_E_BAD_REQUEST, "total",
                        "must be 8 bytes for each of the shape's %zu values",
                        n);
        return server__reply_error(rq->c, rq->pr->id, &e);
    }
    const cJSON *data = member(rq, "data");
    void *bytes = NULL;
    size_t len = 0;
    if (!cJSON_IsString(data) ||
        wire_unbase64(data->valuestring, &bytes, &len) < 0)
        return server__reply_errorf(rq->c, rq->pr->id, PROTO_E_BAD_REQUEST,
                                    "data", "must be the part's bytes in "
                                    "base64");
    int rc = remote_array_part(rq->c->srv->rm, l, &head, offset, total, bytes,
                               len);
    free(bytes);
    if (rc < 0)
        return part_refused(rq, rc);
    server__reply_do(rq, l->run_id);
}

/* The array name of l's parts, whole, as all's next entry; its values
 * are the parts' bytes on a little-endian host, else a converted copy. */
static int join_one(const request *rq, const rlease *l, const char *name,
                    int i, finish_arrays *all, char *err, size_t errlen)
{
    run_array a;
    const void *le;
    if (run_arrays_find(&all->as, name))
        return err_set(err, errlen, -EINVAL, "arrays_parts[%d]: a second "
                       "array named %s", i, name);
    if (!remote_array_get(rq->c->srv->rm, l, name, &a, &le))
        return err_set(err, errlen, -EINVAL, "arrays_parts[%d]: array %s "
                       "has not arrived whole (a part was refused or never "
                       "sent); nothing is stored, and the run runs again "
                       "once its lease expires", i, name);
    size_t n = run_array_count(&a);
    if (run_array_host_le()) {
        a.data = (double *)le;
    } else {
        double **conv = &all->conv[all->as.n];
        if (!(*conv = malloc(n * sizeof **conv)))
            return err_set(err, errlen, -ENOMEM, "out of memory");
        run_array_from_le(le, n, *conv);
        a.data = *conv;
    }
    all->as.a[all->as.n++] = a;
    return 0;
}

int server__arrays_join(const request *rq, const rlease *l,
                        const run_arrays *inl, finish_arrays *all,
                        char *err, size_t errlen)
{
    const cJSON *it, *names = member(rq, "arrays_parts");
    all->as = inl ? *inl : (run_arrays){0};
    if (!names)
        return inl ? 1 : 0;
    int count = cJSON_IsArray(names) ? cJSON_GetArraySize(names) : -1;
    if (count < 0 || all->as.n + count > RUN_ARRAYS_MAX)
        return err_set(err, errlen, -EINVAL, "arrays_parts: must be an "
                       "array of names, at most %d with the finish's own "
                       "arrays", RUN_ARRAYS_MAX);
    int i = 0, rc = 0;
    cJSON_ArrayForEach(it, names) {
        if (!cJSON_IsString(it))
            return err_set(err, errlen, -EINVAL, "arrays_parts[%d]: must "
                           "be an array's name", i);
        if ((rc = join_one(rq, l, it->valuestring, i++, all, err, errlen)) < 0)
            return rc;
    }
    return 1;
}

void server__arrays_free(finish_arrays *all)
{
    for (int i = 0; i < RUN_ARRAYS_MAX; i++) {
        free(all->conv[i]);
        all->conv[i] = NULL;
    }
}
