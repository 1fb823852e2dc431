/* pause.c — pausing and resuming a job (schema/007_pause.sql, store.h):
 * the job's paused_at, which the daemon reads at start to hold the job's
 * queued runs again, so a pause survives a restart and a kill -9. */
#include "internal.h"

#include <errno.h>

#include "err.h"

/* A one-row count of job_id by statement id into *n. */
static int count_of(store *s, enum stmt_id id, int64_t job_id, long *n,
                    char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int rc = store__stmt(&s->c, id, &st, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, job_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *n = (long)sqlite3_column_int64(st, 0);
    rc = src == SQLITE_ROW ? 0 : store__fail(&s->c, src, err, errlen,
                                             "counting the runs of job %lld",
                                             (long long)job_id);
    sqlite3_reset(st);
    return rc;
}

/* Why a pause (or resume) of job_id changed nothing, as a sentence. */
static int explain(store *s, int64_t job_id, bool pause, char *err,
                   size_t errlen)
{
    sqlite3_stmt *st;
    int rc = store__stmt(&s->c, ST_PAUSE_STATE, &st, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, job_id);
    int src = sqlite3_step(st);
    long long id = (long long)job_id;
    if (src == SQLITE_DONE)
        rc = err_set(err, errlen, -ENOENT, "job %lld does not exist", id);
    else if (src != SQLITE_ROW)
        rc = store__fail(&s->c, src, err, errlen, "reading job %lld", id);
    else if (!pause)
        rc = err_set(err, errlen, -EINVAL, "job %lld is not paused; "
                     "there is nothing to resume", id);
    else if (sqlite3_column_int(st, 0))
        rc = err_set(err, errlen, -EINVAL, "job %lld is already paused "
                     "(resweep resume %lld)", id, id);
    else if (sqlite3_column_int(st, 1))
        rc = err_set(err, errlen, -EINVAL, "job %lld was canceled; there "
                     "is nothing to pause (resweep retry %lld queues its "
                     "canceled runs again)", id, id);
    else
        rc = err_set(err, errlen, -EINVAL, "job %lld has ended: it has no "
                     "queued or running run to pause", id);
    sqlite3_reset(st);
    return rc;
}

int store_job_pause(store *s, int64_t job_id, bool pause, long *n,
                    char *err, size_t errlen)
{
    *n = 0;
    sqlite3_stmt *st;
    int rc = store__op_begin(s, err, errlen);
    if (rc < 0)
        return rc;
    rc = store__stmt(&s->c, pause ? ST_PAUSE_JOB : ST_RESUME_JOB, &st, err,
                     errlen);
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, job_id);
        if (pause)
            sqlite3_bind_double(st, 2, store__now());
        rc = store__step_done(&s->c, st, err, errlen, "%s job %lld",
                              pause ? "pausing" : "resuming",
                              (long long)job_id);
    }
    if (rc == 0 && sqlite3_changes(s->c.db) == 0)
        rc = explain(s, job_id, pause, err, errlen);
    if (rc == 0)
        rc = count_of(s, ST_PAUSE_HELD, job_id, n, err, errlen);
    rc = store__op_end(s, rc, err, errlen);
    if (rc < 0)
        *n = 0;
    return rc;
}
