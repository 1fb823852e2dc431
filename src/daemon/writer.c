/* writer.c — the store thread: the request queue, grouping requests into
 * transactions, commit-then-notify, the fault state and the WAL
 * (writer.h). What each request does is jobops.c's and reports.c's. */
#include "writer_internal.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

/* Requests per transaction: bounds how long one commit holds the write
 * lock and how much one rollback throws away. */
#define WRITER_MAX_GROUP 4096

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* --- requests --- */

static wreq *wreq_new(wreq_kind kind)
{
    wreq *r = calloc(1, sizeof *r);
    if (r)
        r->kind = kind;
    return r;
}

static void wreq_free(wreq *r)
{
    if (!r)
        return;
    switch (r->kind) {
    case WQ_SUBMIT: spec_free(r->u.spec); break;
    case WQ_EXTEND: spec_free(r->u.extend.spec); break;
    case WQ_CURVE: free(r->u.curve.pts); break;
    case WQ_CHECKPOINT: free(r->u.ck.data); break;
    case WQ_FINISH:
    case WQ_LOST:
        free(r->u.finish.result);
        free(r->u.finish.arrays);
        free(r->u.finish.error);
        break;
    case WQ_SLURM: free(r->u.slurm.script); break;
    case WQ_PAIR: free(r->u.pair.pair); break;
    default: break;
    }
    free(r->rc_error);
    free(r);
}

static bool is_job_op(const wreq *r)
{
    return r->kind == WQ_CANCEL || r->kind == WQ_RETRY ||
           r->kind == WQ_DELETE || r->kind == WQ_SLURM ||
           r->kind == WQ_PAUSE || r->kind == WQ_RESUME;
}

static bool is_report(const wreq *r)
{
    return r->kind >= WQ_START;
}

/* A client's request is refused once stopping began; run reports are
 * taken until the thread has exited (the workers are joined before). */
static int post(writer *w, wreq *r)
{
    pthread_mutex_lock(&w->lock);
    if (w->exited || (!is_report(r) && w->stopping)) {
        pthread_mutex_unlock(&w->lock);
        if (is_report(r))
            log_warn("run %lld: report after the store thread stopped; "
                     "dropped (the run is recovered at the next start)",
                     (long long)r->run_id);
        wreq_free(r);
        return -ESHUTDOWN;
    }
    if (w->tail)
        w->tail->next = r;
    else
        w->head = r;
    w->tail = r;
    atomic_fetch_add(&w->backlog, 1);
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

int writer_submit(writer *w, uint64_t tag, job_spec *spec)
{
    wreq *r = wreq_new(WQ_SUBMIT);
    if (!r) {
        spec_free(spec);
        return -ENOMEM;
    }
    r->tag = tag;
    r->u.spec = spec;
    return post(w, r);
}

static int post_job_op(writer *w, wreq_kind kind, uint64_t tag,
                       int64_t job_id)
{
    wreq *r = wreq_new(kind);
    if (!r)
        return -ENOMEM;
    r->tag = tag;
    r->job_id = job_id;
    return post(w, r);
}

int writer_cancel(writer *w, uint64_t tag, int64_t job_id)
{
    return post_job_op(w, WQ_CANCEL, tag, job_id);
}

int writer_retry(writer *w, uint64_t tag, int64_t job_id)
{
    return post_job_op(w, WQ_RETRY, tag, job_id);
}

int writer_pause(writer *w, uint64_t tag, int64_t job_id, int priority,
                 bool pause)
{
    wreq *r = wreq_new(pause ? WQ_PAUSE : WQ_RESUME);
    if (!r)
        return -ENOMEM;
    r->tag = tag;
    r->job_id = job_id;
    r->priority = priority;
    return post(w, r);
}

int writer_extend(writer *w, uint64_t tag, int64_t job_id, int priority,
                  job_spec *spec, long seeds)
{
    wreq *r = wreq_new(WQ_EXTEND);
    if (!r) {
        spec_free(spec);
        return -ENOMEM;
    }
    r->tag = tag;
    r->job_id = job_id;
    r->priority = priority;
    r->u.extend.spec = spec;
    r->u.extend.seeds = seeds;
    return post(w, r);
}

int writer_delete(writer *w, uint64_t tag, int64_t job_id)
{
    return post_job_op(w, WQ_DELETE, tag, job_id);
}

int writer_runs(writer *w, uint64_t tag, int64_t job_id, long from_index,
                int limit)
{
    wreq *r = wreq_new(WQ_RUNS);
    if (!r)
        return -ENOMEM;
    r->tag = tag;
    r->job_id = job_id;
    r->u.runs.from_index = from_index < 0 ? 0 : from_index;
    r->u.runs.limit = limit < 1 ? 1
                      : limit > WRITER_MAX_RUNS_PAGE ? WRITER_MAX_RUNS_PAGE
                                                     : limit;
    return post(w, r);
}

int writer_slurm_record(writer *w, uint64_t tag, int64_t job_id,
                        int64_t slurm_job, long tasks, const char *script)
{
    wreq *r = wreq_new(WQ_SLURM);
    if (!r || !(r->u.slurm.script = strdup(script))) {
        free(r);
        return -ENOMEM;
    }
    r->tag = tag;
    r->job_id = job_id;
    r->u.slurm.slurm_job = slurm_job;
    r->u.slurm.tasks = tasks;
    return post(w, r);
}

/* --- run reports --- */

static wreq *report_new(wreq_kind kind, const writer_run *run)
{
    wreq *r = wreq_new(kind);
    if (!r) {
        log_error("run %lld: out of memory recording a report; the run is "
                  "recovered at the next start",
                  (long long)run->run_id);
        return NULL;
    }
    r->job_id = run->job_id;
    r->run_id = run->run_id;
    r->priority = run->priority;
    return r;
}

int writer_run_start(writer *w, const writer_run *run)
{
    wreq *r = report_new(WQ_START, run);
    return r ? post(w, r) : -ENOMEM;
}

int writer_run_curve(writer *w, const writer_run *run,
                     const curve_point *pts, int n)
{
    wreq *r = report_new(WQ_CURVE, run);
    if (r)
        r->u.curve.pts = malloc((size_t)n * sizeof *pts);
    if (!r || !r->u.curve.pts) {
        wreq_free(r);
        log_error("run %lld: out of memory; %d curve points dropped",
                  (long long)run->run_id, n);
        return -ENOMEM;
    }
    memcpy(r->u.curve.pts, pts, (size_t)n * sizeof *pts);
    r->u.curve.n = n;
    return post(w, r);
}

int writer_run_checkpoint(writer *w, const writer_run *run,
                          const checkpoint *ck)
{
    wreq *r = report_new(WQ_CHECKPOINT, run);
    if (r)
        r->u.ck.data = malloc(ck->len ? ck->len : 1);
    if (!r || !r->u.ck.data) {
        wreq_free(r);
        return -ENOMEM;
    }
    memcpy(r->u.ck.data, ck->data, ck->len);
    r->u.ck.len = ck->len;
    r->u.ck.step = ck->step;
    return post(w, r);
}

int writer_run_finish(writer *w, const writer_run *run, enum run_state state,
                      const run_result *res, const run_arrays *arrays,
                      const char *error)
{
    wreq *r = report_new(WQ_FINISH, run);
    if (!r)
        return -ENOMEM;
    r->u.finish.state = state;
    if ((res && !(r->u.finish.result = malloc(sizeof *res))) ||
        (arrays && !(r->u.finish.arrays = run_arrays_copy(arrays))) ||
        (error && !(r->u.finish.error = strdup(error)))) {
        wreq_free(r);
        return -ENOMEM;
    }
    if (res)
        *r->u.finish.result = *res;
    return post(w, r);
}

int writer_run_requeue(writer *w, const writer_run *run)
{
    wreq *r = report_new(WQ_REQUEUE, run);
    return r ? post(w, r) : -ENOMEM;
}

int writer_run_lost(writer *w, const writer_run *run, const char *why)
{
    wreq *r = report_new(WQ_LOST, run);
    if (r && !(r->u.finish.error = strdup(why))) {
        wreq_free(r);
        r = NULL;
    }
    return r ? post(w, r) : -ENOMEM;
}

int writer_pair(writer *w, int64_t job_id, int64_t run_a, int64_t run_b,
                const run_pair *p)
{
    wreq *r = wreq_new(WQ_PAIR);
    if (!r || !(r->u.pair.pair = malloc(sizeof *p))) {
        free(r);
        return -ENOMEM;
    }
    r->job_id = job_id;
    r->run_id = run_a;
    r->u.pair.run_b = run_b;
    *r->u.pair.pair = *p;
    return post(w, r);
}

void writer_on_done(writer *w, writer_done_fn fn, void *ctx)
{
    w->on_done = fn;
    w->on_done_ctx = ctx;
}

bool writer_faulted(writer *w, char *msg, size_t len)
{
    bool f = atomic_load(&w->faulted);
    if (f && msg && len) {
        pthread_mutex_lock(&w->evlock);
        snprintf(msg, len, "%s", w->fault_msg);
        pthread_mutex_unlock(&w->evlock);
    }
    return f;
}

long writer_backlog(writer *w)
{
    return atomic_load(&w->backlog);
}

/* --- the fault state --- */

static int enter_fault(writer *w, int rc, const char *err)
{
    if (!atomic_load(&w->faulted)) {
        log_error("database write failed: %s; refusing submissions and "
                  "holding results in memory until it works again",
                  err);
        pthread_mutex_lock(&w->evlock);
        snprintf(w->fault_msg, sizeof w->fault_msg, "%s", err);
        pthread_mutex_unlock(&w->evlock);
        atomic_store(&w->faulted, true);
        sched_pause(w->sc, true);
        writer_event *ev = wev_add(w, WEV_FAULT, NULL);
        if (ev) {
            ev->rc = rc;
            ev->error = strdup(err);
        }
        wev_publish(w);
        w->retry_delay = WRITER_RETRY_MIN_S;
    } else {
        log_debug("database still refuses writes: %s", err);
        w->retry_delay *= 2;
        if (w->retry_delay > WRITER_RETRY_MAX_S || w->draining)
            w->retry_delay = w->draining ? WRITER_RETRY_MIN_S
                                         : WRITER_RETRY_MAX_S;
    }
    w->next_retry = now_s() + w->retry_delay;
    return rc;
}

static void clear_fault(writer *w)
{
    if (!atomic_load(&w->faulted))
        return;
    log_info("database writes work again; results held in memory are "
             "stored, submissions accepted");
    atomic_store(&w->faulted, false);
    sched_pause(w->sc, false);
    wev_add(w, WEV_FAULT_CLEARED, NULL);
    wev_publish(w);
}

/* --- applying requests --- */

/* Inside a group's transaction: returns a fault code (the transaction
 * must be rolled back) or 0; a request's own failure is in r->rc. RUNS
 * is a read, served after the commit; SUBMIT is never grouped. */
static int apply_one(writer *w, wreq *r)
{
    char err[ERR_LEN] = "";
    int rc = 0;
    if (is_job_op(r))
        rc = jobops_apply(w, r, err, sizeof err);
    else if (is_report(r))
        rc = reports_apply(w, r, err, sizeof err);
    return writer_is_fault(rc) ? rc : 0;
}

/* [first, stop) in one transaction. 0, or a fault code with err. */
static int apply_group(writer *w, wreq *first, wreq *stop, char *err,
                       size_t errlen)
{
    int rc = store_begin(w->st, err, errlen);
    if (rc < 0)
        return writer_is_fault(rc) ? rc : -EIO;
    for (wreq *r = first; r != stop; r = r->next) {
        rc = apply_one(w, r);
        if (rc < 0) {
            snprintf(err, errlen, "%s", r->rc_error ? r->rc_error : "?");
            store_rollback(w->st);
            return rc;
        }
    }
    rc = store_commit(w->st, err, errlen);
    return rc < 0 ? (writer_is_fault(rc) ? rc : -EIO) : 0;
}

/* What a committed request makes visible. */
static void after_commit(writer *w, wreq *r)
{
    if (is_job_op(r))
        jobops_after(w, r);
    else if (r->kind == WQ_RUNS)
        jobops_serve_runs(w, r);
    else if (is_report(r))
        reports_after(w, r);
}

/* --- the store thread --- */

static wreq *pending_pop(writer *w)
{
    wreq *r = w->pending;
    w->pending = r->next;
    if (!w->pending)
        w->pending_tail = NULL;
    r->next = NULL;
    return r;
}

static void done_with(writer *w, wreq *r)
{
    atomic_fetch_sub(&w->backlog, 1);
    wreq_free(r);
}

/* The requests up to stop are committed: what they make visible, then
 * they are done. */
static void group_committed(writer *w, wreq *stop)
{
    w->wal_dirty = true;
    while (w->pending != stop) {
        wreq *q = pending_pop(w);
        after_commit(w, q);
        done_with(w, q);
    }
    wev_publish(w);
}

static int commit_reports(writer *w, char *err, size_t errlen);

/* Works through pending in order. 0 when all is committed, or a fault code
 * with pending still holding the failed group at its head. */
static int process_pending(writer *w)
{
    while (w->pending) {
        char err[ERR_LEN] = "";
        wreq *r = w->pending;
        if (r->kind == WQ_SUBMIT || r->kind == WQ_EXTEND) {
            /* Tried even in the fault state (the loop refuses most
             * submissions then; this one raced it): it is as good a probe
             * of the disk as any retry. */
            pending_pop(w);
            int rc = r->kind == WQ_SUBMIT
                         ? jobops_submit(w, r, commit_reports, err, sizeof err)
                         : jobops_extend(w, r, err, sizeof err);
            done_with(w, r);
            if (rc < 0)
                return enter_fault(w, rc, err);
            if (rc > 0)
                clear_fault(w);
            continue;
        }
        wreq *stop = r;
        for (int n = 0; stop && stop->kind != WQ_SUBMIT &&
                        stop->kind != WQ_EXTEND && n < WRITER_MAX_GROUP;
             n++)
            stop = stop->next;
        int rc = apply_group(w, r, stop, err, sizeof err);
        if (rc < 0)
            return enter_fault(w, rc, err);
        clear_fault(w);
        group_committed(w, stop);
    }
    return 0;
}

/* The requests posted since the store thread last looked, onto pending.
 * Lock held. */
static void take_queue(writer *w)
{
    if (!w->head)
        return;
    if (w->pending_tail)
        w->pending_tail->next = w->head;
    else
        w->pending = w->head;
    w->pending_tail = w->tail;
    w->head = w->tail = NULL;
}

/* Between the chunks of a large submission: the run reports queued
 * meanwhile, up to the first job operation, applied and committed on
 * their own (jobops_between_fn). On a fault they stay pending for the
 * store thread's retries. */
static int commit_reports(writer *w, char *err, size_t errlen)
{
    pthread_mutex_lock(&w->lock);
    take_queue(w);
    pthread_mutex_unlock(&w->lock);
    wreq *stop = w->pending;
    for (int n = 0; stop && is_report(stop) && n < WRITER_MAX_GROUP; n++)
        stop = stop->next;
    if (stop == w->pending)
        return 0;
    int rc = apply_group(w, w->pending, stop, err, errlen);
    if (rc < 0)
        return rc;
    group_committed(w, stop);
    return 0;
}

/* In the fault state, reads are still answered. */
static void serve_reads(writer *w)
{
    wreq **pp = &w->pending;
    wreq *prev = NULL;
    while (*pp) {
        wreq *r = *pp;
        if (r->kind != WQ_RUNS) {
            prev = r;
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        if (w->pending_tail == r)
            w->pending_tail = prev;
        jobops_serve_runs(w, r);
        done_with(w, r);
    }
    wev_publish(w);
}

static void wal_checkpoint(writer *w, bool force)
{
    double t = now_s();
    if (!w->wal_dirty || atomic_load(&w->faulted) ||
        (!force && t - w->last_wal < WRITER_WAL_CHECKPOINT_S))
        return;
    char err[ERR_LEN];
    if (store_wal_checkpoint(w->st, err, sizeof err) < 0)
        log_warn("WAL checkpoint: %s", err);
    w->last_wal = t;
    w->wal_dirty = false;
}

static void drop_pending(writer *w)
{
    long n = 0;
    while (w->pending) {
        done_with(w, pending_pop(w));
        n++;
    }
    if (n)
        log_error("%ld requests were not stored before shutdown; their runs "
                  "stay running in the database and are recovered at the "
                  "next start",
                  n);
}

static void timed_wait(writer *w, double until)
{
    struct timespec ts;
    double secs = floor(until);
    ts.tv_sec = (time_t)secs;
    ts.tv_nsec = (long)((until - secs) * 1e9);
    pthread_cond_timedwait(&w->wake, &w->lock, &ts);
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    double deadline = 0;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        take_queue(w);
        bool stopping = w->stopping;
        if (stopping && deadline == 0) {
            deadline = now_s() + w->grace_s;
            w->draining = true;
            w->next_retry = now_s();   /* the last chance: no backoff */
        }
        pthread_mutex_unlock(&w->lock);

        bool faulted = atomic_load(&w->faulted);
        if (w->pending && (!faulted || now_s() >= w->next_retry))
            process_pending(w);
        else if (w->pending)
            serve_reads(w);
        wal_checkpoint(w, false);

        pthread_mutex_lock(&w->lock);
        if (w->head)
            continue;
        if (stopping && (!w->pending || now_s() >= deadline))
            break;
        double until = now_s() + 1.0;   /* the WAL checkpoint's tick */
        if (w->pending && atomic_load(&w->faulted) && w->next_retry < until)
            until = w->next_retry;
        if (stopping && deadline < until)
            until = deadline;
        timed_wait(w, until);
    }
    w->exited = true;
    pthread_mutex_unlock(&w->lock);
    drop_pending(w);
    wal_checkpoint(w, true);
    return NULL;
}

/* --- life cycle --- */

int writer_new(store *st, sched *sc, writer_notify_fn notify, void *ctx,
               writer **out, char *err, size_t errlen)
{
    writer *w = calloc(1, sizeof *w);
    if (!w)
        return err_set(err, errlen, -ENOMEM, "out of memory");
    w->st = st;
    w->sc = sc;
    w->notify = notify;
    w->notify_ctx = ctx;
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->evlock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    w->retry_delay = WRITER_RETRY_MIN_S;
    w->last_wal = now_s();
    *out = w;
    return 0;
}

int writer_start(writer *w, char *err, size_t errlen)
{
    int e = pthread_create(&w->thread, NULL, writer_main, w);
    if (e != 0)
        return err_set(err, errlen, -e, "cannot start the store thread: %s",
                       strerror(e));
    w->started = true;
    return 0;
}

void writer_stop(writer *w, double grace_s)
{
    if (!w->started)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    w->grace_s = grace_s;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    w->started = false;
}

void writer_free(writer *w)
{
    if (!w)
        return;
    writer_stop(w, 0);
    for (wreq *r = w->head, *n; r; r = n) {
        n = r->next;
        wreq_free(r);
    }
    wev_discard(w);
    for (writer_event *ev = writer_events(w), *n; ev; ev = n) {
        n = ev->next;
        writer_event_free(ev);
    }
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->evlock);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
