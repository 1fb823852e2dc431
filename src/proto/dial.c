/* dial.c — reaching a daemon by address, Unix or TCP, and proving the
 * token to it (proto.h, auth.h). */
#include "proto.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "auth.h"
#include "err.h"

bool proto_addr_is_tcp(const char *addr)
{
    return strncmp(addr, "unix:", 5) != 0 && !strchr(addr, '/') &&
           strrchr(addr, ':') != NULL;
}

/* "host:port" or "[v6]:port" into its parts. */
static int split_hostport(const char *addr, char *host, size_t hlen,
                          const char **port)
{
    const char *colon = strrchr(addr, ':');
    const char *h = addr;
    size_t n = (size_t)(colon - addr);
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close + 1 != colon)
            return -EINVAL;
        h = addr + 1;
        n = (size_t)(close - h);
    }
    if (n == 0 || n >= hlen || !colon[1])
        return -EINVAL;
    memcpy(host, h, n);
    host[n] = '\0';
    *port = colon + 1;
    return 0;
}

static int connect_tcp(const char *addr, int *fd, char *err, size_t errlen)
{
    char host[256];
    const char *port;
    if (split_hostport(addr, host, sizeof host, &port) < 0)
        return err_set(err, errlen, -EINVAL,
                       "%s: not an address; give HOST:PORT, [V6ADDR]:PORT "
                       "or unix:PATH", addr);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM}, *res;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0)
        return err_set(err, errlen, -EHOSTUNREACH, "%s: %s", addr,
                       gai_strerror(g));
    int rc = -ECONNREFUSED, s = -1;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        s = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
                   a->ai_protocol);
        if (s < 0) {
            rc = -errno;
            continue;
        }
        if (connect(s, a->ai_addr, a->ai_addrlen) == 0)
            break;
        rc = -errno;
        close(s);
        s = -1;
    }
    freeaddrinfo(res);
    if (s < 0)
        return err_set(err, errlen, rc, "cannot connect to %s: %s", addr,
                       strerror(-rc));
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    *fd = s;
    return 0;
}

int proto_connect_addr(const char *addr, int *fd, char *err, size_t errlen)
{
    if (strncmp(addr, "unix:", 5) == 0)
        return proto_connect(addr + 5, fd, err, errlen);
    if (!proto_addr_is_tcp(addr))
        return proto_connect(addr, fd, err, errlen);
    return connect_tcp(addr, fd, err, errlen);
}

int proto_call(int fd, const cJSON *req, int timeout_ms, cJSON **reply,
               proto_error *e)
{
    *reply = NULL;
    int rc = proto_send(fd, req, e);
    if (rc == 0)
        rc = proto_recv(fd, timeout_ms, reply, e);
    if (rc == 0)
        rc = proto_reply_status(*reply, e);
    return rc;
}

/* A hex member of len bytes of an ok reply. */
static int reply_hex(const cJSON *r, const char *key, unsigned char *out,
                     size_t len, proto_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, key);
    if (!cJSON_IsString(v) || auth_unhex(v->valuestring, out, len) < 0)
        return proto_error_set(e, -EPROTO, PROTO_E_BAD_REQUEST, key,
                               "the daemon's reply lacks a %zu-byte hex "
                               "\"%s\"", len, key);
    return 0;
}

static cJSON *request_new(const char *op)
{
    cJSON *r = cJSON_CreateObject();
    if (r && (!cJSON_AddNumberToObject(r, "v", PROTO_VERSION) ||
              !cJSON_AddStringToObject(r, "id", op) ||
              !cJSON_AddStringToObject(r, "op", op))) {
        cJSON_Delete(r);
        return NULL;
    }
    return r;
}

int proto_authenticate(int fd, const auth_key *key, int timeout_ms,
                       proto_error *e)
{
    unsigned char sn[AUTH_NONCE_LEN], cn[AUTH_NONCE_LEN];
    unsigned char mac[AUTH_MAC_LEN], want[AUTH_MAC_LEN];
    char hex[AUTH_HEX(AUTH_MAC_LEN)];
    cJSON *req = request_new("hello"), *rep = NULL;
    int rc = req ? proto_call(fd, req, timeout_ms, &rep, e)
                 : proto_error_set(e, -ENOMEM, PROTO_E_INTERNAL, NULL,
                                   "out of memory");
    cJSON_Delete(req);
    req = NULL;
    if (rc == 0)
        rc = reply_hex(rep, "nonce", sn, sizeof sn, e);
    cJSON_Delete(rep);
    rep = NULL;
    char rerr[ERR_LEN];
    if (rc == 0 && auth_random(cn, sizeof cn, rerr, sizeof rerr) < 0)
        rc = proto_error_set(e, -EIO, PROTO_E_INTERNAL, NULL, "%s", rerr);
    if (rc == 0 && !(req = request_new("auth")))
        rc = proto_error_set(e, -ENOMEM, PROTO_E_INTERNAL, NULL, "out of memory");
    if (rc == 0) {
        auth_mac(key, AUTH_CLIENT, sn, cn, mac);
        auth_hex(cn, sizeof cn, hex);
        cJSON_AddStringToObject(req, "nonce", hex);
        auth_hex(mac, sizeof mac, hex);
        cJSON_AddStringToObject(req, "mac", hex);
        rc = proto_call(fd, req, timeout_ms, &rep, e);
    }
    if (rc == 0)
        rc = reply_hex(rep, "mac", mac, sizeof mac, e);
    if (rc == 0) {
        auth_mac(key, AUTH_SERVER, sn, cn, want);
        if (!auth_mac_equal(mac, want))
            rc = proto_error_set(e, -EACCES, PROTO_E_UNAUTHENTICATED, NULL,
                                 "the daemon could not prove it holds this "
                                 "token: another daemon, or another token "
                                 "file");
    }
    cJSON_Delete(req);
    cJSON_Delete(rep);
    return rc;
}
