/* writer.c — the store thread: batched transactions, commit-then-notify,
 * store faults, and the daemon's side of the worker interface (writer.h). */
#include "writer.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "log.h"

/* Requests per transaction: bounds how long one commit holds the write
 * lock and how much one rollback throws away. */
#define WRITER_MAX_GROUP 4096

typedef enum wreq_kind {
    WQ_SUBMIT, WQ_START, WQ_CURVE, WQ_CHECKPOINT, WQ_FINISH, WQ_REQUEUE,
    WQ_CANCEL, WQ_RETRY, WQ_RUNS
} wreq_kind;

typedef struct wreq {
    struct wreq *next;
    wreq_kind kind;
    uint64_t tag;
    int64_t job_id, run_id;
    int priority;
    job_spec *spec;                /* SUBMIT, owned */
    curve_point *pts;              /* CURVE, owned */
    int npts;
    void *ck;                      /* CHECKPOINT, owned */
    size_t ck_len;
    long ck_step;
    enum run_state state;          /* FINISH */
    bool has_result;
    run_result result;
    char *error;                   /* FINISH: the run's reason, owned */
    long from_index;               /* RUNS */
    int limit;
    /* Outcome of the last application (rewritten on a retry). */
    int rc;
    long n;
    job_counts counts;             /* CANCEL/RETRY: the job right after it */
    char *rc_error;                /* owned */
} wreq;

struct writer {
    store *st;
    sched *sc;
    writer_notify_fn notify;
    void *notify_ctx;
    worker_host host;

    pthread_t thread;
    bool started;
    pthread_mutex_t lock;          /* the request queue and stopping */
    pthread_cond_t wake;
    wreq *head, *tail;
    bool stopping, exited;
    double grace_s;

    pthread_mutex_t evlock;        /* the event queue and fault_msg */
    writer_event *ev_head, *ev_tail;
    char fault_msg[ERR_LEN];
    atomic_bool faulted;
    atomic_long backlog;           /* requests posted and not yet done */

    /* Store thread only. */
    wreq *pending, *pending_tail;  /* taken from the queue, not committed */
    writer_event *out_head, *out_tail;   /* events of the current commit */
    double next_retry, retry_delay;
    double last_wal;
    bool wal_dirty;
    bool draining;                 /* stopping: retry faults without backoff */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static bool is_fault(int rc)
{
    return rc == -EIO || rc == -ENOSPC;
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
    spec_free(r->spec);
    free(r->pts);
    free(r->ck);
    free(r->error);
    free(r->rc_error);
    free(r);
}

/* user: a client's request, refused once stopping began; run reports are
 * taken until the thread has exited (the pool is joined before). */
static int post(writer *w, wreq *r, bool user)
{
    pthread_mutex_lock(&w->lock);
    if (w->exited || (user && w->stopping)) {
        pthread_mutex_unlock(&w->lock);
        if (!user)
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
    r->spec = spec;
    return post(w, r, true);
}

static int post_job_op(writer *w, wreq_kind kind, uint64_t tag,
                       int64_t job_id)
{
    wreq *r = wreq_new(kind);
    if (!r)
        return -ENOMEM;
    r->tag = tag;
    r->job_id = job_id;
    return post(w, r, true);
}

int writer_cancel(writer *w, uint64_t tag, int64_t job_id)
{
    return post_job_op(w, WQ_CANCEL, tag, job_id);
}

int writer_retry(writer *w, uint64_t tag, int64_t job_id)
{
    return post_job_op(w, WQ_RETRY, tag, job_id);
}

int writer_runs(writer *w, uint64_t tag, int64_t job_id, long from_index,
                int limit)
{
    wreq *r = wreq_new(WQ_RUNS);
    if (!r)
        return -ENOMEM;
    r->tag = tag;
    r->job_id = job_id;
    r->from_index = from_index < 0 ? 0 : from_index;
    r->limit = limit < 1 ? 1
               : limit > WRITER_MAX_RUNS_PAGE ? WRITER_MAX_RUNS_PAGE
                                              : limit;
    return post(w, r, true);
}

/* --- events --- */

void writer_event_free(writer_event *ev)
{
    if (!ev)
        return;
    for (int i = 0; i < ev->nrows; i++)
        free(ev->rows[i].error);
    free(ev->rows);
    free(ev->error);
    free(ev->name);
    free(ev);
}

/* A new event on the current commit's list (published after it). */
static writer_event *event_add(writer *w, writer_event_kind kind,
                               const wreq *r)
{
    writer_event *ev = calloc(1, sizeof *ev);
    if (!ev) {
        log_error("out of memory queueing an event; a client may miss a "
                  "reply or a progress count");
        return NULL;
    }
    ev->kind = kind;
    if (r) {
        ev->tag = r->tag;
        ev->job_id = r->job_id;
        ev->run_id = r->run_id;
    }
    if (w->out_tail)
        w->out_tail->next = ev;
    else
        w->out_head = ev;
    w->out_tail = ev;
    return ev;
}

static void events_discard(writer *w)
{
    for (writer_event *ev = w->out_head, *n; ev; ev = n) {
        n = ev->next;
        writer_event_free(ev);
    }
    w->out_head = w->out_tail = NULL;
}

static void events_publish(writer *w)
{
    if (!w->out_head)
        return;
    pthread_mutex_lock(&w->evlock);
    if (w->ev_tail)
        w->ev_tail->next = w->out_head;
    else
        w->ev_head = w->out_head;
    w->ev_tail = w->out_tail;
    pthread_mutex_unlock(&w->evlock);
    w->out_head = w->out_tail = NULL;
    if (w->notify)
        w->notify(w->notify_ctx);
}

writer_event *writer_events(writer *w)
{
    pthread_mutex_lock(&w->evlock);
    writer_event *ev = w->ev_head;
    w->ev_head = w->ev_tail = NULL;
    pthread_mutex_unlock(&w->evlock);
    return ev;
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
        writer_event *ev = event_add(w, WEV_FAULT, NULL);
        if (ev) {
            ev->rc = rc;
            ev->error = strdup(err);
        }
        events_publish(w);
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
    event_add(w, WEV_FAULT_CLEARED, NULL);
    events_publish(w);
}

/* --- applying requests (inside a transaction) --- */

static void set_rc(wreq *r, int rc, const char *err)
{
    r->rc = rc;
    free(r->rc_error);
    r->rc_error = rc < 0 ? strdup(err) : NULL;
}

/* Returns a fault code (the transaction must be rolled back) or 0; a
 * request-level failure is recorded in r->rc and logged. */
static int apply_one(writer *w, wreq *r)
{
    char err[ERR_LEN] = "";
    int rc = 0;
    r->n = 0;
    switch (r->kind) {
    case WQ_START:
        rc = store_run_start(w->st, r->run_id, err, sizeof err);
        break;
    case WQ_CURVE:
        rc = store_curve_insert(w->st, r->run_id, r->pts, r->npts, err,
                                sizeof err);
        break;
    case WQ_CHECKPOINT: {
        checkpoint ck = {r->ck, r->ck_len, r->ck_step};
        rc = store_checkpoint_put(w->st, r->run_id, &ck, err, sizeof err);
        break;
    }
    case WQ_FINISH:
        rc = store_run_finish(w->st, r->run_id, r->state,
                              r->has_result ? &r->result : NULL, r->error,
                              err, sizeof err);
        break;
    case WQ_REQUEUE:
        rc = store_run_requeue(w->st, r->run_id, err, sizeof err);
        break;
    case WQ_CANCEL:
    case WQ_RETRY:
        rc = r->kind == WQ_CANCEL
                 ? store_job_cancel(w->st, r->job_id, &r->n, err, sizeof err)
                 : store_job_retry(w->st, r->job_id, &r->n, err, sizeof err);
        /* Counted here, inside the transaction, so that the snapshot sits
         * exactly where the request does in the event order: the run
         * events after it in this group are deltas on top of it. */
        if (rc == 0)
            rc = store_job_counts(w->st, r->job_id, &r->counts, err,
                                  sizeof err);
        break;
    case WQ_RUNS:     /* a read: served after the commit */
    case WQ_SUBMIT:   /* never grouped */
        break;
    }
    set_rc(r, rc, err);
    if (is_fault(rc))
        return rc;
    if (rc < 0 && r->kind != WQ_CANCEL && r->kind != WQ_RETRY)
        log_warn("run %lld: %s", (long long)r->run_id, err);
    return 0;
}

/* [first, stop) in one transaction. 0, or a fault code with err. */
static int apply_group(writer *w, wreq *first, wreq *stop, char *err,
                       size_t errlen)
{
    int rc = store_begin(w->st, err, errlen);
    if (rc < 0)
        return is_fault(rc) ? rc : -EIO;
    for (wreq *r = first; r != stop; r = r->next) {
        rc = apply_one(w, r);
        if (rc < 0) {
            snprintf(err, errlen, "%s", r->rc_error ? r->rc_error : "?");
            store_rollback(w->st);
            return rc;
        }
    }
    rc = store_commit(w->st, err, errlen);
    return rc < 0 ? (is_fault(rc) ? rc : -EIO) : 0;
}

/* --- after the commit --- */

typedef struct queue_filter {
    writer *w;
    int64_t job_id;
    long pushed;
} queue_filter;

static int push_job_runs(void *ctx, int64_t job_id, int priority,
                         int64_t run_id)
{
    queue_filter *f = ctx;
    if (job_id == f->job_id && sched_push(f->w->sc, job_id, priority,
                                          run_id) == 0)
        f->pushed++;
    return 0;
}

static void job_op_event(writer *w, wreq *r, writer_event_kind kind)
{
    writer_event *ev = event_add(w, kind, r);
    if (!ev)
        return;
    ev->rc = r->rc;
    ev->n = r->n;
    if (r->rc < 0) {
        ev->error = r->rc_error ? strdup(r->rc_error) : NULL;
        return;
    }
    ev->counts = r->counts;
    if (kind == WEV_RETRIED) {
        char err[ERR_LEN];
        /* The runs just queued again enter the scheduler; runs it holds
         * already (queued, or leased and not yet stored) are refused by
         * sched_push, so none runs twice. */
        queue_filter f = {w, r->job_id, 0};
        if (store_queue_load(w->st, push_job_runs, &f, err, sizeof err) < 0)
            log_error("job %lld: retried runs not scheduled: %s",
                      (long long)r->job_id, err);
    }
}

typedef struct runs_page {
    writer_event *ev;
    int limit;
} runs_page;

static int collect_run(void *ctx, const store_run_info *ri)
{
    runs_page *p = ctx;
    writer_event *ev = p->ev;
    if (ev->nrows == p->limit) {
        ev->next_index = ri->index;   /* one more exists: the next page */
        return 1;
    }
    writer_run_row *row = &ev->rows[ev->nrows++];
    *row = (writer_run_row){ri->run_id, ri->index, ri->state, ri->attempts,
                            ri->error ? strdup(ri->error) : NULL, ri->gap,
                            ri->train_loss, ri->lin_loss};
    return 0;
}

static void serve_runs(writer *w, wreq *r)
{
    writer_event *ev = event_add(w, WEV_RUNS, r);
    if (!ev)
        return;
    ev->next_index = -1;
    ev->rows = calloc((size_t)r->limit, sizeof *ev->rows);
    if (!ev->rows) {
        ev->rc = -ENOMEM;
        ev->error = strdup("out of memory");
        return;
    }
    char err[ERR_LEN];
    runs_page p = {ev, r->limit};
    int rc = store_run_list(w->st, r->job_id, r->from_index, collect_run, &p,
                            err, sizeof err);
    if (rc < 0) {
        ev->rc = rc;
        ev->store_error = rc != -ENOENT;
        ev->error = strdup(err);
    }
}

/* What a committed request makes visible. */
static void after_commit(writer *w, wreq *r)
{
    writer_event *ev;
    switch (r->kind) {
    case WQ_START:
        if (r->rc == 0)
            event_add(w, WEV_RUN_STARTED, r);
        break;
    case WQ_FINISH:
        sched_release(w->sc, r->run_id);
        if (r->rc == 0 && (ev = event_add(w, WEV_RUN_ENDED, r)))
            ev->state = r->state;
        break;
    case WQ_REQUEUE:
        sched_release(w->sc, r->run_id);
        if (r->rc == 0) {
            event_add(w, WEV_RUN_REQUEUED, r);
            /* At shutdown the scheduler refuses; otherwise (an engine
             * that suspended on its own) the run waits its turn again. */
            (void)sched_push(w->sc, r->job_id, r->priority, r->run_id);
        }
        break;
    case WQ_CANCEL:
        job_op_event(w, r, WEV_CANCELED);
        break;
    case WQ_RETRY:
        job_op_event(w, r, WEV_RETRIED);
        break;
    case WQ_RUNS:
        serve_runs(w, r);
        break;
    case WQ_CURVE:
    case WQ_CHECKPOINT:
    case WQ_SUBMIT:
        break;
    }
}

/* --- submissions --- */

typedef struct submit_ctx {
    writer *w;
    int64_t job_id;
    int priority;
    int64_t *ids;
    int store_rc;
} submit_ctx;

static int submit_emit(void *ctx, long index, const run_config *cfg,
                       const char *config_json, char *err, size_t errlen)
{
    submit_ctx *c = ctx;
    int rc = store_run_insert(c->w->st, c->job_id, index, c->priority, cfg,
                              config_json, &c->ids[index], err, errlen);
    if (rc < 0)
        c->store_rc = rc;
    return rc;
}

static int copy_job_info(void *ctx, const store_job_info *ji)
{
    writer_event *ev = ctx;
    ev->created_at = ji->created_at;
    ev->counts = ji->counts;
    return 0;
}

static void submit_failed(writer *w, wreq *r, int rc, bool store_error,
                          const char *err)
{
    writer_event *ev = event_add(w, WEV_SUBMIT_FAILED, r);
    if (ev) {
        ev->rc = rc;
        ev->store_error = store_error;
        ev->error = strdup(err);
    }
    events_publish(w);
}

/* Expands and inserts the job in its own transaction; its runs enter the
 * scheduler after the commit. Returns 1 when committed, 0 when refused
 * (an invalid spec, a value the schema refused, out of memory), or a fault
 * code with its sentence in err; either way the client hears back through
 * an event. */
static int do_submit(writer *w, wreq *r, char *err, size_t errlen)
{
    const job_spec *sp = r->spec;
    long n = spec_count(sp);
    submit_ctx c = {w, 0, spec_priority(sp), NULL, 0};
    c.ids = malloc((size_t)(n > 0 ? n : 1) * sizeof *c.ids);
    if (!c.ids) {
        submit_failed(w, r, -ENOMEM, false, "out of memory expanding the job");
        return 0;
    }
    int rc = store_begin(w->st, err, errlen);
    if (rc < 0)
        goto fail_store;
    rc = store_job_insert(w->st, spec_name(sp), c.priority,
                          spec_max_attempts(sp), spec_json(sp), n, &c.job_id,
                          err, errlen);
    if (rc < 0) {
        c.store_rc = rc;
        goto fail_store;
    }
    rc = spec_expand(sp, submit_emit, &c, err, errlen);
    if (rc < 0 && c.store_rc == 0) {
        store_rollback(w->st);
        free(c.ids);
        submit_failed(w, r, rc, false, err);   /* the spec: invalid_spec */
        return 0;
    }
    if (rc < 0)
        goto fail_store;
    rc = store_commit(w->st, err, errlen);
    if (rc < 0)
        goto fail_store;
    w->wal_dirty = true;
    for (long i = 0; i < n; i++)
        (void)sched_push(w->sc, c.job_id, c.priority, c.ids[i]);
    free(c.ids);
    writer_event *ev = event_add(w, WEV_SUBMITTED, r);
    if (ev) {
        ev->job_id = c.job_id;
        ev->name = strdup(spec_name(sp));
        ev->priority = c.priority;
        ev->n_runs = n;
        ev->created_at = NAN;
        ev->counts.total = n;
        ev->counts.by_state[RUN_QUEUED] = n;
        char ignored[ERR_LEN];
        (void)store_job_list(w->st, c.job_id, copy_job_info, ev, ignored,
                             sizeof ignored);
    }
    log_info("job %lld \"%s\": %ld runs queued, priority %d",
             (long long)c.job_id, spec_name(sp), n, c.priority);
    events_publish(w);
    return 1;
fail_store:
    store_rollback(w->st);
    free(c.ids);
    submit_failed(w, r, rc, true, err);
    /* begin and commit fail only for the disk's reasons; an insert may
     * also fail for a value the schema refused, which is no fault. */
    return is_fault(rc) ? rc : c.store_rc == 0 ? -EIO : 0;
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

/* Works through pending in order. 0 when all is committed, or a fault code
 * with pending still holding the failed group at its head. */
static int process_pending(writer *w)
{
    while (w->pending) {
        char err[ERR_LEN] = "";
        wreq *r = w->pending;
        if (r->kind == WQ_SUBMIT) {
            /* Tried even in the fault state (the loop refuses most
             * submissions then; this one raced it): it is as good a probe
             * of the disk as any retry. */
            pending_pop(w);
            int rc = do_submit(w, r, err, sizeof err);
            done_with(w, r);
            if (rc < 0)
                return enter_fault(w, rc, err);
            if (rc > 0)
                clear_fault(w);
            continue;
        }
        wreq *stop = r;
        for (int n = 0; stop && stop->kind != WQ_SUBMIT &&
                        n < WRITER_MAX_GROUP;
             n++)
            stop = stop->next;
        int rc = apply_group(w, r, stop, err, sizeof err);
        if (rc < 0)
            return enter_fault(w, rc, err);
        w->wal_dirty = true;
        clear_fault(w);
        while (w->pending != stop) {
            wreq *q = pending_pop(w);
            after_commit(w, q);
            done_with(w, q);
        }
        events_publish(w);
    }
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
        serve_runs(w, r);
        done_with(w, r);
    }
    events_publish(w);
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
        if (w->head) {
            if (w->pending_tail)
                w->pending_tail->next = w->head;
            else
                w->pending = w->head;
            w->pending_tail = w->tail;
            w->head = w->tail = NULL;
        }
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

/* --- the worker host --- */

/* Runs under the scheduler's lock (see sched_take). */
static void record_start(void *ctx, const sched_run *sr)
{
    writer *w = ctx;
    wreq *r = wreq_new(WQ_START);
    if (!r) {
        log_error("run %lld: out of memory recording its start",
                  (long long)sr->run_id);
        return;
    }
    r->job_id = sr->job_id;
    r->run_id = sr->run_id;
    r->priority = sr->priority;
    post(w, r, false);
}

static int host_lease(void *ctx, run_lease *out)
{
    writer *w = ctx;
    sched_run sr;
    int rc = sched_take(w->sc, -1, &sr, record_start, w);
    if (rc < 0)
        return rc;
    *out = (run_lease){sr.run_id, sr.job_id, sr.priority};
    return 0;
}

static enum run_poll host_poll(void *ctx, const run_lease *run)
{
    writer *w = ctx;
    return sched_poll(w->sc, run->run_id);
}

static wreq *run_req(wreq_kind kind, const run_lease *run)
{
    wreq *r = wreq_new(kind);
    if (r) {
        r->job_id = run->job_id;
        r->run_id = run->run_id;
        r->priority = run->priority;
    }
    return r;
}

static void host_curve(void *ctx, const run_lease *run,
                       const curve_point *pts, int n)
{
    writer *w = ctx;
    wreq *r = run_req(WQ_CURVE, run);
    if (r)
        r->pts = malloc((size_t)n * sizeof *pts);
    if (!r || !r->pts) {
        wreq_free(r);
        log_error("run %lld: out of memory; %d curve points dropped",
                  (long long)run->run_id, n);
        return;
    }
    memcpy(r->pts, pts, (size_t)n * sizeof *pts);
    r->npts = n;
    post(w, r, false);
}

static int host_checkpoint(void *ctx, const run_lease *run,
                           const checkpoint *ck)
{
    writer *w = ctx;
    wreq *r = run_req(WQ_CHECKPOINT, run);
    if (r)
        r->ck = malloc(ck->len ? ck->len : 1);
    if (!r || !r->ck) {
        wreq_free(r);
        return -ENOMEM;
    }
    memcpy(r->ck, ck->data, ck->len);
    r->ck_len = ck->len;
    r->ck_step = ck->step;
    return post(w, r, false);
}

typedef struct canceled_end {
    writer *w;
    wreq *r;
} canceled_end;

/* Under the scheduler's lock (sched_end_canceled): a run whose job was
 * retried while it was stopping goes back to the queue, not to the
 * canceled runs that the retry has already requeued. */
static void post_canceled_end(void *ctx, bool canceled)
{
    canceled_end *e = ctx;
    if (!canceled) {
        log_info("run %lld: stopped for a cancel that a retry took back; "
                 "queued again", (long long)e->r->run_id);
        e->r->kind = WQ_REQUEUE;
        e->r->state = RUN_QUEUED;
    }
    post(e->w, e->r, false);
}

static void host_finish(void *ctx, const run_lease *run,
                        const run_outcome *o)
{
    writer *w = ctx;
    wreq *r = run_req(o->state == RUN_QUEUED ? WQ_REQUEUE : WQ_FINISH, run);
    if (!r) {
        log_error("run %lld: out of memory recording its end; it is "
                  "recovered at the next start",
                  (long long)run->run_id);
        return;
    }
    r->state = o->state;
    if (o->result) {
        r->has_result = true;
        r->result = *o->result;
    }
    if (o->error)
        r->error = strdup(o->error);
    if (o->state == RUN_CANCELED)
        sched_end_canceled(w->sc, run->run_id, post_canceled_end,
                           &(canceled_end){w, r});
    else
        post(w, r, false);
}

const worker_host *writer_worker_host(writer *w)
{
    return &w->host;
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
    w->host = (worker_host){w, host_lease, host_poll, host_curve,
                            host_checkpoint, host_finish};
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
    events_discard(w);
    for (writer_event *ev = writer_events(w), *n; ev; ev = n) {
        n = ev->next;
        writer_event_free(ev);
    }
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->evlock);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
