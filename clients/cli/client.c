/* client.c — resweep commands that talk to resweepd over its socket. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

typedef struct session {
    int fd;
    int next_id;
} session;

static int session_open(const cli_opts *o, session *s)
{
    char err[ERR_LEN];
    s->next_id = 1;
    if (proto_connect(o->socket, &s->fd, err, sizeof err) < 0)
        return cli_fail(CLI_UNREACHABLE, "%s", err);
    return CLI_OK;
}

static void session_close(session *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

/* {"v": 1, "id": n, "op": op}. Out of memory, it may be NULL or lack
 * members: cJSON takes NULL everywhere, and proto_send then fails with
 * "out of memory" (or the daemon names the missing member). */
static cJSON *req_new(session *s, const char *op)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "v", PROTO_VERSION);
    cJSON_AddNumberToObject(r, "id", s->next_id++);
    cJSON_AddStringToObject(r, "op", op);
    return r;
}

/* Sends req (consumed). When the daemon has hung up already, it may have
 * said why first (too_many_connections, permission_denied): that reply,
 * if there is one, is the error shown. */
static int send_req(session *s, cJSON *req)
{
    proto_error e, why;
    int rc = proto_send(s->fd, req, &e);
    cJSON_Delete(req);
    if (rc == 0)
        return CLI_OK;
    cJSON *r = NULL;
    if (rc == -EPIPE && proto_recv(s->fd, 1000, &r, &why) == 0 &&
        proto_reply_status(r, &why) < 0) {
        cJSON_Delete(r);
        return cli_fail_proto(&why);
    }
    cJSON_Delete(r);
    return cli_fail_proto(&e);
}

/* Receives one reply; CLI_OK with *out when "ok" is true, else the error
 * printed and its exit code returned. */
static int recv_reply(session *s, int timeout_ms, cJSON **out)
{
    proto_error e;
    cJSON *r = NULL;
    if (proto_recv(s->fd, timeout_ms, &r, &e) < 0)
        return cli_fail_proto(&e);
    if (proto_reply_status(r, &e) < 0) {
        cJSON_Delete(r);
        return cli_fail_proto(&e);
    }
    *out = r;
    return CLI_OK;
}

/* One request, one reply. req is consumed. */
static int call(session *s, cJSON *req, int timeout_ms, cJSON **out)
{
    int rc = send_req(s, req);
    return rc != CLI_OK ? rc : recv_reply(s, timeout_ms, out);
}

static int call_once(const cli_opts *o, cJSON *(*build)(session *, void *),
                     void *arg, int timeout_ms, cJSON **out)
{
    session s;
    int rc = session_open(o, &s);
    if (rc != CLI_OK)
        return rc;
    rc = call(&s, build(&s, arg), timeout_ms, out);
    session_close(&s);
    return rc;
}

static void print_json(const cJSON *j)
{
    char *text = cJSON_PrintUnformatted(j);
    if (text)
        puts(text);
    free(text);
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(it) ? it->valuedouble : NAN;
}

static long lnum(const cJSON *o, const char *key)
{
    double v = num(o, key);
    return isnan(v) ? 0 : (long)v;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(it) ? it->valuestring : "";
}

static void fmt_duration(double s, char *buf, size_t len)
{
    if (isnan(s) || s < 0 || s > 1e8) {
        snprintf(buf, len, "--:--");
        return;
    }
    long t = lround(s);
    if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

static void fmt_rate(double r, char *buf, size_t len)
{
    if (isnan(r))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.1f", r);
}

static void fmt_time(double unix_s, char *buf, size_t len)
{
    if (isnan(unix_s)) {
        snprintf(buf, len, "-");
        return;
    }
    time_t t = (time_t)unix_s;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* The exit code of an ended job (cli.h). */
static int job_exit_code(const cJSON *job)
{
    if (lnum(job, "failed") > 0)
        return CLI_FAILED_RUNS;
    if (lnum(job, "canceled") > 0)
        return CLI_CANCELED;
    return CLI_OK;
}

/* --- ping ---------------------------------------------------------- */

static cJSON *build_plain(session *s, void *op)
{
    return req_new(s, op);
}

int cmd_ping(cli_opts *o, int argc, char **argv)
{
    cJSON *r = NULL;
    int rc = call_once(o, build_plain, "ping", CLI_TIMEOUT_MS, &r);
    if (rc != CLI_OK)
        return rc;
    if (o->json) {
        print_json(r);
    } else {
        char up[32];
        fmt_duration(num(r, "uptime_s"), up, sizeof up);
        printf("resweepd %s (protocol %ld), pid %ld, up %s\n",
               str(r, "version"), lnum(r, "protocol"), lnum(r, "pid"), up);
        printf("socket   %s\ndatabase %s\nworkers  %ld\n", str(r, "socket"),
               str(r, "db"), lnum(r, "workers"));
        printf("store    %s%s%s\n", str(r, "store"),
               *str(r, "store_error") ? ": " : "", str(r, "store_error"));
        printf("jobs     %ld (%ld runs queued, %ld running)\n",
               lnum(r, "jobs"), lnum(r, "queued"), lnum(r, "running"));
    }
    cJSON_Delete(r);
    return CLI_OK;
}

void cli_resolve_db(cli_opts *o)
{
    if (o->db_given)
        return;
    const char *env = getenv("RESWEEP_DB");
    if (env && *env) {
        snprintf(o->db, sizeof o->db, "%s", env);
        return;
    }
    session s;
    char err[ERR_LEN];
    if (proto_connect(o->socket, &s.fd, err, sizeof err) == 0) {
        s.next_id = 1;
        cJSON *r = NULL;
        proto_error e;
        if (proto_send(s.fd, req_new(&s, "ping"), &e) == 0 &&
            proto_recv(s.fd, 2000, &r, &e) == 0 &&
            proto_reply_status(r, &e) == 0 && *str(r, "db")) {
            snprintf(o->db, sizeof o->db, "%s", str(r, "db"));
            cJSON_Delete(r);
            close(s.fd);
            return;
        }
        cJSON_Delete(r);
        close(s.fd);
    }
    if (paths_default_db(o->db, sizeof o->db, err, sizeof err) < 0)
        o->db[0] = '\0';
}

/* --- watching -------------------------------------------------------- */

typedef struct progress {
    bool tty, json;
    long last_finished, last_failed;
    bool drawn;
} progress;

static int term_columns(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

static void draw_bar(progress *p, const cJSON *job)
{
    long total = lnum(job, "total"), fin = lnum(job, "finished");
    char rate[32], eta[32], tail[160];
    fmt_rate(num(job, "rate_per_min"), rate, sizeof rate);
    fmt_duration(num(job, "eta_s"), eta, sizeof eta);
    int n = snprintf(tail, sizeof tail,
                     " %ld/%ld  %ld failed  %s runs/min  ETA %s", fin, total,
                     lnum(job, "failed"), rate, eta);
    char head[64];
    int h = snprintf(head, sizeof head, "job %ld ", lnum(job, "job"));
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
    fmt_rate(num(job, "rate_per_min"), rate, sizeof rate);
    fmt_duration(num(job, "eta_s"), eta, sizeof eta);
    printf("job %ld: %ld/%ld finished (%ld done, %ld failed, %ld diverged, "
           "%ld canceled), %s runs/min, ETA %s\n",
           lnum(job, "job"), lnum(job, "finished"), lnum(job, "total"),
           lnum(job, "done"), lnum(job, "failed"), lnum(job, "diverged"),
           lnum(job, "canceled"), rate, eta);
    fflush(stdout);
}

static void show_progress(progress *p, const cJSON *ev, const cJSON *job,
                          bool end)
{
    if (p->json) {
        print_json(ev);
        fflush(stdout);
        return;
    }
    if (p->tty) {
        draw_bar(p, job);
        if (end)
            putchar('\n');
    } else if (end || lnum(job, "finished") != p->last_finished ||
               lnum(job, "failed") != p->last_failed) {
        print_line(job);
    }
    p->last_finished = lnum(job, "finished");
    p->last_failed = lnum(job, "failed");
    if (end)
        printf("job %ld %s: %s: %ld done, %ld failed, %ld diverged, %ld "
               "canceled of %ld runs\n",
               lnum(job, "job"), str(job, "name"), str(job, "state"),
               lnum(job, "done"), lnum(job, "failed"), lnum(job, "diverged"),
               lnum(job, "canceled"), lnum(job, "total"));
}

/* Streams the job's progress until its end event. */
static int watch_job(cli_opts *o, session *s, long long job_id)
{
    cJSON *req = req_new(s, "watch");
    cJSON_AddNumberToObject(req, "job", (double)job_id);
    int rc = send_req(s, req);
    if (rc != CLI_OK)
        return rc;
    progress p = {.tty = isatty(STDOUT_FILENO) && !o->json, .json = o->json,
                  .last_finished = -1, .last_failed = -1};
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
        const cJSON *job = cJSON_GetObjectItemCaseSensitive(ev, "job");
        bool end = strcmp(str(ev, "event"), "end") == 0;
        show_progress(&p, ev, job, end);
        int code = end ? job_exit_code(job) : -1;
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
    int rc = session_open(o, &s);
    if (rc != CLI_OK)
        return rc;
    rc = watch_job(o, &s, job);
    session_close(&s);
    return rc;
}

/* --- submit ---------------------------------------------------------- */

/* The whole file (or stdin for "-"), at most PROTO_MAX_FRAME bytes. */
static char *read_input(const char *path, size_t *len)
{
    bool in = strcmp(path, "-") == 0;
    FILE *f = in ? stdin : fopen(path, "rb");
    if (in)
        path = "stdin";
    if (!f) {
        cli_fail(CLI_ERROR, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            if (cap > PROTO_MAX_FRAME) {
                cli_fail(CLI_ERROR,
                         "%s: larger than %u bytes, the largest request the "
                         "daemon takes",
                         path, PROTO_MAX_FRAME);
                free(buf);
                buf = NULL;
                break;
            }
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    bool bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (bad && buf) {
        cli_fail(CLI_ERROR, "%s: read error", path);
        free(buf);
        return NULL;
    }
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

/* Line and column of byte offset off. */
static void line_col(const char *text, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static cJSON *parse_spec_file(const char *file)
{
    size_t len = 0;
    char *text = read_input(file, &len);
    const char *path = strcmp(file, "-") == 0 ? "stdin" : file;
    if (!text)
        return NULL;
    if (proto_check_depth(text, len, PROTO_MAX_DEPTH - 2) < 0) {
        cli_fail(CLI_ERROR, "%s: nests more than %d levels deep", path,
                 PROTO_MAX_DEPTH - 2);
        free(text);
        return NULL;
    }
    const char *end = NULL;
    cJSON *spec = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!spec) {
        int line, col;
        line_col(text, end ? (size_t)(end - text) : 0, &line, &col);
        cli_fail(CLI_ERROR, "%s:%d:%d: not valid JSON", path, line, col);
    } else if (!cJSON_IsObject(spec)) {
        cli_fail(CLI_ERROR, "%s: a job specification is a JSON object", path);
        cJSON_Delete(spec);
        spec = NULL;
    }
    free(text);
    return spec;
}

int cmd_submit(cli_opts *o, int argc, char **argv)
{
    cJSON *spec = parse_spec_file(argv[0]);
    if (!spec)
        return CLI_ERROR;
    session s;
    int rc = session_open(o, &s);
    if (rc != CLI_OK) {
        cJSON_Delete(spec);
        return rc;
    }
    cJSON *req = req_new(&s, "submit");
    cJSON_AddItemToObject(req, "spec", spec);
    cJSON *r = NULL;
    rc = call(&s, req, CLI_SUBMIT_TIMEOUT_MS, &r);
    if (rc == CLI_OK) {
        if (o->json)
            print_json(r);
        else
            printf("job %ld%s%s: %ld runs queued\n", lnum(r, "job"),
                   *str(r, "name") ? " " : "", str(r, "name"),
                   lnum(r, "n_runs"));
        fflush(stdout);
        long long job = lnum(r, "job");
        cJSON_Delete(r);
        if (o->wait)
            rc = watch_job(o, &s, job);
    }
    session_close(&s);
    return rc;
}

/* --- status, list, runs ---------------------------------------------- */

static cJSON *build_status(session *s, void *job)
{
    cJSON *r = req_new(s, "status");
    if (job)
        cJSON_AddNumberToObject(r, "job", (double)*(long long *)job);
    return r;
}

static void print_job(const cJSON *j)
{
    char rate[32], eta[32], created[64];
    fmt_rate(num(j, "rate_per_min"), rate, sizeof rate);
    fmt_duration(num(j, "eta_s"), eta, sizeof eta);
    fmt_time(num(j, "created_at"), created, sizeof created);
    printf("job       %ld\nname      %s\nstate     %s\npriority  %ld\n",
           lnum(j, "job"), str(j, "name"), str(j, "state"),
           lnum(j, "priority"));
    printf("progress  %ld/%ld finished\n", lnum(j, "finished"),
           lnum(j, "total"));
    const char *keys[] = {"queued", "running", "done", "failed", "diverged",
                          "canceled"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        printf("%-9s %ld\n", keys[i], lnum(j, keys[i]));
    printf("rate      %s runs/min\neta       %s\ncreated   %s\n", rate, eta,
           created);
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
        snprintf(buf, sizeof buf, "%ld", lnum(j, "job"));
        table_cell(t, buf);
        table_cell(t, str(j, "name"));
        table_cell(t, str(j, "state"));
        snprintf(buf, sizeof buf, "%ld", lnum(j, "priority"));
        table_cell(t, buf);
        snprintf(buf, sizeof buf, "%ld/%ld", lnum(j, "finished"),
                 lnum(j, "total"));
        table_cell(t, buf);
        const char *counts[] = {"failed", "diverged", "canceled"};
        for (int k = 0; k < 3; k++) {
            snprintf(buf, sizeof buf, "%ld", lnum(j, counts[k]));
            table_cell(t, buf);
        }
        fmt_rate(num(j, "rate_per_min"), buf, sizeof buf);
        table_cell(t, buf);
        if (strcmp(str(j, "state"), "running") == 0 ||
            strcmp(str(j, "state"), "queued") == 0)
            fmt_duration(num(j, "eta_s"), buf, sizeof buf);
        else
            snprintf(buf, sizeof buf, "-");
        table_cell(t, buf);
        fmt_time(num(j, "created_at"), buf, sizeof buf);
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
    int rc = call_once(o, build_status, argc > 0 ? &job : NULL,
                       CLI_TIMEOUT_MS, &r);
    if (rc != CLI_OK)
        return rc;
    if (o->json)
        print_json(r);
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
    cJSON *r = req_new(s, "runs");
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
    int rc = call_once(o, build_runs, &a, CLI_TIMEOUT_MS, &r);
    if (rc != CLI_OK)
        return rc;
    if (o->json) {
        print_json(r);
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
        snprintf(buf, sizeof buf, "%ld", lnum(run, "run"));
        table_cell(t, buf);
        snprintf(buf, sizeof buf, "%ld", lnum(run, "index"));
        table_cell(t, buf);
        table_cell(t, str(run, "state"));
        snprintf(buf, sizeof buf, "%ld", lnum(run, "attempts"));
        table_cell(t, buf);
        double gap = num(run, "gap");
        if (isnan(gap))
            snprintf(buf, sizeof buf, "-");
        else
            snprintf(buf, sizeof buf, "%.4g", gap);
        table_cell(t, buf);
        table_cell(t, str(run, "error"));
    }
    table_print(t, stdout);
    table_free(t);
    double next = num(r, "next");
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
    cJSON *r = req_new(s, a->op);
    cJSON_AddNumberToObject(r, "job", (double)a->job);
    return r;
}

static int simple_job_op(cli_opts *o, const char *op, const char *arg,
                         cJSON **out)
{
    job_op a = {op, cli_job_arg(arg)};
    if (a.job < 0)
        return CLI_USAGE;
    return call_once(o, build_job_op, &a, CLI_TIMEOUT_MS, out);
}

int cmd_cancel(cli_opts *o, int argc, char **argv)
{
    cJSON *r = NULL;
    int rc = simple_job_op(o, "cancel", argv[0], &r);
    if (rc != CLI_OK)
        return rc;
    if (o->json)
        print_json(r);
    else
        printf("job %ld: %ld queued runs canceled, %ld running runs "
               "stopping\n",
               lnum(r, "job"), lnum(r, "canceled"), lnum(r, "stopping"));
    cJSON_Delete(r);
    return CLI_OK;
}

int cmd_retry(cli_opts *o, int argc, char **argv)
{
    cJSON *r = NULL;
    int rc = simple_job_op(o, "retry", argv[0], &r);
    if (rc != CLI_OK)
        return rc;
    long resumed = lnum(r, "resumed");
    if (o->json) {
        print_json(r);
    } else {
        printf("job %ld: %ld failed or canceled runs queued again",
               lnum(r, "job"), lnum(r, "requeued"));
        if (resumed > 0)
            printf("; %ld runs that were stopping for the cancel go on",
                   resumed);
        putchar('\n');
    }
    cJSON_Delete(r);
    return CLI_OK;
}

int cmd_shutdown(cli_opts *o, int argc, char **argv)
{
    session s;
    int rc = session_open(o, &s);
    if (rc != CLI_OK)
        return rc;
    cJSON *r = NULL;
    rc = call(&s, req_new(&s, "shutdown"), CLI_TIMEOUT_MS, &r);
    if (rc == CLI_OK) {
        /* The daemon hangs up once it has stopped: wait for that, so that
         * a script can start another one right after. */
        proto_error e;
        cJSON *more = NULL;
        int w = proto_recv(s.fd, 10000, &more, &e);
        cJSON_Delete(more);
        if (o->json)
            print_json(r);
        else if (w == -EPIPE)
            printf("resweepd stopped\n");
        else
            printf("resweepd is shutting down\n");
        cJSON_Delete(r);
    }
    session_close(&s);
    return rc;
}
