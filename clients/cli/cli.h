/* cli.h — the resweep command-line client's shared pieces.
 *
 * Exit codes (documented in `resweep --help`):
 *   0  success; for submit --wait and watch: the job ended with every run
 *      done
 *   1  an error (the daemon's reply, a file, the database)
 *   2  usage error
 *   3  the job ended with failed runs
 *   4  cannot reach the daemon (no socket, nobody listening, it went away)
 *   5  the job ended with canceled runs (and none failed)
 *   6  the job ended with diverged runs (none failed or canceled): a
 *      measured result, but one a user must hear of, not a success
 */
#ifndef RESWEEP_CLI_H
#define RESWEEP_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "paths.h"
#include "proto.h"

struct sqlite3;        /* sqlite3.h */
struct sqlite3_stmt;

struct cJSON;

enum {
    CLI_OK = 0, CLI_ERROR = 1, CLI_USAGE = 2, CLI_FAILED_RUNS = 3,
    CLI_UNREACHABLE = 4, CLI_CANCELED = 5, CLI_DIVERGED_RUNS = 6,
    CLI_PAUSED = 7
};

/* Reply timeouts: a submission expands and stores every run first. */
#define CLI_TIMEOUT_MS        30000
#define CLI_SUBMIT_TIMEOUT_MS 600000
#define CLI_WATCH_SILENCE_MS  30000   /* the daemon beats every 2 s */

typedef struct cli_opts {
    char socket[PATHS_MAX];
    char db[PATHS_MAX];
    bool db_given;
    bool json;
    bool wait;
    const char *format;       /* results/sql: table, csv, json */
    long from, limit;         /* runs */
    const char *out;          /* report, export: --out DIR */
    bool params;              /* export: --params, the parameters are required */
    long seeds;               /* extend: --seeds K (0: not given) */
    const char *spec_file;    /* extend: --spec FILE */
} cli_opts;

/* --- fail.c --- */

/* "resweep: <message>" on stderr; returns code. */
int cli_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A proto_error: "resweep: <field>: <message>"; returns the exit code
 * that fits it (4 for transport failures, else 1). */
int cli_fail_proto(const proto_error *e);

/* Parses a job id argument; -1 (with the message printed) if invalid. */
long long cli_job_arg(const char *arg);

/* --- fmt.c: replies and numbers --- */

void cli_print_json(const struct cJSON *j);
/* A member of a reply object: NAN, 0 or "" when absent. */
double cli_num(const struct cJSON *o, const char *key);
long cli_lnum(const struct cJSON *o, const char *key);
const char *cli_str(const struct cJSON *o, const char *key);
void cli_fmt_duration(double s, char *buf, size_t len);   /* "m:ss", "h:mm:ss", "--:--" */
void cli_fmt_rate(double r, char *buf, size_t len);
void cli_fmt_bytes(double b, char *buf, size_t len);      /* "7.2 GiB", "-" for NAN */
void cli_fmt_time(double unix_s, char *buf, size_t len);  /* local time, "-" for NAN */
/* The exit code of an ended job (the codes above). */
int cli_job_exit_code(const struct cJSON *job);
/* A line of advice when the job has diverged runs; nothing otherwise. */
void cli_diverged_hint(FILE *f, const struct cJSON *job);

/* --- session.c: talking to the daemon --- */

typedef struct session {
    int fd;
    int next_id;
} session;

/* Each returns CLI_OK, or prints why not and returns the exit code. */
int cli_session_open(const cli_opts *o, session *s);
void cli_session_close(session *s);
/* {"v": 1, "id": n, "op": op}, for the caller to add members to. */
struct cJSON *cli_req_new(session *s, const char *op);
int cli_send(session *s, struct cJSON *req);          /* req consumed */
int cli_recv(session *s, int timeout_ms, struct cJSON **out);
/* One request, one reply; req consumed. */
int cli_call(session *s, struct cJSON *req, int timeout_ms,
             struct cJSON **out);
/* A session for one request that build makes. */
int cli_call_once(const cli_opts *o,
                  struct cJSON *(*build)(session *, void *), void *arg,
                  int timeout_ms, struct cJSON **out);
/* A build function for a request with no members: arg is the op name. */
struct cJSON *cli_build_plain(session *s, void *op);

/* The database the daemon uses, when --db/RESWEEP_DB did not say: asked
 * of the daemon, else the default path. */
void cli_resolve_db(cli_opts *o);

/* --- spec_paths.c --- */

/* Makes data.path (in base, and the values of grid and zip) absolute,
 * against the current directory; CLI_OK or CLI_ERROR with the sentence
 * printed. */
int cli_spec_absolute_paths(struct cJSON *spec);
/* The job specification in file ("-": stdin), parsed and checked as
 * submit does (one JSON object, nothing after it); NULL with the
 * sentence printed. */
struct cJSON *cli_spec_read(const char *file);

/* --- progress.c: running runs as the database shows them --- */

typedef struct run_progress {
    long long run;
    long step, steps;          /* step: the last stored curve point's; -1: none yet */
    double loss;               /* its train_loss */
    double run_s;              /* the run's whole training, estimated; NAN: unknown */
    double eta_s;              /* what is left of it; NAN: unknown */
} run_progress;

/* Up to max running runs of job into out (*n of them), with an ETA each
 * from its step rate since it started. CLI_OK, or CLI_ERROR with why in
 * err (the database could not be read). */
int cli_running_runs(const cli_opts *o, long long job, run_progress *out,
                     int max, int *n, char *err, size_t errlen);
/* Seconds from the job's submission to its last run's end, from the
 * database; NAN when it cannot be read or no run has ended. */
double cli_job_elapsed(const cli_opts *o, long long job);
/* The job's ETA from its running runs and its queued count, spread over
 * as many workers as runs are running; NAN when no run has a rate yet. */
double cli_eta_from_runs(const run_progress *rp, int n, long queued);

/* --- cell.c: a database cell as sql and results write it --- */

#define CLI_CELL_MAX 60   /* characters of a table's text cell, but the last column's */
/* Column i of st's row into buf: for a table (NULL shown, reals to 6
 * digits, long text cut unless last) or for CSV (reals exact, NULL
 * empty). Times (REAL *_at columns) ISO 8601, BLOBs their size. */
void cli_cell_text(struct sqlite3_stmt *st, int i, bool for_table, bool last,
                   char *buf, size_t len);
/* The row as a JSON object: numbers as numbers, BLOBs their size. */
struct cJSON *cli_row_json(struct sqlite3_stmt *st);

/* --- npy.c: NumPy's .npy format 1.0 (little-endian float64) --- */

#define CLI_NPY_HEADER_MAX 256   /* bytes of a header, preamble included */
/* The preamble and header of an array of that shape into buf: its
 * length, a multiple of 64, or -1 when it does not fit in len. */
int cli_npy_header(unsigned char *buf, size_t len, int ndim,
                   const long *shape);
/* path as a .npy file of the given shape and little-endian float64
 * values (nbytes of them). 0, or a negative errno with the sentence
 * naming path in err. */
int cli_npy_write(const char *path, int ndim, const long *shape,
                  const void *le_values, size_t nbytes, char *err,
                  size_t errlen);

/* --- export.c --- */

/* `resweep export RUN [--out DIR] [--params]` (README, "Exporting a
 * run"): u_star.npy, the parameters when the run saved them, the
 * regenerated X_train, y_train, X_test, y_test and run.json into DIR
 * (default run-RUN/), from the database alone. */
int cmd_export(cli_opts *o, int argc, char **argv);

/* --- offline.c --- */

/* status's reply ({"job": ...} for job, else {"jobs": [...]}, and
 * "offline": true) built from the database, for when no daemon answers.
 * CLI_OK, or the code with why printed. */
int cli_status_offline(cli_opts *o, long long job, struct cJSON **out);

/* --- watch.c --- */

/* Streams job_id's progress until its end; returns the job's exit code. */
int cli_watch_job(cli_opts *o, session *s, long long job_id);

/* Commands that talk to the daemon: jobs.c (ping, status, list, runs,
 * cancel, retry, shutdown), submit.c, watch.c. */
int cmd_ping(cli_opts *o, int argc, char **argv);
int cmd_submit(cli_opts *o, int argc, char **argv);
int cmd_extend(cli_opts *o, int argc, char **argv);
int cmd_status(cli_opts *o, int argc, char **argv);
int cmd_list(cli_opts *o, int argc, char **argv);
int cmd_watch(cli_opts *o, int argc, char **argv);
int cmd_cancel(cli_opts *o, int argc, char **argv);
int cmd_retry(cli_opts *o, int argc, char **argv);
int cmd_delete(cli_opts *o, int argc, char **argv);
int cmd_pause(cli_opts *o, int argc, char **argv);
int cmd_resume(cli_opts *o, int argc, char **argv);
int cmd_runs(cli_opts *o, int argc, char **argv);
int cmd_shutdown(cli_opts *o, int argc, char **argv);
int cmd_workers(cli_opts *o, int argc, char **argv);

/* db.c: commands that read the database directly (read-only). */
int cmd_results(cli_opts *o, int argc, char **argv);
int cmd_sql(cli_opts *o, int argc, char **argv);
int cmd_check(cli_opts *o, int argc, char **argv);

/* sqlguard.c: what a typed statement may do on a connection of db.c.
 * cli_sql_guard installs an authorizer that refuses, while a statement
 * is compiled, every action but reading (SELECT, reads, functions,
 * recursive CTEs, reporting PRAGMAs): no ATTACH, VACUUM INTO or write
 * reaches the file system. *denied (borrowed, may be NULL) turns true at
 * a refusal, so the caller can say why compiling failed. cli_sql_check refuses a compiled statement
 * that is not read-only (CLI_ERROR, with the sentence printed). */
void cli_sql_guard(struct sqlite3 *db, bool *denied);
int cli_sql_check(struct sqlite3_stmt *st);

/* report.c: writes a job's report (Markdown, HTML, figures) into
 * o->out, default report-JOB/ (issue 6). */
int cmd_report(cli_opts *o, int argc, char **argv);

/* --- slurm_script.c: the batch script of `resweep slurm` --- */

/* A worker's --time-limit is its walltime less 10% of it, at most this
 * many seconds (README, "On a Slurm cluster"). */
#define CLI_SLURM_MARGIN_MAX_S 300

typedef struct slurm_script_cfg {
    long long job;
    long tasks;                /* array tasks, >= 1 */
    long cpus;                 /* per task: the worker's threads */
    const char *partition;     /* NULL: the cluster's default */
    const char *time;          /* sbatch --time as given; NULL: none */
    const char *const *extra;  /* nextra #SBATCH options, verbatim */
    int nextra;
    const char *log_dir;       /* absolute: where --output goes */
    const char *worker;        /* absolute path of resweep-worker */
    const char *connect;       /* the daemon: HOST:PORT */
    const char *token;         /* absolute path; NULL: none (unix:) */
    double idle_exit_s;
} slurm_script_cfg;              /* every pointer borrowed */

/* sbatch --time T in seconds: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM,
 * D-HH:MM:SS; 0 for no limit (0, INFINITE, UNLIMITED). 0, or -EINVAL
 * with the sentence in err. */
int cli_slurm_walltime(const char *t, long *seconds, char *err,
                       size_t errlen);
/* The worker's --time-limit under a walltime of walltime_s (> 0). */
long cli_slurm_time_limit(long walltime_s);
/* The script (malloc'd, caller frees), or NULL with the sentence in err
 * (a value with a line break, an --sbatch-arg that is no option, a
 * --time sbatch would not take). */
char *cli_slurm_script(const slurm_script_cfg *c, char *err, size_t errlen);

/* --- slurm_sbatch.c --- */

/* Submits the script at path with `sbatch --parsable`: CLI_OK with the
 * job id sbatch printed in *slurm_job, else the sentence printed and the
 * exit code returned (sbatch missing, failed, or printing no id). */
int cli_sbatch(const char *path, long long *slurm_job);

/* slurm.c: `resweep slurm JOB --tasks N ...` submits workers for the job
 * as a Slurm job array and has the daemon record it. It parses its own
 * options: argv[0] is "slurm", the words after it follow. */
int cmd_slurm(cli_opts *o, int argc, char **argv);
extern const char cli_slurm_help[];

/* table.c: aligned text tables. */
typedef struct table table;
table *table_new(void);
void table_col(table *t, const char *header, bool right);   /* before rows */
void table_align(table *t, int col, bool right);
void table_cell(table *t, const char *text);   /* row by row, left to right */
void table_print(const table *t, FILE *f);
void table_free(table *t);

#endif
