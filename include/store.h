/* store.h — resweep's SQLite database (DESIGN §8, schema/*.sql).
 *
 * Two kinds of connection:
 *  - store: THE writer. One per daemon, used by one thread (the store
 *    thread); it applies the schema migrations at open, runs in WAL mode
 *    so readers never block it, and groups writes into transactions the
 *    caller opens with store_begin()/store_commit().
 *  - store_reader: a read-only connection, one per thread that reads (each
 *    worker fetches its run's configuration and checkpoint through one).
 *
 * Run states: queued -> running -> done | failed | diverged | canceled.
 * Every function returns 0 or a negative code with a sentence in err; an
 * SQLite failure (disk full, I/O error) is -EIO and the sentence carries
 * SQLite's message. Nothing here exits or aborts.
 */
#ifndef RESWEEP_STORE_H
#define RESWEEP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"

#define STORE_SCHEMA_VERSION 1

enum run_state {
    RUN_QUEUED, RUN_RUNNING, RUN_STATE_DONE, RUN_FAILED, RUN_STATE_DIVERGED,
    RUN_CANCELED, RUN_STATES
};
const char *store_state_name(enum run_state s);   /* "queued", ... */

typedef struct job_counts {
    long total;
    long by_state[RUN_STATES];
} job_counts;

typedef struct store store;
typedef struct store_reader store_reader;

/* Opens (creating the file and its directory if needed) and migrates the
 * database at path. */
int store_open(const char *path, store **out, char *err, size_t errlen);
void store_close(store *s);

int store_begin(store *s, char *err, size_t errlen);
int store_commit(store *s, char *err, size_t errlen);
void store_rollback(store *s);

/* A new job row; *job_id receives its id. */
int store_job_insert(store *s, const char *name, int priority,
                     int max_attempts, const char *spec_json, long n_runs,
                     int64_t *job_id, char *err, size_t errlen);

/* A queued run of job_id: the configuration's columns (arch, blocks,
 * unit_depth, width, ...) and its canonical JSON. */
int store_run_insert(store *s, int64_t job_id, long index, int priority,
                     const run_config *cfg, const char *config_json,
                     int64_t *run_id, char *err, size_t errlen);

/* queued -> running; attempts += 1; started_at = now. */
int store_run_start(store *s, int64_t run_id, char *err, size_t errlen);

/* running -> done/diverged with its result row, or -> failed/canceled with
 * error (may be NULL). Deletes the run's checkpoint. */
int store_run_finish(store *s, int64_t run_id, enum run_state state,
                     const run_result *res, const char *error, char *err,
                     size_t errlen);

/* running -> queued, keeping its checkpoint (a suspended run at shutdown). */
int store_run_requeue(store *s, int64_t run_id, char *err, size_t errlen);

/* Curve points of a run; a point already stored for the same step is
 * replaced (a resumed run re-measures steps after its checkpoint). */
int store_curve_insert(store *s, int64_t run_id, const curve_point *pts,
                       int n, char *err, size_t errlen);

/* Replaces the run's checkpoint. */
int store_checkpoint_put(store *s, int64_t run_id, const checkpoint *ck,
                         char *err, size_t errlen);

/* queued runs of the job -> canceled; *n receives how many. */
int store_job_cancel(store *s, int64_t job_id, long *n, char *err,
                     size_t errlen);
/* failed (and canceled) runs of the job -> queued, attempts reset. */
int store_job_retry(store *s, int64_t job_id, long *n, char *err,
                    size_t errlen);

/* Start-up recovery: every run left running goes back to queued, or to
 * failed ("daemon died N times while running it") once it has used its
 * job's max_attempts. */
int store_recover(store *s, long *requeued, long *failed, char *err,
                  size_t errlen);

/* Calls fn for every queued run, in scheduling order (priority desc, job
 * asc, run asc). A non-zero return from fn stops and is passed through. */
typedef int (*store_queue_fn)(void *ctx, int64_t job_id, int priority,
                              int64_t run_id);
int store_queue_load(store *s, store_queue_fn fn, void *ctx, char *err,
                     size_t errlen);

int store_job_counts(store *s, int64_t job_id, job_counts *out, char *err,
                     size_t errlen);

/* Moves the WAL's content into the database when no reader pins it, so the
 * WAL does not grow without bound; harmless when readers are active. */
int store_wal_checkpoint(store *s, char *err, size_t errlen);

/* Read-only connection. */
int store_reader_open(const char *path, store_reader **out, char *err,
                      size_t errlen);
void store_reader_close(store_reader *r);

/* The run's canonical configuration JSON (malloc'd, caller frees) and its
 * checkpoint if it has one (*ck_data malloc'd or NULL). */
int store_reader_run(store_reader *r, int64_t run_id, char **config_json,
                     void **ck_data, size_t *ck_len, char *err,
                     size_t errlen);

/* --- Added for the daemon (issue 3, service engineer); to be implemented in
 * store.c. The daemon restores its in-memory job table at start from
 * store_job_list, and serves the `runs` operation from its loop thread's
 * reader with store_reader_job_runs. --- */

typedef struct job_info {
    int64_t job_id;
    const char *name;        /* borrowed for the call; "" when unnamed */
    int priority;
    int max_attempts;
    long n_runs;
    int64_t created_at;      /* unix seconds */
    job_counts counts;       /* runs by state */
} job_info;
typedef int (*store_job_fn)(void *ctx, const job_info *job);

/* Calls fn for every job in id order. A non-zero return from fn stops and
 * is passed through. */
int store_job_list(store *s, store_job_fn fn, void *ctx, char *err,
                   size_t errlen);

typedef struct run_info {
    int64_t run_id;
    long index;              /* index of the run in its job's expansion */
    enum run_state state;
    int attempts;
    const char *error;       /* borrowed for the call; NULL when none */
} run_info;
typedef int (*store_run_fn)(void *ctx, const run_info *run);

/* Calls fn for at most limit runs of job_id with run id > after_run_id, in
 * run id order. A non-zero return from fn stops and is passed through. */
int store_reader_job_runs(store_reader *r, int64_t job_id,
                          int64_t after_run_id, int limit, store_run_fn fn,
                          void *ctx, char *err, size_t errlen);

#endif
