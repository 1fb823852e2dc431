/* session.c — one conversation with the daemon: connect, send a request,
 * wait for its reply, each failure printed as a sentence with its exit
 * code (cli.h); and the database the daemon uses. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

int cli_session_open(const cli_opts *o, session *s)
{
    char err[ERR_LEN];
    s->next_id = 1;
    if (proto_connect(o->socket, &s->fd, err, sizeof err) < 0)
        return cli_fail(CLI_UNREACHABLE, "%s", err);
    return CLI_OK;
}

void cli_session_close(session *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

/* {"v": 1, "id": n, "op": op}. Out of memory, it may be NULL or lack
 * members: cJSON takes NULL everywhere, and proto_send then fails with
 * "out of memory" (or the daemon names the missing member). */
cJSON *cli_req_new(session *s, const char *op)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "v", PROTO_VERSION);
    cJSON_AddNumberToObject(r, "id", s->next_id++);
    cJSON_AddStringToObject(r, "op", op);
    return r;
}

/* Sends req (consumed). When the daemon has hung up already, it may have
 * said why first (too_many_connections, permission_denied): that reply,
 * if there is one, is the error shown. */
int cli_send(session *s, cJSON *req)
{
    proto_error e, why;
    int rc = proto_send(s->fd, req, &e);
    cJSON_Delete(req);
    if (rc == 0)
        return CLI_OK;
    cJSON *r = NULL;
    if (rc == -EPIPE && proto_recv(s->fd, 1000, &r, &why) == 0 &&
        proto_reply_status(r, &why) < 0) {
        cJSON_Delete(r);
        return cli_fail_proto(&why);
    }
    cJSON_Delete(r);
    return cli_fail_proto(&e);
}

/* Receives one reply; CLI_OK with *out when "ok" is true, else the error
 * printed and its exit code returned. */
int cli_recv(session *s, int timeout_ms, cJSON **out)
{
    proto_error e;
    cJSON *r = NULL;
    if (proto_recv(s->fd, timeout_ms, &r, &e) < 0)
        return cli_fail_proto(&e);
    if (proto_reply_status(r, &e) < 0) {
        cJSON_Delete(r);
        return cli_fail_proto(&e);
    }
    *out = r;
    return CLI_OK;
}

/* One request, one reply. req is consumed. */
int cli_call(session *s, cJSON *req, int timeout_ms, cJSON **out)
{
    int rc = cli_send(s, req);
    return rc != CLI_OK ? rc : cli_recv(s, timeout_ms, out);
}

int cli_call_once(const cli_opts *o, cJSON *(*build)(session *, void *),
                     void *arg, int timeout_ms, cJSON **out)
{
    session s;
    int rc = cli_session_open(o, &s);
    if (rc != CLI_OK)
        return rc;
    rc = cli_call(&s, build(&s, arg), timeout_ms, out);
    cli_session_close(&s);
    return rc;
}

cJSON *cli_build_plain(session *s, void *op)
{
    return cli_req_new(s, op);
}

void cli_resolve_db(cli_opts *o)
{
    if (o->db_given)
        return;
    const char *env = getenv("RESWEEP_DB");
    if (env && *env) {
        snprintf(o->db, sizeof o->db, "%s", env);
        return;
    }
    session s;
    char err[ERR_LEN];
    if (proto_connect(o->socket, &s.fd, err, sizeof err) == 0) {
        s.next_id = 1;
        cJSON *r = NULL, *req = cli_req_new(&s, "ping");
        proto_error e;
        int sent = req ? proto_send(s.fd, req, &e) : -1;
        cJSON_Delete(req);   /* proto_send borrows it */
        if (sent == 0 && proto_recv(s.fd, 2000, &r, &e) == 0 &&
            proto_reply_status(r, &e) == 0 && *cli_str(r, "db")) {
            snprintf(o->db, sizeof o->db, "%s", cli_str(r, "db"));
            cJSON_Delete(r);
            close(s.fd);
            return;
        }
        cJSON_Delete(r);
        close(s.fd);
    }
    if (paths_default_db(o->db, sizeof o->db, err, sizeof err) < 0)
        o->db[0] = '\0';
}
