/* client.c — the blocking side of the protocol, for clients: connect,
 * send one frame, wait for one frame (proto.h). */
#include "proto.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "err.h"

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
