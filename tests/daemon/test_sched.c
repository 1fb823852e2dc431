/* The run queue (scheduler.h): priority then FIFO order, runs by id within
 * a job, duplicates refused, cancel, pause, stop waking blocked workers. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "scheduler.h"

static sched *new_sched(void)
{
    sched *s = NULL;
    assert_int_equal(sched_new(&s), 0);
    return s;
}

static int64_t take_id(sched *s)
{
    sched_run r;
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), 0);
    return r.run_id;
}

static void priority_then_fifo(void **state)
{
    (void)state;
    sched *s = new_sched();
    /* job 1 (prio 0): runs 10, 11; job 2 (prio 5): 20; job 3 (prio 0): 30;
     * job 4 (prio 5): 40; job 5 (prio -1): 50 */
    assert_int_equal(sched_push(s, 1, 0, 10, 0), 0);
    assert_int_equal(sched_push(s, 3, 0, 30, 0), 0);
    assert_int_equal(sched_push(s, 1, 0, 11, 0), 0);
    assert_int_equal(sched_push(s, 5, -1, 50, 0), 0);
    assert_int_equal(sched_push(s, 4, 5, 40, 0), 0);
    assert_int_equal(sched_push(s, 2, 5, 20, 0), 0);
    const int64_t want[] = {20, 40, 10, 11, 30, 50};
    for (int i = 0; i < 6; i++)
        assert_int_equal(take_id(s), want[i]);
    sched_run r;
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), -EAGAIN);
    assert_int_equal(sched_take(s, 20, &r, NULL, NULL), -EAGAIN);
    sched_stats st;
    sched_get_stats(s, &st);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.active, 6);
    assert_int_equal(st.jobs, 0);
    sched_free(s);
}

static void runs_by_id_and_no_duplicates(void **state)
{
    (void)state;
    sched *s = new_sched();
    for (int64_t id = 100; id < 200; id += 2)
        assert_int_equal(sched_push(s, 1, 0, id, 0), 0);
    /* Out of order (a retry) lands in id order. */
    assert_int_equal(sched_push(s, 1, 0, 151, 0), 0);
    assert_int_equal(sched_push(s, 1, 0, 99, 0), 0);
    assert_int_equal(sched_push(s, 1, 0, 150, 0), -EEXIST);
    assert_int_equal(take_id(s), 99);
    assert_int_equal(take_id(s), 100);
    /* Active runs cannot be queued again until released. */
    assert_int_equal(sched_push(s, 1, 0, 100, 0), -EEXIST);
    sched_release(s, 100);
    assert_int_equal(sched_push(s, 1, 0, 100, 0), 0);
    assert_int_equal(take_id(s), 100);
    int64_t last = 100;
    for (int i = 0; i < 50; i++) {
        int64_t id = take_id(s);
        assert_true(id > last);
        last = id;
    }
    assert_int_equal(last, 198);
    /* Many interleaved takes and pushes keep the order (compaction). */
    for (int64_t id = 1000; id < 5000; id++) {
        assert_int_equal(sched_push(s, 2, 0, id, 0), 0);
        if (id % 3 == 0)
            (void)take_id(s);
    }
    last = 0;
    sched_run r;
    while (sched_take(s, 0, &r, NULL, NULL) == 0) {
        assert_true(r.run_id > last);
        last = r.run_id;
    }
    assert_int_equal(last, 4999);
    sched_free(s);
}

static void record_take(void *ctx, const sched_run *r)
{
    *(int64_t *)ctx = r->run_id;
}

static void cancel_drops_and_flags(void **state)
{
    (void)state;
    sched *s = new_sched();
    for (int64_t id = 1; id <= 5; id++)
        assert_int_equal(sched_push(s, 7, 0, id, 0), 0);
    assert_int_equal(sched_push(s, 8, 0, 100, 0), 0);
    int64_t seen = 0;
    sched_run r;
    assert_int_equal(sched_take(s, 0, &r, record_take, &seen), 0);
    assert_int_equal(seen, 1);
    assert_int_equal(sched_poll(s, 1), RUN_CONTINUE);
    long dropped, flagged;
    sched_cancel_job(s, 7, &dropped, &flagged);
    assert_int_equal(dropped, 4);
    assert_int_equal(flagged, 1);
    assert_int_equal(sched_poll(s, 1), RUN_CANCEL);
    assert_int_equal(sched_poll(s, 12345), RUN_CONTINUE);
    assert_int_equal(take_id(s), 100);   /* job 8 unaffected */
    assert_int_equal(sched_poll(s, 100), RUN_CONTINUE);
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), -EAGAIN);
    /* A second cancel flags nothing new; an unknown job is harmless. */
    sched_cancel_job(s, 7, &dropped, &flagged);
    assert_int_equal(dropped + flagged, 0);
    sched_cancel_job(s, 999, NULL, NULL);
    /* The job can be queued again (retry). */
    assert_int_equal(sched_push(s, 7, 0, 3, 0), 0);
    assert_int_equal(take_id(s), 3);
    sched_free(s);
}

static void record_end(void *ctx, bool canceled)
{
    *(int *)ctx = canceled;
}

/* A held (paused) job: its queued runs and those pushed or requeued
 * while held are handed to nobody, its active runs poll suspend, other
 * jobs go on; unholding queues them again in order, and a run that had
 * not stopped yet goes on. A suspended run canceled meanwhile is not
 * queued again. */
static void hold_keeps_a_job_back(void **state)
{
    (void)state;
    sched *s = new_sched();
    for (int64_t id = 1; id <= 4; id++)
        assert_int_equal(sched_push(s, 7, 5, id, 0), 0);
    assert_int_equal(sched_push(s, 8, 0, 100, 0), 0);
    assert_int_equal(take_id(s), 1);
    assert_int_equal(take_id(s), 2);
    long held, stopping;
    assert_int_equal(sched_hold_job(s, 7, 5, &held, &stopping), 0);
    assert_int_equal(held, 2);
    assert_int_equal(stopping, 2);
    assert_int_equal(sched_poll(s, 1), RUN_SUSPEND);
    sched_stats st;
    sched_get_stats(s, &st);
    assert_int_equal(st.queued, 1);
    assert_int_equal(st.held, 2);
    assert_int_equal(take_id(s), 100);   /* job 8 unaffected */
    sched_run r;
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), -EAGAIN);
    /* Run 1 suspended: back to the queue, held. A push of the held job
     * (a retry) is held too. */
    int end = -1;
    sched_end_suspended(s, 1, record_end, &end);
    assert_int_equal(end, 0);
    assert_int_equal(sched_requeue(s, 1), 0);
    assert_int_equal(sched_push(s, 7, 5, 9, 0), 0);
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), -EAGAIN);
    /* A second hold flags nothing new. */
    assert_int_equal(sched_hold_job(s, 7, 5, &held, &stopping), 0);
    assert_int_equal(held + stopping, 0);
    long released;
    assert_int_equal(sched_unhold_job(s, 7, &released), 0);
    assert_int_equal(released, 4);                 /* 1, 3, 4 and 9 */
    assert_int_equal(sched_poll(s, 2), RUN_CONTINUE);   /* goes on */
    assert_int_equal(take_id(s), 1);
    assert_int_equal(take_id(s), 3);
    assert_int_equal(sched_unhold_job(s, 7, &released), 0);   /* harmless */
    assert_int_equal(released, 0);
    /* Held, then canceled while run 3 suspends: its requeue is refused,
     * and the cancel's unhold leaves nothing behind. */
    assert_int_equal(sched_hold_job(s, 7, 5, NULL, NULL), 0);
    sched_cancel_job(s, 7, NULL, NULL);
    sched_end_suspended(s, 3, record_end, &end);
    assert_int_equal(end, 1);
    assert_int_equal(sched_requeue(s, 1), -ECANCELED);
    assert_int_equal(sched_unhold_job(s, 7, NULL), 0);
    sched_get_stats(s, &st);
    assert_int_equal(st.queued + st.held, 0);
    /* A job the scheduler did not know can be held (a restart). */
    assert_int_equal(sched_hold_job(s, 11, 0, &held, NULL), 0);
    assert_int_equal(sched_push(s, 11, 0, 50, 0), 0);
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), -EAGAIN);
    assert_int_equal(sched_unhold_job(s, 11, NULL), 0);
    assert_int_equal(take_id(s), 50);
    sched_free(s);
}

/* A retry takes a cancel back: runs still training go on, a run that has
 * not reported its stop yet is told to go back to the queue, and a run
 * whose canceled end was already decided stays canceled. */
static void resume_takes_a_cancel_back(void **state)
{
    (void)state;
    sched *s = new_sched();
    for (int64_t id = 1; id <= 4; id++)
        assert_int_equal(sched_push(s, 7, 0, id, 0), 0);
    assert_int_equal(sched_push(s, 8, 0, 100, 0), 0);
    assert_int_equal(take_id(s), 1);
    assert_int_equal(take_id(s), 2);
    assert_int_equal(take_id(s), 3);
    long dropped, flagged, resumed;
    sched_cancel_job(s, 7, &dropped, &flagged);
    assert_int_equal(dropped, 1);
    assert_int_equal(flagged, 3);
    /* Run 1 stops and its end is decided before the retry. */
    int end = -1;
    sched_end_canceled(s, 1, record_end, &end);
    assert_int_equal(end, 1);
    sched_resume_job(s, 8, &resumed);        /* another job: nothing */
    assert_int_equal(resumed, 0);
    sched_resume_job(s, 7, &resumed);
    assert_int_equal(resumed, 2);            /* runs 2 and 3, not 1 */
    assert_int_equal(sched_poll(s, 2), RUN_CONTINUE);
    assert_int_equal(sched_poll(s, 3), RUN_CONTINUE);
    /* Run 3 had seen the cancel before the resume: it requeues itself. */
    sched_end_canceled(s, 3, record_end, &end);
    assert_int_equal(end, 0);
    sched_end_canceled(s, 1, record_end, &end);
    assert_int_equal(end, 1);
    /* A second resume finds nothing left to take back. */
    sched_resume_job(s, 7, &resumed);
    assert_int_equal(resumed, 0);
    /* A run the scheduler does not know ends as it said. */
    sched_end_canceled(s, 12345, record_end, &end);
    assert_int_equal(end, 1);
    /* A new cancel applies to the resumed runs again. */
    sched_cancel_job(s, 7, &dropped, &flagged);
    assert_int_equal(flagged, 2);
    assert_int_equal(sched_poll(s, 2), RUN_CANCEL);
    sched_free(s);
}

typedef struct taker {
    sched *s;
    int rc;
    int64_t run_id;
} taker;

static void *take_thread(void *arg)
{
    taker *t = arg;
    sched_run r = {0};
    t->rc = sched_take(t->s, -1, &r, NULL, NULL);
    t->run_id = r.run_id;
    return NULL;
}

static void pause_holds_runs_back(void **state)
{
    (void)state;
    sched *s = new_sched();
    sched_pause(s, true);
    assert_int_equal(sched_push(s, 1, 0, 1, 0), 0);
    sched_run r;
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), -EAGAIN);
    taker t = {s, 99, 0};
    pthread_t th;
    pthread_create(&th, NULL, take_thread, &t);
    usleep(50000);
    sched_pause(s, false);
    pthread_join(th, NULL);
    assert_int_equal(t.rc, 0);
    assert_int_equal(t.run_id, 1);
    sched_free(s);
}

static void stop_wakes_workers_and_suspends(void **state)
{
    (void)state;
    sched *s = new_sched();
    assert_int_equal(sched_push(s, 1, 0, 1, 0), 0);
    assert_int_equal(take_id(s), 1);
    taker t[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        t[i] = (taker){s, 99, 0};
        pthread_create(&th[i], NULL, take_thread, &t[i]);
    }
    usleep(50000);
    sched_stop(s);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].rc, -ESHUTDOWN);
    }
    assert_int_equal(sched_poll(s, 1), RUN_SUSPEND);
    assert_int_equal(sched_push(s, 1, 0, 2, 0), -ESHUTDOWN);
    sched_run r;
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), -ESHUTDOWN);
    sched_free(s);
}

/* Two producers and three consumers: every run taken exactly once. */
typedef struct stress {
    sched *s;
    int64_t base;
    int n;
    int taken, failures;
    unsigned char *seen;
    pthread_mutex_t *lock;
} stress;

static void *produce(void *arg)
{
    stress *p = arg;
    /* cmocka's asserts must stay on the main thread: count failures. */
    for (int i = 0; i < p->n; i++)
        if (sched_push(p->s, p->base, 0, p->base + i, 0) != 0)
            p->failures++;
    return NULL;
}

static void *consume(void *arg)
{
    stress *c = arg;
    sched_run r;
    for (;;) {
        int rc = sched_take(c->s, 50, &r, NULL, NULL);
        pthread_mutex_lock(c->lock);
        if (rc == 0) {
            c->seen[r.run_id]++;
            c->taken++;
        }
        bool done = c->taken >= c->n;
        pthread_mutex_unlock(c->lock);
        if (rc == 0)
            sched_release(c->s, r.run_id);
        else if (done)
            return NULL;
    }
}

static void concurrent_take_exactly_once(void **state)
{
    (void)state;
    sched *s = new_sched();
    enum { N = 20000 };
    unsigned char *seen = calloc(2 * N + 1, 1);
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    stress p[2] = {{s, 1, N, 0, 0, seen, &lock},
                   {s, N + 1, N, 0, 0, seen, &lock}};
    stress c = {s, 0, 2 * N, 0, 0, seen, &lock};
    pthread_t tp[2], tc[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&tc[i], NULL, consume, &c);
    for (int i = 0; i < 2; i++)
        pthread_create(&tp[i], NULL, produce, &p[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(tp[i], NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(tc[i], NULL);
    assert_int_equal(p[0].failures + p[1].failures, 0);
    assert_int_equal(c.taken, 2 * N);
    for (int i = 1; i <= 2 * N; i++)
        assert_int_equal(seen[i], 1);
    free(seen);
    sched_free(s);
}

/* Issue 9 §5: every operation is logarithmic or constant. 20,000 runs of
 * one job are active (taken, their ends not yet stored) while 200,000 runs
 * of another are pushed, polled, taken and released: the lookups examine
 * a bounded number of entries per operation (the probes test hook), where
 * a scan of the active set costs 20,000 per push (4e9 in all). */
static void operations_do_not_scan(void **state)
{
    (void)state;
    sched *s = new_sched();
    enum { ACTIVE = 20000, PUSHED = 200000 };
    for (int64_t id = 1; id <= ACTIVE; id++)
        assert_int_equal(sched_push(s, 1, 0, id, 0), 0);
    for (int64_t id = 1; id <= ACTIVE; id++)
        assert_int_equal(take_id(s), id);
    sched_stats st;
    sched_get_stats(s, &st);
    long long before = st.probes;
    for (int64_t id = ACTIVE + 1; id <= ACTIVE + PUSHED; id++)
        assert_int_equal(sched_push(s, 2, 0, id, 0), 0);
    for (int64_t id = 1; id <= ACTIVE; id += 97)
        assert_int_equal(sched_push(s, 1, 0, id, 0), -EEXIST);
    for (int64_t id = 1; id <= ACTIVE; id++)
        assert_int_equal(sched_poll(s, id), RUN_CONTINUE);
    for (int64_t id = ACTIVE + 1; id <= ACTIVE + PUSHED; id++) {
        assert_int_equal(take_id(s), id);
        sched_release(s, id);
    }
    for (int64_t id = 1; id <= ACTIVE; id++)
        sched_release(s, id);
    sched_get_stats(s, &st);
    assert_int_equal(st.active, 0);
    assert_int_equal(st.queued, 0);
    long long ops = PUSHED + ACTIVE / 97 + ACTIVE + 2LL * PUSHED + ACTIVE;
    /* A hash probe or a binary-search step per op, a few chain links. */
    assert_true(st.probes - before < 16 * ops);
    sched_free(s);
}

/* Cancelling a job with many queued runs and a few active ones examines
 * only that job's runs, not every active run of every job. */
static void cancel_touches_only_its_job(void **state)
{
    (void)state;
    sched *s = new_sched();
    enum { OTHER = 20000 };
    for (int64_t id = 1; id <= OTHER; id++)
        assert_int_equal(sched_push(s, 1, 0, id, 0), 0);
    for (int64_t id = 1; id <= OTHER; id++)
        assert_int_equal(take_id(s), id);
    for (int64_t id = OTHER + 1; id <= OTHER + 1000; id++)
        assert_int_equal(sched_push(s, 2, 5, id, 0), 0);
    assert_int_equal(take_id(s), OTHER + 1);
    sched_stats st;
    sched_get_stats(s, &st);
    long long before = st.probes;
    long dropped, flagged, resumed;
    for (int i = 0; i < 1000; i++) {
        sched_resume_job(s, 2, &resumed);
        sched_cancel_job(s, 2, &dropped, &flagged);
        assert_int_equal(flagged, 1);
    }
    sched_get_stats(s, &st);
    assert_true(st.probes - before < 1000 * 64);
    sched_free(s);
}

/* Issue 9 §5: at most max_active runs are taken and not yet stored; a
 * worker asking for more waits (nothing is dropped) until a release. */
static void active_runs_are_bounded(void **state)
{
    (void)state;
    sched *s = new_sched();
    sched_limit_active(s, 3);
    for (int64_t id = 1; id <= 10; id++)
        assert_int_equal(sched_push(s, 1, 0, id, 0), 0);
    for (int64_t id = 1; id <= 3; id++)
        assert_int_equal(take_id(s), id);
    sched_run r;
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), -EAGAIN);
    assert_int_equal(sched_take(s, 30, &r, NULL, NULL), -EAGAIN);
    sched_stats st;
    sched_get_stats(s, &st);
    assert_int_equal(st.active, 3);
    assert_int_equal(st.queued, 7);
    taker t = {s, 99, 0};
    pthread_t th;
    pthread_create(&th, NULL, take_thread, &t);
    /* The taker is blocked for want of room, not of runs. */
    for (int i = 0; i < 200; i++) {
        sched_get_stats(s, &st);
        if (st.waiting == 1)
            break;
        usleep(10000);
    }
    assert_int_equal(st.waiting, 1);
    assert_int_equal(st.active, 3);
    sched_release(s, 2);
    pthread_join(th, NULL);
    assert_int_equal(t.rc, 0);
    assert_int_equal(t.run_id, 4);
    sched_get_stats(s, &st);
    assert_int_equal(st.active, 3);
    assert_int_equal(st.queued, 6);
    /* Every run is eventually taken, none dropped: release the oldest,
     * take the next. */
    int64_t held[10] = {1, 3, 4};
    int oldest = 0, n = 3;
    for (int64_t next = 5; next <= 10; next++) {
        assert_int_equal(sched_take(s, 0, &r, NULL, NULL), -EAGAIN);
        sched_release(s, held[oldest++]);
        held[n++] = take_id(s);
        assert_int_equal(held[n - 1], next);
    }
    sched_free(s);
}

/* ---- memory admission (issue 9) ---- */

#define MB ((uint64_t)1 << 20)

/* Waits until n takers wait for memory. */
static void wait_for_memory_waiters(sched *s, long n)
{
    sched_stats st;
    for (int i = 0; i < 300; i++) {
        sched_get_stats(s, &st);
        if (st.waiting_memory == n)
            return;
        usleep(10000);
    }
    fail_msg("%ld takers wait for memory, expected %ld", st.waiting_memory, n);
}

/* Runs start while their estimates fit beside the active ones'; the
 * reservation ends when the engine is done (sched_finished), before the
 * store releases the run. */
static void memory_admits_what_fits(void **state)
{
    (void)state;
    sched *s = new_sched();
    sched_limit_memory(s, 100 * MB);
    assert_int_equal(sched_memory_limit(s), 100 * MB);
    assert_int_equal(sched_push(s, 1, 0, 1, 60 * MB), 0);
    assert_int_equal(sched_push(s, 1, 0, 2, 30 * MB), 0);
    assert_int_equal(sched_push(s, 1, 0, 3, 30 * MB), 0);
    sched_run r;
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), 0);
    assert_int_equal(r.run_id, 1);
    assert_int_equal(r.mem_bytes, 60 * MB);
    assert_false(r.over_limit);
    assert_int_equal(take_id(s), 2);
    /* 90 MB reserved: run 3 (30 MB) does not fit */
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), -EAGAIN);
    sched_stats st;
    sched_get_stats(s, &st);
    assert_int_equal(st.mem_reserved, 90 * MB);
    assert_int_equal(st.mem_limit, 100 * MB);
    taker t = {s, 99, 0};
    pthread_t th;
    pthread_create(&th, NULL, take_thread, &t);
    wait_for_memory_waiters(s, 1);
    sched_finished(s, 1);              /* 60 MB back: run 3 fits */
    pthread_join(th, NULL);
    assert_int_equal(t.rc, 0);
    assert_int_equal(t.run_id, 3);
    sched_get_stats(s, &st);
    assert_int_equal(st.mem_reserved, 60 * MB);
    sched_finished(s, 1);              /* idempotent */
    sched_release(s, 1);
    sched_release(s, 2);               /* release ends a reservation too */
    sched_get_stats(s, &st);
    assert_int_equal(st.mem_reserved, 30 * MB);
    sched_release(s, 3);
    sched_get_stats(s, &st);
    assert_int_equal(st.mem_reserved, 0);
    sched_free(s);
}

/* The fairness rule: a big run at the head of the order is not overtaken
 * by small runs behind it that would fit, so it starts as soon as the
 * running runs leave room, whatever keeps arriving behind it. */
static void big_run_is_not_starved(void **state)
{
    (void)state;
    sched *s = new_sched();
    sched_limit_memory(s, 100 * MB);
    assert_int_equal(sched_push(s, 1, 0, 1, 40 * MB), 0);
    assert_int_equal(sched_push(s, 1, 0, 2, 80 * MB), 0);   /* big */
    for (int64_t id = 3; id < 50; id++)
        assert_int_equal(sched_push(s, 1, 0, id, 1 * MB), 0);
    assert_int_equal(take_id(s), 1);
    sched_run r;
    /* 60 MB free, run 2 needs 80: nothing starts, small runs included */
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), -EAGAIN);
    /* a new job of the same priority comes after: it waits too */
    assert_int_equal(sched_push(s, 2, 0, 100, 1 * MB), 0);
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), -EAGAIN);
    sched_finished(s, 1);
    assert_int_equal(take_id(s), 2);
    /* beside the big run, the small ones fit again */
    assert_int_equal(take_id(s), 3);
    assert_int_equal(take_id(s), 4);
    sched_stats st;
    sched_get_stats(s, &st);
    assert_int_equal(st.mem_reserved, 82 * MB);
    sched_free(s);
}

/* With nothing running any run within the limit starts; one over it
 * (queued under a larger limit) is handed out flagged, reserving
 * nothing, so that its taker fails it instead of it blocking the queue. */
static void over_limit_run_is_flagged(void **state)
{
    (void)state;
    sched *s = new_sched();
    sched_limit_memory(s, 100 * MB);
    assert_int_equal(sched_push(s, 1, 0, 1, 100 * MB), 0);
    assert_int_equal(sched_push(s, 1, 0, 2, 500 * MB), 0);
    assert_int_equal(sched_push(s, 1, 0, 3, 1 * MB), 0);
    sched_run r;
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), 0);
    assert_int_equal(r.run_id, 1);
    assert_false(r.over_limit);
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), 0);
    assert_int_equal(r.run_id, 2);
    assert_true(r.over_limit);
    assert_int_equal(r.mem_bytes, 500 * MB);
    sched_stats st;
    sched_get_stats(s, &st);
    assert_int_equal(st.mem_reserved, 100 * MB);
    /* run 3 waits for run 1 only */
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), -EAGAIN);
    sched_release(s, 1);
    assert_int_equal(take_id(s), 3);
    /* no limit: everything goes */
    sched_limit_memory(s, 0);
    assert_int_equal(sched_push(s, 1, 0, 4, 900 * MB), 0);
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), 0);
    assert_false(r.over_limit);
    sched_free(s);
}

/* Cancelling the job whose run waits for memory lets the next job's run
 * in; a suspended run requeues with its estimate. */
static void cancel_and_requeue_keep_accounts(void **state)
{
    (void)state;
    sched *s = new_sched();
    sched_limit_memory(s, 100 * MB);
    assert_int_equal(sched_push(s, 1, 5, 1, 70 * MB), 0);
    assert_int_equal(sched_push(s, 1, 5, 2, 70 * MB), 0);
    assert_int_equal(sched_push(s, 2, 0, 3, 20 * MB), 0);
    assert_int_equal(take_id(s), 1);
    taker t = {s, 99, 0};
    pthread_t th;
    pthread_create(&th, NULL, take_thread, &t);
    wait_for_memory_waiters(s, 1);
    sched_cancel_job(s, 1, NULL, NULL);  /* drops run 2 */
    pthread_join(th, NULL);
    assert_int_equal(t.run_id, 3);
    sched_stats st;
    sched_get_stats(s, &st);
    assert_int_equal(st.mem_reserved, 90 * MB);
    assert_int_equal(sched_requeue(s, 3), 0);
    sched_get_stats(s, &st);
    assert_int_equal(st.mem_reserved, 70 * MB);
    assert_int_equal(st.queued, 1);
    sched_run r;
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), 0);
    assert_int_equal(r.run_id, 3);
    assert_int_equal(r.mem_bytes, 20 * MB);
    assert_int_equal(sched_requeue(s, 999), -ENOENT);
    sched_stop(s);
    assert_int_equal(sched_requeue(s, 3), -ESHUTDOWN);
    sched_get_stats(s, &st);
    assert_int_equal(st.mem_reserved, 70 * MB);
    assert_int_equal(st.queued, 0);
    sched_free(s);
}

/* Workers on other machines are not metered: they take the next run
 * whatever it needs and reserve nothing. While they may connect, a run
 * over the limit waits for one of them, the metered takers behind it, and
 * submissions accept it (no ceiling). */
static void remote_takes_are_not_metered(void **state)
{
    (void)state;
    sched *s = new_sched();
    sched_limit_memory(s, 100 * MB);
    assert_int_equal(sched_memory_ceiling(s), 100 * MB);
    assert_int_equal(sched_push(s, 1, 0, 1, 90 * MB), 0);
    assert_int_equal(sched_push(s, 1, 0, 2, 90 * MB), 0);
    assert_int_equal(sched_push(s, 1, 0, 3, 500 * MB), 0);
    assert_int_equal(sched_push(s, 1, 0, 4, 10 * MB), 0);
    assert_int_equal(take_id(s), 1);
    sched_run r;
    assert_int_equal(sched_take(s, 0, &r, NULL, NULL), -EAGAIN);
    assert_int_equal(sched_take_remote(s, 0, &r, NULL, NULL), 0);
    assert_int_equal(r.run_id, 2);
    assert_false(r.over_limit);
    sched_stats st;
    sched_get_stats(s, &st);
    assert_int_equal(st.mem_reserved, 90 * MB);
    sched_remote_workers(s, true);
    assert_int_equal(sched_memory_ceiling(s), 0);
    sched_finished(s, 1);
    /* run 3 (500 MB) is left for a remote worker: a metered taker waits */
    taker t = {s, 99, 0};
    pthread_t th;
    pthread_create(&th, NULL, take_thread, &t);
    wait_for_memory_waiters(s, 1);
    assert_int_equal(sched_take_remote(s, 0, &r, NULL, NULL), 0);
    assert_int_equal(r.run_id, 3);
    assert_false(r.over_limit);
    pthread_join(th, NULL);   /* woken by that take: run 4 fits */
    assert_int_equal(t.rc, 0);
    assert_int_equal(t.run_id, 4);
    sched_get_stats(s, &st);
    assert_int_equal(st.mem_reserved, 10 * MB);
    sched_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(priority_then_fifo),
        cmocka_unit_test(runs_by_id_and_no_duplicates),
        cmocka_unit_test(cancel_drops_and_flags),
        cmocka_unit_test(resume_takes_a_cancel_back),
        cmocka_unit_test(hold_keeps_a_job_back),
        cmocka_unit_test(pause_holds_runs_back),
        cmocka_unit_test(stop_wakes_workers_and_suspends),
        cmocka_unit_test(concurrent_take_exactly_once),
        cmocka_unit_test(operations_do_not_scan),
        cmocka_unit_test(cancel_touches_only_its_job),
        cmocka_unit_test(active_runs_are_bounded),
        cmocka_unit_test(memory_admits_what_fits),
        cmocka_unit_test(big_run_is_not_starved),
        cmocka_unit_test(over_limit_run_is_flagged),
        cmocka_unit_test(cancel_and_requeue_keep_accounts),
        cmocka_unit_test(remote_takes_are_not_metered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
