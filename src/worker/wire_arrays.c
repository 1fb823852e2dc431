/* wire_arrays.c — a run's kept arrays on the wire (wire.h): in a finish
 * message, [{"name", "shape": [...], "data": base64 of little-endian
 * float64}], and the heads of those that go in parts (arrays_part). */
#include "wire.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "err.h"

_Static_assert(WIRE_PART_BYTES % 8 == 0, "parts of arrays hold whole values");

size_t wire_arrays_bytes(const run_arrays *as)
{
    size_t n = 0;
    for (int i = 0; as && i < as->n; i++)
        n += 8 * run_array_count(&as->a[i]);
    return n;
}

void wire_arrays_split(const run_arrays *as, run_arrays *inl,
                       run_arrays *big)
{
    size_t room = WIRE_MAX_ARRAY_BYTES;
    inl->n = big->n = 0;
    for (int i = 0; as && i < as->n; i++) {
        size_t bytes = 8 * run_array_count(&as->a[i]);
        if (bytes <= room) {
            inl->a[inl->n++] = as->a[i];
            room -= bytes;
        } else {
            big->a[big->n++] = as->a[i];
        }
    }
}

bool wire_array_head_to_json(cJSON *obj, const run_array *a)
{
    cJSON *shape = NULL;
    bool ok = cJSON_AddStringToObject(obj, "name", a->name) &&
              (shape = cJSON_AddArrayToObject(obj, "shape"));
    for (int k = 0; ok && k < a->ndim; k++)
        ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)a->shape[k]));
    return ok;
}

static cJSON *array_json(const run_array *a)
{
    size_t n = run_array_count(a);
    unsigned char *le = malloc(n > 0 ? 8 * n : 1);
    char *b64 = NULL;
    cJSON *o = cJSON_CreateObject();
    if (le) {
        run_array_to_le(a->data, n, le);
        b64 = wire_base64(le, 8 * n);
    }
    bool ok = o && b64 && wire_array_head_to_json(o, a) &&
              cJSON_AddStringToObject(o, "data", b64);
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

int wire_array_head_from_json(const cJSON *e, const char *where,
                              size_t max_values, run_array *a, size_t *n,
                              char *err, size_t errlen)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    int nd = cJSON_IsArray(shape) ? cJSON_GetArraySize(shape) : 0;
    if (!cJSON_IsString(name) || !name->valuestring[0] ||
        strlen(name->valuestring) >= RUN_ARRAY_NAME_LEN || nd < 1 ||
        nd > RUN_ARRAY_MAX_DIMS)
        return err_set(err, errlen, -EINVAL, "%s: needs a name of 1 "
                       "to %d bytes and a shape of 1 to %d integers", where,
                       RUN_ARRAY_NAME_LEN - 1, RUN_ARRAY_MAX_DIMS);
    memset(a, 0, sizeof *a);
    strcpy(a->name, name->valuestring);
    a->ndim = nd;
    *n = 1;
    for (int k = 0; k < nd; k++) {
        const cJSON *x = cJSON_GetArrayItem(shape, k);
        if (!cJSON_IsNumber(x) || x->valuedouble < 0 ||
            x->valuedouble > (double)max_values ||
            x->valuedouble != (double)(long)x->valuedouble)
            return err_set(err, errlen, -EINVAL, "%s.shape[%d]: must "
                           "be an integer in [0, %zu]", where, k, max_values);
        a->shape[k] = (long)x->valuedouble;
        *n *= (size_t)a->shape[k];
        if (*n > max_values)
            return err_set(err, errlen, -EINVAL, "%s: more than %zu "
                           "values", where, max_values);
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
        char where[32];
        snprintf(where, sizeof where, "arrays[%d]", i);
        rc = wire_array_head_from_json(e, where, PROTO_MAX_FRAME / 8,
                                       &as.a[i], &n, err, errlen);
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
