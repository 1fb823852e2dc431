/* The wire format (proto.h): frames split anywhere, oversize and empty
 * frames, bad JSON, nesting one past the limit, version mismatch, replies,
 * and the blocking helpers over a socketpair. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "proto.h"
#include "utf8.h"

/* One frame's bytes: header + text. */
static size_t make_frame(char *out, const char *text)
{
    size_t n = strlen(text);
    out[0] = (char)(n >> 24);
    out[1] = (char)(n >> 16);
    out[2] = (char)(n >> 8);
    out[3] = (char)n;
    memcpy(out + 4, text, n);
    return n + 4;
}

/* Feeds buf in chunks of `step` bytes; collects up to 8 frames. */
static int feed_all(proto_decoder *d, const char *buf, size_t len,
                    size_t step, char **frames, int max, proto_error *e)
{
    int nf = 0;
    for (size_t off = 0; off < len;) {
        size_t chunk = len - off < step ? len - off : step;
        size_t pos = 0;
        while (pos < chunk) {
            size_t used;
            char *f;
            size_t flen;
            int rc = proto_decoder_feed(d, buf + off + pos, chunk - pos,
                                        &used, &f, &flen, e);
            if (rc < 0)
                return rc;
            pos += used;
            if (rc == 1) {
                assert_true(nf < max);
                assert_int_equal(strlen(f), flen);
                frames[nf++] = f;
            }
        }
        off += chunk;
    }
    return nf;
}

static void frames_split_anywhere(void **state)
{
    (void)state;
    const char *texts[] = {"{\"v\":1,\"op\":\"ping\"}", "{\"a\":[1,2,3]}",
                           "{}"};
    char buf[256];
    size_t len = 0;
    for (int i = 0; i < 3; i++)
        len += make_frame(buf + len, texts[i]);
    for (size_t step = 1; step <= len; step++) {
        proto_decoder d;
        proto_decoder_init(&d, 0);
        char *frames[8];
        proto_error e;
        int nf = feed_all(&d, buf, len, step, frames, 8, &e);
        assert_int_equal(nf, 3);
        for (int i = 0; i < 3; i++) {
            assert_string_equal(frames[i], texts[i]);
            free(frames[i]);
        }
        assert_false(proto_decoder_partial(&d));
        proto_decoder_free(&d);
    }
}

static void partial_frame_is_reported(void **state)
{
    (void)state;
    char buf[64];
    size_t len = make_frame(buf, "{\"v\":1}");
    proto_decoder d;
    proto_decoder_init(&d, 0);
    size_t used;
    char *f;
    size_t flen;
    proto_error e;
    assert_int_equal(proto_decoder_feed(&d, buf, len - 2, &used, &f, &flen,
                                        &e), 0);
    assert_int_equal(used, len - 2);
    assert_true(proto_decoder_partial(&d));
    proto_decoder_free(&d);   /* a vanished client: nothing leaks */
}

static void frame_one_past_limit_is_refused(void **state)
{
    (void)state;
    unsigned char hdr[4];
    size_t n = PROTO_MAX_FRAME + 1;
    hdr[0] = (unsigned char)(n >> 24);
    hdr[1] = (unsigned char)(n >> 16);
    hdr[2] = (unsigned char)(n >> 8);
    hdr[3] = (unsigned char)n;
    proto_decoder d;
    proto_decoder_init(&d, 0);
    size_t used;
    char *f;
    size_t flen;
    proto_error e;
    assert_int_equal(proto_decoder_feed(&d, hdr, 4, &used, &f, &flen, &e),
                     -EMSGSIZE);
    assert_string_equal(e.code, PROTO_E_FRAME_TOO_LARGE);
    assert_null(d.buf);   /* refused before any allocation */
    proto_decoder_free(&d);

    /* Exactly at the limit is accepted (header only: nothing allocated
     * until bytes arrive). */
    n = PROTO_MAX_FRAME;
    hdr[0] = (unsigned char)(n >> 24);
    hdr[1] = (unsigned char)(n >> 16);
    hdr[2] = (unsigned char)(n >> 8);
    hdr[3] = (unsigned char)n;
    proto_decoder_init(&d, 0);
    assert_int_equal(proto_decoder_feed(&d, hdr, 4, &used, &f, &flen, &e), 0);
    assert_true(d.cap == 0);
    proto_decoder_free(&d);

    /* A smaller configured limit. */
    char buf[64];
    size_t len = make_frame(buf, "{\"v\":1,\"op\":\"ping\"}");
    proto_decoder_init(&d, 10);
    assert_int_equal(proto_decoder_feed(&d, buf, len, &used, &f, &flen, &e),
                     -EMSGSIZE);
    proto_decoder_free(&d);
}

static void empty_frame_is_refused(void **state)
{
    (void)state;
    char zero[4] = {0, 0, 0, 0};
    proto_decoder d;
    proto_decoder_init(&d, 0);
    size_t used;
    char *f;
    size_t flen;
    proto_error e;
    assert_int_equal(proto_decoder_feed(&d, zero, 4, &used, &f, &flen, &e),
                     -EBADMSG);
    assert_string_equal(e.code, PROTO_E_BAD_FRAME);
    proto_decoder_free(&d);
}

static int parse(const char *text, proto_request *req, proto_error *e)
{
    return proto_request_parse(text, strlen(text), req, e);
}

static void requests_parse(void **state)
{
    (void)state;
    proto_request req;
    proto_error e;
    assert_int_equal(parse("{\"v\":1,\"id\":7,\"op\":\"ping\"}", &req, &e), 0);
    assert_string_equal(req.op, "ping");
    assert_int_equal(req.id->valuedouble, 7);
    proto_request_free(&req);

    assert_int_equal(parse(" {\"v\":1,\"op\":\"x\"}\n", &req, &e), 0);
    assert_null(req.id);
    proto_request_free(&req);
}

static void bad_json_is_refused(void **state)
{
    (void)state;
    const char *bad[] = {"{", "not json", "{\"v\":1,}", "[1,2]", "42",
                         "{\"v\":1} {\"v\":1}", "\"str\"", "{\"v\":1,\"op\":\"a\"}x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        proto_request req;
        proto_error e;
        assert_true(parse(bad[i], &req, &e) < 0);
        assert_string_equal(e.code, PROTO_E_BAD_JSON);
        proto_request_free(&req);
    }
}

static void invalid_utf8_is_refused(void **state)
{
    (void)state;
    const char *bad[] = {"{\"v\":1,\"op\":\"ping\",\"id\":\"a\xff\"}",
                         "{\"v\":1,\"op\":\"ping\",\"x\xC0\xAF\":1}",
                         "{\"v\":1,\"op\":\"ping\",\"id\":\"\xED\xA0\x80\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        proto_request req;
        proto_error e;
        assert_true(parse(bad[i], &req, &e) < 0);
        assert_string_equal(e.code, PROTO_E_BAD_JSON);
        assert_non_null(strstr(e.message, "UTF-8"));
        proto_request_free(&req);
    }
}

/* A string that is not UTF-8 (an error quoting a file) goes out
 * sanitised, in values and in keys; the tree itself is left alone. */
static void replies_are_utf8_whatever_their_strings(void **state)
{
    (void)state;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", "line 1: \xff\xfe bad");
    cJSON *inner = cJSON_AddObjectToObject(o, "run");
    cJSON_AddStringToObject(inner, "k\x80", "\xC0\xAF");
    char *out;
    size_t len;
    assert_int_equal(proto_encode(o, &out, &len), 0);
    assert_int_equal(utf8_valid_len(out + 4, len - 4), len - 4);
    cJSON *back = cJSON_ParseWithLength(out + 4, len - 4);
    assert_non_null(back);
    assert_string_equal(cJSON_GetObjectItem(back, "error")->valuestring,
                        "line 1: \xEF\xBF\xBD\xEF\xBF\xBD bad");
    assert_string_equal(cJSON_GetObjectItem(o, "error")->valuestring,
                        "line 1: \xff\xfe bad");
    cJSON_Delete(back);
    free(out);
    cJSON_Delete(o);
}

/* {"v":1,"op":"x","a":[[[...]]]} with `depth` levels in all. */
static char *nested(int depth, char open, char close)
{
    char *s = malloc((size_t)depth * 2 + 64);
    char *p = s + sprintf(s, "{\"v\":1,\"op\":\"x\",\"a\":");
    for (int i = 1; i < depth; i++)
        *p++ = open;
    for (int i = 1; i < depth; i++)
        *p++ = close;
    if (depth == 1)
        *p++ = '0';
    *p++ = '}';
    *p = '\0';
    return s;
}

static void nesting_past_limit_is_refused(void **state)
{
    (void)state;
    proto_request req;
    proto_error e;
    char *ok = nested(PROTO_MAX_DEPTH, '[', ']');
    assert_int_equal(parse(ok, &req, &e), 0);
    proto_request_free(&req);
    free(ok);

    char *deep = nested(PROTO_MAX_DEPTH + 1, '[', ']');
    assert_int_equal(parse(deep, &req, &e), -E2BIG);
    assert_string_equal(e.code, PROTO_E_TOO_DEEP);
    proto_request_free(&req);
    free(deep);

    /* Far past cJSON's own limit: refused by our scan, no recursion. */
    char *huge = nested(100000, '[', ']');
    assert_int_equal(parse(huge, &req, &e), -E2BIG);
    proto_request_free(&req);
    free(huge);

    /* Brackets inside strings do not count, escaped quotes included. */
    const char *str = "{\"v\":1,\"op\":\"x\",\"s\":\"[[[[[[[[[[[[[[[[[[[[[[[["
                      "[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[[[[[[[[[[[\"}";
    assert_int_equal(parse(str, &req, &e), 0);
    proto_request_free(&req);
}

static void version_mismatch_is_refused(void **state)
{
    (void)state;
    proto_request req;
    proto_error e;
    assert_int_equal(parse("{\"v\":2,\"id\":\"a\",\"op\":\"ping\"}", &req, &e),
                     -EPROTO);
    assert_string_equal(e.code, PROTO_E_VERSION_MISMATCH);
    assert_string_equal(e.field, "v");
    assert_non_null(req.id);   /* the error reply can echo it */
    assert_string_equal(req.id->valuestring, "a");
    proto_request_free(&req);

    assert_int_equal(parse("{\"id\":1,\"op\":\"ping\"}", &req, &e), -EPROTO);
    assert_string_equal(e.code, PROTO_E_VERSION_MISMATCH);
    proto_request_free(&req);

    assert_int_equal(parse("{\"v\":\"1\",\"op\":\"ping\"}", &req, &e), -EPROTO);
    proto_request_free(&req);
}

static void bad_members_are_refused(void **state)
{
    (void)state;
    proto_request req;
    proto_error e;
    assert_int_equal(parse("{\"v\":1,\"op\":3}", &req, &e), -EINVAL);
    assert_string_equal(e.code, PROTO_E_BAD_REQUEST);
    assert_string_equal(e.field, "op");
    proto_request_free(&req);
    assert_int_equal(parse("{\"v\":1,\"id\":[1],\"op\":\"ping\"}", &req, &e),
                     -EINVAL);
    assert_string_equal(e.field, "id");
    proto_request_free(&req);

    cJSON *o = cJSON_Parse("{\"job\":2.5,\"n\":-1,\"k\":\"x\",\"ok\":12}");
    int64_t v = 0;
    assert_int_equal(proto_get_int(o, "job", 1, 10, &v, &e), -EINVAL);
    assert_string_equal(e.field, "job");
    assert_int_equal(proto_get_int(o, "n", 0, 10, &v, &e), -EINVAL);
    assert_int_equal(proto_get_int(o, "k", 0, 10, &v, &e), -EINVAL);
    assert_int_equal(proto_get_int(o, "absent", 0, 10, &v, &e), 1);
    assert_int_equal(proto_get_int(o, "ok", 0, 12, &v, &e), 0);
    assert_int_equal(v, 12);
    cJSON_Delete(o);
}

static void errors_split_key_paths(void **state)
{
    (void)state;
    proto_error e;
    proto_error_from_sentence(&e, PROTO_E_INVALID_SPEC,
                              "grid.model.width[2]: must be an integer in "
                              "[1, 4096], got 0");
    assert_string_equal(e.field, "grid.model.width[2]");
    assert_string_equal(e.message, "must be an integer in [1, 4096], got 0");
    proto_error_from_sentence(&e, PROTO_E_INVALID_SPEC,
                              "spec is not an object: whatever");
    assert_string_equal(e.field, "");
    assert_string_equal(e.message, "spec is not an object: whatever");
}

static void replies_round_trip(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cJSON *id = cJSON_CreateNumber(42);
    proto_error e;
    proto_error_set(&e, -EINVAL, PROTO_E_INVALID_SPEC, "base.model.width",
                    "must be %s", "positive");
    cJSON *r = proto_reply_error(id, &e);
    assert_non_null(r);
    assert_int_equal(proto_send(sv[0], r, &e), 0);
    cJSON *ok = proto_reply_new(NULL, true);
    cJSON_AddNumberToObject(ok, "job", 3);
    assert_int_equal(proto_send(sv[0], ok, &e), 0);

    cJSON *got = NULL;
    assert_int_equal(proto_recv(sv[1], 1000, &got, &e), 0);
    proto_error re;
    assert_int_equal(proto_reply_status(got, &re), -EREMOTEIO);
    assert_string_equal(re.code, PROTO_E_INVALID_SPEC);
    assert_string_equal(re.field, "base.model.width");
    assert_string_equal(re.message, "must be positive");
    assert_int_equal(cJSON_GetObjectItem(got, "id")->valuedouble, 42);
    cJSON_Delete(got);
    assert_int_equal(proto_recv(sv[1], 1000, &got, &e), 0);
    assert_int_equal(proto_reply_status(got, &re), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(got, "id")));
    cJSON_Delete(got);

    /* Nothing more: a timeout, then the peer closes. */
    assert_int_equal(proto_recv(sv[1], 50, &got, &e), -ETIMEDOUT);
    close(sv[0]);
    assert_int_equal(proto_recv(sv[1], 1000, &got, &e), -EPIPE);
    assert_string_equal(e.code, PROTO_E_CLOSED);
    close(sv[1]);
    cJSON_Delete(r);
    cJSON_Delete(ok);
    cJSON_Delete(id);
}

static void encode_refuses_oversize(void **state)
{
    (void)state;
    cJSON *o = cJSON_CreateObject();
    char *big = malloc(PROTO_MAX_FRAME + 1);
    memset(big, 'a', PROTO_MAX_FRAME);
    big[PROTO_MAX_FRAME] = '\0';
    cJSON_AddStringToObject(o, "s", big);
    char *out;
    size_t len;
    assert_int_equal(proto_encode(o, &out, &len), -EMSGSIZE);
    free(big);
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frames_split_anywhere),
        cmocka_unit_test(partial_frame_is_reported),
        cmocka_unit_test(frame_one_past_limit_is_refused),
        cmocka_unit_test(empty_frame_is_refused),
        cmocka_unit_test(requests_parse),
        cmocka_unit_test(bad_json_is_refused),
        cmocka_unit_test(invalid_utf8_is_refused),
        cmocka_unit_test(replies_are_utf8_whatever_their_strings),
        cmocka_unit_test(nesting_past_limit_is_refused),
        cmocka_unit_test(version_mismatch_is_refused),
        cmocka_unit_test(bad_members_are_refused),
        cmocka_unit_test(errors_split_key_paths),
        cmocka_unit_test(replies_round_trip),
        cmocka_unit_test(encode_refuses_oversize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
