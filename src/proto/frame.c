/* frame.c — the byte stream: length-prefixed frames in and out, and the
 * nesting check that runs before any JSON parser (proto.h). */
#include "proto.h"
#include "utf8.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

void proto_decoder_init(proto_decoder *d, size_t max_frame)
{
    memset(d, 0, sizeof *d);
    d->max = max_frame == 0 || max_frame > PROTO_MAX_FRAME ? PROTO_MAX_FRAME
                                                           : max_frame;
}

void proto_decoder_free(proto_decoder *d)
{
    free(d->buf);
    d->buf = NULL;
    d->have = d->cap = d->hdr_have = d->need = 0;
}

bool proto_decoder_partial(const proto_decoder *d)
{
    return d->hdr_have > 0;
}

/* Grows the payload buffer geometrically, never past need + 1. */
static int decoder_reserve(proto_decoder *d, size_t want)
{
    if (want <= d->cap)
        return 0;
    size_t cap = d->cap ? d->cap : 4096;
    while (cap < want)
        cap *= 2;
    if (cap > d->need + 1)
        cap = d->need + 1;
    char *p = realloc(d->buf, cap);
    if (!p)
        return -ENOMEM;
    d->buf = p;
    d->cap = cap;
    return 0;
}

int proto_decoder_feed(proto_decoder *d, const void *data, size_t len,
                       size_t *used, char **frame, size_t *frame_len,
                       proto_error *e)
{
    const unsigned char *p = data;
    size_t off = 0;
    *used = 0;
    while (d->hdr_have < PROTO_HEADER_LEN) {
        if (off == len)
            return 0;
        d->hdr[d->hdr_have++] = p[off++];
        *used = off;
        if (d->hdr_have < PROTO_HEADER_LEN)
            continue;
        d->need = (size_t)d->hdr[0] << 24 | (size_t)d->hdr[1] << 16 |
                  (size_t)d->hdr[2] << 8 | (size_t)d->hdr[3];
        if (d->need == 0)
            return proto_error_set(e, -EBADMSG, PROTO_E_BAD_FRAME, NULL,
                                   "empty frame; a frame holds one JSON "
                                   "object");
        if (d->need > d->max)
            return proto_error_set(e, -EMSGSIZE, PROTO_E_FRAME_TOO_LARGE,
                                   NULL,
                                   "frame of %zu bytes is larger than the "
                                   "limit of %zu bytes",
                                   d->need, d->max);
        d->have = 0;
    }
    if (off == len)
        return 0;   /* allocate only for bytes that arrived */
    size_t take = len - off;
    if (take > d->need - d->have)
        take = d->need - d->have;
    if (decoder_reserve(d, d->have + take + 1) < 0)
        return proto_error_set(e, -ENOMEM, PROTO_E_INTERNAL, NULL,
                               "out of memory reading a frame");
    memcpy(d->buf + d->have, p + off, take);
    d->have += take;
    off += take;
    *used = off;
    if (d->have < d->need)
        return 0;
    d->buf[d->have] = '\0';
    *frame = d->buf;
    *frame_len = d->have;
    d->buf = NULL;
    d->cap = d->have = d->hdr_have = d->need = 0;
    return 1;
}

int proto_check_depth(const char *text, size_t len, int max_depth)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;            /* skip the escaped character */
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return -E2BIG;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return 0;
}

/* Replaces each string (values and keys) of the tree by its sanitised
 * copy (utf8.h); -ENOMEM leaves the rest as it was. */
static int sanitize_strings(cJSON *node)
{
    for (; node; node = node->next) {
        char **fields[] = {&node->valuestring, &node->string};
        for (size_t k = 0; k < 2; k++) {
            char *str = *fields[k];
            if (!str || (k == 0 && !cJSON_IsString(node)) ||
                (k == 1 && (node->type & cJSON_StringIsConst)))
                continue;
            size_t n = strlen(str);
            if (utf8_valid_len(str, n) == n)
                continue;
            char *clean = malloc(3 * n + 1);  /* each bad byte: 3 bytes */
            if (!clean)
                return -ENOMEM;
            utf8_sanitize(str, clean, 3 * n + 1);
            cJSON_free(str);
            *fields[k] = clean;
        }
        if (sanitize_strings(node->child) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* The text of obj, valid UTF-8 whatever its strings hold (a run's error
 * quoting a file, a name stored by an older daemon): the rare reply that
 * is not is printed again from a sanitised copy. */
static char *print_utf8(const cJSON *obj)
{
    char *json = cJSON_PrintUnformatted(obj);
    size_t n = json ? strlen(json) : 0;
    if (!json || utf8_valid_len(json, n) == n)
        return json;
    free(json);
    cJSON *copy = cJSON_Duplicate(obj, true);
    json = copy && sanitize_strings(copy) == 0 ? cJSON_PrintUnformatted(copy)
                                               : NULL;
    cJSON_Delete(copy);
    return json;
}

int proto_encode(const cJSON *obj, char **out, size_t *len)
{
    char *json = print_utf8(obj);
    if (!json)
        return -ENOMEM;
    size_t n = strlen(json);
    if (n > PROTO_MAX_FRAME) {
        free(json);
        return -EMSGSIZE;
    }
    char *buf = malloc(PROTO_HEADER_LEN + n);
    if (!buf) {
        free(json);
        return -ENOMEM;
    }
    buf[0] = (char)(n >> 24);
    buf[1] = (char)(n >> 16);
    buf[2] = (char)(n >> 8);
    buf[3] = (char)n;
    memcpy(buf + PROTO_HEADER_LEN, json, n);
    free(json);
    *out = buf;
    *len = PROTO_HEADER_LEN + n;
    return 0;
}
