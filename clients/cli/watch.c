/* watch.c — following a job until it ends: a progress bar on a
 * terminal, a line per change otherwise, the daemon's events with --json
 * (cli.h). */
#include <stdbool.h>
#include <sys/ioctl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

/* --- watching -------------------------------------------------------- */

typedef struct progress {
    bool tty, json;
    long last_finished, last_failed;
    bool drawn;
    cli_opts *o;
    bool db_resolved, db_failed;
    double eta_read_at, eta_runs;   /* monotonic; the running runs' ETA */
} progress;

static double mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Before any run has finished the daemon has no rate, so no ETA: the
 * running runs' step rate (progress.c) gives one, read once a second. */
static void eta_from_runs(progress *p, cJSON *job)
{
    if (!job || !isnan(cli_num(job, "eta_s")) || cli_lnum(job, "running") == 0 ||
        p->db_failed)
        return;
    double now = mono_now();
    if (now - p->eta_read_at >= 1.0) {
        run_progress rp[64];
        int n = 0;
        char err[ERR_LEN];
        if (!p->db_resolved)
            cli_resolve_db(p->o);
        p->db_resolved = true;
        if (cli_running_runs(p->o, cli_lnum(job, "job"), rp, 64, &n, err,
                             sizeof err) != CLI_OK) {
            fprintf(stderr, "resweep: no ETA from the running runs: %s\n", err);
            p->db_failed = true;
            return;
        }
        p->eta_runs = cli_eta_from_runs(rp, n, cli_lnum(job, "queued"));
        p->eta_read_at = now;
    }
    if (!isnan(p->eta_runs))
        cJSON_ReplaceItemInObjectCaseSensitive(job, "eta_s",
                                               cJSON_CreateNumber(p->eta_runs));
}

static int term_columns(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

/* Decimal digits of v (at least 1). */
static int digits(long v)
{
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

/* The bar's width depends on the terminal alone: every field of the line
 * is padded to the widest it can be for this job, so the bar does not
 * jump as counts, rates and ETAs change. */
static void draw_bar(progress *p, const cJSON *job)
{
    long total = cli_lnum(job, "total"), fin = cli_lnum(job, "finished");
    int dw = digits(total > 0 ? total : 0);
    char rate[32], eta[32], tail[160];
    cli_fmt_rate(cli_num(job, "rate_per_min"), rate, sizeof rate);
    cli_fmt_duration(cli_num(job, "eta_s"), eta, sizeof eta);
    int n = snprintf(tail, sizeof tail,
                     " %*ld/%ld  %*ld failed  %8s runs/min  ETA %8s", dw, fin,
                     total, dw, cli_lnum(job, "failed"), rate, eta);
    char head[64];
    int h = snprintf(head, sizeof head, "job %ld ", cli_lnum(job, "job"));
    int width = term_columns() - n - h - 3;
    if (width > 40)
        width = 40;
    if (width < 5)
        width = 5;
    int filled = total > 0 ? (int)((double)fin / (double)total * width) : width;
    printf("\r\033[K%s[", head);
    for (int i = 0; i < width; i++)
        putchar(i < filled ? '#' : '.');
    printf("]%s", tail);
    fflush(stdout);
    p->drawn = true;
}

static void print_line(const cJSON *job)
{
    char rate[32], eta[32];
    cli_fmt_rate(cli_num(job, "rate_per_min"), rate, sizeof rate);
    cli_fmt_duration(cli_num(job, "eta_s"), eta, sizeof eta);
    printf("job %ld: %ld/%ld finished (%ld done, %ld failed, %ld diverged, "
           "%ld canceled), %s runs/min, ETA %s\n",
           cli_lnum(job, "job"), cli_lnum(job, "finished"), cli_lnum(job, "total"),
           cli_lnum(job, "done"), cli_lnum(job, "failed"), cli_lnum(job, "diverged"),
           cli_lnum(job, "canceled"), rate, eta);
    fflush(stdout);
}

static void show_progress(progress *p, const cJSON *ev, const cJSON *job,
                          bool end)
{
    if (p->json) {
        cli_print_json(ev);
        fflush(stdout);
        return;
    }
    if (p->tty) {
        draw_bar(p, job);
        if (end)
            putchar('\n');
    } else if (end || cli_lnum(job, "finished") != p->last_finished ||
               cli_lnum(job, "failed") != p->last_failed) {
        print_line(job);
    }
    p->last_finished = cli_lnum(job, "finished");
    p->last_failed = cli_lnum(job, "failed");
    if (end) {
        printf("job %ld %s: %s: %ld done, %ld failed, %ld diverged, %ld "
               "canceled of %ld runs",
               cli_lnum(job, "job"), cli_str(job, "name"), cli_str(job, "state"),
               cli_lnum(job, "done"), cli_lnum(job, "failed"), cli_lnum(job, "diverged"),
               cli_lnum(job, "canceled"), cli_lnum(job, "total"));
        if (!p->db_resolved)
            cli_resolve_db(p->o);
        p->db_resolved = true;
        char took[32];
        double s = cli_job_elapsed(p->o, cli_lnum(job, "job"));
        cli_fmt_duration(s, took, sizeof took);
        if (!isnan(s))
            printf(", in %s", took);
        putchar('\n');
    }
    if (end)
        cli_diverged_hint(stdout, job);
    if (end && strcmp(cli_str(job, "state"), "paused") == 0)
        printf("job %ld is paused: its %ld held runs wait for `resweep "
               "resume %ld`\n", cli_lnum(job, "job"), cli_lnum(job, "queued"),
               cli_lnum(job, "job"));
}

/* Streams the job's progress until its end event. */
int cli_watch_job(cli_opts *o, session *s, long long job_id)
{
    cJSON *req = cli_req_new(s, "watch");
    cJSON_AddNumberToObject(req, "job", (double)job_id);
    int rc = cli_send(s, req);
    if (rc != CLI_OK)
        return rc;
    progress p = {.tty = isatty(STDOUT_FILENO) && !o->json, .json = o->json,
                  .last_finished = -1, .last_failed = -1, .o = o,
                  .eta_read_at = -1e9, .eta_runs = NAN};
    for (;;) {
        cJSON *ev = NULL;
        proto_error e;
        if (proto_recv(s->fd, CLI_WATCH_SILENCE_MS, &ev, &e) < 0) {
            if (p.drawn)
                putchar('\n');
            return cli_fail_proto(&e);
        }
        if (proto_reply_status(ev, &e) < 0) {
            cJSON_Delete(ev);
            if (p.drawn)
                putchar('\n');
            return cli_fail_proto(&e);
        }
        cJSON *job = cJSON_GetObjectItemCaseSensitive(ev, "job");
        bool end = strcmp(cli_str(ev, "event"), "end") == 0;
        if (!end && !p.json)
            eta_from_runs(&p, job);
        show_progress(&p, ev, job, end);
        int code = end ? cli_job_exit_code(job) : -1;
        cJSON_Delete(ev);
        if (end)
            return code;
    }
}

int cmd_watch(cli_opts *o, int argc, char **argv)
{
    long long job = cli_job_arg(argv[0]);
    if (job < 0)
        return CLI_USAGE;
    session s;
    int rc = cli_session_open(o, &s);
    if (rc != CLI_OK)
        return rc;
    rc = cli_watch_job(o, &s, job);
    cli_session_close(&s);
    return rc;
}
