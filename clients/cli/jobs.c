/* jobs.c — the daemon's commands about jobs and itself: ping, status,
 * list, runs, cancel, retry, delete, pause, resume, shutdown (cli.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

/* --- ping ---------------------------------------------------------- */

int cmd_ping(cli_opts *o, int argc, char **argv)
{
    cJSON *r = NULL;
    int rc = cli_call_once(o, cli_build_plain, "ping", CLI_TIMEOUT_MS, &r);
    if (rc != CLI_OK)
        return rc;
    if (o->json) {
        cli_print_json(r);
    } else {
        char up[32];
        cli_fmt_duration(cli_num(r, "uptime_s"), up, sizeof up);
        printf("resweepd %s (protocol %ld), pid %ld, up %s\n",
               cli_str(r, "version"), cli_lnum(r, "protocol"), cli_lnum(r, "pid"), up);
        printf("socket   %s\ndatabase %s\nworkers  %ld\n", cli_str(r, "socket"),
               cli_str(r, "db"), cli_lnum(r, "workers"));
        printf("store    %s%s%s\n", cli_str(r, "store"),
               *cli_str(r, "store_error") ? ": " : "", cli_str(r, "store_error"));
        printf("jobs     %ld (%ld runs queued, %ld running)\n",
               cli_lnum(r, "jobs"), cli_lnum(r, "queued"), cli_lnum(r, "running"));
        char used[32], lim[32];
        cli_fmt_bytes(cli_num(r, "memory_reserved"), used, sizeof used);
        cli_fmt_bytes(cli_num(r, "memory_limit"), lim, sizeof lim);
        if (isnan(cli_num(r, "memory_limit")))
            printf("memory   %s estimated for the running runs, no limit\n", used);
        else
            printf("memory   %s of %s estimated for the running runs "
                   "(--memory-limit)\n", used, lim);
    }
    cJSON_Delete(r);
    return CLI_OK;
}

/* --- status, list, runs ---------------------------------------------- */

static cJSON *build_status(session *s, void *job)
{
    cJSON *r = cli_req_new(s, "status");
    if (job)
        cJSON_AddNumberToObject(r, "job", (double)*(long long *)job);
    return r;
}

#define STATUS_MAX_RUNS 16   /* running runs status lists */

/* The job's running runs from the database, into the reply's job as
 * "running_runs" and, while no run has finished (no rate yet), an
 * "eta_s" from their step rate. A database that cannot be read is said,
 * and status goes on without them. */
static void add_running_runs(cli_opts *o, cJSON *j)
{
    run_progress rp[STATUS_MAX_RUNS];
    int n = 0;
    char err[ERR_LEN];
    if (!j || cli_lnum(j, "running") == 0)
        return;
    cli_resolve_db(o);
    if (cli_running_runs(o, cli_lnum(j, "job"), rp, STATUS_MAX_RUNS, &n, err,
                         sizeof err) != CLI_OK) {
        fprintf(stderr, "resweep: the running runs' progress is not shown: %s\n",
                err);
        return;
    }
    cJSON *arr = cJSON_AddArrayToObject(j, "running_runs");
    for (int i = 0; arr && i < n; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, r);
        cJSON_AddNumberToObject(r, "run", (double)rp[i].run);
        cJSON_AddNumberToObject(r, "step", (double)rp[i].step);
        cJSON_AddNumberToObject(r, "steps", (double)rp[i].steps);
        cJSON_AddNumberToObject(r, "train_loss", rp[i].loss);
        cJSON_AddNumberToObject(r, "eta_s", rp[i].eta_s);
    }
    double eta = cli_eta_from_runs(rp, n, cli_lnum(j, "queued"));
    if (isnan(cli_num(j, "eta_s")) && !isnan(eta))
        cJSON_ReplaceItemInObjectCaseSensitive(j, "eta_s", cJSON_CreateNumber(eta));
}

/* An ended job's "elapsed_s", from the database. */
static void add_elapsed(cli_opts *o, cJSON *j)
{
    if (!j || cli_lnum(j, "queued") + cli_lnum(j, "running") > 0)
        return;
    cli_resolve_db(o);
    double s = cli_job_elapsed(o, cli_lnum(j, "job"));
    if (!isnan(s))
        cJSON_AddNumberToObject(j, "elapsed_s", s);
}

static void print_running_runs(const cJSON *j)
{
    const cJSON *r, *arr = cJSON_GetObjectItemCaseSensitive(j, "running_runs");
    cJSON_ArrayForEach(r, arr) {
        char eta[32];
        cli_fmt_duration(cli_num(r, "eta_s"), eta, sizeof eta);
        if (cli_lnum(r, "step") < 0)
            printf("  run %ld: starting (no curve point yet) of %ld steps\n",
                   cli_lnum(r, "run"), cli_lnum(r, "steps"));
        else
            printf("  run %ld: step %ld/%ld, train loss %.6g, ETA %s\n",
                   cli_lnum(r, "run"), cli_lnum(r, "step"), cli_lnum(r, "steps"),
                   cli_num(r, "train_loss"), eta);
    }
}

static void print_job(const cJSON *j)
{
    char rate[32], eta[32], created[64];
    cli_fmt_rate(cli_num(j, "rate_per_min"), rate, sizeof rate);
    cli_fmt_duration(cli_num(j, "eta_s"), eta, sizeof eta);
    cli_fmt_time(cli_num(j, "created_at"), created, sizeof created);
    printf("job       %ld\nname      %s\nstate     %s\npriority  %ld\n",
           cli_lnum(j, "job"), cli_str(j, "name"), cli_str(j, "state"),
           cli_lnum(j, "priority"));
    printf("progress  %ld/%ld finished\n", cli_lnum(j, "finished"),
           cli_lnum(j, "total"));
    const char *keys[] = {"queued", "running", "done", "failed", "diverged",
                          "canceled"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        printf("%-9s %ld\n", keys[i], cli_lnum(j, keys[i]));
        if (strcmp(keys[i], "running") == 0)
            print_running_runs(j);
    }
    printf("rate      %s runs/min\neta       %s\ncreated   %s\n", rate, eta,
           created);
    double took = cli_num(j, "elapsed_s");
    if (!isnan(took)) {
        char buf[32];
        cli_fmt_duration(took, buf, sizeof buf);
        printf("elapsed   %s (submission to the last run's end)\n", buf);
    }
    cli_diverged_hint(stdout, j);
}

static void print_jobs(const cJSON *jobs)
{
    table *t = table_new();
    const char *cols[] = {"JOB", "NAME", "STATE", "PRIO", "FINISHED",
                          "FAILED", "DIVERGED", "CANCELED", "RUNS/MIN", "ETA",
                          "CREATED"};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        table_col(t, cols[i], i != 1 && i != 2 && i != 10);
    const cJSON *j;
    cJSON_ArrayForEach(j, jobs) {
        char buf[64];
        snprintf(buf, sizeof buf, "%ld", cli_lnum(j, "job"));
        table_cell(t, buf);
        table_cell(t, cli_str(j, "name"));
        table_cell(t, cli_str(j, "state"));
        snprintf(buf, sizeof buf, "%ld", cli_lnum(j, "priority"));
        table_cell(t, buf);
        snprintf(buf, sizeof buf, "%ld/%ld", cli_lnum(j, "finished"),
                 cli_lnum(j, "total"));
        table_cell(t, buf);
        const char *counts[] = {"failed", "diverged", "canceled"};
        for (int k = 0; k < 3; k++) {
            snprintf(buf, sizeof buf, "%ld", cli_lnum(j, counts[k]));
            table_cell(t, buf);
        }
        cli_fmt_rate(cli_num(j, "rate_per_min"), buf, sizeof buf);
        table_cell(t, buf);
        if (strcmp(cli_str(j, "state"), "running") == 0 ||
            strcmp(cli_str(j, "state"), "queued") == 0)
            cli_fmt_duration(cli_num(j, "eta_s"), buf, sizeof buf);
        else
            snprintf(buf, sizeof buf, "-");
        table_cell(t, buf);
        cli_fmt_time(cli_num(j, "created_at"), buf, sizeof buf);
        table_cell(t, buf);
    }
    table_print(t, stdout);
    table_free(t);
}

int cmd_status(cli_opts *o, int argc, char **argv)
{
    long long job = 0;
    if (argc > 0 && (job = cli_job_arg(argv[0])) < 0)
        return CLI_USAGE;
    cJSON *r = NULL;
    int rc, fd;
    char why[ERR_LEN];
    if (proto_connect(o->socket, &fd, why, sizeof why) < 0) {
        /* No daemon: what the database says (offline.c). */
        fprintf(stderr, "resweep: no daemon (%s); the jobs as the database "
                "shows them, without rates\n", why);
        rc = cli_status_offline(o, job, &r);
    } else {
        close(fd);
        rc = cli_call_once(o, build_status, argc > 0 ? &job : NULL,
                           CLI_TIMEOUT_MS, &r);
    }
    if (rc != CLI_OK)
        return rc;
    if (argc > 0) {
        cJSON *j = cJSON_GetObjectItemCaseSensitive(r, "job");
        add_running_runs(o, j);
        add_elapsed(o, j);
    }
    if (o->json)
        cli_print_json(r);
    else if (argc > 0)
        print_job(cJSON_GetObjectItemCaseSensitive(r, "job"));
    else
        print_jobs(cJSON_GetObjectItemCaseSensitive(r, "jobs"));
    cJSON_Delete(r);
    return CLI_OK;
}

int cmd_list(cli_opts *o, int argc, char **argv)
{
    return cmd_status(o, 0, argv);
}

typedef struct runs_arg {
    long long job;
    long from, limit;
} runs_arg;

static cJSON *build_runs(session *s, void *arg)
{
    runs_arg *a = arg;
    cJSON *r = cli_req_new(s, "runs");
    cJSON_AddNumberToObject(r, "job", (double)a->job);
    cJSON_AddNumberToObject(r, "from", (double)a->from);
    cJSON_AddNumberToObject(r, "limit", (double)a->limit);
    return r;
}

int cmd_runs(cli_opts *o, int argc, char **argv)
{
    runs_arg a = {cli_job_arg(argv[0]), o->from, o->limit};
    if (a.job < 0)
        return CLI_USAGE;
    cJSON *r = NULL;
    int rc = cli_call_once(o, build_runs, &a, CLI_TIMEOUT_MS, &r);
    if (rc != CLI_OK)
        return rc;
    if (o->json) {
        cli_print_json(r);
        cJSON_Delete(r);
        return CLI_OK;
    }
    table *t = table_new();
    const char *cols[] = {"RUN", "INDEX", "STATE", "ATTEMPTS", "GAP", "ERROR"};
    for (int i = 0; i < 6; i++)
        table_col(t, cols[i], i != 2 && i != 5);
    const cJSON *run;
    cJSON_ArrayForEach(run, cJSON_GetObjectItemCaseSensitive(r, "runs")) {
        char buf[64];
        snprintf(buf, sizeof buf, "%ld", cli_lnum(run, "run"));
        table_cell(t, buf);
        snprintf(buf, sizeof buf, "%ld", cli_lnum(run, "index"));
        table_cell(t, buf);
        table_cell(t, cli_str(run, "state"));
        snprintf(buf, sizeof buf, "%ld", cli_lnum(run, "attempts"));
        table_cell(t, buf);
        double gap = cli_num(run, "gap");
        if (isnan(gap))
            snprintf(buf, sizeof buf, "-");
        else
            snprintf(buf, sizeof buf, "%.4g", gap);
        table_cell(t, buf);
        table_cell(t, cli_str(run, "error"));
    }
    table_print(t, stdout);
    table_free(t);
    double next = cli_num(r, "next");
    if (!isnan(next))
        printf("(more: resweep runs %lld --from %ld)\n", a.job, (long)next);
    cJSON_Delete(r);
    return CLI_OK;
}

/* --- cancel, retry, shutdown ----------------------------------------- */

typedef struct job_op {
    const char *op;
    long long job;
} job_op;

static cJSON *build_job_op(session *s, void *arg)
{
    job_op *a = arg;
    cJSON *r = cli_req_new(s, a->op);
    cJSON_AddNumberToObject(r, "job", (double)a->job);
    return r;
}

static int simple_job_op(cli_opts *o, const char *op, const char *arg,
                         cJSON **out)
{
    job_op a = {op, cli_job_arg(arg)};
    if (a.job < 0)
        return CLI_USAGE;
    /* Cancel and retry change every run of the job in one transaction:
     * for a million runs that takes longer than CLI_TIMEOUT_MS (measured:
     * 6.8 s for 200,000, bench/bigsubmit_bench.sh), and the operation
     * succeeds whether or not the client waited. Wait as for a submit. */
    return cli_call_once(o, build_job_op, &a, CLI_SUBMIT_TIMEOUT_MS, out);
}

int cmd_cancel(cli_opts *o, int argc, char **argv)
{
    cJSON *r = NULL;
    int rc = simple_job_op(o, "cancel", argv[0], &r);
    if (rc != CLI_OK)
        return rc;
    if (o->json)
        cli_print_json(r);
    else
        printf("job %ld: %ld queued runs canceled, %ld running runs "
               "stopping\n",
               cli_lnum(r, "job"), cli_lnum(r, "canceled"), cli_lnum(r, "stopping"));
    cJSON_Delete(r);
    return CLI_OK;
}

int cmd_retry(cli_opts *o, int argc, char **argv)
{
    cJSON *r = NULL;
    int rc = simple_job_op(o, "retry", argv[0], &r);
    if (rc != CLI_OK)
        return rc;
    long resumed = cli_lnum(r, "resumed");
    if (o->json) {
        cli_print_json(r);
    } else {
        printf("job %ld: %ld failed or canceled runs queued again",
               cli_lnum(r, "job"), cli_lnum(r, "requeued"));
        long ck = cli_lnum(r, "from_checkpoint");
        if (ck > 0)
            printf(" (%ld resume from their last checkpoint, %ld start "
                   "from scratch)", ck, cli_lnum(r, "requeued") - ck);
        if (resumed > 0)
            printf("; %ld runs that were stopping for the cancel go on",
                   resumed);
        putchar('\n');
    }
    cJSON_Delete(r);
    return CLI_OK;
}

int cmd_delete(cli_opts *o, int argc, char **argv)
{
    cJSON *r = NULL;
    int rc = simple_job_op(o, "delete", argv[0], &r);
    if (rc != CLI_OK)
        return rc;
    if (o->json)
        cli_print_json(r);
    else
        printf("job %ld deleted, with its %ld runs\n", cli_lnum(r, "job"),
               cli_lnum(r, "deleted_runs"));
    cJSON_Delete(r);
    return CLI_OK;
}

int cmd_pause(cli_opts *o, int argc, char **argv)
{
    cJSON *r = NULL;
    int rc = simple_job_op(o, "pause", argv[0], &r);
    if (rc != CLI_OK)
        return rc;
    if (o->json)
        cli_print_json(r);
    else
        printf("job %ld paused: %ld queued runs held, %ld running runs "
               "suspending with a checkpoint (resweep resume %ld)\n",
               cli_lnum(r, "job"), cli_lnum(r, "held"), cli_lnum(r, "stopping"),
               cli_lnum(r, "job"));
    cJSON_Delete(r);
    return CLI_OK;
}

int cmd_resume(cli_opts *o, int argc, char **argv)
{
    cJSON *r = NULL;
    int rc = simple_job_op(o, "resume", argv[0], &r);
    if (rc != CLI_OK)
        return rc;
    if (o->json)
        cli_print_json(r);
    else
        printf("job %ld resumed: %ld held runs queued again, from their "
               "checkpoints where they have one\n", cli_lnum(r, "job"),
               cli_lnum(r, "resumed"));
    cJSON_Delete(r);
    return CLI_OK;
}

int cmd_shutdown(cli_opts *o, int argc, char **argv)
{
    session s;
    int rc = cli_session_open(o, &s);
    if (rc != CLI_OK)
        return rc;
    cJSON *r = NULL;
    rc = cli_call(&s, cli_req_new(&s, "shutdown"), CLI_TIMEOUT_MS, &r);
    if (rc == CLI_OK) {
        /* The daemon hangs up once it has stopped: wait for that, so that
         * a script can start another one right after. */
        proto_error e;
        cJSON *more = NULL;
        int w = proto_recv(s.fd, 10000, &more, &e);
        cJSON_Delete(more);
        if (o->json)
            cli_print_json(r);
        else if (w == -EPIPE)
            printf("resweepd stopped\n");
        else
            printf("resweepd is shutting down\n");
        cJSON_Delete(r);
    }
    cli_session_close(&s);
    return rc;
}
