/* writer.h — the store thread: the one owner of the database's write
 * connection (docs/theory.md §8; Redis's bio.c is the model).
 *
 * Any thread posts requests onto a locked queue; the store thread takes
 * everything queued, applies it inside one transaction (a submission gets
 * a transaction of its own, so an invalid spec rolls back only itself),
 * commits, and only then makes the consequences visible: queued runs enter
 * the scheduler, finished runs leave its active set, and events go onto a
 * completion queue for the loop thread, which the notify callback wakes
 * (uv_async_send: notifications coalesce, the loop drains the whole
 * queue). Nothing is acknowledged before its commit.
 *
 * Two kinds of request: a client's job operations (submit, cancel, retry,
 * runs; refused once stopping began) and a worker's run reports (start,
 * curve points, checkpoint, finish, requeue; taken until the store thread
 * has exited, so no report of a joined worker is lost).
 *
 * Store faults (issue 4 §6): when a write or commit fails with -EIO or
 * -ENOSPC, the transaction is rolled back, the writer enters the fault
 * state (writer_faulted; a WEV_FAULT event), pauses the scheduler so no
 * new run starts, keeps every pending run report in memory in order, and
 * retries every WRITER_RETRY_MIN_S..WRITER_RETRY_MAX_S seconds until a
 * commit succeeds (WEV_FAULT_CLEARED). A submission that meets a fault
 * fails with the fault's sentence (store_error set) and is not retried.
 * The WAL is checkpointed every WRITER_WAL_CHECKPOINT_S seconds of
 * activity.
 *
 * Files: writer.c (the queue, the thread, transactions, faults),
 * wevent.c (events to the loop thread), jobops.c (job operations),
 * reports.c (run reports); they share writer_internal.h.
 */
#ifndef RESWEEP_WRITER_H
#define RESWEEP_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "proto.h"
#include "scheduler.h"
#include "spec.h"
#include "store.h"

#define WRITER_RETRY_MIN_S       0.5
#define WRITER_RETRY_MAX_S       5.0
#define WRITER_WAL_CHECKPOINT_S  10.0
#define WRITER_MAX_RUNS_PAGE     PROTO_MAX_RUNS_PAGE   /* rows per WEV_RUNS */
/* A job of at least this many runs is followed by a malloc_trim when it
 * is submitted (jobops.c) and when its last run ends (jobs.c): the daemon
 * keeps freed memory mapped otherwise (memtune.h), and what a large job
 * held at its peak would stay resident for the rest of the night. */
#define WRITER_TRIM_RUNS         10000

typedef struct writer writer;

typedef enum writer_event_kind {
    WEV_SUBMITTED,      /* tag, job_id, u.submitted */
    WEV_SUBMIT_FAILED,  /* tag, rc, error; store_error: a fault, else the spec */
    WEV_RUN_STARTED,    /* job_id, run_id */
    WEV_RUN_ENDED,      /* job_id, run_id, u.state (done/diverged/failed/canceled) */
    WEV_RUN_REQUEUED,   /* job_id, run_id: suspended, queued again */
    WEV_CANCELED,       /* tag, job_id, u.jobop (n: queued runs canceled); or rc, error */
    WEV_RETRIED,        /* tag, job_id, u.jobop (n: runs queued again); or rc, error */
    WEV_DELETED,        /* tag, job_id, u.jobop (n: runs deleted); or rc, error */
    WEV_PAUSED,         /* tag, job_id, u.jobop (n: queued runs held,
                           stopping: running runs suspending); or rc, error */
    WEV_RESUMED,        /* tag, job_id, u.jobop (n: held runs queued again) */
    WEV_EXTENDED,       /* tag, job_id, u.jobop (n: runs added, existing:
                           runs of the spec the job had); or rc, error */
    WEV_RUNS,           /* tag, job_id, u.runs; or rc, error */
    WEV_SLURM_RECORDED, /* tag, job_id, u.slurm; or rc, error */
    WEV_FAULT,          /* error: the database refuses writes */
    WEV_FAULT_CLEARED,
} writer_event_kind;

typedef struct writer_run_row {
    int64_t run_id;
    long index;
    enum run_state state;
    int attempts;
    char *error;                 /* owned; NULL when none */
    double gap, train_loss, lin_loss;   /* NAN until measured */
} writer_run_row;

/* A tagged union: the members of u that kind names are set. */
typedef struct writer_event {
    struct writer_event *next;
    writer_event_kind kind;
    uint64_t tag;                /* the request's tag, for replies */
    int rc;                      /* 0, or the failure's code */
    bool store_error;            /* the failure is the database's */
    char *error;                 /* owned sentence, or NULL */
    int64_t job_id, run_id;
    union {
        struct {                 /* WEV_SUBMITTED */
            char *name;          /* owned; "" when unnamed */
            int priority;
            long n_runs;
            double created_at;
            job_counts counts;
            long linear_repeats; /* linear runs equal to an earlier one but
                                    for keys the model ignores (linrep.h) */
            char *linear_keys;   /* owned: those keys that vary; or NULL */
        } submitted;
        enum run_state state;    /* WEV_RUN_ENDED */
        struct {                 /* WEV_CANCELED, WEV_RETRIED, WEV_DELETED */
            long n;
            long resumable;      /* WEV_RETRIED: of n, from their checkpoint */
            long stopping;       /* WEV_PAUSED: running runs suspending */
            long existing;       /* WEV_EXTENDED: runs not added, already there */
            job_counts counts;   /* the job right after the operation */
        } jobop;
        struct {                 /* WEV_RUNS */
            writer_run_row *rows;   /* owned */
            int nrows;
            long next_index;     /* -1: no more */
        } runs;
        struct {                 /* WEV_SLURM_RECORDED */
            int64_t slurm_job;
            long tasks;
        } slurm;
    } u;
} writer_event;

/* Called on the store thread after events were queued; must be safe from
 * any thread (uv_async_send is). */
typedef void (*writer_notify_fn)(void *ctx);

/* st and sc are borrowed and must outlive the writer; the writer is the
 * only user of st from writer_start until writer_stop returns. */
int writer_new(store *st, sched *sc, writer_notify_fn notify, void *ctx,
               writer **out, char *err, size_t errlen);
int writer_start(writer *w, char *err, size_t errlen);

/* Job operations. tag comes back in the request's event. Each returns 0,
 * or -ENOMEM (nothing queued), or -ESHUTDOWN after writer_stop began. */
/* Takes ownership of spec (freed by the writer, also on error). */
int writer_submit(writer *w, uint64_t tag, job_spec *spec);
int writer_cancel(writer *w, uint64_t tag, int64_t job_id);
int writer_retry(writer *w, uint64_t tag, int64_t job_id);
/* Adds runs to job_id (of priority priority): those of spec (takes
 * ownership; freed also on error) that the job does not have yet, or,
 * with spec NULL, seeds new seeds for every cell of the job (extend.c).
 * The extension is one transaction: refused, it changes nothing. */
int writer_extend(writer *w, uint64_t tag, int64_t job_id, int priority,
                  job_spec *spec, long seeds);
/* Pauses (pause true) or resumes job_id, whose priority is priority
 * (store_job_pause, then the scheduler: jobctl.h). */
int writer_pause(writer *w, uint64_t tag, int64_t job_id, int priority,
                 bool pause);
/* Deletes a job whose runs have all ended, or a paused one with none
 * running (store_job_delete). */
int writer_delete(writer *w, uint64_t tag, int64_t job_id);
/* Up to limit (<= WRITER_MAX_RUNS_PAGE) runs of the job from index on. */
int writer_runs(writer *w, uint64_t tag, int64_t job_id, long from_index,
                int limit);
/* Records Slurm job array slurm_job of tasks tasks, started for job_id
 * with script (copied), in the database (store_slurm_record). */
int writer_slurm_record(writer *w, uint64_t tag, int64_t job_id,
                        int64_t slurm_job, long tasks, const char *script);

/* Run reports, in the order a run makes them. Pointers are borrowed for
 * the call (the writer copies). 0, -ENOMEM (logged: the run is recovered
 * at the next start), or -ESHUTDOWN once the store thread has exited. */
typedef struct writer_run {
    int64_t job_id, run_id;
    int priority;                /* to requeue it */
} writer_run;
int writer_run_start(writer *w, const writer_run *run);
int writer_run_curve(writer *w, const writer_run *run,
                     const curve_point *pts, int n);
int writer_run_checkpoint(writer *w, const writer_run *run,
                          const checkpoint *ck);
/* state RUN_STATE_DONE or RUN_STATE_DIVERGED with res and the run's
 * arrays (may be NULL; stored with the result, store_run_finish_arrays),
 * RUN_FAILED or RUN_CANCELED with error (may be NULL). */
int writer_run_finish(writer *w, const writer_run *run, enum run_state state,
                      const run_result *res, const run_arrays *arrays,
                      const char *error);
/* The run goes back to the queue, its checkpoint kept (suspended). */
int writer_run_requeue(writer *w, const writer_run *run);

/* The run's worker was lost (why: a sentence): the run goes back to the
 * queue from its last checkpoint, or fails with why once it has had its
 * job's attempts (store_run_lost). */
int writer_run_lost(writer *w, const writer_run *run, const char *why);

/* A seed pair's segment (pairs.h) for table pairs, run_a < run_b: stored
 * when both runs are still done runs of job_id (store_pair_insert), else
 * dropped. Posted as a run report is (taken until the store thread
 * exits). 0, -ENOMEM, -ESHUTDOWN. */
int writer_pair(writer *w, int64_t job_id, int64_t run_a, int64_t run_b,
                const run_pair *p);

/* Called on the store thread after each commit that ended a run done
 * with its parameters kept (arrays beyond u_star: only such a run can end
 * a seed pair), with the run's job and id (the seed pairs' trigger,
 * pairs.h); must be
 * quick and safe from that thread. Set before writer_start. */
typedef void (*writer_done_fn)(void *ctx, int64_t job_id, int64_t run_id);
void writer_on_done(writer *w, writer_done_fn fn, void *ctx);

/* Takes every event queued so far, oldest first (NULL when none); free
 * each with writer_event_free. Loop thread. */
writer_event *writer_events(writer *w);
void writer_event_free(writer_event *ev);

/* True in the fault state; msg (may be NULL) receives the sentence. */
bool writer_faulted(writer *w, char *msg, size_t len);

/* Requests queued and not yet committed (for status and tests). */
long writer_backlog(writer *w);

/* Applies everything queued, commits, checkpoints the WAL and joins the
 * store thread. Stop the workers first so that nothing new arrives. In
 * the fault state it keeps retrying for at most grace_s seconds, then
 * drops what is left (logged: those runs stay "running" in the store and
 * are recovered at the next start). */
void writer_stop(writer *w, double grace_s);
/* Frees the writer and any events not taken (after writer_stop). */
void writer_free(writer *w);

#endif
