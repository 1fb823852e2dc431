/* jobctl.c — cancel, retry, pause and resume, and the end of a run that
 * stopped for one of them (jobctl.h). */
#include "jobctl.h"

#include <stdbool.h>

#include "log.h"

int jobctl_cancel(sched *sc, writer *w, uint64_t tag, int64_t job_id,
                  long *stopping)
{
    long dropped = 0;
    sched_cancel_job(sc, job_id, &dropped, stopping);
    return writer_cancel(w, tag, job_id);
}

int jobctl_retry(sched *sc, writer *w, uint64_t tag, int64_t job_id,
                 long *resumed)
{
    /* Before the retry is queued to the store thread: a run that stopped
     * before this point ends canceled ahead of the retry, which requeues
     * it; one that stops after goes back to the queue itself; one still
     * training goes on. */
    sched_resume_job(sc, job_id, resumed);
    int rc = writer_retry(w, tag, job_id);
    if (rc < 0 && *resumed > 0)
        sched_cancel_job(sc, job_id, NULL, NULL);   /* the cancel stands */
    return rc;
}

typedef struct stopped_run {
    writer *w;
    const writer_run *run;
    const char *error;
} stopped_run;

/* Under the scheduler's lock (sched_end_canceled), so that the post falls
 * before or after a retry, never in between. */
static void post_stopped(void *ctx, bool canceled)
{
    stopped_run *s = ctx;
    if (canceled) {
        writer_run_finish(s->w, s->run, RUN_CANCELED, NULL, NULL, s->error);
        return;
    }
    log_info("run %lld: stopped for a cancel that a retry took back; "
             "queued again", (long long)s->run->run_id);
    writer_run_requeue(s->w, s->run);
}

void jobctl_run_stopped(sched *sc, writer *w, const writer_run *run,
                        const char *error)
{
    stopped_run s = {w, run, error};
    sched_end_canceled(sc, run->run_id, post_stopped, &s);
}

int jobctl_pause(writer *w, uint64_t tag, int64_t job_id, int priority)
{
    return writer_pause(w, tag, job_id, priority, true);
}

int jobctl_resume(writer *w, uint64_t tag, int64_t job_id, int priority)
{
    return writer_pause(w, tag, job_id, priority, false);
}

/* Under the scheduler's lock (sched_end_suspended), so that a cancel that
 * did not see the requeue posts after it. */
static void post_suspended(void *ctx, bool canceled)
{
    stopped_run *s = ctx;
    if (canceled)
        writer_run_finish(s->w, s->run, RUN_CANCELED, NULL, NULL,
                          "canceled on request");
    else
        writer_run_requeue(s->w, s->run);
}

void jobctl_run_suspended(sched *sc, writer *w, const writer_run *run)
{
    stopped_run s = {w, run, NULL};
    sched_end_suspended(sc, run->run_id, post_suspended, &s);
}
