/* stmt.c — the statements the store runs: their SQL, prepared once per
 * connection on first use and cached (see internal.h). */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

#include "err.h"

/* The SQL of every cached statement, by enum stmt_id. The results
 * statements are built from the column list (columns.c). */
static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    /* Each store call runs inside this savepoint, so that it is atomic
     * whether or not the caller opened a transaction. */
    [ST_SAVEPOINT] = "SAVEPOINT store_op",
    [ST_RELEASE] = "RELEASE store_op",
    [ST_ROLLBACK_TO] = "ROLLBACK TO store_op",

    [ST_JOB_INSERT] =
        "INSERT INTO jobs (name, priority, max_attempts, spec, n_runs,"
        " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_JOB_EXISTS] = "SELECT 1 FROM jobs WHERE job_id = ?1",
    /* A job with running runs, or queued ones and no pause, is not
     * deleted; the rest of it (curves, results, spectra, paths, slices,
     * checkpoints, Slurm records) cascades. */
    [ST_DELETE_RUNS] =
        "DELETE FROM runs WHERE job_id = ?1 AND NOT EXISTS (SELECT 1 FROM runs"
        " WHERE job_id = ?1 AND (status = 'running' OR (status = 'queued'"
        " AND (SELECT paused_at FROM jobs WHERE job_id = ?1) IS NULL)))",
    /* Only a job with work left can be paused; a cancel wins. */
    [ST_PAUSE_JOB] =
        "UPDATE jobs SET paused_at = ?2 WHERE job_id = ?1"
        " AND paused_at IS NULL AND canceled_at IS NULL AND EXISTS"
        " (SELECT 1 FROM runs WHERE job_id = ?1"
        " AND status IN ('queued', 'running'))",
    [ST_RESUME_JOB] =
        "UPDATE jobs SET paused_at = NULL WHERE job_id = ?1"
        " AND paused_at IS NOT NULL",
    /* Why a pause or resume changed nothing. */
    [ST_PAUSE_STATE] =
        "SELECT paused_at IS NOT NULL, canceled_at IS NOT NULL,"
        " (SELECT count(*) FROM runs WHERE job_id = ?1"
        "  AND status IN ('queued', 'running'))"
        " FROM jobs WHERE job_id = ?1",
    /* The new runs are queued: a cancel no longer stands for the job
     * (store_recover would cancel them), as after a retry. */
    [ST_JOB_GROW] =
        "UPDATE jobs SET n_runs = n_runs + ?2, canceled_at = NULL"
        " WHERE job_id = ?1 AND complete = 1",
    [ST_PAUSE_HELD] =
        "SELECT count(*) FROM runs WHERE job_id = ?1 AND status = 'queued'",
    [ST_DELETE_JOB] =
        "DELETE FROM jobs WHERE job_id = ?1 AND complete = 1 AND NOT EXISTS"
        " (SELECT 1 FROM runs WHERE job_id = ?1)",
    [ST_JOB_PARTIAL] = "UPDATE jobs SET complete = 0 WHERE job_id = ?1",
    [ST_JOB_COMPLETE] = "UPDATE jobs SET complete = 1 WHERE job_id = ?1",
    [ST_JOB_DISCARD_RUNS] =
        "DELETE FROM runs WHERE job_id = ?1 AND job_id IN"
        " (SELECT job_id FROM jobs WHERE complete = 0)",
    [ST_JOB_DISCARD] = "DELETE FROM jobs WHERE job_id = ?1 AND complete = 0",
    /* Jobs whose submission never finished: never acknowledged. */
    [ST_RECOVER_PARTIAL_RUNS] =
        "DELETE FROM runs WHERE job_id IN"
        " (SELECT job_id FROM jobs WHERE complete = 0)",
    [ST_RECOVER_PARTIAL] = "DELETE FROM jobs WHERE complete = 0",
    [ST_JOB_COUNTS] =
        "SELECT status, count(*) FROM runs WHERE job_id = ?1 GROUP BY status",
    [ST_JOB_LIST] =
        "SELECT job_id, name, priority, max_attempts, n_runs, created_at,"
        " canceled_at, total, queued, running, done, failed, diverged,"
        " canceled, (SELECT j.paused_at FROM jobs j"
        " WHERE j.job_id = job_progress.job_id)"
        " FROM job_progress WHERE job_id BETWEEN ?1 AND ?2"
        " ORDER BY job_id",

    [ST_RUN_INSERT] =
        "INSERT INTO runs (job_id, idx, priority,"
        " arch, blocks, unit_depth, width, activation, init, gain,"
        " init_scale, loss,"
        " source, dist, target, d, n, n_test, noise, flip, intercept, stream,"
        " optimizer, lr, theta_lr, schedule, steps, batch, tol, seed, config,"
        " mem_bytes, data_path, init_seed, precision)"
        " VALUES (?1, ?2, ?3,"
        " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
        " ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,"
        " ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35)",
    [ST_JOB_PARAM_INSERT] =
        "INSERT INTO job_params (job_id, pos, key, sweep)"
        " VALUES (?1, ?2, ?3, ?4)",
    [ST_RUN_PARAM_INSERT] =
        "INSERT INTO run_params (run_id, key, value) VALUES (?1, ?2, ?3)",
    [ST_RUN_START] =
        "UPDATE runs SET status = 'running', attempts = attempts + 1,"
        " started_at = ?2 WHERE run_id = ?1 AND status = 'queued'",
    /* ?5: whether a queued run may end this way (failed, canceled). */
    [ST_RUN_FINISH] =
        "UPDATE runs SET status = ?2, finished_at = ?3, error = ?4"
        " WHERE run_id = ?1"
        " AND (status = 'running' OR (?5 AND status = 'queued'))",
    [ST_RUN_REQUEUE] =
        "UPDATE runs SET status = 'queued', attempts = max(attempts - 1, 0)"
        " WHERE run_id = ?1 AND status = 'running'",
    /* The attempt counts: a run whose worker keeps dying must end. */
    [ST_RUN_LOST] =
        "UPDATE runs SET"
        " status = CASE WHEN attempts >= j.max_attempts THEN 'failed'"
        "          ELSE 'queued' END,"
        " finished_at = CASE WHEN attempts >= j.max_attempts THEN ?2 END,"
        " error = CASE WHEN attempts >= j.max_attempts THEN"
        "   printf('%s (attempt %d of %d)', ?3, attempts, j.max_attempts) END"
        " FROM jobs j WHERE j.job_id = runs.job_id AND runs.run_id = ?1"
        " AND runs.status = 'running' RETURNING runs.status",
    [ST_RUN_STATUS] = "SELECT status FROM runs WHERE run_id = ?1",
    [ST_RUN_LIST] =
        "SELECT r.run_id, r.job_id, r.idx, r.status, r.attempts, r.priority,"
        " r.started_at, r.finished_at, r.error, r.config,"
        " x.train_loss, x.lin_loss, x.gap"
        " FROM runs r LEFT JOIN results x ON x.run_id = r.run_id"
        " WHERE r.job_id = ?1 AND r.idx >= ?2 ORDER BY r.idx",
    [ST_RUN_CONFIG] =
        "SELECT r.config, c.state, r.attempts, r.status FROM runs r"
        " LEFT JOIN checkpoints c ON c.run_id = r.run_id WHERE r.run_id = ?1",

    [ST_CURVE_INSERT] =
        "INSERT OR REPLACE INTO curves (run_id, step, lr, train_loss,"
        " test_loss, grad_norm, online_loss)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",

    [ST_SPECTRUM_INSERT] =
        "INSERT OR REPLACE INTO spectra (run_id, bin, lo, hi, mass, density)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_PATH_INSERT] =
        "INSERT OR REPLACE INTO paths (run_id, point, t, loss)"
        " VALUES (?1, ?2, ?3, ?4)",
    [ST_SPECTRUM_SELECT] =
        "SELECT bin, lo, hi, mass FROM spectra WHERE run_id = ?1 ORDER BY bin",
    [ST_PATH_SELECT] =
        "SELECT point, loss FROM paths WHERE run_id = ?1 ORDER BY point",
    [ST_SLICE_INSERT] =
        "INSERT OR REPLACE INTO slices (run_id, i, j, a, b, loss)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_SLICE_SELECT] =
        "SELECT i, j, a, loss FROM slices WHERE run_id = ?1 ORDER BY i, j",

    [ST_ARRAY_INSERT] =
        "INSERT INTO run_arrays (run_id, name, shape, data)"
        " VALUES (?1, ?2, ?3, ?4)",
    [ST_ARRAYS_SELECT] =
        "SELECT name, shape, data FROM run_arrays WHERE run_id = ?1"
        " ORDER BY name",

    /* Seed pairs without a row (schema/012_pairs.sql): done runs of a
     * job whose canonical configurations are equal once model.init_seed
     * is removed, both set and different, with seed_pairs true and path
     * points; of every job (?1 = 0) or those with run ?1. The
     * configurations are compared once each (the CTE), not per pair. */
    [ST_PAIR_CANDIDATES] =
        "WITH k AS MATERIALIZED (SELECT run_id, job_id, init_seed,"
        "   json_remove(config, '$.model.init_seed') AS rest FROM runs"
        "  WHERE status = 'done' AND init_seed IS NOT NULL"
        "    AND (?1 = 0 OR job_id = (SELECT job_id FROM runs"
        "                              WHERE run_id = ?1))"
        "    AND json_extract(config, '$.analysis.seed_pairs') = 1"
        "    AND json_extract(config, '$.analysis.path_points') > 0)"
        " SELECT a.job_id, a.run_id, b.run_id FROM k a JOIN k b"
        "   ON b.job_id = a.job_id AND b.rest = a.rest"
        "  AND b.run_id > a.run_id"
        " WHERE a.init_seed <> b.init_seed"
        "   AND (?1 = 0 OR a.run_id = ?1 OR b.run_id = ?1)"
        "   AND NOT EXISTS (SELECT 1 FROM pairs p"
        "                    WHERE p.run_a = a.run_id AND p.run_b = b.run_id)"
        " ORDER BY a.job_id, a.run_id, b.run_id",
    /* Only while both runs are done runs of the job: a pair computed
     * while its job was deleted (or a run retried) stores nothing; one
     * already stored (a pair computed twice) is kept. */
    [ST_PAIR_INSERT] =
        "INSERT INTO pairs (job_id, run_a, run_b, points, f_a, f_b, f_max,"
        " barrier, computed_at)"
        " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9"
        "  WHERE (SELECT count(*) FROM runs WHERE run_id IN (?2, ?3)"
        "          AND job_id = ?1 AND status = 'done') = 2"
        " ON CONFLICT (run_a, run_b) DO NOTHING",
    [ST_PAIR_CURVE_INSERT] =
        "INSERT INTO pair_curve (pair_id, i, t, loss) VALUES (?1, ?2, ?3, ?4)",

    [ST_CKPT_PUT] =
        "INSERT OR REPLACE INTO checkpoints (run_id, step, saved_at, state)"
        " SELECT ?1, ?2, ?3, ?4 WHERE EXISTS"
        " (SELECT 1 FROM runs WHERE run_id = ?1 AND status = 'running')",
    [ST_CKPT_GET] = "SELECT step, state FROM checkpoints WHERE run_id = ?1",
    [ST_CKPT_DELETE] = "DELETE FROM checkpoints WHERE run_id = ?1",

    [ST_CANCEL_RUNS] =
        "UPDATE runs SET status = 'canceled', finished_at = ?2"
        " WHERE job_id = ?1 AND status = 'queued'",
    /* A suspended run of the job may have been queued with a checkpoint. */
    [ST_CANCEL_CKPTS] =
        "DELETE FROM checkpoints WHERE run_id IN (SELECT run_id FROM runs"
        " WHERE job_id = ?1 AND status = 'canceled')",
    [ST_CANCEL_JOB] =
        "UPDATE jobs SET canceled_at = coalesce(canceled_at, ?2),"
        " paused_at = NULL WHERE job_id = ?1",

    [ST_RETRY_RESULTS] =
        "DELETE FROM results WHERE run_id IN (SELECT run_id FROM runs"
        " WHERE job_id = ?1 AND status IN ('failed', 'canceled'))",
    /* A failed run keeps its checkpoint, and a retry resumes from it:
     * the points up to its step stay. */
    [ST_RETRY_CURVES] =
        "DELETE FROM curves WHERE run_id IN (SELECT run_id FROM runs"
        " WHERE job_id = ?1 AND status IN ('failed', 'canceled'))"
        " AND step > coalesce((SELECT k.step FROM checkpoints k"
        " WHERE k.run_id = curves.run_id), -1)",
    [ST_RETRY_SPECTRA] =
        "DELETE FROM spectra WHERE run_id IN (SELECT run_id FROM runs"
        " WHERE job_id = ?1 AND status IN ('failed', 'canceled'))",
    [ST_RETRY_PATHS] =
        "DELETE FROM paths WHERE run_id IN (SELECT run_id FROM runs"
        " WHERE job_id = ?1 AND status IN ('failed', 'canceled'))",
    [ST_RETRY_SLICES] =
        "DELETE FROM slices WHERE run_id IN (SELECT run_id FROM runs"
        " WHERE job_id = ?1 AND status IN ('failed', 'canceled'))",
    [ST_RETRY_RESUMABLE] =
        "SELECT count(*) FROM checkpoints k JOIN runs r USING (run_id)"
        " WHERE r.job_id = ?1 AND r.status = 'failed'",
    [ST_RETRY_RUNS] =
        "UPDATE runs SET status = 'queued', attempts = 0, error = NULL,"
        " started_at = NULL, finished_at = NULL"
        " WHERE job_id = ?1 AND status IN ('failed', 'canceled')",
    [ST_RETRY_JOB] = "UPDATE jobs SET canceled_at = NULL WHERE job_id = ?1",

    /* A job canceled while its runs were running: the cancel committed,
     * the runs' ends did not (the daemon was killed, or its workers did
     * not stop before it exited), or a run was suspended to the queue. A
     * retry clears canceled_at, so these are runs nobody wants. */
    [ST_RECOVER_CANCEL] =
        "UPDATE runs SET status = 'canceled', finished_at = ?1,"
        " error = 'canceled on request; the daemon stopped before the run"
        " did'"
        " WHERE status IN ('running', 'queued') AND job_id IN"
        " (SELECT job_id FROM jobs WHERE canceled_at IS NOT NULL)",
    [ST_RECOVER_FAIL] =
        "UPDATE runs SET status = 'failed', finished_at = ?1,"
        " error = printf('daemon died %d time%s while running this run',"
        "   attempts, CASE attempts WHEN 1 THEN '' ELSE 's' END)"
        " WHERE status = 'running' AND attempts >="
        " (SELECT max_attempts FROM jobs j WHERE j.job_id = runs.job_id)",
    [ST_RECOVER_CKPTS] =
        "DELETE FROM checkpoints WHERE run_id IN (SELECT run_id FROM runs"
        " WHERE status IN ('done', 'diverged', 'canceled'))",
    [ST_RECOVER_REQUEUE] =
        "UPDATE runs SET status = 'queued' WHERE status = 'running'",

    [ST_QUEUE] =
        /* the configuration only where the estimate is missing */
        "SELECT job_id, priority, run_id, mem_bytes,"
        " CASE WHEN mem_bytes IS NULL THEN config END"
        " FROM runs WHERE status = 'queued'"
        " ORDER BY priority DESC, job_id, run_id",

    /* The same array recorded again (a client that retried) is one row. */
    [ST_SLURM_INSERT] =
        "INSERT INTO slurm_jobs (slurm_job_id, job_id, tasks, submitted_at,"
        " script) VALUES (?1, ?2, ?3, ?4, ?5)"
        " ON CONFLICT (slurm_job_id, job_id) DO NOTHING",
};

int store__stmt(struct conn *c, enum stmt_id id, sqlite3_stmt **out,
              char *err, size_t errlen)
{
    if (!c->st[id]) {
        char *built = NULL;
        const char *sql = stmt_sql[id];
        if (!sql) {
            built = store__result_sql(id);
            if (!built)
                return err_set(err, errlen, -ENOMEM,
                               "database %s: out of memory", c->path);
            sql = built;
        }
        int rc = sqlite3_prepare_v3(c->db, sql, -1,
                                    SQLITE_PREPARE_PERSISTENT, &c->st[id],
                                    NULL);
        if (rc != SQLITE_OK)
            rc = store__fail(c, rc, err, errlen, "preparing \"%.60s...\"", sql);
        free(built);
        if (rc < 0)
            return rc;
    } else {
        /* Reset after its last use; no binding (a borrowed pointer of an
         * earlier caller) survives into this one. */
        sqlite3_clear_bindings(c->st[id]);
    }
    *out = c->st[id];
    return 0;
}

int store__exec(struct conn *c, enum stmt_id id, char *err, size_t errlen,
              const char *what)
{
    sqlite3_stmt *st;
    int rc = store__stmt(c, id, &st, err, errlen);
    return rc < 0 ? rc : store__step_done(c, st, err, errlen, "%s", what);
}
