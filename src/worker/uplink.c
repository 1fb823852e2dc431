/* uplink.c — the worker's connection to the daemon (uplink.h). */
#include "uplink.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "log.h"

struct uplink {
    char *addr;
    bool has_key;
    auth_key key;
    int threads, prefetch;
    uplink_hooks hooks;
    const atomic_bool *stop;
    pthread_mutex_t lock;      /* the turns and heartbeat_s */
    pthread_cond_t turn;
    unsigned long ticket, serving;
    /* The call whose turn it is owns the rest. */
    int fd;                    /* -1 while disconnected */
    double backoff_s;
    double heartbeat_s;
    unsigned long next_id;
};

static void sleep_s(double s)
{
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&t, NULL);
}

static void add_header(uplink *u, cJSON *req)
{
    cJSON_DeleteItemFromObjectCaseSensitive(req, "v");
    cJSON_DeleteItemFromObjectCaseSensitive(req, "id");
    cJSON_AddNumberToObject(req, "v", PROTO_VERSION);
    cJSON_AddNumberToObject(req, "id", (double)++u->next_id);
}

static int do_register(uplink *u, proto_error *e)
{
    char host[128] = "?";
    gethostname(host, sizeof host - 1);
    cJSON *req = cJSON_CreateObject(), *rep = NULL;
    if (!req)
        return proto_error_set(e, -ENOMEM, PROTO_E_INTERNAL, NULL, "out of memory");
    cJSON_AddStringToObject(req, "op", "register");
    cJSON_AddStringToObject(req, "host", host);
    cJSON_AddNumberToObject(req, "pid", (double)getpid());
    cJSON_AddNumberToObject(req, "threads", u->threads);
    cJSON_AddNumberToObject(req, "prefetch", u->prefetch);
    cJSON *arr = cJSON_AddArrayToObject(req, "resume");
    if (u->hooks.resume && arr)
        u->hooks.resume(u->hooks.ctx, arr);
    add_header(u, req);
    int rc = proto_call(u->fd, req, UPLINK_CALL_TIMEOUT_MS, &rep, e);
    cJSON_Delete(req);
    if (rc == 0) {
        const cJSON *hb = cJSON_GetObjectItemCaseSensitive(rep, "heartbeat_s");
        pthread_mutex_lock(&u->lock);
        if (cJSON_IsNumber(hb) && hb->valuedouble > 0)
            u->heartbeat_s = hb->valuedouble;
        pthread_mutex_unlock(&u->lock);
        if (u->hooks.registered)
            u->hooks.registered(u->hooks.ctx, rep);
    }
    cJSON_Delete(rep);
    return rc;
}

static int try_connect(uplink *u, proto_error *e)
{
    char err[ERR_LEN];
    int fd;
    int rc = proto_connect_addr(u->addr, &fd, err, sizeof err);
    if (rc < 0)
        return proto_error_set(e, rc, PROTO_E_IO, NULL, "%s", err);
    u->fd = fd;
    if (u->has_key)
        rc = proto_authenticate(fd, &u->key, UPLINK_CALL_TIMEOUT_MS, e);
    if (rc == 0)
        rc = do_register(u, e);
    if (rc < 0) {
        close(fd);
        u->fd = -1;
    }
    return rc;
}

/* Connected, or -ESHUTDOWN once stop is set. A refused token is not
 * retried forever quietly: it is logged each time. */
static int ensure_connected(uplink *u, proto_error *e)
{
    while (u->fd < 0) {
        if (atomic_load(u->stop) ||
            (u->hooks.give_up && u->hooks.give_up(u->hooks.ctx)))
            return proto_error_set(e, -ESHUTDOWN, PROTO_E_SHUTTING_DOWN, NULL,
                                   "stopping");
        int rc = try_connect(u, e);
        if (rc < 0 && strcmp(e->code, PROTO_E_UNAUTHENTICATED) == 0)
            return -EACCES;   /* another try cannot prove a wrong token */
        if (rc == 0) {
            log_info("connected to %s", u->addr);
            u->backoff_s = UPLINK_BACKOFF_MIN_S;
            return 0;
        }
        log_warn("%s: %s; retrying in %.1f s", u->addr, e->message,
                 u->backoff_s);
        sleep_s(u->backoff_s);
        u->backoff_s *= 2;
        if (u->backoff_s > UPLINK_BACKOFF_MAX_S)
            u->backoff_s = UPLINK_BACKOFF_MAX_S;
    }
    return 0;
}

static bool transport_error(int rc)
{
    return rc < 0 && rc != -EREMOTEIO && rc != -ENOMEM && rc != -EMSGSIZE;
}

/* Calls take turns in the order they came, a ticket each: a mutex
 * promises no order, and a thread sending a large array part after part
 * must not keep the heartbeat thread's call waiting past the lease
 * timeout (rhost_arrays.c). */
static void turn_take(uplink *u)
{
    pthread_mutex_lock(&u->lock);
    unsigned long me = u->ticket++;
    while (me != u->serving)
        pthread_cond_wait(&u->turn, &u->lock);
    pthread_mutex_unlock(&u->lock);
}

static void turn_give(uplink *u)
{
    pthread_mutex_lock(&u->lock);
    u->serving++;
    pthread_cond_broadcast(&u->turn);
    pthread_mutex_unlock(&u->lock);
}

int uplink_call(uplink *u, cJSON *req, cJSON **reply, proto_error *e)
{
    *reply = NULL;
    turn_take(u);
    int rc;
    for (;;) {
        if ((rc = ensure_connected(u, e)) < 0)
            break;
        add_header(u, req);
        rc = proto_call(u->fd, req, UPLINK_CALL_TIMEOUT_MS, reply, e);
        if (!transport_error(rc))
            break;
        cJSON_Delete(*reply);
        *reply = NULL;
        log_warn("lost the connection to %s (%s); reconnecting", u->addr,
                 e->message);
        close(u->fd);
        u->fd = -1;
    }
    turn_give(u);
    return rc;
}

double uplink_heartbeat_s(uplink *u)
{
    pthread_mutex_lock(&u->lock);
    double s = u->heartbeat_s;
    pthread_mutex_unlock(&u->lock);
    return s;
}

int uplink_new(const char *addr, const auth_key *key, int threads,
               int prefetch,
               const uplink_hooks *hooks, const atomic_bool *stop,
               uplink **out, char *err, size_t errlen)
{
    uplink *u = calloc(1, sizeof *u);
    if (!u || !(u->addr = strdup(addr))) {
        free(u);
        return err_set(err, errlen, -ENOMEM, "out of memory");
    }
    if (key) {
        u->key = *key;
        u->has_key = true;
    }
    u->threads = threads;
    u->prefetch = prefetch;
    u->hooks = *hooks;
    u->stop = stop;
    u->fd = -1;
    u->backoff_s = UPLINK_BACKOFF_MIN_S;
    u->heartbeat_s = 1.0;
    pthread_mutex_init(&u->lock, NULL);
    pthread_cond_init(&u->turn, NULL);
    *out = u;
    return 0;
}

void uplink_free(uplink *u)
{
    if (!u)
        return;
    if (u->fd >= 0)
        close(u->fd);
    pthread_cond_destroy(&u->turn);
    pthread_mutex_destroy(&u->lock);
    free(u->addr);
    free(u);
}
