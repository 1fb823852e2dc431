/* progress.c — a job's running runs as the database shows them while
 * they train (cli.h): the step and loss of each one's last curve point,
 * which the workers report at most POOL_CURVE_FLUSH_S after measuring it
 * (include/pool.h), and an ETA from its step rate since its start. The
 * daemon keeps no per-step state, so status and watch read it here. */
#include <math.h>
#include <stdio.h>
#include <time.h>

#include <sqlite3.h>

#include "cli.h"

static const char *const RUNNING_SQL =
    "SELECT r.run_id, r.steps, r.started_at, c.step, c.train_loss"
    " FROM runs r LEFT JOIN curves c ON c.run_id = r.run_id AND c.step ="
    "  (SELECT max(step) FROM curves WHERE run_id = r.run_id)"
    " WHERE r.job_id = ?1 AND r.status = 'running' ORDER BY r.run_id LIMIT ?2";

/* From the submission to the last run's end. */
static const char *const ELAPSED_SQL =
    "SELECT max(r.finished_at) - j.created_at FROM jobs j JOIN runs r"
    " USING (job_id) WHERE j.job_id = ?1";

static double wall_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The rate is steps per second since the run's last start; a run resumed
 * from a checkpoint counts its earlier steps too, so it looks faster. */
static run_progress row_progress(sqlite3_stmt *st, double now)
{
    run_progress p = {.run = sqlite3_column_int64(st, 0),
                      .steps = (long)sqlite3_column_int64(st, 1),
                      .step = -1, .loss = NAN, .run_s = NAN, .eta_s = NAN};
    if (sqlite3_column_type(st, 3) == SQLITE_NULL)
        return p;
    p.step = (long)sqlite3_column_int64(st, 3);
    if (sqlite3_column_type(st, 4) != SQLITE_NULL)
        p.loss = sqlite3_column_double(st, 4);
    double elapsed = now - sqlite3_column_double(st, 2);
    if (p.step > 0 && elapsed > 0 && sqlite3_column_type(st, 2) != SQLITE_NULL) {
        p.run_s = elapsed * (double)p.steps / (double)p.step;
        p.eta_s = fmax(p.run_s - elapsed, 0);
    }
    return p;
}

int cli_running_runs(const cli_opts *o, long long job, run_progress *out,
                     int max, int *n, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    *n = 0;
    if (!o->db[0] || sqlite3_open_v2(o->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, RUNNING_SQL, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", o->db[0] ? o->db : "no database",
                 db ? sqlite3_errmsg(db) : "cannot open it");
        sqlite3_close(db);
        return CLI_ERROR;
    }
    sqlite3_busy_timeout(db, 1000);
    sqlite3_bind_int64(st, 1, job);
    sqlite3_bind_int(st, 2, max);
    double now = wall_now();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max)
        out[(*n)++] = row_progress(st, now);
    int code = CLI_OK;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        snprintf(err, errlen, "%s: %s", o->db, sqlite3_errmsg(db));
        code = CLI_ERROR;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return code;
}

double cli_job_elapsed(const cli_opts *o, long long job)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    double s = NAN;
    if (o->db[0] &&
        sqlite3_open_v2(o->db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, ELAPSED_SQL, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 1000);
        sqlite3_bind_int64(st, 1, job);
        if (sqlite3_step(st) == SQLITE_ROW &&
            sqlite3_column_type(st, 0) != SQLITE_NULL)
            s = sqlite3_column_double(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return s;
}

double cli_eta_from_runs(const run_progress *rp, int n, long queued)
{
    double longest = NAN, sum = 0;
    int known = 0;
    for (int i = 0; i < n; i++) {
        if (isnan(rp[i].eta_s))
            continue;
        longest = isnan(longest) ? rp[i].eta_s : fmax(longest, rp[i].eta_s);
        sum += rp[i].run_s;
        known++;
    }
    if (known == 0)
        return NAN;
    return longest + (double)queued * (sum / known) / (double)n;
}
