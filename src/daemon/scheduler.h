/* scheduler.h — the queue of runs waiting for a worker (docs/theory.md §8).
 *
 * Order: jobs by priority (higher first), then by job id (FIFO within a
 * priority); runs within a job by run id. A queued run costs its id and
 * its memory estimate (16 bytes) in its job's sorted array; a job with
 * nothing queued costs nothing.
 *
 * Memory admission (issue 9): the limit is this machine's, and metered
 * takes (sched_take: the daemon's threads, worker processes on this
 * machine) count against it. With sched_limit_memory, the next run in
 * that order starts only when its estimate fits beside the estimates of
 * the active metered runs, and no run overtakes it, so a big run is never
 * starved by small ones behind it (they wait with it; scheduler.c says
 * why). A run's bytes are reserved from sched_take until sched_finished
 * (its engine has returned) or sched_release. A run whose estimate alone
 * exceeds the limit (queued under a larger one) is handed out with
 * over_limit set and reserves nothing: the taker fails it with the
 * reason; submissions refuse such runs before they are queued. Workers
 * of other machines (sched_take_remote) are not metered: they take the
 * next run whatever its estimate. While they may connect
 * (sched_remote_workers), a run over the limit is left for them: metered
 * takers wait behind it instead of failing it, and submissions accept it
 * (sched_memory_ceiling).
 *
 * A run taken by a worker is "active" until sched_release(), which the
 * store thread calls once the run's end (or requeue) is committed; while a
 * run is queued or active, pushing it again is refused (-EEXIST), so the
 * store's queue can be re-read at any time without running a run twice.
 * sched_limit_active bounds the active runs, and with them the results
 * waiting in memory for the store: a worker asking for a run beyond the
 * bound waits until the store thread releases one (issue 9 §5).
 *
 * Cost: push, take, poll, release and the end of a canceled run are O(1)
 * on average (hash maps by job and run id), plus O(log jobs) when a job's
 * queue starts or empties and O(log runs) for a run pushed out of id
 * order; cancel and resume cost O(the job's active runs).
 *
 * Thread-safe (one mutex, one condition variable): workers block in
 * sched_take; the loop thread cancels; the store thread pushes and
 * releases. Callbacks run with the lock held, so they must not call back
 * into the scheduler; they may take locks that are never held while
 * calling into it (the store queue's lock).
 */
#ifndef RESWEEP_SCHEDULER_H
#define RESWEEP_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"

typedef struct sched sched;

typedef struct sched_run {
    int64_t job_id;
    int64_t run_id;
    int priority;
    uint64_t mem_bytes;  /* its estimate */
    bool over_limit;     /* mem_bytes alone exceeds the memory limit */
} sched_run;

typedef struct sched_stats {
    long queued;     /* runs waiting */
    long held;       /* runs of held (paused) jobs waiting for a resume */
    long active;     /* runs taken and not yet released */
    long jobs;       /* jobs with runs waiting */
    long waiting;    /* takers waiting for room (runs queued, bound reached) */
    long waiting_memory; /* takers waiting for the next run to fit in memory */
    uint64_t mem_limit;    /* sched_limit_memory's bytes; 0: none */
    uint64_t mem_reserved; /* estimates of the runs taken and not finished */
    long long probes;   /* entries examined by lookups since sched_new:
                           a test hook for the cost of the operations */
} sched_stats;

/* The daemon's bound on active runs: its workers plus the finished runs
 * allowed to wait for the store thread's commit. */
#define SCHED_MAX_UNSTORED 1024

int sched_new(sched **out);
/* Frees everything; no thread may be inside the scheduler. */
void sched_free(sched *s);

/* Queues run_id of job_id, whose memory estimate is mem_bytes. A job
 * keeps the priority of its first push. Returns 0; -EEXIST when the run
 * is already queued or active; -ENOMEM; -ESHUTDOWN after sched_stop (the
 * run stays queued in the store). */
int sched_push(sched *s, int64_t job_id, int priority, int64_t run_id,
               uint64_t mem_bytes);

/* Called by sched_take with the lock held, after the run became active:
 * whatever it records (the store's "queued -> running") is thereby ordered
 * before a cancel of the run's job, which takes the same lock. */
typedef void (*sched_take_fn)(void *ctx, const sched_run *run);

/* Takes the next run into *out and makes it active. Waits up to timeout_ms
 * (< 0: until a run comes or the scheduler stops) while nothing is queued,
 * the scheduler is paused, max_active runs are active, or the next run
 * does not fit in memory beside the active ones. Returns 0, -EAGAIN when
 * the wait ended without a run, or -ESHUTDOWN once sched_stop was called.
 * on_take may be NULL. */
int sched_take(sched *s, int timeout_ms, sched_run *out,
               sched_take_fn on_take, void *ctx);
/* sched_take for a worker on another machine: not metered (its memory is
 * not this machine's), so it neither waits for memory nor reserves any. */
int sched_take_remote(sched *s, int timeout_ms, sched_run *out,
                      sched_take_fn on_take, void *ctx);

/* What the engine's poll hook should answer for an active run:
 * RUN_CANCEL after its job was cancelled, RUN_SUSPEND after sched_stop,
 * else RUN_CONTINUE (also for runs the scheduler does not know). */
enum run_poll sched_poll(sched *s, int64_t run_id);

/* The run's engine has returned: its memory reservation ends (its result
 * may still wait for the store). Idempotent; unknown runs are ignored. */
void sched_finished(sched *s, int64_t run_id);

/* The run's end is stored: it leaves the active set (and its reservation
 * ends, if sched_finished was not called). */
void sched_release(sched *s, int64_t run_id);

/* A suspended run's requeue is stored: it leaves the active set and
 * waits in the queue again with its job's priority and its estimate
 * (held, when its job is). 0; -ENOENT when it is not active;
 * -ECANCELED when its job was canceled since (it is released: the
 * cancel ends it in the store); -ESHUTDOWN after sched_stop (it is
 * released, and stays queued in the store); -ENOMEM. */
int sched_requeue(sched *s, int64_t run_id);

/* Drops every queued run of job_id and flags its active runs to cancel.
 * *dropped and *flagged (either may be NULL) receive the counts. */
void sched_cancel_job(sched *s, int64_t job_id, long *dropped,
                      long *flagged);

/* Takes back the cancellation of job_id (a retry) for its active runs
 * that have not stopped yet: they go on as if never cancelled. *resumed
 * (may be NULL) receives their count. */
void sched_resume_job(sched *s, int64_t job_id, long *resumed);

/* For an active run that stopped because sched_poll said RUN_CANCEL:
 * calls on_end(ctx, true) when its job's cancellation still stands, or
 * on_end(ctx, false) when sched_resume_job took it back in the meantime
 * (the run belongs in the queue again). on_end runs with the lock held,
 * so that what it records is ordered before or after a resume and the
 * retry that follows it, never in between. */
typedef void (*sched_end_fn)(void *ctx, bool canceled);
void sched_end_canceled(sched *s, int64_t run_id, sched_end_fn on_end,
                        void *ctx);

/* For an active run whose engine stopped suspended: calls on_end(ctx,
 * true) when its job was canceled meanwhile (its end belongs in the
 * store as canceled), else on_end(ctx, false) (it belongs in the queue).
 * on_end runs with the lock held, so that what it posts is ordered
 * before a cancel's post, never after the cancel flagged it unseen. */
void sched_end_suspended(sched *s, int64_t run_id, sched_end_fn on_end,
                         void *ctx);

/* Pause (issue 11): job_id's queued runs, and those pushed or requeued
 * while it is held, stay queued but are handed to no taker; its active
 * runs poll RUN_SUSPEND (they checkpoint and are requeued, held). A
 * held job is remembered with nothing queued or active (priority: its
 * own, when the scheduler did not know it). *held: the queued runs held;
 * *stopping: the active runs told to suspend (either may be NULL).
 * Holding a held job flags only runs taken since. 0 or -ENOMEM. */
int sched_hold_job(sched *s, int64_t job_id, int priority, long *held,
                   long *stopping);
/* Resume: the job's held runs wait their turn again (*released: how
 * many, may be NULL), and its active runs that have not stopped yet go
 * on. Harmless for a job that is not held. 0, or -ENOMEM (still held). */
int sched_unhold_job(sched *s, int64_t job_id, long *released);

/* Memory admission: the active runs' estimates together stay within
 * bytes (0, the default: no limit). */
void sched_limit_memory(sched *s, uint64_t bytes);
uint64_t sched_memory_limit(sched *s);
/* Whether workers on other machines may connect (resweepd --listen):
 * then a run over the limit waits for one of them. Default false. */
void sched_remote_workers(sched *s, bool may_connect);
/* The estimate past which a run can never start, so that a submission
 * refuses it: the memory limit, or 0 (none) without a limit or while
 * workers on other machines may connect. */
uint64_t sched_memory_ceiling(sched *s);

/* At most max_active runs active at once (<= 0, the default: no bound);
 * takers beyond it wait for a release. Runs are never dropped. */
void sched_limit_active(sched *s, long max_active);

/* While paused (a store fault), sched_take hands out nothing. */
void sched_pause(sched *s, bool paused);

/* Shutdown: flags every active run to suspend, and wakes every waiting
 * sched_take with -ESHUTDOWN; later takes and pushes fail the same way.
 * Queued runs stay queued in the store for the next start. */
void sched_stop(sched *s);

void sched_get_stats(sched *s, sched_stats *out);

#endif
