/* db.c — resweep commands that read the database directly: results and
 * sql. The connection is read-only (SQLITE_OPEN_READONLY and
 * query_only), so nothing typed here can change the daemon's data, and
 * an authorizer (sqlguard.c) lets a statement only read, so none creates
 * a file either; in WAL mode a reader never blocks the daemon's writes. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "consts.h"
#include "cli.h"


/* *denied (borrowed, outliving the connection; may be NULL) turns true
 * when the authorizer refuses an action. */
static int db_open(const cli_opts *o, sqlite3 **out, bool *denied)
{
    if (!o->db[0])
        return cli_fail(CLI_ERROR, "no database: give --db PATH");
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(o->db, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        int code = cli_fail(CLI_ERROR, "%s: %s", o->db,
                            db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return code;
    }
    sqlite3_busy_timeout(db, DB_BUSY_MS);
    sqlite3_exec(db, "PRAGMA query_only = 1", NULL, NULL, NULL);
    cli_sql_guard(db, denied);
    *out = db;
    return CLI_OK;
}

static void csv_field(const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

/* Prints every row of st in the format; CLI_OK or CLI_ERROR. Tables are
 * buffered (to align them); CSV and JSON stream. */
static int print_rows(sqlite3 *db, sqlite3_stmt *st, const char *format)
{
    int n = sqlite3_column_count(st);
    bool table_fmt = strcmp(format, "table") == 0;
    bool csv = strcmp(format, "csv") == 0;
    table *t = NULL;
    bool *text_col = calloc((size_t)n + 1, sizeof *text_col);
    if (!text_col)
        return cli_fail(CLI_ERROR, "out of memory");
    if (table_fmt) {
        t = table_new();
        for (int i = 0; i < n; i++)
            table_col(t, sqlite3_column_name(st, i), false);
    } else if (csv) {
        for (int i = 0; i < n; i++) {
            if (i)
                putchar(',');
            csv_field(sqlite3_column_name(st, i));
        }
        putchar('\n');
    } else {
        fputs("[", stdout);
    }
    long rows = 0;
    int rc;
    char buf[4096];
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (table_fmt) {
            for (int i = 0; i < n; i++) {
                int type = sqlite3_column_type(st, i);
                text_col[i] |= type == SQLITE_TEXT || type == SQLITE_BLOB;
                cli_cell_text(st, i, true, i == n - 1, buf, sizeof buf);
                table_cell(t, buf);
            }
        } else if (csv) {
            for (int i = 0; i < n; i++) {
                if (i)
                    putchar(',');
                cli_cell_text(st, i, false, true, buf, sizeof buf);
                csv_field(buf);
            }
            putchar('\n');
        } else {
            cJSON *o = cli_row_json(st);
            char *text = cJSON_PrintUnformatted(o);
            printf("%s\n%s", rows ? "," : "", text ? text : "null");
            free(text);
            cJSON_Delete(o);
        }
        rows++;
    }
    if (table_fmt) {
        /* Numbers right-aligned: columns that held no text. */
        for (int i = 0; i < n; i++)
            table_align(t, i, !text_col[i]);
        if (rc == SQLITE_DONE)
            table_print(t, stdout);
        table_free(t);
    } else if (!csv) {
        fputs("\n]\n", stdout);
    }
    free(text_col);
    if (rc != SQLITE_DONE)
        return cli_fail(CLI_ERROR, "%s", sqlite3_errmsg(db));
    return CLI_OK;
}

int cmd_sql(cli_opts *o, int argc, char **argv)
{
    sqlite3 *db = NULL;
    cli_resolve_db(o);
    bool denied = false;
    int rc = db_open(o, &db, &denied);
    if (rc != CLI_OK)
        return rc;
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    if (sqlite3_prepare_v2(db, argv[0], -1, &st, &tail) != SQLITE_OK) {
        rc = denied
                 ? cli_fail(CLI_ERROR, "sql: only statements that read are "
                                       "allowed (SELECT, WITH, reporting "
                                       "PRAGMAs): %s", sqlite3_errmsg(db))
                 : cli_fail(CLI_ERROR, "sql: %s", sqlite3_errmsg(db));
        goto out;
    }
    if (!st) {
        rc = cli_fail(CLI_ERROR, "sql: no statement given");
        goto out;
    }
    if ((rc = cli_sql_check(st)) != CLI_OK)
        goto out;
    for (; tail && *tail; tail++) {
        if (*tail != ' ' && *tail != '\n' && *tail != '\t' && *tail != ';') {
            rc = cli_fail(CLI_ERROR, "sql: give one statement at a time");
            goto out;
        }
    }
    rc = print_rows(db, st, o->format ? o->format : "table");
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

/* The run_results columns a table shows; CSV and JSON give them all. */
static const char results_table_cols[] =
    "run_id, status, arch, blocks, unit_depth, width, activation, loss, "
    "dist, target, d, n, seed, optimizer, lr, steps, train_loss, test_loss, "
    "lin_loss, gap, cert, grad_norm, hess_min, hess_converged, train_s, error";

int cmd_results(cli_opts *o, int argc, char **argv)
{
    long long job = cli_job_arg(argv[0]);
    if (job < 0)
        return CLI_USAGE;
    const char *format = o->format ? o->format : "table";
    sqlite3 *db = NULL;
    cli_resolve_db(o);
    int rc = db_open(o, &db, NULL);
    if (rc != CLI_OK)
        return rc;
    sqlite3_stmt *st = NULL;
    char sql[1024];
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM jobs WHERE job_id = ?",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = cli_fail(CLI_ERROR, "%s: %s", o->db, sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_int64(st, 1, job);
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) == 0) {
        rc = cli_fail(CLI_ERROR, "job: there is no job %lld in %s", job,
                      o->db);
        goto out;
    }
    sqlite3_finalize(st);
    snprintf(sql, sizeof sql,
             "SELECT %s FROM run_results WHERE job_id = ? ORDER BY run_id",
             strcmp(format, "table") == 0 ? results_table_cols : "*");
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = cli_fail(CLI_ERROR, "%s: %s", o->db, sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_int64(st, 1, job);
    rc = print_rows(db, st, format);
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

/* `resweep check`: SQLite's full integrity_check (every page, every
 * b-tree, every index against its table), read-only; the daemon's start
 * runs only a time-bounded quick_check. */
int cmd_check(cli_opts *o, int argc, char **argv)
{
    cli_resolve_db(o);
    sqlite3 *db = NULL;
    int rc = db_open(o, &db, NULL);
    if (rc != CLI_OK)
        return rc;
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(db, "PRAGMA integrity_check(100)", -1, &st,
                                 NULL);
    long problems = 0;
    while (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 0);
        src = SQLITE_OK;
        if (line && strcmp(line, "ok") == 0)
            continue;
        if (problems++ == 0)
            printf("%s: corrupt:\n", o->db);
        printf("  %s\n", line ? line : "?");
    }
    if (src == SQLITE_OK)
        src = SQLITE_DONE;
    sqlite3_finalize(st);
    if (src != SQLITE_DONE && problems == 0)
        rc = cli_fail(CLI_ERROR, "%s: cannot be checked: %s", o->db,
                      sqlite3_errmsg(db));
    else if (problems > 0)
        rc = cli_fail(CLI_ERROR,
                      "%s is corrupt (the problems are listed above, the "
                      "first 100 at most): restore it from a backup, or move "
                      "it aside to start afresh",
                      o->db);
    else
        printf("%s: ok (integrity_check found no problem)\n", o->db);
    sqlite3_close(db);
    return rc;
}
