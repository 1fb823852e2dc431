/* message.c — requests parsed from frames, replies built for them
 * (proto.h). */
#include "proto.h"
#include "utf8.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <cjson/cJSON.h>

static bool id_usable(const cJSON *id)
{
    if (cJSON_IsNumber(id))
        return true;
    return cJSON_IsString(id) && strlen(id->valuestring) <= PROTO_MAX_ID_LEN;
}

int proto_request_parse(const char *text, size_t len, proto_request *req,
                        proto_error *e)
{
    memset(req, 0, sizeof *req);
    if (proto_check_depth(text, len, PROTO_MAX_DEPTH) < 0)
        return proto_error_set(e, -E2BIG, PROTO_E_TOO_DEEP, NULL,
                               "request nests arrays and objects more than "
                               "%d levels deep",
                               PROTO_MAX_DEPTH);
    /* JSON text is UTF-8 (RFC 8259 §8.1); what is not would be echoed
     * back in ids, names and errors as bytes no client can decode. */
    size_t good = utf8_valid_len(text, len);
    if (good != len)
        return proto_error_set(e, -EINVAL, PROTO_E_BAD_JSON, NULL,
                               "request is not valid UTF-8 (at byte %zu)",
                               good);
    const char *end = NULL;
    req->root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!req->root) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        return proto_error_set(e, -EINVAL, PROTO_E_BAD_JSON, NULL,
                               "request is not valid JSON (error at byte "
                               "%zu)",
                               at);
    }
    for (const char *q = end; q && q < text + len; q++)
        if (*q != ' ' && *q != '\n' && *q != '\r' && *q != '\t')
            return proto_error_set(e, -EINVAL, PROTO_E_BAD_JSON, NULL,
                                   "request has bytes after its JSON value "
                                   "(at byte %zu)",
                                   (size_t)(q - text));
    if (!cJSON_IsObject(req->root))
        return proto_error_set(e, -EINVAL, PROTO_E_BAD_JSON, NULL,
                               "a request must be a JSON object");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(req->root, "id");
    if (id && !cJSON_IsNull(id)) {
        if (!id_usable(id))
            return proto_error_set(e, -EINVAL, PROTO_E_BAD_REQUEST, "id",
                                   "must be a number or a string of at most "
                                   "%d bytes",
                                   PROTO_MAX_ID_LEN);
        req->id = id;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req->root, "v");
    if (!cJSON_IsNumber(v))
        return proto_error_set(e, -EPROTO, PROTO_E_VERSION_MISMATCH, "v",
                               "missing protocol version; this daemon "
                               "speaks version %d",
                               PROTO_VERSION);
    if (v->valuedouble != PROTO_VERSION)
        return proto_error_set(e, -EPROTO, PROTO_E_VERSION_MISMATCH, "v",
                               "protocol version %g is not supported; this "
                               "daemon speaks version %d",
                               v->valuedouble, PROTO_VERSION);
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(req->root, "op");
    if (!cJSON_IsString(op))
        return proto_error_set(e, -EINVAL, PROTO_E_BAD_REQUEST, "op",
                               "missing or not a string");
    req->op = op->valuestring;
    return 0;
}

void proto_request_free(proto_request *req)
{
    cJSON_Delete(req->root);
    memset(req, 0, sizeof *req);
}

int proto_get_int(const cJSON *obj, const char *key, int64_t lo, int64_t hi,
                  int64_t *out, proto_error *e)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it || cJSON_IsNull(it))
        return 1;
    double v = cJSON_IsNumber(it) ? it->valuedouble : 0;
    /* range first: converting 1e300 (or NaN) to int64_t is undefined */
    if (!cJSON_IsNumber(it) || !(v >= (double)lo && v <= (double)hi) ||
        v != (double)(int64_t)v)
        return proto_error_set(e, -EINVAL, PROTO_E_BAD_REQUEST, key,
                               "must be an integer in [%lld, %lld]",
                               (long long)lo, (long long)hi);
    *out = (int64_t)v;
    return 0;
}

/* --- replies --- */

cJSON *proto_reply_new(const cJSON *id, bool ok)
{
    cJSON *r = cJSON_CreateObject();
    if (!r || !cJSON_AddNumberToObject(r, "v", PROTO_VERSION))
        goto fail;
    cJSON *idc = id ? cJSON_Duplicate(id, true) : cJSON_CreateNull();
    if (!idc || !cJSON_AddItemToObject(r, "id", idc)) {
        cJSON_Delete(idc);   /* not attached: still ours */
        goto fail;
    }
    if (!cJSON_AddBoolToObject(r, "ok", ok))
        goto fail;
    return r;
fail:
    cJSON_Delete(r);
    return NULL;
}

cJSON *proto_reply_error(const cJSON *id, const proto_error *e)
{
    /* Sentences quote user text cut to a byte length: repair the UTF-8
     * (a replacement character takes 3 bytes where one was). */
    char field[3 * sizeof e->field], message[3 * sizeof e->message];
    utf8_sanitize(e->field, field, sizeof field);
    utf8_sanitize(e->message, message, sizeof message);
    cJSON *r = proto_reply_new(id, false);
    cJSON *eo = r ? cJSON_AddObjectToObject(r, "error") : NULL;
    if (!eo || !cJSON_AddStringToObject(eo, "code", e->code) ||
        !(field[0] ? cJSON_AddStringToObject(eo, "field", field)
                   : cJSON_AddNullToObject(eo, "field")) ||
        !cJSON_AddStringToObject(eo, "message", message)) {
        cJSON_Delete(r);
        return NULL;
    }
    return r;
}
