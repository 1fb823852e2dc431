/* conn.c — one client connection on the loop thread: bytes in through
 * the frame decoder to the frame handler, replies out through a bounded
 * write queue, closing when flushed (server.h). */
#include "server_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

typedef struct wbuf {
    uv_write_t req;
    conn *c;
    char *data;
    size_t len;
} wbuf;

static void on_conn_closed(uv_handle_t *h)
{
    conn *c = (conn *)h;
    proto_decoder_free(&c->dec);
    free(c);
}

void server__watches_free(conn *c)
{
    for (watch *w = c->watches, *n; w; w = n) {
        n = w->next;
        cJSON_Delete(w->id);
        free(w);
    }
    c->watches = NULL;
    c->nwatches = 0;
}

/* Unlinked at once, so replies for it are dropped; freed once libuv has
 * called back every pending write. */
void server__conn_close(conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    server *s = c->srv;
    for (conn **pp = &s->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            s->nconns--;
            break;
        }
    }
    server__watches_free(c);
    if (c->worker_id) {
        /* Its worker keeps its leases until they expire (remote.h). */
        remote_conn_closed(s->rm, c->id);
        s->nworkers--;
        c->worker_id = 0;
    }
    uv_close(&c->h.handle, on_conn_closed);
}

void server__close_when_flushed(conn *c)
{
    if (c->closing)
        return;
    c->close_when_flushed = true;
    uv_read_stop(&c->h.stream);
    if (c->write_pending == 0)
        server__conn_close(c);
}

static void on_written(uv_write_t *req, int status)
{
    wbuf *wb = (wbuf *)req;
    conn *c = wb->c;
    c->write_pending -= wb->len;
    free(wb->data);
    free(wb);
    if (status < 0)
        server__conn_close(c);
    else if (c->close_when_flushed && c->write_pending == 0)
        server__conn_close(c);
}

/* Sends obj (consumed) as one frame. A client with more than
 * PROTO_MAX_PENDING_WRITE bytes unread is disconnected. */
int server__send(conn *c, cJSON *obj)
{
    if (!obj) {
        log_error("out of memory building a reply; closing client %llu",
                  (unsigned long long)c->id);
        server__conn_close(c);
        return -ENOMEM;
    }
    char *data = NULL;
    size_t len = 0;
    int rc = proto_encode(obj, &data, &len);
    cJSON_Delete(obj);
    if (rc < 0 || c->closing) {
        if (rc < 0)
            log_error("client %llu: reply not sent: %s",
                      (unsigned long long)c->id, strerror(-rc));
        free(data);
        return rc < 0 ? rc : -EPIPE;
    }
    if (c->write_pending + len > PROTO_MAX_PENDING_WRITE) {
        log_warn("client %llu does not read its replies (%zu bytes "
                 "unread); disconnecting it",
                 (unsigned long long)c->id, c->write_pending);
        free(data);
        server__conn_close(c);
        return -ENOBUFS;
    }
    wbuf *wb = malloc(sizeof *wb);
    if (!wb) {
        free(data);
        server__conn_close(c);
        return -ENOMEM;
    }
    *wb = (wbuf){.c = c, .data = data, .len = len};
    uv_buf_t b = uv_buf_init(data, (unsigned)len);
    rc = uv_write(&wb->req, &c->h.stream, &b, 1, on_written);
    if (rc < 0) {
        free(data);
        free(wb);
        server__conn_close(c);
        return rc;
    }
    c->write_pending += len;
    return 0;
}

void server__reply_error(conn *c, const cJSON *id, const proto_error *e)
{
    server__send(c, proto_reply_error(id, e));
}

void server__reply_errorf(conn *c, const cJSON *id, const char *code,
                         const char *field, const char *msg)
{
    proto_error e;
    proto_error_set(&e, -EINVAL, code, field, "%s", msg);
    server__reply_error(c, id, &e);
}

conn *server__conn_by_id(server *s, uint64_t id)
{
    for (conn *c = s->conns; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    /* One buffer for all connections: libuv reads into it and calls
     * on_read before the next allocation; the decoder copies. */
    conn *c = (conn *)h;
    *buf = uv_buf_init(c->srv->readbuf, sizeof c->srv->readbuf);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    conn *c = (conn *)st;
    if (n < 0) {
        if (n != UV_EOF)
            log_debug("client %llu: %s", (unsigned long long)c->id,
                      uv_strerror((int)n));
        server__conn_close(c);
        return;
    }
    size_t off = 0;
    while (off < (size_t)n && !c->closing && !c->close_when_flushed) {
        size_t used = 0, flen = 0;
        char *frame = NULL;
        proto_error e;
        int rc = proto_decoder_feed(&c->dec, buf->base + off, (size_t)n - off,
                                    &used, &frame, &flen, &e);
        off += used;
        if (rc < 0) {
            /* The stream is out of step: answer, then hang up. */
            log_info("client %llu: %s; disconnected",
                     (unsigned long long)c->id, e.message);
            server__reply_error(c, NULL, &e);
            server__close_when_flushed(c);
            return;
        }
        if (rc == 1) {
            c->srv->on_frame(c, frame, flen);
            free(frame);
        }
    }
    /* The frame clock starts at a frame's first byte and is not reset by
     * later bytes of the same frame: a client trickling a byte a second
     * is as stuck as one that stopped. */
    double now = server__now();
    c->last_active = now;
    if (!proto_decoder_partial(&c->dec))
        c->frame_since = 0;
    else if (c->frame_since == 0)
        c->frame_since = now;
}

conn *server__conn_new(server *s)
{
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        log_error("out of memory accepting a connection");
        return NULL;
    }
    c->srv = s;
    c->id = ++s->next_conn_id;
    c->last_active = c->since = server__now();
    proto_decoder_init(&c->dec, PROTO_MAX_FRAME);
    c->next = s->conns;
    s->conns = c;
    s->nconns++;
    return c;
}

void server__conn_start(conn *c)
{
    log_debug("client %llu connected", (unsigned long long)c->id);
    int rc = uv_read_start(&c->h.stream, on_alloc, on_read);
    if (rc < 0)
        server__conn_close(c);
}

/* Idle: nothing to say and nothing awaited. A watcher or a client
 * waiting for its reply may be silent for as long as it likes. */
static bool conn_idle(const conn *c)
{
    return c->nwatches == 0 && c->inflight == 0 && c->write_pending == 0 &&
           c->frame_since == 0 && !c->closing;
}

bool server__conn_evict_idle(server *s, const conn *except)
{
    conn *victim = NULL;
    for (conn *c = s->conns; c; c = c->next)
        if (c != except && conn_idle(c) && !c->worker_id &&
            (!victim || c->last_active < victim->last_active))
            victim = c;
    if (!victim)
        return false;
    log_info("client %llu idle for %.0f s closed to make room for client "
             "%llu (%d connections open)",
             (unsigned long long)victim->id,
             server__now() - victim->last_active,
             (unsigned long long)except->id, s->nconns);
    server__conn_close(victim);
    return true;
}

void server__conns_sweep(server *s, double now)
{
    for (conn *c = s->conns, *n; c; c = n) {
        n = c->next;
        if (c->frame_since > 0 && now - c->frame_since > s->frame_timeout_s) {
            log_info("client %llu took more than %g s to send one frame; "
                     "disconnected",
                     (unsigned long long)c->id, s->frame_timeout_s);
            server__conn_close(c);
        } else if (!c->authed && now - c->since > PROTO_AUTH_TIMEOUT_S) {
            log_info("client %llu did not authenticate within %g s; "
                     "disconnected",
                     (unsigned long long)c->id, PROTO_AUTH_TIMEOUT_S);
            server__conn_close(c);
        } else if (conn_idle(c) && now - c->last_active > s->idle_timeout_s) {
            log_info("client %llu idle for %g s; disconnected",
                     (unsigned long long)c->id, s->idle_timeout_s);
            server__conn_close(c);
        }
    }
}
