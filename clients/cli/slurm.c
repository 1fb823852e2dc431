/* slurm.c — `resweep slurm JOB --tasks N ...`: workers for a job as a
 * Slurm job array (issue 10 §4; README, "On a Slurm cluster").
 *
 * The daemon says where it listens and which database it writes; the
 * batch script (slurm_script.c) is written next to that database, sbatch
 * submits it (slurm_sbatch.c), and the daemon, the database's only
 * writer, records the array (the slurm_record operation). The CLI writes
 * no database. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "err.h"

#define SLURM_DEFAULT_IDLE_EXIT_S 60.0
#define SLURM_MAX_CPUS            1024     /* resweep-worker --threads */
#define SLURM_MAX_IDLE_EXIT_S     3.2e7

const char cli_slurm_help[] =
    "usage: resweep slurm JOB --tasks N [--time T] [--partition P]\n"
    "                     [--cpus-per-task C] [--sbatch-arg ARG]...\n"
    "                     [--idle-exit S] [--connect HOST:PORT]\n"
    "                     [--token-file F] [--log-dir DIR] [--worker PATH]\n"
    "                     [--dry-run] [--json]\n"
    "Submits a Slurm job array of N tasks, each running one resweep-worker\n"
    "with C threads (default 1) that leases runs from this daemon, and has\n"
    "the daemon record the Slurm job id with JOB. The daemon must listen on\n"
    "TCP (resweepd --listen HOST:PORT). Workers lease any queued run, in\n"
    "the queue's order, and leave after S seconds with nothing to run\n"
    "(default 60; 0: at the walltime). README, \"On a Slurm cluster\".\n"
    "  --time T         walltime, as sbatch takes it (minutes, HH:MM:SS,\n"
    "                   D-HH:MM...); each worker hands its runs back 10% of\n"
    "                   it, at most 5 minutes, before the end\n"
    "  --sbatch-arg ARG one more #SBATCH line, verbatim (--mem=4G...)\n"
    "  --connect A      the address the tasks connect to (default: the\n"
    "                   daemon's --listen, 0.0.0.0 read as this host's name)\n"
    "  --token-file F   the daemon's token (default DB.token)\n"
    "  --log-dir DIR    the script and the tasks' logs (default DB.slurm/)\n"
    "  --worker PATH    resweep-worker (default: the one beside resweep)\n"
    "  --dry-run        print the script; submit and record nothing\n"
    "The token, the log directory and the worker must be on a file system\n"
    "the nodes share. Global options (--socket) go before the command or\n"
    "after it.\n";

typedef struct slurm_opts {
    long long job;
    long tasks, cpus;
    double idle_exit_s;
    const char *partition, *time, *connect, *token, *worker, *log_dir;
    const char **extra;        /* argv's words, nextra of them */
    int nextra;
    bool dry_run;
} slurm_opts;

/* What the daemon tells about itself and the job. */
typedef struct daemon_facts {
    char listen[256];          /* "" when it has no --listen */
    char db[PATHS_MAX];
    long pid, queued, running;
} daemon_facts;

/* --- options ------------------------------------------------------- */

static int number(const char *opt, const char *arg, double lo, double hi,
                  bool integer, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || !*arg || *end || !(v >= lo && v <= hi) ||
        (integer && v != (double)(long)v))
        return cli_fail(CLI_USAGE, "%s: must be %s in [%.15g, %.15g], got \"%s\"",
                        opt, integer ? "an integer" : "a number", lo, hi,
                        arg);
    *out = v;
    return CLI_OK;
}

static int option(cli_opts *o, slurm_opts *so, int ch, const char *arg)
{
    double v = 0;
    int rc = CLI_OK;
    switch (ch) {
    case 'n':
        rc = number("--tasks", arg, 1, PROTO_MAX_SLURM_TASKS, true, &v);
        so->tasks = (long)v;
        break;
    case 'c':
        rc = number("--cpus-per-task", arg, 1, SLURM_MAX_CPUS, true, &v);
        so->cpus = (long)v;
        break;
    case 'i':
        rc = number("--idle-exit", arg, 0, SLURM_MAX_IDLE_EXIT_S, false,
                    &so->idle_exit_s);
        break;
    case 'p': so->partition = arg; break;
    case 't': so->time = arg; break;
    case 'a': so->extra[so->nextra++] = arg; break;
    case 'C': so->connect = arg; break;
    case 'T': so->token = arg; break;
    case 'W': so->worker = arg; break;
    case 'L': so->log_dir = arg; break;
    case 'D': so->dry_run = true; break;
    case 'j': o->json = true; break;
    case 's':
        if (snprintf(o->socket, sizeof o->socket, "%s", arg) >=
            (int)sizeof o->socket)
            rc = cli_fail(CLI_USAGE, "--socket %s: path too long", arg);
        break;
    }
    return rc;
}

/* The words after "slurm": options, then exactly one JOB. */
static int parse(cli_opts *o, int argc, char **argv, slurm_opts *so)
{
    static const struct option longopts[] = {
        {"tasks", required_argument, NULL, 'n'},
        {"partition", required_argument, NULL, 'p'},
        {"time", required_argument, NULL, 't'},
        {"cpus-per-task", required_argument, NULL, 'c'},
        {"sbatch-arg", required_argument, NULL, 'a'},
        {"idle-exit", required_argument, NULL, 'i'},
        {"connect", required_argument, NULL, 'C'},
        {"token-file", required_argument, NULL, 'T'},
        {"worker", required_argument, NULL, 'W'},
        {"log-dir", required_argument, NULL, 'L'},
        {"dry-run", no_argument, NULL, 'D'},
        {"json", no_argument, NULL, 'j'},
        {"socket", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *so = (slurm_opts){.cpus = 1, .idle_exit_s = SLURM_DEFAULT_IDLE_EXIT_S};
    if (!(so->extra = calloc((size_t)argc + 1, sizeof *so->extra)))
        return cli_fail(CLI_ERROR, "out of memory");
    int ch, rc = CLI_OK;
    optind = 0;      /* glibc: start afresh, main's scan is done */
    opterr = 0;      /* our sentences, not getopt's */
    while (rc == CLI_OK &&
           (ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ch == 'h') {
            fputs(cli_slurm_help, stdout);
            return -1;
        }
        if (ch == '?' || ch == ':')
            rc = cli_fail(CLI_USAGE, "slurm: %s \"%s\"; see resweep slurm "
                                     "--help", ch == ':' ? "a value is "
                                     "missing after" : "no such option",
                          argv[optind - 1]);
        else
            rc = option(o, so, ch, optarg);
    }
    if (rc != CLI_OK)
        return rc;
    if (optind != argc - 1) {
        fputs(cli_slurm_help, stderr);
        return CLI_USAGE;
    }
    if ((so->job = cli_job_arg(argv[optind])) < 0)
        return CLI_USAGE;
    if (so->tasks == 0)
        return cli_fail(CLI_USAGE, "slurm: --tasks: missing; give how many "
                                   "array tasks (workers) to start");
    char err[ERR_LEN];
    long walltime;
    if (so->time && cli_slurm_walltime(so->time, &walltime, err,
                                       sizeof err) < 0)
        return cli_fail(CLI_USAGE, "%s", err);
    return CLI_OK;
}

/* --- the daemon ---------------------------------------------------- */

static cJSON *build_status(session *s, void *job)
{
    cJSON *r = cli_req_new(s, "status");
    cJSON_AddNumberToObject(r, "job", (double)*(long long *)job);
    return r;
}

/* Where the daemon listens, which database it writes, and whether the
 * job has anything left for workers to run. */
static int ask_daemon(cli_opts *o, long long job, daemon_facts *df)
{
    session s;
    cJSON *ping = NULL, *st = NULL;
    int rc = cli_session_open(o, &s);
    if (rc == CLI_OK)
        rc = cli_call(&s, cli_req_new(&s, "ping"), CLI_TIMEOUT_MS, &ping);
    if (rc == CLI_OK)
        rc = cli_call(&s, build_status(&s, &job), CLI_TIMEOUT_MS, &st);
    if (rc == CLI_OK) {
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(st, "job");
        snprintf(df->listen, sizeof df->listen, "%s", cli_str(ping, "listen"));
        snprintf(df->db, sizeof df->db, "%s", cli_str(ping, "db"));
        df->pid = cli_lnum(ping, "pid");
        df->queued = cli_lnum(j, "queued");
        df->running = cli_lnum(j, "running");
        if (df->queued + df->running == 0)
            rc = cli_fail(CLI_ERROR, "job %lld has no queued or running runs "
                                     "(it is %s): there is nothing for Slurm "
                                     "tasks to do", job, cli_str(j, "state"));
    }
    cJSON_Delete(ping);
    cJSON_Delete(st);
    if (s.fd >= 0)
        cli_session_close(&s);
    return rc;
}

typedef struct record_args {
    const slurm_opts *so;
    long long slurm_job;
    const char *script;
} record_args;

static cJSON *build_record(session *s, void *arg)
{
    const record_args *a = arg;
    cJSON *r = cli_req_new(s, "slurm_record");
    cJSON_AddNumberToObject(r, "job", (double)a->so->job);
    cJSON_AddNumberToObject(r, "slurm_job", (double)a->slurm_job);
    cJSON_AddNumberToObject(r, "tasks", (double)a->so->tasks);
    cJSON_AddStringToObject(r, "script", a->script);
    return r;
}

/* The daemon records the array with the job: CLI_OK with its reply. */
static int record(cli_opts *o, const slurm_opts *so, long long slurm_job,
                  const char *script, cJSON **reply)
{
    record_args a = {so, slurm_job, script};
    int rc = cli_call_once(o, build_record, &a, CLI_TIMEOUT_MS, reply);
    if (rc != CLI_OK)
        cli_fail(rc, "Slurm job %lld was submitted, but the daemon did not "
                     "record it with job %lld (above: why); its tasks run "
                     "all the same", slurm_job, so->job);
    return rc;
}

/* --- where things are ---------------------------------------------- */

/* The address the tasks dial: --connect, else the daemon's listener,
 * with a wildcard host made this host's name (the nodes cannot dial
 * 0.0.0.0). */
static int resolve_connect(const slurm_opts *so, const daemon_facts *df,
                           char *out, size_t len)
{
    if (so->connect) {
        snprintf(out, len, "%s", so->connect);
        return CLI_OK;
    }
    if (!df->listen[0])
        return cli_fail(CLI_ERROR, "the daemon (pid %ld) does not listen on "
                                   "TCP, and Slurm's tasks reach it only that "
                                   "way: start resweepd with --listen "
                                   "HOST:PORT (for example --listen "
                                   "0.0.0.0:7070), or give --connect", df->pid);
    const char *colon = strrchr(df->listen, ':');
    size_t hlen = colon ? (size_t)(colon - df->listen) : 0;
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)hlen, df->listen);
    if (!strcmp(host, "0.0.0.0") || !strcmp(host, "[::]")) {
        if (gethostname(host, sizeof host) != 0)
            return cli_fail(CLI_ERROR, "gethostname: %s; give --connect",
                            strerror(errno));
        host[sizeof host - 1] = '\0';
    } else if (!strncmp(host, "127.", 4) || !strcmp(host, "[::1]")) {
        fprintf(stderr, "resweep: warning: the daemon listens on %s, which "
                        "only this machine reaches: tasks on other nodes "
                        "cannot connect (resweepd --listen 0.0.0.0:PORT)\n",
                df->listen);
    }
    if (snprintf(out, len, "%s%s", host, colon ? colon : "") >= (int)len)
        return cli_fail(CLI_ERROR, "%s: address too long", host);
    return CLI_OK;
}

/* An existing file as an absolute path (the tasks start elsewhere). */
static int absolute(const char *what, const char *path, bool exec,
                    char out[PATHS_MAX])
{
    char real[PATH_MAX];
    if (!realpath(path, real) || access(real, exec ? X_OK : R_OK) != 0)
        return cli_fail(CLI_ERROR, "%s %s: %s", what, path, strerror(errno));
    if (snprintf(out, PATHS_MAX, "%s", real) >= PATHS_MAX)
        return cli_fail(CLI_ERROR, "%s %s: path too long", what, real);
    return CLI_OK;
}

static int resolve_token(const slurm_opts *so, const daemon_facts *df,
                         const char *connect, char out[PATHS_MAX])
{
    char path[PATHS_MAX + 8];
    if (so->token)
        return absolute("--token-file", so->token, false, out);
    if (!proto_addr_is_tcp(connect)) {
        out[0] = '\0';   /* unix:PATH needs none */
        return CLI_OK;
    }
    snprintf(path, sizeof path, "%s.token", df->db);
    return absolute("the daemon's token", path, false, out);
}

/* resweep-worker beside this resweep, unless --worker names one. */
static int resolve_worker(const slurm_opts *so, char out[PATHS_MAX])
{
    if (so->worker)
        return absolute("--worker", so->worker, true, out);
    char self[PATHS_MAX], dir[PATHS_MAX], path[PATHS_MAX + 16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0)
        return cli_fail(CLI_ERROR, "/proc/self/exe: %s; give --worker PATH",
                        strerror(errno));
    self[n] = '\0';
    paths_dirname(self, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/resweep-worker", dir);
    if (access(path, X_OK) != 0)
        return cli_fail(CLI_ERROR, "%s: %s; install resweep-worker beside "
                                   "resweep, or give --worker PATH", path,
                        strerror(errno));
    return absolute("resweep-worker", path, true, out);
}

/* --- submitting ---------------------------------------------------- */

/* The script into LOG_DIR/job-J-XXXXXX.sbatch (path receives it). */
static int write_script(const slurm_script_cfg *cfg, const char *script,
                        char path[PATHS_MAX])
{
    char err[ERR_LEN];
    if (paths_mkdir_p(cfg->log_dir, 0700, err, sizeof err) < 0)
        return cli_fail(CLI_ERROR, "%s", err);
    if (snprintf(path, PATHS_MAX, "%s/job-%lld-XXXXXX.sbatch", cfg->log_dir,
                 cfg->job) >= PATHS_MAX)
        return cli_fail(CLI_ERROR, "%s: path too long", cfg->log_dir);
    int fd = mkstemps(path, (int)strlen(".sbatch"));
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return cli_fail(CLI_ERROR, "%s: %s", path, strerror(e));
    }
    bool bad = fputs(script, f) < 0;
    if (fclose(f) != 0 || bad)
        return cli_fail(CLI_ERROR, "%s: cannot write: %s", path,
                        strerror(errno));
    return CLI_OK;
}

static void print_submitted(const cli_opts *o, const slurm_script_cfg *cfg,
                            long long slurm_job, const char *path,
                            cJSON *reply)
{
    if (o->json) {
        cJSON_AddStringToObject(reply, "script", path);
        cJSON_AddStringToObject(reply, "log_dir", cfg->log_dir);
        cli_print_json(reply);
        return;
    }
    printf("Slurm job %lld: %ld tasks of resweep-worker for job %lld\n"
           "script    %s\nlogs      %s/job-%lld-%lld_*.out\n"
           "follow it with `squeue -j %lld`, `resweep workers` and "
           "`resweep watch %lld`\n",
           slurm_job, cfg->tasks, cfg->job, path, cfg->log_dir, cfg->job,
           slurm_job, slurm_job, cfg->job);
}

static int submit(cli_opts *o, const slurm_opts *so,
                  const slurm_script_cfg *cfg, const char *script)
{
    char path[PATHS_MAX];
    long long slurm_job = 0;
    cJSON *reply = NULL;
    int rc = write_script(cfg, script, path);
    if (rc == CLI_OK)
        rc = cli_sbatch(path, &slurm_job);
    if (rc == CLI_OK)
        rc = record(o, so, slurm_job, script, &reply);
    if (rc == CLI_OK)
        print_submitted(o, cfg, slurm_job, path, reply);
    cJSON_Delete(reply);
    return rc;
}

/* --- the command ---------------------------------------------------- */

typedef struct resolved {
    char connect[300], token[PATHS_MAX], worker[PATHS_MAX];
    char log_dir[PATHS_MAX];
} resolved;

/* --log-dir made absolute (the logs are opened on the nodes), else
 * DB.slurm beside the daemon's database. It is created at submission. */
static int resolve_log_dir(const slurm_opts *so, const daemon_facts *df,
                           char out[PATHS_MAX])
{
    char cwd[PATHS_MAX];
    int n;
    if (!so->log_dir)
        n = snprintf(out, PATHS_MAX, "%s.slurm", df->db);
    else if (so->log_dir[0] == '/')
        n = snprintf(out, PATHS_MAX, "%s", so->log_dir);
    else if (getcwd(cwd, sizeof cwd))
        n = snprintf(out, PATHS_MAX, "%s/%s", cwd, so->log_dir);
    else
        return cli_fail(CLI_ERROR, "--log-dir %s: the current directory: %s",
                        so->log_dir, strerror(errno));
    if (n >= PATHS_MAX)
        return cli_fail(CLI_ERROR, "the log directory: path too long");
    return CLI_OK;
}

static int resolve(const slurm_opts *so, const daemon_facts *df,
                   resolved *r)
{
    if (df->db[0] != '/')
        return cli_fail(CLI_ERROR, "the daemon's database path \"%s\" is "
                                   "not absolute, so the tasks could not "
                                   "find its token or logs: start resweepd "
                                   "with an absolute --db", df->db);
    int rc = resolve_log_dir(so, df, r->log_dir);
    if (rc == CLI_OK)
        rc = resolve_connect(so, df, r->connect, sizeof r->connect);
    if (rc == CLI_OK)
        rc = resolve_token(so, df, r->connect, r->token);
    if (rc == CLI_OK)
        rc = resolve_worker(so, r->worker);
    return rc;
}

static int run(cli_opts *o, const slurm_opts *so)
{
    daemon_facts df = {0};
    resolved r;
    int rc = ask_daemon(o, so->job, &df);
    if (rc == CLI_OK)
        rc = resolve(so, &df, &r);
    if (rc != CLI_OK)
        return rc;
    slurm_script_cfg cfg = {
        .job = so->job, .tasks = so->tasks, .cpus = so->cpus,
        .partition = so->partition, .time = so->time,
        .extra = so->extra, .nextra = so->nextra, .log_dir = r.log_dir,
        .worker = r.worker, .connect = r.connect,
        .token = r.token[0] ? r.token : NULL, .idle_exit_s = so->idle_exit_s,
    };
    char err[ERR_LEN];
    char *script = cli_slurm_script(&cfg, err, sizeof err);
    if (!script)
        return cli_fail(CLI_USAGE, "%s", err);
    if (so->dry_run)
        fputs(script, stdout);
    else
        rc = submit(o, so, &cfg, script);
    free(script);
    return rc;
}

int cmd_slurm(cli_opts *o, int argc, char **argv)
{
    slurm_opts so;
    int rc = parse(o, argc, argv, &so);
    if (rc == CLI_OK)
        rc = run(o, &so);
    free(so.extra);
    return rc < 0 ? CLI_OK : rc;   /* -1: --help was printed */
}
