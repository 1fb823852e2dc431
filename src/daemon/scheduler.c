/* scheduler.c — priority queue of runs with cancellation (scheduler.h).
 *
 * Every operation is constant or logarithmic (issue 9 §5: a linear scan
 * of the active runs per push froze the store thread for 9.5 minutes
 * during a 1M-run submit): jobs and active runs are found through hash
 * maps (idmap.h), a job's active runs form an intrusive list, and the
 * jobs with queued runs sit in an array sorted by scheduling order, the
 * next one last, searched by bisection.
 *
 * Memory admission (issue 9): each run carries its estimate, and the
 * active runs' estimates are summed (reserved). Only the next run in the
 * scheduling order may start, and only when it fits beside the reserved
 * bytes; nothing overtakes it. That is the whole fairness rule: a big run
 * waits for running runs to end, and since no run starts meanwhile, the
 * reserved bytes only fall until it fits, so it is never starved by small
 * runs queued behind it (they wait with it: workers may idle while it
 * waits, the price of the guarantee). Looking past it for a run that fits
 * would also cost a scan of the queue, where every operation here is
 * O(1) or O(log). */
#include "scheduler.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "idmap.h"

/* A queue array this large is handed back to the kernel when it goes
 * (malloc_trim): the daemon keeps freed memory mapped otherwise. */
#define SCHED_TRIM_BYTES ((size_t)1 << 20)

#define CONTAINER_OF(p, type) ((type *)(void *)(p))  /* node is first */

struct sjob;

/* ACTIVE_ENDED: the run stopped on its cancel flag and its end is on the
 * way to the store, so a resume no longer applies to it. ACTIVE_HOLD: its
 * job was paused (sched_hold_job); kept apart from ACTIVE_SUSPEND so that
 * a resume never takes back a shutdown's suspension. */
enum { ACTIVE_CANCEL = 1, ACTIVE_SUSPEND = 2, ACTIVE_ENDED = 4,
       ACTIVE_HOLD = 8 };

typedef struct active_run {
    idmap_node node;                  /* key: the run id; first member */
    struct active_run *prev, *next;   /* its job's active runs */
    struct sjob *job;
    int flags;
    uint64_t est;                     /* its estimate, to requeue it */
    uint64_t bytes;                   /* reserved until it finishes */
} active_run;

/* A queued run: its id and memory estimate. */
typedef struct qrun {
    int64_t id;
    uint64_t bytes;
} qrun;

/* A job the scheduler holds runs of: ids[head..len) ascending are queued;
 * active lists the taken ones. It exists while either is non-empty, or
 * while it is held (paused): then its queued runs stay out of the order. */
typedef struct sjob {
    idmap_node node;                  /* key: the job id; first member */
    int priority;
    qrun *ids;
    size_t head, len, cap;
    active_run *active;
    bool ordered;                     /* in sched.order (runs queued) */
    bool held;                        /* paused: nothing of it is taken */
} sjob;

struct sched {
    pthread_mutex_t lock;
    pthread_cond_t ready;      /* a run was queued or released, or
                                  stop/unpause */
    idmap jobs;                /* sjob by job id */
    idmap active;              /* active_run by run id */
    sjob **order;              /* jobs with queued runs, next one last */
    size_t norder, order_cap;
    long queued;
    long held;                 /* queued runs of held jobs (not in queued) */
    long max_active;           /* <= 0: no bound */
    long waiting;              /* takers waiting for room */
    long waiting_memory;       /* takers waiting for the next run to fit */
    uint64_t mem_limit;        /* 0: no memory admission */
    uint64_t mem_reserved;     /* sum of the active metered runs' estimates */
    bool remote;               /* workers on other machines may connect */
    long long probes;          /* entries examined by lookups */
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
    idmap_init(&s->jobs, &s->probes);
    idmap_init(&s->active, &s->probes);
    *out = s;
    return 0;
}

static void free_job(idmap_node *n, void *ctx)
{
    (void)ctx;
    sjob *j = CONTAINER_OF(n, sjob);
    for (active_run *a = j->active, *next; a; a = next) {
        next = a->next;
        free(a);
    }
    free(j->ids);
    free(j);
}

void sched_free(sched *s)
{
    if (!s)
        return;
    idmap_each(&s->jobs, free_job, NULL);
    idmap_fini(&s->jobs);
    idmap_fini(&s->active);
    free(s->order);
    pthread_cond_destroy(&s->ready);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* <0 when job a is scheduled after job b: lower priority, or the same
 * priority and a later job id. */
static int rank_cmp(int prio_a, int64_t job_a, int prio_b, int64_t job_b)
{
    if (prio_a != prio_b)
        return prio_a < prio_b ? -1 : 1;
    return job_a > job_b ? -1 : job_a < job_b ? 1 : 0;
}

/* The first place in order whose job does not come after j. */
static size_t order_bound(sched *s, const sjob *j)
{
    size_t lo = 0, hi = s->norder;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        s->probes++;
        const sjob *m = s->order[mid];
        if (rank_cmp(m->priority, m->node.key, j->priority, j->node.key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int order_reserve(sched *s)
{
    if (s->norder < s->order_cap)
        return 0;
    size_t cap = s->order_cap ? s->order_cap * 2 : 16;
    sjob **o = realloc(s->order, cap * sizeof *o);
    if (!o)
        return -ENOMEM;
    s->order = o;
    s->order_cap = cap;
    return 0;
}

/* After order_reserve. */
static void order_insert(sched *s, sjob *j)
{
    size_t i = order_bound(s, j);
    memmove(s->order + i + 1, s->order + i, (s->norder - i) * sizeof *s->order);
    s->order[i] = j;
    s->norder++;
    j->ordered = true;
}

static void order_remove(sched *s, sjob *j)
{
    size_t i = s->order[s->norder - 1] == j ? s->norder - 1 : order_bound(s, j);
    memmove(s->order + i, s->order + i + 1,
            (s->norder - i - 1) * sizeof *s->order);
    s->norder--;
    j->ordered = false;
}

/* The job's entry, created when missing (not yet in the order). */
static sjob *job_get(sched *s, int64_t job_id, int priority)
{
    idmap_node *n = idmap_find(&s->jobs, job_id);
    if (n)
        return CONTAINER_OF(n, sjob);
    sjob *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->node.key = job_id;
    j->priority = priority;
    if (idmap_insert(&s->jobs, &j->node) < 0) {
        free(j);
        return NULL;
    }
    return j;
}

static sjob *job_find(sched *s, int64_t job_id)
{
    idmap_node *n = idmap_find(&s->jobs, job_id);
    return n ? CONTAINER_OF(n, sjob) : NULL;
}

/* Empties the job's queue; true when the array freed was large enough to
 * be worth handing back (malloc_trim, outside the lock). */
static bool job_clear_queue(sched *s, sjob *j)
{
    bool big = j->cap * sizeof *j->ids >= SCHED_TRIM_BYTES;
    if (j->ordered)
        order_remove(s, j);
    if (j->held)
        s->held -= (long)(j->len - j->head);
    else
        s->queued -= (long)(j->len - j->head);
    free(j->ids);
    j->ids = NULL;
    j->head = j->len = j->cap = 0;
    return big;
}

/* A job with nothing queued leaves the order; one with nothing active
 * either is freed. Returns job_clear_queue's verdict. */
static bool job_settle(sched *s, sjob *j)
{
    bool big = false;
    if (j->head == j->len)
        big = job_clear_queue(s, j);
    if (!j->ordered && !j->active && !j->held) {
        idmap_remove(&s->jobs, &j->node);
        free(j);
    }
    return big;
}

static void trim_if(bool big)
{
    if (big)
        malloc_trim(0);
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
    qrun *ids = realloc(j->ids, cap * sizeof *ids);
    if (!ids)
        return -ENOMEM;
    j->ids = ids;
    j->cap = cap;
    return 0;
}

/* Inserts run_id in order; -EEXIST if present. Appending (the usual case:
 * runs arrive in id order) is O(1), else a bisection and a move. */
static int job_insert(sched *s, sjob *j, int64_t run_id, uint64_t bytes)
{
    size_t lo = j->head, hi = j->len;
    if (lo < hi && run_id <= j->ids[hi - 1].id) {
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            s->probes++;
            if (j->ids[mid].id < run_id)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < j->len && j->ids[lo].id == run_id)
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
    j->ids[lo] = (qrun){run_id, bytes};
    j->len++;
    return 0;
}

static active_run *active_find(sched *s, int64_t run_id)
{
    idmap_node *n = idmap_find(&s->active, run_id);
    return n ? CONTAINER_OF(n, active_run) : NULL;
}

/* sched_push with the lock held; *big as job_settle says. */
static int push_locked(sched *s, int64_t job_id, int priority, int64_t run_id,
                       uint64_t mem_bytes, bool *big)
{
    if (s->stopping)
        return -ESHUTDOWN;
    if (active_find(s, run_id))
        return -EEXIST;
    sjob *j = job_get(s, job_id, priority);
    if (!j)
        return -ENOMEM;
    int rc = j->ordered || j->held ? 0 : order_reserve(s);
    if (rc == 0)
        rc = job_insert(s, j, run_id, mem_bytes);
    if (rc == 0 && j->held) {
        s->held++;   /* waits for sched_unhold_job */
    } else if (rc == 0) {
        if (!j->ordered)
            order_insert(s, j);
        s->queued++;
        pthread_cond_signal(&s->ready);
    } else {
        *big = job_settle(s, j);   /* created for nothing */
    }
    return rc;
}

int sched_push(sched *s, int64_t job_id, int priority, int64_t run_id,
               uint64_t mem_bytes)
{
    bool big = false;
    pthread_mutex_lock(&s->lock);
    int rc = push_locked(s, job_id, priority, run_id, mem_bytes, &big);
    pthread_mutex_unlock(&s->lock);
    trim_if(big);
    return rc;
}

static bool over_limit(const sched *s, uint64_t bytes)
{
    return s->mem_limit > 0 && bytes > s->mem_limit;
}

/* Takes the next queued run of the next job into the active set. A
 * metered run reserves its estimate; one over the limit reserves nothing
 * (its taker fails it at once), nor does an unmetered one (it runs on
 * another machine). */
static int active_take(sched *s, bool metered, sched_run *out, bool *big)
{
    sjob *j = s->order[s->norder - 1];
    active_run *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    qrun q = j->ids[j->head];
    a->node.key = q.id;
    if (idmap_insert(&s->active, &a->node) < 0) {
        free(a);
        return -ENOMEM;
    }
    a->job = j;
    a->next = j->active;
    if (j->active)
        j->active->prev = a;
    j->active = a;
    *out = (sched_run){j->node.key, a->node.key, j->priority, q.bytes,
                       metered && over_limit(s, q.bytes)};
    a->est = q.bytes;
    a->bytes = metered && !out->over_limit ? q.bytes : 0;
    s->mem_reserved += a->bytes;
    j->head++;
    s->queued--;
    *big = job_settle(s, j);
    return 0;
}

static void active_remove(sched *s, active_run *a)
{
    sjob *j = a->job;
    s->mem_reserved -= a->bytes;
    idmap_remove(&s->active, &a->node);
    if (a->prev)
        a->prev->next = a->next;
    else
        j->active = a->next;
    if (a->next)
        a->next->prev = a->prev;
    free(a);
    (void)job_settle(s, j);   /* its queue was empty or stays as it is */
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

static bool full(const sched *s)
{
    return s->max_active > 0 && (long)s->active.count >= s->max_active;
}

/* The next run does not fit beside the metered active ones' estimates,
 * for a metered taker. One over the limit is let through (to be failed),
 * unless workers of other machines may come for it; with nothing
 * reserved, every other one fits. */
static bool memory_short(const sched *s, bool metered)
{
    if (!metered || s->mem_limit == 0 || !s->norder)
        return false;
    const sjob *j = s->order[s->norder - 1];
    uint64_t need = j->ids[j->head].bytes;
    if (over_limit(s, need))
        return s->remote;
    return s->mem_reserved + need > s->mem_limit;
}

static bool cannot_take(const sched *s, bool metered)
{
    return !s->stopping &&
           (s->paused || !s->norder || full(s) || memory_short(s, metered));
}

static int take(sched *s, bool metered, int timeout_ms, sched_run *out,
                sched_take_fn on_take, void *ctx)
{
    struct timespec deadline;
    if (timeout_ms > 0)
        deadline_after(&deadline, timeout_ms);
    int rc = 0;
    bool big = false;
    pthread_mutex_lock(&s->lock);
    while (cannot_take(s, metered)) {
        if (timeout_ms == 0) {
            rc = -EAGAIN;
            goto out;
        }
        bool for_room = !s->paused && s->norder && full(s);
        bool for_memory = !s->paused && !for_room && memory_short(s, metered);
        s->waiting += for_room;
        s->waiting_memory += for_memory;
        int wrc = timeout_ms < 0
                      ? pthread_cond_wait(&s->ready, &s->lock)
                      : pthread_cond_timedwait(&s->ready, &s->lock, &deadline);
        s->waiting -= for_room;
        s->waiting_memory -= for_memory;
        if (wrc == ETIMEDOUT && cannot_take(s, metered)) {
            rc = -EAGAIN;
            goto out;
        }
    }
    if (s->stopping) {
        rc = -ESHUTDOWN;
        goto out;
    }
    if ((rc = active_take(s, metered, out, &big)) < 0)
        goto out;
    /* An unmetered taker may have taken the run metered ones waited
     * behind: the next may fit. */
    if (s->waiting_memory)
        pthread_cond_broadcast(&s->ready);
    if (on_take)
        on_take(ctx, out);
out:
    pthread_mutex_unlock(&s->lock);
    trim_if(big);
    return rc;
}

int sched_take(sched *s, int timeout_ms, sched_run *out,
               sched_take_fn on_take, void *ctx)
{
    return take(s, true, timeout_ms, out, on_take, ctx);
}

int sched_take_remote(sched *s, int timeout_ms, sched_run *out,
                      sched_take_fn on_take, void *ctx)
{
    return take(s, false, timeout_ms, out, on_take, ctx);
}

enum run_poll sched_poll(sched *s, int64_t run_id)
{
    enum run_poll p = RUN_CONTINUE;
    pthread_mutex_lock(&s->lock);
    active_run *a = active_find(s, run_id);
    if (a && (a->flags & ACTIVE_CANCEL))
        p = RUN_CANCEL;
    else if (a && (a->flags & (ACTIVE_SUSPEND | ACTIVE_HOLD)))
        p = RUN_SUSPEND;
    pthread_mutex_unlock(&s->lock);
    return p;
}

void sched_finished(sched *s, int64_t run_id)
{
    pthread_mutex_lock(&s->lock);
    active_run *a = active_find(s, run_id);
    if (a && a->bytes) {
        s->mem_reserved -= a->bytes;
        a->bytes = 0;
        pthread_cond_broadcast(&s->ready);
    }
    pthread_mutex_unlock(&s->lock);
}

void sched_release(sched *s, int64_t run_id)
{
    pthread_mutex_lock(&s->lock);
    active_run *a = active_find(s, run_id);
    if (a) {
        active_remove(s, a);
        /* Room for a taker that waited for it (and any other). */
        pthread_cond_broadcast(&s->ready);
    }
    pthread_mutex_unlock(&s->lock);
}

int sched_requeue(sched *s, int64_t run_id)
{
    bool big = false;
    int rc = -ENOENT;
    pthread_mutex_lock(&s->lock);
    active_run *a = active_find(s, run_id);
    if (a) {
        int64_t job_id = a->job->node.key;
        int priority = a->job->priority;
        uint64_t est = a->est;
        /* Canceled after its requeue was posted: the cancel, posted
         * after it (jobctl.h), ends it in the store; it must not run. */
        bool canceled = a->flags & ACTIVE_CANCEL;
        active_remove(s, a);
        pthread_cond_broadcast(&s->ready);
        rc = canceled ? -ECANCELED
                      : push_locked(s, job_id, priority, run_id, est, &big);
    }
    pthread_mutex_unlock(&s->lock);
    trim_if(big);
    return rc;
}

void sched_cancel_job(sched *s, int64_t job_id, long *dropped, long *flagged)
{
    long nd = 0, nf = 0;
    bool big = false;
    pthread_mutex_lock(&s->lock);
    sjob *j = job_find(s, job_id);
    if (j) {
        nd = (long)(j->len - j->head);
        for (active_run *a = j->active; a; a = a->next) {
            s->probes++;
            if (!(a->flags & ACTIVE_CANCEL)) {
                a->flags |= ACTIVE_CANCEL;
                nf++;
            }
        }
        big = job_clear_queue(s, j);
        (void)job_settle(s, j);
        /* the next run is another job's now, and may fit */
        pthread_cond_broadcast(&s->ready);
    }
    pthread_mutex_unlock(&s->lock);
    trim_if(big);
    if (dropped)
        *dropped = nd;
    if (flagged)
        *flagged = nf;
}

void sched_resume_job(sched *s, int64_t job_id, long *resumed)
{
    long n = 0;
    pthread_mutex_lock(&s->lock);
    sjob *j = job_find(s, job_id);
    for (active_run *a = j ? j->active : NULL; a; a = a->next) {
        s->probes++;
        if ((a->flags & (ACTIVE_CANCEL | ACTIVE_ENDED)) == ACTIVE_CANCEL) {
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

void sched_end_suspended(sched *s, int64_t run_id, sched_end_fn on_end,
                         void *ctx)
{
    pthread_mutex_lock(&s->lock);
    active_run *a = active_find(s, run_id);
    bool canceled = a && (a->flags & ACTIVE_CANCEL);
    if (canceled)
        a->flags |= ACTIVE_ENDED;
    on_end(ctx, canceled);
    pthread_mutex_unlock(&s->lock);
}

int sched_hold_job(sched *s, int64_t job_id, int priority, long *held,
                   long *stopping)
{
    long nf = 0, nh = 0;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    sjob *j = job_get(s, job_id, priority);
    if (!j) {
        rc = -ENOMEM;
        goto out;
    }
    if (!j->held) {
        if (j->ordered)
            order_remove(s, j);
        nh = (long)(j->len - j->head);
        s->queued -= nh;
        s->held += nh;
        j->held = true;
    }
    for (active_run *a = j->active; a; a = a->next) {
        s->probes++;
        if (!(a->flags & (ACTIVE_HOLD | ACTIVE_CANCEL))) {
            a->flags |= ACTIVE_HOLD;
            nf++;
        }
    }
    /* the next run is another job's now, and may fit */
    pthread_cond_broadcast(&s->ready);
out:
    pthread_mutex_unlock(&s->lock);
    if (held)
        *held = nh;
    if (stopping)
        *stopping = nf;
    return rc;
}

int sched_unhold_job(sched *s, int64_t job_id, long *released)
{
    long n = 0;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    sjob *j = job_find(s, job_id);
    if (!j || !j->held)
        goto out;
    for (active_run *a = j->active; a; a = a->next) {
        s->probes++;
        a->flags &= ~ACTIVE_HOLD;   /* one that has not stopped goes on */
    }
    n = (long)(j->len - j->head);
    if (n > 0 && (rc = order_reserve(s)) < 0)
        goto out;   /* still held: the caller may try again */
    j->held = false;
    s->held -= n;
    s->queued += n;
    if (n > 0) {
        order_insert(s, j);
        pthread_cond_broadcast(&s->ready);
    }
    (void)job_settle(s, j);
out:
    pthread_mutex_unlock(&s->lock);
    if (released)
        *released = n;
    return rc;
}

void sched_pause(sched *s, bool paused)
{
    pthread_mutex_lock(&s->lock);
    s->paused = paused;
    pthread_cond_broadcast(&s->ready);
    pthread_mutex_unlock(&s->lock);
}

void sched_limit_memory(sched *s, uint64_t bytes)
{
    pthread_mutex_lock(&s->lock);
    s->mem_limit = bytes;
    pthread_cond_broadcast(&s->ready);
    pthread_mutex_unlock(&s->lock);
}

uint64_t sched_memory_limit(sched *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t v = s->mem_limit;
    pthread_mutex_unlock(&s->lock);
    return v;
}

void sched_remote_workers(sched *s, bool may_connect)
{
    pthread_mutex_lock(&s->lock);
    s->remote = may_connect;
    pthread_cond_broadcast(&s->ready);
    pthread_mutex_unlock(&s->lock);
}

uint64_t sched_memory_ceiling(sched *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t v = s->remote ? 0 : s->mem_limit;
    pthread_mutex_unlock(&s->lock);
    return v;
}

void sched_limit_active(sched *s, long max_active)
{
    pthread_mutex_lock(&s->lock);
    s->max_active = max_active;
    pthread_cond_broadcast(&s->ready);
    pthread_mutex_unlock(&s->lock);
}

static void suspend_run(idmap_node *n, void *ctx)
{
    (void)ctx;
    CONTAINER_OF(n, active_run)->flags |= ACTIVE_SUSPEND;
}

void sched_stop(sched *s)
{
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    idmap_each(&s->active, suspend_run, NULL);
    pthread_cond_broadcast(&s->ready);
    pthread_mutex_unlock(&s->lock);
}

void sched_get_stats(sched *s, sched_stats *out)
{
    pthread_mutex_lock(&s->lock);
    out->queued = s->queued;
    out->held = s->held;
    out->active = (long)s->active.count;
    out->jobs = (long)s->norder;
    out->waiting = s->waiting;
    out->waiting_memory = s->waiting_memory;
    out->mem_limit = s->mem_limit;
    out->mem_reserved = s->mem_reserved;
    out->probes = s->probes;
    pthread_mutex_unlock(&s->lock);
}
