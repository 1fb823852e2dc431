/* wire_arrays.c — a run's kept arrays in a finish message (wire.h):
 * [{"name", "shape": [...], "data": base64 of little-endian float64}]. */
#include "wire.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "err.h"

size_t wire_arrays_bytes(const run_arrays *as)
{
    size_t n = 0;
    for (int i = 0; as && i < as->n; i++)
        n += 8 * run_array_count(&as->a[i]);
    return n;
}

static cJSON *array_json(const run_array *a)
{
    size_t n = run_array_count(a);
    unsigned char *le = malloc(n > 0 ? 8 * n : 1);
    char *b64 = NULL;
    cJSON *o = cJSON_CreateObject(), *shape = NULL;
    if (le) {
        run_array_to_le(a->data, n, le);
        b64 = wire_base64(le, 8 * n);
    }
    bool ok = o && b64 && cJSON_AddStringToObject(o, "name", a->name) &&
              (shape = cJSON_AddArrayToObject(o, "shape")) &&
              cJSON_AddStringToObject(o, "data", b64);
    for (int k = 0; ok && k < a->ndim; k++)
        ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)a->shape[k]));
    free(le);
    free(b64);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *wire_arrays_to_json(const run_arrays *as)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < as->n; i++) {
        cJSON *a = array_json(&as->a[i]);
        if (!a || !cJSON_AddItemToArray(arr, a)) {
            cJSON_Delete(a);
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

/* One entry's name and shape into a; its values' count into *n. */
static int entry_head(const cJSON *e, int i, run_array *a, size_t *n,
                      char *err, size_t errlen)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    int nd = cJSON_IsArray(shape) ? cJSON_GetArraySize(shape) : 0;
    if (!cJSON_IsString(name) || !name->valuestring[0] ||
        strlen(name->valuestring) >= RUN_ARRAY_NAME_LEN || nd < 1 ||
        nd > RUN_ARRAY_MAX_DIMS)
        return err_set(err, errlen, -EINVAL, "arrays[%d]: needs a name of 1 "
                       "to %d bytes and a shape of 1 to %d integers", i,
                       RUN_ARRAY_NAME_LEN - 1, RUN_ARRAY_MAX_DIMS);
    memset(a, 0, sizeof *a);
    strcpy(a->name, name->valuestring);
    a->ndim = nd;
    *n = 1;
    for (int k = 0; k < nd; k++) {
        const cJSON *x = cJSON_GetArrayItem(shape, k);
        if (!cJSON_IsNumber(x) || x->valuedouble < 0 ||
            x->valuedouble > (double)(PROTO_MAX_FRAME / 8) ||
            x->valuedouble != (double)(long)x->valuedouble)
            return err_set(err, errlen, -EINVAL, "arrays[%d].shape[%d]: must "
                           "be an integer in [0, %u]", i, k,
                           PROTO_MAX_FRAME / 8);
        a->shape[k] = (long)x->valuedouble;
        *n *= (size_t)a->shape[k];
        if (*n > PROTO_MAX_FRAME / 8)
            return err_set(err, errlen, -EINVAL, "arrays[%d]: more values "
                           "than a frame carries", i);
    }
    return 0;
}

/* Entry i's values, decoded into bufs[i]. */
static int entry_data(const cJSON *e, int i, run_array *a, size_t n,
                      double **buf, char *err, size_t errlen)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(e, "data");
    void *bytes = NULL;
    size_t len = 0;
    int rc = cJSON_IsString(data) ? wire_unbase64(data->valuestring, &bytes,
                                                  &len)
                                  : -EINVAL;
    if (rc == 0 && len != 8 * n)
        rc = -EINVAL;
    if (rc == 0 && !(*buf = malloc(n > 0 ? 8 * n : 1)))
        rc = -ENOMEM;
    if (rc == 0)
        run_array_from_le(bytes, n, *buf);
    free(bytes);
    a->data = *buf;
    if (rc == -ENOMEM)
        return err_set(err, errlen, rc, "arrays[%d]: out of memory", i);
    if (rc < 0)
        return err_set(err, errlen, rc, "arrays[%d].data: must be the base64 "
                       "of %zu little-endian float64 values", i, n);
    return 0;
}

int wire_arrays_from_json(const cJSON *arr, run_arrays **out, char *err,
                          size_t errlen)
{
    *out = NULL;
    int count = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1;
    if (count < 0 || count > RUN_ARRAYS_MAX)
        return err_set(err, errlen, -EINVAL, "arrays: must be an array of "
                       "at most %d objects", RUN_ARRAYS_MAX);
    run_arrays as = {.n = count};
    double *bufs[RUN_ARRAYS_MAX] = {0};
    int rc = 0;
    for (int i = 0; i < count && rc == 0; i++) {
        const cJSON *e = cJSON_GetArrayItem(arr, i);
        size_t n = 0;
        rc = entry_head(e, i, &as.a[i], &n, err, errlen);
        if (rc == 0)
            rc = entry_data(e, i, &as.a[i], n, &bufs[i], err, errlen);
        for (int j = 0; rc == 0 && j < i; j++)
            if (strcmp(as.a[j].name, as.a[i].name) == 0)
                rc = err_set(err, errlen, -EINVAL, "arrays[%d]: a second "
                             "array named %s", i, as.a[i].name);
    }
    if (rc == 0 && !(*out = run_arrays_copy(&as)))
        rc = err_set(err, errlen, -ENOMEM, "arrays: out of memory");
    for (int i = 0; i < count; i++)
        free(bufs[i]);
    return rc;
}
