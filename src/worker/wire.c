/* wire.c — run reports as JSON, exactly (wire.h). */
#include "wire.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "err.h"

/* x as a JSON item: a number of 17 digits, or "nan"/"inf"/"-inf". */
static cJSON *real_item(double x)
{
    if (isnan(x))
        return cJSON_CreateString("nan");
    if (isinf(x))
        return cJSON_CreateString(x > 0 ? "inf" : "-inf");
    /* cJSON writes 15 digits when they read back within a relative
     * DBL_EPSILON, which is not always the same double: 17 always are. */
    char buf[32];
    snprintf(buf, sizeof buf, "%.17g", x);
    return cJSON_CreateRaw(buf);
}

cJSON *wire_add_real(cJSON *obj, const char *key, double x)
{
    cJSON *v = real_item(x);
    if (!v || !cJSON_AddItemToObject(obj, key, v)) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

/* The double of an item written by real_item; -EINVAL otherwise. */
static int real_of(const cJSON *v, double *out)
{
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return 0;
    }
    if (!cJSON_IsString(v))
        return -EINVAL;
    if (strcmp(v->valuestring, "nan") == 0)
        *out = NAN;
    else if (strcmp(v->valuestring, "inf") == 0)
        *out = INFINITY;
    else if (strcmp(v->valuestring, "-inf") == 0)
        *out = -INFINITY;
    else
        return -EINVAL;
    return 0;
}

int wire_get_real(const cJSON *obj, const char *key, double *out)
{
    return real_of(cJSON_GetObjectItemCaseSensitive(obj, key), out);
}

/* Integers of a result are exact in a double (|x| < 2^53). */
static int get_integer(const cJSON *obj, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        fabs(v->valuedouble) > 9007199254740992.0)
        return -EINVAL;
    *out = v->valuedouble;
    return 0;
}

#define ADD_REAL(o, k, x)  wire_add_real(o, k, x)
#define ADD_COUNT(o, k, x) cJSON_AddNumberToObject(o, k, (double)(x))
#define ADD_INT(o, k, x)   cJSON_AddNumberToObject(o, k, (double)(x))
#define ADD_BOOL(o, k, x)  cJSON_AddBoolToObject(o, k, x)

/* n doubles as an array under key. */
static bool add_reals(cJSON *obj, const char *key, const double *x, int n)
{
    cJSON *arr = cJSON_AddArrayToObject(obj, key);
    for (int i = 0; arr && i < n; i++) {
        cJSON *v = real_item(x[i]);
        if (!v || !cJSON_AddItemToArray(arr, v)) {
            cJSON_Delete(v);
            return false;
        }
    }
    return arr != NULL;
}

/* The curves beside the columns (engine.h run_spectrum, run_path,
 * run_slice): "spectrum": {"lo", "hi", "mass": [...]} and "path": [...],
 * empty arrays when there are none; "slice": {"radius", "loss": [k^2
 * numbers, row i = a_i]} only when there is one (a worker of before the
 * slice sends none). */
static bool add_profiles(cJSON *o, const run_result *r)
{
    cJSON *sp = cJSON_AddObjectToObject(o, "spectrum");
    if (r->slice.points > 0) {
        cJSON *sl = cJSON_AddObjectToObject(o, "slice");
        if (!sl || !wire_add_real(sl, "radius", r->slice.radius) ||
            !add_reals(sl, "loss", r->slice.loss,
                       r->slice.points * r->slice.points))
            return false;
    }
    return sp && wire_add_real(sp, "lo", r->spectrum.lo) &&
           wire_add_real(sp, "hi", r->spectrum.hi) &&
           add_reals(sp, "mass", r->spectrum.mass, r->spectrum.bins) &&
           add_reals(o, "path", r->path.loss, r->path.points);
}

cJSON *wire_result_to_json(const run_result *r)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(
                       o, "status", r->status == RUN_DIVERGED ? "diverged"
                                                              : "done");
#define X(field, column, type, doc) ok = ok && ADD_##type(o, #field, r->field);
    RUN_RESULT_COLUMNS(X)
#undef X
    ok = ok && add_profiles(o, r);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int get_bool(const cJSON *obj, const char *key, bool *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsBool(v))
        return -EINVAL;
    *out = cJSON_IsTrue(v);
    return 0;
}

#define GET_REAL(o, k, dst) wire_get_real(o, k, &(dst))
#define GET_COUNT(o, k, dst) (get_integer(o, k, &x) < 0 ? -EINVAL : ((dst) = (long)x, 0))
#define GET_INT(o, k, dst) (get_integer(o, k, &x) < 0 || fabs(x) > 2147483647.0 ? -EINVAL : ((dst) = (int)x, 0))
#define GET_BOOL(o, k, dst) get_bool(o, k, &(dst))

/* At most max doubles from the array under key; the count, or -EINVAL. */
static int get_reals(const cJSON *obj, const char *key, double *x, int max)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key), *v;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > max)
        return -EINVAL;
    int n = 0;
    cJSON_ArrayForEach(v, arr) {
        if (real_of(v, &x[n++]) < 0)
            return -EINVAL;
    }
    return n;
}

static int get_slice(const cJSON *obj, run_slice *sl, char *err,
                     size_t errlen)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(obj, "slice");
    sl->points = 0;
    if (!o)
        return 0;
    int n = -1, max = CONFIG_MAX_SLICE_POINTS * CONFIG_MAX_SLICE_POINTS, k = 0;
    if (cJSON_IsObject(o) && wire_get_real(o, "radius", &sl->radius) == 0 &&
        sl->radius > 0 && isfinite(sl->radius))
        n = get_reals(o, "loss", sl->loss, max);
    while (n > 0 && k * k < n)
        k++;
    if (n < 9 || k * k != n || k % 2 == 0)
        return err_set(err, errlen, -EINVAL, "result.slice: must be "
                       "{\"radius\" > 0, \"loss\": k^2 numbers, k odd, 3 "
                       "to %d}", CONFIG_MAX_SLICE_POINTS);
    sl->points = k;
    return 0;
}

static int get_profiles(const cJSON *obj, run_result *r, char *err,
                        size_t errlen)
{
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(obj, "spectrum");
    int bins = -1;
    if (cJSON_IsObject(sp) && wire_get_real(sp, "lo", &r->spectrum.lo) == 0 &&
        wire_get_real(sp, "hi", &r->spectrum.hi) == 0)
        bins = get_reals(sp, "mass", r->spectrum.mass, CONFIG_MAX_SLQ_BINS);
    if (bins < 0 || (bins > 0 && !(r->spectrum.hi > r->spectrum.lo)))
        return err_set(err, errlen, -EINVAL, "result.spectrum: must be "
                       "{\"lo\", \"hi\" > lo, \"mass\": at most %d "
                       "numbers}", CONFIG_MAX_SLQ_BINS);
    r->spectrum.bins = bins;
    int points = get_reals(obj, "path", r->path.loss, CONFIG_MAX_PATH_POINTS);
    if (points < 0 || points == 1)
        return err_set(err, errlen, -EINVAL, "result.path: must be an array "
                       "of 0 or 2 to %d numbers", CONFIG_MAX_PATH_POINTS);
    r->path.points = points;
    return get_slice(obj, &r->slice, err, errlen);
}

int wire_result_from_json(const cJSON *obj, run_result *r, char *err,
                          size_t errlen)
{
    double x;
    run_result_clear(r);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(obj, "status");
    if (!cJSON_IsString(st) || (strcmp(st->valuestring, "done") != 0 &&
                                strcmp(st->valuestring, "diverged") != 0))
        return err_set(err, errlen, -EINVAL,
                       "result.status: must be \"done\" or \"diverged\"");
    r->status = strcmp(st->valuestring, "done") == 0 ? RUN_DONE : RUN_DIVERGED;
#define X(field, column, type, doc)                                         \
    if (GET_##type(obj, #field, r->field) < 0)                             \
        return err_set(err, errlen, -EINVAL,                               \
                       "result." #field ": missing or not a %s",          \
                       #type);
    RUN_RESULT_COLUMNS(X)
#undef X
    return get_profiles(obj, r, err, errlen);
}

cJSON *wire_curve_to_json(const curve_point *pts, int n)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        const curve_point *p = &pts[i];
        bool ok = o && cJSON_AddItemToArray(arr, o) &&
                  cJSON_AddNumberToObject(o, "step", (double)p->step) &&
                  wire_add_real(o, "lr", p->lr) &&
                  wire_add_real(o, "train_loss", p->train_loss) &&
                  wire_add_real(o, "test_loss", p->test_loss) &&
                  wire_add_real(o, "grad_norm", p->grad_norm) &&
                  wire_add_real(o, "online_loss", p->online_loss);
        if (!ok) {
            if (o && !cJSON_IsArray(o))
                cJSON_Delete(o);
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

int wire_curve_from_json(const cJSON *arr, curve_point *pts, int max,
                         char *err, size_t errlen)
{
    int n = cJSON_GetArraySize(arr);
    if (!cJSON_IsArray(arr) || n > max)
        return err_set(err, errlen, -EINVAL,
                       "points: must be an array of at most %d points", max);
    int i = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, arr) {
        curve_point *p = &pts[i];
        double step;
        if (get_integer(o, "step", &step) < 0 || step < 0 ||
            wire_get_real(o, "lr", &p->lr) < 0 ||
            wire_get_real(o, "train_loss", &p->train_loss) < 0 ||
            wire_get_real(o, "test_loss", &p->test_loss) < 0 ||
            wire_get_real(o, "grad_norm", &p->grad_norm) < 0 ||
            wire_get_real(o, "online_loss", &p->online_loss) < 0)
            return err_set(err, errlen, -EINVAL,
                           "points[%d]: needs step, lr, train_loss, "
                           "test_loss, grad_norm and online_loss", i);
        p->step = (long)step;
        i++;
    }
    return n;
}

char *wire_base64(const void *data, size_t len)
{
    if (len > (size_t)INT32_MAX / 2)
        return NULL;
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

int wire_unbase64(const char *text, void **out, size_t *len)
{
    size_t n = strlen(text);
    if (n % 4 != 0 || n > (size_t)INT32_MAX)
        return -EINVAL;
    unsigned char *buf = malloc(n / 4 * 3 + 1);
    if (!buf)
        return -ENOMEM;
    int m = EVP_DecodeBlock(buf, (const unsigned char *)text, (int)n);
    if (m < 0) {
        free(buf);
        return -EINVAL;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    size_t pad = n >= 1 && text[n - 1] == '=' ? (n >= 2 && text[n - 2] == '=' ? 2 : 1) : 0;
    *out = buf;
    *len = (size_t)m - pad;
    return 0;
}
