/* The store (src/store/, schema/): opening and migrating (from version 1 too),
 * transactions, the run state machine, NaN as NULL, the views, curves,
 * checkpoints, recovery after a real kill -9, the queue order, readers
 * beside the writer, the WAL checkpoint, and count-based fault injection.
 *
 * Each test runs in its own temporary directory with its own database;
 * the test reads the database back through its own plain SQLite
 * connection, as a user with sqlite3 would, not through the store. */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <limits.h>
#include <stdint.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "config.h"
#include "engine.h"
#include "err.h"
#include "internal.h"
#include "store.h"

/* --- fixture: a temporary directory and a database path in it -------- */

struct fx {
    char dir[256];
    char db[1024];
    store *s;
    char err[ERR_LEN];
};

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/store-test.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    /* "db/" does not exist yet: store_open creates it. */
    snprintf(f->db, sizeof f->db, "%s/db/resweep.db", f->dir);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->s);
    store_fault_disarm();
    unsetenv("RESWEEP_FAULT_WRITES");
    unsetenv("RESWEEP_FAULT_ERROR");
    unsetenv("RESWEEP_FAULT_COUNT");
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void fx_open(struct fx *f)
{
    int rc = store_open(f->db, &f->s, f->err, sizeof f->err);
    if (rc != 0)
        fail_msg("store_open: %s", f->err);
}

static void fx_reopen(struct fx *f)
{
    store_close(f->s);
    f->s = NULL;
    fx_open(f);
}

/* Asserts an rc and, on failure, shows the sentence. */
#define OK(call)                                                          \
    do {                                                                  \
        int rc_ = (call);                                                 \
        if (rc_ != 0)                                                     \
            fail_msg("%s = %d: %s", #call, rc_, f->err);                  \
    } while (0)

/* --- the test's own view of the database (a plain connection) ------- */

static sqlite3 *raw_open(const char *path, bool rw)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db,
                             rw ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY,
                             NULL);
    if (rc != SQLITE_OK)
        fail_msg("open %s: %s", path, sqlite3_errstr(rc));
    sqlite3_busy_timeout(db, 5000);
    return db;
}

/* Runs a one-row query on db and leaves the row in *st (caller
 * finalizes); fails the test when there is no row. */
static sqlite3_stmt *raw_row(sqlite3 *db, const char *fmt, va_list ap)
{
    char sql[2048];
    vsnprintf(sql, sizeof sql, fmt, ap);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("prepare %s: %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(st) != SQLITE_ROW)
        fail_msg("no row from %s: %s", sql, sqlite3_errmsg(db));
    return st;
}

static long long db_int(sqlite3 *db, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = raw_row(db, fmt, ap);
    va_end(ap);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* A one-off query through a fresh read-only connection. */
static long long q_int(struct fx *f, const char *fmt, ...)
{
    sqlite3 *db = raw_open(f->db, false);
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = raw_row(db, fmt, ap);
    va_end(ap);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static double q_real(struct fx *f, const char *fmt, ...)
{
    sqlite3 *db = raw_open(f->db, false);
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = raw_row(db, fmt, ap);
    va_end(ap);
    double v = sqlite3_column_type(st, 0) == SQLITE_NULL
                   ? NAN : sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* The text of the first column (NULL -> "NULL"), into a static buffer. */
static const char *q_text(struct fx *f, const char *fmt, ...)
{
    static char buf[1024];
    sqlite3 *db = raw_open(f->db, false);
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = raw_row(db, fmt, ap);
    va_end(ap);
    const char *t = (const char *)sqlite3_column_text(st, 0);
    snprintf(buf, sizeof buf, "%s", t ? t : "NULL");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return buf;
}

static void assert_integrity_ok(struct fx *f)
{
    assert_string_equal(q_text(f, "PRAGMA integrity_check"), "ok");
    assert_int_equal(q_int(f, "SELECT count(*) FROM pragma_foreign_key_check"),
                     0);
}

static void assert_err_has(const char *err, const char *part)
{
    if (!strstr(err, part))
        fail_msg("error \"%s\" does not contain \"%s\"", err, part);
}

static double elapsed_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) * 1e-9;
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* --- building jobs, runs and results ---------------------------------- */

static int list_paused_at(void *ctx, const store_job_info *ji)
{
    *(double *)ctx = ji->paused_at;
    return 0;
}

static const char *CONFIG_JSON = "{\"seed\": 0, \"model\": {\"arch\": \"resnet\"}}";

static int64_t add_job(struct fx *f, int priority, int max_attempts,
                       const run_config *cfg, int n, int64_t *run_ids)
{
    int64_t job = 0;
    run_config def;
    config_defaults(&def);
    OK(store_begin(f->s, f->err, sizeof f->err));
    OK(store_job_insert(f->s, "test job", priority, max_attempts,
                        "{\"name\": \"test job\"}", n, &job, f->err,
                        sizeof f->err));
    for (int i = 0; i < n; i++) {
        int64_t id;
        OK(store_run_insert(f->s, job, i, priority, cfg ? cfg : &def,
                            CONFIG_JSON, 1000 + (uint64_t)i, &id, f->err,
                            sizeof f->err));
        if (run_ids)
            run_ids[i] = id;
    }
    OK(store_commit(f->s, f->err, sizeof f->err));
    return job;
}

/* A result whose every field is distinct, so that a field read from the
 * wrong column shows. */
static void result_fill(run_result *r, double base)
{
    memset(r, 0, sizeof *r);
    r->status = RUN_DONE;
    r->steps = 1000;
    r->diverged_step = 77;
    r->converged = true;
    r->n_params = 4321;
    r->n = 500;
    r->n_test = 250;
    r->d = 11;
    r->separable = true;
    r->lanczos_iters = 42;
    r->hess_converged = 1;
    r->lanczos_capped = 0;
    r->hess_neg_exact = 17;
    r->point_class = POINT_SADDLE;
    double *fields[] = {
        &r->init_loss, &r->train_loss, &r->test_loss, &r->lin_loss,
        &r->lin_test_loss, &r->gap, &r->err01, &r->test_err01,
        &r->lin_err01, &r->lin_test_err01, &r->lin_grad_norm, &r->u_norm,
        &r->grad_norm, &r->grad_out, &r->grad_v, &r->grad_theta,
        &r->hess_min, &r->hess_max, &r->hess_min_res, &r->hess_max_res,
        &r->cert, &r->cert_grad, &r->w_norm, &r->v_norm, &r->regret_lhs,
        &r->regret_lin, &r->regret_dist, &r->regret_grad, &r->regret_bound,
        &r->train_s, &r->analysis_s, &r->total_s, &r->hess_trace,
        &r->hess_trace_se, &r->class_tol, &r->hess_neg_est, &r->path_barrier,
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        *fields[i] = base + 0.125 * (double)(i + 1);
}

/* A run that was started and finished done with the given gap. */
static void finish_done(struct fx *f, int64_t run, double gap)
{
    run_result r;
    result_fill(&r, 1.0);
    r.gap = gap;
    r.lin_loss = 1.0;
    r.train_loss = isnan(gap) ? NAN : 1.0 + gap;
    OK(store_run_start(f->s, run, f->err, sizeof f->err));
    OK(store_run_finish(f->s, run, RUN_STATE_DONE, &r, NULL, f->err,
                        sizeof f->err));
}

/* --- opening and migrating ------------------------------------------ */

static void open_creates_file_and_directory(void **state)
{
    struct fx *f = *state;
    char path[512], parent[512], grand[512];
    snprintf(grand, sizeof grand, "%s/a", f->dir);
    snprintf(parent, sizeof parent, "%s/a/b", f->dir);
    snprintf(path, sizeof path, "%s/a/b/x.db", f->dir);
    OK(store_open(path, &f->s, f->err, sizeof f->err));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(stat(parent, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(grand, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(f->db, sizeof f->db, "%s", path);
    assert_string_equal(q_text(f, "PRAGMA journal_mode"), "wal");
    assert_int_equal(q_int(f, "SELECT max(version) FROM schema_version"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(q_int(f, "SELECT count(*) FROM sqlite_master WHERE"
                              " name IN ('jobs', 'runs', 'results', 'curves',"
                              " 'checkpoints', 'run_results', 'gap_summary',"
                              " 'job_progress')"), 8);
}

/* A database made in an existing 0755 directory under umask 022 is 0600,
 * and so are its -wal and -shm (SQLite gives them the database's mode):
 * it holds every configuration and result (issue 9 §13). */
static void open_creates_database_0600(void **state)
{
    struct fx *f = *state;
    char dir[512], path[1024], side[1100];
    snprintf(dir, sizeof dir, "%s/shared", f->dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/x.db", dir);
    mode_t old = umask(022);
    int rc = store_open(path, &f->s, f->err, sizeof f->err);
    umask(old);
    OK(rc);
    OK(store_begin(f->s, f->err, sizeof f->err));
    int64_t job;
    OK(store_job_insert(f->s, "m", 0, 1, "{}", 0, &job, f->err,
                        sizeof f->err));
    OK(store_commit(f->s, f->err, sizeof f->err));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    static const char *const sides[] = {"-wal", "-shm"};
    for (int i = 0; i < 2; i++) {
        snprintf(side, sizeof side, "%s%s", path, sides[i]);
        assert_int_equal(stat(side, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
    }
    /* An existing database keeps the mode its owner gave it. */
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(chmod(path, 0640), 0);
    OK(store_open(path, &f->s, f->err, sizeof f->err));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
}

static void open_refuses_bad_paths(void **state)
{
    struct fx *f = *state;
    /* The parent is a regular file. */
    char file[512], path[1024];
    snprintf(file, sizeof file, "%s/plain", f->dir);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fputs("not a directory\n", fp);
    fclose(fp);
    snprintf(path, sizeof path, "%s/x.db", file);
    int rc = store_open(path, &f->s, f->err, sizeof f->err);
    assert_true(rc < 0);
    assert_null(f->s);
    assert_err_has(f->err, file);

    /* A file that is not a database at all. */
    char junk[4096];
    memset(junk, 'x', sizeof junk);
    fp = fopen(file, "w");
    fwrite(junk, 1, sizeof junk, fp);
    fclose(fp);
    rc = store_open(file, &f->s, f->err, sizeof f->err);
    assert_int_equal(rc, -EIO);
    assert_null(f->s);
    assert_err_has(f->err, "not a database");
    assert_err_has(f->err, file);

    /* A reader does not create what is missing. */
    store_reader *rd = NULL;
    snprintf(path, sizeof path, "%s/missing.db", f->dir);
    assert_true(store_reader_open(path, &rd, f->err, sizeof f->err) < 0);
    assert_null(rd);
    assert_err_has(f->err, path);
}

static void open_refuses_another_programs_database(void **state)
{
    struct fx *f = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/other.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE photos (id INTEGER)",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    int rc = store_open(path, &f->s, f->err, sizeof f->err);
    assert_int_equal(rc, -EINVAL);
    assert_err_has(f->err, "not a resweep database");
    snprintf(f->db, sizeof f->db, "%s", path);
    assert_int_equal(q_int(f, "SELECT count(*) FROM sqlite_master"), 1);
}

static void migration_idempotent_on_reopen(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t job = add_job(f, 0, 3, NULL, 2, NULL);
    fx_reopen(f);
    fx_reopen(f);
    assert_int_equal(q_int(f, "SELECT count(*) FROM schema_version"),
                     (long long)schema_migration_count);
    assert_int_equal(q_int(f, "SELECT max(version) FROM schema_version"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(q_int(f, "SELECT count(*) FROM jobs"), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM runs WHERE job_id = %lld",
                           (long long)job), 2);
}

/* Several processes open a fresh database at once: one migrates, the
 * others find it migrated once they get the write lock, and every one of
 * them can then write. */
static void concurrent_first_open(void **state)
{
    struct fx *f = *state;
    enum { N = 8 };
    pid_t pid[N];
    for (int i = 0; i < N; i++) {
        pid[i] = fork();
        assert_true(pid[i] >= 0);
        if (pid[i] == 0) {
            store *s;
            char err[ERR_LEN];
            int64_t job;
            int ok = store_open(f->db, &s, err, sizeof err) == 0 &&
                     store_job_insert(s, "racer", 0, 3, "{}", 0, &job, err,
                                      sizeof err) == 0;
            if (ok)
                store_close(s);
            else
                fprintf(stderr, "# racer %d: %s\n", i, err);
            _exit(ok ? 0 : 1);
        }
    }
    for (int i = 0; i < N; i++) {
        int status;
        assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(q_int(f, "SELECT count(*) FROM schema_version"),
                     (long long)schema_migration_count);
    assert_int_equal(q_int(f, "SELECT count(*) FROM jobs"), N);
}

/* A database of schema version 1, with a done run whose Hessian estimate
 * converged, one cut short to a single iteration (hess_min = hess_max, the
 * issue 9 case) and one without an estimate: the migration to version 2
 * adds the columns, gives the old rows their verdict from their stored
 * residuals by the engine's rule, and leaves lanczos_capped unknown. */
static void version_1_database_migrates(void **state)
{
    struct fx *f = *state;
    fx_open(f);                      /* creates the directory */
    store_close(f->s);
    f->s = NULL;
    remove(f->db);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(schema_migrations[0].version, 1);
    if (sqlite3_exec(db, schema_migrations[0].sql, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("001: %s", sqlite3_errmsg(db));
    const char *rows =
        "INSERT INTO schema_version VALUES (1, 0);"
        "INSERT INTO jobs (job_id, n_runs, created_at) VALUES (1, 3, 0);"
        "INSERT INTO runs (run_id, job_id, idx, status, arch, blocks,"
        " unit_depth, width, activation, init, gain, init_scale, loss,"
        " source, intercept, stream, optimizer, lr, schedule, steps, batch,"
        " tol, seed, config)"
        " SELECT i, 1, i, 'done', 'resnet', 1, 2, 16, 'relu', 'he', 1, 0.01,"
        " 'squared', 'synthetic', 0, 0, 'gd', 0.05, 'constant', 10, 32,"
        " 1e-8, 0, '{}' FROM (SELECT 1 AS i UNION SELECT 2 UNION SELECT 3);"
        "INSERT INTO results (run_id, hess_min, hess_max, hess_min_res,"
        " hess_max_res, lanczos_iters) VALUES"
        " (1, -0.5, 10, 1e-9, 2e-9, 60), (2, 3, 3, 2, 2, 1),"
        " (3, NULL, NULL, NULL, NULL, NULL);";
    if (sqlite3_exec(db, rows, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("v1 rows: %s", sqlite3_errmsg(db));
    sqlite3_close(db);
    fx_open(f);
    assert_int_equal(q_int(f, "SELECT max(version) FROM schema_version"),
                     STORE_SCHEMA_VERSION);
    assert_string_equal(q_text(f, "SELECT group_concat(coalesce("
                                  "hess_converged, 'null'), ',') FROM (SELECT"
                                  " hess_converged FROM run_results ORDER BY"
                                  " run_id)"), "1,0,null");
    assert_int_equal(q_int(f, "SELECT count(*) FROM run_results WHERE"
                              " lanczos_capped IS NULL"), 3);
    /* version 3: runs stored before it have no memory estimate */
    assert_int_equal(q_int(f, "SELECT count(*) FROM runs WHERE mem_bytes IS NULL"), 3);
    /* version 6: nor a class, a trace or a path, and no profiles */
    assert_int_equal(q_int(f, "SELECT count(*) FROM run_results WHERE"
                              " point_class IS NULL AND point_class_name IS NULL"
                              " AND hess_trace IS NULL AND path_barrier IS NULL"), 3);
    assert_int_equal(q_int(f, "SELECT (SELECT count(*) FROM spectra) +"
                              " (SELECT count(*) FROM paths)"), 0);
    /* the read-back of an old row: unknown is -1 */
    enum run_state st;
    bool has;
    run_result back;
    OK(store_result_get(f->s, 2, &st, &back, &has, f->err, sizeof f->err));
    assert_true(has);
    assert_int_equal(back.hess_converged, 0);
    assert_int_equal(back.lanczos_capped, -1);
    assert_int_equal(back.point_class, POINT_UNCLASSIFIED);
    assert_int_equal(back.hess_neg_exact, -1);
    assert_true(isnan(back.hess_trace));
    assert_int_equal(back.spectrum.bins, 0);
    assert_int_equal(back.path.points, 0);
    assert_integrity_ok(f);
}

/* The results table has exactly the columns of engine.h's list (and
 * run_id), so an X-macro entry without its migration fails here. */
static void results_columns_follow_the_list(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    size_t n = store__result_ncols();
    assert_int_equal(q_int(f, "SELECT count(*) FROM pragma_table_info("
                              "'results') WHERE name != 'run_id'"), (long long)n);
    for (size_t i = 0; i < n; i++)
        if (q_int(f, "SELECT count(*) FROM pragma_table_info('results')"
                     " WHERE name = '%s'", store__result_col(i)) != 1)
            fail_msg("results has no column %s", store__result_col(i));
}

static void newer_schema_refused(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    store_close(f->s);
    f->s = NULL;
    sqlite3 *db = raw_open(f->db, true);
    char sql[96], want[128];
    snprintf(sql, sizeof sql, "INSERT INTO schema_version VALUES (%d, 0)",
             STORE_SCHEMA_VERSION + 1);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    int rc = store_open(f->db, &f->s, f->err, sizeof f->err);
    assert_int_equal(rc, -EPROTO);
    assert_null(f->s);
    snprintf(want, sizeof want, "database schema version %d is newer than "
             "this resweepd (%d); upgrade resweep", STORE_SCHEMA_VERSION + 1,
             STORE_SCHEMA_VERSION);
    assert_err_has(f->err, want);
    /* Refused, not modified. */
    assert_int_equal(q_int(f, "SELECT count(*) FROM schema_version"),
                     (long long)schema_migration_count + 1);
}

/* A fresh database at f->db built by hand from the embedded migrations
 * of version at most max_version but schema_migrations[skip] (SIZE_MAX:
 * none), each recorded, as a binary of a branch without that migration,
 * or an older binary, would have left it; returned open. */
static sqlite3 *build_by_hand(struct fx *f, size_t skip, int max_version)
{
    sqlite3 *db = NULL;
    remove(f->db);
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    for (size_t i = 0; i < schema_migration_count; i++) {
        if (i == skip || schema_migrations[i].version > max_version)
            continue;
        char rec[96];
        snprintf(rec, sizeof rec, "INSERT INTO schema_version VALUES"
                 " (%d, 0)", schema_migrations[i].version);
        if (sqlite3_exec(db, schema_migrations[i].sql, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, rec, NULL, NULL, NULL) != SQLITE_OK)
            fail_msg("%s: %s", schema_migrations[i].name, sqlite3_errmsg(db));
    }
    return db;
}

static void build_without(struct fx *f, size_t skip)
{
    sqlite3_close(build_by_hand(f, skip, INT_MAX));
}

/* Branches merged in another order than their migrations' numbers: a
 * migration the database lacks is applied even when a higher one is
 * recorded (with a single migration after 001, only the usual case is
 * left to check). */
static void missing_migration_applied_below_a_recorded_one(void **state)
{
    struct fx *f = *state;
    fx_open(f);                      /* creates the directory */
    store_close(f->s);
    f->s = NULL;
    for (size_t skip = 1; skip < schema_migration_count; skip++) {
        build_without(f, skip);
        fx_open(f);
        assert_int_equal(q_int(f, "SELECT count(*) FROM schema_version"),
                         (long long)schema_migration_count);
        assert_int_equal(q_int(f, "SELECT count(*) FROM schema_version"
                                  " WHERE version = %d",
                               schema_migrations[skip].version), 1);
        store_close(f->s);
        f->s = NULL;
    }
}

/* A database that records a migration this binary lacks, below its
 * highest one (a branch's): refused, not modified. Where the embedded
 * versions have no gap there is no such number to try. */
static void unknown_migration_refused(void **state)
{
    struct fx *f = *state;
    int missing = 0;
    for (int v = 2; v < STORE_SCHEMA_VERSION && !missing; v++) {
        missing = v;
        for (size_t i = 0; i < schema_migration_count; i++)
            if (schema_migrations[i].version == v)
                missing = 0;
    }
    if (!missing)
        skip();
    fx_open(f);
    store_close(f->s);
    f->s = NULL;
    sqlite3 *db = raw_open(f->db, true);
    char sql[96];
    snprintf(sql, sizeof sql, "INSERT INTO schema_version VALUES (%d, 0)",
             missing);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    int rc = store_open(f->db, &f->s, f->err, sizeof f->err);
    assert_int_equal(rc, -EPROTO);
    assert_null(f->s);
    char want[128];
    snprintf(want, sizeof want, "database has schema migration %d, which "
             "this resweepd does not know", missing);
    assert_err_has(f->err, want);
}

/* resweep slurm's record (schema/005_slurm.sql): one row per array, the
 * same one recorded again is no second row, and a job the database does
 * not have or a count below 1 is refused with a sentence. */
static void slurm_record(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t job = add_job(f, 0, 3, NULL, 2, NULL);
    const char *script = "#!/bin/sh\n#SBATCH --array=0-3\n";
    OK(store_slurm_record(f->s, job, 4242, 4, script, f->err, sizeof f->err));
    OK(store_slurm_record(f->s, job, 4242, 4, script, f->err, sizeof f->err));
    OK(store_slurm_record(f->s, job, 4243, 1, "#!/bin/sh\n", f->err,
                          sizeof f->err));
    assert_int_equal(q_int(f, "SELECT count(*) FROM slurm_jobs"), 2);
    assert_int_equal(q_int(f, "SELECT tasks FROM slurm_jobs WHERE"
                              " slurm_job_id = 4242 AND job_id = %lld",
                           (long long)job), 4);
    assert_int_equal(q_int(f, "SELECT script = '%s' FROM slurm_jobs"
                              " WHERE slurm_job_id = 4242", script), 1);
    assert_int_equal(q_int(f, "SELECT submitted_at > 1e9 FROM slurm_jobs"
                              " WHERE slurm_job_id = 4243"), 1);
    assert_int_equal(store_slurm_record(f->s, job + 1, 4244, 1, "x", f->err,
                                        sizeof f->err), -EINVAL);
    assert_err_has(f->err, "recording Slurm job 4244 of job");
    assert_int_equal(store_slurm_record(f->s, job, 4245, 0, "x", f->err,
                                        sizeof f->err), -EINVAL);
    assert_err_has(f->err, "the task count must be >= 1");
    assert_int_equal(q_int(f, "SELECT count(*) FROM slurm_jobs"), 2);
    /* Deleting the job takes its arrays with it. */
    sqlite3 *db = raw_open(f->db, true);
    assert_int_equal(sqlite3_exec(db, "PRAGMA foreign_keys = ON;"
                                      " DELETE FROM jobs", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(q_int(f, "SELECT count(*) FROM slurm_jobs"), 0);
}

static void sync_setting(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    bool full = true;
    OK(store_get_sync_full(f->s, &full, f->err, sizeof f->err));
    assert_false(full);
    OK(store_set_sync_full(f->s, true, f->err, sizeof f->err));
    OK(store_get_sync_full(f->s, &full, f->err, sizeof f->err));
    assert_true(full);
    OK(store_set_sync_full(f->s, false, f->err, sizeof f->err));
    OK(store_get_sync_full(f->s, &full, f->err, sizeof f->err));
    assert_false(full);
    OK(store_begin(f->s, f->err, sizeof f->err));
    assert_int_equal(store_set_sync_full(f->s, true, f->err, sizeof f->err),
                     -EINVAL);
    store_rollback(f->s);
}

/* --- transactions and columns --------------------------------------- */

static void job_and_runs_in_one_transaction(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    add_job(f, 0, 3, NULL, 3, NULL);
    assert_int_equal(q_int(f, "SELECT count(*) FROM jobs"), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM runs"), 3);

    run_config cfg;
    config_defaults(&cfg);
    int64_t job, run;
    OK(store_begin(f->s, f->err, sizeof f->err));
    OK(store_job_insert(f->s, "doomed", 0, 3, "{}", 2, &job, f->err,
                        sizeof f->err));
    OK(store_run_insert(f->s, job, 0, 0, &cfg, CONFIG_JSON, 0, &run, f->err,
                        sizeof f->err));
    OK(store_run_insert(f->s, job, 1, 0, &cfg, CONFIG_JSON, 0, &run, f->err,
                        sizeof f->err));
    store_rollback(f->s);
    assert_int_equal(q_int(f, "SELECT count(*) FROM jobs"), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM runs"), 3);

    /* One transaction at a time; commit needs one. */
    OK(store_begin(f->s, f->err, sizeof f->err));
    assert_int_equal(store_begin(f->s, f->err, sizeof f->err), -EINVAL);
    store_rollback(f->s);
    assert_int_equal(store_commit(f->s, f->err, sizeof f->err), -EINVAL);
    store_rollback(f->s);   /* harmless without one */

    /* A run of a job that does not exist is refused by the schema. */
    assert_int_equal(store_run_insert(f->s, 999, 0, 0, &cfg, CONFIG_JSON, 0,
                                      &run, f->err, sizeof f->err), -EINVAL);
    assert_err_has(f->err, "FOREIGN KEY");
    /* Bad arguments name what is wrong and store nothing. */
    assert_int_equal(store_job_insert(f->s, "x", 0, 0, "{}", 1, &job, f->err,
                                      sizeof f->err), -EINVAL);
    assert_err_has(f->err, "max_attempts");
    assert_int_equal(store_job_insert(f->s, "x", 0, 3, "{not json", 1, &job,
                                      f->err, sizeof f->err), -EINVAL);
    assert_int_equal(store_run_insert(f->s, 1, 7, 0, &cfg, NULL, 0, &run,
                                      f->err, sizeof f->err), -EINVAL);
    assert_int_equal(q_int(f, "SELECT count(*) FROM jobs"), 1);
    /* So is a second run with the same index. */
    assert_int_equal(store_run_insert(f->s, 1, 0, 0, &cfg, CONFIG_JSON, 0,
                                      &run, f->err, sizeof f->err), -EINVAL);
    assert_int_equal(q_int(f, "SELECT count(*) FROM runs"), 3);
}

static void run_columns_match_config(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    run_config c;
    config_defaults(&c);
    c.seed = 9007199254740992ull;   /* 2^53, the largest seed */
    c.model = (model_config){.arch = ARCH_DEEP_RESNET, .blocks = 3,
                             .unit_depth = 4, .width = 32,
                             .activation = ACT_TANH, .init = INIT_XAVIER,
                             .gain = 1.5, .init_scale = 0.5,
                             .init_seed = 9007199254740992ll};
    c.loss = LOSS_LOGISTIC;
    c.data.dist = DIST_SPHERE;
    c.data.target = TARGET_PARITY;
    c.data.d = 7;
    c.data.n = 123;
    c.data.n_test = 45;
    c.data.noise = 0.0;
    c.data.flip = 0.1;
    c.data.intercept = true;
    c.data.stream = true;
    c.train.optimizer = OPT_SGD;
    c.train.lr = 0.01;
    c.train.theta_lr = 0.002;
    c.train.schedule = SCHED_INV_SQRT;
    c.train.steps = 777;
    c.train.batch = 16;
    c.train.tol = 1e-6;
    c.train.precision = PRECISION_FLOAT32;
    int64_t run;
    add_job(f, 2, 3, &c, 1, &run);
#define COL(name) "SELECT " name " FROM runs WHERE run_id = %lld", (long long)run
    assert_string_equal(q_text(f, COL("arch")), "deep_resnet");
    assert_int_equal(q_int(f, COL("blocks")), 3);
    assert_int_equal(q_int(f, COL("unit_depth")), 4);
    assert_int_equal(q_int(f, COL("width")), 32);
    assert_string_equal(q_text(f, COL("activation")), "tanh");
    assert_string_equal(q_text(f, COL("init")), "xavier");
    assert_true(q_real(f, COL("gain")) == 1.5);
    assert_true(q_real(f, COL("init_scale")) == 0.5);
    assert_string_equal(q_text(f, COL("loss")), "logistic");
    assert_string_equal(q_text(f, COL("source")), "synthetic");
    assert_string_equal(q_text(f, COL("dist")), "sphere");
    assert_string_equal(q_text(f, COL("target")), "parity");
    assert_int_equal(q_int(f, COL("d")), 7);
    assert_int_equal(q_int(f, COL("n")), 123);
    assert_int_equal(q_int(f, COL("n_test")), 45);
    assert_true(q_real(f, COL("noise")) == 0.0);
    assert_true(q_real(f, COL("flip")) == 0.1);
    assert_int_equal(q_int(f, COL("intercept")), 1);
    assert_int_equal(q_int(f, COL("stream")), 1);
    assert_string_equal(q_text(f, COL("optimizer")), "sgd");
    assert_true(q_real(f, COL("lr")) == 0.01);
    assert_true(q_real(f, COL("theta_lr")) == 0.002);
    assert_string_equal(q_text(f, COL("schedule")), "inv_sqrt");
    assert_int_equal(q_int(f, COL("steps")), 777);
    assert_int_equal(q_int(f, COL("batch")), 16);
    assert_true(q_real(f, COL("tol")) == 1e-6);
    assert_int_equal(q_int(f, COL("seed")), 9007199254740992ll);
    assert_int_equal(q_int(f, COL("init_seed")), 9007199254740992ll);
    assert_string_equal(q_text(f, COL("precision")), "float32");
    assert_string_equal(q_text(f, "SELECT precision FROM run_results "
                               "WHERE run_id = %lld", (long long)run), "float32");
    assert_string_equal(q_text(f, COL("config")), CONFIG_JSON);
    assert_string_equal(q_text(f, COL("status")), "queued");
    assert_int_equal(q_int(f, COL("priority")), 2);
    assert_int_equal(q_int(f, COL("attempts")), 0);
    assert_int_equal(q_int(f, COL("idx")), 0);

    /* theta_lr "same as lr" is NULL; csv data have no generator columns. */
    config_defaults(&c);
    c.data.source = DATA_CSV;
    add_job(f, 0, 3, &c, 1, &run);
    assert_string_equal(q_text(f, COL("theta_lr")), "NULL");
    assert_string_equal(q_text(f, COL("precision")), "float64");
    assert_string_equal(q_text(f, COL("init_seed")), "NULL");
    assert_string_equal(q_text(f, "SELECT init_seed FROM run_results "
                               "WHERE run_id = %lld", (long long)run), "NULL");
    assert_string_equal(q_text(f, COL("source")), "csv");
    assert_string_equal(q_text(f, COL("dist")), "NULL");
    assert_string_equal(q_text(f, COL("d")), "NULL");
    assert_string_equal(q_text(f, COL("n")), "NULL");
    assert_string_equal(q_text(f, COL("arch")), "resnet");
#undef COL
}

/* runs.data_path: a CSV file's path as the process resolves it (relative
 * ones from its working directory), NULL for other sources; run_results
 * shows it with priority and mem_bytes. */
static void data_path_resolved(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    run_config c;
    config_defaults(&c);
    int64_t run;
    add_job(f, 0, 3, &c, 1, &run);
#define COL(name) "SELECT " name " FROM run_results WHERE run_id = %lld", (long long)run
    assert_string_equal(q_text(f, COL("data_path")), "NULL");
    c.data.source = DATA_CSV;
    c.data.path = "/abs/train.csv";
    add_job(f, 4, 3, &c, 1, &run);
    assert_string_equal(q_text(f, COL("data_path")), "/abs/train.csv");
    assert_int_equal(q_int(f, COL("priority")), 4);
    assert_int_equal(q_int(f, COL("mem_bytes")), 1000);
    c.data.path = "sub/train.csv";
    add_job(f, 0, 3, &c, 1, &run);
    char cwd[4096], want[4200];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(want, sizeof want, "%s/sub/train.csv", cwd);
    assert_string_equal(q_text(f, COL("data_path")), want);
#undef COL
}

/* job_params and run_params: the keys in order with where they are
 * swept; each value with the SQLite type of its kind; both go with the
 * job when it is deleted. */
static void swept_values_typed(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t run;
    int64_t job = add_job(f, 0, 3, NULL, 1, &run);
    const char *keys[] = {"train.lr", "model.width", "model.activation",
                          "train.theta_lr", "seed"};
    const char *sweeps[] = {"grid", "grid", "zip", "random", "seeds"};
    OK(store_job_params_insert(f->s, job, 5, keys, sweeps, f->err,
                               sizeof f->err));
    config_value v[5] = {
        {.type = CONFIG_VALUE_REAL, .x = 0.1},
        {.type = CONFIG_VALUE_INT, .i = 16},
        {.type = CONFIG_VALUE_TEXT, .text = "tanh"},
        {.type = CONFIG_VALUE_NULL},
        {.type = CONFIG_VALUE_INT, .i = 9007199254740992LL},
    };
    OK(store_run_params_insert(f->s, run, 5, keys, v, f->err, sizeof f->err));
    assert_string_equal(q_text(f, "SELECT group_concat(key || ':' || sweep)"
                                  " FROM (SELECT * FROM job_params WHERE"
                                  " job_id = %lld ORDER BY pos)",
                               (long long)job),
                        "train.lr:grid,model.width:grid,model.activation:zip,"
                        "train.theta_lr:random,seed:seeds");
    assert_string_equal(q_text(f, "SELECT group_concat(key || '=' ||"
                                  " coalesce(value, 'NULL') || ':' ||"
                                  " typeof(value)) FROM (SELECT * FROM"
                                  " run_params WHERE run_id = %lld ORDER BY"
                                  " key)", (long long)run),
                        "model.activation=tanh:text,model.width=16:integer,"
                        "seed=9007199254740992:integer,"
                        "train.lr=0.1:real,train.theta_lr=NULL:null");
    assert_true(q_real(f, "SELECT value FROM run_params WHERE run_id = %lld"
                          " AND key = 'train.lr'", (long long)run) == 0.1);
    /* a key twice for one run is refused, and the savepoint undoes the
     * first rows of the call */
    const char *twice[] = {"x.y", "x.y"};
    assert_int_equal(store_run_params_insert(f->s, run, 2, twice, v, f->err,
                                             sizeof f->err), -EINVAL);
    assert_int_equal(q_int(f, "SELECT count(*) FROM run_params WHERE key ="
                              " 'x.y'"), 0);
    long n;
    OK(store_run_finish(f->s, run, RUN_CANCELED, NULL, NULL, f->err,
                        sizeof f->err));
    OK(store_job_delete(f->s, job, &n, f->err, sizeof f->err));
    assert_int_equal(q_int(f, "SELECT count(*) FROM run_params"), 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM job_params"), 0);
}

/* --- the run state machine -------------------------------------------- */

static void run_state_transitions(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t r[4];
    int64_t job = add_job(f, 0, 3, NULL, 4, r);
    job_counts jc;
    OK(store_job_counts(f->s, job, &jc, f->err, sizeof f->err));
    assert_int_equal(jc.total, 4);
    assert_int_equal(jc.by_state[RUN_QUEUED], 4);

    /* queued -> running */
    OK(store_run_start(f->s, r[0], f->err, sizeof f->err));
    assert_string_equal(q_text(f, "SELECT status FROM runs WHERE run_id = %lld",
                               (long long)r[0]), "running");
    assert_int_equal(q_int(f, "SELECT attempts FROM runs WHERE run_id = %lld",
                           (long long)r[0]), 1);
    assert_false(isnan(q_real(f, "SELECT started_at FROM runs WHERE"
                                 " run_id = %lld", (long long)r[0])));
    assert_int_equal(store_run_start(f->s, r[0], f->err, sizeof f->err),
                     -EINVAL);
    assert_err_has(f->err, "it is running, not queued");
    assert_int_equal(store_run_start(f->s, 9999, f->err, sizeof f->err),
                     -ENOENT);

    /* running -> queued (suspended) gives the attempt back */
    OK(store_run_requeue(f->s, r[0], f->err, sizeof f->err));
    assert_int_equal(q_int(f, "SELECT attempts FROM runs WHERE run_id = %lld",
                           (long long)r[0]), 0);
    assert_int_equal(store_run_requeue(f->s, r[0], f->err, sizeof f->err),
                     -EINVAL);

    /* running -> done with its result, once */
    run_result res;
    result_fill(&res, 2.0);
    OK(store_run_start(f->s, r[0], f->err, sizeof f->err));
    assert_int_equal(store_run_finish(f->s, r[0], RUN_STATE_DONE, NULL, NULL,
                                      f->err, sizeof f->err), -EINVAL);
    OK(store_run_finish(f->s, r[0], RUN_STATE_DONE, &res, NULL, f->err,
                        sizeof f->err));
    assert_string_equal(q_text(f, "SELECT status FROM runs WHERE run_id = %lld",
                               (long long)r[0]), "done");
    assert_int_equal(q_int(f, "SELECT count(*) FROM results WHERE"
                              " run_id = %lld", (long long)r[0]), 1);
    assert_int_equal(store_run_finish(f->s, r[0], RUN_STATE_DONE, &res, NULL,
                                      f->err, sizeof f->err), -EINVAL);
    assert_err_has(f->err, "it is done");
    assert_int_equal(store_run_finish(f->s, r[0], RUN_QUEUED, &res, NULL,
                                      f->err, sizeof f->err), -EINVAL);

    /* running -> failed with its reason; queued -> canceled */
    OK(store_run_start(f->s, r[1], f->err, sizeof f->err));
    OK(store_run_finish(f->s, r[1], RUN_FAILED, NULL, "data.path: no such file",
                        f->err, sizeof f->err));
    assert_string_equal(q_text(f, "SELECT error FROM runs WHERE run_id = %lld",
                               (long long)r[1]), "data.path: no such file");
    assert_int_equal(q_int(f, "SELECT count(*) FROM results WHERE"
                              " run_id = %lld", (long long)r[1]), 0);
    OK(store_run_finish(f->s, r[2], RUN_CANCELED, NULL, NULL, f->err,
                        sizeof f->err));
    /* queued cannot become done: it never ran */
    assert_int_equal(store_run_finish(f->s, r[3], RUN_STATE_DONE, &res, NULL,
                                      f->err, sizeof f->err), -EINVAL);

    OK(store_job_counts(f->s, job, &jc, f->err, sizeof f->err));
    assert_int_equal(jc.total, 4);
    assert_int_equal(jc.by_state[RUN_STATE_DONE], 1);
    assert_int_equal(jc.by_state[RUN_FAILED], 1);
    assert_int_equal(jc.by_state[RUN_CANCELED], 1);
    assert_int_equal(jc.by_state[RUN_QUEUED], 1);
    assert_int_equal(store_job_counts(f->s, 999, &jc, f->err, sizeof f->err),
                     -ENOENT);

    /* retry: failed and canceled -> queued, attempts 0, error cleared */
    long n = -1;
    OK(store_job_retry(f->s, job, &n, f->err, sizeof f->err));
    assert_int_equal(n, 2);
    assert_int_equal(q_int(f, "SELECT count(*) FROM runs WHERE status ="
                              " 'queued' AND attempts = 0 AND error IS NULL"),
                     3);
    assert_string_equal(q_text(f, "SELECT status FROM runs WHERE run_id = %lld",
                               (long long)r[0]), "done");
    assert_int_equal(store_job_retry(f->s, 999, &n, f->err, sizeof f->err),
                     -ENOENT);

    /* cancel: queued -> canceled, running ones left to the caller */
    OK(store_run_start(f->s, r[1], f->err, sizeof f->err));
    OK(store_job_cancel(f->s, job, &n, f->err, sizeof f->err));
    assert_int_equal(n, 2);
    assert_string_equal(q_text(f, "SELECT status FROM runs WHERE run_id = %lld",
                               (long long)r[1]), "running");
    assert_false(isnan(q_real(f, "SELECT canceled_at FROM jobs")));
    OK(store_run_finish(f->s, r[1], RUN_CANCELED, NULL, NULL, f->err,
                        sizeof f->err));
    assert_int_equal(store_job_cancel(f->s, 999, &n, f->err, sizeof f->err),
                     -ENOENT);
    OK(store_job_counts(f->s, job, &jc, f->err, sizeof f->err));
    assert_int_equal(jc.by_state[RUN_CANCELED], 3);
}

/* Pause and resume (schema/007_pause.sql): paused_at set and cleared,
 * every refusal a sentence that names the job and why, the listing says
 * it, a held job's queued runs can be deleted, and a cancel ends the
 * pause. */
static void pause_and_resume(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t r[3];
    int64_t job = add_job(f, 0, 3, NULL, 3, r);
    long n = -1;
    OK(store_run_start(f->s, r[0], f->err, sizeof f->err));
    OK(store_job_pause(f->s, job, true, &n, f->err, sizeof f->err));
    assert_int_equal(n, 2);                  /* the queued ones are held */
    assert_false(isnan(q_real(f, "SELECT paused_at FROM jobs")));
    assert_int_equal(store_job_pause(f->s, job, true, &n, f->err,
                                     sizeof f->err), -EINVAL);
    assert_non_null(strstr(f->err, "is already paused"));
    assert_int_equal(n, 0);
    assert_int_equal(store_job_pause(f->s, 999, true, &n, f->err,
                                     sizeof f->err), -ENOENT);
    assert_string_equal(f->err, "job 999 does not exist");
    /* The listing carries it. */
    double paused_at = NAN;
    OK(store_job_list(f->s, job, list_paused_at, &paused_at, f->err,
                      sizeof f->err));
    assert_false(isnan(paused_at));
    /* Still running: no delete. Suspended to the queue: the delete
     * takes the held runs. */
    assert_int_equal(store_job_delete(f->s, job, &n, f->err, sizeof f->err),
                     -EBUSY);
    OK(store_run_requeue(f->s, r[0], f->err, sizeof f->err));
    OK(store_job_pause(f->s, job, false, &n, f->err, sizeof f->err));
    assert_int_equal(n, 3);
    assert_true(isnan(q_real(f, "SELECT paused_at FROM jobs")));
    assert_int_equal(store_job_pause(f->s, job, false, &n, f->err,
                                     sizeof f->err), -EINVAL);
    assert_string_equal(f->err, "job 1 is not paused; there is nothing to resume");
    assert_int_equal(store_job_delete(f->s, job, &n, f->err, sizeof f->err),
                     -EBUSY);              /* queued and not paused */
    OK(store_job_pause(f->s, job, true, &n, f->err, sizeof f->err));
    OK(store_job_delete(f->s, job, &n, f->err, sizeof f->err));
    assert_int_equal(n, 3);
    assert_int_equal(q_int(f, "SELECT count(*) FROM jobs"), 0);

    /* A cancel ends a pause; a canceled or ended job cannot be paused. */
    job = add_job(f, 0, 3, NULL, 1, r);
    OK(store_job_pause(f->s, job, true, &n, f->err, sizeof f->err));
    OK(store_job_cancel(f->s, job, &n, f->err, sizeof f->err));
    assert_int_equal(q_int(f, "SELECT paused_at IS NULL FROM jobs WHERE"
                              " job_id = %lld", (long long)job), 1);
    assert_int_equal(store_job_pause(f->s, job, true, &n, f->err,
                                     sizeof f->err), -EINVAL);
    assert_non_null(strstr(f->err, "was canceled"));
    job = add_job(f, 0, 3, NULL, 1, r);
    OK(store_run_start(f->s, r[0], f->err, sizeof f->err));
    OK(store_run_finish(f->s, r[0], RUN_FAILED, NULL, "x", f->err,
                        sizeof f->err));
    assert_int_equal(store_job_pause(f->s, job, true, &n, f->err,
                                     sizeof f->err), -EINVAL);
    assert_non_null(strstr(f->err, "has ended"));
}

static void state_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < RUN_STATES; i++) {
        enum run_state s;
        assert_int_equal(run_state_from_name(run_state_name(i), &s), 0);
        assert_int_equal(s, i);
    }
    assert_string_equal(run_state_name(RUN_STATE_DIVERGED), "diverged");
    enum run_state s;
    assert_int_equal(run_state_from_name("finished", &s), -EINVAL);
}

static void nan_stored_as_null(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t run;
    add_job(f, 0, 3, NULL, 1, &run);
    run_result res;
    result_fill(&res, 0.0);
    res.test_loss = NAN;
    res.hess_min = NAN;
    res.cert_grad = NAN;
    res.diverged_step = -1;
    res.lanczos_iters = -1;
    res.hess_converged = -1;
    res.lanczos_capped = -1;
    OK(store_run_start(f->s, run, f->err, sizeof f->err));
    OK(store_run_finish(f->s, run, RUN_STATE_DONE, &res, NULL, f->err,
                        sizeof f->err));
#define TYPE(col) "SELECT typeof(" col ") FROM results WHERE run_id = %lld", \
                  (long long)run
    assert_string_equal(q_text(f, TYPE("test_loss")), "null");
    assert_string_equal(q_text(f, TYPE("hess_min")), "null");
    assert_string_equal(q_text(f, TYPE("cert_grad")), "null");
    assert_string_equal(q_text(f, TYPE("diverged_step")), "null");
    assert_string_equal(q_text(f, TYPE("lanczos_iters")), "null");
    assert_string_equal(q_text(f, TYPE("hess_converged")), "null");
    assert_string_equal(q_text(f, TYPE("lanczos_capped")), "null");
    assert_string_equal(q_text(f, TYPE("train_loss")), "real");
    assert_string_equal(q_text(f, TYPE("hess_max")), "real");
#undef TYPE
    /* and back: NULL reads as NAN / -1 */
    enum run_state st;
    bool has;
    run_result back;
    OK(store_result_get(f->s, run, &st, &back, &has, f->err, sizeof f->err));
    assert_true(has);
    assert_int_equal(st, RUN_STATE_DONE);
    assert_true(isnan(back.test_loss) && isnan(back.hess_min));
    assert_int_equal(back.diverged_step, -1);
    assert_int_equal(back.lanczos_iters, -1);
    assert_int_equal(back.hess_converged, -1);
    assert_int_equal(back.lanczos_capped, -1);
    assert_true(back.train_loss == res.train_loss);

    /* curve points too */
    int64_t run2;
    add_job(f, 0, 3, NULL, 1, &run2);
    curve_point p = {.step = 5, .lr = 0.1, .train_loss = 1.5,
                     .test_loss = NAN, .grad_norm = 0.25, .online_loss = NAN};
    OK(store_curve_insert(f->s, run2, &p, 1, f->err, sizeof f->err));
    assert_string_equal(q_text(f, "SELECT typeof(test_loss) || typeof(online_loss)"
                                  " || typeof(train_loss) FROM curves"),
                        "nullnullreal");
}

static void result_round_trip(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t run[2];
    add_job(f, 0, 3, NULL, 2, run);
    run_result a, b;
    result_fill(&a, 10.0);
    a.converged = false;
    OK(store_run_start(f->s, run[0], f->err, sizeof f->err));
    OK(store_run_finish(f->s, run[0], RUN_STATE_DIVERGED, &a, NULL, f->err,
                        sizeof f->err));
    store_reader *rd;
    OK(store_reader_open(f->db, &rd, f->err, sizeof f->err));
    enum run_state st;
    bool has = false;
    OK(store_reader_result(rd, run[0], &st, &b, &has, f->err, sizeof f->err));
    assert_true(has);
    assert_int_equal(st, RUN_STATE_DIVERGED);
    assert_int_equal(b.status, RUN_DIVERGED);
#define EQ(field) assert_true(a.field == b.field)
    EQ(steps); EQ(diverged_step); EQ(converged); EQ(n_params); EQ(n);
    EQ(n_test); EQ(d); EQ(init_loss); EQ(train_loss); EQ(test_loss);
    EQ(lin_loss); EQ(lin_test_loss); EQ(gap); EQ(err01); EQ(test_err01);
    EQ(lin_err01); EQ(lin_test_err01); EQ(separable); EQ(lin_grad_norm);
    EQ(u_norm); EQ(grad_norm); EQ(grad_out); EQ(grad_v); EQ(grad_theta);
    EQ(hess_min); EQ(hess_max); EQ(hess_min_res); EQ(hess_max_res);
    EQ(lanczos_iters); EQ(hess_converged); EQ(lanczos_capped); EQ(cert); EQ(cert_grad); EQ(w_norm); EQ(v_norm);
    EQ(regret_lhs); EQ(regret_lin); EQ(regret_dist); EQ(regret_grad);
    EQ(regret_bound); EQ(train_s); EQ(analysis_s); EQ(total_s);
    EQ(hess_trace); EQ(hess_trace_se); EQ(class_tol); EQ(hess_neg_est);
    EQ(hess_neg_exact); EQ(point_class); EQ(path_barrier);
#undef EQ
    assert_int_equal(b.spectrum.bins, 0);
    assert_int_equal(b.path.points, 0);
    assert_string_equal(q_text(f, "SELECT point_class_name FROM run_results"
                                  " WHERE run_id = %lld", (long long)run[0]),
                        "saddle");
    /* The view shows the same numbers under the documented names. */
    assert_true(q_real(f, "SELECT cert FROM run_results WHERE run_id = %lld",
                       (long long)run[0]) == a.cert);
    assert_true(q_real(f, "SELECT hess_max FROM run_results WHERE run_id ="
                          " %lld", (long long)run[0]) == a.hess_max);
    assert_true(q_real(f, "SELECT train_s FROM run_results WHERE run_id ="
                          " %lld", (long long)run[0]) == a.train_s);
    assert_int_equal(q_int(f, "SELECT hess_converged * 10 + lanczos_capped"
                              " FROM run_results WHERE run_id = %lld",
                           (long long)run[0]), 10);

    /* A queued run has no result: the "not measured" values. */
    OK(store_reader_result(rd, run[1], &st, &b, &has, f->err, sizeof f->err));
    assert_false(has);
    assert_int_equal(st, RUN_QUEUED);
    assert_true(isnan(b.gap));
    assert_int_equal(b.steps, -1);
    assert_int_equal(store_reader_result(rd, 999, &st, &b, &has, f->err,
                                         sizeof f->err), -ENOENT);
    store_reader_close(rd);
}

static void assert_close(double got, double want)
{
    if (!(fabs(got - want) <= 1e-12 * (1 + fabs(want))))
        fail_msg("got %.17g, want %.17g", got, want);
}

/* A result's spectrum and path: rows of spectra and paths with the
 * documented edges, t and density, read back bit for bit; a path with a
 * NaN point keeps it (NULL in the table); a retry of a failed run with
 * a result deletes its rows; impossible sizes are refused. */
/* schema/011_arrays.sql: a finished run's arrays are rows of run_arrays,
 * little-endian float64 with their shapes, stored with the result in one
 * savepoint: a bad array stores neither, and the run stays running. Only
 * done/diverged runs keep arrays; deleting the job takes them along. */
static void arrays_stored_with_the_result(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t run[2];
    int64_t job = add_job(f, 0, 3, NULL, 2, run);
    double u[3] = {1.5, -0.25, 1e-300}, W[6] = {1, 2, 3, 4, 5, 6};
    run_arrays as = {.n = 2};
    as.a[0] = (run_array){.name = "u_star", .ndim = 1, .shape = {3}, .data = u};
    as.a[1] = (run_array){.name = "W1", .ndim = 2, .shape = {2, 3}, .data = W};
    run_result r;
    result_fill(&r, 2.0);
    OK(store_run_start(f->s, run[0], f->err, sizeof f->err));
    run_arrays bad = as;
    bad.a[1].shape[1] = -1;
    assert_int_equal(store_run_finish_arrays(f->s, run[0], RUN_STATE_DONE, &r,
                                             &bad, NULL, f->err, sizeof f->err),
                     -EINVAL);
    assert_err_has(f->err, "array W1: needs a name");
    assert_string_equal(q_text(f, "SELECT status FROM runs WHERE run_id = %lld",
                               (long long)run[0]), "running");
    assert_int_equal(q_int(f, "SELECT count(*) FROM results"), 0);
    assert_int_equal(store_run_finish_arrays(f->s, run[0], RUN_FAILED, NULL,
                                             &as, "x", f->err, sizeof f->err),
                     -EINVAL);
    OK(store_run_finish_arrays(f->s, run[0], RUN_STATE_DONE, &r, &as, NULL,
                               f->err, sizeof f->err));
    assert_string_equal(q_text(f, "SELECT group_concat(name || shape || "
                               "length(data), ' ') FROM (SELECT * FROM "
                               "run_arrays ORDER BY name)"),
                        "W1[2,3]48 u_star[3]24");
    /* little-endian IEEE 754: 1.5 is 0x3FF8000000000000 */
    assert_string_equal(q_text(f, "SELECT hex(substr(data, 1, 8)) FROM "
                               "run_arrays WHERE name = 'u_star'"),
                        "000000000000F83F");
    sqlite3 *db = raw_open(f->db, false);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT data FROM run_arrays "
                                        "WHERE name = 'W1'", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    double back[6];
    run_array_from_le(sqlite3_column_blob(st, 0), 6, back);
    assert_memory_equal(back, W, sizeof W);
    sqlite3_finalize(st);
    sqlite3_close(db);
    OK(store_run_finish(f->s, run[1], RUN_CANCELED, NULL, NULL, f->err,
                        sizeof f->err));
    long n;
    OK(store_job_delete(f->s, job, &n, f->err, sizeof f->err));
    assert_int_equal(q_int(f, "SELECT count(*) FROM run_arrays"), 0);
}

static void profiles_round_trip(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t run[3];
    int64_t job = add_job(f, 0, 3, NULL, 3, run);
    run_result a, b;
    result_fill(&a, 3.0);
    a.spectrum.bins = 7;
    a.spectrum.lo = -0.3;
    a.spectrum.hi = 12.7;
    for (int i = 0; i < 7; i++)
        a.spectrum.mass[i] = (i + 1) / 28.0;
    a.path.points = 5;
    for (int i = 0; i < 5; i++)
        a.path.loss[i] = 0.5 + 0.01 * i * (4 - i);
    a.path.loss[3] = NAN;
    OK(store_run_start(f->s, run[0], f->err, sizeof f->err));
    OK(store_run_finish(f->s, run[0], RUN_STATE_DONE, &a, NULL, f->err,
                        sizeof f->err));
    enum run_state st;
    bool has;
    OK(store_result_get(f->s, run[0], &st, &b, &has, f->err, sizeof f->err));
    assert_int_equal(b.spectrum.bins, 7);
    assert_true(b.spectrum.lo == a.spectrum.lo && b.spectrum.hi == a.spectrum.hi);
    assert_memory_equal(b.spectrum.mass, a.spectrum.mass, 7 * sizeof(double));
    assert_int_equal(b.path.points, 5);
    for (int i = 0; i < 5; i++)
        assert_true(i == 3 ? isnan(b.path.loss[i]) : b.path.loss[i] == a.path.loss[i]);
    assert_close(q_real(f, "SELECT sum(mass) FROM spectra WHERE run_id = %lld",
                        (long long)run[0]), 1.0);
    assert_close(q_real(f, "SELECT hi - lo FROM spectra WHERE run_id = %lld"
                           " AND bin = 2", (long long)run[0]), 13.0 / 7);
    assert_close(q_real(f, "SELECT density FROM spectra WHERE run_id = %lld"
                           " AND bin = 6", (long long)run[0]),
                 (7 / 28.0) / (13.0 / 7));
    assert_true(q_real(f, "SELECT hi FROM spectra WHERE run_id = %lld AND"
                          " bin = 6", (long long)run[0]) == 12.7);
    assert_true(q_real(f, "SELECT t FROM paths WHERE run_id = %lld AND"
                          " point = 4", (long long)run[0]) == 1.0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM paths WHERE run_id = %lld"
                              " AND loss IS NULL", (long long)run[0]), 1);
    /* failed with a result, then retried: its rows go with the result */
    OK(store_run_start(f->s, run[1], f->err, sizeof f->err));
    OK(store_run_finish(f->s, run[1], RUN_FAILED, &a, "boom", f->err,
                        sizeof f->err));
    assert_int_equal(q_int(f, "SELECT count(*) FROM spectra"), 14);
    long n;
    OK(store_job_retry(f->s, job, &n, f->err, sizeof f->err));
    assert_int_equal(q_int(f, "SELECT count(*) FROM spectra"), 7);
    assert_int_equal(q_int(f, "SELECT count(*) FROM paths"), 5);
    /* sizes the engine never makes */
    OK(store_run_start(f->s, run[2], f->err, sizeof f->err));
    a.path.points = 1;
    assert_int_equal(store_run_finish(f->s, run[2], RUN_STATE_DONE, &a, NULL,
                                      f->err, sizeof f->err), -EINVAL);
    a.path.points = 0;
    a.spectrum.bins = CONFIG_MAX_SLQ_BINS + 1;
    assert_int_equal(store_run_finish(f->s, run[2], RUN_STATE_DONE, &a, NULL,
                                      f->err, sizeof f->err), -EINVAL);
    a.spectrum.bins = CONFIG_MAX_SLQ_BINS;
    OK(store_run_finish(f->s, run[2], RUN_STATE_DONE, &a, NULL, f->err,
                        sizeof f->err));
    assert_integrity_ok(f);
}

/* A result's slice: k x k rows of slices with a_i, b_j as slice.h writes
 * them (the centre at 0 exactly), read back bit for bit with its radius;
 * a retry deletes them; a grid that is not odd is refused. */
static void slice_round_trip(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t run[3];
    int64_t job = add_job(f, 0, 3, NULL, 3, run);
    run_result a, b;
    result_fill(&a, 3.0);
    a.slice.points = 5;
    a.slice.radius = 0.75;
    for (int k = 0; k < 25; k++)
        a.slice.loss[k] = 1.0 + k / 7.0;
    a.slice.loss[3] = NAN;
    OK(store_run_start(f->s, run[0], f->err, sizeof f->err));
    OK(store_run_finish(f->s, run[0], RUN_STATE_DONE, &a, NULL, f->err,
                        sizeof f->err));
    enum run_state st;
    bool has;
    OK(store_result_get(f->s, run[0], &st, &b, &has, f->err, sizeof f->err));
    assert_int_equal(b.slice.points, 5);
    assert_true(b.slice.radius == 0.75);
    for (int k = 0; k < 25; k++)
        assert_true(k == 3 ? isnan(b.slice.loss[k]) : b.slice.loss[k] == a.slice.loss[k]);
    assert_int_equal(q_int(f, "SELECT count(*) FROM slices WHERE run_id = %lld"
                              " AND a = 0 AND b = 0 AND i = 2 AND j = 2",
                           (long long)run[0]), 1);
    assert_true(q_real(f, "SELECT a FROM slices WHERE run_id = %lld AND i = 0"
                          " AND j = 4", (long long)run[0]) == -0.75);
    assert_true(q_real(f, "SELECT b FROM slices WHERE run_id = %lld AND i = 0"
                          " AND j = 4", (long long)run[0]) == 0.75);
    OK(store_run_start(f->s, run[1], f->err, sizeof f->err));
    OK(store_run_finish(f->s, run[1], RUN_FAILED, &a, "boom", f->err,
                        sizeof f->err));
    assert_int_equal(q_int(f, "SELECT count(*) FROM slices"), 50);
    long n;
    OK(store_job_retry(f->s, job, &n, f->err, sizeof f->err));
    assert_int_equal(q_int(f, "SELECT count(*) FROM slices"), 25);
    OK(store_run_start(f->s, run[2], f->err, sizeof f->err));
    a.slice.points = 4;
    assert_int_equal(store_run_finish(f->s, run[2], RUN_STATE_DONE, &a, NULL,
                                      f->err, sizeof f->err), -EINVAL);
    assert_integrity_ok(f);
}

/* arch_pairs and seed_stats (schema/009_landscape.sql) on hand-made
 * runs: resnet and plain on seeds 0..3 with the same configuration but
 * arch pair up; each network pairs with the linear run of its seed, the
 * lowest of two identical ones; a run of other data (n) or not done does
 * not pair; the counts, means and fractions are the exact ones. */
static void seed_pairs_views(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    sqlite3 *db = raw_open(f->db, true);
    /* gap by (arch, seed): resnet 1 + s, plain 2 + s/2, linear 0.5 */
    const char *sql =
        "INSERT INTO jobs (job_id, n_runs, created_at, complete) VALUES (1, 0, 0, 1);"
        "WITH RECURSIVE s(seed) AS (SELECT 0 UNION ALL SELECT seed + 1 FROM s"
        " WHERE seed < 3), a(arch, w, copy) AS (VALUES ('resnet', 16, 0),"
        " ('plain', 16, 0), ('linear', 16, 0), ('linear', 8, 1))"
        " INSERT INTO runs (job_id, idx, status, arch, blocks, unit_depth,"
        " width, activation, init, gain, init_scale, loss, source, intercept,"
        " stream, optimizer, lr, schedule, steps, batch, tol, seed, config)"
        " SELECT 1, row_number() OVER (), 'done', arch, 1, 2, w, 'relu', 'he',"
        " 1, 0.01, 'squared', 'synthetic', 0, 0, 'gd', 0.05, 'constant', 10,"
        " 32, 1e-8, seed, json_object('seed', seed, 'data', json_object('n',"
        " 50), 'model', json_object('arch', arch, 'width', w)) FROM s, a;"
        /* another data set (n = 60) and a failed plain: no pairs */
        "INSERT INTO runs (job_id, idx, status, arch, blocks, unit_depth,"
        " width, activation, init, gain, init_scale, loss, source, intercept,"
        " stream, optimizer, lr, schedule, steps, batch, tol, seed, config)"
        " VALUES (1, 100, 'done', 'plain', 1, 2, 16, 'relu', 'he', 1, 0.01,"
        " 'squared', 'synthetic', 0, 0, 'gd', 0.05, 'constant', 10, 32, 1e-8,"
        " 0, json_object('seed', 0, 'data', json_object('n', 60), 'model',"
        " json_object('arch', 'plain', 'width', 16))),"
        " (1, 101, 'failed', 'plain', 1, 2, 16, 'relu', 'he', 1, 0.01,"
        " 'squared', 'synthetic', 0, 0, 'gd', 0.05, 'constant', 10, 32, 1e-8,"
        " 9, json_object('seed', 9, 'data', json_object('n', 50), 'model',"
        " json_object('arch', 'plain', 'width', 16)));"
        "INSERT INTO runs (job_id, idx, status, arch, blocks, unit_depth,"
        " width, activation, init, gain, init_scale, loss, source, intercept,"
        " stream, optimizer, lr, schedule, steps, batch, tol, seed, config)"
        " VALUES (1, 102, 'done', 'resnet', 1, 2, 16, 'relu', 'he', 1, 0.01,"
        " 'squared', 'synthetic', 0, 0, 'gd', 0.05, 'constant', 10, 32, 1e-8,"
        " 9, json_object('seed', 9, 'data', json_object('n', 50), 'model',"
        " json_object('arch', 'resnet', 'width', 16)));"
        "INSERT INTO results (run_id, gap) SELECT run_id, CASE arch"
        " WHEN 'resnet' THEN 1 + seed WHEN 'plain' THEN 2 + seed / 2.0"
        " ELSE 0.5 END FROM runs;";
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("rows: %s", sqlite3_errmsg(db));
    sqlite3_close(db);
    /* resnet - plain = -1 + s/2: -1, -0.5, 0, 0.5 */
    assert_int_equal(q_int(f, "SELECT pairs FROM seed_stats WHERE"
                              " comparison = 'resnet-plain'"), 4);
    assert_true(q_real(f, "SELECT mean_diff FROM seed_stats WHERE"
                          " comparison = 'resnet-plain'") == -0.25);
    assert_true(q_real(f, "SELECT frac_le0 FROM seed_stats WHERE"
                          " comparison = 'resnet-plain'") == 0.75);
    assert_int_equal(q_int(f, "SELECT n_below * 10 + n_above FROM seed_stats"
                              " WHERE comparison = 'resnet-plain'"), 21);
    /* each network against linear: 4 seeds (resnet 5, with seed 9's run
     * without a linear partner), one linear partner each, the lower id */
    assert_int_equal(q_int(f, "SELECT count(*) FROM arch_pairs WHERE"
                              " arch_b = 'linear'"), 8);
    assert_int_equal(q_int(f, "SELECT count(*) FROM arch_pairs p JOIN runs r"
                              " ON r.run_id = p.run_b WHERE r.width <> 16"), 0);
    assert_true(q_real(f, "SELECT mean_diff FROM seed_stats WHERE"
                          " comparison = 'resnet-linear'") == 2.0);
    assert_true(q_real(f, "SELECT frac_le0 FROM seed_stats WHERE"
                          " comparison = 'plain-linear'") == 0.0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM seed_stats"), 3);
}

/* A database of version 2 gains the columns (NULL in its rows), the two
 * tables and the view's new columns. */
/* Seed pairs (schema/012_pairs.sql): the pending pairs are those of done
 * runs of a job equal but for model.init_seed (both set, different), with
 * seed_pairs and path points; a stored pair is no longer pending, is
 * stored once, and goes with its job; a pair whose run was deleted
 * meanwhile stores nothing. */
struct pending { int n; int64_t job[16], a[16], b[16]; };

static int collect_pair(void *ctx, int64_t job, int64_t a, int64_t b)
{
    struct pending *p = ctx;
    if (p->n < 16) {
        p->job[p->n] = job;
        p->a[p->n] = a;
        p->b[p->n] = b;
    }
    p->n++;
    return 0;
}

static int64_t insert_cfg_run(struct fx *f, int64_t job, long idx,
                              const run_config *c)
{
    char *json = config_to_json(c);
    int64_t id;
    assert_non_null(json);
    OK(store_run_insert(f->s, job, idx, 0, c, json, 0, &id, f->err,
                        sizeof f->err));
    free(json);
    return id;
}

static void seed_pairs_pending_and_stored(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    run_config c;
    config_defaults(&c);
    int64_t job, r[8];
    OK(store_begin(f->s, f->err, sizeof f->err));
    OK(store_job_insert(f->s, "pairs", 0, 3, "{}", 8, &job, f->err,
                        sizeof f->err));
    /* width 16: init_seed 0, 1, 2; width 8: 0, 1; a run without the key;
     * a width-8 run with seed_pairs false; one with path_points 0 */
    long idx = 0;
    for (int k = 0; k < 3; k++) {
        c.model.init_seed = k;
        r[idx] = insert_cfg_run(f, job, idx, &c);
        idx++;
    }
    c.model.width = 8;
    for (int k = 0; k < 2; k++) {
        c.model.init_seed = k;
        r[idx] = insert_cfg_run(f, job, idx, &c);
        idx++;
    }
    c.model.init_seed = -1;
    r[idx] = insert_cfg_run(f, job, idx, &c);
    idx++;
    c.model.init_seed = 2;
    c.analysis.seed_pairs = false;
    r[idx] = insert_cfg_run(f, job, idx, &c);
    idx++;
    c.analysis.seed_pairs = true;
    c.analysis.path_points = 0;
    r[idx] = insert_cfg_run(f, job, idx, &c);
    idx++;
    OK(store_commit(f->s, f->err, sizeof f->err));
    for (int i = 0; i < 8; i++)
        if (i != 2)                 /* the third width-16 run not done */
            finish_done(f, r[i], 0.5);
    store_reader *rd;
    OK(store_reader_open(f->db, &rd, f->err, sizeof f->err));
    struct pending p = {0};
    OK(store_reader_pairs_pending(rd, 0, collect_pair, &p, f->err, sizeof f->err));
    assert_int_equal(p.n, 2);
    assert_true(p.job[0] == job && p.a[0] == r[0] && p.b[0] == r[1]);
    assert_true(p.a[1] == r[3] && p.b[1] == r[4]);
    finish_done(f, r[2], 0.5);
    p.n = 0;
    OK(store_reader_pairs_pending(rd, r[2], collect_pair, &p, f->err, sizeof f->err));
    assert_int_equal(p.n, 2);      /* (0, 2) and (1, 2) only */
    assert_true(p.a[0] == r[0] && p.b[0] == r[2]);
    assert_true(p.a[1] == r[1] && p.b[1] == r[2]);

    run_pair pr = {.f_a = 1.5, .f_b = 1.25, .f_max = 2, .barrier = 0.5,
                   .curve = {.points = 3, .loss = {1.5, 2, 1.25}}};
    bool stored;
    OK(store_pair_insert(f->s, job, r[0], r[1], &pr, &stored, f->err, sizeof f->err));
    assert_true(stored);
    OK(store_pair_insert(f->s, job, r[0], r[1], &pr, &stored, f->err, sizeof f->err));
    assert_false(stored);          /* computed twice: one row */
    assert_int_equal(store_pair_insert(f->s, job, r[1], r[0], &pr, &stored,
                                       f->err, sizeof f->err), -EINVAL);
    pr.barrier = NAN;
    OK(store_pair_insert(f->s, job, r[0], r[2], &pr, &stored, f->err, sizeof f->err));
    assert_string_equal(q_text(f, "SELECT group_concat(coalesce(barrier, 'NULL'), ' ')"
                               " FROM (SELECT barrier FROM pairs ORDER BY pair_id)"),
                        "0.5 NULL");
    assert_string_equal(q_text(f, "SELECT group_concat(t || ':' || loss, ' ') FROM "
                               "(SELECT * FROM pair_curve WHERE pair_id = 1 ORDER BY i)"),
                        "0.0:1.5 0.5:2.0 1.0:1.25");
    p.n = 0;
    OK(store_reader_pairs_pending(rd, 0, collect_pair, &p, f->err, sizeof f->err));
    assert_int_equal(p.n, 2);      /* (1, 2) and the width-8 pair */
    assert_true(p.a[0] == r[1] && p.b[0] == r[2]);

    /* a run gone (its job deleted): nothing stored, the rows cascade */
    sqlite3 *db = raw_open(f->db, true);
    assert_int_equal(sqlite3_exec(db, "PRAGMA foreign_keys = ON; DELETE FROM "
                                  "runs WHERE idx = 4", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    OK(store_pair_insert(f->s, job, r[3], r[4], &pr, &stored, f->err, sizeof f->err));
    assert_false(stored);
    long n;
    OK(store_job_delete(f->s, job, &n, f->err, sizeof f->err));
    assert_int_equal(q_int(f, "SELECT count(*) FROM pairs"), 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM pair_curve"), 0);
    store_reader_close(rd);
}

static void version_2_database_migrates(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    store_close(f->s);
    f->s = NULL;
    remove(f->db);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    for (int v = 0; v < 2; v++)
        if (sqlite3_exec(db, schema_migrations[v].sql, NULL, NULL, NULL) != SQLITE_OK)
            fail_msg("%s: %s", schema_migrations[v].name, sqlite3_errmsg(db));
    const char *rows =
        "INSERT INTO schema_version VALUES (1, 0), (2, 0);"
        "INSERT INTO jobs (job_id, n_runs, created_at) VALUES (1, 1, 0);"
        "INSERT INTO runs (run_id, job_id, idx, status, arch, blocks,"
        " unit_depth, width, activation, init, gain, init_scale, loss,"
        " source, intercept, stream, optimizer, lr, schedule, steps, batch,"
        " tol, seed, config) VALUES (1, 1, 0, 'done', 'resnet', 1, 2, 16,"
        " 'relu', 'he', 1, 0.01, 'squared', 'synthetic', 0, 0, 'gd', 0.05,"
        " 'constant', 10, 32, 1e-8, 0, '{}');"
        "INSERT INTO results (run_id, hess_min, hess_max) VALUES (1, -1, 2);";
    if (sqlite3_exec(db, rows, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("v2 rows: %s", sqlite3_errmsg(db));
    sqlite3_close(db);
    fx_open(f);
    assert_int_equal(q_int(f, "SELECT max(version) FROM schema_version"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(q_int(f, "SELECT count(*) FROM run_results WHERE"
                              " hess_min = -1 AND hess_trace IS NULL AND"
                              " point_class IS NULL AND point_class_name IS"
                              " NULL AND path_barrier IS NULL"), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM spectra"), 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM paths"), 0);
    enum run_state st;
    bool has;
    run_result back;
    OK(store_result_get(f->s, 1, &st, &back, &has, f->err, sizeof f->err));
    assert_int_equal(back.point_class, POINT_UNCLASSIFIED);
    assert_int_equal(back.hess_neg_exact, -1);
    assert_int_equal(back.spectrum.bins, 0);
    assert_integrity_ok(f);
}

/* runs.precision (schema/013_precision.sql): TEXT NOT NULL, default
 * 'float64', nothing but the two names; run_results shows it right
 * after init_seed. */
static void precision_column(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    assert_string_equal(q_text(f, "SELECT type || ',' || \"notnull\" || ','"
                                  " || dflt_value FROM pragma_table_info('runs')"
                                  " WHERE name = 'precision'"),
                        "TEXT,1,'float64'");
    assert_int_equal(q_int(f, "SELECT p.cid - s.cid FROM"
                              " pragma_table_info('run_results') p,"
                              " pragma_table_info('run_results') s"
                              " WHERE p.name = 'precision' AND s.name = 'init_seed'"), 1);
    int64_t run;
    add_job(f, 0, 3, NULL, 1, &run);
    assert_string_equal(q_text(f, "SELECT precision FROM run_results WHERE"
                                  " run_id = %lld", (long long)run), "float64");
    /* a row written without the column, as by a resweepd before it */
    sqlite3 *db = raw_open(f->db, true);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO runs (job_id, idx, arch,"
        " blocks, unit_depth, width, activation, init, gain, init_scale, loss,"
        " source, intercept, stream, optimizer, lr, schedule, steps, batch,"
        " tol, seed, config) SELECT job_id, 1, 'resnet', 1, 2, 16, 'relu',"
        " 'he', 1, 0.01, 'squared', 'synthetic', 0, 0, 'gd', 0.05,"
        " 'constant', 10, 32, 1e-8, 0, '{}' FROM jobs", NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE runs SET precision = 'float16'",
                                  NULL, NULL, NULL), SQLITE_CONSTRAINT);
    assert_int_equal(sqlite3_exec(db, "UPDATE runs SET precision = NULL",
                                  NULL, NULL, NULL), SQLITE_CONSTRAINT);
    sqlite3_close(db);
    assert_string_equal(q_text(f, "SELECT group_concat(precision) FROM runs"),
                        "float64,float64");
}

/* A database of schema version 12 (every migration up to 012, recorded)
 * with a done run and its result: the migration to 13 gives the run
 * precision 'float64', the float64 it trained in, and run_results keeps
 * every other column's value; new runs store theirs. */
static void version_12_database_migrates(void **state)
{
    struct fx *f = *state;
    fx_open(f);                      /* creates the directory */
    store_close(f->s);
    f->s = NULL;
    sqlite3 *db = build_by_hand(f, SIZE_MAX, 12);
    const char *rows =
        "INSERT INTO jobs (job_id, n_runs, created_at) VALUES (1, 1, 0);"
        "INSERT INTO runs (run_id, job_id, idx, status, arch, blocks,"
        " unit_depth, width, activation, init, gain, init_scale, loss,"
        " source, intercept, stream, optimizer, lr, schedule, steps, batch,"
        " tol, seed, init_seed, config) VALUES (1, 1, 0, 'done', 'resnet', 1,"
        " 2, 16, 'relu', 'he', 1, 0.01, 'squared', 'synthetic', 0, 0, 'gd',"
        " 0.05, 'constant', 10, 32, 1e-8, 4, 7, '{}');"
        "INSERT INTO results (run_id, train_loss, lin_loss, gap, cert)"
        " VALUES (1, 1.5, 1.25, 0.25, 0.5);";
    if (sqlite3_exec(db, rows, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("v12 rows: %s", sqlite3_errmsg(db));
    assert_int_equal(sqlite3_exec(db, "SELECT precision FROM runs", NULL,
                                  NULL, NULL), SQLITE_ERROR);
    sqlite3_close(db);
    fx_open(f);
    assert_int_equal(q_int(f, "SELECT max(version) FROM schema_version"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(q_int(f, "SELECT count(*) FROM schema_version WHERE"
                              " version = 13"), 1);
    assert_string_equal(q_text(f, "SELECT precision || ',' || init_seed || ','"
                                  " || seed || ',' || train_loss || ',' || gap"
                                  " || ',' || cert || ',' || status FROM"
                                  " run_results WHERE run_id = 1"),
                        "float64,7,4,1.5,0.25,0.5,done");
    run_config c;
    config_defaults(&c);
    c.train.precision = PRECISION_FLOAT32;
    int64_t run;
    add_job(f, 0, 3, &c, 1, &run);
    assert_string_equal(q_text(f, "SELECT precision FROM run_results WHERE"
                                  " run_id = %lld", (long long)run), "float32");
    assert_integrity_ok(f);
}

/* --- the views ------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile(x, 100 p) with its default ("linear") method,
 * computed independently of the view. */
static double quantile(const double *x, int m, double p)
{
    double sorted[64];
    memcpy(sorted, x, (size_t)m * sizeof *x);
    qsort(sorted, (size_t)m, sizeof *sorted, cmp_double);
    double h = (m - 1) * p;
    int lo = (int)floor(h);
    if (lo + 1 >= m)
        return sorted[m - 1];
    return sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
}


/* Runs of one (arch, unit_depth, dist) group with the given gaps, all
 * done. */
static void add_group(struct fx *f, int64_t job, long *idx, enum arch arch,
                      int depth, enum data_dist dist, const double *gaps,
                      int n, int64_t *ids)
{
    run_config c;
    config_defaults(&c);
    c.model.arch = arch;
    c.model.unit_depth = depth;
    c.data.dist = dist;
    for (int i = 0; i < n; i++) {
        int64_t id;
        OK(store_run_insert(f->s, job, (*idx)++, 0, &c, CONFIG_JSON, 0, &id,
                            f->err, sizeof f->err));
        if (ids)
            ids[i] = id;
        if (gaps)
            finish_done(f, id, gaps[i]);
    }
}

/* The gap_summary row of a group, checked against the test's numbers. */
static void check_group(struct fx *f, int64_t job, const char *arch,
                        int depth, const char *dist, const double *gaps,
                        int m, long runs, long done)
{
    sqlite3 *db = raw_open(f->db, false);
    const char *where = "job_id = %lld AND arch = '%s' AND unit_depth = %d"
                        " AND dist = '%s'";
    char w[256];
    snprintf(w, sizeof w, where, (long long)job, arch, depth, dist);
    assert_int_equal(db_int(db, "SELECT count(*) FROM gap_summary WHERE %s",
                            w), 1);
    assert_int_equal(db_int(db, "SELECT runs FROM gap_summary WHERE %s", w),
                     runs);
    assert_int_equal(db_int(db, "SELECT done FROM gap_summary WHERE %s", w),
                     done);
    assert_int_equal(db_int(db, "SELECT gap_n FROM gap_summary WHERE %s", w),
                     m);
    sqlite3_close(db);
    char sql[512];
#define STAT(col) (snprintf(sql, sizeof sql, "SELECT " col " FROM gap_summary" \
                            " WHERE %s", w), q_real(f, "%s", sql))
    if (m == 0) {
        assert_true(isnan(STAT("gap_mean")));
        assert_true(isnan(STAT("gap_median")));
        assert_true(isnan(STAT("frac_gap_le_1e6")));
        return;
    }
    double sum = 0, mn = INFINITY, mx = -INFINITY;
    int small = 0;
    for (int i = 0; i < m; i++) {
        sum += gaps[i];
        mn = fmin(mn, gaps[i]);
        mx = fmax(mx, gaps[i]);
        small += gaps[i] <= 1e-6;
    }
    assert_close(STAT("gap_mean"), sum / m);
    assert_close(STAT("gap_min"), mn);
    assert_close(STAT("gap_max"), mx);
    assert_close(STAT("gap_q1"), quantile(gaps, m, 0.25));
    assert_close(STAT("gap_median"), quantile(gaps, m, 0.5));
    assert_close(STAT("gap_q3"), quantile(gaps, m, 0.75));
    assert_close(STAT("frac_gap_le_1e6"), (double)small / m);
#undef STAT
}

static void views_on_a_hand_made_set(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t job;
    long idx = 0;
    OK(store_begin(f->s, f->err, sizeof f->err));
    OK(store_job_insert(f->s, "views", 0, 3, "{}", 0, &job, f->err,
                        sizeof f->err));
    /* A: 7 gaps, 3 of them <= 1e-6 (one exactly 1e-6), unsorted; plus a
     * done run without a gap, a diverged, a failed and a queued run,
     * none of which may enter the statistics. */
    const double a[] = {3.0, -2e-7, 0.25, 1e-6, 7.5, 0.125, 5e-7};
    add_group(f, job, &idx, ARCH_RESNET, 1, DIST_GAUSSIAN, a, 7, NULL);
    const double nan_gap = NAN;
    add_group(f, job, &idx, ARCH_RESNET, 1, DIST_GAUSSIAN, &nan_gap, 1, NULL);
    int64_t extra[3];
    add_group(f, job, &idx, ARCH_RESNET, 1, DIST_GAUSSIAN, NULL, 3, extra);
    run_result div;
    result_fill(&div, 0);
    div.gap = 1e9;
    OK(store_run_start(f->s, extra[0], f->err, sizeof f->err));
    OK(store_run_finish(f->s, extra[0], RUN_STATE_DIVERGED, &div, NULL,
                        f->err, sizeof f->err));
    OK(store_run_start(f->s, extra[1], f->err, sizeof f->err));
    OK(store_run_finish(f->s, extra[1], RUN_FAILED, NULL, "boom", f->err,
                        sizeof f->err));
    /* B: numpy's own example, plus a canceled run. */
    const double b[] = {4, 1, 3, 2};
    add_group(f, job, &idx, ARCH_RESNET, 4, DIST_GAUSSIAN, b, 4, NULL);
    int64_t canceled;
    add_group(f, job, &idx, ARCH_RESNET, 4, DIST_GAUSSIAN, NULL, 1, &canceled);
    OK(store_run_finish(f->s, canceled, RUN_CANCELED, NULL, NULL, f->err,
                        sizeof f->err));
    /* C: one run; D: two; E: only queued runs. */
    const double c[] = {0.3}, d[] = {2, 1};
    add_group(f, job, &idx, ARCH_PLAIN, 1, DIST_SPHERE, c, 1, NULL);
    add_group(f, job, &idx, ARCH_PLAIN, 2, DIST_SPHERE, d, 2, NULL);
    add_group(f, job, &idx, ARCH_LINEAR, 1, DIST_UNIFORM, NULL, 2, NULL);
    OK(store_commit(f->s, f->err, sizeof f->err));

    check_group(f, job, "resnet", 1, "gaussian", a, 7, 11, 8);
    check_group(f, job, "resnet", 4, "gaussian", b, 4, 5, 4);
    check_group(f, job, "plain", 1, "sphere", c, 1, 1, 1);
    check_group(f, job, "plain", 2, "sphere", d, 2, 2, 2);
    check_group(f, job, "linear", 1, "uniform", NULL, 0, 2, 0);
    /* numpy.percentile([1, 2, 3, 4], [25, 50, 75]) = 1.75, 2.5, 3.25 */
    assert_close(q_real(f, "SELECT gap_q1 FROM gap_summary WHERE unit_depth"
                           " = 4"), 1.75);
    assert_close(q_real(f, "SELECT gap_median FROM gap_summary WHERE"
                           " unit_depth = 4"), 2.5);
    assert_close(q_real(f, "SELECT gap_q3 FROM gap_summary WHERE unit_depth"
                           " = 4"), 3.25);
    assert_int_equal(q_int(f, "SELECT count(*) FROM gap_summary"), 5);
    assert_int_equal(q_int(f, "SELECT diverged + failed + queued FROM"
                              " gap_summary WHERE unit_depth = 1 AND arch ="
                              " 'resnet'"), 3);

    /* run_results: every run, queued and failed ones included. */
    assert_int_equal(q_int(f, "SELECT count(*) FROM run_results"), idx);
    assert_int_equal(q_int(f, "SELECT count(*) FROM run_results WHERE"
                              " status = 'queued' AND train_loss IS NULL"), 3);
    assert_string_equal(q_text(f, "SELECT error FROM run_results WHERE"
                                  " status = 'failed'"), "boom");
    assert_close(q_real(f, "SELECT sum(gap) FROM run_results WHERE status ="
                           " 'done' AND arch = 'plain'"), 3.3);
    assert_close(q_real(f, "SELECT train_loss - lin_loss FROM run_results"
                           " WHERE arch = 'plain' AND unit_depth = 1"), 0.3);
    assert_int_equal(q_int(f, "SELECT d + n FROM run_results LIMIT 1"), 510);

    /* job_progress */
    assert_int_equal(q_int(f, "SELECT total FROM job_progress"), idx);
    assert_int_equal(q_int(f, "SELECT done FROM job_progress"), 15);
    assert_int_equal(q_int(f, "SELECT queued FROM job_progress"), 3);
    assert_int_equal(q_int(f, "SELECT failed * 100 + diverged * 10 + canceled"
                              " FROM job_progress"), 111);
    assert_int_equal(q_int(f, "SELECT finished FROM job_progress"), 18);
}

static void curve_replace_on_same_step(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t run;
    add_job(f, 0, 3, NULL, 1, &run);
    curve_point p[3] = {
        {.step = 0, .lr = 0.1, .train_loss = 3, .test_loss = 3.5,
         .grad_norm = 1, .online_loss = NAN},
        {.step = 10, .lr = 0.1, .train_loss = 2, .test_loss = 2.5,
         .grad_norm = 0.5, .online_loss = NAN},
        {.step = 20, .lr = 0.1, .train_loss = 1, .test_loss = 1.5,
         .grad_norm = 0.25, .online_loss = NAN},
    };
    OK(store_curve_insert(f->s, run, p, 3, f->err, sizeof f->err));
    curve_point again[2] = {
        {.step = 10, .lr = 0.05, .train_loss = 1.75, .test_loss = 2.25,
         .grad_norm = 0.4, .online_loss = 1.8},
        {.step = 30, .lr = 0.05, .train_loss = 0.5, .test_loss = 1.0,
         .grad_norm = 0.1, .online_loss = 0.6},
    };
    OK(store_curve_insert(f->s, run, again, 2, f->err, sizeof f->err));
    assert_int_equal(q_int(f, "SELECT count(*) FROM curves"), 4);
    assert_true(q_real(f, "SELECT train_loss FROM curves WHERE step = 10") ==
                1.75);
    assert_true(q_real(f, "SELECT online_loss FROM curves WHERE step = 10") ==
                1.8);
    assert_true(q_real(f, "SELECT train_loss FROM curves WHERE step = 20") ==
                1.0);
    OK(store_curve_insert(f->s, run, NULL, 0, f->err, sizeof f->err));
    assert_int_equal(store_curve_insert(f->s, run, NULL, 2, f->err,
                                        sizeof f->err), -EINVAL);
    /* A batch for an unknown run stores none of its points. */
    assert_int_equal(store_curve_insert(f->s, 999, p, 3, f->err,
                                        sizeof f->err), -EINVAL);
    assert_int_equal(q_int(f, "SELECT count(*) FROM curves"), 4);
}

static void checkpoint_put_get_and_deleted_at_finish(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t run[2];
    add_job(f, 0, 3, NULL, 2, run);
    checkpoint ck = {.data = "abc", .len = 3, .step = 5};
    /* only a running run may save one */
    assert_int_equal(store_checkpoint_put(f->s, run[0], &ck, f->err,
                                          sizeof f->err), -EINVAL);
    assert_err_has(f->err, "queued");
    OK(store_run_start(f->s, run[0], f->err, sizeof f->err));
    OK(store_checkpoint_put(f->s, run[0], &ck, f->err, sizeof f->err));

    store_reader *rd;
    OK(store_reader_open(f->db, &rd, f->err, sizeof f->err));
    char *cfg = NULL;
    void *data = NULL;
    size_t len = 0;
    int attempt = 0;
    /* a queued run's attempt counts the start on its way */
    OK(store_reader_run(rd, run[1], &cfg, &data, &len, &attempt, f->err,
                        sizeof f->err));
    assert_int_equal(attempt, 1);
    assert_null(data);
    free(cfg);
    OK(store_reader_run(rd, run[0], &cfg, &data, &len, &attempt, f->err,
                        sizeof f->err));
    assert_int_equal(attempt, 1);
    assert_string_equal(cfg, CONFIG_JSON);
    assert_int_equal(len, 3);
    assert_memory_equal(data, "abc", 3);
    free(cfg);
    free(data);

    checkpoint ck2 = {.data = "defgh", .len = 5, .step = 9};
    OK(store_checkpoint_put(f->s, run[0], &ck2, f->err, sizeof f->err));
    long step = 0;
    OK(store_reader_checkpoint(rd, run[0], &data, &len, &step, f->err,
                               sizeof f->err));
    assert_int_equal(step, 9);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "defgh", 5);
    free(data);
    assert_int_equal(q_int(f, "SELECT count(*) FROM checkpoints"), 1);

    /* a suspended run keeps it, a finished one loses it */
    OK(store_run_requeue(f->s, run[0], f->err, sizeof f->err));
    assert_int_equal(q_int(f, "SELECT count(*) FROM checkpoints"), 1);
    OK(store_run_start(f->s, run[0], f->err, sizeof f->err));
    run_result res;
    result_fill(&res, 0);
    OK(store_run_finish(f->s, run[0], RUN_STATE_DONE, &res, NULL, f->err,
                        sizeof f->err));
    assert_int_equal(q_int(f, "SELECT count(*) FROM checkpoints"), 0);
    OK(store_reader_run(rd, run[0], &cfg, &data, &len, &attempt, f->err,
                        sizeof f->err));
    assert_int_equal(attempt, 1);   /* the suspension gave its start back */
    assert_null(data);
    assert_int_equal(len, 0);
    free(cfg);
    OK(store_reader_checkpoint(rd, run[0], &data, &len, &step, f->err,
                               sizeof f->err));
    assert_null(data);
    assert_int_equal(step, -1);
    assert_int_equal(store_checkpoint_put(f->s, run[0], &ck, f->err,
                                          sizeof f->err), -EINVAL);
    assert_int_equal(store_reader_run(rd, 999, &cfg, &data, &len, &attempt,
                                      f->err, sizeof f->err), -ENOENT);

    /* cancelling a suspended run deletes its checkpoint too */
    OK(store_run_start(f->s, run[1], f->err, sizeof f->err));
    OK(store_checkpoint_put(f->s, run[1], &ck, f->err, sizeof f->err));
    OK(store_run_requeue(f->s, run[1], f->err, sizeof f->err));
    long n;
    OK(store_job_cancel(f->s, 1, &n, f->err, sizeof f->err));
    assert_int_equal(n, 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM checkpoints"), 0);
    store_reader_close(rd);
}

/* --- recovery ----------------------------------------------------- */

static void recover_requeues_and_fails(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t r[3];
    add_job(f, 0, 2, NULL, 3, r);
    checkpoint ck = {.data = "state", .len = 5, .step = 3};
    OK(store_run_start(f->s, r[0], f->err, sizeof f->err));
    fx_reopen(f);   /* the daemon stopped with r0 running */
    long requeued = -1, failed = -1, canceled = -1;
    OK(store_recover(f->s, &requeued, &failed, &canceled, f->err, sizeof f->err));
    assert_int_equal(requeued, 1);
    assert_int_equal(failed, 0);
    assert_string_equal(q_text(f, "SELECT status || attempts FROM runs WHERE"
                                  " run_id = %lld", (long long)r[0]),
                        "queued1");

    OK(store_run_start(f->s, r[0], f->err, sizeof f->err));   /* attempt 2 */
    OK(store_checkpoint_put(f->s, r[0], &ck, f->err, sizeof f->err));
    OK(store_run_start(f->s, r[1], f->err, sizeof f->err));   /* attempt 1 */
    OK(store_checkpoint_put(f->s, r[1], &ck, f->err, sizeof f->err));
    /* r2 is suspended three times: that is no failure */
    for (int i = 0; i < 3; i++) {
        OK(store_run_start(f->s, r[2], f->err, sizeof f->err));
        OK(store_run_requeue(f->s, r[2], f->err, sizeof f->err));
    }
    fx_reopen(f);
    OK(store_recover(f->s, &requeued, &failed, &canceled, f->err, sizeof f->err));
    assert_int_equal(requeued, 1);
    assert_int_equal(failed, 1);
    assert_string_equal(q_text(f, "SELECT status FROM runs WHERE run_id = %lld",
                               (long long)r[0]), "failed");
    assert_string_equal(q_text(f, "SELECT error FROM runs WHERE run_id = %lld",
                               (long long)r[0]),
                        "daemon died 2 times while running this run");
    assert_string_equal(q_text(f, "SELECT status FROM runs WHERE run_id = %lld",
                               (long long)r[1]), "queued");
    assert_string_equal(q_text(f, "SELECT status || attempts FROM runs WHERE"
                                  " run_id = %lld", (long long)r[2]),
                        "queued0");
    /* both keep their checkpoints: the failed run's for a retry, which
     * resumes from it (store_job_resumable) */
    assert_int_equal(q_int(f, "SELECT count(*) FROM checkpoints WHERE run_id"
                              " = %lld", (long long)r[0]), 1);
    long resumable = 0;
    OK(store_job_resumable(f->s, q_int(f, "SELECT job_id FROM runs WHERE run_id"
                                          " = %lld", (long long)r[0]),
                           &resumable, f->err, sizeof f->err));
    assert_int_equal(resumable, 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM checkpoints WHERE run_id"
                              " = %lld", (long long)r[1]), 1);
    /* nothing left to recover */
    OK(store_recover(f->s, &requeued, &failed, &canceled, f->err, sizeof f->err));
    assert_int_equal(requeued + failed + canceled, 0);
}

/* A job canceled while its runs were still running (the daemon was
 * killed, or shut down before the runs stopped): recovery ends them
 * canceled, whether left running or suspended back to the queue, and
 * never runs them again (issue 9 §8). Another job's runs are requeued. */
static void recover_respects_cancels(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t r[3], other[1];
    int64_t job = add_job(f, 0, 3, NULL, 3, r);
    add_job(f, 0, 3, NULL, 1, other);
    checkpoint ck = {.data = "state", .len = 5, .step = 3};
    OK(store_run_start(f->s, r[0], f->err, sizeof f->err));
    OK(store_checkpoint_put(f->s, r[0], &ck, f->err, sizeof f->err));
    OK(store_run_start(f->s, r[1], f->err, sizeof f->err));
    OK(store_checkpoint_put(f->s, r[1], &ck, f->err, sizeof f->err));
    OK(store_run_start(f->s, other[0], f->err, sizeof f->err));
    long n = -1;
    OK(store_job_cancel(f->s, job, &n, f->err, sizeof f->err));
    assert_int_equal(n, 1);                       /* r2, queued */
    OK(store_run_requeue(f->s, r[1], f->err, sizeof f->err)); /* suspended */
    fx_reopen(f);   /* r0 left running, r1 queued with its checkpoint */
    long requeued = -1, failed = -1, canceled = -1;
    OK(store_recover(f->s, &requeued, &failed, &canceled, f->err,
                     sizeof f->err));
    assert_int_equal(canceled, 2);
    assert_int_equal(requeued, 1);
    assert_int_equal(failed, 0);
    assert_string_equal(q_text(f, "SELECT group_concat(status, ',') FROM"
                                  " (SELECT status FROM runs WHERE job_id ="
                                  " %lld ORDER BY run_id)", (long long)job),
                        "canceled,canceled,canceled");
    assert_int_equal(q_int(f, "SELECT count(*) FROM runs WHERE job_id = %lld"
                              " AND finished_at IS NULL", (long long)job), 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM checkpoints WHERE run_id"
                              " IN (%lld, %lld)", (long long)r[0],
                           (long long)r[1]), 0);
    assert_string_equal(q_text(f, "SELECT status FROM runs WHERE run_id ="
                                  " %lld", (long long)other[0]), "queued");
    /* the queue holds only the other job's run */
    assert_int_equal(q_int(f, "SELECT count(*) FROM runs WHERE status ="
                              " 'queued'"), 1);
    /* a retry takes the cancel back: the runs are queued again and a
     * later recovery leaves them so */
    OK(store_job_retry(f->s, job, &n, f->err, sizeof f->err));
    assert_int_equal(n, 3);
    fx_reopen(f);
    OK(store_recover(f->s, &requeued, &failed, &canceled, f->err,
                     sizeof f->err));
    assert_int_equal(canceled, 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM runs WHERE status ="
                              " 'queued'"), 4);
    assert_integrity_ok(f);
}

/* A child opens the store, starts a run, stores a result for another,
 * and is killed with SIGKILL: the parent finds every commit and puts the
 * interrupted run back in the queue. */
static void recover_after_kill_9(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t r[2];
    add_job(f, 0, 3, NULL, 2, r);
    store_close(f->s);
    f->s = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        store *s;
        char err[ERR_LEN];
        run_result res;
        result_fill(&res, 5.0);
        if (store_open(f->db, &s, err, sizeof err) != 0 ||
            store_run_start(s, r[0], err, sizeof err) != 0 ||
            store_run_start(s, r[1], err, sizeof err) != 0 ||
            store_run_finish(s, r[1], RUN_STATE_DONE, &res, NULL, err,
                             sizeof err) != 0)
            _exit(1);
        kill(getpid(), SIGKILL);
        _exit(2);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    fx_open(f);
    long requeued, failed, canceled;
    OK(store_recover(f->s, &requeued, &failed, &canceled, f->err, sizeof f->err));
    assert_int_equal(requeued, 1);
    assert_int_equal(failed, 0);
    assert_string_equal(q_text(f, "SELECT status FROM runs WHERE run_id = %lld",
                               (long long)r[1]), "done");
    assert_true(q_real(f, "SELECT cert FROM results WHERE run_id = %lld",
                       (long long)r[1]) == 5.0 + 0.125 * 21);
    assert_integrity_ok(f);
}

/* --- the queue ------------------------------------------------------ */

struct queue_seen {
    int64_t run[32];
    uint64_t bytes[32];
    int n;
    int stop_after;
};

static int queue_collect(void *ctx, int64_t job_id, int priority,
                         int64_t run_id, uint64_t mem_bytes)
{
    (void)job_id; (void)priority;
    struct queue_seen *q = ctx;
    q->bytes[q->n] = mem_bytes;
    q->run[q->n++] = run_id;
    return q->stop_after && q->n >= q->stop_after ? 42 : 0;
}

static void queue_order(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t j1[3], j2[2], j3[2], j4[2];
    add_job(f, 0, 3, NULL, 3, j1);
    add_job(f, 5, 3, NULL, 2, j2);
    add_job(f, 0, 3, NULL, 2, j3);
    add_job(f, 5, 3, NULL, 2, j4);
    OK(store_run_start(f->s, j2[0], f->err, sizeof f->err));   /* not queued */
    OK(store_run_finish(f->s, j1[1], RUN_CANCELED, NULL, NULL, f->err,
                        sizeof f->err));
    struct queue_seen q = {0};
    OK(store_queue_load(f->s, queue_collect, &q, f->err, sizeof f->err));
    const int64_t want[] = {j2[1], j4[0], j4[1], j1[0], j1[2], j3[0], j3[1]};
    assert_int_equal(q.n, 7);
    for (int i = 0; i < 7; i++)
        assert_int_equal(q.run[i], want[i]);
    struct queue_seen q2 = {.stop_after = 2};
    assert_int_equal(store_queue_load(f->s, queue_collect, &q2, f->err,
                                      sizeof f->err), 42);
    assert_int_equal(q2.n, 2);
    /* the statement was reset: a later load starts again */
    struct queue_seen q3 = {0};
    OK(store_queue_load(f->s, queue_collect, &q3, f->err, sizeof f->err));
    assert_int_equal(q3.n, 7);
}

/* Issue 9, memory admission: each run's estimate is stored with it and
 * comes back with the queue; a run stored before schema version 3 (NULL)
 * is estimated from its configuration. */
static void queue_estimates(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t r[3];
    add_job(f, 0, 3, NULL, 3, r);
    assert_int_equal(q_int(f, "SELECT mem_bytes FROM runs WHERE run_id = %lld",
                           (long long)r[2]), 1002);
    sqlite3 *db = raw_open(f->db, true);
    assert_int_equal(sqlite3_exec(db, "UPDATE runs SET mem_bytes = NULL WHERE idx = 1",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct queue_seen q = {0};
    OK(store_queue_load(f->s, queue_collect, &q, f->err, sizeof f->err));
    assert_int_equal(q.n, 3);
    assert_int_equal(q.bytes[0], 1000);
    assert_int_equal(q.bytes[2], 1002);
    run_config c;
    char err[ERR_LEN];
    OK(config_parse_str(CONFIG_JSON, &c, err, sizeof err) == 0 ? 0 : -1);
    assert_int_equal(q.bytes[1], engine_estimate_bytes(&c));
    assert_true(q.bytes[1] >= ENGINE_ESTIMATE_BASE_BYTES);
    config_free(&c);
}

/* --- listings -------------------------------------------------------- */

struct listed {
    int n;
    store_job_info job[4];
    int64_t run[8];
    char error[64];
};

static int list_job(void *ctx, const store_job_info *j)
{
    struct listed *l = ctx;
    l->job[l->n++] = *j;
    l->job[l->n - 1].name = NULL;   /* borrowed: not kept */
    return 0;
}

static int list_run(void *ctx, const store_run_info *r)
{
    struct listed *l = ctx;
    l->run[l->n++] = r->run_id;
    if (r->error)
        snprintf(l->error, sizeof l->error, "%s", r->error);
    return l->n == 8 ? 7 : 0;
}

static void job_and_run_listing(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t r[3];
    int64_t a = add_job(f, 1, 3, NULL, 3, r);
    int64_t b = add_job(f, 0, 4, NULL, 1, NULL);
    OK(store_run_start(f->s, r[1], f->err, sizeof f->err));
    OK(store_run_finish(f->s, r[1], RUN_FAILED, NULL, "bad", f->err,
                        sizeof f->err));
    struct listed l = {0};
    OK(store_job_list(f->s, 0, list_job, &l, f->err, sizeof f->err));
    assert_int_equal(l.n, 2);
    assert_int_equal(l.job[0].job_id, a);
    assert_int_equal(l.job[0].priority, 1);
    assert_int_equal(l.job[0].counts.total, 3);
    assert_int_equal(l.job[0].counts.by_state[RUN_FAILED], 1);
    assert_int_equal(l.job[0].counts.by_state[RUN_QUEUED], 2);
    assert_true(isnan(l.job[0].canceled_at));
    assert_false(isnan(l.job[0].created_at));
    assert_int_equal(l.job[1].job_id, b);
    assert_int_equal(l.job[1].max_attempts, 4);
    memset(&l, 0, sizeof l);
    OK(store_job_list(f->s, b, list_job, &l, f->err, sizeof f->err));
    assert_int_equal(l.n, 1);
    assert_int_equal(store_job_list(f->s, 99, list_job, &l, f->err,
                                    sizeof f->err), -ENOENT);

    memset(&l, 0, sizeof l);
    OK(store_run_list(f->s, a, 1, list_run, &l, f->err, sizeof f->err));
    assert_int_equal(l.n, 2);
    assert_int_equal(l.run[0], r[1]);
    assert_int_equal(l.run[1], r[2]);
    assert_string_equal(l.error, "bad");
    assert_int_equal(store_run_list(f->s, 99, 0, list_run, &l, f->err,
                                    sizeof f->err), -ENOENT);
}

/* --- readers beside the writer, and the WAL --------------------------- */

static void insert_curve_rows(struct fx *f, int64_t run, long first, int n)
{
    curve_point p[100];
    for (int done = 0; done < n; done += 100) {
        int k = n - done < 100 ? n - done : 100;
        for (int i = 0; i < k; i++)
            p[i] = (curve_point){.step = first + done + i, .lr = 0.1,
                                 .train_loss = 1.0 / (1 + i), .test_loss = 2,
                                 .grad_norm = 0.5, .online_loss = NAN};
        OK(store_curve_insert(f->s, run, p, k, f->err, sizeof f->err));
    }
}

static void reader_snapshot_while_writer_inserts(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    int64_t run;
    add_job(f, 0, 3, NULL, 1, &run);
    insert_curve_rows(f, run, 0, 10);
    /* A user's sqlite3 holding a read transaction open. */
    sqlite3 *rd = raw_open(f->db, false);
    assert_int_equal(sqlite3_exec(rd, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(db_int(rd, "SELECT count(*) FROM curves"), 10);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    insert_curve_rows(f, run, 10, 10000);
    double secs = elapsed_since(&t0);
    assert_true(secs < 4.0);   /* never waited on the reader's lock */
    OK(store_wal_checkpoint(f->s, f->err, sizeof f->err));
    assert_int_equal(db_int(rd, "SELECT count(*) FROM curves"), 10);
    assert_int_equal(sqlite3_exec(rd, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(db_int(rd, "SELECT count(*) FROM curves"), 10010);
    sqlite3_close(rd);
    assert_integrity_ok(f);
}

static void wal_checkpoint_with_and_without_reader(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    char wal[1100];
    snprintf(wal, sizeof wal, "%s-wal", f->db);
    int64_t run;
    add_job(f, 0, 3, NULL, 1, &run);

    /* without a reader: the WAL is emptied */
    insert_curve_rows(f, run, 0, 2000);
    assert_true(file_size(wal) > 0);
    OK(store_wal_checkpoint(f->s, f->err, sizeof f->err));
    assert_int_equal(file_size(wal), 0);

    /* a reader on an old snapshot: returns at once, the WAL stays */
    sqlite3 *rd = raw_open(f->db, false);
    insert_curve_rows(f, run, 2000, 100);
    assert_int_equal(sqlite3_exec(rd, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(db_int(rd, "SELECT count(*) FROM curves"), 2100);
    insert_curve_rows(f, run, 2100, 2000);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    OK(store_wal_checkpoint(f->s, f->err, sizeof f->err));
    assert_true(elapsed_since(&t0) < 1.0);
    assert_true(file_size(wal) > 0);
    assert_int_equal(db_int(rd, "SELECT count(*) FROM curves"), 2100);
    assert_int_equal(sqlite3_exec(rd, "COMMIT", NULL, NULL, NULL), SQLITE_OK);

    /* a reader on the newest snapshot: everything is copied, and the
     * truncation, which would wait for that reader, does not wait */
    assert_int_equal(sqlite3_exec(rd, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(db_int(rd, "SELECT count(*) FROM curves"), 4100);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    OK(store_wal_checkpoint(f->s, f->err, sizeof f->err));
    assert_true(elapsed_since(&t0) < 1.0);
    assert_int_equal(sqlite3_exec(rd, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(rd);

    /* the reader gone: the WAL is emptied again */
    OK(store_wal_checkpoint(f->s, f->err, sizeof f->err));
    assert_int_equal(file_size(wal), 0);
    OK(store_begin(f->s, f->err, sizeof f->err));
    assert_int_equal(store_wal_checkpoint(f->s, f->err, sizeof f->err),
                     -EINVAL);
    store_rollback(f->s);
    assert_integrity_ok(f);
}

/* --- fault injection ------------------------------------------------ */

static void fx_open_faults(struct fx *f)
{
    int rc = store_open_ex(f->db, STORE_OPEN_FAULTS, &f->s, f->err,
                           sizeof f->err);
    if (rc != 0)
        fail_msg("store_open_ex: %s", f->err);
}

static void fault_disk_full_on_commit(void **state)
{
    struct fx *f = *state;
    fx_open_faults(f);
    add_job(f, 0, 3, NULL, 2, NULL);   /* before the fault: kept */
    run_config cfg;
    config_defaults(&cfg);
    int64_t job, run;
    OK(store_begin(f->s, f->err, sizeof f->err));
    OK(store_job_insert(f->s, "full", 0, 3, "{}", 50, &job, f->err,
                        sizeof f->err));
    for (int i = 0; i < 50; i++)
        OK(store_run_insert(f->s, job, i, 0, &cfg, CONFIG_JSON, 0, &run, f->err,
                            sizeof f->err));
    assert_int_equal(store_fault_arm(0, SQLITE_FULL), 0);
    int rc = store_commit(f->s, f->err, sizeof f->err);
    assert_int_equal(rc, -ENOSPC);
    assert_err_has(f->err, "database or disk is full");
    assert_err_has(f->err, f->db);
    assert_true(store_fault_hits() > 0);
    /* rolled back: a new transaction can start, and the old rows are
     * gone */
    store_fault_disarm();
    assert_int_equal(q_int(f, "SELECT count(*) FROM jobs"), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM runs"), 2);
    add_job(f, 0, 3, NULL, 3, NULL);
    assert_int_equal(q_int(f, "SELECT count(*) FROM runs"), 5);
    assert_integrity_ok(f);
    fx_reopen(f);
    assert_integrity_ok(f);
}

static void fault_io_error_outside_transaction(void **state)
{
    struct fx *f = *state;
    fx_open_faults(f);
    int64_t run;
    add_job(f, 0, 3, NULL, 1, &run);
    curve_point p[10];
    for (int i = 0; i < 10; i++)
        p[i] = (curve_point){.step = i, .lr = 0.1, .train_loss = 1,
                             .test_loss = 1, .grad_norm = 1,
                             .online_loss = 1};
    assert_int_equal(store_fault_arm(0, SQLITE_IOERR), 0);
    assert_int_equal(store_curve_insert(f->s, run, p, 10, f->err,
                                        sizeof f->err), -EIO);
    assert_err_has(f->err, "I/O error");
    assert_int_equal(store_run_start(f->s, run, f->err, sizeof f->err), -EIO);
    store_fault_disarm();
    assert_int_equal(q_int(f, "SELECT count(*) FROM curves"), 0);
    assert_string_equal(q_text(f, "SELECT status FROM runs"), "queued");
    OK(store_curve_insert(f->s, run, p, 10, f->err, sizeof f->err));
    OK(store_run_start(f->s, run, f->err, sizeof f->err));
    assert_int_equal(q_int(f, "SELECT count(*) FROM curves"), 10);
    assert_integrity_ok(f);
}

/* A fault in the middle of a large transaction (the page cache spills
 * to the WAL before the commit): the failing call says so, later calls
 * in the transaction are refused, the commit is refused, nothing stays. */
static void fault_inside_a_transaction(void **state)
{
    struct fx *f = *state;
    fx_open_faults(f);
    run_config cfg;
    config_defaults(&cfg);
    char big[2048];
    memset(big, ' ', sizeof big - 3);
    big[0] = '[';
    big[sizeof big - 3] = ']';
    big[sizeof big - 2] = '\0';
    int64_t job, run;
    OK(store_begin(f->s, f->err, sizeof f->err));
    OK(store_job_insert(f->s, "big", 0, 3, "{}", 0, &job, f->err,
                        sizeof f->err));
    assert_int_equal(store_fault_arm(0, SQLITE_FULL), 0);
    int rc = 0, i;
    for (i = 0; i < 20000 && rc == 0; i++)
        rc = store_run_insert(f->s, job, i, 0, &cfg, big, 0, &run, f->err,
                              sizeof f->err);
    assert_int_equal(rc, -ENOSPC);
    assert_true(i < 20000);
    store_fault_disarm();
    rc = store_run_insert(f->s, job, 99999, 0, &cfg, CONFIG_JSON, 0, &run,
                          f->err, sizeof f->err);
    assert_true(rc < 0);
    assert_int_equal(store_commit(f->s, f->err, sizeof f->err), -EIO);
    assert_err_has(f->err, "not committed");
    assert_int_equal(q_int(f, "SELECT count(*) FROM jobs"), 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM runs"), 0);
    add_job(f, 0, 3, NULL, 2, NULL);
    assert_int_equal(q_int(f, "SELECT count(*) FROM runs"), 2);
    assert_integrity_ok(f);
}

static void fault_arm_counts_writes(void **state)
{
    struct fx *f = *state;
    fx_open_faults(f);
    assert_int_equal(store_fault_arm(-1, SQLITE_FULL), -EINVAL);
    assert_int_equal(store_fault_arm(0, SQLITE_CORRUPT), -EINVAL);
    /* far enough: nothing fails */
    assert_int_equal(store_fault_arm(1000000, SQLITE_FULL), 0);
    add_job(f, 0, 3, NULL, 5, NULL);
    assert_int_equal(store_fault_hits(), 0);
    /* Find how many writes one job costs, then let exactly that many
     * through: the first job is stored, the second is not. */
    long w;
    for (w = 0; w < 1000; w++) {
        assert_int_equal(store_fault_arm(w, SQLITE_FULL), 0);
        int64_t job;
        int rc = store_job_insert(f->s, "probe", 0, 3, "{}", 0, &job, f->err,
                                  sizeof f->err);
        if (rc == 0)
            break;
        assert_int_equal(rc, -ENOSPC);
    }
    assert_true(w > 0 && w < 1000);
    store_fault_disarm();
    long before = (long)q_int(f, "SELECT count(*) FROM jobs");
    assert_int_equal(store_fault_arm(w, SQLITE_FULL), 0);
    int64_t job;
    OK(store_job_insert(f->s, "first", 0, 3, "{}", 0, &job, f->err,
                        sizeof f->err));
    assert_int_equal(store_job_insert(f->s, "second", 0, 3, "{}", 0, &job,
                                      f->err, sizeof f->err), -ENOSPC);
    store_fault_disarm();
    assert_int_equal(q_int(f, "SELECT count(*) FROM jobs"), before + 1);
    assert_integrity_ok(f);
}

static void fault_from_the_environment(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    store_close(f->s);
    f->s = NULL;

    setenv("RESWEEP_FAULT_WRITES", "zero", 1);
    assert_int_equal(store_open(f->db, &f->s, f->err, sizeof f->err), -EINVAL);
    assert_err_has(f->err, "RESWEEP_FAULT_WRITES");
    setenv("RESWEEP_FAULT_WRITES", "0", 1);
    setenv("RESWEEP_FAULT_ERROR", "melted", 1);
    assert_int_equal(store_open(f->db, &f->s, f->err, sizeof f->err), -EINVAL);
    assert_err_has(f->err, "RESWEEP_FAULT_ERROR");

    /* the open itself succeeds; the first write fails */
    setenv("RESWEEP_FAULT_ERROR", "ioerr", 1);
    fx_open(f);
    int64_t job;
    assert_int_equal(store_job_insert(f->s, "x", 0, 3, "{}", 0, &job, f->err,
                                      sizeof f->err), -EIO);
    store_close(f->s);
    f->s = NULL;

    /* RESWEEP_FAULT_COUNT: the fault clears after one failed call */
    unsetenv("RESWEEP_FAULT_ERROR");
    setenv("RESWEEP_FAULT_COUNT", "1", 1);
    fx_open(f);
    assert_int_equal(store_job_insert(f->s, "x", 0, 3, "{}", 0, &job, f->err,
                                      sizeof f->err), -ENOSPC);
    assert_int_equal(store_fault_hits(), 1);
    OK(store_job_insert(f->s, "y", 0, 3, "{}", 0, &job, f->err,
                        sizeof f->err));
    assert_string_equal(q_text(f, "SELECT group_concat(name) FROM jobs"), "y");
    assert_integrity_ok(f);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(open_creates_file_and_directory),
        T(open_creates_database_0600),
        T(open_refuses_bad_paths),
        T(open_refuses_another_programs_database),
        T(migration_idempotent_on_reopen),
        T(concurrent_first_open),
        T(newer_schema_refused),
        T(slice_round_trip),
        T(seed_pairs_views),
        T(seed_pairs_pending_and_stored),
        T(missing_migration_applied_below_a_recorded_one),
        T(unknown_migration_refused),
        T(slurm_record),
        T(version_1_database_migrates),
        T(results_columns_follow_the_list),
        T(sync_setting),
        T(job_and_runs_in_one_transaction),
        T(run_columns_match_config),
        T(data_path_resolved),
        T(swept_values_typed),
        T(run_state_transitions),
        T(state_names_round_trip),
        T(nan_stored_as_null),
        T(result_round_trip),
        T(profiles_round_trip),
        T(arrays_stored_with_the_result),
        T(version_2_database_migrates),
        T(precision_column),
        T(version_12_database_migrates),
        T(views_on_a_hand_made_set),
        T(curve_replace_on_same_step),
        T(checkpoint_put_get_and_deleted_at_finish),
        T(recover_requeues_and_fails),
        T(recover_respects_cancels),
        T(pause_and_resume),
        T(recover_after_kill_9),
        T(queue_order),
        T(queue_estimates),
        T(job_and_run_listing),
        T(reader_snapshot_while_writer_inserts),
        T(wal_checkpoint_with_and_without_reader),
        T(fault_disk_full_on_commit),
        T(fault_io_error_outside_transaction),
        T(fault_inside_a_transaction),
        T(fault_arm_counts_writes),
        T(fault_from_the_environment),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
