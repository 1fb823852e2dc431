/* listen.c — the daemon's socket (Redis's anet.c is the model): claiming
 * the path, replacing a dead daemon's socket, accepting, and checking who
 * is on the other end (server.h). */
#include "server_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "paths.h"

/* A socket file at path: refused if a daemon answers on it, removed if
 * none does. */
static int clear_stale_socket(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0
                               : err_set(err, errlen, -errno, "%s: %s", path,
                                         strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return err_set(err, errlen, -EEXIST,
                       "%s exists and is not a socket; remove it or choose "
                       "another --socket",
                       path);
    int fd;
    char cerr[ERR_LEN];
    int rc = proto_connect(path, &fd, cerr, sizeof cerr);
    if (rc == 0) {
        close(fd);
        return err_set(err, errlen, -EADDRINUSE,
                       "a daemon is already listening on %s", path);
    }
    if (rc != -ECONNREFUSED)
        return err_set(err, errlen, rc, "%s", cerr);
    log_info("replacing the stale socket %s of a daemon that is gone", path);
    if (unlink(path) != 0 && errno != ENOENT)
        return err_set(err, errlen, -errno, "%s: cannot remove: %s", path,
                       strerror(errno));
    return 0;
}

int server_bind(server *s, char *err, size_t errlen)
{
    if (strlen(s->socket_path) > PATHS_SOCKET_MAX)
        return err_set(err, errlen, -ENAMETOOLONG,
                       "%s: a socket path may have at most %d bytes",
                       s->socket_path, PATHS_SOCKET_MAX);
    char dir[PATHS_MAX];
    int rc = paths_dirname(s->socket_path, dir, sizeof dir);
    if (rc < 0)
        return err_set(err, errlen, rc, "%s: path too long", s->socket_path);
    rc = paths_private_dir(dir, err, errlen);
    if (rc < 0)
        return rc;
    rc = clear_stale_socket(s->socket_path, err, errlen);
    if (rc < 0)
        return rc;
    /* Created 0600 from the start: no moment where another user could
     * connect. (The directory is private too.) */
    mode_t old = umask(0177);
    rc = uv_pipe_bind(&s->listener, s->socket_path);
    umask(old);
    if (rc < 0)
        return err_set(err, errlen, rc, "cannot bind %s: %s", s->socket_path,
                       uv_strerror(rc));
    s->bound = true;
    return 0;
}

static bool peer_allowed(conn *c)
{
    uv_os_fd_t fd;
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (uv_fileno(&c->h.handle, &fd) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
        log_warn("client %llu: cannot read its credentials; refused",
                 (unsigned long long)c->id);
        return false;
    }
    if (cr.uid != geteuid()) {
        log_warn("refused a connection from uid %lu (pid %ld): only uid %lu "
                 "may use this daemon",
                 (unsigned long)cr.uid, (long)cr.pid,
                 (unsigned long)geteuid());
        return false;
    }
    c->peer_pid = (long)cr.pid;
    return true;
}

/* Starts c unless the table is full of busy clients. Registered workers
 * have a table of their own (PROTO_MAX_WORKERS). */
static void admit(server *s, conn *c)
{
    /* The table full of idle clients must not lock the owner out (of
     * shutdown, say): the longest idle one makes room. */
    if (s->nconns - s->nworkers > PROTO_MAX_CONNECTIONS &&
        !server__conn_evict_idle(s, c)) {
        log_warn("refused client %llu: %d connections are open and busy",
                 (unsigned long long)c->id, PROTO_MAX_CONNECTIONS);
        proto_error e;
        proto_error_set(&e, -EMFILE, PROTO_E_TOO_MANY_CONNECTIONS, NULL,
                        "the daemon already serves %d connections, all busy "
                        "(watching or awaiting a reply); close one and try "
                        "again",
                        PROTO_MAX_CONNECTIONS);
        server__reply_error(c, NULL, &e);
        return server__close_when_flushed(c);
    }
    server__conn_start(c);
}

static void on_connection(uv_stream_t *l, int status)
{
    server *s = l->data;
    if (status < 0) {
        log_warn("accept: %s", uv_strerror(status));
        return;
    }
    conn *c = server__conn_new(s);
    if (!c)
        return;
    uv_pipe_init(s->loop, &c->h.pipe, 0);
    if (uv_accept(l, &c->h.stream) != 0)
        return server__conn_close(c);
    if (!peer_allowed(c)) {
        server__reply_errorf(c, NULL, PROTO_E_PERMISSION, NULL,
                             "this daemon serves only its own user");
        return server__close_when_flushed(c);
    }
    c->authed = true;
    admit(s, c);
}

/* A TCP peer may say nothing but hello and auth until it proved the
 * token (authops.c), and has PROTO_AUTH_TIMEOUT_S to do so. */
static void on_tcp_connection(uv_stream_t *l, int status)
{
    server *s = l->data;
    if (status < 0) {
        log_warn("accept (TCP): %s", uv_strerror(status));
        return;
    }
    conn *c = server__conn_new(s);
    if (!c)
        return;
    uv_tcp_init(s->loop, &c->h.tcp);
    c->tcp = true;
    /* hello and auth are small: an unauthenticated peer cannot make the
     * daemon hold large frames (authops.c lifts the limit). */
    c->dec.max = PROTO_MAX_PREAUTH_FRAME;
    if (uv_accept(l, &c->h.stream) != 0)
        return server__conn_close(c);
    uv_tcp_nodelay(&c->h.tcp, 1);
    admit(s, c);
}

/* The address as bound (port 0 asks the kernel for a free one), for ping
 * and the log. */
static void bound_name(server *s)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?", *name;
    if (uv_tcp_getsockname(&s->tcp_listener, (struct sockaddr *)&ss, &len) != 0)
        return;
    int port;
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        uv_ip6_name(a, ip, sizeof ip);
        port = ntohs(a->sin6_port);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        uv_ip4_name(a, ip, sizeof ip);
        port = ntohs(a->sin_port);
    }
    if (asprintf(&name, ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip,
                 port) >= 0) {
        free(s->listen_addr);
        s->listen_addr = name;
    }
}

/* HOST:PORT or [V6]:PORT, numeric or a name the resolver knows. */
static int tcp_bind(server *s, const char *addr, char *err, size_t errlen)
{
    char name[256];
    const char *colon = strrchr(addr, ':');
    const char *h = addr;
    size_t n = colon ? (size_t)(colon - addr) : 0;
    if (colon && addr[0] == '[' && n >= 2 && addr[n - 1] == ']') {
        h = addr + 1;
        n -= 2;
    }
    if (!colon || n == 0 || n >= sizeof name || !colon[1])
        return err_set(err, errlen, -EINVAL,
                       "--listen %s: give HOST:PORT, for example "
                       "0.0.0.0:7070 or [::1]:7070", addr);
    memcpy(name, h, n);
    name[n] = '\0';
    uv_getaddrinfo_t gai;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    int rc = uv_getaddrinfo(s->loop, &gai, NULL, name, colon + 1, &hints);
    if (rc < 0)
        return err_set(err, errlen, rc, "--listen %s: %s", addr,
                       uv_strerror(rc));
    uv_tcp_init(s->loop, &s->tcp_listener);
    s->tcp_listener.data = s;
    rc = uv_tcp_bind(&s->tcp_listener, gai.addrinfo->ai_addr, 0);
    uv_freeaddrinfo(gai.addrinfo);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->tcp_listener, 128, on_tcp_connection);
    if (rc < 0)
        return err_set(err, errlen, rc, "--listen %s: %s", addr,
                       uv_strerror(rc));
    s->tcp_listening = true;
    bound_name(s);
    log_info("listening on TCP %s for workers and clients that prove the "
             "token", s->listen_addr);
    return 0;
}

int server__listen(server *s, char *err, size_t errlen)
{
    int rc = uv_listen((uv_stream_t *)&s->listener, 64, on_connection);
    if (rc < 0)
        return err_set(err, errlen, rc, "cannot listen on %s: %s",
                       s->socket_path, uv_strerror(rc));
    s->listening = true;
    log_info("listening on %s", s->socket_path);
    return s->listen_addr ? tcp_bind(s, s->listen_addr, err, errlen) : 0;
}

