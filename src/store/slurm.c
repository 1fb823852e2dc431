/* slurm.c — the Slurm job arrays started for a job (schema/005_slurm.sql,
 * store.h): `resweep slurm` submits one, the daemon records it here. */
#include "internal.h"

#include <errno.h>

#include "err.h"

int store_slurm_record(store *s, int64_t job_id, int64_t slurm_job_id,
                       long tasks, const char *script, char *err,
                       size_t errlen)
{
    if (slurm_job_id < 1 || tasks < 1 || !script)
        return err_set(err, errlen, -EINVAL,
                       "Slurm job: the id and the task count must be "
                       ">= 1 and the script given, got %lld and %ld",
                       (long long)slurm_job_id, tasks);
    sqlite3_stmt *st;
    int rc = store__op_begin(s, err, errlen);
    if (rc < 0)
        return rc;
    if ((rc = store__stmt(&s->c, ST_SLURM_INSERT, &st, err, errlen)) == 0) {
        sqlite3_bind_int64(st, 1, slurm_job_id);
        sqlite3_bind_int64(st, 2, job_id);
        sqlite3_bind_int64(st, 3, tasks);
        sqlite3_bind_double(st, 4, store__now());
        sqlite3_bind_text(st, 5, script, -1, SQLITE_STATIC);
        rc = store__step_done(&s->c, st, err, errlen,
                              "recording Slurm job %lld of job %lld",
                              (long long)slurm_job_id, (long long)job_id);
    }
    return store__op_end(s, rc, err, errlen);
}
