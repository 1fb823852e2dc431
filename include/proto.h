/* proto.h — resweep's wire format, spoken over a Unix stream socket.
 *
 * Each frame is a 4-byte big-endian length followed by that many bytes of
 * one JSON object (UTF-8, no terminator). Limits: PROTO_MAX_FRAME bytes of
 * JSON, PROTO_MAX_DEPTH levels of nesting (checked on the text before
 * cJSON sees it, so a hostile frame cannot exhaust the stack).
 *
 * Requests:  {"v": 1, "id": <number|string, echoed>, "op": "<op>", ...}
 * Replies:   {"v": 1, "id": <echo>, "ok": true, ...}
 *            {"v": 1, "id": <echo>, "ok": false,
 *             "error": {"code": "<PROTO_E_*>", "field": "<key path>"|null,
 *                       "message": "<sentence>"}}
 * Streams (watch): several replies with the request's id, each with an
 *            "event" member; the last one has "event": "end".
 * A peer whose "v" is not PROTO_VERSION gets one version_mismatch reply and
 * is disconnected (tmux's rule: never guess at another version's meaning).
 *
 * This module knows nothing of libuv, so the daemon, the CLI and the fuzzer
 * share it: an incremental decoder (bytes in, whole frames out) for the
 * event loop, request parsing and reply building, and blocking helpers for
 * clients.
 */
#ifndef RESWEEP_PROTO_H
#define RESWEEP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct cJSON;

/* Don't forget to bump PROTO_VERSION when a message changes meaning. */
#define PROTO_VERSION    1
#define PROTO_HEADER_LEN 4

/* --- Limits of the wire, one place (each has a test one past it) ---
 * A peer past one gets an error reply with the code in parentheses. */
#define PROTO_MAX_FRAME  (8u * 1024u * 1024u)  /* bytes of JSON per frame (frame_too_large) */
#define PROTO_MAX_DEPTH  32                    /* nested arrays/objects (too_deep) */
#define PROTO_MAX_ID_LEN 128                   /* bytes of a string id (bad_request) */
#define PROTO_MAX_CONNECTIONS   64             /* clients open at once (too_many_connections) */
#define PROTO_MAX_WORKERS       1024           /* registered workers at once (too_many_connections) */
#define PROTO_MAX_WORKER_LEASES 256            /* runs one worker holds at once (too_many_requests) */
#define PROTO_AUTH_TIMEOUT_S    10.0           /* a TCP peer's connect to its proof, else disconnect */
#define PROTO_MAX_PREAUTH_FRAME 4096            /* bytes of a frame from a TCP peer before auth (frame_too_large) */
#define PROTO_MAX_CHECKPOINT   ((size_t)512 << 20)  /* bytes of a checkpoint sent in parts (bad_request) */
#define PROTO_MAX_ARRAYS       ((size_t)512 << 20)  /* bytes of a run's kept arrays sent in parts (bad_request) */
#define PROTO_MAX_INFLIGHT      16             /* requests awaiting the store, per connection (too_many_requests) */
#define PROTO_MAX_WATCHES       16             /* watched jobs per connection (too_many_requests) */
#define PROTO_MAX_PENDING_WRITE (16u * 1024u * 1024u)  /* unread reply bytes before a disconnect */
#define PROTO_FRAME_TIMEOUT_S   30.0           /* first byte of a frame to its last, else disconnect (resweepd --frame-timeout) */
#define PROTO_IDLE_TIMEOUT_S    300.0          /* no request, reply or watch for this long: disconnect (resweepd --idle-timeout) */
#define PROTO_MAX_STATUS_JOBS   1000           /* newest jobs in a status reply ("truncated") */
#define PROTO_MAX_RUNS_PAGE     1000           /* rows per runs reply (bad_request past it) */
#define PROTO_WATCH_INTERVAL_MS 250            /* watch: at most one progress event per interval */
#define PROTO_WATCH_HEARTBEAT_S 2.0            /* watch: a progress event at least this often */
#define PROTO_MAX_SLURM_SCRIPT  (64u * 1024u)  /* bytes of a slurm_record's script (bad_request) */
#define PROTO_MAX_SLURM_TASKS   4000000        /* tasks of one array: Slurm's own MaxArraySize cap, less one (bad_request) */

/* --- Operations, as X(name, doc): the one list the daemon's dispatch,
 * its unknown-op message, the clients and docs/protocol.md follow (a test
 * checks the document against it). Adding an operation is compatible. */
#define PROTO_OPS(X)                                                        \
    X(ping, "the daemon's version, state and queue")                        \
    X(submit, "expand and store a job; replies once every run is stored")   \
    X(status, "one job's progress, or every job's")                         \
    X(runs, "a page of a job's runs and their states")                      \
    X(cancel, "cancel a job's queued runs and stop its running ones")       \
    X(retry, "queue a job's failed and canceled runs again")                \
    X(delete, "delete an ended job: its runs, curves, results, checkpoints") \
    X(pause, "hold a job's queued runs and suspend its running ones")       \
    X(resume, "let a paused job's held runs run again")                     \
    X(extend, "add runs to a job: new seeds, or a spec's runs it lacks")    \
    X(watch, "stream a job's progress until it ends")                       \
    X(shutdown, "stop the daemon; running runs resume at the next start")    \
    X(hello, "a fresh challenge, the first step of authentication (TCP)")  \
    X(auth, "the answer to the challenge; the daemon proves itself back")  \
    X(register, "a worker introduces itself: host, pid, threads")          \
    X(lease, "a registered worker asks for a run to execute")              \
    X(heartbeat, "a worker's leases renewed; what to do with each run")    \
    X(curve, "curve points of a leased run")                               \
    X(checkpoint, "a leased run's training state, to resume from")         \
    X(checkpoint_get, "a part of a leased run's checkpoint, too big for the lease") \
    X(arrays_part, "a part of a leased run's kept arrays, too big for finish") \
    X(finish, "a leased run's outcome; ends the lease")                    \
    X(workers, "the registered workers and what they run")                 \
    X(slurm_record, "record a Slurm job array started for a job")

enum proto_op {
#define X(name, doc) PROTO_OP_##name,
    PROTO_OPS(X)
#undef X
    PROTO_OP_COUNT
};

/* The operation's name ("ping"...); NULL out of range. */
const char *proto_op_name(enum proto_op op);
/* The operation called name, or PROTO_OP_COUNT when there is none. */
enum proto_op proto_op_find(const char *name);
/* "ping, submit, ... or shutdown" into buf (cut to len), for the
 * unknown-op sentence. */
void proto_op_list(char *buf, size_t len);

/* Stable machine codes of error replies, as X(NAME, "code", doc). Clients
 * may switch on the code; the message is for people and may change. Adding
 * a code is compatible; changing one's meaning needs PROTO_VERSION bumped. */
#define PROTO_ERRORS(X)                                                     \
    X(BAD_FRAME, "bad_frame", "an empty frame")                             \
    X(FRAME_TOO_LARGE, "frame_too_large", "more than PROTO_MAX_FRAME bytes") \
    X(BAD_JSON, "bad_json", "not one JSON object")                          \
    X(TOO_DEEP, "too_deep", "nested deeper than PROTO_MAX_DEPTH")           \
    X(VERSION_MISMATCH, "version_mismatch", "\"v\" is not PROTO_VERSION")  \
    X(BAD_REQUEST, "bad_request", "a member missing or of the wrong type")  \
    X(UNKNOWN_OP, "unknown_op", "no such operation")                        \
    X(INVALID_SPEC, "invalid_spec", "field = the key path in the spec")     \
    X(NOT_FOUND, "not_found", "no such job")                                \
    X(TOO_MANY_CONNECTIONS, "too_many_connections",                         \
      "PROTO_MAX_CONNECTIONS are open")                                     \
    X(TOO_MANY_REQUESTS, "too_many_requests",                               \
      "too many unanswered requests on one connection")                     \
    X(STORE_FAULT, "store_fault", "the database refuses writes; retry later") \
    X(SHUTTING_DOWN, "shutting_down", "the daemon is stopping")             \
    X(PERMISSION, "permission_denied", "a peer of another uid")             \
    X(UNAUTHENTICATED, "unauthenticated",                                   \
      "a TCP peer that has not proven the token, or proved it wrong")       \
    X(STALE_LEASE, "stale_lease",                                           \
      "a report for a lease that expired or was never this worker's")       \
    X(INTERNAL, "internal", "out of memory and the like")

#define X(name, code, doc) extern const char PROTO_E_##name[];
PROTO_ERRORS(X)
#undef X

/* Transport failures on the client side (not wire codes). */
extern const char PROTO_E_CLOSED[];   /* "closed": the peer closed the connection */
extern const char PROTO_E_IO[];       /* "io" */

typedef struct proto_error {
    const char *code;          /* a PROTO_E_* string (static), or code_buf */
    char code_buf[48];         /* a code received that this build does not know */
    char field[256];           /* key path the error is about; "" for none */
    char message[ERR_LEN];     /* one sentence */
} proto_error;

/* Fills e and returns rc. field may be NULL. */
int proto_error_set(proto_error *e, int rc, const char *code,
                    const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Fills e from a sentence of the form "key.path[2]: reason" (as config,
 * spec and err_prefix write them): field = "key.path[2]", message =
 * "reason". A sentence without such a prefix goes whole into message. */
void proto_error_from_sentence(proto_error *e, const char *code,
                               const char *sentence);

/* --- Incremental frame decoder (event loops, fuzzers) --- */

typedef struct proto_decoder {
    unsigned char hdr[PROTO_HEADER_LEN];
    size_t hdr_have;     /* header bytes received of the current frame */
    size_t need;         /* payload length, valid once hdr_have == 4 */
    char *buf;           /* payload received so far; grows as bytes arrive */
    size_t have, cap;
    size_t max;          /* largest payload accepted */
} proto_decoder;

/* max_frame: largest payload accepted, at most PROTO_MAX_FRAME (0 means
 * PROTO_MAX_FRAME). The buffer grows with the bytes actually received, so
 * a header that announces 8 MiB costs nothing until 8 MiB arrive. */
void proto_decoder_init(proto_decoder *d, size_t max_frame);
void proto_decoder_free(proto_decoder *d);
/* True while a frame is started but not complete. */
bool proto_decoder_partial(const proto_decoder *d);

/* Consumes bytes from data[0..len) until one frame completes or the bytes
 * run out; *used receives how many were consumed (call again with the
 * rest). Returns 1 with the payload in *frame (NUL-terminated, ownership
 * passes to the caller: free()) and its length in *frame_len; 0 when more
 * bytes are needed; or a negative code with e filled: -EMSGSIZE
 * (frame_too_large), -EBADMSG (bad_frame), -ENOMEM (internal). After an
 * error the byte stream is out of step: close the connection. */
int proto_decoder_feed(proto_decoder *d, const void *data, size_t len,
                       size_t *used, char **frame, size_t *frame_len,
                       proto_error *e);

/* --- Requests --- */

/* 0 when text[0..len) nests arrays and objects at most max_depth deep
 * (strings are skipped correctly); -E2BIG past it. */
int proto_check_depth(const char *text, size_t len, int max_depth);

typedef struct proto_request {
    struct cJSON *root;        /* owned; the whole request */
    const struct cJSON *id;    /* borrowed from root; NULL when absent */
    const char *op;            /* borrowed from root; NULL on error */
} proto_request;

/* Parses one frame's payload into req. Returns 0, or a negative code with
 * e filled: bad_json, too_deep, version_mismatch, bad_request. Even on
 * error req->id is set when the frame carried a usable id, so that the
 * error reply can echo it; always release with proto_request_free(). */
int proto_request_parse(const char *text, size_t len, proto_request *req,
                        proto_error *e);
void proto_request_free(proto_request *req);

/* Optional integer member key of obj in [lo, hi]: 0 with *out set, 1 when
 * absent (or null; *out untouched), or -EINVAL with a bad_request error
 * naming the key. */
int proto_get_int(const struct cJSON *obj, const char *key, int64_t lo,
                  int64_t hi, int64_t *out, proto_error *e);

/* --- Replies --- */

/* {"v": 1, "id": <copy of id or null>, "ok": ok}; NULL when out of memory.
 * The caller owns the object and adds members to it. */
struct cJSON *proto_reply_new(const struct cJSON *id, bool ok);
/* An error reply carrying e. */
struct cJSON *proto_reply_error(const struct cJSON *id, const proto_error *e);

/* Serialises obj as one frame, header included, into a new buffer
 * (*out, caller frees). -EMSGSIZE when the JSON exceeds PROTO_MAX_FRAME,
 * -ENOMEM. */
int proto_encode(const struct cJSON *obj, char **out, size_t *len);

/* --- Blocking client helpers --- */

struct auth_key;

/* Connects to addr: "unix:PATH", a socket path (contains '/'), or
 * "HOST:PORT" / "[V6ADDR]:PORT" over TCP (Nagle off: requests are small
 * and answered at once). Errors as proto_connect's. */
int proto_connect_addr(const char *addr, int *fd, char *err, size_t errlen);
/* True when addr names a TCP endpoint. */
bool proto_addr_is_tcp(const char *addr);

/* The client's side of the handshake (auth.h) on a fresh connection:
 * hello, auth, and the check of the daemon's own proof. 0, or a
 * negative code with e filled (unauthenticated: a wrong token, or a
 * daemon that could not prove it holds the same one). */
int proto_authenticate(int fd, const struct auth_key *key, int timeout_ms,
                       proto_error *e);

/* Sends req, waits for its reply (timeout as proto_recv) and checks it
 * (proto_reply_status). 0 with *reply (caller frees), or a negative
 * code with e filled; on -EREMOTEIO *reply holds the error reply too. */
int proto_call(int fd, const struct cJSON *req, int timeout_ms,
               struct cJSON **reply, proto_error *e);

/* Connects to the daemon's socket. -ENOENT (no socket), -ECONNREFUSED
 * (no daemon behind it), other -errno; sentence in err. */
int proto_connect(const char *path, int *fd, char *err, size_t errlen);

/* Sends one request or reply. 0, or a negative code with e filled. */
int proto_send(int fd, const struct cJSON *obj, proto_error *e);

/* Waits for one frame (timeout_ms < 0: forever) and parses it, checking
 * "v". Returns 0 with *out (caller frees with cJSON_Delete); -ETIMEDOUT;
 * -EPIPE when the peer closed (code "closed"); or another negative code
 * with e filled. */
int proto_recv(int fd, int timeout_ms, struct cJSON **out, proto_error *e);

/* For a reply: 0 when "ok" is true; otherwise -EREMOTEIO with e holding
 * the reply's error (code, field, message). */
int proto_reply_status(const struct cJSON *reply, proto_error *e);

#endif
