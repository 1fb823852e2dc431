/* fuzz_frame.c — libFuzzer target for the wire format (proto.h): whatever
 * bytes a client sends, the daemon's side of a connection must neither
 * crash, leak, nor step into undefined behaviour, and must answer each
 * frame with a reply that a client can read back.
 *
 * The input is the byte stream a client writes. It goes through
 *   1. the frame decoder in one read, and again in reads of sizes drawn
 *      from a generator seeded by the input (so a run is repeatable), as
 *      the event loop's on_read delivers them; the two must yield the same
 *      frames and end in the same state;
 *   2. for each frame, what on_frame does (server.c) short of the store:
 *      proto_request_parse, the operation's argument checks (proto_get_int
 *      for job/from/limit, spec_parse and the first runs of spec_expand
 *      for submit), and the ok or error reply through proto_encode;
 *   3. each reply, as a client reads it: decoded, parsed and passed to
 *      proto_reply_status, which must give back the code, field and
 *      message sent and the request's id;
 *   4. the input as what a daemon sends the CLI, through a socket pair:
 *      proto_recv and proto_reply_status until the stream ends or breaks.
 * The whole input is also parsed as one frame's payload, so that JSON
 * mutations need not keep a length header right.
 *
 * Build and run: make fuzz (docs/fuzzing.md).
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "consts.h"
#include "err.h"
#include "fuzz.h"
#include "proto.h"
#include "spec.h"

/* Runs of a submitted spec expanded per frame: enough to reach run-level
 * errors, few enough to keep a million-run spec fast (fuzz_spec.c goes
 * further). */
#define FRAME_EXPAND_RUNS 8
/* The range of a job id (server.c) and of a runs page (writer.h). */
#define RUNS_PAGE_MAX 1000   /* WRITER_MAX_RUNS_PAGE */

/* proto.h: a frame is UTF-8. A request that is gets replies that are,
 * whatever the daemon quotes or truncates of it. RESWEEP_FUZZ_UTF8=0
 * turns the check off (while triaging something else). */
static bool check_utf8 = true;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *u = getenv("RESWEEP_FUZZ_UTF8");
    check_utf8 = !(u && *u == '0');
    return 0;
}

/* ------------------------------------------------------------------ */
/* replies, and how a client reads them */

static bool is_known_code(const char *c)
{
    static const char *const codes[] = {
        PROTO_E_BAD_FRAME, PROTO_E_FRAME_TOO_LARGE, PROTO_E_BAD_JSON,
        PROTO_E_TOO_DEEP, PROTO_E_VERSION_MISMATCH, PROTO_E_BAD_REQUEST,
        PROTO_E_UNKNOWN_OP, PROTO_E_INVALID_SPEC, PROTO_E_NOT_FOUND,
        PROTO_E_INTERNAL,
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(c, codes[i]) == 0)
            return true;
    return false;
}

/* The id a reply must carry: a copy of the request's, null when it had
 * none. cJSON prints a non-finite number as null (a request may send
 * "id": 1e999). */
static bool id_echoed(const cJSON *sent, const cJSON *got)
{
    if (!sent || (cJSON_IsNumber(sent) && !isfinite(sent->valuedouble)))
        return cJSON_IsNull(got);
    return got && cJSON_Compare(sent, got, true);
}

/* Encodes reply as the daemon's send_obj does, then reads it back as the
 * CLI's proto_recv and proto_reply_status do. e: the error sent, or NULL
 * for an ok reply. Takes ownership of reply. */
static void send_reply(cJSON *reply, const cJSON *id, const proto_error *e,
                       bool request_utf8)
{
    FUZZ_CHECK(reply != NULL, "building a reply failed (code %s)",
               e ? e->code : "ok");
    if (e) {
        FUZZ_CHECK(is_known_code(e->code), "unknown error code %s", e->code);
        FUZZ_CHECK(strpbrk(e->field, " \"") == NULL,
                   "error field \"%s\" is not a key path", e->field);
    }
    char *buf = NULL;
    size_t len = 0;
    int rc = proto_encode(reply, &buf, &len);
    FUZZ_CHECK(rc == 0, "proto_encode: %d", rc);
    cJSON_Delete(reply);

    proto_decoder d;
    proto_decoder_init(&d, 0);
    size_t used = 0, flen = 0;
    char *frame = NULL;
    proto_error de;
    rc = proto_decoder_feed(&d, buf, len, &used, &frame, &flen, &de);
    FUZZ_CHECK(rc == 1 && used == len && flen + PROTO_HEADER_LEN == len,
               "a reply does not decode as one frame: rc %d, used %zu of %zu",
               rc, used, len);
    FUZZ_CHECK(memcmp(frame, buf + PROTO_HEADER_LEN, flen) == 0,
               "decoded reply differs from the encoded one");
    proto_decoder_free(&d);
    free(buf);
    if (check_utf8 && request_utf8)
        FUZZ_CHECK(fuzz_utf8_valid(frame, flen),
                   "a UTF-8 request got a reply that is not UTF-8 (a "
                   "character cut by a truncation?): %s", frame);
    FUZZ_CHECK(proto_check_depth(frame, flen, PROTO_MAX_DEPTH) == 0,
               "reply nests too deep: %s", frame);

    cJSON *back = cJSON_ParseWithLength(frame, flen);
    FUZZ_CHECK(cJSON_IsObject(back), "reply is not a JSON object: %s", frame);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(back, "v");
    FUZZ_CHECK(cJSON_IsNumber(v) && v->valuedouble == PROTO_VERSION,
               "reply without \"v\": %s", frame);
    FUZZ_CHECK(id_echoed(id, cJSON_GetObjectItemCaseSensitive(back, "id")),
               "reply does not echo the request's id: %s", frame);
    proto_error got;
    rc = proto_reply_status(back, &got);
    if (!e) {
        FUZZ_CHECK(rc == 0, "ok reply read as an error: %s", frame);
    } else {
        FUZZ_CHECK(rc == -EREMOTEIO, "error reply read as ok: %s", frame);
        /* Text that is not UTF-8 may come back mended. */
        bool exact = fuzz_utf8_valid(e->field, strlen(e->field)) &&
                     fuzz_utf8_valid(e->message, strlen(e->message));
        FUZZ_CHECK(strcmp(got.code, e->code) == 0 &&
                       (!exact || (strcmp(got.field, e->field) == 0 &&
                                   strcmp(got.message, e->message) == 0)),
                   "error read back as {%s, %s, %s}, sent {%s, %s, %s}",
                   got.code, got.field, got.message, e->code, e->field,
                   e->message);
    }
    cJSON_Delete(back);
    free(frame);
}

static void reply_ok(const cJSON *id, bool utf8)
{
    send_reply(proto_reply_new(id, true), id, NULL, utf8);
}

static void reply_error(const cJSON *id, const proto_error *e, bool utf8)
{
    send_reply(proto_reply_error(id, e), id, e, utf8);
}

/* ------------------------------------------------------------------ */
/* operations, as server.c checks their arguments */

/* want_job: "job" in [1, 2^53]; no job exists here, so a good id gets
 * not_found. */
static void want_job(const proto_request *pr, bool utf8)
{
    proto_error e;
    int64_t id = 0;
    int rc = proto_get_int(pr->root, "job", 1, JSON_INT_MAX_I64, &id, &e);
    if (rc == 1)
        rc = proto_error_set(&e, -EINVAL, PROTO_E_BAD_REQUEST, "job",
                             "missing; give the job's id");
    if (rc == 0) {
        FUZZ_CHECK(id >= 1 && id <= JSON_INT_MAX_I64, "job id %lld",
                   (long long)id);
        proto_error_set(&e, -ENOENT, PROTO_E_NOT_FOUND, "job",
                        "there is no job %lld", (long long)id);
    }
    reply_error(pr->id, &e, utf8);
}

static int count_emit(void *ctx, long index, const run_config *cfg,
                      const char *config_json, char *err, size_t errlen)
{
    (void)cfg;
    (void)config_json;
    (void)err;
    (void)errlen;
    long *n = ctx;
    FUZZ_CHECK(index == *n, "run %ld emitted after %ld runs", index, *n);
    return ++*n < FRAME_EXPAND_RUNS ? 0 : 1;
}

/* op_submit, and do_submit's expansion (writer.c), first runs only. */
static void submit(const proto_request *pr, bool utf8)
{
    proto_error e;
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pr->root, "spec");
    if (!cJSON_IsObject(spec)) {
        proto_error_set(&e, -EINVAL, PROTO_E_BAD_REQUEST, "spec",
                        "missing or not an object; give the job "
                        "specification");
        return reply_error(pr->id, &e, utf8);
    }
    job_spec *sp = NULL;
    char err[ERR_LEN] = "";
    int rc = spec_parse(spec, &sp, err, sizeof err);
    if (rc < 0) {
        FUZZ_CHECK(rc == -EINVAL && sp == NULL && err[0],
                   "spec_parse: rc %d, sentence \"%s\"", rc, err);
        proto_error_from_sentence(&e, PROTO_E_INVALID_SPEC, err);
        return reply_error(pr->id, &e, utf8);
    }
    long n = 0;
    rc = spec_expand(sp, count_emit, &n, err, sizeof err);
    if (rc < 0) {
        FUZZ_CHECK(rc == -EINVAL && err[0], "spec_expand: rc %d, \"%s\"", rc,
                   err);
        proto_error_from_sentence(&e, PROTO_E_INVALID_SPEC, err);
        reply_error(pr->id, &e, utf8);
    } else {
        FUZZ_CHECK(n == (spec_count(sp) < FRAME_EXPAND_RUNS
                             ? spec_count(sp) : FRAME_EXPAND_RUNS),
                   "%ld runs emitted of %ld", n, spec_count(sp));
        cJSON *r = proto_reply_new(pr->id, true);
        FUZZ_CHECK(r != NULL, "proto_reply_new");
        cJSON_AddNumberToObject(r, "job", 1);
        cJSON_AddStringToObject(r, "name", spec_name(sp));
        cJSON_AddNumberToObject(r, "runs", (double)spec_count(sp));
        send_reply(r, pr->id, NULL, utf8);
    }
    spec_free(sp);
}

static void runs(const proto_request *pr, bool utf8)
{
    proto_error e;
    int64_t from = 0, limit = 100;
    if (proto_get_int(pr->root, "from", 0, JSON_INT_MAX_I64, &from, &e) < 0 ||
        proto_get_int(pr->root, "limit", 1, RUNS_PAGE_MAX, &limit, &e) < 0)
        return reply_error(pr->id, &e, utf8);
    FUZZ_CHECK(from >= 0 && limit >= 1 && limit <= RUNS_PAGE_MAX,
               "from %lld limit %lld", (long long)from, (long long)limit);
    want_job(pr, utf8);
}

/* Returns true when the daemon hangs up after this frame (a peer of
 * another protocol version). */
static bool on_frame(const char *text, size_t len)
{
    bool utf8 = fuzz_utf8_valid(text, len);
    proto_request pr;
    proto_error e;
    int rc = proto_request_parse(text, len, &pr, &e);
    if (rc < 0) {
        FUZZ_CHECK(rc == -E2BIG || rc == -EINVAL || rc == -EPROTO,
                   "proto_request_parse: rc %d", rc);
        FUZZ_CHECK(pr.op == NULL, "op set on error");
        reply_error(pr.id, &e, utf8);
        proto_request_free(&pr);
        return rc == -EPROTO;
    }
    FUZZ_CHECK(cJSON_IsObject(pr.root) && pr.op != NULL, "request parsed "
               "without root or op");
    if (strcmp(pr.op, "ping") == 0 || strcmp(pr.op, "shutdown") == 0) {
        reply_ok(pr.id, utf8);
    } else if (strcmp(pr.op, "submit") == 0) {
        submit(&pr, utf8);
    } else if (strcmp(pr.op, "status") == 0) {
        const cJSON *job = cJSON_GetObjectItemCaseSensitive(pr.root, "job");
        if (job && !cJSON_IsNull(job))
            want_job(&pr, utf8);
        else
            reply_ok(pr.id, utf8);
    } else if (strcmp(pr.op, "runs") == 0) {
        runs(&pr, utf8);
    } else if (strcmp(pr.op, "cancel") == 0 || strcmp(pr.op, "retry") == 0 ||
               strcmp(pr.op, "watch") == 0) {
        want_job(&pr, utf8);
    } else {
        proto_error_set(&e, -EINVAL, PROTO_E_UNKNOWN_OP, "op",
                        "unknown operation \"%.64s\"; expected ping, submit, "
                        "status, runs, cancel, retry, watch or shutdown",
                        pr.op);
        reply_error(pr.id, &e, utf8);
    }
    proto_request_free(&pr);
    return false;
}

/* ------------------------------------------------------------------ */
/* the byte stream */

/* What a connection made of its bytes: the frames (count and a
 * fingerprint), and how it ended. */
struct trace {
    long frames;
    uint64_t hash;
    int rc;          /* 0, or the decoder's error */
    const char *code;
    bool partial;    /* a frame begun and not finished */
};

/* Feeds data[0..size) to a decoder in reads whose sizes come from *split
 * (one read when split is NULL), consuming each read as on_read does.
 * With handle, each frame goes to on_frame until one asks to hang up. */
static struct trace stream(const uint8_t *data, size_t size, uint64_t *split,
                           bool handle)
{
    struct trace t = {0, FUZZ_HASH_INIT, 0, NULL, false};
    proto_decoder d;
    proto_decoder_init(&d, 0);
    bool hung_up = false;
    size_t off = 0;
    while (off < size && t.rc == 0) {
        size_t n = size - off;
        if (split) {
            /* mostly small reads, to split headers; sometimes large */
            uint64_t r = fuzz_next(split);
            size_t want = r % 4 == 0   ? 1 + (r >> 8) % 4096
                          : r % 4 == 1 ? 1 + (r >> 8) % 64
                                       : 1 + (r >> 8) % 4;
            if (want < n)
                n = want;
        }
        size_t pos = 0;
        while (pos < n) {
            size_t used = 0, flen = 0;
            char *frame = NULL;
            proto_error e;
            int rc = proto_decoder_feed(&d, data + off + pos, n - pos, &used,
                                        &frame, &flen, &e);
            FUZZ_CHECK(used <= n - pos, "decoder used %zu of %zu bytes", used,
                       n - pos);
            FUZZ_CHECK(rc == 1 || rc == 0 || rc == -EMSGSIZE ||
                           rc == -EBADMSG,
                       "proto_decoder_feed: rc %d", rc);
            pos += used;
            if (rc < 0) {
                t.rc = rc;
                t.code = e.code;
                if (handle && !hung_up)
                    reply_error(NULL, &e, true);   /* then hang up */
                break;
            }
            if (rc == 0) {
                FUZZ_CHECK(pos == n, "decoder wants more bytes with %zu "
                           "unread", n - pos);
                break;
            }
            FUZZ_CHECK(flen >= 1 && frame[flen] == '\0',
                       "frame of %zu bytes not NUL-terminated", flen);
            t.frames++;
            t.hash = fuzz_hash(t.hash, &flen, sizeof flen);
            t.hash = fuzz_hash(t.hash, frame, flen);
            if (handle && !hung_up)
                hung_up = on_frame(frame, flen);
            free(frame);
        }
        off += pos;
        if (t.rc == 0)
            FUZZ_CHECK(pos == n, "read of %zu bytes left %zu unconsumed", n,
                       n - pos);
    }
    t.partial = proto_decoder_partial(&d);
    proto_decoder_free(&d);
    return t;
}

/* ------------------------------------------------------------------ */
/* the client's side: replies from a hostile or broken daemon */

#define CLIENT_MAX_REPLIES 64

static void client_side(const uint8_t *data, size_t size)
{
    int sv[2];
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
               "socketpair failed");
    /* Never block: what does not fit in the socket's buffer is dropped
     * (inputs are far smaller). */
    (void)fcntl(sv[1], F_SETFL, O_NONBLOCK);
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(sv[1], data + off, size - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(sv[1]);   /* then the client sees the daemon hang up */
    for (int i = 0; i < CLIENT_MAX_REPLIES; i++) {
        cJSON *reply = NULL;
        proto_error e;
        int rc = proto_recv(sv[0], -1, &reply, &e);
        if (rc < 0) {
            FUZZ_CHECK(reply == NULL && e.code != NULL,
                       "proto_recv: rc %d without an error code", rc);
            break;
        }
        FUZZ_CHECK(rc == 0 && cJSON_IsObject(reply),
                   "proto_recv: rc %d, not an object", rc);
        proto_error st;
        rc = proto_reply_status(reply, &st);
        FUZZ_CHECK(rc == 0 || (rc == -EREMOTEIO && st.code != NULL),
                   "proto_reply_status: rc %d", rc);
        cJSON_Delete(reply);
    }
    close(sv[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The input as one frame's payload, sized as the decoder sizes it. */
    if (size > 0) {
        char *payload = fuzz_strndup(data, size);
        (void)on_frame(payload, size);
        free(payload);
    }

    /* The input as a stream: in one read, then in pieces. */
    uint64_t seed = fuzz_hash(FUZZ_HASH_INIT, data, size);
    struct trace whole = stream(data, size, NULL, false);
    struct trace split = stream(data, size, &seed, true);
    FUZZ_CHECK(whole.frames == split.frames && whole.hash == split.hash &&
                   whole.rc == split.rc && whole.code == split.code &&
                   whole.partial == split.partial,
               "one read gave %ld frames (rc %d, partial %d), pieces gave %ld "
               "(rc %d, partial %d)",
               whole.frames, whole.rc, whole.partial, split.frames, split.rc,
               split.partial);

    /* The same bytes coming the other way. */
    client_side(data, size);
    return 0;
}
