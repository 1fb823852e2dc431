/* query.c — reading the store: results, job and run listings, and the
 * read-only connections workers use (see store.h). */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* A state name read from the database; the schema's CHECK keeps it one
 * of ours, so anything else means someone edited the file by hand. */
static int column_state(struct conn *c, sqlite3_stmt *st, int i,
                        enum run_state *out, char *err, size_t errlen)
{
    const char *name = (const char *)sqlite3_column_text(st, i);
    if (run_state_from_name(name ? name : "", out) < 0)
        return err_set(err, errlen, -EIO,
                       "database %s: unknown run status \"%s\"", c->path,
                       name ? name : "NULL");
    return 0;
}

int store__result_read(struct conn *c, int64_t run_id, enum run_state *state,
                 run_result *out, bool *has_result, char *err,
                 size_t errlen)
{
    sqlite3_stmt *st;
    int rc = store__stmt(c, ST_RESULT_SELECT, &st, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    store__result_clear(out);
    *has_result = false;
    int src = sqlite3_step(st);
    if (src == SQLITE_DONE) {
        rc = err_set(err, errlen, -ENOENT, "run %lld does not exist",
                     (long long)run_id);
    } else if (src != SQLITE_ROW) {
        rc = store__fail(c, src, err, errlen, "reading the result of run %lld",
                       (long long)run_id);
    } else if ((rc = column_state(c, st, 0, state, err, errlen)) == 0) {
        *has_result = sqlite3_column_int(st, 1) != 0;
        if (*has_result)
            store__result_columns(st, 2, out);
        out->status = *state == RUN_STATE_DIVERGED ? RUN_DIVERGED : RUN_DONE;
    }
    sqlite3_reset(st);
    if (rc == 0 && *has_result)
        rc = store__profiles_read(c, run_id, out, err, errlen);
    return rc;
}

int store_result_get(store *s, int64_t run_id, enum run_state *state,
                     run_result *out, bool *has_result, char *err,
                     size_t errlen)
{
    return store__result_read(&s->c, run_id, state, out, has_result, err, errlen);
}

/* -ENOENT unless job_id is a job of the database. */
static int job_exists(struct conn *c, int64_t job_id, char *err,
                      size_t errlen)
{
    sqlite3_stmt *st;
    int rc = store__stmt(c, ST_JOB_EXISTS, &st, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, job_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        rc = 0;
    else if (src == SQLITE_DONE)
        rc = err_set(err, errlen, -ENOENT, "job %lld does not exist",
                     (long long)job_id);
    else
        rc = store__fail(c, src, err, errlen, "looking up job %lld",
                       (long long)job_id);
    sqlite3_reset(st);
    return rc;
}

int store_job_counts(store *s, int64_t job_id, job_counts *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc = job_exists(&s->c, job_id, err, errlen);
    sqlite3_stmt *st;
    if (rc < 0 || (rc = store__stmt(&s->c, ST_JOB_COUNTS, &st, err,
                                  errlen)) < 0)
        return rc;
    sqlite3_bind_int64(st, 1, job_id);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        enum run_state state;
        if ((rc = column_state(&s->c, st, 0, &state, err, errlen)) < 0)
            break;
        out->by_state[state] = (long)sqlite3_column_int64(st, 1);
        out->total += out->by_state[state];
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = store__fail(&s->c, src, err, errlen,
                       "counting the runs of job %lld", (long long)job_id);
    sqlite3_reset(st);
    return rc;
}

int store_job_resumable(store *s, int64_t job_id, long *n, char *err,
                        size_t errlen)
{
    sqlite3_stmt *st;
    *n = 0;
    int rc = store__stmt(&s->c, ST_RETRY_RESUMABLE, &st, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, job_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *n = (long)sqlite3_column_int64(st, 0);
    else
        rc = store__fail(&s->c, src, err, errlen, "counting the checkpoints "
                         "of job %lld", (long long)job_id);
    sqlite3_reset(st);
    return rc;
}

static const char *column_text_or_null(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

int store_job_list(store *s, int64_t job_id, store_job_fn fn, void *ctx,
                   char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int rc = store__stmt(&s->c, ST_JOB_LIST, &st, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, job_id > 0 ? job_id : INT64_MIN);
    sqlite3_bind_int64(st, 2, job_id > 0 ? job_id : INT64_MAX);
    int src;
    long seen = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        store_job_info j = {
            .job_id = sqlite3_column_int64(st, 0),
            .name = column_text_or_null(st, 1),
            .priority = sqlite3_column_int(st, 2),
            .max_attempts = sqlite3_column_int(st, 3),
            .n_runs = (long)sqlite3_column_int64(st, 4),
            .created_at = store__column_real(st, 5),
            .canceled_at = store__column_real(st, 6),
            .paused_at = store__column_real(st, 14),
            .counts.total = (long)sqlite3_column_int64(st, 7),
        };
        static const enum run_state order[] = {
            RUN_QUEUED, RUN_RUNNING, RUN_STATE_DONE, RUN_FAILED,
            RUN_STATE_DIVERGED, RUN_CANCELED};
        for (int i = 0; i < RUN_STATES; i++)
            j.counts.by_state[order[i]] = (long)sqlite3_column_int64(st, 8 + i);
        seen++;
        if ((rc = fn(ctx, &j)) != 0)
            break;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = store__fail(&s->c, src, err, errlen, "listing jobs");
    sqlite3_reset(st);
    if (rc == 0 && job_id > 0 && seen == 0)
        rc = err_set(err, errlen, -ENOENT, "job %lld does not exist",
                     (long long)job_id);
    return rc;
}

int store_run_list(store *s, int64_t job_id, long from_index,
                   store_run_fn fn, void *ctx, char *err, size_t errlen)
{
    int rc = job_exists(&s->c, job_id, err, errlen);
    sqlite3_stmt *st;
    if (rc < 0 || (rc = store__stmt(&s->c, ST_RUN_LIST, &st, err, errlen)) < 0)
        return rc;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, from_index);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        store_run_info r = {
            .run_id = sqlite3_column_int64(st, 0),
            .job_id = sqlite3_column_int64(st, 1),
            .index = (long)sqlite3_column_int64(st, 2),
            .attempts = sqlite3_column_int(st, 4),
            .priority = sqlite3_column_int(st, 5),
            .started_at = store__column_real(st, 6),
            .finished_at = store__column_real(st, 7),
            .error = column_text_or_null(st, 8),
            .config_json = column_text_or_null(st, 9),
            .train_loss = store__column_real(st, 10),
            .lin_loss = store__column_real(st, 11),
            .gap = store__column_real(st, 12),
        };
        if ((rc = column_state(&s->c, st, 3, &r.state, err, errlen)) < 0)
            break;
        if ((rc = fn(ctx, &r)) != 0)
            break;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = store__fail(&s->c, src, err, errlen, "listing the runs of job %lld",
                       (long long)job_id);
    sqlite3_reset(st);
    return rc;
}

/* --- read-only connections ------------------------------------------ */

int store_reader_open(const char *path, store_reader **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    store_reader *r = calloc(1, sizeof *r);
    if (!r)
        return err_set(err, errlen, -ENOMEM, "database %s: out of memory",
                       path);
    /* READONLY: a reader can never take the write lock, so it can never
     * stall the daemon's writer; in WAL mode it reads a snapshot. */
    int rc = store__conn_open(&r->c, path, SQLITE_OPEN_READONLY, NULL, err, errlen);
    if (rc < 0) {
        free(r);
        return rc;
    }
    /* Readers look up single rows by key: a small cache is all they use,
     * and a fixed one keeps the daemon's memory flat as the file grows. */
    sqlite3_exec(r->c.db, "PRAGMA cache_size = -" STORE_READER_CACHE_KIB, NULL,
                 NULL, NULL);
    *out = r;
    return 0;
}

void store_reader_close(store_reader *r)
{
    if (!r)
        return;
    store__conn_close(&r->c);
    free(r);
}

/* A malloc'd copy of a blob column; a zero-length blob gives a 1-byte
 * allocation so that "has a checkpoint" stays distinct from NULL. */
static void *blob_copy(sqlite3_stmt *st, int i, size_t *len)
{
    const void *p = sqlite3_column_blob(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    void *copy = malloc(n ? n : 1);
    if (copy && n)
        memcpy(copy, p, n);
    *len = n;
    return copy;
}

int store_reader_run(store_reader *r, int64_t run_id, char **config_json,
                     void **ck_data, size_t *ck_len, int *attempt, char *err,
                     size_t errlen)
{
    *attempt = 0;
    *config_json = NULL;
    *ck_data = NULL;
    *ck_len = 0;
    sqlite3_stmt *st;
    int rc = store__stmt(&r->c, ST_RUN_CONFIG, &st, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    /* One statement: the configuration and the checkpoint come from the
     * same snapshot. */
    int src = sqlite3_step(st);
    if (src == SQLITE_DONE) {
        rc = err_set(err, errlen, -ENOENT, "run %lld does not exist",
                     (long long)run_id);
    } else if (src != SQLITE_ROW) {
        rc = store__fail(&r->c, src, err, errlen,
                       "reading the configuration of run %lld",
                       (long long)run_id);
    } else {
        const char *cfg = (const char *)sqlite3_column_text(st, 0);
        const char *status = (const char *)sqlite3_column_text(st, 3);
        /* A queued run's start is still on its way to the store. */
        *attempt = sqlite3_column_int(st, 2) +
                   (status && strcmp(status, "queued") == 0);
        *config_json = strdup(cfg ? cfg : "");
        if (sqlite3_column_type(st, 1) != SQLITE_NULL)
            *ck_data = blob_copy(st, 1, ck_len);
        if (!*config_json ||
            (sqlite3_column_type(st, 1) != SQLITE_NULL && !*ck_data)) {
            free(*config_json);
            free(*ck_data);
            *config_json = NULL;
            *ck_data = NULL;
            *ck_len = 0;
            rc = err_set(err, errlen, -ENOMEM,
                         "run %lld: out of memory reading its configuration",
                         (long long)run_id);
        }
    }
    sqlite3_reset(st);
    return rc;
}

int store_reader_checkpoint(store_reader *r, int64_t run_id, void **data,
                            size_t *len, long *step, char *err,
                            size_t errlen)
{
    *data = NULL;
    *len = 0;
    *step = -1;
    sqlite3_stmt *st;
    int rc = store__stmt(&r->c, ST_CKPT_GET, &st, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *data = blob_copy(st, 1, len);
        if (*data)
            *step = (long)sqlite3_column_int64(st, 0);
        else
            rc = err_set(err, errlen, -ENOMEM,
                         "run %lld: out of memory reading its checkpoint",
                         (long long)run_id);
    } else if (src != SQLITE_DONE) {
        rc = store__fail(&r->c, src, err, errlen,
                       "reading the checkpoint of run %lld",
                       (long long)run_id);
    }
    sqlite3_reset(st);
    return rc;
}

int store_reader_result(store_reader *r, int64_t run_id,
                        enum run_state *state, run_result *out,
                        bool *has_result, char *err, size_t errlen)
{
    return store__result_read(&r->c, run_id, state, out, has_result, err, errlen);
}
