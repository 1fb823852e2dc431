/* export.c — `resweep export RUN` (cli.h): a finished run's arrays and
 * samples as .npy files with a JSON sidecar, from the database alone.
 *
 * The stored arrays (run_arrays, schema/011_arrays.sql) are written as
 * they are stored, little-endian float64. The samples are not stored:
 * they are made again from the run's configuration (engine.h,
 * engine_regenerate_data), and checked against the run before anything
 * is written: their sizes against n_used, n_test_used and d_used, and
 * the linear loss of the stored u* on them against the stored lin_loss.
 * A CSV file changed since the run fails that check, with a sentence. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "consts.h"
#include "engine.h"
#include "err.h"

/* The regenerated loss of u* may differ from the stored one by the
 * rounding of a different summation order, never by more. */
#define EXPORT_LOSS_RTOL 1e-9

typedef struct exporter {
    const cli_opts *o;
    long long run;
    sqlite3 *db;
    char dir[PATHS_MAX];
    cJSON *meta;             /* run.json, owned */
    cJSON *files;            /* borrowed from meta */
    run_config cfg;
    bool have_cfg;
    run_data rd;
    double *u_star;          /* host doubles, owned */
    long u_len;
    int params;              /* parameter arrays written */
    char err[ERR_LEN];
} exporter;

static int fail_sql(exporter *ex, const char *what)
{
    return cli_fail(CLI_ERROR, "%s: %s: %s", ex->o->db, what,
                    sqlite3_errmsg(ex->db));
}

static sqlite3_stmt *prepare(exporter *ex, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(ex->db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64(st, 1, ex->run);
    return st;
}

static bool table_exists(exporter *ex, const char *name)
{
    sqlite3_stmt *st = NULL;
    bool yes = sqlite3_prepare_v2(ex->db, "SELECT 1 FROM sqlite_master "
                                  "WHERE type = 'table' AND name = ?1", -1,
                                  &st, NULL) == SQLITE_OK &&
               sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) == SQLITE_OK &&
               sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

/* The run's job, state and configuration; a run that is not done or
 * diverged has nothing to export. */
static int read_run(exporter *ex)
{
    sqlite3_stmt *st = prepare(ex, "SELECT job_id, status, config FROM runs "
                                   "WHERE run_id = ?1");
    if (!st)
        return fail_sql(ex, "reading the run");
    int rc = CLI_OK;
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = cli_fail(CLI_ERROR, "run: there is no run %lld in %s", ex->run,
                      ex->o->db);
        goto out;
    }
    const char *status = (const char *)sqlite3_column_text(st, 1);
    const char *config = (const char *)sqlite3_column_text(st, 2);
    if (strcmp(status, "done") != 0 && strcmp(status, "diverged") != 0) {
        rc = cli_fail(CLI_ERROR, "run %lld: is %s; only a run that ended "
                      "done or diverged has arrays to export", ex->run,
                      status);
        goto out;
    }
    cJSON_AddNumberToObject(ex->meta, "run", (double)ex->run);
    cJSON_AddNumberToObject(ex->meta, "job",
                            (double)sqlite3_column_int64(st, 0));
    cJSON_AddStringToObject(ex->meta, "status", status);
    cJSON_AddItemToObject(ex->meta, "config", cJSON_Parse(config));
    if (config_parse_str(config, &ex->cfg, ex->err, sizeof ex->err) < 0) {
        rc = cli_fail(CLI_ERROR, "run %lld: its stored configuration does "
                      "not parse (%s): a newer resweep wrote it", ex->run,
                      ex->err);
        goto out;
    }
    ex->have_cfg = true;
out:
    sqlite3_finalize(st);
    return rc;
}

static int read_results(exporter *ex)
{
    sqlite3_stmt *st = prepare(ex, "SELECT * FROM run_results "
                                   "WHERE run_id = ?1");
    if (!st)
        return fail_sql(ex, "reading the results");
    int rc = sqlite3_step(st) == SQLITE_ROW ? CLI_OK
                                            : fail_sql(ex, "reading the results");
    if (rc == CLI_OK)
        cJSON_AddItemToObject(ex->meta, "results", cli_row_json(st));
    sqlite3_finalize(st);
    return rc;
}

/* A stored name becomes a file name: letters, digits and _ only. */
static bool plain_name(const char *s)
{
    if (!s || !*s || strlen(s) >= RUN_ARRAY_NAME_LEN)
        return false;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= '0' && *s <= '9') ||
              (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
            return false;
    return true;
}

/* "[16,10]" into shape; the number of dimensions, or -1. */
static int parse_shape(const char *text, long *shape, size_t *count)
{
    cJSON *j = cJSON_Parse(text);
    int nd = cJSON_IsArray(j) ? cJSON_GetArraySize(j) : -1;
    if (nd < 1 || nd > RUN_ARRAY_MAX_DIMS)
        nd = -1;
    *count = 1;
    for (int k = 0; k < nd; k++) {
        const cJSON *x = cJSON_GetArrayItem(j, k);
        if (!cJSON_IsNumber(x) || x->valuedouble < 0 ||
            x->valuedouble > 1e12 ||
            x->valuedouble != (double)(long)x->valuedouble) {
            nd = -1;
            break;
        }
        shape[k] = (long)x->valuedouble;
        *count *= (size_t)shape[k];
    }
    cJSON_Delete(j);
    return nd;
}

static cJSON *shape_json(int ndim, const long *shape)
{
    cJSON *a = cJSON_CreateArray();
    for (int k = 0; a && k < ndim; k++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)shape[k]));
    return a;
}

static int write_npy(exporter *ex, const char *name, const char *what,
                     int ndim, const long *shape, const void *le,
                     size_t nbytes)
{
    char path[PATHS_MAX + 32];
    snprintf(path, sizeof path, "%s/%s.npy", ex->dir, name);
    if (cli_npy_write(path, ndim, shape, le, nbytes, ex->err,
                      sizeof ex->err) < 0)
        return cli_fail(CLI_ERROR, "--out %s: %s", ex->dir, ex->err);
    cJSON *f = cJSON_CreateObject();
    char file[RUN_ARRAY_NAME_LEN + 8];
    snprintf(file, sizeof file, "%s.npy", name);
    cJSON_AddStringToObject(f, "file", file);
    cJSON_AddStringToObject(f, "name", name);
    cJSON_AddItemToObject(f, "shape", shape_json(ndim, shape));
    cJSON_AddStringToObject(f, "what", what);
    cJSON_AddItemToArray(ex->files, f);
    return CLI_OK;
}

/* Keeps u* as host doubles for the check of the regenerated rows. */
static int keep_u_star(exporter *ex, const void *le, size_t count)
{
    free(ex->u_star);
    if (!(ex->u_star = malloc(count ? count * sizeof(double) : 1)))
        return cli_fail(CLI_ERROR, "out of memory");
    run_array_from_le(le, count, ex->u_star);
    ex->u_len = (long)count;
    return CLI_OK;
}

/* One stored array: a file named after it. */
static int export_array(exporter *ex, sqlite3_stmt *st)
{
    const char *name = (const char *)sqlite3_column_text(st, 0);
    const char *text = (const char *)sqlite3_column_text(st, 1);
    long shape[RUN_ARRAY_MAX_DIMS];
    size_t count;
    int nd = parse_shape(text ? text : "", shape, &count);
    const void *blob = sqlite3_column_blob(st, 2);
    size_t bytes = (size_t)sqlite3_column_bytes(st, 2);
    if (!plain_name(name) || nd < 0 || bytes != 8 * count)
        return cli_fail(CLI_ERROR, "%s: run %lld: array %s: its shape %s "
                        "does not describe its %zu bytes (or its name is "
                        "not letters, digits and _); was the file edited?",
                        ex->o->db, ex->run, name ? name : "(null)",
                        text ? text : "(null)", bytes);
    bool u = strcmp(name, "u_star") == 0;
    int rc = write_npy(ex, name, u ? "the best linear predictor u* "
                       "(docs/theory.md §5)" : "trained parameter",
                       nd, shape, bytes ? blob : "", bytes);
    if (rc == CLI_OK && u)
        rc = keep_u_star(ex, blob, count);
    ex->params += !u;
    return rc;
}

static int export_arrays(exporter *ex)
{
    if (!table_exists(ex, "run_arrays"))
        return cli_fail(CLI_ERROR, "run %lld: %s has no run_arrays table "
                        "(schema before version 11): start this resweepd "
                        "on it once to migrate it; runs stored before that "
                        "kept no arrays", ex->run, ex->o->db);
    sqlite3_stmt *st = prepare(ex, "SELECT name, shape, data FROM run_arrays"
                                   " WHERE run_id = ?1 ORDER BY name");
    if (!st)
        return fail_sql(ex, "reading the arrays");
    int rc = CLI_OK, src;
    while (rc == CLI_OK && (src = sqlite3_step(st)) == SQLITE_ROW)
        rc = export_array(ex, st);
    if (rc == CLI_OK && src != SQLITE_DONE)
        rc = fail_sql(ex, "reading the arrays");
    sqlite3_finalize(st);
    if (rc == CLI_OK && !ex->u_star)
        rc = cli_fail(CLI_ERROR, "run %lld: has no stored u* (it finished "
                      "before schema version 11, which keeps it)", ex->run);
    return rc;
}

static double result_num(exporter *ex, const char *key)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(ex->meta, "results");
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(r, key);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

/* The regenerated rows are the run's: the same sizes, and u* has the
 * stored lin_loss on them (skipped for separable data, whose lin_loss is
 * an infimum, not the loss of one u). */
static int check_rows(exporter *ex)
{
    run_data *rd = &ex->rd;
    double n = result_num(ex, "n"), nt = result_num(ex, "n_test");
    if (n != rd->n || nt != rd->n_test || ex->u_len != rd->d)
        return cli_fail(CLI_ERROR, "run %lld: the data made again from its "
                        "configuration have %d training rows, %d test rows "
                        "and %d columns, the run had %.0f, %.0f and %ld%s",
                        ex->run, rd->n, rd->n_test, rd->d, n, nt, ex->u_len,
                        ex->cfg.data.source == DATA_CSV
                            ? ": data.path has changed since" : "");
    double stored = result_num(ex, "lin_loss");
    double again = engine_linear_loss(ex->cfg.loss, rd, ex->u_star);
    cJSON *chk = cJSON_AddObjectToObject(ex->meta, "check");
    cJSON_AddNumberToObject(chk, "lin_loss_stored", stored);
    cJSON_AddNumberToObject(chk, "lin_loss_regenerated", again);
    if (result_num(ex, "separable") == 1 || isnan(stored))
        return CLI_OK;
    if (!(fabs(again - stored) <=
          EXPORT_LOSS_RTOL * fmax(fabs(stored), fabs(again)) + 1e-300))
        return cli_fail(CLI_ERROR, "run %lld: u* has loss %.17g on the data "
                        "made again from its configuration, the run stored "
                        "%.17g: they are not the run's rows%s", ex->run,
                        again, stored, ex->cfg.data.source == DATA_CSV
                            ? " (data.path has changed since)" : "");
    return CLI_OK;
}

static int write_rows(exporter *ex, const char *name, const char *what,
                      const double *v, long rows, long cols)
{
    size_t count = (size_t)rows * (size_t)(cols > 0 ? cols : 1);
    unsigned char *le = malloc(count ? 8 * count : 1);
    if (!le)
        return cli_fail(CLI_ERROR, "out of memory");
    if (count)
        run_array_to_le(v, count, le);
    long shape[2] = {rows, cols};
    int rc = write_npy(ex, name, what, cols > 0 ? 2 : 1, shape, le,
                       8 * count);
    free(le);
    return rc;
}

static int export_rows(exporter *ex)
{
    if (engine_regenerate_data(&ex->cfg, &ex->rd, ex->err,
                               sizeof ex->err) < 0)
        return cli_fail(CLI_ERROR, "run %lld: its data cannot be made "
                        "again: %s", ex->run, ex->err);
    int rc = check_rows(ex);
    const run_data *rd = &ex->rd;
    if (rc == CLI_OK)
        rc = write_rows(ex, "X_train", "training inputs, made again from "
                        "the configuration", rd->X, rd->n, rd->d);
    if (rc == CLI_OK)
        rc = write_rows(ex, "y_train", "training targets", rd->y, rd->n, 0);
    if (rc == CLI_OK)
        rc = write_rows(ex, "X_test", "test inputs", rd->X_test, rd->n_test,
                        rd->d);
    if (rc == CLI_OK)
        rc = write_rows(ex, "y_test", "test targets", rd->y_test,
                        rd->n_test, 0);
    return rc;
}

static int write_meta(exporter *ex)
{
    cJSON_AddBoolToObject(ex->meta, "params_saved", ex->params > 0);
    char path[PATHS_MAX + 16];
    snprintf(path, sizeof path, "%s/run.json", ex->dir);
    char *text = cJSON_Print(ex->meta);
    FILE *f = text ? fopen(path, "w") : NULL;
    bool ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    int e = errno;
    if (f && fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    free(text);
    if (!ok)
        return cli_fail(CLI_ERROR, "--out %s: cannot write run.json: %s",
                        ex->dir, strerror(e));
    return CLI_OK;
}

static int open_db(exporter *ex)
{
    if (!ex->o->db[0])
        return cli_fail(CLI_ERROR, "no database: give --db PATH");
    int rc = sqlite3_open_v2(ex->o->db, &ex->db, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK)
        return cli_fail(CLI_ERROR, "%s: %s", ex->o->db,
                        ex->db ? sqlite3_errmsg(ex->db) : sqlite3_errstr(rc));
    sqlite3_busy_timeout(ex->db, DB_BUSY_MS);
    sqlite3_exec(ex->db, "PRAGMA query_only = 1", NULL, NULL, NULL);
    return CLI_OK;
}

/* Everything is read and checked inside one read transaction (a
 * consistent snapshot while the daemon writes), and written after. */
static int export_run(exporter *ex)
{
    int rc = open_db(ex);
    if (rc == CLI_OK)
        sqlite3_exec(ex->db, "BEGIN", NULL, NULL, NULL);
    if (rc == CLI_OK)
        rc = read_run(ex);
    if (rc == CLI_OK)
        rc = read_results(ex);
    if (rc == CLI_OK && paths_mkdir_p(ex->dir, 0755, ex->err,
                                      sizeof ex->err) < 0)
        rc = cli_fail(CLI_ERROR, "--out %s: %s", ex->dir, ex->err);
    if (rc == CLI_OK)
        rc = export_arrays(ex);
    if (rc == CLI_OK && ex->o->params && ex->params == 0)
        rc = cli_fail(CLI_ERROR, "run %lld: its parameters were not saved "
                      "(analysis.save_params was false); submit it again "
                      "with \"analysis\": {\"save_params\": true}", ex->run);
    if (rc == CLI_OK)
        rc = export_rows(ex);
    if (rc == CLI_OK)
        rc = write_meta(ex);
    return rc;
}

int cmd_export(cli_opts *o, int argc, char **argv)
{
    char *end;
    errno = 0;
    long long run = strtoll(argv[0], &end, 10);
    if (errno || *end || end == argv[0] || run < 1 || run > JSON_INT_MAX)
        return cli_fail(CLI_USAGE, "RUN: must be a run id (a positive "
                        "integer), got \"%s\"", argv[0]);
    exporter ex = {.o = o, .run = run, .meta = cJSON_CreateObject()};
    if (!ex.meta || !(ex.files = cJSON_AddArrayToObject(ex.meta, "files")))
        return cli_fail(CLI_ERROR, "out of memory");
    if (snprintf(ex.dir, sizeof ex.dir, "%s", o->out && *o->out ? o->out
                 : "") >= (int)sizeof ex.dir)
        return cli_fail(CLI_USAGE, "--out: path too long");
    if (!ex.dir[0])
        snprintf(ex.dir, sizeof ex.dir, "run-%lld", run);
    cli_resolve_db(o);
    int rc = export_run(&ex);
    if (rc == CLI_OK && !o->json)
        printf("run %lld: %d files in %s/ (u_star, %d parameter arrays, "
               "X_train, y_train, X_test, y_test), described by run.json\n",
               run, cJSON_GetArraySize(ex.files), ex.dir, ex.params);
    else if (rc == CLI_OK)
        cli_print_json(ex.meta);
    if (ex.db)
        sqlite3_close(ex.db);
    if (ex.have_cfg)
        config_free(&ex.cfg);
    engine_data_free(&ex.rd);
    free(ex.u_star);
    cJSON_Delete(ex.meta);
    return rc;
}
