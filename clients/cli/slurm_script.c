/* slurm_script.c — the batch script `resweep slurm` submits: a job array
 * whose every task execs one resweep-worker, the walltime read as sbatch
 * reads it and the worker's --time-limit a margin under it, and the
 * quoting of #SBATCH lines and of the shell line (cli.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"

/* The worker accepts --time-limit up to this many seconds. */
#define WORKER_MAX_TIME_LIMIT_S 32000000L

/* Digits only, as a non-negative number; -1 when not. */
static long digits(const char *s, size_t n)
{
    if (n == 0 || n > 9)
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Up to three numbers separated by ':' into f[]; how many, or -1. */
static int fields(const char *s, long f[3])
{
    int n = 0;
    for (;;) {
        const char *colon = strchr(s, ':');
        size_t len = colon ? (size_t)(colon - s) : strlen(s);
        if (n == 3 || (f[n++] = digits(s, len)) < 0)
            return -1;
        if (!colon)
            return n;
        s = colon + 1;
    }
}

int cli_slurm_walltime(const char *t, long *seconds, char *err,
                       size_t errlen)
{
    long f[3] = {0, 0, 0}, days = 0;
    const char *rest = t;
    int n;
    *seconds = 0;
    if (!strcmp(t, "INFINITE") || !strcmp(t, "UNLIMITED") ||
        !strcmp(t, "infinite") || !strcmp(t, "unlimited"))
        return 0;
    const char *dash = strchr(t, '-');
    if (dash) {
        days = digits(t, (size_t)(dash - t));
        rest = dash + 1;
    }
    n = days < 0 ? -1 : fields(rest, f);
    if (n < 0)
        return err_set(err, errlen, -EINVAL,
                       "--time: \"%s\" is not a Slurm time; give minutes, "
                       "MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS", t);
    if (dash)   /* days-hours[:minutes[:seconds]] */
        *seconds = ((days * 24 + f[0]) * 60 + f[1]) * 60 + f[2];
    else if (n == 1)   /* minutes */
        *seconds = f[0] * 60;
    else if (n == 2)   /* minutes:seconds */
        *seconds = f[0] * 60 + f[1];
    else               /* hours:minutes:seconds */
        *seconds = (f[0] * 60 + f[1]) * 60 + f[2];
    return 0;
}

long cli_slurm_time_limit(long walltime_s)
{
    long margin = walltime_s / 10;
    if (margin > CLI_SLURM_MARGIN_MAX_S)
        margin = CLI_SLURM_MARGIN_MAX_S;
    if (margin < 1)
        margin = 1;
    long limit = walltime_s - margin;
    if (limit > WORKER_MAX_TIME_LIMIT_S)
        limit = WORKER_MAX_TIME_LIMIT_S;
    return limit < 1 ? 1 : limit;
}

/* A value of an #SBATCH line: as it is when plain, else in double quotes
 * with " and \ escaped (sbatch's own reading of the line: an unquoted #
 * would start a comment, a space end the value). */
static void sbatch_value(FILE *f, const char *v)
{
    if (v[strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789_./:%=,@+-")] == '\0') {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            fputc('\\', f);
        fputc(*v, f);
    }
    fputc('"', f);
}

/* One word for sh: in single quotes, a ' written as '\''. */
static void sh_word(FILE *f, const char *w)
{
    fputc('\'', f);
    for (; *w; w++) {
        if (*w == '\'')
            fputs("'\\''", f);
        else
            fputc(*w, f);
    }
    fputc('\'', f);
}

/* A newline in any value would end its line and start another: an
 * #SBATCH option or a command nobody asked for. */
static int refuse_newline(const char *what, const char *v, char *err,
                          size_t errlen)
{
    if (v && strpbrk(v, "\n\r"))
        return err_set(err, errlen, -EINVAL,
                       "%s: contains a line break, which a batch script "
                       "cannot carry", what);
    return 0;
}

static int check_values(const slurm_script_cfg *c, char *err, size_t errlen)
{
    int rc = 0;
    const char *names[] = {"--partition", "--time", "the log directory",
                           "--worker", "--connect", "--token-file"};
    const char *values[] = {c->partition, c->time, c->log_dir, c->worker,
                            c->connect, c->token};
    for (size_t i = 0; i < sizeof values / sizeof values[0] && !rc; i++)
        rc = refuse_newline(names[i], values[i], err, errlen);
    for (int i = 0; i < c->nextra && !rc; i++) {
        rc = refuse_newline("--sbatch-arg", c->extra[i], err, errlen);
        if (!rc && c->extra[i][0] != '-')
            rc = err_set(err, errlen, -EINVAL,
                         "--sbatch-arg: \"%s\" is not an sbatch option; give "
                         "it as on sbatch's command line, for example "
                         "--sbatch-arg=--mem=4G", c->extra[i]);
    }
    return rc;
}

static void sbatch_line(FILE *f, const char *opt, const char *value)
{
    fprintf(f, "#SBATCH %s=", opt);
    sbatch_value(f, value);
    fputc('\n', f);
}

/* The #SBATCH block: it must come before the first command. */
static void write_directives(FILE *f, const slurm_script_cfg *c)
{
    char buf[64], out[PATHS_MAX + 64];
    fputs("#!/bin/sh\n", f);
    snprintf(buf, sizeof buf, "resweep-%lld", c->job);
    sbatch_line(f, "--job-name", buf);
    snprintf(buf, sizeof buf, "0-%ld", c->tasks - 1);
    sbatch_line(f, "--array", buf);
    snprintf(buf, sizeof buf, "%ld", c->cpus);
    sbatch_line(f, "--cpus-per-task", buf);
    if (c->time)
        sbatch_line(f, "--time", c->time);
    if (c->partition)
        sbatch_line(f, "--partition", c->partition);
    /* %A the array's id, %a the task's index. */
    snprintf(out, sizeof out, "%s/job-%lld-%%A_%%a.out", c->log_dir, c->job);
    sbatch_line(f, "--output", out);
    for (int i = 0; i < c->nextra; i++)
        fprintf(f, "#SBATCH %s\n", c->extra[i]);
}

static void write_exec(FILE *f, const slurm_script_cfg *c, long walltime_s)
{
    fprintf(f, "\n# Written by `resweep slurm %lld`: each of the %ld array "
               "tasks runs one\n# resweep-worker, which leases queued runs "
               "from the daemon at %s\n# until nothing is left for %g s.\n",
            c->job, c->tasks, c->connect, c->idle_exit_s);
    if (walltime_s > 0)
        fprintf(f, "# --time-limit is the walltime (%ld s) less 10%% of it, "
                   "at most %d s: the\n# worker checkpoints its runs and "
                   "hands them back before Slurm stops it,\n# and the "
                   "next task resumes them.\n",
                walltime_s, CLI_SLURM_MARGIN_MAX_S);
    else
        fputs("# No walltime was given: at the partition's limit Slurm "
              "sends SIGTERM, and\n# the worker checkpoints its runs and "
              "hands them back then.\n", f);
    fputs("exec ", f);
    sh_word(f, c->worker);
    fputs(" --connect ", f);
    sh_word(f, c->connect);
    if (c->token) {
        fputs(" --token-file ", f);
        sh_word(f, c->token);
    }
    fprintf(f, " \\\n    --threads \"${SLURM_CPUS_PER_TASK:-%ld}\" "
               "--idle-exit %g", c->cpus, c->idle_exit_s);
    if (walltime_s > 0)
        fprintf(f, " --time-limit %ld", cli_slurm_time_limit(walltime_s));
    fputc('\n', f);
}

char *cli_slurm_script(const slurm_script_cfg *c, char *err, size_t errlen)
{
    long walltime_s = 0;
    if (check_values(c, err, errlen) < 0 ||
        (c->time && cli_slurm_walltime(c->time, &walltime_s, err,
                                       errlen) < 0))
        return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        err_set(err, errlen, -ENOMEM, "out of memory writing the script");
        return NULL;
    }
    write_directives(f, c);
    write_exec(f, c, walltime_s);
    if (fclose(f) != 0 || !text) {
        free(text);
        err_set(err, errlen, -ENOMEM, "out of memory writing the script");
        return NULL;
    }
    return text;
}
