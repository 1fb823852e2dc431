/* scheduler.c — priority queue of runs with cancellation (scheduler.h). */
#include "scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A job's queued runs: ids[head..len) ascending. */
typedef struct sjob {
    struct sjob *next;        /* the next job in scheduling order */
    int64_t job_id;
    int priority;
    int64_t *ids;
    size_t head, len, cap;
} sjob;

/* ACTIVE_ENDED: the run stopped on its cancel flag and its end is on the
 * way to the store, so a resume no longer applies to it. */
enum { ACTIVE_CANCEL = 1, ACTIVE_SUSPEND = 2, ACTIVE_ENDED = 4 };

typedef struct active_run {
    int64_t run_id, job_id;
    int flags;
} active_run;

struct sched {
    pthread_mutex_t lock;
    pthread_cond_t ready;      /* a run was queued, or stop/unpause */
    sjob *jobs;                /* only jobs with queued runs, in order */
    long queued, njobs;
    active_run *active;        /* few: one per worker, plus those committing */
    size_t nactive, active_cap;
    bool paused, stopping;
};

int sched_new(sched **out)
{
    sched *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->ready, &ca);
    pthread_condattr_destroy(&ca);
    *out = s;
    return 0;
}

static void sjob_free(sjob *j)
{
    free(j->ids);
    free(j);
}

void sched_free(sched *s)
{
    if (!s)
        return;
    for (sjob *j = s->jobs, *n; j; j = n) {
        n = j->next;
        sjob_free(j);
    }
    free(s->active);
    pthread_cond_destroy(&s->ready);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static active_run *active_find(sched *s, int64_t run_id)
{
    for (size_t i = 0; i < s->nactive; i++)
        if (s->active[i].run_id == run_id)
            return &s->active[i];
    return NULL;
}

/* Higher priority first, then lower job id. */
static bool before(int prio_a, int64_t job_a, int prio_b, int64_t job_b)
{
    return prio_a != prio_b ? prio_a > prio_b : job_a < job_b;
}

/* The job's entry, created in its place in the order when missing. */
static sjob *job_get(sched *s, int64_t job_id, int priority)
{
    sjob **pp = &s->jobs;
    for (; *pp; pp = &(*pp)->next) {
        if ((*pp)->job_id == job_id)
            return *pp;
    }
    /* Not queued: find its place (a second pass keeps the lookup simple). */
    for (pp = &s->jobs; *pp; pp = &(*pp)->next)
        if (before(priority, job_id, (*pp)->priority, (*pp)->job_id))
            break;
    sjob *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->job_id = job_id;
    j->priority = priority;
    j->next = *pp;
    *pp = j;
    s->njobs++;
    return j;
}

static void job_unlink(sched *s, sjob *j)
{
    for (sjob **pp = &s->jobs; *pp; pp = &(*pp)->next) {
        if (*pp == j) {
            *pp = j->next;
            s->njobs--;
            sjob_free(j);
            return;
        }
    }
}

/* Room for one more id at the end, compacting the consumed head first. */
static int job_reserve(sjob *j)
{
    if (j->head > 0 && j->head >= j->len / 2) {
        memmove(j->ids, j->ids + j->head, (j->len - j->head) * sizeof *j->ids);
        j->len -= j->head;
        j->head = 0;
    }
    if (j->len < j->cap)
        return 0;
    size_t cap = j->cap ? j->cap * 2 : 16;
    int64_t *ids = realloc(j->ids, cap * sizeof *ids);
    if (!ids)
        return -ENOMEM;
    j->ids = ids;
    j->cap = cap;
    return 0;
}

/* Inserts run_id in order; -EEXIST if present. Appending (the usual case:
 * runs arrive in id order) is O(1). */
static int job_insert(sjob *j, int64_t run_id)
{
    size_t lo = j->head, hi = j->len;
    if (lo < hi && run_id <= j->ids[hi - 1]) {
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (j->ids[mid] < run_id)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < j->len && j->ids[lo] == run_id)
            return -EEXIST;
    } else {
        lo = j->len;
    }
    size_t off = lo - j->head;
    int rc = job_reserve(j);
    if (rc < 0)
        return rc;
    lo = j->head + off;   /* the reserve may have compacted */
    memmove(j->ids + lo + 1, j->ids + lo, (j->len - lo) * sizeof *j->ids);
    j->ids[lo] = run_id;
    j->len++;
    return 0;
}

int sched_push(sched *s, int64_t job_id, int priority, int64_t run_id)
{
    int rc;
    pthread_mutex_lock(&s->lock);
    if (s->stopping) {
        rc = -ESHUTDOWN;
        goto out;
    }
    if (active_find(s, run_id)) {
        rc = -EEXIST;
        goto out;
    }
    sjob *j = job_get(s, job_id, priority);
    if (!j) {
        rc = -ENOMEM;
        goto out;
    }
    rc = job_insert(j, run_id);
    if (rc == 0) {
        s->queued++;
        pthread_cond_signal(&s->ready);
    } else if (j->head == j->len) {
        job_unlink(s, j);   /* created for nothing */
    }
out:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int active_add(sched *s, int64_t job_id, int64_t run_id)
{
    if (s->nactive == s->active_cap) {
        size_t cap = s->active_cap ? s->active_cap * 2 : 16;
        active_run *a = realloc(s->active, cap * sizeof *a);
        if (!a)
            return -ENOMEM;
        s->active = a;
        s->active_cap = cap;
    }
    s->active[s->nactive++] = (active_run){run_id, job_id, 0};
    return 0;
}

static void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int sched_take(sched *s, int timeout_ms, sched_run *out,
               sched_take_fn on_take, void *ctx)
{
    struct timespec deadline;
    if (timeout_ms > 0)
        deadline_after(&deadline, timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping && (s->paused || !s->jobs)) {
        if (timeout_ms == 0) {
            rc = -EAGAIN;
            goto out;
        }
        if (timeout_ms < 0) {
            pthread_cond_wait(&s->ready, &s->lock);
        } else if (pthread_cond_timedwait(&s->ready, &s->lock, &deadline) ==
                   ETIMEDOUT) {
            if (s->stopping || s->paused || !s->jobs) {
                rc = -EAGAIN;
                goto out;
            }
        }
    }
    if (s->stopping) {
        rc = -ESHUTDOWN;
        goto out;
    }
    sjob *j = s->jobs;
    rc = active_add(s, j->job_id, j->ids[j->head]);
    if (rc < 0)
        goto out;
    *out = (sched_run){j->job_id, j->ids[j->head], j->priority};
    j->head++;
    s->queued--;
    if (j->head == j->len)
        job_unlink(s, j);
    if (on_take)
        on_take(ctx, out);
out:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

enum run_poll sched_poll(sched *s, int64_t run_id)
{
    enum run_poll p = RUN_CONTINUE;
    pthread_mutex_lock(&s->lock);
    active_run *a = active_find(s, run_id);
    if (a && (a->flags & ACTIVE_CANCEL))
        p = RUN_CANCEL;
    else if (a && (a->flags & ACTIVE_SUSPEND))
        p = RUN_SUSPEND;
    pthread_mutex_unlock(&s->lock);
    return p;
}

void sched_release(sched *s, int64_t run_id)
{
    pthread_mutex_lock(&s->lock);
    active_run *a = active_find(s, run_id);
    if (a)
        *a = s->active[--s->nactive];
    pthread_mutex_unlock(&s->lock);
}

void sched_cancel_job(sched *s, int64_t job_id, long *dropped, long *flagged)
{
    long nd = 0, nf = 0;
    pthread_mutex_lock(&s->lock);
    for (sjob *j = s->jobs; j; j = j->next) {
        if (j->job_id == job_id) {
            nd = (long)(j->len - j->head);
            s->queued -= nd;
            job_unlink(s, j);
            break;
        }
    }
    for (size_t i = 0; i < s->nactive; i++) {
        if (s->active[i].job_id == job_id &&
            !(s->active[i].flags & ACTIVE_CANCEL)) {
            s->active[i].flags |= ACTIVE_CANCEL;
            nf++;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (dropped)
        *dropped = nd;
    if (flagged)
        *flagged = nf;
}

void sched_resume_job(sched *s, int64_t job_id, long *resumed)
{
    long n = 0;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nactive; i++) {
        active_run *a = &s->active[i];
        if (a->job_id == job_id &&
            (a->flags & (ACTIVE_CANCEL | ACTIVE_ENDED)) == ACTIVE_CANCEL) {
            a->flags &= ~ACTIVE_CANCEL;
            n++;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (resumed)
        *resumed = n;
}

void sched_end_canceled(sched *s, int64_t run_id, sched_end_fn on_end,
                        void *ctx)
{
    pthread_mutex_lock(&s->lock);
    active_run *a = active_find(s, run_id);
    bool canceled = !a || (a->flags & ACTIVE_CANCEL);
    if (a && canceled)
        a->flags |= ACTIVE_ENDED;
    on_end(ctx, canceled);
    pthread_mutex_unlock(&s->lock);
}

void sched_pause(sched *s, bool paused)
{
    pthread_mutex_lock(&s->lock);
    s->paused = paused;
    pthread_cond_broadcast(&s->ready);
    pthread_mutex_unlock(&s->lock);
}

void sched_stop(sched *s)
{
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    for (size_t i = 0; i < s->nactive; i++)
        s->active[i].flags |= ACTIVE_SUSPEND;
    pthread_cond_broadcast(&s->ready);
    pthread_mutex_unlock(&s->lock);
}

void sched_get_stats(sched *s, sched_stats *out)
{
    pthread_mutex_lock(&s->lock);
    out->queued = s->queued;
    out->active = (long)s->nactive;
    out->jobs = s->njobs;
    pthread_mutex_unlock(&s->lock);
}
