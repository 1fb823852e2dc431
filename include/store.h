/* store.h — resweep's SQLite database (docs/theory.md §8; the SQL lives in schema/).
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
 * SQLite failure (disk full, I/O error) is -EIO or -ENOSPC and the
 * sentence carries SQLite's message and what was being done. Nothing here
 * exits or aborts. The codes:
 *   -ENOSPC  SQLite said the disk is full (SQLITE_FULL);
 *   -EIO     any other SQLite failure (I/O error, locked, corrupt...);
 *   -EINVAL  a bad argument, a constraint the schema refused (a run of a
 *            job that does not exist), or a transition the run's state
 *            does not allow (the sentence names the state);
 *   -EFBIG   a value larger than SQLite stores (a checkpoint > 1 GB);
 *   -ENOENT  no such job or run;
 *   -EPROTO  the database's schema is newer than this binary.
 * A failed write leaves the database as it was before the call: each call
 * is atomic (a savepoint), and a transaction in which a write failed with
 * -EIO/-ENOSPC can only be rolled back (store_commit refuses it).
 *
 * Durability (see docs/store.md): WAL with synchronous=NORMAL. A commit
 * survives the process dying at any moment (kill -9, a crash): SQLite
 * recovers the WAL at the next open. Power loss or an OS crash may lose
 * the last transactions before the WAL was synced (never corrupting the
 * database); store_set_sync_full() trades commit speed for surviving that
 * too.
 */
#ifndef RESWEEP_STORE_H
#define RESWEEP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"
#include "run_state.h"

#define STORE_SCHEMA_VERSION 13

/* Page cache per connection, in KiB (strings: they go into PRAGMAs). */
#define STORE_WRITER_CACHE_KIB "4096"
#define STORE_READER_CACHE_KIB "256"

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

/* store_open with flags. STORE_OPEN_FAULTS opens through the
 * fault-injection VFS (store_fault_arm, for tests). store_open and
 * store_open_ex both honour, for tests driving the daemon from outside:
 *   RESWEEP_FAULT_WRITES=N  open through the fault VFS and, once open,
 *                           let N writes/syncs succeed and fail the rest;
 *   RESWEEP_FAULT_ERROR=full|ioerr   the error (default full: disk full);
 *   RESWEEP_FAULT_COUNT=K   the fault clears after K failed calls
 *                           (default: never).
 * Parent directories that do not exist are created with mode 0700, a
 * database that does not exist with mode 0600 (its -wal and -shm take
 * the same; an existing file keeps its mode). A
 * file that is an SQLite database of another program (tables but no
 * schema_version) is refused, not modified. */
#define STORE_OPEN_FAULTS 0x1u
int store_open_ex(const char *path, unsigned flags, store **out, char *err,
                  size_t errlen);

/* synchronous=FULL (true) or NORMAL (false, the default). FULL syncs the
 * WAL at every commit, so a commit survives power loss too, at the cost
 * of an fsync per commit. Not inside a transaction (-EINVAL). */
int store_set_sync_full(store *s, bool full, char *err, size_t errlen);
int store_get_sync_full(store *s, bool *full, char *err, size_t errlen);

/* One transaction at a time (-EINVAL when one is open). store_begin
 * takes the write lock at once (BEGIN IMMEDIATE). store_commit rolls
 * back and fails when the commit fails, or when a write inside the
 * transaction failed with -EIO/-ENOSPC; either way the transaction is
 * over when it returns. store_rollback is harmless without one. */
int store_begin(store *s, char *err, size_t errlen);
int store_commit(store *s, char *err, size_t errlen);
void store_rollback(store *s);

/* A new job row; *job_id receives its id. */
int store_job_insert(store *s, const char *name, int priority,
                     int max_attempts, const char *spec_json, long n_runs,
                     int64_t *job_id, char *err, size_t errlen);

/* A job stored in several transactions (a large submission) is partial
 * from store_job_partial to store_job_complete: never acknowledged, it is
 * deleted with its runs by store_job_discard, or at the next
 * store_recover when the daemon died meanwhile. */
int store_job_partial(store *s, int64_t job_id, char *err, size_t errlen);
int store_job_complete(store *s, int64_t job_id, char *err, size_t errlen);
int store_job_discard(store *s, int64_t job_id, char *err, size_t errlen);

/* A queued run of job_id: the configuration's columns (arch, blocks,
 * unit_depth, width, ...), its canonical JSON, and mem_bytes, its memory
 * estimate (engine_estimate_bytes; runs.mem_bytes). A CSV file's path
 * goes to runs.data_path as this process resolves it: a relative one
 * joined to the working directory. */
int store_run_insert(store *s, int64_t job_id, long index, int priority,
                     const run_config *cfg, const char *config_json,
                     uint64_t mem_bytes, int64_t *run_id, char *err,
                     size_t errlen);

/* The keys job_id sweeps (job_params, schema/008_audit.sql), n of them
 * in its spec's order; sweeps[i] is where key i is swept: "grid", "zip",
 * "random" or "seeds". Strings are borrowed. */
int store_job_params_insert(store *s, int64_t job_id, int n,
                            const char *const *keys,
                            const char *const *sweeps, char *err,
                            size_t errlen);

/* Run run_id's values of those keys (run_params), vals[i] for keys[i],
 * in one savepoint. Borrowed. */
int store_run_params_insert(store *s, int64_t run_id, int n,
                            const char *const *keys,
                            const config_value *vals, char *err,
                            size_t errlen);

/* queued -> running; attempts += 1; started_at = now. -EINVAL when the
 * run is not queued (the sentence names its state), -ENOENT when it does
 * not exist. */
int store_run_start(store *s, int64_t run_id, char *err, size_t errlen);

/* running -> done/diverged with its result row, or -> failed/canceled with
 * error (may be NULL). Deletes the run's checkpoint.
 * res is required for done/diverged and optional for failed/canceled
 * (stored when given); NaN fields are stored as NULL, negative counts
 * (diverged_step -1...) as NULL. failed/canceled are also accepted from
 * queued (a run that never started). A run already finished is -EINVAL,
 * so no result is stored twice. */
int store_run_finish(store *s, int64_t run_id, enum run_state state,
                     const run_result *res, const char *error, char *err,
                     size_t errlen);

/* store_run_finish with the run's arrays (engine.h, run_arrays; NULL:
 * none), one row of run_arrays each, in the same savepoint as its
 * result: both are stored or neither. Only for done/diverged (-EINVAL
 * otherwise); an array without a name, dimensions or data is -EINVAL,
 * one past a BLOB's size -EFBIG. */
int store_run_finish_arrays(store *s, int64_t run_id, enum run_state state,
                            const run_result *res, const run_arrays *arrays,
                            const char *error, char *err, size_t errlen);

/* running -> queued, keeping its checkpoint (a suspended run at shutdown).
 * The attempt is given back (attempts -= 1): a clean suspension is not a
 * failure, so max_attempts counts only the starts that ended in a crash. */
int store_run_requeue(store *s, int64_t run_id, char *err, size_t errlen);

/* running -> queued (its checkpoint kept), or -> failed with why when it
 * has had its job's max_attempts: the worker executing it was lost (a
 * lease that expired, a worker process that died). Unlike a suspension
 * the attempt counts. *failed tells which. */
int store_run_lost(store *s, int64_t run_id, const char *why, bool *failed,
                   char *err, size_t errlen);

/* Curve points of a run; a point already stored for the same step is
 * replaced (a resumed run re-measures steps after its checkpoint). */
int store_curve_insert(store *s, int64_t run_id, const curve_point *pts,
                       int n, char *err, size_t errlen);

/* Replaces the run's checkpoint; ck->data is copied. Only for a running
 * run (-EINVAL otherwise), so no checkpoint outlives its run. */
int store_checkpoint_put(store *s, int64_t run_id, const checkpoint *ck,
                         char *err, size_t errlen);

/* queued runs of the job -> canceled; *n receives how many. Sets the
 * job's canceled_at; running runs are the caller's to stop (they end with
 * store_run_finish(RUN_CANCELED)). -ENOENT for an unknown job. */
int store_job_cancel(store *s, int64_t job_id, long *n, char *err,
                     size_t errlen);
/* failed (and canceled) runs of the job -> queued, attempts reset.
 * Their error, started_at and finished_at are cleared and their results
 * and curve rows deleted (they start again from scratch); so is the job's
 * canceled_at. -ENOENT for an unknown job. */
int store_job_retry(store *s, int64_t job_id, long *n, char *err,
                    size_t errlen);
/* How many of the job's failed runs kept a checkpoint: a retry resumes
 * those from it (their curves up to its step stay), the rest start from
 * scratch. A run fails keeping its last checkpoint; a canceled run keeps
 * none. */
int store_job_resumable(store *s, int64_t job_id, long *n, char *err,
                        size_t errlen);
/* Deletes a job whose runs have all ended, or a paused one with none
 * running (its held runs go with it), with everything of it (runs,
 * curves, results, spectra, paths, slices, arrays, seed pairs,
 * checkpoints, Slurm records); *n: the runs deleted.
 * -EBUSY with a sentence while a run is running, or queued and the job
 * not paused. */
int store_job_delete(store *s, int64_t job_id, long *n, char *err,
                     size_t errlen);

/* Pause (pause true): sets the job's paused_at (schema/007_pause.sql);
 * *n receives its queued runs, which are now held. -ENOENT for an unknown
 * job; -EINVAL with a sentence for a job that is already paused, was
 * canceled, or has no queued or running run left. Resume (pause false)
 * clears paused_at; *n: the held runs; -EINVAL when it is not paused.
 * Running runs are the caller's to suspend (store_run_requeue). */
int store_job_pause(store *s, int64_t job_id, bool pause, long *n,
                    char *err, size_t errlen);

/* The job gained added runs (store_run_insert'ed by the caller in the
 * same transaction, indexes after its last): n_runs grows, and a cancel
 * of the job no longer stands (canceled_at cleared; its canceled runs
 * stay canceled). -ENOENT for an unknown job. */
int store_job_grow(store *s, int64_t job_id, long added, char *err,
                   size_t errlen);

/* Records that Slurm job array slurm_job_id (tasks tasks, submitted with
 * script) was started for job_id (`resweep slurm`; schema/005_slurm.sql).
 * The same pair recorded again changes nothing. -EINVAL for an id or a
 * count below 1, or a job the database does not have. */
int store_slurm_record(store *s, int64_t job_id, int64_t slurm_job_id,
                       long tasks, const char *script, char *err,
                       size_t errlen);

/* Start-up recovery: every run of a canceled job (canceled_at set) left
 * running or queued ends canceled (*canceled: how many): the cancel was
 * committed, the run's end not, and a retry would have cleared
 * canceled_at. Every other run left running goes back to queued, or to
 * failed ("daemon died N times while running this run") once it has used
 * its job's max_attempts. attempts is not incremented here:
 * store_run_start counted the start. A failed or canceled run's
 * checkpoint is deleted, a requeued run's kept (it resumes from there). */
int store_recover(store *s, long *requeued, long *failed, long *canceled,
                  char *err, size_t errlen);

/* Calls fn for every queued run, in scheduling order (priority desc, job
 * asc, run asc), with its memory estimate (runs.mem_bytes; for a run
 * stored before schema version 3, estimated here from its configuration).
 * A non-zero return from fn stops and is passed through. fn may call
 * other store functions, but not store_queue_load. */
typedef int (*store_queue_fn)(void *ctx, int64_t job_id, int priority,
                              int64_t run_id, uint64_t mem_bytes);
int store_queue_load(store *s, store_queue_fn fn, void *ctx, char *err,
                     size_t errlen);

/* -ENOENT for an unknown job. */
int store_job_counts(store *s, int64_t job_id, job_counts *out, char *err,
                     size_t errlen);

/* Moves the WAL's content into the database when no reader pins it, so the
 * WAL does not grow without bound; harmless when readers are active.
 * A PASSIVE checkpoint, then, if it copied every frame, a TRUNCATE that
 * does not wait: a reader holding a read transaction only makes it return
 * 0 early. Not inside a transaction (-EINVAL). Call it every few seconds
 * or few hundred commits from the store thread. */
int store_wal_checkpoint(store *s, char *err, size_t errlen);

/* --- Listing (the daemon's status and runs operations) ----------------
 * Strings in the structs below are borrowed: valid during the callback
 * only. Timestamps are Unix seconds, NAN when not set. A non-zero return
 * from fn stops the listing and is passed through; fn must not call the
 * same listing function again. */
typedef struct store_job_info {
    int64_t job_id;
    const char *name;          /* NULL if the job has none */
    int priority, max_attempts;
    long n_runs;
    double created_at, canceled_at;
    double paused_at;          /* NAN unless paused */
    job_counts counts;
} store_job_info;
typedef int (*store_job_fn)(void *ctx, const store_job_info *job);

/* One job (job_id > 0; -ENOENT when unknown) or every job (job_id 0), in
 * job id order. */
int store_job_list(store *s, int64_t job_id, store_job_fn fn, void *ctx,
                   char *err, size_t errlen);

typedef struct store_run_info {
    int64_t run_id, job_id;
    long index;                /* within the job */
    enum run_state state;
    int attempts, priority;
    double started_at, finished_at;
    const char *error;         /* NULL if none */
    const char *config_json;
    double train_loss, lin_loss, gap;   /* NAN until measured */
} store_run_info;
typedef int (*store_run_fn)(void *ctx, const store_run_info *run);

/* The runs of job_id with index >= from_index, in index order (a caller
 * pages through a large job by stopping and resuming). -ENOENT for an
 * unknown job. */
int store_run_list(store *s, int64_t job_id, long from_index,
                   store_run_fn fn, void *ctx, char *err, size_t errlen);

/* A run's state and stored result. *has_result is false when the run has
 * no result row; out then holds the "not measured" values (NAN, -1,
 * false). out->status is RUN_DIVERGED for a diverged run, else RUN_DONE.
 * -ENOENT when the run does not exist. */
int store_result_get(store *s, int64_t run_id, enum run_state *state,
                     run_result *out, bool *has_result, char *err,
                     size_t errlen);

/* Read-only connection (SQLITE_OPEN_READONLY, with the writer's busy
 * timeout), one per thread that reads. It never takes the write lock, so
 * it never stalls the writer; in WAL mode each statement or transaction
 * reads one snapshot. The database must exist (store_open made it). */
int store_reader_open(const char *path, store_reader **out, char *err,
                      size_t errlen);
void store_reader_close(store_reader *r);

/* What a worker needs to start a run, read in one snapshot: its
 * canonical configuration JSON (malloc'd, caller frees), its checkpoint
 * if it has one (*ck_data malloc'd or NULL), and *attempt, the number
 * this start has (attempts counted with it, whether or not its
 * store_run_start has been committed yet). -ENOENT when the run does not
 * exist. */
int store_reader_run(store_reader *r, int64_t run_id, char **config_json,
                     void **ck_data, size_t *ck_len, int *attempt, char *err,
                     size_t errlen);

/* The run's checkpoint: *data malloc'd (caller frees) with *len and
 * *step, or *data NULL and *step -1 when it has none. */
int store_reader_checkpoint(store_reader *r, int64_t run_id, void **data,
                            size_t *len, long *step, char *err,
                            size_t errlen);

/* store_result_get through a reader connection. */
int store_reader_result(store_reader *r, int64_t run_id,
                        enum run_state *state, run_result *out,
                        bool *has_result, char *err, size_t errlen);

/* A run's kept arrays (table run_arrays: u_star and, when it kept them,
 * its parameters; engine.h), in one allocation the caller frees with
 * free(); *out has n = 0 when the run kept none (or does not exist).
 * -EIO when a row's shape does not match its bytes (edited by hand). */
int store_reader_arrays(store_reader *r, int64_t run_id, run_arrays **out,
                        char *err, size_t errlen);

/* --- Seed pairs (docs/theory.md §6.9; schema/012_pairs.sql) ----------
 * Two done runs of a job are a pair when their configurations are equal
 * but for model.init_seed, set in both and different, with
 * analysis.seed_pairs true and analysis.path_points > 0. */

/* Calls fn(ctx, job_id, run_a, run_b), run_a < run_b, for every pair that
 * has no row in pairs yet: those with run run_id, or, with run_id 0, of
 * every job (the daemon's start). A non-zero return from fn stops and is
 * passed through; fn must not use r. */
typedef int (*store_pair_fn)(void *ctx, int64_t job_id, int64_t run_a,
                             int64_t run_b);
int store_reader_pairs_pending(store_reader *r, int64_t run_id,
                               store_pair_fn fn, void *ctx, char *err,
                               size_t errlen);

/* The pair's row of pairs and its profile's rows of pair_curve
 * (engine.h, run_pair; NaN stored NULL), in one savepoint. Stored only
 * while run_a and run_b are done runs of job_id and the pair has no row:
 * *stored false otherwise (the job was deleted meanwhile, the pair was
 * computed twice), which is not an error. -EINVAL for run_a >= run_b or
 * a profile of fewer than 2 or more than CONFIG_MAX_PATH_POINTS points. */
int store_pair_insert(store *s, int64_t job_id, int64_t run_a,
                      int64_t run_b, const run_pair *p, bool *stored,
                      char *err, size_t errlen);

/* --- Fault injection, for tests only (SQLite's test culture) ----------
 * Connections opened with STORE_OPEN_FAULTS (or RESWEEP_FAULT_WRITES) go
 * through a VFS shim that counts every xWrite and xSync. Once armed, the
 * first after_n_writes calls succeed and every later one fails with
 * sqlite_error: SQLITE_FULL (13, disk full: the store returns -ENOSPC) or
 * SQLITE_IOERR (10: -EIO), until store_fault_disarm. Process-wide; the
 * calls are counted from the moment of arming. Returns 0, or -EINVAL for
 * another error code or a negative count. */
int store_fault_arm(long after_n_writes, int sqlite_error);
void store_fault_disarm(void);
/* How many calls were failed since the last arm. */
long store_fault_hits(void);

#endif
