/* jobctl.h — cancelling and retrying a job, in the one order that neither
 * loses a run nor runs one twice, all of it in this file.
 *
 * A cancel tells the scheduler first (no queued run of the job starts
 * from then on; running ones stop at their next poll), then the store
 * thread (queued runs -> canceled). A retry takes back the cancel of runs
 * still training before it asks the store thread to requeue the failed
 * and canceled ones. A run that stops for a cancel ends canceled only if
 * the cancel still stands when its end is posted; the scheduler's lock
 * orders that against a retry, so the run either ends canceled ahead of
 * the retry (which requeues it) or goes back to the queue itself.
 *
 * A pause (issue 11) is the store thread's first: once paused_at is
 * committed it holds the job in the scheduler (sched_hold_job: queued runs
 * stay out of reach, running ones suspend with a checkpoint, which, like
 * a shutdown's suspension, costs no attempt). A resume commits, then
 * unholds. A suspended run goes back to the queue (held) unless its job
 * was canceled meanwhile: then it ends canceled, decided under the
 * scheduler's lock as a canceled run's end is.
 */
#ifndef RESWEEP_JOBCTL_H
#define RESWEEP_JOBCTL_H

#include <stdint.h>

#include "scheduler.h"
#include "writer.h"

/* Posts the cancel of job_id (its event comes back with tag). *stopping
 * receives how many running runs were told to stop. 0, or the writer's
 * code (-ENOMEM, -ESHUTDOWN). */
int jobctl_cancel(sched *sc, writer *w, uint64_t tag, int64_t job_id,
                  long *stopping);

/* Posts the retry of job_id; *resumed receives how many runs that were
 * stopping for a cancel now go on. On failure the cancel stands. */
int jobctl_retry(sched *sc, writer *w, uint64_t tag, int64_t job_id,
                 long *resumed);

/* A run stopped because its poll said cancel: ends it canceled (with
 * error), or requeues it when a retry took the cancel back meanwhile. */
void jobctl_run_stopped(sched *sc, writer *w, const writer_run *run,
                        const char *error);

/* Posts the pause or the resume of job_id (of priority priority); the
 * event comes back with tag. 0, or the writer's code (-ENOMEM,
 * -ESHUTDOWN). */
int jobctl_pause(writer *w, uint64_t tag, int64_t job_id, int priority);
int jobctl_resume(writer *w, uint64_t tag, int64_t job_id, int priority);

/* A run stopped because its poll said suspend (a pause, a shutdown):
 * requeues it with its checkpoint, or ends it canceled when its job was
 * canceled since. */
void jobctl_run_suspended(sched *sc, writer *w, const writer_run *run);

#endif
