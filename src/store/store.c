/* store.c — the daemon's single writer connection at work: transactions,
 * the run state machine, curves, checkpoints, recovery and the WAL (see
 * store.h, schema/). Opening it is open.c. */
#include "internal.h"

#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "engine.h"
#include "err.h"
#include "paths.h"

#define op_begin store__op_begin
#define op_end   store__op_end

/* --- transactions --------------------------------------------------- */

/* SQLite writes on through the file it opened, even once that file has
 * been removed or replaced at its path: every commit would be acknowledged
 * and then lost at the next start. So every write transaction first checks
 * that the path still names the open file (a stat: cheap beside a commit),
 * and refuses with an I/O error, the store-fault state, when it does not.
 * SQLite keeps the file open, so its inode cannot be reused meanwhile. */
static int check_still_ours(const store *s, char *err, size_t errlen)
{
    struct stat sb;
    if (!s->ident)
        return 0;
    if (stat(s->c.path, &sb) == 0 && sb.st_dev == s->dev &&
        sb.st_ino == s->ino)
        return 0;
    return err_set(err, errlen, -EIO,
                   "the database file %s is no longer the file this daemon "
                   "opened (it was removed or replaced), so nothing more can "
                   "be stored: stop the daemon, put the database back, and "
                   "start it again",
                   s->c.path);
}

int store_begin(store *s, char *err, size_t errlen)
{
    int moved = check_still_ours(s, err, errlen);
    if (moved < 0)
        return moved;
    if (s->in_tx)
        return err_set(err, errlen, -EINVAL,
                       "database %s: a transaction is already open",
                       s->c.path);
    int rc = store__exec(&s->c, ST_BEGIN, err, errlen,
                       "starting a transaction");
    if (rc == 0) {
        s->in_tx = true;
        s->tx_failed = false;
    }
    return rc;
}

/* Ends whatever transaction SQLite still has open, quietly: the caller
 * already wrote the sentence that explains why. */
static void rollback_quiet(store *s)
{
    if (!sqlite3_get_autocommit(s->c.db))
        store__exec(&s->c, ST_ROLLBACK, NULL, 0, "rolling back");
}

int store_commit(store *s, char *err, size_t errlen)
{
    if (!s->in_tx)
        return err_set(err, errlen, -EINVAL,
                       "database %s: no transaction to commit", s->c.path);
    int rc;
    if (s->tx_failed || sqlite3_get_autocommit(s->c.db))
        rc = err_set(err, errlen, -EIO,
                     "database %s: transaction not committed: a write in it "
                     "failed, so it was rolled back", s->c.path);
    else
        rc = store__exec(&s->c, ST_COMMIT, err, errlen, "committing");
    if (rc < 0)
        rollback_quiet(s);
    s->in_tx = false;
    s->tx_failed = false;
    return rc;
}

void store_rollback(store *s)
{
    if (!s->in_tx)
        return;
    rollback_quiet(s);
    s->in_tx = false;
    s->tx_failed = false;
}

/* Every write below runs between op_begin and op_end: a savepoint, so
 * that the call is atomic on its own (it commits when no transaction is
 * open) and undone alone when it fails inside the caller's transaction.
 * (Exported as store__op_begin/store__op_end for the store's other
 * writing files.) */
int store__op_begin(store *s, char *err, size_t errlen)
{
    if (s->in_tx && (s->tx_failed || sqlite3_get_autocommit(s->c.db))) {
        /* Running on would commit each statement on its own. */
        s->tx_failed = true;
        return err_set(err, errlen, -EIO,
                       "database %s: the transaction was rolled back after "
                       "a failed write; roll it back and start again",
                       s->c.path);
    }
    return store__exec(&s->c, ST_SAVEPOINT, err, errlen,
                     "starting a savepoint");
}

int store__op_end(store *s, int rc, char *err, size_t errlen)
{
    if (rc == 0) {
        rc = store__exec(&s->c, ST_RELEASE, err, errlen,
                       s->in_tx ? "releasing a savepoint" : "committing");
        if (rc == 0)
            return 0;
    }
    if (sqlite3_get_autocommit(s->c.db)) {
        /* SQLite already rolled everything back (disk full, I/O error). */
        if (s->in_tx)
            s->tx_failed = true;
    } else if (!s->in_tx) {
        rollback_quiet(s);
    } else if (store__exec(&s->c, ST_ROLLBACK_TO, NULL, 0, "") < 0 ||
               store__exec(&s->c, ST_RELEASE, NULL, 0, "") < 0) {
        s->tx_failed = true;
    }
    if (s->in_tx && (rc == -EIO || rc == -ENOSPC))
        s->tx_failed = true;
    return rc;
}

/* Why an UPDATE guarded by the run's state changed nothing. */
static int explain_run(store *s, int64_t run_id, const char *action,
                       const char *expected, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int rc = store__stmt(&s->c, ST_RUN_STATUS, &st, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        rc = err_set(err, errlen, -EINVAL,
                     "run %lld: cannot %s: it is %s, not %s",
                     (long long)run_id, action, sqlite3_column_text(st, 0),
                     expected);
    else if (src == SQLITE_DONE)
        rc = err_set(err, errlen, -ENOENT, "run %lld does not exist",
                     (long long)run_id);
    else
        rc = store__fail(&s->c, src, err, errlen, "reading run %lld",
                       (long long)run_id);
    sqlite3_reset(st);
    return rc;
}

/* --- jobs and runs -------------------------------------------------- */

int store_job_insert(store *s, const char *name, int priority,
                     int max_attempts, const char *spec_json, long n_runs,
                     int64_t *job_id, char *err, size_t errlen)
{
    if (max_attempts < 1 || n_runs < 0)
        return err_set(err, errlen, -EINVAL,
                       "job: max_attempts must be >= 1 and n_runs >= 0, got "
                       "%d and %ld", max_attempts, n_runs);
    sqlite3_stmt *st;
    int rc = op_begin(s, err, errlen);
    if (rc < 0)
        return rc;
    if ((rc = store__stmt(&s->c, ST_JOB_INSERT, &st, err, errlen)) == 0) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, priority);
        sqlite3_bind_int(st, 3, max_attempts);
        sqlite3_bind_text(st, 4, spec_json, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, n_runs);
        sqlite3_bind_double(st, 6, store__now());
        rc = store__step_done(&s->c, st, err, errlen, "inserting a job");
        if (rc == 0)
            *job_id = sqlite3_last_insert_rowid(s->c.db);
    }
    return op_end(s, rc, err, errlen);
}

/* Binds the configuration columns of ST_RUN_INSERT (?4..?31, ?34, ?35).
 * Sizes and generator settings exist only for synthetic data: csv and
 * inline sizes are known once loaded, so those columns are NULL (see the
 * schema). */
static void bind_config(sqlite3_stmt *st, const run_config *cfg,
                        const char *config_json)
{
    const model_config *m = &cfg->model;
    const data_config *d = &cfg->data;
    const train_config *t = &cfg->train;
    bool synthetic = d->source == DATA_SYNTHETIC;
    sqlite3_bind_text(st, 4, config_arch_name(m->arch), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, m->blocks);
    sqlite3_bind_int(st, 6, m->unit_depth);
    sqlite3_bind_int(st, 7, m->width);
    sqlite3_bind_text(st, 8, config_activation_name(m->activation), -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, 9, config_init_name(m->init), -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 10, m->gain);
    sqlite3_bind_double(st, 11, m->init_scale);
    sqlite3_bind_text(st, 12, config_loss_name(cfg->loss), -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, 13, config_source_name(d->source), -1,
                      SQLITE_STATIC);
    if (synthetic) {
        sqlite3_bind_text(st, 14, config_dist_name(d->dist), -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 15, config_target_name(d->target), -1,
                          SQLITE_STATIC);
        sqlite3_bind_int(st, 16, d->d);
        sqlite3_bind_int(st, 17, d->n);
        sqlite3_bind_int(st, 18, d->n_test);
        store__bind_real(st, 19, d->noise);
        store__bind_real(st, 20, d->flip);
    }   /* else ?14..?20 stay NULL (bindings are cleared) */
    sqlite3_bind_int(st, 21, d->intercept);
    sqlite3_bind_int(st, 22, d->stream);
    sqlite3_bind_text(st, 23, config_optimizer_name(t->optimizer), -1,
                      SQLITE_STATIC);
    sqlite3_bind_double(st, 24, t->lr);
    if (t->theta_lr >= 0)      /* < 0: "same as lr", JSON null */
        sqlite3_bind_double(st, 25, t->theta_lr);
    sqlite3_bind_text(st, 26, config_schedule_name(t->schedule), -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, 27, t->steps);
    sqlite3_bind_int(st, 28, t->batch);
    sqlite3_bind_double(st, 29, t->tol);
    sqlite3_bind_int64(st, 30, (sqlite3_int64)cfg->seed);
    sqlite3_bind_text(st, 31, config_json, -1, SQLITE_STATIC);
    if (m->init_seed >= 0)     /* < 0: "the run's seed", JSON null */
        sqlite3_bind_int64(st, 34, m->init_seed);
    sqlite3_bind_text(st, 35, config_precision_name(t->precision), -1,
                      SQLITE_STATIC);
}

/* Binds ?33, the CSV file as this process opens it: a relative path is
 * taken from the working directory, so the row names the file read
 * whatever directory a later reader is in. NULL for other sources, and
 * when the directory cannot be told (the row then keeps the path as
 * written in runs.config). */
static void bind_data_path(sqlite3_stmt *st, const data_config *d)
{
    if (d->source != DATA_CSV || !d->path)
        return;
    if (d->path[0] == '/') {
        sqlite3_bind_text(st, 33, d->path, -1, SQLITE_STATIC);
        return;
    }
    char cwd[PATHS_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return;
    char *abs = sqlite3_mprintf("%s/%s", cwd, d->path);
    if (abs)
        sqlite3_bind_text(st, 33, abs, -1, sqlite3_free);
}

int store_run_insert(store *s, int64_t job_id, long index, int priority,
                     const run_config *cfg, const char *config_json,
                     uint64_t mem_bytes, int64_t *run_id, char *err,
                     size_t errlen)
{
    if (!cfg || !config_json)
        return err_set(err, errlen, -EINVAL,
                       "run %ld of job %lld: no configuration", index,
                       (long long)job_id);
    sqlite3_stmt *st;
    int rc = op_begin(s, err, errlen);
    if (rc < 0)
        return rc;
    if ((rc = store__stmt(&s->c, ST_RUN_INSERT, &st, err, errlen)) == 0) {
        sqlite3_bind_int64(st, 1, job_id);
        sqlite3_bind_int64(st, 2, index);
        sqlite3_bind_int(st, 3, priority);
        bind_config(st, cfg, config_json);
        sqlite3_bind_int64(st, 32, (sqlite3_int64)mem_bytes);
        bind_data_path(st, &cfg->data);
        rc = store__step_done(&s->c, st, err, errlen,
                            "inserting run %ld of job %lld", index,
                            (long long)job_id);
        if (rc == 0)
            *run_id = sqlite3_last_insert_rowid(s->c.db);
    }
    return op_end(s, rc, err, errlen);
}

int store_job_params_insert(store *s, int64_t job_id, int n,
                            const char *const *keys,
                            const char *const *sweeps, char *err,
                            size_t errlen)
{
    sqlite3_stmt *st;
    int rc = op_begin(s, err, errlen);
    if (rc < 0)
        return rc;
    for (int i = 0; i < n && rc == 0; i++) {
        if ((rc = store__stmt(&s->c, ST_JOB_PARAM_INSERT, &st, err,
                              errlen)) < 0)
            break;
        sqlite3_bind_int64(st, 1, job_id);
        sqlite3_bind_int(st, 2, i);
        sqlite3_bind_text(st, 3, keys[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, sweeps[i], -1, SQLITE_STATIC);
        rc = store__step_done(&s->c, st, err, errlen,
                              "recording key %s of job %lld", keys[i],
                              (long long)job_id);
    }
    return op_end(s, rc, err, errlen);
}

static void bind_value(sqlite3_stmt *st, int i, const config_value *v)
{
    switch (v->type) {
    case CONFIG_VALUE_INT: sqlite3_bind_int64(st, i, v->i); break;
    case CONFIG_VALUE_REAL: store__bind_real(st, i, v->x); break;
    case CONFIG_VALUE_TEXT:
        sqlite3_bind_text(st, i, v->text, -1, SQLITE_STATIC);
        break;
    default: sqlite3_bind_null(st, i); break;
    }
}

int store_run_params_insert(store *s, int64_t run_id, int n,
                            const char *const *keys,
                            const config_value *vals, char *err,
                            size_t errlen)
{
    sqlite3_stmt *st;
    int rc = op_begin(s, err, errlen);
    if (rc < 0)
        return rc;
    for (int i = 0; i < n && rc == 0; i++) {
        if ((rc = store__stmt(&s->c, ST_RUN_PARAM_INSERT, &st, err,
                              errlen)) < 0)
            break;
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_text(st, 2, keys[i], -1, SQLITE_STATIC);
        bind_value(st, 3, &vals[i]);
        rc = store__step_done(&s->c, st, err, errlen,
                              "recording %s of run %lld", keys[i],
                              (long long)run_id);
    }
    return op_end(s, rc, err, errlen);
}

/* One guarded UPDATE of a run (?1 = run id, ?2 = now), explained when
 * the run was not in the expected state. */
static int run_transition(store *s, enum stmt_id id, int64_t run_id,
                          const char *action, const char *expected,
                          char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int rc = op_begin(s, err, errlen);
    if (rc < 0)
        return rc;
    if ((rc = store__stmt(&s->c, id, &st, err, errlen)) == 0) {
        sqlite3_bind_int64(st, 1, run_id);
        if (sqlite3_bind_parameter_count(st) >= 2)
            sqlite3_bind_double(st, 2, store__now());
        rc = store__step_done(&s->c, st, err, errlen, "%s run %lld", action,
                            (long long)run_id);
        if (rc == 0 && sqlite3_changes(s->c.db) == 0)
            rc = explain_run(s, run_id, action, expected, err, errlen);
    }
    return op_end(s, rc, err, errlen);
}

int store_run_start(store *s, int64_t run_id, char *err, size_t errlen)
{
    return run_transition(s, ST_RUN_START, run_id, "start", "queued", err,
                          errlen);
}

int store_run_requeue(store *s, int64_t run_id, char *err, size_t errlen)
{
    return run_transition(s, ST_RUN_REQUEUE, run_id, "requeue", "running",
                          err, errlen);
}

static int checkpoint_delete(store *s, int64_t run_id, char *err,
                             size_t errlen);

static int lost_step(store *s, int64_t run_id, const char *why,
                     bool *failed, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int rc = store__stmt(&s->c, ST_RUN_LOST, &st, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_double(st, 2, store__now());
    sqlite3_bind_text(st, 3, why, -1, SQLITE_TRANSIENT);
    int s3 = sqlite3_step(st);
    if (s3 == SQLITE_ROW) {
        *failed = strcmp((const char *)sqlite3_column_text(st, 0), "failed") == 0;
        /* The rest of the statement: to SQLITE_DONE, then reset. */
        return store__step_done(&s->c, st, err, errlen, "requeueing run %lld",
                                (long long)run_id);
    }
    if (s3 != SQLITE_DONE) {
        rc = store__fail(&s->c, s3, err, errlen, "requeueing run %lld",
                         (long long)run_id);
        sqlite3_reset(st);
        return rc;
    }
    sqlite3_reset(st);
    return explain_run(s, run_id, "requeue", "running", err, errlen);
}

int store_run_lost(store *s, int64_t run_id, const char *why, bool *failed,
                   char *err, size_t errlen)
{
    *failed = false;
    int rc = op_begin(s, err, errlen);
    if (rc < 0)
        return rc;
    /* A run failed here keeps its checkpoint: a retry resumes from it. */
    rc = lost_step(s, run_id, why, failed, err, errlen);
    return op_end(s, rc, err, errlen);
}

/* Removes the run's checkpoint (finished runs keep none). */
static int checkpoint_delete(store *s, int64_t run_id, char *err,
                             size_t errlen)
{
    sqlite3_stmt *st;
    int rc = store__stmt(&s->c, ST_CKPT_DELETE, &st, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    return store__step_done(&s->c, st, err, errlen,
                          "deleting the checkpoint of run %lld",
                          (long long)run_id);
}

static int result_insert(store *s, int64_t run_id, const run_result *res,
                         char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int rc = store__stmt(&s->c, ST_RESULT_INSERT, &st, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    store__result_bind(st, res);
    return store__step_done(&s->c, st, err, errlen,
                          "storing the result of run %lld",
                          (long long)run_id);
}

int store_run_finish(store *s, int64_t run_id, enum run_state state,
                     const run_result *res, const char *error, char *err,
                     size_t errlen)
{
    return store_run_finish_arrays(s, run_id, state, res, NULL, error, err,
                                   errlen);
}

int store_run_finish_arrays(store *s, int64_t run_id, enum run_state state,
                            const run_result *res, const run_arrays *arrays,
                            const char *error, char *err, size_t errlen)
{
    bool measured = state == RUN_STATE_DONE || state == RUN_STATE_DIVERGED;
    bool stopped = state == RUN_FAILED || state == RUN_CANCELED;
    if (!measured && !stopped)
        return err_set(err, errlen, -EINVAL,
                       "run %lld: cannot finish as %s", (long long)run_id,
                       run_state_name(state));
    if (measured && !res)
        return err_set(err, errlen, -EINVAL,
                       "run %lld: finishing as %s needs its result",
                       (long long)run_id, run_state_name(state));
    if (arrays && !measured)
        return err_set(err, errlen, -EINVAL, "run %lld: a %s run keeps no "
                       "arrays", (long long)run_id, run_state_name(state));
    sqlite3_stmt *st;
    int rc = op_begin(s, err, errlen);
    if (rc < 0)
        return rc;
    if ((rc = store__stmt(&s->c, ST_RUN_FINISH, &st, err, errlen)) < 0)
        goto out;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_text(st, 2, run_state_name(state), -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, store__now());
    sqlite3_bind_text(st, 4, error, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, stopped);
    if ((rc = store__step_done(&s->c, st, err, errlen, "finishing run %lld",
                             (long long)run_id)) < 0)
        goto out;
    if (sqlite3_changes(s->c.db) == 0) {
        rc = explain_run(s, run_id, "finish", stopped ? "queued or running"
                                                      : "running",
                         err, errlen);
        goto out;
    }
    if (res && ((rc = result_insert(s, run_id, res, err, errlen)) < 0 ||
                (rc = store__profiles_insert(&s->c, run_id, res, err,
                                             errlen)) < 0))
        goto out;
    if ((rc = store__arrays_insert(&s->c, run_id, arrays, err, errlen)) < 0)
        goto out;
    /* A failed run keeps its checkpoint for a retry (store_job_retry). */
    if (state != RUN_FAILED)
        rc = checkpoint_delete(s, run_id, err, errlen);
out:
    return op_end(s, rc, err, errlen);
}

int store_curve_insert(store *s, int64_t run_id, const curve_point *pts,
                       int n, char *err, size_t errlen)
{
    if (n < 0 || (n > 0 && !pts))
        return err_set(err, errlen, -EINVAL,
                       "run %lld: bad curve batch (%d points)",
                       (long long)run_id, n);
    if (n == 0)
        return 0;
    sqlite3_stmt *st;
    int rc = op_begin(s, err, errlen);
    if (rc < 0)
        return rc;
    if ((rc = store__stmt(&s->c, ST_CURVE_INSERT, &st, err, errlen)) < 0)
        goto out;
    for (int i = 0; i < n && rc == 0; i++) {
        const curve_point *p = &pts[i];
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int64(st, 2, p->step);
        store__bind_real(st, 3, p->lr);
        store__bind_real(st, 4, p->train_loss);
        store__bind_real(st, 5, p->test_loss);
        store__bind_real(st, 6, p->grad_norm);
        store__bind_real(st, 7, p->online_loss);
        rc = store__step_done(&s->c, st, err, errlen,
                            "storing step %ld of run %lld's curve", p->step,
                            (long long)run_id);
    }
out:
    return op_end(s, rc, err, errlen);
}

int store_checkpoint_put(store *s, int64_t run_id, const checkpoint *ck,
                         char *err, size_t errlen)
{
    if (!ck || (ck->len > 0 && !ck->data))
        return err_set(err, errlen, -EINVAL, "run %lld: empty checkpoint",
                       (long long)run_id);
    sqlite3_stmt *st;
    int rc = op_begin(s, err, errlen);
    if (rc < 0)
        return rc;
    if ((rc = store__stmt(&s->c, ST_CKPT_PUT, &st, err, errlen)) < 0)
        goto out;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, ck->step);
    sqlite3_bind_double(st, 3, store__now());
    int brc = ck->len ? sqlite3_bind_blob64(st, 4, ck->data, ck->len,
                                            SQLITE_STATIC)
                      : sqlite3_bind_zeroblob(st, 4, 0);
    if (brc != SQLITE_OK) {
        rc = store__fail(&s->c, brc, err, errlen,
                       "run %lld: checkpoint of %zu bytes",
                       (long long)run_id, ck->len);
        goto out;
    }
    if ((rc = store__step_done(&s->c, st, err, errlen,
                             "saving the checkpoint of run %lld",
                             (long long)run_id)) == 0 &&
        sqlite3_changes(s->c.db) == 0)
        rc = explain_run(s, run_id, "save a checkpoint", "running", err,
                         errlen);
out:
    return op_end(s, rc, err, errlen);
}

/* Runs statement id with ?1 = job id and ?2 = now; *changed receives the
 * rows it changed. */
static int job_step(store *s, enum stmt_id id, int64_t job_id,
                    long *changed, const char *what, char *err,
                    size_t errlen)
{
    sqlite3_stmt *st;
    int rc = store__stmt(&s->c, id, &st, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, job_id);
    if (sqlite3_bind_parameter_count(st) >= 2)
        sqlite3_bind_double(st, 2, store__now());
    rc = store__step_done(&s->c, st, err, errlen, "%s of job %lld", what,
                        (long long)job_id);
    if (changed)
        *changed = rc == 0 ? sqlite3_changes(s->c.db) : 0;
    return rc;
}

static int job_op(store *s, enum stmt_id id, int64_t job_id,
                  const char *what, char *err, size_t errlen)
{
    int rc = op_begin(s, err, errlen);
    if (rc == 0)
        rc = job_step(s, id, job_id, NULL, what, err, errlen);
    return op_end(s, rc, err, errlen);
}

int store_job_partial(store *s, int64_t job_id, char *err, size_t errlen)
{
    return job_op(s, ST_JOB_PARTIAL, job_id, "marking the submission", err,
                  errlen);
}

int store_job_complete(store *s, int64_t job_id, char *err, size_t errlen)
{
    return job_op(s, ST_JOB_COMPLETE, job_id, "completing the submission",
                  err, errlen);
}

int store_job_discard(store *s, int64_t job_id, char *err, size_t errlen)
{
    int rc = job_op(s, ST_JOB_DISCARD_RUNS, job_id, "deleting the runs", err,
                    errlen);
    return rc < 0 ? rc
                  : job_op(s, ST_JOB_DISCARD, job_id, "deleting", err, errlen);
}

int store_job_cancel(store *s, int64_t job_id, long *n, char *err,
                     size_t errlen)
{
    long jobs = 0;
    *n = 0;
    int rc = op_begin(s, err, errlen);
    if (rc < 0)
        return rc;
    if ((rc = job_step(s, ST_CANCEL_JOB, job_id, &jobs, "cancelling", err,
                       errlen)) == 0 && jobs == 0)
        rc = err_set(err, errlen, -ENOENT, "job %lld does not exist",
                     (long long)job_id);
    if (rc == 0)
        rc = job_step(s, ST_CANCEL_RUNS, job_id, n, "cancelling the runs",
                      err, errlen);
    if (rc == 0)
        rc = job_step(s, ST_CANCEL_CKPTS, job_id, NULL,
                      "deleting checkpoints", err, errlen);
    rc = op_end(s, rc, err, errlen);
    if (rc < 0)
        *n = 0;
    return rc;
}

int store_job_delete(store *s, int64_t job_id, long *n, char *err,
                     size_t errlen)
{
    long jobs = 0;
    *n = 0;
    int rc = op_begin(s, err, errlen);
    if (rc < 0)
        return rc;
    rc = job_step(s, ST_DELETE_RUNS, job_id, n, "deleting the runs", err,
                  errlen);
    if (rc == 0)
        rc = job_step(s, ST_DELETE_JOB, job_id, &jobs, "deleting", err, errlen);
    if (rc == 0 && jobs == 0)
        rc = err_set(err, errlen, -EBUSY, "job %lld has queued or running "
                     "runs, or does not exist: cancel or pause it (resweep "
                     "cancel %lld) and delete it once no run is running",
                     (long long)job_id, (long long)job_id);
    rc = op_end(s, rc, err, errlen);
    if (rc < 0)
        *n = 0;
    return rc;
}

int store_job_retry(store *s, int64_t job_id, long *n, char *err,
                    size_t errlen)
{
    long jobs = 0;
    *n = 0;
    int rc = op_begin(s, err, errlen);
    if (rc < 0)
        return rc;
    if ((rc = job_step(s, ST_RETRY_JOB, job_id, &jobs, "retrying", err,
                       errlen)) == 0 && jobs == 0)
        rc = err_set(err, errlen, -ENOENT, "job %lld does not exist",
                     (long long)job_id);
    /* Results and curves first: they are found by the runs' old state. */
    if (rc == 0)
        rc = job_step(s, ST_RETRY_RESULTS, job_id, NULL,
                      "deleting old results", err, errlen);
    if (rc == 0)
        rc = job_step(s, ST_RETRY_CURVES, job_id, NULL,
                      "deleting old curves", err, errlen);
    if (rc == 0)
        rc = job_step(s, ST_RETRY_SPECTRA, job_id, NULL,
                      "deleting old spectra", err, errlen);
    if (rc == 0)
        rc = job_step(s, ST_RETRY_PATHS, job_id, NULL,
                      "deleting old paths", err, errlen);
    if (rc == 0)
        rc = job_step(s, ST_RETRY_SLICES, job_id, NULL,
                      "deleting old slices", err, errlen);
    if (rc == 0)
        rc = job_step(s, ST_RETRY_RUNS, job_id, n, "requeueing the runs",
                      err, errlen);
    rc = op_end(s, rc, err, errlen);
    if (rc < 0)
        *n = 0;
    return rc;
}

int store_recover(store *s, long *requeued, long *failed, long *canceled,
                  char *err, size_t errlen)
{
    *requeued = *failed = *canceled = 0;
    int rc = op_begin(s, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st;
    rc = store__exec(&s->c, ST_RECOVER_PARTIAL_RUNS, err, errlen,
                     "deleting the runs of unfinished submissions");
    if (rc == 0)
        rc = store__exec(&s->c, ST_RECOVER_PARTIAL, err, errlen,
                         "deleting unfinished submissions");
    /* Cancels first, then failures: what is left running afterwards goes
     * back to the queue. */
    if (rc == 0 &&
        (rc = store__stmt(&s->c, ST_RECOVER_CANCEL, &st, err, errlen)) == 0) {
        sqlite3_bind_double(st, 1, store__now());
        rc = store__step_done(&s->c, st, err, errlen, "%s",
                              "ending the runs of canceled jobs");
        *canceled = sqlite3_changes(s->c.db);
    }
    if (rc == 0 &&
        (rc = store__stmt(&s->c, ST_RECOVER_FAIL, &st, err, errlen)) == 0) {
        sqlite3_bind_double(st, 1, store__now());
        rc = store__step_done(&s->c, st, err, errlen, "%s",
                            "failing runs past their attempts");
        *failed = sqlite3_changes(s->c.db);
    }
    if (rc == 0)
        rc = store__exec(&s->c, ST_RECOVER_CKPTS, err, errlen,
                       "deleting the checkpoints of ended runs");
    if (rc == 0) {
        rc = store__exec(&s->c, ST_RECOVER_REQUEUE, err, errlen,
                       "requeueing interrupted runs");
        *requeued = sqlite3_changes(s->c.db);
    }
    rc = op_end(s, rc, err, errlen);
    if (rc < 0)
        *requeued = *failed = *canceled = 0;
    return rc;
}

/* A run queued before schema version 3 has no estimate: made here from
 * its configuration (once per start, for such runs only). One that no
 * longer parses counts 0; it fails with the reason when it runs. */
static uint64_t queued_estimate(sqlite3_stmt *st)
{
    if (sqlite3_column_type(st, 3) != SQLITE_NULL)
        return (uint64_t)sqlite3_column_int64(st, 3);
    const char *json = (const char *)sqlite3_column_text(st, 4);
    run_config cfg;
    char err[ERR_LEN];
    if (!json || config_parse_str(json, &cfg, err, sizeof err) != 0)
        return 0;
    uint64_t bytes = engine_estimate_bytes(&cfg);
    config_free(&cfg);
    return bytes;
}

int store_queue_load(store *s, store_queue_fn fn, void *ctx, char *err,
                     size_t errlen)
{
    sqlite3_stmt *st;
    int rc = store__stmt(&s->c, ST_QUEUE, &st, err, errlen);
    if (rc < 0)
        return rc;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = fn(ctx, sqlite3_column_int64(st, 0),
                     sqlite3_column_int(st, 1), sqlite3_column_int64(st, 2),
                     queued_estimate(st))) != 0)
            break;
    if (rc == 0 && src != SQLITE_DONE)
        rc = store__fail(&s->c, src, err, errlen, "reading the queue");
    sqlite3_reset(st);
    return rc;
}

int store_wal_checkpoint(store *s, char *err, size_t errlen)
{
    if (s->in_tx)
        return err_set(err, errlen, -EINVAL,
                       "database %s: cannot checkpoint the WAL inside a "
                       "transaction", s->c.path);
    int log = 0, done = 0;
    /* PASSIVE never waits: it copies what no reader still needs. */
    int rc = sqlite3_wal_checkpoint_v2(s->c.db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                       &log, &done);
    if (rc == SQLITE_BUSY)   /* another connection is checkpointing */
        return 0;
    if (rc != SQLITE_OK)
        return store__fail(&s->c, rc, err, errlen, "checkpointing the WAL");
    if (log < 0 || done < log)
        return 0;   /* a reader pins part of the WAL; try again later */
    /* Everything is in the database: reset the WAL file to zero bytes.
     * TRUNCATE waits for readers through the busy handler, so it runs
     * without one; a reader that holds on just makes it give up. */
    sqlite3_busy_timeout(s->c.db, 0);
    rc = sqlite3_wal_checkpoint_v2(s->c.db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                   NULL, NULL);
    sqlite3_busy_timeout(s->c.db, s->busy_ms);
    if (rc == SQLITE_OK || (rc & 0xff) == SQLITE_BUSY)
        return 0;
    return store__fail(&s->c, rc, err, errlen, "truncating the WAL");
}
