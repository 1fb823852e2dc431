/* offline.c — status and list with no daemon (cli.h): the jobs' counts
 * read from the database's job_progress view (schema/001_init.sql), in
 * the shape of the daemon's reply, so they print the same (the state as
 * run_state_job names it, paused included). Rates and
 * ETAs are the daemon's measurements: absent here. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "cli.h"
#include "run_state.h"

static const char *const JOBS_SQL =
    "SELECT p.job_id, p.name, p.priority, p.total, p.queued, p.running, p.done,"
    "       p.failed, p.diverged, p.canceled, p.finished, p.created_at,"
    "       j.paused_at IS NOT NULL"
    "  FROM job_progress p JOIN jobs j USING (job_id)"
    " WHERE j.complete = 1 AND (?1 = 0 OR p.job_id = ?1) ORDER BY p.job_id";

static cJSON *row_job(sqlite3_stmt *st)
{
    static const char *const counts[] = {"total", "queued", "running", "done",
                                         "failed", "diverged", "canceled",
                                         "finished"};
    cJSON *o = cJSON_CreateObject();
    long v[8];
    cJSON_AddNumberToObject(o, "job", (double)sqlite3_column_int64(st, 0));
    const unsigned char *name = sqlite3_column_text(st, 1);
    cJSON_AddStringToObject(o, "name", name ? (const char *)name : "");
    cJSON_AddNumberToObject(o, "priority", sqlite3_column_int(st, 2));
    for (int i = 0; i < 8; i++)
        v[i] = (long)sqlite3_column_int64(st, 3 + i);
    bool paused = sqlite3_column_int(st, 12) != 0;
    const long by_state[RUN_STATES] = {
        [RUN_QUEUED] = v[1], [RUN_RUNNING] = v[2], [RUN_STATE_DONE] = v[3],
        [RUN_FAILED] = v[4], [RUN_STATE_DIVERGED] = v[5], [RUN_CANCELED] = v[6]};
    cJSON_AddStringToObject(o, "state", run_state_job(by_state, paused));
    cJSON_AddBoolToObject(o, "paused", paused);
    for (int i = 0; i < 8; i++)
        cJSON_AddNumberToObject(o, counts[i], (double)v[i]);
    cJSON_AddNumberToObject(o, "rate_per_min", NAN);
    cJSON_AddNumberToObject(o, "eta_s", v[1] + v[2] == 0 ? 0 : NAN);
    cJSON_AddNumberToObject(o, "created_at", sqlite3_column_double(st, 11));
    return o;
}

int cli_status_offline(cli_opts *o, long long job, cJSON **out)
{
    cli_resolve_db(o);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(o->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, JOBS_SQL, -1, &st, NULL) != SQLITE_OK) {
        int code = cli_fail(CLI_ERROR, "%s: %s", o->db,
                            db ? sqlite3_errmsg(db) : "cannot open it");
        sqlite3_close(db);
        return code;
    }
    sqlite3_busy_timeout(db, 1000);
    sqlite3_bind_int64(st, 1, job);
    cJSON *r = cJSON_CreateObject(), *jobs = cJSON_CreateArray();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        cJSON_AddItemToArray(jobs, row_job(st));
    int code = CLI_OK;
    if (rc != SQLITE_DONE)
        code = cli_fail(CLI_ERROR, "%s: %s", o->db, sqlite3_errmsg(db));
    else if (job && cJSON_GetArraySize(jobs) == 0)
        code = cli_fail(CLI_ERROR, "job %lld: no such job in %s", job, o->db);
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (code == CLI_OK && job)
        cJSON_AddItemToObject(r, "job", cJSON_DetachItemFromArray(jobs, 0));
    if (code == CLI_OK && !job)
        cJSON_AddItemToObject(r, "jobs", jobs);
    else
        cJSON_Delete(jobs);
    cJSON_AddBoolToObject(r, "offline", true);
    if (code != CLI_OK)
        cJSON_Delete(r);
    else
        *out = r;
    return code;
}
