/* grow.c — a job extended with more runs (`resweep extend`, store.h). */
#include "internal.h"

#include <errno.h>

#include "err.h"

int store_job_grow(store *s, int64_t job_id, long added, char *err,
                   size_t errlen)
{
    sqlite3_stmt *st;
    int rc = store__op_begin(s, err, errlen);
    if (rc < 0)
        return rc;
    if ((rc = store__stmt(&s->c, ST_JOB_GROW, &st, err, errlen)) == 0) {
        sqlite3_bind_int64(st, 1, job_id);
        sqlite3_bind_int64(st, 2, added);
        rc = store__step_done(&s->c, st, err, errlen, "extending job %lld",
                              (long long)job_id);
        if (rc == 0 && sqlite3_changes(s->c.db) == 0)
            rc = err_set(err, errlen, -ENOENT, "job %lld does not exist",
                         (long long)job_id);
    }
    return store__op_end(s, rc, err, errlen);
}
