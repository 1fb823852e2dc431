/* proto.c — frames, requests and replies (proto.h). */
#include "proto.h"
#include "utf8.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>


int proto_error_set(proto_error *e, int rc, const char *code,
                    const char *field, const char *fmt, ...)
{
    if (!e)
        return rc;
    e->code = code;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return rc;
}

/* A key path is what config/spec put before ": " — no spaces, not empty. */
void proto_error_from_sentence(proto_error *e, const char *code,
                               const char *sentence)
{
    e->code = code;
    e->field[0] = '\0';
    const char *colon = strstr(sentence, ": ");
    size_t n = colon ? (size_t)(colon - sentence) : 0;
    bool is_path = n > 0 && n < sizeof e->field;
    for (size_t i = 0; is_path && i < n; i++)
        if (sentence[i] == ' ' || sentence[i] == '"')
            is_path = false;
    if (is_path) {
        memcpy(e->field, sentence, n);
        e->field[n] = '\0';
        sentence = colon + 2;
    }
    snprintf(e->message, sizeof e->message, "%s", sentence);
}

/* --- decoder --- */

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

/* --- requests --- */

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

int proto_encode(const cJSON *obj, char **out, size_t *len)
{
    char *json = cJSON_PrintUnformatted(obj);
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

/* --- blocking client helpers --- */

int proto_connect(const char *path, int *fd, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return err_set(err, errlen, -ENAMETOOLONG,
                       "%s: socket path is longer than %zu bytes", path,
                       sizeof sa.sun_path - 1);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return err_set(err, errlen, -errno, "socket: %s", strerror(errno));
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int rc = -errno;
        close(s);
        if (rc == -ENOENT || rc == -ECONNREFUSED)
            return err_set(err, errlen, rc,
                           "no daemon is listening on %s (start one with "
                           "resweepd, or set --socket)",
                           path);
        return err_set(err, errlen, rc, "cannot connect to %s: %s", path,
                       strerror(-rc));
    }
    *fd = s;
    return 0;
}

int proto_send(int fd, const cJSON *obj, proto_error *e)
{
    char *buf;
    size_t len;
    int rc = proto_encode(obj, &buf, &len);
    if (rc == -EMSGSIZE)
        return proto_error_set(e, rc, PROTO_E_FRAME_TOO_LARGE, NULL,
                               "request is larger than %u bytes",
                               PROTO_MAX_FRAME);
    if (rc < 0)
        return proto_error_set(e, rc, PROTO_E_INTERNAL, NULL,
                               "out of memory");
    size_t off = 0;
    while (off < len) {
        ssize_t w = send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            rc = -errno;
            free(buf);
            if (rc == -EPIPE || rc == -ECONNRESET)
                return proto_error_set(e, -EPIPE, PROTO_E_CLOSED, NULL,
                                       "the daemon closed the connection");
            return proto_error_set(e, rc, PROTO_E_IO, NULL, "send: %s",
                                   strerror(-rc));
        }
        off += (size_t)w;
    }
    free(buf);
    return 0;
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000L +
           (t.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* Reads into buf until the decoder yields a frame. */
static int recv_frame(int fd, int timeout_ms, char **frame, size_t *flen,
                      proto_error *e)
{
    proto_decoder d;
    proto_decoder_init(&d, PROTO_MAX_FRAME);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char buf[1];   /* one byte at a time: never read past this frame */
    char chunk[65536];
    int rc;
    for (;;) {
        int wait = -1;
        if (timeout_ms >= 0) {
            long left = timeout_ms - ms_since(&t0);
            if (left <= 0) {
                rc = proto_error_set(e, -ETIMEDOUT, PROTO_E_IO, NULL,
                                     "no reply from the daemon within %d ms",
                                     timeout_ms);
                goto out;
            }
            wait = (int)left;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, wait);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0) {
            rc = proto_error_set(e, -errno, PROTO_E_IO, NULL, "poll: %s",
                                 strerror(errno));
            goto out;
        }
        if (pr == 0)
            continue;
        /* Once the header is in, read the rest of the frame in chunks no
         * longer than what the frame still needs. */
        size_t want = 1;
        char *dst = buf;
        if (d.hdr_have == PROTO_HEADER_LEN) {
            want = d.need - d.have;
            if (want > sizeof chunk)
                want = sizeof chunk;
            dst = chunk;
        }
        ssize_t n = recv(fd, dst, want, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int er = errno;
            rc = proto_error_set(e, er == ECONNRESET ? -EPIPE : -er,
                                 er == ECONNRESET ? PROTO_E_CLOSED
                                                  : PROTO_E_IO,
                                 NULL, "recv: %s", strerror(er));
            goto out;
        }
        if (n == 0) {
            rc = proto_error_set(e, -EPIPE, PROTO_E_CLOSED, NULL,
                                 "the daemon closed the connection");
            goto out;
        }
        size_t used;
        rc = proto_decoder_feed(&d, dst, (size_t)n, &used, frame, flen, e);
        if (rc != 0)
            goto out;
    }
out:
    proto_decoder_free(&d);
    return rc < 0 ? rc : 0;
}

int proto_recv(int fd, int timeout_ms, cJSON **out, proto_error *e)
{
    char *frame = NULL;
    size_t flen = 0;
    int rc = recv_frame(fd, timeout_ms, &frame, &flen, e);
    if (rc < 0)
        return rc;
    if (proto_check_depth(frame, flen, PROTO_MAX_DEPTH) < 0) {
        free(frame);
        return proto_error_set(e, -E2BIG, PROTO_E_TOO_DEEP, NULL,
                               "reply nests too deep");
    }
    cJSON *j = cJSON_ParseWithLength(frame, flen);
    free(frame);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return proto_error_set(e, -EINVAL, PROTO_E_BAD_JSON, NULL,
                               "reply is not a JSON object");
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "v");
    if (!cJSON_IsNumber(v) || v->valuedouble != PROTO_VERSION) {
        cJSON_Delete(j);
        return proto_error_set(e, -EPROTO, PROTO_E_VERSION_MISMATCH, "v",
                               "the daemon speaks another protocol version "
                               "than this client (%d); upgrade one of them",
                               PROTO_VERSION);
    }
    *out = j;
    return 0;
}

static const char *const known_codes[] = {
    PROTO_E_BAD_FRAME, PROTO_E_FRAME_TOO_LARGE, PROTO_E_BAD_JSON,
    PROTO_E_TOO_DEEP, PROTO_E_VERSION_MISMATCH, PROTO_E_BAD_REQUEST,
    PROTO_E_UNKNOWN_OP, PROTO_E_INVALID_SPEC, PROTO_E_NOT_FOUND,
    PROTO_E_TOO_MANY_CONNECTIONS, PROTO_E_TOO_MANY_REQUESTS,
    PROTO_E_STORE_FAULT, PROTO_E_SHUTTING_DOWN, PROTO_E_PERMISSION,
    PROTO_E_INTERNAL,
};

int proto_reply_status(const cJSON *reply, proto_error *e)
{
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok")))
        return 0;
    const cJSON *eo = cJSON_GetObjectItemCaseSensitive(reply, "error");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(eo, "code");
    const cJSON *field = cJSON_GetObjectItemCaseSensitive(eo, "field");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(eo, "message");
    const char *c = cJSON_IsString(code) ? code->valuestring : "internal";
    e->code = NULL;
    for (size_t i = 0; i < sizeof known_codes / sizeof known_codes[0]; i++)
        if (strcmp(c, known_codes[i]) == 0)
            e->code = known_codes[i];
    if (!e->code) {
        snprintf(e->code_buf, sizeof e->code_buf, "%s", c);
        e->code = e->code_buf;
    }
    snprintf(e->field, sizeof e->field, "%s",
             cJSON_IsString(field) ? field->valuestring : "");
    snprintf(e->message, sizeof e->message, "%s",
             cJSON_IsString(msg) ? msg->valuestring : "(no message)");
    return -EREMOTEIO;
}
