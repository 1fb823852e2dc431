/* internal.h — what the files of src/store/ share: a connection with its
 * cache of prepared statements, the error mapping, the result columns,
 * and the fault-injection VFS. Not part of the store's API.
 */
#ifndef RESWEEP_STORE_INTERNAL_H
#define RESWEEP_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>

#include "consts.h"
#include "store.h"

/* Every statement the store runs, prepared once per connection on first
 * use (SQLITE_PREPARE_PERSISTENT) and reset after each use: the hot paths
 * (run insert, start, finish, curve insert) never re-parse SQL. */
enum stmt_id {
    ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_JOB_INSERT, ST_JOB_EXISTS, ST_JOB_COUNTS, ST_JOB_LIST,
    ST_JOB_PARTIAL, ST_JOB_COMPLETE, ST_JOB_DISCARD_RUNS, ST_JOB_DISCARD,
    ST_RECOVER_PARTIAL_RUNS, ST_RECOVER_PARTIAL,
    ST_RUN_INSERT, ST_JOB_PARAM_INSERT, ST_RUN_PARAM_INSERT, ST_RUN_START, ST_RUN_FINISH, ST_RUN_REQUEUE, ST_RUN_LOST,
    ST_RUN_STATUS, ST_RUN_LIST, ST_RUN_CONFIG,
    ST_RESULT_INSERT, ST_RESULT_SELECT,
    ST_CURVE_INSERT,
    ST_SPECTRUM_INSERT, ST_PATH_INSERT, ST_SPECTRUM_SELECT, ST_PATH_SELECT,
    ST_ARRAY_INSERT, ST_ARRAYS_SELECT,
    ST_PAIR_CANDIDATES, ST_PAIR_INSERT, ST_PAIR_CURVE_INSERT,
    ST_SLICE_INSERT, ST_SLICE_SELECT,
    ST_CKPT_PUT, ST_CKPT_GET, ST_CKPT_DELETE,
    ST_CANCEL_RUNS, ST_CANCEL_CKPTS, ST_CANCEL_JOB,
    ST_RETRY_RESULTS, ST_RETRY_CURVES, ST_RETRY_SPECTRA, ST_RETRY_PATHS,
    ST_RETRY_SLICES,
    ST_RETRY_RUNS, ST_RETRY_JOB, ST_RETRY_RESUMABLE,
    ST_DELETE_RUNS, ST_DELETE_JOB,
    ST_PAUSE_JOB, ST_RESUME_JOB, ST_PAUSE_STATE, ST_PAUSE_HELD,
    ST_JOB_GROW,
    ST_RECOVER_CANCEL, ST_RECOVER_FAIL, ST_RECOVER_CKPTS, ST_RECOVER_REQUEUE,
    ST_QUEUE,
    ST_SLURM_INSERT,
    ST_COUNT
};

struct conn {
    sqlite3 *db;
    char *path;                    /* owned; for error sentences */
    sqlite3_stmt *st[ST_COUNT];    /* owned; NULL until first use */
};

struct store {
    struct conn c;
    bool in_tx;        /* store_begin is open */
    bool tx_failed;    /* a write inside it failed: commit is refused */
    int busy_ms;       /* the busy timeout, restored after a checkpoint */
    bool ident;        /* dev/ino of the file at open, for store_begin */
    dev_t dev;
    ino_t ino;
};

struct store_reader {
    struct conn c;
};

/* Internal names carry the store__ prefix (libuv's uv__): they are
 * exported only because the store is several files.
 *
 * The files, each using only those above it:
 *   conn.c     a connection: open, close, errors as sentences, NULL <-> NaN
 *   columns.c  the results table's columns (engine.h RUN_RESULT_COLUMNS)
 *   stmt.c     every statement's SQL and the per-connection cache
 *   profiles.c a result's spectrum, path and slice as rows of spectra,
 *              paths, slices
 *   arrays.c   a run's kept arrays (u*, parameters) as rows of run_arrays
 *   pairs.c    seed pairs: the pairs without a row, a pair's row and profile
 *   fault.c    the fault-injection VFS
 *   open.c     opening the writer: the directory lock, WAL, migrations
 *   query.c    reads: results, listings, the reader connections
 *   store.c    writes: transactions and the run state machine
 *   slurm.c    writes: the Slurm job arrays started for a job
 *   pause.c    writes: pausing and resuming a job
 *   grow.c     writes: a job extended with more runs
 */

/* --- conn.c --- */

/* Opens path with flags through vfs (NULL: the default one). On failure
 * the connection is closed again and the sentence names path. */
int store__conn_open(struct conn *c, const char *path, int flags,
                     const char *vfs, char *err, size_t errlen);
void store__conn_close(struct conn *c);

/* Steps a statement that returns no row (or whose rows are ignored) to
 * the end and resets it. The format gives the action for the sentence;
 * it is formatted only on failure (the hot paths call this per row). */
int store__step_done(struct conn *c, sqlite3_stmt *st, char *err,
                     size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* SQLite's result code rc -> -ENOSPC, -EINVAL (constraint), -EFBIG
 * (too big) or -EIO. */
int store__code(int rc);

/* "database PATH: <what>: <SQLite's message>" with store__code(rc). */
int store__fail(struct conn *c, int rc, char *err, size_t errlen,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* NaN -> NULL; negative count -> NULL; and back. */
int store__bind_real(sqlite3_stmt *st, int i, double v);
int store__bind_count(sqlite3_stmt *st, int i, long v);
double store__column_real(sqlite3_stmt *st, int i);
long store__column_count(sqlite3_stmt *st, int i);
double store__now(void);

/* --- columns.c --- */

/* The SQL of ST_RESULT_INSERT and ST_RESULT_SELECT, built from the
 * column list; malloc'd, NULL when out of memory. */
char *store__result_sql(enum stmt_id id);
/* Binds res to ST_RESULT_INSERT's parameters 2.. (1 is the run id). */
void store__result_bind(sqlite3_stmt *st, const run_result *res);
/* "Not measured" in every field: NAN, -1, false. */
void store__result_clear(run_result *r);
/* The result columns of a row of ST_RESULT_SELECT, from column first. */
void store__result_columns(sqlite3_stmt *st, int first, run_result *r);
/* The list's length and its i-th column name (NULL past the end). */
size_t store__result_ncols(void);
const char *store__result_col(size_t i);

/* --- stmt.c --- */

/* The cached statement id, reset and ready for binding. */
int store__stmt(struct conn *c, enum stmt_id id, sqlite3_stmt **out,
                char *err, size_t errlen);
/* store__stmt and store__step_done of a statement without parameters. */
int store__exec(struct conn *c, enum stmt_id id, char *err, size_t errlen,
                const char *what);

/* --- store.c --- */

/* Every write runs between these: a savepoint, so that the call is
 * atomic on its own and undone alone inside the caller's transaction.
 * store__op_end takes the write's rc and returns the call's. */
int store__op_begin(store *s, char *err, size_t errlen);
int store__op_end(store *s, int rc, char *err, size_t errlen);

/* --- profiles.c --- */

/* The rows of res->spectrum, res->path and res->slice for run_id (none
 * when they are empty). A run finishes once, and a retry deletes its rows first. */
int store__profiles_insert(struct conn *c, int64_t run_id,
                           const run_result *res, char *err, size_t errlen);
/* Reads them back into out->spectrum, out->path and out->slice (empty
 * when the run has no rows). -EIO when the rows are not what the writer stores (bins
 * or points missing, too many): someone edited the file. */
int store__profiles_read(struct conn *c, int64_t run_id, run_result *out,
                         char *err, size_t errlen);

/* --- arrays.c --- */

/* A row of run_arrays per array of as (none when as is NULL): -EINVAL
 * for an array without a name, dimensions or data, -EFBIG past a BLOB's
 * size. A run finishes once, so there are no rows to replace. */
int store__arrays_insert(struct conn *c, int64_t run_id,
                         const run_arrays *as, char *err, size_t errlen);

/* --- check.c --- */
#define STORE_CHECK_BUDGET_MS 2000   /* start-up quick_check, at most */
/* PRAGMA quick_check within budget_ms: 0 (clean, or not finished in
 * time: logged), or -EIO with the problems in the sentence. */
int store__quick_check(struct conn *c, int budget_ms, char *err,
                       size_t errlen);

/* --- fault.c --- */

/* The fault-injection VFS: registers it once and gives its name for
 * sqlite3_open_v2. */
int store__fault_vfs(const char **name, char *err, size_t errlen);

/* What RESWEEP_FAULT_WRITES / _ERROR / _COUNT ask for. */
struct fault_env {
    bool set;          /* RESWEEP_FAULT_WRITES is set */
    long after;        /* writes that succeed */
    int code;          /* SQLITE_FULL or SQLITE_IOERR */
    long count;        /* failures before it clears; < 0: never */
};
int store__fault_env_read(struct fault_env *fe, char *err, size_t errlen);
void store__fault_env_arm(const struct fault_env *fe);

/* --- query.c --- */

/* Reads the result of run_id through c (store_result_get and
 * store_reader_result). */
int store__result_read(struct conn *c, int64_t run_id,
                       enum run_state *state, run_result *out,
                       bool *has_result, char *err, size_t errlen);

/* From scripts/embed-schema.sh (build/gen/schema_sql.c). */
struct schema_migration {
    int version;
    const char *name;
    const char *sql;
};
extern const struct schema_migration schema_migrations[];
extern const size_t schema_migration_count;

#endif
