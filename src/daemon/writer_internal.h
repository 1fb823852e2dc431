/* writer_internal.h — what the store thread's files share (writer.h):
 * the request, a tagged union, and the writer's state. Not for the rest of
 * the daemon.
 *
 *   wevent.c   events: built during a commit, published after it
 *   jobops.c   applying job operations (submit, cancel, retry, pause,
 *              resume, delete, runs, Slurm records)
 *   reports.c  applying run reports (start, curve, checkpoint, finish, requeue)
 *   writer.c   the queue, the thread, grouping into transactions, faults
 * Each uses only the files above it.
 */
#ifndef RESWEEP_WRITER_INTERNAL_H
#define RESWEEP_WRITER_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "writer.h"

typedef enum wreq_kind {
    /* job operations: a client waits for each one's event */
    WQ_SUBMIT, WQ_CANCEL, WQ_RETRY, WQ_DELETE, WQ_RUNS, WQ_SLURM,
    WQ_PAUSE, WQ_RESUME, WQ_EXTEND,
    /* run reports */
    WQ_START, WQ_CURVE, WQ_CHECKPOINT, WQ_FINISH, WQ_REQUEUE, WQ_LOST,
    /* a seed pair's segment (pairs.h): taken as long as the reports are */
    WQ_PAIR,
} wreq_kind;

typedef struct wreq {
    struct wreq *next;
    wreq_kind kind;
    uint64_t tag;
    int64_t job_id, run_id;
    int priority;
    union {
        job_spec *spec;                       /* SUBMIT, owned */
        struct {                              /* EXTEND */
            job_spec *spec;                   /* owned; NULL: seeds */
            long seeds;
        } extend;
        struct { curve_point *pts; int n; } curve;   /* CURVE, pts owned */
        struct { void *data; size_t len; long step; } ck;   /* CHECKPOINT, data owned */
        struct {                              /* FINISH; LOST (error: why) */
            enum run_state state;
            /* owned, NULL without one: a run_result is 2.5 KB with its
             * spectrum and path, and inline it would size every request */
            run_result *result;
            run_arrays *arrays;               /* owned (one block), or NULL */
            char *error;                      /* the run's reason, owned */
        } finish;
        struct { long from_index; int limit; } runs;   /* RUNS */
        struct {                              /* PAIR: run_id is run_a */
            int64_t run_b;
            run_pair *pair;                   /* owned (2.5 KB: not inline) */
        } pair;
        struct {                              /* SLURM */
            int64_t slurm_job;
            long tasks;
            char *script;                     /* owned */
        } slurm;
    } u;
    /* Outcome of the last application (rewritten on a retry). */
    int rc;
    long n;
    long resumable;                /* RETRY: runs resuming from a checkpoint */
    long stopping;                 /* PAUSE: running runs told to suspend */
    job_counts counts;             /* CANCEL/RETRY: the job right after it */
    char *rc_error;                /* owned */
} wreq;

struct writer {
    store *st;
    sched *sc;
    writer_notify_fn notify;
    void *notify_ctx;

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
    writer_done_fn on_done;        /* set before writer_start */
    void *on_done_ctx;
    writer_event *out_head, *out_tail;   /* events of the current commit */
    double next_retry, retry_delay;
    double last_wal;
    bool wal_dirty;
    bool draining;                 /* stopping: retry faults without backoff */
};

/* A store failure that puts the writer into the fault state. */
static inline bool writer_is_fault(int rc)
{
    return rc == -EIO || rc == -ENOSPC;
}

/* Records the outcome of applying r (err: its sentence when rc < 0). */
static inline void wreq_set_rc(wreq *r, int rc, const char *err)
{
    r->rc = rc;
    free(r->rc_error);
    r->rc_error = rc < 0 ? strdup(err) : NULL;
}

/* --- wevent.c --- */

/* A new event on the current commit's list, with r's tag and ids (r may
 * be NULL); NULL when out of memory (logged). */
writer_event *wev_add(writer *w, writer_event_kind kind, const wreq *r);
/* Hands the current commit's events to the loop thread and notifies. */
void wev_publish(writer *w);
/* Drops the current commit's events (its transaction rolled back). */
void wev_discard(writer *w);

/* --- jobops.c (store thread) --- */

/* Expands and inserts the job in its own transaction; its runs enter the
 * scheduler after the commit. Returns 1 when committed, 0 when refused
 * (an invalid spec, a value the schema refused, out of memory), or a
 * fault code with its sentence in err; either way the client hears back
 * through an event. */
/* Called between the chunks of a large submission (no transaction open):
 * the writer commits the run reports queued meanwhile, so other jobs'
 * results do not wait for the whole submission (issue 9 §5). 0, or a
 * fault code with err. A callback, so that jobops.c needs nothing of
 * writer.c's. */
typedef int (*jobops_between_fn)(writer *w, char *err, size_t errlen);

/* The data files a job's runs were checked against at submission, by
 * what the check depends on (path, target column, loss, intercept): a
 * sweep over seeds reads its file's head once, not once per run. */
#define CHECKED_FILES 16
typedef struct checked_files {
    char *keys[CHECKED_FILES];   /* owned */
    int next;                    /* the slot to replace */
} checked_files;
void jobops_checked_free(checked_files *cf);
/* What a submission checks of run index (of sp, which may be NULL: the
 * sentence then names no sweep point): its data file, and its memory
 * estimate (*need) against limit (0: none). 0, or -EINVAL / -E2BIG with
 * the sentence. */
int jobops_check_run(checked_files *checked, const job_spec *sp,
                     uint64_t limit, long index, const run_config *cfg,
                     uint64_t *need, char *err, size_t errlen);
int jobops_submit(writer *w, wreq *r, jobops_between_fn between, char *err,
                  size_t errlen);
/* --- extend.c (store thread) --- */

/* Adds runs to job r->job_id in a transaction of its own (extend.c);
 * returns as jobops_submit does, the client hearing back through a
 * WEV_EXTENDED event. */
int jobops_extend(writer *w, wreq *r, char *err, size_t errlen);

/* CANCEL, RETRY or SLURM inside the group's transaction; the outcome
 * goes into r->rc. Returns r->rc. */
int jobops_apply(writer *w, wreq *r, char *err, size_t errlen);
/* After the commit: the operation's event (and, for a retry, its runs
 * into the scheduler). */
void jobops_after(writer *w, wreq *r);
/* A page of runs into a WEV_RUNS event (a read; also in the fault state). */
void jobops_serve_runs(writer *w, wreq *r);

/* --- reports.c (store thread) --- */

/* A run report inside the group's transaction; outcome into r->rc. */
int reports_apply(writer *w, wreq *r, char *err, size_t errlen);
/* After the commit: the scheduler releases or requeues, and the event. */
void reports_after(writer *w, wreq *r);

#endif
