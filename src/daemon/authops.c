/* authops.c — hello and auth: a TCP peer proves it holds the daemon's
 * token before any other operation (auth.h gives the handshake). */
#include "server_internal.h"

#include <errno.h>

#include "log.h"

void server__op_hello(const request *rq)
{
    conn *c = rq->c;
    server *s = c->srv;
    char err[ERR_LEN];
    if (!s->has_key)
        return server__reply_errorf(c, rq->pr->id, PROTO_E_BAD_REQUEST, NULL,
                                    "this daemon has no token to prove "
                                    "(start it with --listen or --token-file)");
    if (auth_random(c->nonce, sizeof c->nonce, err, sizeof err) < 0)
        return server__reply_errorf(c, rq->pr->id, PROTO_E_INTERNAL, NULL, err);
    c->nonce_sent = true;
    char hex[AUTH_HEX(AUTH_NONCE_LEN)];
    auth_hex(c->nonce, sizeof c->nonce, hex);
    cJSON *r = proto_reply_new(rq->pr->id, true);
    if (r && !cJSON_AddStringToObject(r, "nonce", hex)) {
        cJSON_Delete(r);
        r = NULL;
    }
    server__send(c, r);
}

/* The peer failed: told why, logged, disconnected. */
static void refuse(const request *rq, const char *why)
{
    conn *c = rq->c;
    log_warn("client %llu: authentication refused: %s; disconnected",
             (unsigned long long)c->id, why);
    proto_error e;
    proto_error_set(&e, -EACCES, PROTO_E_UNAUTHENTICATED, NULL,
                    "authentication refused: %s", why);
    server__reply_error(c, rq->pr->id, &e);
    server__close_when_flushed(c);
}

static int member_hex(const request *rq, const char *key, unsigned char *out,
                      size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rq->pr->root, key);
    return cJSON_IsString(v) ? auth_unhex(v->valuestring, out, len) : -EINVAL;
}

void server__op_auth(const request *rq)
{
    conn *c = rq->c;
    unsigned char cn[AUTH_NONCE_LEN], mac[AUTH_MAC_LEN], want[AUTH_MAC_LEN];
    if (!c->nonce_sent)
        return refuse(rq, "no challenge to answer (send hello first, and "
                          "answer each challenge once)");
    /* One answer per challenge: a second try needs a new hello, on a new
     * connection. */
    c->nonce_sent = false;
    if (member_hex(rq, "nonce", cn, sizeof cn) < 0 ||
        member_hex(rq, "mac", mac, sizeof mac) < 0)
        return refuse(rq, "\"nonce\" and \"mac\" must be hex strings of 16 "
                          "and 32 bytes");
    auth_mac(&c->srv->key, AUTH_CLIENT, c->nonce, cn, want);
    if (!auth_mac_equal(mac, want))
        return refuse(rq, "the proof does not match this daemon's token");
    c->authed = true;
    c->dec.max = PROTO_MAX_FRAME;
    auth_mac(&c->srv->key, AUTH_SERVER, c->nonce, cn, mac);
    char hex[AUTH_HEX(AUTH_MAC_LEN)];
    auth_hex(mac, sizeof mac, hex);
    cJSON *r = proto_reply_new(rq->pr->id, true);
    if (r && !cJSON_AddStringToObject(r, "mac", hex)) {
        cJSON_Delete(r);
        r = NULL;
    }
    log_debug("client %llu authenticated", (unsigned long long)c->id);
    server__send(c, r);
}
