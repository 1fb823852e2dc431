/* The worker's connection (uplink.h) serves calls in the order they came:
 * a thread calling back to back, as one sending an array part after part
 * does (src/worker/rhost_arrays.c), lets another thread's call (the
 * heartbeat) go after at most the call in flight. A mutex alone promised
 * no order: its holder could take it again before a waiter woke. The
 * daemon here is a thread answering every request on a Unix socket. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "proto.h"
#include "uplink.h"

#define BURST 400   /* back-to-back calls of the busy thread */

typedef struct fake {
    int lfd;
    atomic_int served_a;       /* "a" calls answered */
    int a_before_b;            /* of them, before "b" */
} fake;

static void *fake_daemon(void *arg)
{
    fake *f = arg;
    int fd = accept(f->lfd, NULL, NULL);
    cJSON *req;
    proto_error e;
    while (fd >= 0 && proto_recv(fd, 10000, &req, &e) == 0) {
        const char *op = cJSON_GetStringValue(cJSON_GetObjectItem(req, "op"));
        cJSON *rep = proto_reply_new(cJSON_GetObjectItem(req, "id"), true);
        if (op && strcmp(op, "register") == 0)
            cJSON_AddNumberToObject(rep, "heartbeat_s", 1);
        if (op && strcmp(op, "b") == 0)
            f->a_before_b = atomic_load(&f->served_a);
        if (op && strcmp(op, "a") == 0)
            atomic_fetch_add(&f->served_a, 1);
        proto_send(fd, rep, &e);
        cJSON_Delete(rep);
        cJSON_Delete(req);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int call(uplink *u, const char *op)
{
    cJSON *req = cJSON_CreateObject(), *rep = NULL;
    proto_error e;
    cJSON_AddStringToObject(req, "op", op);
    int rc = uplink_call(u, req, &rep, &e);
    cJSON_Delete(req);
    cJSON_Delete(rep);
    return rc;
}

static void *busy(void *arg)
{
    for (int i = 0; i < BURST; i++)
        if (call(arg, "a") != 0)
            break;
    return NULL;
}

static void a_call_waits_for_the_call_in_flight_only(void **state)
{
    (void)state;
    char dir[] = "/tmp/uplink.XXXXXX", addr[128];
    assert_non_null(mkdtemp(dir));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/s", dir);
    snprintf(addr, sizeof addr, "unix:%s", sa.sun_path);
    fake f = {.lfd = socket(AF_UNIX, SOCK_STREAM, 0)};
    atomic_init(&f.served_a, 0);
    assert_int_equal(bind(f.lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(f.lfd, 1), 0);
    pthread_t daemon, worker;
    assert_int_equal(pthread_create(&daemon, NULL, fake_daemon, &f), 0);

    atomic_bool stop;
    atomic_init(&stop, false);
    uplink_hooks hooks = {0};
    uplink *u;
    char err[256];
    assert_int_equal(uplink_new(addr, NULL, 1, 0, &hooks, &stop, &u, err,
                                sizeof err), 0);
    assert_int_equal(pthread_create(&worker, NULL, busy, u), 0);
    while (atomic_load(&f.served_a) < 20)
        usleep(1000);
    int asked_at = atomic_load(&f.served_a);
    assert_int_equal(call(u, "b"), 0);
    pthread_join(worker, NULL);
    assert_int_equal(atomic_load(&f.served_a), BURST);
    /* The call in flight when b asked, and maybe the next if the busy
     * thread took its ticket before b did; more only if this thread was
     * held up between reading the count and asking (a loaded machine):
     * with a bare mutex b waited for hundreds. */
    if (f.a_before_b - asked_at > 10)
        fail_msg("b waited for %d calls of the busy thread",
                 f.a_before_b - asked_at);

    uplink_free(u);
    pthread_join(daemon, NULL);
    close(f.lfd);
    unlink(sa.sun_path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_call_waits_for_the_call_in_flight_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
